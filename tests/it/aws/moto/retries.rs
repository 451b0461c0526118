use super::*;

// ---------------------------------------------------------------------------------------------
// 5. Safe retries

#[tokio::test]
pub(crate) async fn a_repeated_start_adopts_what_the_first_made_and_reconcile_finds_it() {
    let m = Moto::new(REGION).await;
    let volume = m.volume().await;
    let (snap, _) = m.snapshot(&volume).await;
    let db = unique("pl-retry-db");
    m.db(&db).await;
    m.db_snapshot(&db, &format!("{db}-manual")).await;
    let target = format!("{db}-dr");
    let resources = [
        res("data", "ebs-volume", REGION, &volume),
        res("db", "rds-instance", REGION, &db),
    ];

    // EBS: the same plan and approval twice.
    let rb = one_action(
        &resources,
        "data",
        "ebs.restore-volume",
        &format!("{{ snapshot: latest, availability_zone: {AZ} }}"),
    );
    let aws = backend(&rb, Access::ReadWrite).await;
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    let first = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    let second = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    println!("first: {first:?}\nsecond: {second:?}");
    assert!(!first.adopted);
    assert!(second.adopted);
    assert_eq!(first.outputs["volume_id"], second.outputs["volume_id"]);
    assert_eq!(second.outputs["snapshot_id"], snap);
    let tagged = m
        .volumes_where(&format!("tag:{TOKEN_TAG}"), &plan.token)
        .await;
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_eq!(m.volumes_where("snapshot-id", &snap).await.len(), 1);
    let counts = aws.calls().take();
    print_counts("two starts of one EBS restore", &counts);
    assert_eq!(counts.transmitted_changes(), vec!["ec2:CreateVolume"]);
    assert_eq!(counts.transmitted["ec2:CreateVolume"], 1);

    // After a crash, reconcile finds what the first start made; another attempt's token finds
    // nothing.
    let found = aws.reconcile(&plan, Utc::now()).await.unwrap().unwrap();
    assert!(found.adopted);
    assert_eq!(found.outputs["volume_id"], first.outputs["volume_id"]);
    let (other, _) = plan_and_approval(&rb, &unique("run"));
    assert_ne!(other.token, plan.token);
    assert_eq!(aws.reconcile(&other, Utc::now()).await.unwrap(), None);

    // RDS: the fixed target id makes the repeat find and adopt the first restore.
    let rb = one_action(
        &resources,
        "db",
        "rds.restore-snapshot",
        &format!("{{ snapshot: latest, target_id: {target} }}"),
    );
    let aws = backend(&rb, Access::ReadWrite).await;
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    assert_eq!(aws.reconcile(&plan, Utc::now()).await.unwrap(), None);
    let first = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    let second = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    println!("first: {first:?}\nsecond: {second:?}");
    assert!(!first.adopted);
    assert!(second.adopted);
    assert_eq!(second.outputs["db_instance_id"], target);
    assert_eq!(
        second.outputs.keys().collect::<Vec<_>>(),
        ["db_instance_id", "endpoint", "snapshot_id"]
    );
    assert_eq!(first.outputs, second.outputs);
    let named = m
        .dbs()
        .await
        .into_iter()
        .filter(|d| d.db_instance_identifier() == Some(target.as_str()))
        .count();
    assert_eq!(named, 1);
    let found = aws.reconcile(&plan, Utc::now()).await.unwrap().unwrap();
    assert_eq!(found.outputs["db_instance_id"], target);
    let counts = aws.calls().take();
    print_counts("two starts of one RDS restore", &counts);
    assert_eq!(
        counts.transmitted_changes(),
        vec!["rds:RestoreDBInstanceFromDBSnapshot"]
    );
    assert_eq!(counts.transmitted["rds:RestoreDBInstanceFromDBSnapshot"], 1);
}

