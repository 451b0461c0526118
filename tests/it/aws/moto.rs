//! The live-AWS backend over the wire, against moto on 127.0.0.1 (one server per test process,
//! see `crate::common::moto`). Each test seeds its own uniquely named resources with the AWS SDK,
//! drives pilotlight's `AwsCloud` (reads directly, changes through a real engine and its
//! approvals), and checks the result in moto with the SDK again. Nothing sleeps: moto makes
//! things available at once, and the drills' virtual clock only jumps between polls.
//!
//! What moto cannot show (said where it matters):
//! - RDS `LatestRestorableTime` is "now" on every describe, so a DB instance's newest recovery
//!   point is always its PITR time, never its newest snapshot's.
//! - DynamoDB `RestoreTableToPointInTime` ignores the restore time (it copies the table as it
//!   is now), so only that the restore is requested and lands is checked, not the time.
//! - moto ignores EC2 `ClientToken` (two CreateVolume calls with one token make two volumes),
//!   so a repeat is made safe only by pilotlight's own find-and-adopt, which the retry tests
//!   check by counting what was sent and what exists.
//! - moto reports EBS snapshot start times to the second, so the reads test takes one snapshot
//!   per volume (two in one second would tie).

use crate::common::detail;

use crate::common::engine::{plan_and_approval, Seen};

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, SubsecRound, Utc};
use pilotlight::audit::{EventKind, Journal, Mode, Record};
use pilotlight::cloud::aws::{Access, AwsCloud, CallCounts, Clients, Endpoints, Timeouts};
use pilotlight::cloud::{observe_all, Change, Gated, Mutate, Observation, Observe};
use pilotlight::engine::{Effect, Engine, GateDecision, Input, RunStatus};
use pilotlight::model::{CloudError, RecoveryPointKind, ResourceStatus};
use pilotlight::runbook::{Health, Runbook};
use pilotlight::runtime::unattended::run_to_end;

const REGION: &str = "us-east-1";
const OTHER_REGION: &str = "us-west-2";
const AZ: &str = "us-east-1a";
const TOKEN_TAG: &str = "pilotlight:token";

// ---------------------------------------------------------------------------------------------
// Helpers

/// A name no other test in this process uses (moto is shared by all of them).
fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn sdk(region: &str) -> SdkConfig {
    crate::common::moto::sdk_config(crate::common::moto::url(), region).await
}

async fn backend(runbook: &Arc<Runbook>, access: Access) -> AwsCloud {
    let clients = Clients::new(
        sdk(REGION).await,
        access,
        Timeouts::default(),
        Endpoints::new(),
    );
    AwsCloud::new(clients, runbook.clone())
}

fn parse(yaml: &str) -> Arc<Runbook> {
    let runbook = pilotlight::runbook::parse(yaml.as_bytes())
        .unwrap_or_else(|e| panic!("test runbook is invalid: {e:?}\n{yaml}"));
    Arc::new(runbook)
}

/// A runbook watching `resources` (YAML mapping lines, indented by two), with one check step.
fn watch_runbook(resources: &[String], first: &str) -> Arc<Runbook> {
    let yaml = format!(
        "runbook: {}\ntitle: moto reads\ntargets: {{ rto: 1h }}\nresources:\n{}\nsteps:\n  - id: look\n    kind: check\n    expect: {{ resource: {first}, health: [ok] }}\n",
        unique("watch"),
        resources.join("\n")
    );
    parse(&yaml)
}

fn res(name: &str, kind: &str, region: &str, id: &str) -> String {
    format!("  {name}: {{ kind: {kind}, region: {region}, id: {id} }}")
}

fn by_name(obs: Vec<Observation>) -> BTreeMap<String, Result<ResourceStatus, CloudError>> {
    let n = obs.len();
    let map: BTreeMap<_, _> = obs.into_iter().collect();
    assert_eq!(map.len(), n, "each resource is observed once");
    map
}

fn ok<'a>(
    obs: &'a BTreeMap<String, Result<ResourceStatus, CloudError>>,
    name: &str,
) -> &'a ResourceStatus {
    match obs.get(name) {
        Some(Ok(s)) => s,
        other => panic!("{name}: expected an observation, got {other:?}"),
    }
}

fn sdk_time(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).expect("a valid time")
}

fn print_counts(label: &str, c: &CallCounts) {
    println!("{label}: {} operations", c.total_operations());
    for (op, n) in &c.operations {
        let sent = c.transmitted.get(op).copied().unwrap_or(0);
        println!("  {op:<32} {n} operation(s), {sent} request(s) sent");
    }
    for (op, n) in &c.refused {
        println!("  {op:<32} {n} refused before sending");
    }
}

/// The SDK clients the tests seed moto with and check it through (not pilotlight's).
struct Moto {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    ddb: aws_sdk_dynamodb::Client,
    r53: aws_sdk_route53::Client,
}

