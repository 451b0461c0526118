//! `pilotlight status` when AWS cannot be asked: no credentials of any kind, or an endpoint
//! that never answers. Either way it ends soon with UNKNOWN (exit 3) and says why: which
//! credentials are missing and how to get them, or which service and region did not answer.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::standin::StandIn;
use crate::common::{root, temp_dir};

/// Resources of every kind pilotlight reads, in two regions.
const RUNBOOK: &str = r#"runbook: silent-status
title: Everything, looked at once
targets: { rto: 1h, rpo: 1h }
resources:
  web: { kind: ec2-instance, region: us-east-1, id: i-0123456789abcdef0 }
  data: { kind: ebs-volume, region: us-west-2, id: vol-0123456789abcdef0 }
  db: { kind: rds-instance, region: us-east-1, id: orders-db }
  db-west: { kind: rds-instance, region: us-west-2, id: orders-db-replica }
  orders: { kind: dynamodb-table, region: us-west-2, id: orders }
  edge: { kind: global-accelerator, arn: "arn:aws:globalaccelerator::123456789012:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh" }
steps:
  - id: look
    kind: check
    expect: { resource: db, health: [ok] }
"#;

/// `status --format json` with exactly `env` (nothing inherited but PATH): no profile, no keys,
/// no instance metadata, an empty HOME.
fn status(dir: &std::path::Path, env: &[(&str, &str)]) -> (Output, Duration) {
    let runbook = dir.join("runbook.yaml");
    std::fs::write(&runbook, RUNBOOK).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let at = |name: &str| dir.join(name).display().to_string();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", runbook.to_str().unwrap(), "--format", "json"])
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", at("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", at("no-aws-credentials"))
        .env("AWS_REGION", "us-east-1")
        .env("XDG_DATA_HOME", at("data"))
        .env("XDG_STATE_HOME", at("state"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_credentials_names_them_and_sends_nothing() {
    let dir = temp_dir("no-credentials");
    // Were anything sent, it would land here and be counted.
    let aws = StandIn::scripted().await;
    let (out, took) = status(&dir, &[("AWS_ENDPOINT_URL", aws.url())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("status took {took:?}\n{stdout}");
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["api_calls"], 0, "{doc}");
    assert_eq!(aws.count(), 0, "nothing left the process");
    let findings = doc["findings"].to_string();
    assert!(findings.contains("no usable AWS credentials"), "{findings}");
    assert!(findings.contains("aws sso login"), "{findings}");
    assert!(!findings.to_lowercase().contains("network"), "{findings}");
    assert!(!findings.contains("Unreachable"), "{findings}");
    // Said once, not once per resource.
    assert_eq!(findings.matches("aws sso login").count(), 1, "{findings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_against_an_endpoint_that_never_answers_ends_within_its_timeout() {
    let dir = temp_dir("never-answers");
    let hole = StandIn::black_hole().await;
    let (out, took) = status(
        &dir,
        &[
            ("AWS_ENDPOINT_URL", hole.url()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("PILOTLIGHT_AWS_TIMEOUT", "5"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("status took {took:?}\n{stdout}");
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(took < Duration::from_secs(7), "{took:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // Each resource says which service in which region did not answer.
    let errors: Vec<String> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(errors.iter().all(|e| e.contains("within 5s")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("rds in us-west-2")),
        "{errors:?}"
    );
}
