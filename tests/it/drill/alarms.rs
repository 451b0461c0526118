//! CloudWatch alarms in the simulated world: a scenario changes their state over time, a
//! `cloudwatch-alarm` resource shows it with CloudWatch's reason, a resource's `alarms:` count
//! towards its health, and a check on an alarm stops the failover with the alarm's reason.

use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{root, temp_dir};

fn pilotlight(args: &[&str], data: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(root())
        .env("PILOTLIGHT_OPERATOR", "alarm-test")
        .env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data)
        .output()
        .unwrap()
}

fn resource<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

const RUNBOOK: &str = "runbooks/aws-backup-cross-region-restore.yaml";
const FAILING: &str = "runbooks/aws-backup-cross-region-restore.app-failing.scenario.yaml";

#[test]
fn a_scenarios_alarm_shows_its_state_and_reason_and_stops_the_failover_at_its_check() {
    let dir = temp_dir("sim-alarms");
    // T+0: no data yet, as the scenario says; impaired, with CloudWatch's words.
    let out = pilotlight(
        &["status", RUNBOOK, "--scenario", FAILING, "--format", "json"],
        &dir,
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let alarm = resource(&status, "billing-dr-5xx");
    assert_eq!(alarm["health"], "impaired", "{alarm}");
    let state = alarm["state"].as_str().unwrap();
    assert!(
        state.starts_with("INSUFFICIENT_DATA since ") && state.contains("1 datapoint was unknown"),
        "{state}"
    );
    // Without the scenario the alarm is OK, and the runbook drills to its end.
    let out = pilotlight(&["status", RUNBOOK, "--sim", "--format", "json"], &dir);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resource(&status, "billing-dr-5xx")["health"], "ok");

    // The drill: the alarm fires at T+30m and the check before the DNS shift stops it.
    let journal = dir.join("failing.jsonl");
    let out = pilotlight(
        &[
            "drill",
            RUNBOOK,
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            FAILING,
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("step `app-healthy` failed: billing-dr-5xx is unavailable (ALARM since ")
            && text.contains("[37.0] was greater than the threshold (5.0)"),
        "{text}"
    );
    let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records;
    assert!(
        records
            .iter()
            .any(|r| r.step.as_deref() == Some("app-healthy")
                && r.event
                    .detail()
                    .unwrap()
                    .to_string()
                    .contains("Threshold Crossed")),
        "the journal says why"
    );
    // shift-dns never ran.
    assert!(!records
        .iter()
        .any(|r| r.step.as_deref() == Some("shift-dns")));
}

#[test]
fn a_resources_alarms_count_towards_its_health_and_an_unwatched_alarm_is_refused() {
    let dir = temp_dir("sim-resource-alarms");
    let rb = dir.join("rb.yaml");
    std::fs::write(
        &rb,
        "runbook: alarmed\ntitle: Alarmed\ntargets: { rto: 1h, rpo: 1h }\nresources:\n  db: { kind: rds-instance, region: us-west-2, id: orders, alarms: [orders-read-latency] }\nsteps:\n  - { id: look, kind: check, title: Look, expect: { resource: db, health: [ok] } }\n",
    )
    .unwrap();
    let scenario = dir.join("latency.scenario.yaml");
    std::fs::write(
        &scenario,
        "scenario: latency\nalarms:\n  - { alarm: orders-read-latency, at: 0m, state: ALARM, reason: \"Threshold Crossed: 2.5 s\" }\n",
    )
    .unwrap();
    let out = pilotlight(
        &[
            "status",
            rb.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
            "--format",
            "json",
        ],
        &dir,
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let db = resource(&status, "db");
    assert_eq!(db["health"], "unavailable", "{db}");
    assert!(
        db["state"]
            .as_str()
            .unwrap()
            .contains("alarm orders-read-latency ALARM since"),
        "{db}"
    );
    // An alarm the runbook does not watch is a typo, refused with where it is.
    std::fs::write(
        &scenario,
        "scenario: typo\nalarms:\n  - { alarm: orders-read-latnecy, at: 0m, state: ALARM }\n",
    )
    .unwrap();
    let out = pilotlight(
        &[
            "status",
            rb.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("alarms[0]: `orders-read-latnecy` is not an alarm runbook `alarmed` watches"),
        "{err}"
    );
}

#[test]
fn a_guard_alarm_a_scenario_fires_pauses_the_drill_at_the_guarded_step_and_journals_why() {
    let dir = temp_dir("sim-guards");
    let rb = dir.join("guarded.yaml");
    std::fs::write(
        &rb,
        r#"runbook: guarded
title: Promote the replica unless the app is failing
targets: { rto: 1h }
regions: { primary: us-east-1, recovery: us-west-2 }
resources:
  primary: { kind: rds-instance, region: us-east-1, id: orders }
  replica: { kind: rds-instance, region: us-west-2, id: orders-replica }
  app-5xx: { kind: cloudwatch-alarm, region: us-west-2, id: orders-dr-5xx }
steps:
  - id: confirm
    kind: check
    title: The primary is down
    expect: { resource: primary, health: [unavailable] }
  - id: settle
    kind: wait
    title: Let the app settle in the recovery region
    for: 20m
  - id: promote
    kind: action
    title: Promote the replica
    action: rds.promote-replica
    resource: replica
    with: { replica_id: orders-replica }
    gate: { confirm: true }
    guards: [app-5xx]
"#,
    )
    .unwrap();
    let scenario = dir.join("fires.scenario.yaml");
    std::fs::write(
        &scenario,
        "scenario: fires\nregions: { us-east-1: unavailable }\nalarms:\n  - { alarm: orders-dr-5xx, at: 10m, state: ALARM, reason: \"Threshold Crossed: 1 datapoint [19.0] was greater than the threshold (5.0)\" }\nexpect: { outcome: aborted, failed_step: promote }\n",
    )
    .unwrap();
    let journal = dir.join("guarded.jsonl");
    let out = pilotlight(
        &[
            "drill",
            rb.to_str().unwrap(),
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            scenario.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "step `promote` failed: paused: guard alarm app-5xx is in ALARM (ALARM since "
        ) && text.contains("scenario check: PASSED"),
        "{text}"
    );
    let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records;
    let paused = records
        .iter()
        .find(|r| r.kind() == pilotlight::audit::EventKind::StepFailed)
        .expect("the pause is journaled");
    let detail = paused.event.detail().unwrap();
    assert_eq!(paused.step.as_deref(), Some("promote"));
    assert_eq!(detail["guard"], "app-5xx");
    assert!(
        detail["error"]
            .as_str()
            .unwrap()
            .contains("[19.0] was greater"),
        "{detail}"
    );
    // Nothing of the guarded step was sent.
    assert!(!records
        .iter()
        .any(|r| r.kind() == pilotlight::audit::EventKind::Intent));
    // Without the alarm the same drill promotes the replica.
    std::fs::write(
        &scenario,
        "scenario: quiet\nregions: { us-east-1: unavailable }\n",
    )
    .unwrap();
    let out = pilotlight(
        &[
            "drill",
            rb.to_str().unwrap(),
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