impl Moto {
    async fn new(region: &str) -> Moto {
        let cfg = sdk(region).await;
        Moto {
            ec2: aws_sdk_ec2::Client::new(&cfg),
            rds: aws_sdk_rds::Client::new(&cfg),
            ddb: aws_sdk_dynamodb::Client::new(&cfg),
            r53: aws_sdk_route53::Client::new(&cfg),
        }
    }

    /// One of the AMIs moto ships.
    async fn any_ami(&self) -> String {
        let out = self.ec2.describe_images().send().await.unwrap();
        out.images()
            .iter()
            .find_map(|i| i.image_id())
            .expect("moto ships default AMIs")
            .to_string()
    }

    async fn subnet(&self, az: &str) -> String {
        let out = self
            .ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("availability-zone")
                    .values(az)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.subnets()
            .iter()
            .find(|s| s.default_for_az() == Some(true))
            .or_else(|| out.subnets().first())
            .and_then(|s| s.subnet_id())
            .expect("moto has a default subnet per AZ")
            .to_string()
    }

    async fn run_instances(&self, n: i32, name: &str) -> Vec<String> {
        let ami = self.any_ami().await;
        let subnet = self.subnet(AZ).await;
        let out = self
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .subnet_id(subnet)
            .min_count(n)
            .max_count(n)
            .tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("Name")
                            .value(name)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.instances()
            .iter()
            .map(|i| i.instance_id().unwrap().to_string())
            .collect()
    }

    async fn instance(&self, id: &str) -> aws_sdk_ec2::types::Instance {
        let out = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .unwrap();
        out.reservations()[0].instances()[0].clone()
    }

    async fn instances_tagged(&self, key: &str, value: &str) -> Vec<aws_sdk_ec2::types::Instance> {
        let out = self
            .ec2
            .describe_instances()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name(format!("tag:{key}"))
                    .values(value)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .cloned()
            .collect()
    }

    async fn volume(&self) -> String {
        let out = self
            .ec2
            .create_volume()
            .availability_zone(AZ)
            .size(8)
            .send()
            .await
            .unwrap();
        out.volume_id().unwrap().to_string()
    }

    /// A snapshot of `volume`, with its start time as moto's DescribeSnapshots reports it.
    async fn snapshot(&self, volume: &str) -> (String, DateTime<Utc>) {
        let id = self
            .ec2
            .create_snapshot()
            .volume_id(volume)
            .send()
            .await
            .unwrap()
            .snapshot_id()
            .unwrap()
            .to_string();
        let out = self
            .ec2
            .describe_snapshots()
            .snapshot_ids(&id)
            .send()
            .await
            .unwrap();
        let at = sdk_time(out.snapshots()[0].start_time().unwrap());
        (id, at)
    }

    async fn volumes_where(&self, name: &str, value: &str) -> Vec<aws_sdk_ec2::types::Volume> {
        let out = self
            .ec2
            .describe_volumes()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name(name)
                    .values(value)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.volumes().to_vec()
    }

    async fn db(&self, id: &str) {
        self.rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("pilot")
            .master_user_password("not-a-secret-1")
            .send()
            .await
            .unwrap();
    }

    /// A manual snapshot of `db`, with its time as moto's DescribeDBSnapshots reports it.
    async fn db_snapshot(&self, db: &str, id: &str) -> DateTime<Utc> {
        self.rds
            .create_db_snapshot()
            .db_instance_identifier(db)
            .db_snapshot_identifier(id)
            .send()
            .await
            .unwrap();
        let out = self
            .rds
            .describe_db_snapshots()
            .db_snapshot_identifier(id)
            .send()
            .await
            .unwrap();
        sdk_time(out.db_snapshots()[0].snapshot_create_time().unwrap())
    }

    async fn dbs(&self) -> Vec<aws_sdk_rds::types::DbInstance> {
        let pages = self
            .rds
            .describe_db_instances()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .unwrap();
        pages
            .into_iter()
            .flat_map(|p| p.db_instances.unwrap_or_default())
            .collect()
    }

