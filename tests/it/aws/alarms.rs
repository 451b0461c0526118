//! CloudWatch alarms against moto over the wire (`SetAlarmState` flips them; the stand-in
//! speaks the SDK's CBOR protocol to pilotlight and moto's query protocol to moto): a
//! `cloudwatch-alarm` resource in ALARM is unavailable with its state reason in `status`, a
//! resource's own `alarms:` count towards its health, and one DescribeAlarms per region and
//! page serves them all.

use std::process::Command;

use serde_json::Value;

use crate::common::cloudwatch::{alarm, CborToQuery};
use crate::common::standin::StandIn;
use crate::common::{moto, root, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_in_alarm_is_unavailable_with_its_reason_and_counts_towards_its_resource() {
    let dir = temp_dir("alarms");
    let (text, _, _) = super::cli::seed("alm").await;
    let m = moto::url();
    alarm(
        m,
        "us-east-1",
        "alm-5xx",
        "ALARM",
        "Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (5.0)",
    );
    alarm(
        m,
        "us-east-1",
        "alm-db-latency",
        "ALARM",
        "Threshold Crossed: read latency 2.5 s",
    );
    alarm(
        m,
        "us-east-1",
        "alm-db-cpu",
        "OK",
        "Threshold Crossed: no datapoints were breaching",
    );
    // The seeded runbook, with an alarm resource and the database's own alarms.
    let text = text
        .replace(
            "  orders-data:",
            "  app-5xx: { kind: cloudwatch-alarm, region: us-east-1, id: alm-5xx }\n  orders-data:",
        )
        .replace(
            "id: alm-orders }",
            "id: alm-orders, alarms: [alm-db-latency, alm-db-cpu] }",
        );
    assert!(text.contains("alarms: [alm-db-latency"), "{text}");
    let runbook = dir.join("alarms.yaml");
    std::fs::write(&runbook, &text).unwrap();
    let proxy = StandIn::forwarding(moto::url()).await;
    proxy.strict(CborToQuery {
        upstream: moto::url().to_string(),
    });
    let env = moto::binary_env(&dir, proxy.url(), "us-east-1");
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", runbook.to_str().unwrap(), "--format", "json"])
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let res = |name: &str| {
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {doc:#}"))
    };
    let app = res("app-5xx");
    assert_eq!(app["health"], "unavailable", "{app}");
    assert_eq!(app["kind"], "cloudwatch-alarm");
    let state = app["state"].as_str().unwrap();
    assert!(
        state.starts_with("ALARM since ")
            && state.contains("[42.0] was greater than the threshold"),
        "{state}"
    );
    assert_eq!(app["rpo_status"], "not-applicable", "{app}");
    let db = res("orders-db");
    assert_eq!(db["health"], "unavailable", "{db}");
    let state = db["state"].as_str().unwrap();
    assert!(
        state.contains("alarm alm-db-latency ALARM since") && state.contains("read latency 2.5 s"),
        "{state}"
    );
    assert!(
        !state.contains("alm-db-cpu"),
        "an OK alarm says nothing: {state}"
    );
    // One DescribeAlarms for the region, whatever asked for its alarms.
    assert_eq!(proxy.requests_of("DescribeAlarms").len(), 1);
}
