//! The simulated world's "before", as a scenario sets it: instance states, dials and weights,
//! seen by `status` and in the gates' before -> after.

use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{root, temp_dir};

fn pilotlight(args: &[&str], data: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(root())
        .env("PILOTLIGHT_OPERATOR", "before-test")
        .env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data)
        .output()
        .unwrap()
}

fn state_of(status: &Value, name: &str) -> String {
    status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| r["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

#[test]
fn a_scenario_sets_instance_states_dials_and_weights_before_the_drill() {
    let dir = temp_dir("before");
    let scenario = dir.join("warm.scenario.yaml");
    std::fs::write(
        &scenario,
        "scenario: warm-standby\n\
         regions: { us-east-1: unavailable }\n\
         resources:\n  app-1: { state: running }\n  shop-dns: { weights: { primary-use1: 70, pilot-light-usw2: 30 } }\n",
    )
    .unwrap();
    let scenario = scenario.to_str().unwrap();
    let runbook = "runbooks/pilot-light-failover.yaml";
    let out = pilotlight(
        &[
            "status",
            runbook,
            "--scenario",
            scenario,
            "--format",
            "json",
        ],
        &dir,
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    // app-1 runs as the scenario says; app-2, which a step starts, is a stopped standby.
    assert_eq!(state_of(&status, "app-1"), "running");
    assert_eq!(state_of(&status, "app-2"), "stopped");
    // The cutover's gate sees the scenario's weights as its "before".
    let journal = dir.join("j.jsonl");
    let out = pilotlight(
        &[
            "drill",
            runbook,
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            scenario,
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    let seen = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["event"] == "gate-approved" && r["step"] == "shift-dns")
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(
        seen["detail"]["seen"],
        r#"weights: {"pilot-light-usw2":30,"primary-use1":70} -> {"pilot-light-usw2":100,"primary-use1":0}"#
    );
}

#[test]
fn a_before_state_that_does_not_fit_its_resource_is_refused() {
    let dir = temp_dir("before-bad");
    let scenario = dir.join("bad.scenario.yaml");
    std::fs::write(
        &scenario,
        "scenario: bad\nresources:\n  shop-dns: { state: stopped }\n",
    )
    .unwrap();
    let out = pilotlight(
        &[
            "status",
            "runbooks/pilot-light-failover.yaml",
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &dir,
    );
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("resources.shop-dns.state: only a ec2-instance has state"),
        "{err}"
    );
}