    async fn table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.ddb
            .create_table()
            .table_name(name)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        self.ddb
            .put_item()
            .table_name(name)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("order-1".into()),
            )
            .send()
            .await
            .unwrap();
    }

    /// Turns on PITR; returns the latest restorable time moto reports.
    async fn enable_pitr(&self, table: &str) -> DateTime<Utc> {
        self.ddb
            .update_continuous_backups()
            .table_name(table)
            .point_in_time_recovery_specification(
                aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let out = self
            .ddb
            .describe_continuous_backups()
            .table_name(table)
            .send()
            .await
            .unwrap();
        let at = out
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.latest_restorable_date_time())
            .expect("moto reports a latest restorable time once PITR is on");
        sdk_time(at)
    }

    /// An on-demand backup; its ARN and creation time as moto's DescribeBackup reports them.
    async fn backup(&self, table: &str) -> (String, DateTime<Utc>) {
        let arn = self
            .ddb
            .create_backup()
            .table_name(table)
            .backup_name(format!("{table}-bk"))
            .send()
            .await
            .unwrap()
            .backup_details()
            .unwrap()
            .backup_arn()
            .to_string();
        let out = self
            .ddb
            .describe_backup()
            .backup_arn(&arn)
            .send()
            .await
            .unwrap();
        let at = out
            .backup_description()
            .and_then(|d| d.backup_details())
            .map(|d| sdk_time(d.backup_creation_date_time()))
            .unwrap();
        (arn, at)
    }

    async fn has_item(&self, table: &str) -> bool {
        let out = self
            .ddb
            .get_item()
            .table_name(table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("order-1".into()),
            )
            .send()
            .await
            .unwrap();
        out.item().is_some()
    }

    /// A hosted zone with `name` weighted A records: blue (weight 100) and green (weight 0).
    async fn weighted_zone(&self, zone: &str, name: &str) -> String {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
        };
        let out = self
            .r53
            .create_hosted_zone()
            .name(zone)
            .caller_reference(unique("ref"))
            .send()
            .await
            .unwrap();
        let id = out
            .hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string();
        let set = |sid: &str, weight: i64, ip: &str| {
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name(name)
                        .r#type(RrType::A)
                        .set_identifier(sid)
                        .weight(weight)
                        .ttl(60)
                        .resource_records(ResourceRecord::builder().value(ip).build().unwrap())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        };
        self.r53
            .change_resource_record_sets()
            .hosted_zone_id(&id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(set("blue", 100, "10.0.0.1"))
                    .changes(set("green", 0, "10.0.0.2"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        id
    }

    /// Weight by set identifier of the records named `name`.
    async fn weights(&self, zone: &str, name: &str) -> BTreeMap<String, i64> {
        let out = self
            .r53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .filter(|s| s.name().trim_end_matches('.') == name.trim_end_matches('.'))
            .filter_map(|s| Some((s.set_identifier()?.to_string(), s.weight()?)))
            .collect()
    }
}

/// Runs the whole runbook unattended (every gate confirmed, virtual clock at full speed)
/// against `aws`, as `drill --unattended` does against the simulated world.
async fn run_unattended(
    aws: &Arc<AwsCloud>,
    runbook: &Arc<Runbook>,
    run_id: &str,
) -> (RunStatus, Engine, Vec<Record>) {
    let dir = crate::common::temp_dir("aws-moto");
    let journal =
        Journal::create(&dir.join("run.jsonl"), "moto-test", &runbook.id, Mode::Live).unwrap();
    let engine = Engine::new(runbook.clone(), run_id);
    println!("run {run_id}:");
    let mut runner = crate::common::engine::unattended(
        engine,
        journal,
        aws.clone(),
        Utc::now().trunc_subsecs(3),
        Seen::default(),
        Input::Start,
        None,
    );
    let status = run_to_end(&mut runner).await;
    let seen = std::mem::take(runner.observer_mut());
    assert!(seen.refused.is_empty(), "refused: {:?}", seen.refused);
    (status, runner.into_engine(), seen.records)
}

/// A runbook whose only step is `action` on `resource`.
fn one_action(resources: &[String], resource: &str, action: &str, with: &str) -> Arc<Runbook> {
    parse(&format!(
        r#"runbook: {}
title: one action against moto
targets: {{ rto: 1h }}
resources:
{}
steps:
  - id: act
    kind: action
    action: {action}
    resource: {resource}
    with: {with}
    gate: {{ confirm: true }}
"#,
        unique("one"),
        resources.join("\n")
    ))
}

// ---------------------------------------------------------------------------------------------
// 1. Reads

#[tokio::test]
async fn reads_report_health_state_and_recovery_points_as_moto_has_them() {
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
async fn identity_is_asked_in_the_runbook_regions_when_the_home_region_is_dark() {
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
async fn a_refresh_of_200_resources_costs_one_call_per_service_region_and_chunk() {
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

    for refresh in 1..=2 {
        let obs = by_name(observe_all(&aws, resources.clone(), Utc::now()).await);
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
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(counts.operations, expected);
        assert_eq!(counts.total_operations(), 9);
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
async fn a_missing_id_fails_only_its_own_resource() {
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

// ---------------------------------------------------------------------------------------------
// 4. Actions through the engine

#[tokio::test]
async fn ec2_and_ebs_actions_run_through_the_engine() {
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
async fn rds_and_dynamodb_restores_run_through_the_engine() {
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
async fn route53_weights_shift_through_the_engine() {
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

// ---------------------------------------------------------------------------------------------
// 5. Safe retries

#[tokio::test]
async fn a_repeated_start_adopts_what_the_first_made_and_reconcile_finds_it() {
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
async fn a_same_named_target_that_another_run_made_is_refused_not_adopted() {
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
async fn a_same_named_table_from_another_run_is_refused_and_a_repeat_is_adopted() {
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
    // The first run restores and tags the table; its own repeat adopts it.
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
async fn a_rerun_with_the_same_run_id_adopts_instead_of_creating() {
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
async fn after_a_crash_the_change_in_flight_is_found_in_aws_not_sent_again() {
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
async fn read_only_observes_but_no_change_leaves_the_process() {
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
                .all(|op| pilotlight::cloud::aws::clients::is_read(op.split(':').nth(1).unwrap())),
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