#[tokio::test]
pub(crate) async fn a_same_named_target_that_another_run_made_is_refused_not_adopted() {
    let m = Moto::new(REGION).await;
    let db = unique("pl-foreign-db");
    m.db(&db).await;
    m.db_snapshot(&db, &format!("{db}-manual")).await;
    let target = format!("{db}-dr");
    let resources = [res("db", "rds-instance", REGION, &db)];
    let rb = one_action(
        &resources,
        "db",
        "rds.restore-snapshot",
        &format!("{{ snapshot: latest, target_id: {target} }}"),
    );
    let aws = backend(&rb, Access::ReadWrite).await;
    // Last month's failover left a restored instance under the same name.
    let (old, old_approval) = plan_and_approval(&rb, &unique("last-month"));
    Gated(&aws)
        .start(&old, &old_approval, Utc::now())
        .await
        .unwrap();
    aws.calls().take();
    // Tonight's run must not take it for its own: its data is a month old.
    let (plan, approval) = plan_and_approval(&rb, &unique("tonight"));
    let err = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CloudError::Refused(_)), "{err:?}");
    assert!(
        text.contains(&target) && text.contains("not made by this run"),
        "{text}"
    );
    assert!(aws.calls().take().transmitted_changes().is_empty());
    let named = m
        .dbs()
        .await
        .into_iter()
        .filter(|d| d.db_instance_identifier() == Some(target.as_str()))
        .count();
    assert_eq!(named, 1);
}

#[tokio::test]
pub(crate) async fn a_same_named_table_from_another_run_is_refused_and_a_repeat_is_adopted() {
    let m = Moto::new(REGION).await;
    let table = unique("pl-foreign-tbl");
    m.table(&table).await;
    m.enable_pitr(&table).await;
    let target = format!("{table}-dr");
    let rb = one_action(
        &[res("orders", "dynamodb-table", REGION, &table)],
        "orders",
        "dynamodb.restore-point-in-time",
        &format!("{{ restore_time: latest, target_table: {target} }}"),
    );
    let aws = backend(&rb, Access::ReadWrite).await;
    // The first run restores the table (tagged once ACTIVE); its own repeat adopts it.
    let (first, first_approval) = plan_and_approval(&rb, &unique("last-month"));
    let made = Gated(&aws)
        .start(&first, &first_approval, Utc::now())
        .await
        .unwrap();
    assert!(!made.adopted);
    let again = Gated(&aws)
        .start(&first, &first_approval, Utc::now())
        .await
        .unwrap();
    assert!(again.adopted, "{again:?}");
    let polled = Gated(&aws)
        .poll(&first.with_made(Some(&made.outputs)), Utc::now())
        .await
        .unwrap();
    assert_eq!(polled.state, "active");
    // A later run does not take the old table for its own.
    let (plan, approval) = plan_and_approval(&rb, &unique("tonight"));
    let err = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("not made by this run"), "{err}");
    let counts = aws.calls().take();
    assert_eq!(counts.transmitted["dynamodb:RestoreTableToPointInTime"], 1);
}

