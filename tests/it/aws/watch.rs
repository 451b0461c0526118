//! `pilotlight watch RUNBOOK` on live AWS (moto on 127.0.0.1), in a real terminal:
//!
//! - behind a recording proxy, a whole session (a refresh, every key that changes a run in
//!   another mode, quit) sends only reads (`Describe*`, `List*`, `Get*`), asks every seeded
//!   service, and leaves moto exactly as it was;
//! - with one service black-holed and `PILOTLIGHT_AWS_TIMEOUT=2`, the healthy service is shown
//!   first, the help opens at once while the silent call is pending, and the silent service's
//!   resource says `no answer` (and the notice line `not answering`) within the timeout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::pty::Pty;
use crate::common::standin::{Reply, StandIn};
use crate::common::{moto, temp_dir};
use serde_json::json;

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The resources table's row of `name` (a line that starts with it, and names its kind).
fn row<'a>(screen: &'a str, name: &str, kind: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.trim_start_matches(['│', '┃', ' ']).starts_with(name) && l.contains(kind))
}

/// Whether `name`'s row shows `word` as a cell of its own (`ok`, `unknown`, ...).
fn shows(screen: &str, name: &str, kind: &str, word: &str) -> bool {
    row(screen, name, kind).is_some_and(|l| l.split_whitespace().any(|w| w == word))
}

fn row_text(screen: &str, name: &str, kind: &str) -> String {
    row(screen, name, kind).unwrap_or("(no row)").to_string()
}

async fn create_db(rds: &aws_sdk_rds::Client, id: &str) {
    rds.create_db_instance()
        .db_instance_identifier(id)
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-a-secret-1")
        .send()
        .await
        .unwrap();
}

