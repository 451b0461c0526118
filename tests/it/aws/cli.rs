//! The binary against AWS as moto plays it, over the wire on 127.0.0.1: a runbook written for
//! resources seeded in moto shows their health and latest recovery points in
//! `status --format json`, and `pilotlight run` restores the database through a typed gate in
//! a real terminal, with the restored instance in moto and the journal intact.

use crate::common::detail;

use std::process::Command;
use std::time::Duration;

use crate::common::pty::Pty;
use crate::common::{moto, root, temp_dir};
use chrono::{DateTime, SecondsFormat, Utc};

fn time(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), 0).unwrap()
}

/// Seeds a DB instance with a snapshot and a volume with a snapshot; returns the runbook text
/// and the newest recovery point time of each as moto itself reports them.
pub(super) async fn seed(tag: &str) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let rds = aws_sdk_rds::Client::new(&sdk);
    let db = format!("{tag}-orders");
    rds.create_db_instance()
        .db_instance_identifier(&db)
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-a-secret-1")
        .send()
        .await
        .unwrap();
    rds.create_db_snapshot()
        .db_instance_identifier(&db)
        .db_snapshot_identifier(format!("{db}-snap-1"))
        .send()
        .await
        .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vol = ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(8)
        .send()
        .await
        .unwrap();
    let vol = vol.volume_id().unwrap().to_string();
    ec2.create_snapshot().volume_id(&vol).send().await.unwrap();

    // The expected recovery points, as moto answers them.
    let described = rds
        .describe_db_instances()
        .db_instance_identifier(&db)
        .send()
        .await
        .unwrap();
    let pitr = described.db_instances()[0]
        .latest_restorable_time()
        .map(time);
    let snaps = rds
        .describe_db_snapshots()
        .db_instance_identifier(&db)
        .send()
        .await
        .unwrap();
    let snap = snaps
        .db_snapshots()
        .iter()
        .filter_map(|s| s.snapshot_create_time().map(time))
        .max();
    let db_rp = [pitr, snap].into_iter().flatten().max().unwrap();
    let vsnaps = ec2
        .describe_snapshots()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("volume-id")
                .values(&vol)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vol_rp = vsnaps
        .snapshots()
        .iter()
        .filter_map(|s| s.start_time().map(time))
        .max()
        .unwrap();
    let runbook = format!(
        r#"runbook: {tag}-restore
title: Restore the orders database from its latest snapshot (moto)
targets: {{ rto: 1h, rpo: 1d }}
resources:
  orders-db: {{ kind: rds-instance, region: us-east-1, id: {db} }}
  orders-data: {{ kind: ebs-volume, region: us-east-1, id: {vol} }}
steps:
  - id: confirm
    kind: check
    title: The database answers
    expect: {{ resource: orders-db, health: [ok] }}
  - id: restore-db
    kind: action
    title: Restore the database from its latest snapshot
    action: rds.restore-snapshot
    resource: orders-db
    with: {{ snapshot: latest, target_id: {db}-dr, instance_class: db.t3.micro }}
    wait_until: available
    expect_duration: 20m
    gate: {{ typed: {db}-dr, reason: required }}
"#
    );
    (runbook, db_rp, vol_rp)
}