#[tokio::test]
pub(crate) async fn a_rerun_with_the_same_run_id_adopts_instead_of_creating() {
    let m = Moto::new(REGION).await;
    let volume = m.volume().await;
    let (snap, _) = m.snapshot(&volume).await;
    let rb = parse(&format!(
        r#"runbook: {rb}
title: restore twice
targets: {{ rto: 1h }}
resources:
  data: {{ kind: ebs-volume, region: {REGION}, id: {volume} }}
steps:
  - id: restore-data
    kind: action
    action: ebs.restore-volume
    resource: data
    with: {{ snapshot: latest, availability_zone: {AZ} }}
    wait_until: available
    timeout: 10m
    gate: {{ confirm: true }}
"#,
        rb = unique("twice")
    ));
    let aws = Arc::new(backend(&rb, Access::ReadWrite).await);
    let run_id = unique("run");
    let outcome = |records: &[Record]| {
        records
            .iter()
            .find(|r| r.kind() == EventKind::Outcome)
            .map(|r| r.event.detail().unwrap())
            .expect("an outcome")
    };
    let (s1, e1, r1) = run_unattended(&aws, &rb, &run_id).await;
    let (s2, e2, r2) = run_unattended(&aws, &rb, &run_id).await;
    assert_eq!((s1, s2), (RunStatus::Finished, RunStatus::Finished));
    assert_eq!(outcome(&r1)["adopted"], false);
    assert_eq!(outcome(&r2)["adopted"], true);
    let v1 = &e1.outputs()["restore-data"]["volume_id"];
    assert_eq!(v1, &e2.outputs()["restore-data"]["volume_id"]);
    let restored = m.volumes_where("snapshot-id", &snap).await;
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert_eq!(restored[0].volume_id(), Some(v1.as_str()));
    let counts = aws.calls().take();
    print_counts("two runs with one run id", &counts);
    assert_eq!(counts.transmitted["ec2:CreateVolume"], 1);
}