async fn create_volume(ec2: &aws_sdk_ec2::Client, az: &str) -> String {
    ec2.create_volume()
        .availability_zone(az)
        .size(8)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// 1. Zero mutating requests reach the server across a whole watch session.

/// Test 1's region: no other test of this file touches it, so its whole state can be compared.
const REGION: &str = "eu-west-1";

struct Seeded {
    db: String,
    volume: String,
    table: String,
    zone: String,
    record: String,
}

async fn seed_all(tag: &str) -> Seeded {
    let sdk = moto::sdk_config(moto::url(), REGION).await;
    let rds = aws_sdk_rds::Client::new(&sdk);
    let db = format!("{tag}-orders");
    create_db(&rds, &db).await;
    rds.create_db_snapshot()
        .db_instance_identifier(&db)
        .db_snapshot_identifier(format!("{db}-snap-1"))
        .send()
        .await
        .unwrap();

    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let volume = create_volume(&ec2, &format!("{REGION}a")).await;
    ec2.create_snapshot()
        .volume_id(&volume)
        .send()
        .await
        .unwrap();

    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("{tag}-ledger");
    ddb.create_table()
        .table_name(&table)
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

    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let r53 = aws_sdk_route53::Client::new(&moto::sdk_config(moto::url(), "us-east-1").await);
    let zone_name = format!("{tag}.example.");
    let zone = r53
        .create_hosted_zone()
        .name(&zone_name)
        .caller_reference(format!("{tag}-{}", std::process::id()))
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let record = format!("portal.{zone_name}");
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name(&record)
                                .r#type(RrType::A)
                                .ttl(60)
                                .resource_records(
                                    ResourceRecord::builder().value("10.0.0.1").build().unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    Seeded {
        db,
        volume,
        table,
        zone,
        record,
    }
}

/// Everything moto holds in test 1's region and in Route 53, one line per thing.
async fn moto_state(zone: &str) -> Vec<String> {
    let sdk = moto::sdk_config(moto::url(), REGION).await;
    let mut out = Vec::new();
    let rds = aws_sdk_rds::Client::new(&sdk);
    let dbs = rds.describe_db_instances().send().await.unwrap();
    for d in dbs.db_instances() {
        out.push(format!(
            "rds instance {} {}",
            d.db_instance_identifier().unwrap_or_default(),
            d.db_instance_status().unwrap_or_default()
        ));
    }
    let snaps = rds.describe_db_snapshots().send().await.unwrap();
    for s in snaps.db_snapshots() {
        out.push(format!(
            "rds snapshot {} {}",
            s.db_snapshot_identifier().unwrap_or_default(),
            s.status().unwrap_or_default()
        ));
    }
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vols = ec2.describe_volumes().send().await.unwrap();
    for v in vols.volumes() {
        out.push(format!(
            "ebs volume {} {:?} {} attachments {}",
            v.volume_id().unwrap_or_default(),
            v.state(),
            v.tags().len(),
            v.attachments().len()
        ));
    }
    let snaps = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    for s in snaps.snapshots() {
        out.push(format!(
            "ebs snapshot {} of {}",
            s.snapshot_id().unwrap_or_default(),
            s.volume_id().unwrap_or_default()
        ));
    }
    let instances = ec2.describe_instances().send().await.unwrap();
    for r in instances.reservations() {
        for i in r.instances() {
            out.push(format!(
                "ec2 instance {} {:?}",
                i.instance_id().unwrap_or_default(),
                i.state().and_then(|s| s.name())
            ));
        }
    }
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let tables = ddb.list_tables().send().await.unwrap();
    for t in tables.table_names() {
        out.push(format!("dynamodb table {t}"));
    }
    let backups = ddb.list_backups().send().await.unwrap();
    for b in backups.backup_summaries() {
        out.push(format!(
            "dynamodb backup {}",
            b.backup_arn().unwrap_or_default()
        ));
    }
    let r53 = aws_sdk_route53::Client::new(&moto::sdk_config(moto::url(), "us-east-1").await);
    let zones = r53.list_hosted_zones().send().await.unwrap();
    for z in zones.hosted_zones() {
        out.push(format!("route53 zone {} {}", z.id(), z.name()));
    }
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    for s in sets.resource_record_sets() {
        out.push(format!(
            "route53 record {} {} {:?} {:?}",
            s.name(),
            s.r#type().as_str(),
            s.weight(),
            s.resource_records()
                .iter()
                .map(|r| r.value())
                .collect::<Vec<_>>()
        ));
    }
    out.sort();
    out
}

const READ_ONLY: &str = "read-only: nothing here can change the run";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_session_sends_only_reads_and_changes_nothing() {
    let dir = temp_dir("aws-watch-reads");
    let s = seed_all("watchro").await;
    let before = moto_state(&s.zone).await;
    let proxy = StandIn::forwarding(moto::url()).await;
    let runbook = dir.join("watch.yaml");
    std::fs::write(
        &runbook,
        format!(
            r#"runbook: watch-read-only
title: Restore the orders service (moto, watched read-only)
targets: {{ rto: 1h, rpo: 1d }}
resources:
  orders-db: {{ kind: rds-instance, region: {REGION}, id: {db} }}
  orders-data: {{ kind: ebs-volume, region: {REGION}, id: {volume} }}
  ledger: {{ kind: dynamodb-table, region: {REGION}, id: {table} }}
  portal: {{ kind: route53-record, zone: {zone}, name: {record}, type: A }}
steps:
  - id: confirm
    kind: check
    title: The database answers
    expect: {{ resource: orders-db, health: [ok] }}
  - id: decide
    kind: manual
    title: The incident commander decides to restore
    gate: {{ confirm: true }}
  - id: restore-db
    kind: action
    title: Restore the database from its latest snapshot
    action: rds.restore-snapshot
    resource: orders-db
    with: {{ snapshot: latest, target_id: {db}-dr, instance_class: db.t3.micro }}
    wait_until: available
    gate: {{ typed: {db}-dr, reason: required }}
  - id: restore-data
    kind: action
    action: ebs.restore-volume
    resource: orders-data
    with: {{ snapshot: latest, availability_zone: {REGION}b }}
    gate: {{ confirm: true }}
"#,
            db = s.db,
            volume = s.volume,
            table = s.table,
            zone = s.zone,
            record = s.record,
        ),
    )
    .unwrap();
    let env = moto::binary_env(&dir, proxy.url(), REGION);
    let start = Instant::now();
    let mut pty = Pty::spawn_with(
        &["watch", runbook.to_str().unwrap()],
        &dir,
        40,
        160,
        &env_refs(&env),
        Duration::from_secs(60),
    );
    pty.until_text("live AWS, read-only");
    // The first refresh: every group has answered once everything shows `ok`.
    let rows = [
        ("orders-db", "rds-instance"),
        ("orders-data", "ebs-volume"),
        ("ledger", "dynamodb-table"),
        ("portal", "route53-record"),
    ];
    pty.until("every resource `ok`", |screen| {
        rows.iter().all(|(n, k)| shows(screen, n, k, "ok"))
    });
    let refreshed = start.elapsed();
    let first_refresh = proxy.count();
    let screen = pty.screen();
    assert!(!screen.contains("not answering"), "{screen}");

    // Every key that changes a run in another mode, Enter, and typing (a gate's phrase and a
    // reason, as if a gate were open). Each group ends with a key that says it is read-only
    // here, so that when the message shows, every key before it has been handled.
    // (Enter opens what is focused, which is no change: a read-only key ends the group.)
    let dr = format!("{}-dr\rg", s.db);
    let groups: Vec<&[u8]> = vec![
        b"g",
        b"d",
        b"s",
        b"r",
        b"A",
        b"\r\rg",
        dr.as_bytes(),
        b"yes, restore it\r\rs",
        b"\tg\r\tA",
        b"\t\tg\rd",
    ];
    for keys in &groups {
        pty.send(b"\x1b");
        pty.until("the message cleared", |s| !s.contains(READ_ONLY));
        pty.send(keys);
        pty.until_text(READ_ONLY);
    }
    let after_keys = proxy.count();
    let keys_done = start.elapsed();
    pty.send(b"\x1b");
    pty.until("the message cleared", |s| !s.contains(READ_ONLY));
    pty.send(b"q");
    let status = pty.finish();
    assert!(status.success(), "{status:?}; screen:\n{}", pty.screen());

    let requests = proxy.requests();
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        *by_name.entry(r.name()).or_default() += 1;
    }
    eprintln!(
        "watch session: {} requests on {} connections ({first_refresh} when everything showed ok after {refreshed:?}, {after_keys} after the keys at {keys_done:?}): {by_name:?}",
        requests.len(),
        proxy.connections(),
    );

    // Only reads reached the server.
    let changes: Vec<String> = requests
        .iter()
        .filter(|r| !r.is_read())
        .map(|r| format!("{} {} {}", r.name(), r.method, r.path))
        .collect();
    assert!(changes.is_empty(), "changes were sent: {changes:?}");
    // Every seeded service was asked, and answered through the proxy.
    for service in ["ec2", "rds", "dynamodb", "route53"] {
        let of: Vec<_> = requests.iter().filter(|r| r.service() == service).collect();
        assert!(!of.is_empty(), "no {service} request: {by_name:?}");
        for r in of {
            assert_eq!(r.status, Some(200), "{} {}", r.name(), r.path);
        }
    }
    // The keys made no request of their own (only another refresh could add any, and it reads
    // what the first one read).
    let first: std::collections::BTreeSet<String> =
        requests[..first_refresh].iter().map(|r| r.name()).collect();
    for r in &requests[first_refresh..] {
        assert!(
            first.contains(&r.name()),
            "{} came after the first refresh",
            r.name()
        );
    }
    // moto holds exactly what it held before: no restored instance, volume or table.
    let after = moto_state(&s.zone).await;
    assert_eq!(before, after);
    assert!(
        !after.iter().any(|l| l.contains(&format!("{}-dr", s.db))),
        "{after:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The proxy's judgement, checked: it tells a change from a read in every protocol the console
// uses, and relays answers and errors intact. (The changes are aimed at things that do not
// exist, so moto refuses them and its state stays as test 1 compares it.)

#[tokio::test]
async fn the_proxy_tells_changes_from_reads_in_every_protocol() {
    let proxy = StandIn::forwarding(moto::url()).await;
    let region = "ap-southeast-2";
    let sdk = moto::sdk_config(proxy.url(), region).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let rds = aws_sdk_rds::Client::new(&sdk);
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&moto::sdk_config(proxy.url(), "us-east-1").await);

    ec2.describe_volumes().send().await.unwrap();
    let e = ec2
        .delete_volume()
        .volume_id("vol-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("NotFound"), "{e:?}");
    rds.describe_db_instances().send().await.unwrap();
    let e = rds
        .delete_db_instance()
        .db_instance_identifier("no-such-db")
        .skip_final_snapshot(true)
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("NotFound"), "{e:?}");
    ddb.list_tables().send().await.unwrap();
    let e = ddb
        .delete_table()
        .table_name("no-such-table")
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("ResourceNotFound"), "{e:?}");
    r53.list_hosted_zones().send().await.unwrap();
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let e = r53
        .change_resource_record_sets()
        .hosted_zone_id("ZNOSUCHZONE0000")
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name("x.example.")
                                .r#type(RrType::A)
                                .ttl(60)
                                .resource_records(
                                    ResourceRecord::builder().value("10.0.0.9").build().unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("NoSuchHostedZone"), "{e:?}");

    let seen: Vec<(String, bool)> = proxy
        .requests()
        .iter()
        .map(|r| (r.name(), r.is_read()))
        .collect();
    let want: Vec<(String, bool)> = [
        ("ec2:DescribeVolumes", true),
        ("ec2:DeleteVolume", false),
        ("rds:DescribeDBInstances", true),
        ("rds:DeleteDBInstance", false),
        ("dynamodb:ListTables", true),
        ("dynamodb:DeleteTable", false),
        ("route53:ListHostedZones", true),
        ("route53:ChangeResourceRecordSets", false),
    ]
    .iter()
    .map(|(n, r)| (n.to_string(), *r))
    .collect();
    assert_eq!(seen, want);
    assert!(proxy.requests().iter().all(|r| r.status.is_some()));
    assert!(proxy
        .requests()
        .iter()
        .all(|r| r.region() == region || r.service() == "route53"));
}

// ---------------------------------------------------------------------------------------------
// 2. A black-holed service shows an error within the timeout; the UI stays responsive.

const TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_service_says_no_answer_within_the_timeout_and_the_ui_stays_responsive() {
    let dir = temp_dir("aws-watch-dark");
    // RDS in us-east-1 answers (moto); EC2, where the volume in us-west-2 is, never does.
    let east = moto::sdk_config(moto::url(), "us-east-1").await;
    let db = "watchdark-orders";
    create_db(&aws_sdk_rds::Client::new(&east), db).await;
    let west = moto::sdk_config(moto::url(), "us-west-2").await;
    let volume = create_volume(&aws_sdk_ec2::Client::new(&west), "us-west-2a").await;
    let hole = StandIn::black_hole().await;
    // moto has no AWS Health (it answers a 500 without reading the request, and the SDK waits
    // for its timeout): a replayed empty answer keeps the startup about EC2 alone.
    let health = StandIn::scripted().await;
    health.on_health("DescribeEvents", vec![Reply::cbor(json!({ "events": [] }))]);
    let runbook = dir.join("dark.yaml");
    std::fs::write(
        &runbook,
        format!(
            r#"runbook: watch-dark-service
title: One service is dark (moto and a black hole)
targets: {{ rto: 1h, rpo: 1d }}
resources:
  orders-db: {{ kind: rds-instance, region: us-east-1, id: {db} }}
  west-data: {{ kind: ebs-volume, region: us-west-2, id: {volume} }}
steps:
  - id: confirm
    kind: check
    title: The database answers
    expect: {{ resource: orders-db, health: [ok] }}
"#
        ),
    )
    .unwrap();
    let mut env = moto::binary_env(&dir, moto::url(), "us-east-1");
    env.push(("AWS_ENDPOINT_URL_EC2".into(), hole.url().to_string()));
    env.push(("AWS_ENDPOINT_URL_HEALTH".into(), health.url().to_string()));
    env.push((
        "PILOTLIGHT_AWS_TIMEOUT".into(),
        TIMEOUT.as_secs().to_string(),
    ));
    let start = Instant::now();
    let mut pty = Pty::spawn_with(
        &["watch", runbook.to_str().unwrap()],
        &dir,
        40,
        160,
        &env_refs(&env),
        Duration::from_secs(30),
    );

    // The healthy service first, while the dark one has not answered.
    pty.until("orders-db `ok`", |s| {
        shows(s, "orders-db", "rds-instance", "ok")
    });
    let db_ok = start.elapsed();
    let screen = pty.screen();
    let west = row_text(&screen, "west-data", "ebs-volume");
    assert!(
        shows(&screen, "west-data", "ebs-volume", "unknown")
            && !west.contains("no answer")
            && !west.contains("error:"),
        "the EC2 row before its timeout: {west}\n{screen}"
    );
    assert!(!screen.contains("not answering"), "{screen}");

    // The help opens at once while the EC2 call is pending.
    let pressed = Instant::now();
    pty.send(b"?");
    pty.until("the help", |s| {
        s.contains(" Keys ") && s.contains("Esc or ? closes this help.")
    });
    let help_after = pressed.elapsed();
    let help_at = start.elapsed();
    let screen = pty.screen();
    let pending = !screen.contains("not answering") && !screen.contains("no answer");
    assert!(
        help_after < Duration::from_secs(1),
        "the help took {help_after:?} to appear"
    );
    // The EC2 call cannot have failed before the timeout had passed since the start.
    assert!(
        pending && help_at < TIMEOUT,
        "the help appeared at {help_at:?}, not while the EC2 call was pending:\n{screen}"
    );
    pty.send(b"\x1b");
    pty.until("the help closed", |s| !s.contains(" Keys "));

    // Then the dark service's resource says it does not answer, within the timeout.
    pty.until("`no answer` and `not answering`", |s| {
        row(s, "west-data", "ebs-volume").is_some_and(|l| l.contains("no answer"))
            && s.contains("not answering")
    });
    let dark_at = start.elapsed();
    let screen = pty.screen();
    let west = row_text(&screen, "west-data", "ebs-volume");
    assert!(west.contains("error:"), "{west}");
    assert!(
        shows(&screen, "orders-db", "rds-instance", "ok"),
        "{screen}"
    );
    assert!(screen.contains("1 resource(s) not answering"), "{screen}");
    assert!(
        dark_at >= TIMEOUT && dark_at < TIMEOUT + Duration::from_secs(3),
        "`no answer` after {dark_at:?}, for a {TIMEOUT:?} timeout"
    );
    let notice = screen.lines().last().unwrap_or_default().trim().to_string();
    assert!(
        hole.connections() >= 1,
        "the EC2 calls never reached the black hole"
    );
    eprintln!(
        "dark service: orders-db ok at {db_ok:?}; help {help_after:?} after `?` (at {help_at:?}); `no answer` at {dark_at:?}; {} connection(s) to the black hole; EC2 row: {}; notice: {notice}",
        hole.connections(),
        west.trim()
    );

    pty.send(b"q");
    let status = pty.finish();
    assert!(status.success(), "{status:?}; screen:\n{}", pty.screen());
}
