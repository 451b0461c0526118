//! `pilotlight status`: RPO per resource, the RTO estimate learned from past runs, monitoring
//! exit codes, and JSON that matches its published schema.

use crate::common::{root, temp_dir};

use std::path::Path;
use std::process::{Command, Output};

fn pilotlight(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(root())
        .env("XDG_DATA_HOME", data)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn schema_check(doc: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/status.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_stale_recovery_point_is_critical_and_names_the_resource() {
    let dir = temp_dir("stale");
    let s = dir.join("stale.scenario.yaml");
    std::fs::write(
        &s,
        "scenario: stale\nresources:\n  shop-db: { recovery_point_age: 2h }\n",
    )
    .unwrap();
    let args = [
        "status",
        "runbooks/pilot-light-failover.yaml",
        "--scenario",
        s.to_str().unwrap(),
    ];
    let out = pilotlight(&args, &dir);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CRITICAL: shop-db RPO 2h against target 10m (breached)"),
        "{text}"
    );
    let out = pilotlight(&[&args[..], &["--format", "json"]].concat(), &dir);
    assert_eq!(out.status.code(), Some(2));
    let doc = json(&out);
    schema_check(&doc);
    let db = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "shop-db")
        .unwrap();
    assert_eq!(db["rpo_status"], "breach");
    assert_eq!(db["rpo_seconds"], 7200);
    assert_eq!(db["rpo_target_seconds"], 600);
    assert_eq!(doc["status"], "critical");
}

#[test]
fn a_recovery_point_close_to_its_target_is_a_warning_and_none_is_unknown() {
    let dir = temp_dir("warn");
    let s = dir.join("w.scenario.yaml");
    // The hive runbook: RPO target 10m on the metastore: 9m is 90 %.
    std::fs::write(
        &s,
        "scenario: w\nresources:\n  hive-metastore: { recovery_point_age: 9m }\n",
    )
    .unwrap();
    let doc = json(&pilotlight(
        &[
            "status",
            "runbooks/hive-metastore-pitr.yaml",
            "--scenario",
            s.to_str().unwrap(),
            "--format",
            "json",
        ],
        &dir,
    ));
    schema_check(&doc);
    let m = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "hive-metastore")
        .unwrap();
    assert_eq!(m["rpo_status"], "warning", "{m:#}");
    std::fs::write(
        &s,
        "scenario: w\nresources:\n  hive-metastore: { no_recovery_point: true }\n",
    )
    .unwrap();
    let doc = json(&pilotlight(
        &[
            "status",
            "runbooks/hive-metastore-pitr.yaml",
            "--scenario",
            s.to_str().unwrap(),
            "--format",
            "json",
        ],
        &dir,
    ));
    let m = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "hive-metastore")
        .unwrap();
    assert_eq!(m["rpo_status"], "unknown");
    assert_eq!(m["latest_recovery_point"], serde_json::Value::Null);
    assert!(doc["findings"].as_array().unwrap().iter().any(|f| f
        .as_str()
        .unwrap()
        .contains("hive-metastore RPO unknown (no recovery point)")));
}

#[test]
fn when_aws_cannot_be_reached_status_is_unknown_and_says_why_per_resource() {
    let dir = temp_dir("live");
    // A port nothing listens on: every AWS call is refused at once, on this machine.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args([
            "status",
            "runbooks/dynamodb-pitr-recovery-region.yaml",
            "--format",
            "json",
        ])
        .current_dir(root())
        .env("XDG_DATA_HOME", &dir)
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    schema_check(&doc);
    assert_eq!(doc["backend"], "aws");
    for res in doc["resources"].as_array().unwrap() {
        assert_eq!(res["health"], "unknown", "{res}");
        let error = res["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error: {res}"));
        assert!(error.contains("cannot reach"), "{error}");
    }
    assert_eq!(doc["aws_health"]["available"], false);
}