#[tokio::test]
pub(crate) async fn after_a_crash_the_change_in_flight_is_found_in_aws_not_sent_again() {
    let m = Moto::new(REGION).await;
    let volume = m.volume().await;
    m.snapshot(&volume).await;
    let rb = one_action(
        &[res("data", "ebs-volume", REGION, &volume)],
        "data",
        "ebs.restore-volume",
        &format!("{{ snapshot: latest, availability_zone: {AZ} }}"),
    );
    let aws = Arc::new(backend(&rb, Access::ReadWrite).await);
    let dir = crate::common::temp_dir("aws-crash");
    let path = dir.join("run.jsonl");
    let run_id = unique("crash");

    // The run gets as far as sending the restore; the process dies before the answer is
    // journaled.
    {
        let mut journal = Journal::create(&path, "moto-test", &rb.id, Mode::Live).unwrap();
        let mut engine = Engine::new(rb.clone(), &run_id);
        let now = Utc::now();
        let mut inputs = VecDeque::from([Input::Start]);
        'crash: while let Some(input) = inputs.pop_front() {
            for effect in engine.handle(input, now) {
                match effect {
                    Effect::Record(entry) => {
                        journal.append(&entry).unwrap();
                        inputs.push_back(Input::Recorded);
                    }
                    Effect::ShowGate { .. } => inputs.push_back(Input::Gate(GateDecision {
                        approve: true,
                        typed: None,
                        reason: Some("moto crash test".into()),
                        unattended: true,
                    })),
                    Effect::Mutate { plan, approval } => {
                        Gated(&aws).start(&plan, &approval, now).await.unwrap();
                        break 'crash;
                    }
                    other => panic!("unexpected before the change: {other:?}"),
                }
            }
        }
    }
    assert_eq!(aws.calls().counts().transmitted["ec2:CreateVolume"], 1);

    // Resumed from the journal: the in-flight restore is looked for in AWS and adopted.
    let (journal, records, torn) = Journal::resume(&path, "moto-test").unwrap();
    assert!(torn.is_none());
    assert_eq!(records.last().unwrap().kind(), EventKind::Intent);
    let engine = Engine::from_records(rb.clone(), &records).unwrap();
    let mut runner = crate::common::engine::unattended(
        engine,
        journal,
        aws.clone(),
        Utc::now().trunc_subsecs(3),
        Seen::default(),
        Input::Resume,
        None,
    );
    let status = run_to_end(&mut runner).await;
    let seen = runner.observer();
    assert_eq!(status, RunStatus::Finished);
    let outcome = seen
        .records
        .iter()
        .find(|r| r.kind() == EventKind::Outcome)
        .unwrap();
    assert_eq!(
        detail(&outcome)["adopted"],
        true,
        "{}",
        outcome.event.detail().unwrap()
    );
    let counts = aws.calls().take();
    print_counts("a crash and a resume", &counts);
    assert_eq!(counts.transmitted["ec2:CreateVolume"], 1);
    let token = &records
        .iter()
        .find(|r| r.kind() == EventKind::Intent)
        .unwrap()
        .event
        .detail()
        .unwrap()["plan"]["token"];
    let made = m
        .volumes_where(&format!("tag:{TOKEN_TAG}"), token.as_str().unwrap())
        .await;
    assert_eq!(made.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 6. Read-only

#[tokio::test]
pub(crate) async fn read_only_observes_but_no_change_leaves_the_process() {
    let m = Moto::new(REGION).await;
    let volume = m.volume().await;
    let (snap, _) = m.snapshot(&volume).await;
    let db = unique("pl-ro-db");
    m.db(&db).await;
    let target = format!("{db}-dr");
    let vm = m.run_instances(1, &unique("ro")).await.remove(0);
    let resources = [
        res("data", "ebs-volume", REGION, &volume),
        res("db", "rds-instance", REGION, &db),
        res("vm", "ec2-instance", REGION, &vm),
    ];
    let rb = one_action(
        &resources,
        "data",
        "ebs.restore-volume",
        &format!("{{ snapshot: latest, availability_zone: {AZ} }}"),
    );
    let ro = backend(&rb, Access::ReadOnly).await;

    // A full refresh works.
    let obs = by_name(observe_all(&ro, rb.resources.values().cloned().collect(), Utc::now()).await);
    for name in ["data", "db", "vm"] {
        assert_eq!(ok(&obs, name).health, Health::Ok, "{name}");
    }
    let reads = ro.calls().counts();
    assert!(reads.total_operations() > 0);
    assert!(reads.refused.is_empty());

    // A restore, even with the engine's approval, is refused.
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    let err = Gated(&ro)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap_err();
    println!("{err}");
    assert!(matches!(err, CloudError::Refused(_)), "{err:?}");
    let rds_rb = one_action(
        &resources,
        "db",
        "rds.restore-snapshot",
        &format!("{{ snapshot: latest, target_id: {target} }}"),
    );
    let ro_rds = backend(&rds_rb, Access::ReadOnly).await;
    let (rds_plan, rds_approval) = plan_and_approval(&rds_rb, &unique("run"));
    let err = Gated(&ro_rds)
        .start(&rds_plan, &rds_approval, Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::Refused(_)), "{err:?}");

    // The backend refuses before building a request (nothing is even attempted), so the guard
    // is proven on its own: a change sent straight through the read-only clients is refused by
    // the guard, counted, and never transmitted.
    let before = ro.calls().counts();
    let sent = ro
        .clients()
        .ec2(REGION)
        .create_volume()
        .snapshot_id(&snap)
        .availability_zone(AZ)
        .send()
        .await;
    let e = sent.expect_err("the guard refuses");
    let text = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&e)
    );
    assert!(text.contains("read-only"), "{text}");
    let after = ro.calls().counts();
    print_counts("read-only backend", &after);
    assert_eq!(
        after.refused.get("ec2:CreateVolume").copied().unwrap_or(0),
        before.refused.get("ec2:CreateVolume").copied().unwrap_or(0) + 1
    );
    for c in [&after, &ro_rds.calls().counts()] {
        assert!(c.transmitted_changes().is_empty(), "{c:?}");
        assert!(
            c.operations
                .keys()
                .all(|op| pilotlight::cloud::aws::clients::is_read(op)),
            "only reads were started: {c:?}"
        );
    }

    // moto is as it was: no volume from the snapshot, none with the token, no restored DB.
    assert!(m.volumes_where("snapshot-id", &snap).await.is_empty());
    assert!(m
        .volumes_where(&format!("tag:{TOKEN_TAG}"), &plan.token)
        .await
        .is_empty());
    assert!(!m
        .dbs()
        .await
        .iter()
        .any(|d| d.db_instance_identifier() == Some(target.as_str())));
}
