//! A drill killed at any moment and resumed with `--resume` continues at the same step, requests
//! no change twice, and leaves a journal that verifies.

use crate::common::detail;

use crate::common::{root, temp_dir};

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pilotlight::audit::{verify, Event, EventKind, Record};

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";
const SCENARIO: &str = "runbooks/pilot-light-failover.capacity-shortage.scenario.yaml";

fn drill(extra: &[&str], abort_after: Option<usize>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilotlight"));
    cmd.args([
        "drill",
        RUNBOOK,
        "--unattended",
        "--speed",
        "max",
        "--scenario",
        SCENARIO,
    ])
    .args(extra)
    .current_dir(root());
    if let Some(n) = abort_after {
        cmd.env("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS", n.to_string());
    }
    cmd.output().unwrap()
}

fn records(journal: &Path) -> Vec<Record> {
    verify(&std::fs::read(journal).unwrap()).unwrap().records
}

/// Every (step, attempt) has one intent, except re-sends after a restart, which reuse the token.
fn assert_no_change_requested_twice(records: &[Record]) {
    let mut intents: HashMap<(String, u64), Vec<&Record>> = HashMap::new();
    for r in records.iter().filter(|r| r.kind() == EventKind::Intent) {
        let attempt = detail(&r)["attempt"].as_u64().unwrap();
        intents
            .entry((r.step.clone().unwrap(), attempt))
            .or_default()
            .push(r);
    }
    for ((step, attempt), rs) in intents {
        let first_sends = rs
            .iter()
            .filter(|r| detail(&r)["resend"] != serde_json::json!(true))
            .count();
        assert_eq!(
            first_sends, 1,
            "step {step} attempt {attempt} was requested {first_sends} times"
        );
        let tokens: Vec<&str> = rs
            .iter()
            .filter_map(|r| match &r.event {
                Event::Intent(i) => i.plan.as_ref().map(|p| p.token.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            tokens.windows(2).all(|w| w[0] == w[1]),
            "a re-send changed the token: {tokens:?}"
        );
    }
    let mut succeeded: HashMap<String, usize> = HashMap::new();
    for r in records
        .iter()
        .filter(|r| r.kind() == EventKind::StepSucceeded)
    {
        *succeeded.entry(r.step.clone().unwrap()).or_default() += 1;
    }
    assert!(
        succeeded.values().all(|n| *n == 1),
        "a step succeeded twice: {succeeded:?}"
    );
}

fn step_outcomes(records: &[Record]) -> Vec<(String, EventKind)> {
    records
        .iter()
        .filter(|r| {
            matches!(
                r.kind(),
                EventKind::StepSucceeded | EventKind::StepSkipped | EventKind::StepFailed
            )
        })
        .map(|r| (r.step.clone().unwrap(), r.kind()))
        .collect()
}

#[test]
fn killed_at_many_points_and_resumed_the_drill_finishes_as_if_never_interrupted() {
    let dir = temp_dir("points");
    let whole = dir.join("whole.jsonl");
    let out = drill(&["--journal", whole.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let reference = records(&whole);
    let n = reference.len();
    assert!(n > 40, "the reference drill wrote {n} records");
    // Kill right after record k is durable, for k across the whole run.
    for k in (1..n).step_by(3) {
        let journal = dir.join(format!("killed-{k}.jsonl"));
        let out = drill(&["--journal", journal.to_str().unwrap()], Some(k));
        assert_ne!(
            out.status.code(),
            Some(0),
            "k={k}: the process should have died"
        );
        assert_eq!(records(&journal).len(), k, "k={k}");
        let resumed = drill(&["--resume", journal.to_str().unwrap()], None);
        let text = String::from_utf8_lossy(&resumed.stdout);
        assert_eq!(
            resumed.status.code(),
            Some(0),
            "k={k}:\n{text}{}",
            String::from_utf8_lossy(&resumed.stderr)
        );
        let after = records(&journal);
        assert_eq!(
            after
                .iter()
                .filter(|r| r.kind() == EventKind::RunResumed)
                .count(),
            1,
            "k={k}"
        );
        assert_no_change_requested_twice(&after);
        assert_eq!(step_outcomes(&after), step_outcomes(&reference), "k={k}");
        assert_eq!(
            after.last().map(|r| r.kind()),
            Some(EventKind::RunFinished),
            "k={k}"
        );
    }
}

#[test]
fn a_real_sigkill_while_a_change_is_in_flight_is_reconciled_on_resume() {
    let dir = temp_dir("sigkill");
    let journal = dir.join("run.jsonl");
    // 100 simulated seconds per real second: starting an instance takes seconds of real time,
    // so the kill lands while the change is in flight.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args([
            "drill",
            RUNBOOK,
            "--unattended",
            "--speed",
            "30",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let in_flight = line.contains("start-app-1") && line.contains("outcome");
        seen.push(line);
        if in_flight {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the drill finished before it could be killed: {seen:#?}"
    );
    let before = records(&journal);
    assert!(before
        .iter()
        .any(|r| r.step.as_deref() == Some("start-app-1") && r.kind() == EventKind::Outcome));
    // Resumed against the world it began in (the default one: no scenario).
    let resumed = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["drill", RUNBOOK, "--unattended", "--speed", "max"])
        .args(["--resume", journal.to_str().unwrap()])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stdout)
    );
    let after = records(&journal);
    assert_no_change_requested_twice(&after);
    let started: Vec<_> = after
        .iter()
        .filter(|r| {
            r.step.as_deref() == Some("start-app-1") && r.kind() == EventKind::StepSucceeded
        })
        .collect();
    assert_eq!(started.len(), 1);
}

#[test]
fn an_in_flight_change_without_an_outcome_is_reconciled_not_blindly_repeated() {
    let dir = temp_dir("inflight");
    let whole = dir.join("whole.jsonl");
    assert_eq!(
        drill(&["--journal", whole.to_str().unwrap()], None)
            .status
            .code(),
        Some(0)
    );
    // Find an intent of an action and kill right after it (before its outcome).
    let reference = records(&whole);
    let k = reference
        .iter()
        .position(|r| r.kind() == EventKind::Intent && r.step.as_deref() == Some("promote-replica"))
        .unwrap()
        + 1;
    let journal = dir.join("run.jsonl");
    drill(&["--journal", journal.to_str().unwrap()], Some(k));
    let resumed = drill(&["--resume", journal.to_str().unwrap()], None);
    assert_eq!(resumed.status.code(), Some(0));
    let after = records(&journal);
    let promote: Vec<_> = after
        .iter()
        .filter(|r| r.step.as_deref() == Some("promote-replica") && r.kind() == EventKind::Intent)
        .collect();
    // The first process wrote the intent and died; the resumed one found nothing in the (new)
    // world, so it re-sent with the same token, marked as a re-send.
    assert_eq!(promote.len(), 2, "{promote:#?}");
    assert_eq!(
        promote[1].event.detail().unwrap()["resend"],
        serde_json::json!(true)
    );
    assert_eq!(
        promote[0].event.detail().unwrap()["plan"]["token"],
        promote[1].event.detail().unwrap()["plan"]["token"]
    );
    assert_no_change_requested_twice(&after);
}

#[test]
fn a_torn_last_line_is_set_aside_and_recorded_on_resume() {
    let dir = temp_dir("torn");
    let journal = dir.join("run.jsonl");
    drill(&["--journal", journal.to_str().unwrap()], Some(10));
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(b"{\"seq\":10,\"at\":\"2026-");
    std::fs::write(&journal, &bytes).unwrap();
    let resumed = drill(&["--resume", journal.to_str().unwrap()], None);
    assert_eq!(resumed.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("torn"));
    let after = records(&journal);
    assert_eq!(after[10].kind(), EventKind::TornTailSetAside);
    assert!(journal.with_extension("torn-11").exists());
}

#[test]
fn resuming_a_finished_or_foreign_journal_is_refused() {
    let dir = temp_dir("refuse");
    let journal = dir.join("run.jsonl");
    assert_eq!(
        drill(&["--journal", journal.to_str().unwrap()], None)
            .status
            .code(),
        Some(0)
    );
    let out = drill(&["--resume", journal.to_str().unwrap()], None);
    assert_ne!(out.status.code(), Some(0));
    let other = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args([
            "drill",
            "runbooks/multi-site-dns-shift.yaml",
            "--unattended",
            "--speed",
            "max",
            "--resume",
            journal.to_str().unwrap(),
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr).contains("not `multi-site-dns-shift`"));
}