#[test]
fn drills_teach_the_estimate_nothing_and_live_runs_do() {
    let dir = temp_dir("history");
    let rb = "runbooks/pilot-light-failover.yaml";
    let fresh = json(&pilotlight(
        &["status", rb, "--sim", "--format", "json"],
        &dir,
    ));
    // Three unattended drills whose simulated durations differ: the simulated world's times
    // and the expected times standing in for people's would feed the estimate its own numbers.
    let scenarios = [
        "scenario: a\nseed: 1\nregions: { us-east-1: unavailable }\n",
        "scenario: b\nseed: 2\nregions: { us-east-1: unavailable }\nfaults:\n  - { step: promote-replica, slow_factor: 2 }\n",
        "scenario: c\nseed: 3\nregions: { us-east-1: unavailable }\n",
    ];
    for (i, s) in scenarios.iter().enumerate() {
        let path = dir.join(format!("{i}.scenario.yaml"));
        std::fs::write(&path, s).unwrap();
        let args = [
            "drill",
            rb,
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            path.to_str().unwrap(),
        ];
        let out = pilotlight(&args, &dir);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let doc = json(&pilotlight(
        &["status", rb, "--sim", "--format", "json"],
        &dir,
    ));
    schema_check(&doc);
    assert_eq!(doc["history_runs"], 3);
    assert_eq!(
        doc["history_samples"],
        serde_json::json!({ "live": 0, "timed": 0 })
    );
    assert_eq!(doc["rto_estimate_seconds"], fresh["rto_estimate_seconds"]);
    let sources = doc["rto_sources"].as_array().unwrap();
    assert!(sources.iter().all(|s| s["source"] != "history"), "{doc}");

    // A live run's journal (0.1.0's, from before durations said where they came from) teaches
    // it: its steps' estimates are what that run took.
    let live_dir = temp_dir("history-live");
    let journals = live_dir.join("pilotlight/journals");
    std::fs::create_dir_all(&journals).unwrap();
    let fixtures = root().join("tests/fixtures/journals/v0.1");
    std::fs::copy(
        fixtures.join("live-restore.jsonl"),
        journals.join("live.jsonl"),
    )
    .unwrap();
    let live_rb = fixtures.join("live-restore.yaml");
    let doc = json(&pilotlight(
        &[
            "status",
            live_rb.to_str().unwrap(),
            "--sim",
            "--format",
            "json",
        ],
        &live_dir,
    ));
    assert_eq!(doc["history_runs"], 1, "{doc}");
    assert!(doc["history_samples"]["live"].as_u64() > Some(0), "{doc}");
    let learned = doc["rto_sources"].as_array().unwrap();
    assert!(learned.iter().any(|s| s["source"] == "history"), "{doc}");
}

#[test]
fn a_tampered_past_journal_is_not_trusted() {
    let dir = temp_dir("tampered");
    let rb = "runbooks/pilot-light-failover.yaml";
    let out = pilotlight(&["drill", rb, "--unattended", "--speed", "max"], &dir);
    assert_eq!(out.status.code(), Some(0));
    let journals = dir.join("pilotlight/journals");
    let path = std::fs::read_dir(&journals)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "\"duration_secs\":",
        "\"duration_secs\":1",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let out = pilotlight(&["status", rb, "--sim", "--format", "json"], &dir);
    assert_eq!(json(&out)["history_runs"], 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not used"));
}

#[test]
fn a_restore_target_not_made_yet_is_absent_not_unknown() {
    let dir = temp_dir("absent");
    let rb = "runbooks/dynamodb-pitr-recovery-region.yaml";
    let doc = json(&pilotlight(
        &["status", rb, "--sim", "--format", "json"],
        &dir,
    ));
    schema_check(&doc);
    let restored = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "orders-table-restored")
        .unwrap();
    assert_eq!(restored["health"], "absent", "{restored}");
    assert_eq!(restored["rpo_status"], "not-applicable", "{restored}");
    assert_eq!(restored["error"], serde_json::Value::Null, "{restored}");
    assert!(
        restored["state"]
            .as_str()
            .unwrap()
            .contains("step `restore-table` creates it"),
        "{restored}"
    );
    let findings = doc["findings"].to_string();
    assert!(!findings.contains("orders-table-restored"), "{findings}");
}

/// A monitor must not read "warning" when it could see nothing: every resource unobservable and
/// an RTO estimate within 80-100 % of its target is UNKNOWN (3), not WARNING (1).
#[test]
fn nothing_seen_and_an_rto_warning_is_unknown() {
    let dir = crate::common::temp_dir("status-unknown");
    let runbook = dir.join("rb.yaml");
    std::fs::write(
        &runbook,
        "runbook: status-nine\ntitle: Status nine\ntargets: { rto: 10m, rpo: 1h }\n\
         resources:\n  db: { kind: rds-instance, region: us-east-1, id: orders-prod }\n\
         steps:\n  - { id: decide, kind: manual, expect_duration: 9m }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", runbook.to_str().unwrap(), "--format", "json"])
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_STATE_HOME", &dir)
        // Nothing listens on the discard port: every read fails at once.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["rto_status"], "warning", "{status}");
    assert_eq!(out.status.code(), Some(3), "{status}");
    assert_eq!(status["status"], "unknown", "{status}");
}