fn secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test(flavor = "current_thread")]
async fn status_shows_what_moto_holds_and_run_restores_through_a_typed_gate() {
    let dir = temp_dir("aws-cli");
    let (text, db_rp, vol_rp) = seed("e2e").await;
    let runbook = dir.join("restore.yaml");
    std::fs::write(&runbook, &text).unwrap();
    let env = moto::binary_env(&dir, moto::url(), "us-east-1");

    // status --format json: health and latest recovery points as moto reports them.
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", runbook.to_str().unwrap(), "--format", "json"])
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(doc["backend"], "aws");
    let res = doc["resources"].as_array().unwrap();
    let by = |n: &str| res.iter().find(|r| r["name"] == n).unwrap().clone();
    let db = by("orders-db");
    assert_eq!(db["health"], "ok", "{db}");
    assert_eq!(db["state"], "available", "{db}");
    // moto reports an RDS instance's latest restorable time as "now" on every call, so the
    // database's point is the PITR one, at or after what moto said when seeded (and not later
    // than now); the volume's is its snapshot, exactly.
    let db_at = DateTime::parse_from_rfc3339(db["latest_recovery_point"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert!(
        db_at >= db_rp && db_at <= Utc::now(),
        "{db} vs {}",
        secs(db_rp)
    );
    assert!(
        db["recovery_point_id"]
            .as_str()
            .unwrap()
            .contains("latest restorable time"),
        "{db}"
    );
    assert_eq!(db["error"], serde_json::Value::Null);
    let vol = by("orders-data");
    assert_eq!(vol["health"], "ok", "{vol}");
    assert_eq!(vol["latest_recovery_point"], secs(vol_rp), "{vol}");
    // One refresh: DescribeDBInstances + DescribeDBSnapshots, DescribeVolumes +
    // DescribeSnapshots, and DescribeEvents in us-east-1 then us-east-2 (moto does not serve
    // Health: its HTTP 500 without an error code counts as no answer).
    assert_eq!(doc["api_calls"], 6, "{doc}");
    assert_eq!(doc["aws_health"]["available"], false);

    // run: through the typed gate in a real terminal.
    let journal = dir.join("run.jsonl");
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = Pty::spawn_with(
        &[
            "run",
            runbook.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
        36,
        120,
        &env_refs,
        Duration::from_secs(60),
    );
    pty.until_text(" LIVE ");
    pty.until_text("123456789012");
    // Preflight checks in the background and its verdict reaches the header before the gate:
    // moto has no IAM policy simulator, so the permissions of restore-db are unknown.
    pty.until("preflight's verdict in the header", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("preflight 1 unknown"))
    });
    pty.until("the gate of restore-db", |s| {
        s.contains("Step restore-db") && s.contains("GATE waiting for you: press g")
    });
    pty.send(b"g");
    pty.until_text("GATE: restore-db");
    pty.until_text("rds:RestoreDBInstanceFromDBSnapshot in us-east-1");
    pty.until_text("type `e2e-orders-dr` to proceed:");
    pty.send(b"e2e-orders-dr\tmoto end-to-end\t\r");
    pty.until_text("RECOVERED in");
    pty.send(b"q");
    let status = pty.finish();
    assert!(status.success(), "{status:?}; screen:\n{}", pty.screen());

    // The restored instance is in moto, exactly once.
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let rds = aws_sdk_rds::Client::new(&sdk);
    let all = rds.describe_db_instances().send().await.unwrap();
    let restored: Vec<_> = all
        .db_instances()
        .iter()
        .filter(|d| d.db_instance_identifier() == Some("e2e-orders-dr"))
        .collect();
    assert_eq!(restored.len(), 1);

    // The journal is intact and names the account every change was made in.
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["audit", "verify", journal.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records;
    assert_eq!(records[0].mode, pilotlight::audit::Mode::Live);
    assert_eq!(
        records[0].event.detail().unwrap()["context"]["aws"]["account"],
        "123456789012"
    );
    let intent = records
        .iter()
        .find(|r| r.kind() == pilotlight::audit::EventKind::Intent)
        .unwrap();
    assert_eq!(
        detail(&intent)["plan"]["params"]["target_id"],
        "e2e-orders-dr"
    );
}

/// A journal of a live run of `runbook` whose run-started record says where it began.
fn live_journal(path: &std::path::Path, runbook: &str, live: Option<&str>) {
    use pilotlight::audit::event::{LiveContext, RunContext, RunStarted};
    use pilotlight::audit::{Entry, Event, Journal, Mode};
    let mut j = Journal::create(path, "ana", runbook, Mode::Live).unwrap();
    let context = RunContext {
        pilotlight: "0.1.0".into(),
        live: live.map(|account| LiveContext {
            aws: pilotlight::model::Identity {
                account: account.into(),
                arn: format!("arn:aws:iam::{account}:user/ana"),
                user_id: "AIDA".into(),
            },
            regions: vec!["us-east-1".into()],
        }),
        ..RunContext::default()
    };
    j.append(&Entry {
        at: Utc::now(),
        step: None,
        event: Event::RunStarted(RunStarted {
            context: Some(context),
            run_id: "r-1".into(),
            ..RunStarted::default()
        }),
    })
    .unwrap();
}

#[test]
fn run_resumes_only_in_the_account_the_journal_began_in() {
    let dir = temp_dir("aws-account");
    let runbook = dir.join("wait.yaml");
    std::fs::write(
        &runbook,
        "runbook: wait\ntitle: Wait\ntargets: { rto: 1h }\nsteps:\n  - id: look\n    kind: manual\n",
    )
    .unwrap();
    let env = moto::binary_env(&dir, moto::url(), "us-east-1");
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let resume = |journal: &std::path::Path| {
        let args = [
            "run",
            runbook.to_str().unwrap(),
            "--resume",
            journal.to_str().unwrap(),
        ];
        let mut pty = Pty::spawn_with(&args, &dir, 24, 200, &env_refs, Duration::from_secs(60));
        let status = pty.finish();
        (status.exit_code(), pty.screen())
    };

    // Begun in another account: refused, naming both.
    let other = dir.join("other.jsonl");
    live_journal(&other, "wait", Some("999999999999"));
    let (code, screen) = resume(&other);
    assert_eq!(code, 2, "{screen}");
    assert!(
        screen.contains("began in AWS account 999999999999")
            && screen.contains("credentials are for account 123456789012"),
        "{screen}"
    );

    // Begun in an account the journal does not say: refused, not resumed in whatever account
    // the credentials are for.
    let unknown = dir.join("unknown.jsonl");
    live_journal(&unknown, "wait", None);
    let (code, screen) = resume(&unknown);
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("cannot tell which AWS account"), "{screen}");
}
