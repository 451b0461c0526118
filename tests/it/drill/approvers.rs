//! Second approvers (`approvers: 2`): the operator's confirmation makes the run wait for a
//! second, different person, who approves that request (and no other) with `pilotlight approve
//! RUN_URL` from their own machine; the approval goes through the state store into the journal.

use std::io::Write;
use std::process::{Command, Stdio};

use pilotlight::audit::{verify, Event, EventKind};

use crate::common::{root, temp_dir};

/// The pilot-light runbook with a second approver at the promotion's gate.
fn two_approver_runbook(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("runbooks/pilot-light-failover.yaml")).unwrap();
    let gate = r#"gate: { typed: "{{vars.replica}}", reason: required }"#;
    assert!(text.contains(gate));
    let text = text.replace(
        gate,
        r#"gate: { typed: "{{vars.replica}}", reason: required, approvers: 2 }"#,
    );
    let path = dir.join("two-approvers.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn pilotlight(home: &std::path::Path, operator: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilotlight"));
    cmd.env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("data"))
        .env("PILOTLIGHT_OPERATOR", operator)
        .env_remove("PILOTLIGHT_STATE")
        .current_dir(root());
    cmd
}

/// `pilotlight approve URL` as `operator` on their machine, answering its prompts with `answers`.
fn approve(
    home: &std::path::Path,
    operator: &str,
    url: &str,
    answers: &str,
) -> std::process::Output {
    let mut child = pilotlight(home, operator)
        .args(["approve", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_two_approver_gate_waits_for_another_person_and_refuses_the_same_one() {
    let dir = temp_dir("approvers");
    let state = dir.join("store");
    let runbook = two_approver_runbook(&dir);
    let rb = runbook.to_str().unwrap();
    let journal = dir.join("drill.jsonl");
    // Without a state store nobody could approve: refused before anything is written.
    let alone = pilotlight(&dir.join("ana"), "ana")
        .args(["drill", rb, "--unattended", "--speed", "max"])
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(2));
    let said = String::from_utf8_lossy(&alone.stderr);
    assert!(
        said.contains("promote-replica's gate needs a second approver"),
        "{said}"
    );
    // Ana's unattended drill confirms its half and waits.
    let drill = pilotlight(&dir.join("ana"), "ana")
        .args(["drill", rb, "--unattended", "--speed", "max", "--state"])
        .arg(&state)
        .arg("--journal")
        .arg(&journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run's URL, once its mirror holds the confirmation (the mirror looks every 2 s).
    let mut url = None;
    for _ in 0..300 {
        let runs = pilotlight(&dir.join("bo"), "bo")
            .args(["runs", rb, "--format", "json", "--state"])
            .arg(&state)
            .output()
            .unwrap();
        let listed: serde_json::Value =
            serde_json::from_slice(&runs.stdout).unwrap_or(serde_json::Value::Null);
        if let Some(u) = listed[0]["url"].as_str() {
            let said = approve(&dir.join("probe"), "probe", u, "");
            if !String::from_utf8_lossy(&said.stderr).contains("nothing waits") {
                url = Some(u.to_string());
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let url = url.expect("the drill reached its two-approver gate");
    // The same person cannot be the second approver.
    let same = approve(
        &dir.join("ana2"),
        "ana",
        &url,
        "shop-db-replica-usw2\nme again\n",
    );
    let said = String::from_utf8_lossy(&same.stderr);
    assert_eq!(same.status.code(), Some(1), "{said}");
    assert!(
        said.contains("refused: ana confirmed this request"),
        "{said}"
    );
    // Bo sees the request, types the phrase wrong: nothing is approved.
    let wrong = approve(&dir.join("bo"), "bo", &url, "shop-db-replica\nok\n");
    assert_eq!(wrong.status.code(), Some(1));
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        said.contains("step promote-replica waits for a second approver"),
        "{said}"
    );
    assert!(said.contains("confirmed by ana"), "{said}");
    // Then right, with a reason: the drill goes on to its end.
    let ok = approve(
        &dir.join("bo"),
        "bo",
        &url,
        "shop-db-replica-usw2\nIC approves\n",
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = drill.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("waiting for a second approver: pilotlight approve"),
        "{said}"
    );
    // The journal: confirmed by ana, then approved with bo's approval bound to that record.
    let records = verify(&std::fs::read(&journal).unwrap()).unwrap().records;
    let confirmed = records
        .iter()
        .find(|r| r.kind() == EventKind::GateConfirmed)
        .unwrap();
    assert_eq!(confirmed.step.as_deref(), Some("promote-replica"));
    assert_eq!(confirmed.operator, "ana");
    let approved = records
        .iter()
        .find(|r| {
            r.kind() == EventKind::GateApproved && r.step.as_deref() == Some("promote-replica")
        })
        .unwrap();
    let Event::GateApproved(g) = &approved.event else {
        panic!()
    };
    let second = g.second.as_ref().unwrap();
    assert_eq!(second.operator, "bo");
    assert_eq!(second.bound_to, confirmed.hash);
    assert_eq!(second.reason.as_deref(), Some("IC approves"));
    // Approved once: the promotion was requested after it, once.
    let intents = records
        .iter()
        .filter(|r| r.kind() == EventKind::Intent && r.step.as_deref() == Some("promote-replica"))
        .count();
    assert_eq!(intents, 1);
    assert!(approved.seq > confirmed.seq);
}
