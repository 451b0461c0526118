use super::*;

// ---------------------------------------------------------------------------------------------
// 4. Actions through the engine

#[tokio::test]
pub(crate) async fn ec2_and_ebs_actions_run_through_the_engine() {
    let m = Moto::new(REGION).await;
    let tag = unique("fleet");
    let ids = m.run_instances(2, &tag).await;
    let (server, standby) = (ids[0].clone(), ids[1].clone());
    m.ec2
        .stop_instances()
        .instance_ids(&standby)
        .send()
        .await
        .unwrap();
    let standby_state = m.instance(&standby).await;
    assert_eq!(
        standby_state
            .state()
            .and_then(|s| s.name())
            .unwrap()
            .as_str(),
        "stopped"
    );
    let server_az = m
        .instance(&server)
        .await
        .placement()
        .and_then(|p| p.availability_zone())
        .unwrap()
        .to_string();
    // The golden AMI, this account's own (what `ami: latest` looks for).
    let golden_name = format!("{}-golden-1", unique("infa"));
    let golden = m
        .ec2
        .create_image()
        .instance_id(&server)
        .name(&golden_name)
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_string();
    let volume = m.volume().await;
    let (snap, _) = m.snapshot(&volume).await;
    let subnet = m.subnet(AZ).await;
    let dr_name = unique("infa-dr");
    let golden_pattern = golden_name.trim_end_matches("-1").to_string() + "-*";

    let runbook = parse(&format!(
        r#"runbook: {rb}
title: EC2 and EBS against moto
targets: {{ rto: 1h }}
resources:
  standby: {{ kind: ec2-instance, region: {REGION}, id: {standby} }}
  server: {{ kind: ec2-instance, region: {REGION}, id: {server} }}
  data: {{ kind: ebs-volume, region: {REGION}, id: {volume} }}
steps:
  - id: start-standby
    kind: action
    action: ec2.start-instances
    resource: standby
    with: {{}}
    wait_until: running
    timeout: 10m
    gate: {{ confirm: true }}
  - id: launch
    kind: action
    action: ec2.launch-from-ami
    resource: server
    with:
      ami: latest
      ami_name: "{golden_pattern}"
      instance_type: t3.micro
      subnet_id: {subnet}
      name: {dr_name}
    wait_until: running
    timeout: 10m
    gate: {{ confirm: true }}
  - id: restore-data
    kind: action
    action: ebs.restore-volume
    resource: data
    with: {{ snapshot: latest, availability_zone: {server_az}, volume_type: gp3 }}
    wait_until: available
    timeout: 10m
    gate: {{ confirm: true }}
  - id: attach-data
    kind: action
    action: ebs.attach-volume
    resource: data
    with:
      volume_id: "{{{{steps.restore-data.outputs.volume_id}}}}"
      instance_id: {server}
      device: /dev/sdf
    wait_until: in-use
    timeout: 10m
    gate: {{ confirm: true }}
"#,
        rb = unique("ec2-ebs")
    ));
    let aws = Arc::new(backend(&runbook, Access::ReadWrite).await);
    let (status, engine, _) = run_unattended(&aws, &runbook, &unique("run")).await;
    print_counts("ec2/ebs run", &aws.calls().take());
    assert_eq!(status, RunStatus::Finished);
    let out = engine.outputs();

    // The standby runs.
    let standby_now = m.instance(&standby).await;
    assert_eq!(
        standby_now.state().and_then(|s| s.name()).unwrap().as_str(),
        "running"
    );
    assert_eq!(out["start-standby"]["instance_id"], standby);

    // Exactly one replacement, from the golden AMI, running, named and tagged.
    let launched = m.instances_tagged("Name", &dr_name).await;
    assert_eq!(launched.len(), 1, "{launched:?}");
    let dr = &launched[0];
    assert_eq!(dr.image_id(), Some(golden.as_str()));
    assert_eq!(
        dr.state().and_then(|s| s.name()).unwrap().as_str(),
        "running"
    );
    assert_eq!(out["launch"]["instance_id"], dr.instance_id().unwrap());
    assert!(dr.tags().iter().any(|t| t.key() == Some(TOKEN_TAG)));

    // Exactly one volume from the snapshot, attached to the server as /dev/sdf.
    let restored = m.volumes_where("snapshot-id", &snap).await;
    assert_eq!(restored.len(), 1, "{restored:?}");
    let v = &restored[0];
    assert_eq!(out["restore-data"]["volume_id"], v.volume_id().unwrap());
    assert_eq!(out["restore-data"]["snapshot_id"], snap);
    assert_eq!(v.state().unwrap().as_str(), "in-use");
    assert_eq!(v.volume_type().unwrap().as_str(), "gp3");
    let att = &v.attachments()[0];
    assert_eq!(att.instance_id(), Some(server.as_str()));
    assert_eq!(att.device(), Some("/dev/sdf"));
    assert!(v
        .tags()
        .iter()
        .any(|t| t.key() == Some(TOKEN_TAG) && t.value().is_some_and(|x| x.starts_with("pl-"))));
}

