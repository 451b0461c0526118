//! RDS restores as the runbook asks for them: security groups, parameter and option groups,
//! Multi-AZ (both kinds of restore), deletion protection and tag copying reach AWS; and a point
//! in time of an instance that is gone restores from its retained automated backup.

use super::*;
use crate::common::standin::{Reply, StandIn};
use crate::common::strict::RefuseWhen;

async fn through(proxy: &StandIn, rb: &Arc<Runbook>) -> AwsCloud {
    AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadWrite,
            Timeouts::default(),
            Endpoints::from([("rds".to_string(), proxy.url().to_string())]),
        ),
        rb.clone(),
    )
}

const EXTRAS: &str = "security_groups: [sg-0aaa1111, sg-0bbb2222], parameter_group: orders-pg16, option_group: orders-og, multi_az: true, deletion_protection: true, copy_tags: true";

#[tokio::test]
pub(crate) async fn restores_carry_every_setting_the_runbook_gives() {
    let m = Moto::new(REGION).await;
    let db = unique("pl-params-db");
    m.db(&db).await;
    m.db_snapshot(&db, &format!("{db}-manual")).await;
    let rds = aws_sdk_rds::Client::new(&sdk(REGION).await);
    // moto knows parameter and option groups only once they exist (a preflight's job in AWS).
    let _ = rds
        .create_db_parameter_group()
        .db_parameter_group_name("orders-pg16")
        .db_parameter_group_family("postgres16")
        .description("orders")
        .send()
        .await;
    let _ = rds
        .create_option_group()
        .option_group_name("orders-og")
        .engine_name("postgres")
        .major_engine_version("13")
        .option_group_description("orders")
        .send()
        .await;
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    let resources = [res("db", "rds-instance", REGION, &db)];
    for (action, with, operation) in [
        (
            "rds.restore-snapshot",
            format!("{{ snapshot: latest, target_id: {db}-snap, {EXTRAS} }}"),
            "RestoreDBInstanceFromDBSnapshot",
        ),
        (
            "rds.restore-point-in-time",
            format!("{{ restore_time: latest, target_id: {db}-pitr, {EXTRAS} }}"),
            "RestoreDBInstanceToPointInTime",
        ),
    ] {
        let rb = one_action(&resources, "db", action, &with);
        let aws = through(&proxy, &rb).await;
        let (plan, approval) = plan_and_approval(&rb, &unique("run"));
        Gated(&aws)
            .start(&plan, &approval, Utc::now())
            .await
            .unwrap();
        let sent = proxy.requests_of(operation);
        assert_eq!(sent.len(), 1, "{operation}");
        let field = |k: &str| {
            sent[0]
                .form(k)
                .unwrap_or_else(|| panic!("{operation} has no {k}"))
        };
        assert_eq!(
            field("VpcSecurityGroupIds.VpcSecurityGroupId.1"),
            "sg-0aaa1111"
        );
        assert_eq!(
            field("VpcSecurityGroupIds.VpcSecurityGroupId.2"),
            "sg-0bbb2222"
        );
        assert_eq!(field("DBParameterGroupName"), "orders-pg16");
        assert_eq!(field("OptionGroupName"), "orders-og");
        assert_eq!(field("MultiAZ"), "true");
        assert_eq!(field("DeletionProtection"), "true");
        assert_eq!(field("CopyTagsToSnapshot"), "true");
    }
}

#[tokio::test]
pub(crate) async fn a_point_in_time_of_a_lost_instance_restores_from_its_retained_backup() {
    let lost = unique("pl-lost-db");
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    // AWS: the instance is gone; its automated backup was retained.
    let xml = |body: String| Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: body.into_bytes(),
        hang: false,
    };
    proxy.strict(RefuseWhen::new(
        "DescribeDBInstanceAutomatedBackups",
        |_| true,
        xml(format!(
            "<DescribeDBInstanceAutomatedBackupsResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><DescribeDBInstanceAutomatedBackupsResult><DBInstanceAutomatedBackups><DBInstanceAutomatedBackup><DBInstanceIdentifier>{lost}</DBInstanceIdentifier><DbiResourceId>db-RETAINED1234</DbiResourceId><Status>retained</Status><RestoreWindow><EarliestTime>2026-11-20T00:00:00Z</EarliestTime><LatestTime>2026-11-28T09:55:00Z</LatestTime></RestoreWindow><DBInstanceAutomatedBackupsArn>arn:aws:rds:us-east-1:123456789012:auto-backup:ab-retained</DBInstanceAutomatedBackupsArn></DBInstanceAutomatedBackup></DBInstanceAutomatedBackups></DescribeDBInstanceAutomatedBackupsResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeDBInstanceAutomatedBackupsResponse>"
        )),
    ));
    proxy.strict(RefuseWhen::new(
        "RestoreDBInstanceToPointInTime",
        |_| true,
        xml(format!(
            "<RestoreDBInstanceToPointInTimeResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><RestoreDBInstanceToPointInTimeResult><DBInstance><DBInstanceIdentifier>{lost}-dr</DBInstanceIdentifier><DBInstanceStatus>creating</DBInstanceStatus></DBInstance></RestoreDBInstanceToPointInTimeResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></RestoreDBInstanceToPointInTimeResponse>"
        )),
    ));
    let rb = one_action(
        &[res("db", "rds-instance", REGION, &lost)],
        "db",
        "rds.restore-point-in-time",
        &format!("{{ restore_time: \"2026-11-28T09:00:00Z\", target_id: {lost}-dr }}"),
    );
    let aws = through(&proxy, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert_eq!(started.outputs["db_instance_id"], format!("{lost}-dr"));
    let sent = proxy.requests_of("RestoreDBInstanceToPointInTime");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].form("SourceDbiResourceId").as_deref(),
        Some("db-RETAINED1234")
    );
    assert_eq!(sent[0].form("SourceDBInstanceIdentifier"), None);
}
