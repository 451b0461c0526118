use super::*;

// ---------------------------------------------------------------------------------------------
// 1. Reads

#[tokio::test]
pub(crate) async fn reads_report_health_state_and_recovery_points_as_moto_has_them() {
    let m = Moto::new(REGION).await;
    let server = m.run_instances(1, &unique("web")).await.remove(0);
    let volume = m.volume().await;
    let (snap, snap_at) = m.snapshot(&volume).await;
    let db = unique("pl-db");
    m.db(&db).await;
    let db_snap_at = m.db_snapshot(&db, &format!("{db}-manual")).await;
    let orders = unique("orders");
    m.table(&orders).await;
    let orders_pitr_at = m.enable_pitr(&orders).await;
    let (backup_arn, backup_at) = m.backup(&orders).await;
    let ledger = unique("ledger");
    m.table(&ledger).await;
    let ledger_pitr_at = m.enable_pitr(&ledger).await;
    let zone_name = format!("{}.test", unique("zone"));
    let record = format!("app.{zone_name}");
    let zone = m.weighted_zone(&zone_name, &record).await;

    let runbook = watch_runbook(
        &[
            res("web", "ec2-instance", REGION, &server),
            res("data", "ebs-volume", REGION, &volume),
            res("db", "rds-instance", REGION, &db),
            res("orders", "dynamodb-table", REGION, &orders),
            res("ledger", "dynamodb-table", REGION, &ledger),
            format!("  dns-blue: {{ kind: route53-record, zone: {zone}, name: {record}, type: A, set_identifier: blue }}"),
            format!("  dns-green: {{ kind: route53-record, zone: {zone}, name: {record}, type: A, set_identifier: green }}"),
        ],
        "web",
    );
    let aws = backend(&runbook, Access::ReadWrite).await;

    let me = aws.identity().await.unwrap();
    assert_eq!(me.account, "123456789012", "moto's account");

    let resources: Vec<_> = runbook.resources.values().cloned().collect();
    let obs = by_name(observe_all(&aws, resources, Utc::now()).await);
    let db_later = m
        .rds
        .describe_db_instances()
        .db_instance_identifier(&db)
        .send()
        .await
        .unwrap();
    println!("{obs:#?}");
    assert_eq!(obs.len(), 7);

    let web = ok(&obs, "web");
    assert_eq!((web.health, web.state.as_str()), (Health::Ok, "running"));
    assert_eq!(web.latest_recovery_point, None);

    let data = ok(&obs, "data");
    assert_eq!(
        (data.health, data.state.as_str()),
        (Health::Ok, "available")
    );
    let rp = data.latest_recovery_point.as_ref().unwrap();
    assert_eq!(
        (rp.id.as_str(), rp.at, rp.kind),
        (snap.as_str(), snap_at, RecoveryPointKind::Snapshot)
    );

    // moto's LatestRestorableTime is "now" at every describe, so the PITR time is always newer
    // than the manual snapshot: the newest recovery point is the PITR one, at the time moto
    // answered pilotlight (after the snapshot, before the describe made after the refresh).
    let d = ok(&obs, "db");
    assert_eq!((d.health, d.state.as_str()), (Health::Ok, "available"));
    let rp = d.latest_recovery_point.as_ref().unwrap();
    assert_eq!(rp.kind, RecoveryPointKind::Pitr);
    assert_eq!(rp.id, format!("{db} (latest restorable time)"));
    let later = sdk_time(db_later.db_instances()[0].latest_restorable_time().unwrap());
    assert!(
        db_snap_at <= rp.at && rp.at <= later,
        "{db_snap_at} <= {} <= {later}",
        rp.at
    );

    // PITR on, then an on-demand backup: the backup is the newer recovery point.
    let o = ok(&obs, "orders");
    assert_eq!((o.health, o.state.as_str()), (Health::Ok, "active"));
    assert!(orders_pitr_at <= backup_at);
    let rp = o.latest_recovery_point.as_ref().unwrap();
    assert_eq!(
        (rp.id.as_str(), rp.at, rp.kind),
        (backup_arn.as_str(), backup_at, RecoveryPointKind::Backup)
    );

    // PITR only: the latest restorable time moto reports.
    let l = ok(&obs, "ledger");
    assert_eq!((l.health, l.state.as_str()), (Health::Ok, "active"));
    let rp = l.latest_recovery_point.as_ref().unwrap();
    assert_eq!((rp.at, rp.kind), (ledger_pitr_at, RecoveryPointKind::Pitr));

    let blue = ok(&obs, "dns-blue");
    assert_eq!(
        (blue.health, blue.state.as_str()),
        (Health::Ok, "blue weight 100 -> 10.0.0.1")
    );
    let green = ok(&obs, "dns-green");
    assert_eq!(
        (green.health, green.state.as_str()),
        (Health::Ok, "green weight 0 -> 10.0.0.2")
    );
    assert_eq!(blue.latest_recovery_point, None);

    // One resource alone reads the same as in the batch.
    let single = aws
        .observe(&runbook.resources["data"], Utc::now())
        .await
        .unwrap();
    assert_eq!(&single, data);

    let counts = aws.calls().take();
    print_counts("reads", &counts);
    assert!(counts.transmitted_changes().is_empty(), "{counts:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Batching

#[tokio::test]
pub(crate) async fn identity_is_asked_in_the_runbook_regions_when_the_home_region_is_dark() {
    let hole = crate::common::standin::StandIn::black_hole().await;
    let runbook = watch_runbook(
        &[res(
            "web",
            "ec2-instance",
            OTHER_REGION,
            "i-0abc1234def567890",
        )],
        "web",
    );
    let quick = Timeouts {
        connect: std::time::Duration::from_secs(1),
        attempt: std::time::Duration::from_secs(2),
        operation: std::time::Duration::from_secs(3),
        max_attempts: 1,
    };
    // The operator's configured region (us-east-1) is the one that went dark.
    let dark = Endpoints::from([(format!("sts@{REGION}"), hole.url().to_string())]);
    let aws = AwsCloud::new(
        Clients::new(sdk(REGION).await, Access::ReadOnly, quick, dark),
        runbook.clone(),
    );
    let me = aws.identity().await.unwrap();
    assert_eq!(me.account, "123456789012");
    assert!(hole.connections() >= 1, "the home region was asked first");
    let calls = aws.calls().counts();
    assert_eq!(calls.operations["sts:GetCallerIdentity"], 2, "{calls:?}");

    // Every region dark: the error says so and names where it asked.
    let all_dark = Endpoints::from([("sts".to_string(), hole.url().to_string())]);
    let aws = AwsCloud::new(
        Clients::new(sdk(REGION).await, Access::ReadOnly, quick, all_dark),
        runbook,
    );
    let err = aws.identity().await.unwrap_err();
    assert!(err.is_no_answer(), "{err:?}");
}

#[tokio::test]
pub(crate) async fn a_refresh_of_200_resources_costs_one_call_per_service_region_and_chunk() {
    const VOLUMES_EAST: usize = 110;
    const VOLUMES_WEST: usize = 10;
    const INSTANCES: i32 = 40;
    const DATABASES: usize = 40;
    let east = Moto::new(REGION).await;
    let west = Moto::new(OTHER_REGION).await;
    let fleet = unique("fleet");

    let (east_vols, west_vols, instances, dbs) = tokio::join!(
        futures_util::future::join_all((0..VOLUMES_EAST).map(|_| east.volume())),
        async {
            let mut v = Vec::new();
            for _ in 0..VOLUMES_WEST {
                let out = west
                    .ec2
                    .create_volume()
                    .availability_zone("us-west-2a")
                    .size(8)
                    .send()
                    .await
                    .unwrap();
                v.push(out.volume_id().unwrap().to_string());
            }
            v
        },
        east.run_instances(INSTANCES, &fleet),
        futures_util::future::join_all((0..DATABASES).map(|_| async {
            let id = unique("pl-fleet-db");
            east.db(&id).await;
            id
        })),
    );
    // Some volumes have snapshots, so DescribeSnapshots answers with something.
    for v in east_vols.iter().take(5) {
        east.snapshot(v).await;
    }
    for v in west_vols.iter().take(2) {
        west.snapshot(v).await;
    }

    let mut lines = Vec::new();
    for (i, v) in east_vols.iter().enumerate() {
        lines.push(res(&format!("vol-e{i}"), "ebs-volume", REGION, v));
    }
    for (i, v) in west_vols.iter().enumerate() {
        lines.push(res(&format!("vol-w{i}"), "ebs-volume", OTHER_REGION, v));
    }
    for (i, id) in instances.iter().enumerate() {
        lines.push(res(&format!("vm{i}"), "ec2-instance", REGION, id));
    }
    for (i, id) in dbs.iter().enumerate() {
        lines.push(res(&format!("db{i}"), "rds-instance", REGION, id));
    }
    assert_eq!(lines.len(), 200);
    let runbook = watch_runbook(&lines, "vm0");
    let aws = backend(&runbook, Access::ReadWrite).await;
    let resources: Vec<_> = runbook.resources.values().cloned().collect();

    // The console refreshes every 30 s; snapshot lists are read again only once five minutes
    // (the slow tier) have passed.
    let t0 = Utc::now();
    for (refresh, at, slow) in [
        (1, t0, true),
        (2, t0 + chrono::Duration::seconds(30), false),
        (3, t0 + SLOW_EVERY, true),
    ] {
        let obs = by_name(observe_all(&aws, resources.clone(), at).await);
        let counts = aws.calls().take();
        print_counts(
            &format!("refresh {refresh} of 200 resources (110+10 EBS volumes in 2 regions, 40 EC2 instances, 40 RDS instances)"),
            &counts,
        );
        assert_eq!(obs.len(), 200);
        let failed: Vec<_> = obs.iter().filter(|(_, r)| r.is_err()).collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert!(obs
            .values()
            .all(|r| r.as_ref().unwrap().health == Health::Ok));

        // The design: at most 100 ids per call; one call per (service, region, chunk, page).
        // moto answers each of these in a single page (no NextToken), so pages add nothing.
        // EBS us-east-1: 110 ids = 2 chunks, each DescribeVolumes + DescribeSnapshots;
        // EBS us-west-2: 10 ids = 1 chunk; EC2: 40 ids = 1 DescribeInstanceStatus;
        // RDS: 40 ids = 1 DescribeDBInstances + 1 DescribeDBSnapshots.
        let expected: BTreeMap<String, u64> = [
            ("ec2:DescribeVolumes", 3),
            ("ec2:DescribeSnapshots", 3),
            ("ec2:DescribeInstanceStatus", 1),
            ("rds:DescribeDBInstances", 1),
            ("rds:DescribeDBSnapshots", 1),
        ]
        .into_iter()
        .filter(|(k, _)| slow || !k.contains("Snapshots"))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(counts.operations, expected, "refresh {refresh}");
        assert_eq!(counts.total_operations(), if slow { 9 } else { 5 });
        // The snapshots found on the first refresh are still shown on the second.
        let snapshotted = obs
            .values()
            .filter(|r| r.as_ref().unwrap().latest_recovery_point.is_some())
            .count();
        assert!(snapshotted >= 7, "refresh {refresh}: {snapshotted}");
        assert_eq!(
            counts.transmitted, counts.operations,
            "one request per operation: no retries, no extra pages"
        );
        assert!(counts.refused.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Missing ids

#[tokio::test]
pub(crate) async fn a_missing_id_fails_only_its_own_resource() {
    let m = Moto::new(REGION).await;
    let vms = m.run_instances(2, &unique("pair")).await;
    let volume = m.volume().await;
    let db = unique("pl-lone-db");
    m.db(&db).await;
    let table = unique("lone");
    m.table(&table).await;

    let runbook = watch_runbook(
        &[
            res("vm-a", "ec2-instance", REGION, &vms[0]),
            res("vm-gone-1", "ec2-instance", REGION, "i-0123456789abcdef0"),
            res("vm-b", "ec2-instance", REGION, &vms[1]),
            res("vm-gone-2", "ec2-instance", REGION, "i-0fedcba9876543210"),
            res("vol", "ebs-volume", REGION, &volume),
            res("vol-gone", "ebs-volume", REGION, "vol-0123456789abcdef0"),
            res("db", "rds-instance", REGION, &db),
            res("db-gone", "rds-instance", REGION, "pl-no-such-db"),
            res("table", "dynamodb-table", REGION, &table),
            res("table-gone", "dynamodb-table", REGION, "pl-no-such-table"),
        ],
        "vm-a",
    );
    let aws = backend(&runbook, Access::ReadWrite).await;
    let resources: Vec<_> = runbook.resources.values().cloned().collect();
    let obs = by_name(observe_all(&aws, resources, Utc::now()).await);
    println!("{obs:#?}");
    let counts = aws.calls().take();
    print_counts("refresh with missing ids", &counts);

    for name in ["vm-a", "vm-b", "vol", "db", "table"] {
        assert_eq!(ok(&obs, name).health, Health::Ok, "{name}");
    }
    for name in [
        "vm-gone-1",
        "vm-gone-2",
        "vol-gone",
        "db-gone",
        "table-gone",
    ] {
        assert!(
            matches!(obs[name], Err(CloudError::NotFound(_))),
            "{name}: {:?}",
            obs[name]
        );
    }
    // EC2 fails the whole DescribeInstanceStatus for an unknown id and names every unknown id
    // (moto as AWS): one call fails, one call without the two missing ids answers.
    assert_eq!(counts.operations["ec2:DescribeInstanceStatus"], 2);
}