#[tokio::test]
pub(crate) async fn rds_and_dynamodb_restores_run_through_the_engine() {
    let m = Moto::new(REGION).await;
    let db = unique("pl-orders-db");
    m.db(&db).await;
    let manual = format!("{db}-manual");
    m.db_snapshot(&db, &manual).await;
    let table = unique("orders");
    m.table(&table).await;
    m.enable_pitr(&table).await;
    let (backup_arn, _) = m.backup(&table).await;
    let target = format!("{db}-dr");
    let pitr_target = format!("{db}-pitr");
    let pitr_table = format!("{table}-pitr");
    let bk_table = format!("{table}-restored");

    let runbook = parse(&format!(
        r#"runbook: {rb}
title: RDS and DynamoDB against moto
targets: {{ rto: 1h }}
resources:
  db: {{ kind: rds-instance, region: {REGION}, id: {db} }}
  orders: {{ kind: dynamodb-table, region: {REGION}, id: {table} }}
steps:
  - id: restore-db
    kind: action
    action: rds.restore-snapshot
    resource: db
    with: {{ snapshot: latest, target_id: {target}, instance_class: db.t3.micro }}
    wait_until: available
    timeout: 1h
    gate: {{ typed: {target} }}
  - id: restore-db-pitr
    kind: action
    action: rds.restore-point-in-time
    resource: db
    with: {{ restore_time: latest, target_id: {pitr_target} }}
    wait_until: available
    timeout: 1h
    gate: {{ typed: {pitr_target} }}
  - id: restore-orders-pitr
    kind: action
    action: dynamodb.restore-point-in-time
    resource: orders
    with: {{ restore_time: latest, target_table: {pitr_table} }}
    wait_until: active
    timeout: 1h
    gate: {{ confirm: true }}
  - id: restore-orders-backup
    kind: action
    action: dynamodb.restore-backup
    resource: orders
    with: {{ backup: latest, target_table: {bk_table} }}
    wait_until: active
    timeout: 1h
    gate: {{ confirm: true }}
"#,
        rb = unique("data")
    ));
    let aws = Arc::new(backend(&runbook, Access::ReadWrite).await);
    let (status, engine, _) = run_unattended(&aws, &runbook, &unique("run")).await;
    print_counts("rds/dynamodb run", &aws.calls().take());
    assert_eq!(status, RunStatus::Finished);
    let out = engine.outputs();

    // Exactly one restored DB instance with the target id, from the newest (manual) snapshot.
    let all = m.dbs().await;
    let restored: Vec<_> = all
        .iter()
        .filter(|d| d.db_instance_identifier() == Some(target.as_str()))
        .collect();
    assert_eq!(restored.len(), 1);
    let r = restored[0];
    assert_eq!(r.db_instance_status(), Some("available"));
    let tag = |k: &str| {
        r.tag_list()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(tag("pilotlight:source").as_deref(), Some(manual.as_str()));
    let token = tag(TOKEN_TAG).expect("the restore carries its token");
    let tagged = all
        .iter()
        .filter(|d| {
            d.tag_list()
                .iter()
                .any(|t| t.key() == Some(TOKEN_TAG) && t.value() == Some(token.as_str()))
        })
        .count();
    assert_eq!(tagged, 1);
    assert_eq!(out["restore-db"]["db_instance_id"], target);
    assert_eq!(out["restore-db"]["snapshot_id"], manual);
    assert!(!out["restore-db"]["endpoint"].is_empty());
    // Exactly the catalogue's outputs of each action, nothing borrowed from the other.
    let keys = |step: &str| out[step].keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys("restore-db"),
        ["db_instance_id", "endpoint", "snapshot_id"]
    );
    assert_eq!(
        keys("restore-db-pitr"),
        ["db_instance_id", "endpoint", "restored_to"]
    );
    assert_eq!(out["restore-db-pitr"]["db_instance_id"], pitr_target);
    assert_eq!(out["restore-db-pitr"]["restored_to"], "latest");
    let pitr_db: Vec<_> = all
        .iter()
        .filter(|d| d.db_instance_identifier() == Some(pitr_target.as_str()))
        .collect();
    assert_eq!(pitr_db.len(), 1);
    assert_eq!(pitr_db[0].db_instance_status(), Some("available"));

    // Both restored tables exist, active, with the source's item.
    for t in [&pitr_table, &bk_table] {
        let d = m.ddb.describe_table().table_name(t).send().await.unwrap();
        assert_eq!(
            d.table().and_then(|x| x.table_status()).unwrap().as_str(),
            "ACTIVE",
            "{t}"
        );
        assert!(m.has_item(t).await, "{t} holds the source's item");
    }
    assert_eq!(out["restore-orders-pitr"]["table_name"], pitr_table);
    assert_eq!(out["restore-orders-pitr"]["restored_to"], "latest");
    assert_eq!(out["restore-orders-backup"]["table_name"], bk_table);
    assert_eq!(out["restore-orders-backup"]["backup_arn"], backup_arn);
}

