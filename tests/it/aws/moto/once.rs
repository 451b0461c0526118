//! A change goes out once per attempt: AWS that does the work but answers late (past the
//! attempt timeout) gets one request, and the step adopts what that request made.

use super::*;
use crate::common::standin::StandIn;

use std::time::Duration;

/// The backend for `rb` through `proxy` (in front of moto), with pilotlight's default timeouts.
async fn through(proxy: &StandIn, rb: &Arc<Runbook>) -> AwsCloud {
    let endpoints = ["ec2", "rds"]
        .into_iter()
        .map(|s| (s.to_string(), proxy.url().to_string()))
        .collect();
    let clients = Clients::new(
        sdk(REGION).await,
        Access::ReadWrite,
        Timeouts::default(),
        endpoints,
    );
    AwsCloud::new(clients, rb.clone())
}

#[tokio::test]
pub(crate) async fn a_restore_answered_after_the_attempt_timeout_is_sent_once_and_adopted() {
    let m = Moto::new(REGION).await;
    let volume = m.volume().await;
    let (snap, _) = m.snapshot(&volume).await;
    let db = unique("pl-late-db");
    m.db(&db).await;
    m.db_snapshot(&db, &format!("{db}-manual")).await;
    let target = format!("{db}-dr");
    let resources = [
        res("data", "ebs-volume", REGION, &volume),
        res("db", "rds-instance", REGION, &db),
    ];
    // AWS does the work at once; its answer arrives 12 s later, past the 8 s attempt timeout.
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    proxy
        .slow_answer("CreateVolume", Duration::from_secs(12))
        .slow_answer("RestoreDBInstanceFromDBSnapshot", Duration::from_secs(12));

    let ebs = one_action(
        &resources,
        "data",
        "ebs.restore-volume",
        &format!("{{ snapshot: latest, availability_zone: {AZ} }}"),
    );
    let rds = one_action(
        &resources,
        "db",
        "rds.restore-snapshot",
        &format!("{{ snapshot: latest, target_id: {target} }}"),
    );
    let (ebs_aws, rds_aws) = (through(&proxy, &ebs).await, through(&proxy, &rds).await);
    let (ebs_plan, ebs_ok) = plan_and_approval(&ebs, &unique("run"));
    let (rds_plan, rds_ok) = plan_and_approval(&rds, &unique("run"));
    let (ebs_gated, rds_gated) = (Gated(&ebs_aws), Gated(&rds_aws));
    let (volume_started, db_started) = tokio::join!(
        ebs_gated.start(&ebs_plan, &ebs_ok, Utc::now()),
        rds_gated.start(&rds_plan, &rds_ok, Utc::now()),
    );

    // One request each, and the step goes on with what it made.
    assert_eq!(proxy.requests_of("CreateVolume").len(), 1);
    assert_eq!(
        proxy.requests_of("RestoreDBInstanceFromDBSnapshot").len(),
        1
    );
    let volume_started = volume_started.unwrap();
    assert!(volume_started.adopted, "{volume_started:?}");
    let made = m.volumes_where("snapshot-id", &snap).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        made[0].volume_id(),
        Some(volume_started.outputs["volume_id"].as_str())
    );
    let db_started = db_started.unwrap();
    assert!(db_started.adopted, "{db_started:?}");
    assert_eq!(db_started.outputs["db_instance_id"], target);
    let named = m
        .dbs()
        .await
        .into_iter()
        .filter(|d| d.db_instance_identifier() == Some(target.as_str()))
        .count();
    assert_eq!(named, 1);
}

#[tokio::test]
pub(crate) async fn a_restored_table_is_tagged_once_active_not_while_creating() {
    use crate::common::strict::CreatingTables;
    let m = Moto::new(REGION).await;
    let table = unique("pl-creating-tbl");
    m.table(&table).await;
    let (backup, _) = m.backup(&table).await;
    let target = format!("{table}-dr");
    let rb = one_action(
        &[res("orders", "dynamodb-table", REGION, &table)],
        "orders",
        "dynamodb.restore-backup",
        &format!("{{ backup: latest, target_table: {target} }}"),
    );
    // AWS: the restored table is CREATING for two looks, and cannot be tagged until ACTIVE.
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    proxy.strict(CreatingTables::for_describes(2));
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadWrite,
            Timeouts::default(),
            Endpoints::from([("dynamodb".to_string(), proxy.url().to_string())]),
        ),
        rb.clone(),
    );
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    let made = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert_eq!(made.outputs["backup_arn"], backup);
    let plan = plan.with_made(Some(&made.outputs));
    let mut states = Vec::new();
    for _ in 0..3 {
        states.push(Gated(&aws).poll(&plan, Utc::now()).await.unwrap().state);
    }
    assert_eq!(states, ["creating", "creating", "active"]);
    // Tagged once, when AWS accepts it; never refused.
    let tagging = proxy.requests_of("TagResource");
    assert_eq!(tagging.len(), 1);
    assert_eq!(tagging[0].status, Some(200));
    // A repeat of the same attempt adopts the table by its tags.
    let again = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(again.adopted, "{again:?}");
    assert_eq!(proxy.requests_of("RestoreTableFromBackup").len(), 1);
}
