//! `--rollback`: a drill (or a finished run's journal) undone newest first, each inverse through
//! its gate, journaled as the rollback of its step; a crash in between requests nothing twice.

use std::path::Path;
use std::process::{Command, Output};

use pilotlight::audit::{verify, Event, EventKind, Record};
use serde_json::Value;

use crate::common::{detail, root, temp_dir};

const ANALYTICS: &str = "runbooks/analytics-global-accelerator-failover.yaml";
const DNS: &str = "runbooks/multi-site-dns-shift.yaml";

fn pilotlight(args: &[&str], data: &Path, abort_after: Option<usize>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilotlight"));
    cmd.args(args)
        .current_dir(root())
        .env("PILOTLIGHT_OPERATOR", "rollback-test")
        .env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data);
    if let Some(n) = abort_after {
        cmd.env("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS", n.to_string());
    }
    cmd.output().unwrap()
}

fn drill(runbook: &str, journal: &Path, extra: &[&str], abort_after: Option<usize>) -> Output {
    let mut args = vec![
        "drill",
        runbook,
        "--unattended",
        "--speed",
        "max",
        "--journal",
        journal.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    pilotlight(&args, journal.parent().unwrap(), abort_after)
}

fn records(journal: &Path) -> Vec<Record> {
    verify(&std::fs::read(journal).unwrap()).unwrap().records
}

fn steps_of(records: &[Record], kind: EventKind) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.kind() == kind)
        .filter_map(|r| r.step.clone())
        .collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn an_unattended_rollback_undoes_every_completed_inverse_newest_first() {
    let dir = temp_dir("rollback");
    let journal = dir.join("analytics.jsonl");
    let out = drill(ANALYTICS, &journal, &["--rollback"], None);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let rs = records(&journal);
    // Every completed step with an inverse, newest first, as the runbook orders them.
    let newest_first = [
        "dial-down-backup",
        "dial-up-primary",
        "dial-down-primary",
        "dial-up-backup",
    ];
    let started = rs
        .iter()
        .find(|r| r.kind() == EventKind::RollbackStarted)
        .unwrap_or_else(|| panic!("no rollback-started:\n{said}"));
    assert_eq!(detail(started)["steps"], serde_json::json!(newest_first));
    assert_eq!(steps_of(&rs, EventKind::StepRolledBack), newest_first);
    // Each through its gate: approved before its intent, with what it would change.
    for step in newest_first {
        let of = |kind| {
            rs.iter()
                .position(|r| r.kind() == kind && r.step.as_deref() == Some(step))
                .unwrap_or_else(|| panic!("{step}: no {kind:?}"))
        };
        let (approved, intent, done) = (
            of(EventKind::RollbackApproved),
            of(EventKind::RollbackIntent),
            of(EventKind::StepRolledBack),
        );
        assert!(approved < intent && intent < done, "{step}");
        assert!(
            detail(&rs[approved])["seen"]
                .as_str()
                .is_some_and(|s| s.starts_with("traffic dial of ")),
            "{step}: {:?}",
            rs[approved].event
        );
        let undo = match &rs[intent].event {
            Event::RollbackIntent(i) => i.plan.clone().unwrap(),
            other => panic!("{other:?}"),
        };
        let change = rs
            .iter()
            .find_map(|r| match &r.event {
                Event::Intent(i) if r.step.as_deref() == Some(step) => i.plan.clone(),
                _ => None,
            })
            .unwrap();
        assert_eq!(undo.step, format!("rollback:{step}"));
        assert_ne!(undo.token, change.token, "{step}");
    }
    // The last record ends the run; the rollback is told after the run's own verdict lines.
    assert_eq!(rs.last().unwrap().kind(), EventKind::RollbackFinished);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rollback finished at T+"), "{stdout}");
    let verified = pilotlight(&["audit", "verify", journal.to_str().unwrap()], &dir, None);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert!(text(&verified).contains("intact"), "{}", text(&verified));
    assert!(
        text(&verified).contains("rolled back"),
        "{}",
        text(&verified)
    );
    // The report tells the rollback apart from the run.
    let report = pilotlight(
        &[
            "audit",
            "report",
            journal.to_str().unwrap(),
            "--format",
            "json",
        ],
        &dir,
        None,
    );
    let r: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(r["outcome"]["status"], "finished");
    assert_eq!(r["rollback"]["outcome"], "finished");
    let ids: Vec<&str> = r["rollback"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, newest_first);
    for s in r["rollback"]["steps"].as_array().unwrap() {
        assert_eq!(s["status"], "done", "{s}");
        assert_eq!(s["gates"][0]["decision"], "approved", "{s}");
    }
}