#[tokio::test]
pub(crate) async fn route53_weights_shift_through_the_engine() {
    let m = Moto::new(REGION).await;
    let zone_name = format!("{}.test", unique("zone"));
    let record = format!("portal.{zone_name}");
    let zone = m.weighted_zone(&zone_name, &record).await;
    let runbook = parse(&format!(
        r#"runbook: {rb}
title: Route 53 against moto
targets: {{ rto: 15m }}
resources:
  portal: {{ kind: route53-record, zone: {zone}, name: {record}, type: A }}
steps:
  - id: shift
    kind: action
    action: route53.set-weights
    resource: portal
    with: {{ weights: {{ blue: 0, green: 100 }} }}
    wait_until: insync
    timeout: 10m
    gate: {{ typed: shift }}
"#,
        rb = unique("dns")
    ));
    let aws = Arc::new(backend(&runbook, Access::ReadWrite).await);
    let preview = aws
        .cutover_preview(&plan_and_approval(&runbook, "preview").0)
        .await
        .unwrap();
    println!("preview: {preview}");
    assert!(preview.contains("blue weight 100") && preview.contains("blue weight 0"));

    let (status, engine, _) = run_unattended(&aws, &runbook, &unique("run")).await;
    print_counts("route53 run", &aws.calls().take());
    assert_eq!(status, RunStatus::Finished);
    let w = m.weights(&zone, &record).await;
    assert_eq!(
        w,
        BTreeMap::from([("blue".to_string(), 0), ("green".to_string(), 100)])
    );
    let out = &engine.outputs()["shift"];
    assert!(!out["change_id"].is_empty());
    assert!(
        out["previous_weights"].contains("blue weight 100 -> 10.0.0.1"),
        "{out:?}"
    );

    // The values did not change, only the weights.
    let obs = aws
        .observe(&runbook.resources["portal"], Utc::now())
        .await
        .unwrap();
    assert_eq!(
        obs.state,
        "blue weight 0 -> 10.0.0.1; green weight 100 -> 10.0.0.2"
    );
}