#[test]
fn a_finished_drill_is_rolled_back_from_its_journal_once() {
    let dir = temp_dir("rollback-resume");
    let journal = dir.join("dns.jsonl");
    let out = drill(DNS, &journal, &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(steps_of(&records(&journal), EventKind::StepRolledBack).is_empty());
    // Without --rollback an ended run says how to undo it.
    let again = pilotlight(
        &[
            "drill",
            DNS,
            "--unattended",
            "--speed",
            "max",
            "--resume",
            journal.to_str().unwrap(),
        ],
        &dir,
        None,
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("--rollback"), "{}", text(&again));
    let args = [
        "drill",
        DNS,
        "--unattended",
        "--speed",
        "max",
        "--resume",
        journal.to_str().unwrap(),
        "--rollback",
    ];
    let out = pilotlight(&args, &dir, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rs = records(&journal);
    assert_eq!(steps_of(&rs, EventKind::StepRolledBack), ["shift-dns"]);
    // The weights go back to what the inverse names.
    let approved = rs
        .iter()
        .find(|r| r.kind() == EventKind::RollbackApproved)
        .unwrap();
    let seen = detail(approved)["seen"].as_str().unwrap().to_string();
    assert!(
        seen.ends_with(r#"-> {"aws-use1":50,"onprem-dc1":50}"#),
        "{seen}"
    );
    // Nothing is undone twice.
    let twice = pilotlight(&args, &dir, None);
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        text(&twice).contains("rolled back already"),
        "{}",
        text(&twice)
    );
    assert_eq!(
        records(&journal).len(),
        rs.len(),
        "a refusal writes nothing"
    );
}

#[test]
fn a_crash_during_a_rollback_resumes_without_requesting_an_undo_twice() {
    let dir = temp_dir("rollback-crash");
    let whole = dir.join("whole.jsonl");
    let out = drill(ANALYTICS, &whole, &["--rollback"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Die right after the second undo's intent is durable, before its request goes.
    let second = records(&whole)
        .iter()
        .filter(|r| r.kind() == EventKind::RollbackIntent)
        .nth(1)
        .unwrap()
        .seq as usize;
    let journal = dir.join("crashed.jsonl");
    let out = drill(ANALYTICS, &journal, &["--rollback"], Some(second + 1));
    assert_ne!(out.status.code(), Some(0));
    let before = records(&journal);
    assert_eq!(before.last().unwrap().kind(), EventKind::RollbackIntent);
    // A resumed drill picks the rollback up where it stopped.
    let args = [
        "drill",
        ANALYTICS,
        "--unattended",
        "--speed",
        "max",
        "--resume",
        journal.to_str().unwrap(),
    ];
    let out = pilotlight(&args, &dir, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rs = records(&journal);
    assert_eq!(rs.last().unwrap().kind(), EventKind::RollbackFinished);
    assert_eq!(steps_of(&rs, EventKind::StepRolledBack).len(), 4);
    // One first request per undo; a re-send after the restart reuses its token.
    for step in steps_of(&rs, EventKind::StepRolledBack) {
        let intents: Vec<&Record> = rs
            .iter()
            .filter(|r| r.kind() == EventKind::RollbackIntent && r.step.as_deref() == Some(&*step))
            .collect();
        let first = intents
            .iter()
            .filter(|r| detail(r)["resend"] != serde_json::json!(true))
            .count();
        assert_eq!(first, 1, "{step}");
        let tokens: std::collections::BTreeSet<&str> = intents
            .iter()
            .map(|r| match &r.event {
                Event::RollbackIntent(i) => i.plan.as_ref().unwrap().token.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(tokens.len(), 1, "{step}");
    }
}
