//! The report built from hand-written records: what drills cannot produce yet (a person at the
//! gates, a cancel, an operator's retry and skip, a crash and a resume by someone else).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::audit::{Event, EventKind, Mode, Record, GENESIS};

struct Script {
    t0: DateTime<Utc>,
    records: Vec<Record>,
}

impl Script {
    /// A record as the journal holds it: the event's name and its detail in JSON.
    fn add(&mut self, secs: i64, who: &str, kind: EventKind, step: Option<&str>, detail: Value) {
        self.records.push(Record {
            seq: self.records.len() as u64,
            at: self.t0 + TimeDelta::seconds(secs),
            operator: who.into(),
            runbook: "orders-failover".into(),
            mode: Mode::Live,
            step: step.map(str::to_string),
            event: Event::from_detail(kind, detail).unwrap(),
            prev: GENESIS.into(),
            hash: GENESIS.into(),
        });
    }
}

fn live_incident() -> Vec<Record> {
    let mut s = Script {
        t0: Utc.with_ymd_and_hms(2026, 11, 21, 23, 50, 0).unwrap(),
        records: Vec::new(),
    };
    let steps = json!([
        {"id": "restore-db", "title": "Restore \u{1b}[31mthe DB", "kind": "action", "expected_secs": 1200},
        {"id": "check-db", "title": "DB is up", "kind": "check", "expected_secs": null},
        {"id": "notify", "title": "Tell support", "kind": "manual", "expected_secs": 60},
    ]);
    let start = json!({"run_id": "r1", "title": "Orders failover", "rto_target_secs": 2700, "steps": steps});
    s.add(0, "ana", EventKind::RunStarted, None, start);
    let restore = Some("restore-db");
    s.add(
        0,
        "ana",
        EventKind::StepStarted,
        restore,
        json!({"title": "x", "kind": "action"}),
    );
    let shown = json!({"confirm": true, "typed": "orders-dr", "reason": "required", "preview": "rds:Restore"});
    s.add(0, "ana", EventKind::GateShown, restore, shown);
    s.add(
        30,
        "ana",
        EventKind::GateCancelled,
        restore,
        json!({"reason": "wait for IC"}),
    );
    let ok = json!({"typed": "orders-dr", "reason": "IC said go\u{9b}2J", "unattended": false});
    s.add(90, "ana", EventKind::GateApproved, restore, ok);
    let plan = json!({"step": "restore-db", "attempt": 1, "action": "rds.restore-snapshot",
        "resource": "orders-db", "target": "orders-dr", "region": "us-west-2",
        "params": {"snapshot": "latest", "target_id": "orders-dr"}, "token": "pl-1"});
    s.add(
        91,
        "ana",
        EventKind::Intent,
        restore,
        json!({"attempt": 1, "plan": plan, "resend": false}),
    );
    s.add(
        900,
        "bob",
        EventKind::RunResumed,
        None,
        json!({"run_id": "r1", "at_step": "restore-db"}),
    );
    let adopted =
        json!({"ok": true, "attempt": 1, "adopted": true, "outputs": {"db": "orders-dr"}});
    s.add(905, "bob", EventKind::Outcome, restore, adopted);
    let poll = json!({"error": "throttled", "while": "polling progress"});
    s.add(950, "bob", EventKind::Error, restore, poll);
    let done = json!({"attempt": 1, "duration_secs": 1500, "state": "available"});
    s.add(1500, "bob", EventKind::StepSucceeded, restore, done);
    let check = Some("check-db");
    s.add(
        1500,
        "bob",
        EventKind::StepStarted,
        check,
        json!({"kind": "check"}),
    );
    let failed = json!({"attempt": 1, "error": "orders-dr is impaired"});
    s.add(1500, "bob", EventKind::StepFailed, check, failed);
    let retry = json!({"attempt": 2, "reason": "saw it recover", "auto": false});
    s.add(1620, "bob", EventKind::StepRetried, check, retry);
    let done = json!({"attempt": 2, "observed": "orders-dr is ok"});
    s.add(1625, "bob", EventKind::StepSucceeded, check, done);
    s.add(
        1625,
        "bob",
        EventKind::StepStarted,
        Some("notify"),
        json!({}),
    );
    let skip = json!({"reason": "support\u{1b}]0;pwned\u{7} already knows"});
    s.add(1700, "bob", EventKind::StepSkipped, Some("notify"), skip);
    s.add(
        1700,
        "bob",
        EventKind::RunFinished,
        None,
        json!({"duration_secs": 1700}),
    );
    s.records
}

#[test]
fn a_live_incident_with_a_cancel_a_crash_a_resume_and_an_operator_retry() {
    let r = build(&live_incident());
    assert_eq!(r.outcome, RunOutcome::Finished);
    assert!(!r.simulated_time);
    assert_eq!(r.duration_secs, Some(1700));
    assert_eq!(r.rto.verdict, RtoVerdict::Within);
    assert_eq!(r.rto.margin_secs, Some(1000));
    assert_eq!(r.operators, ["ana", "bob"]);
    assert_eq!(r.resumptions[0].gap_secs, Some(809));
    assert_eq!(r.gate_wait_secs, 90);
    assert_eq!(r.expected_total_secs, Some(1260));
    assert_eq!(r.steps_without_expectation, 1);

    let restore = &r.steps[0];
    // What the journal holds is shown, never obeyed and never hidden.
    assert_eq!(restore.title.as_deref(), Some("Restore \\x1b[31mthe DB"));
    assert_eq!(restore.operators, ["ana", "bob"]);
    assert_eq!(restore.over_expected_secs, Some(300));
    assert_eq!(restore.gates.len(), 2);
    assert_eq!(restore.gates[0].decision, GateDecision::Cancelled);
    assert_eq!(restore.gates[1].decision, GateDecision::Approved);
    assert_eq!(restore.gates[1].typed_phrase.as_deref(), Some("orders-dr"));
    assert_eq!(
        restore.gates[1].reason.as_deref(),
        Some("IC said go\\x9b2J")
    );
    assert_eq!(
        restore.gates[1].waited_secs,
        Some(60),
        "open since the cancel"
    );
    assert_eq!(restore.requests.len(), 1);
    assert_eq!(restore.requests[0].adopted, Some(true));
    assert_eq!(restore.requests[0].operator, "ana");
    assert_eq!(
        restore.errors[0].context.as_deref(),
        Some("polling progress")
    );

    let check = &r.steps[1];
    assert_eq!((check.status, check.attempts), (StepStatus::Done, 2));
    assert_eq!(check.failures.len(), 1);
    assert!(!check.retries[0].auto);
    let notify = &r.steps[2];
    assert_eq!(notify.status, StepStatus::Skipped);
    assert_eq!(
        notify.skip_reason.as_deref(),
        Some("support\\x1b]0;pwned\\x07 already knows")
    );

    let md = markdown(&r);
    assert!(!md.chars().any(|c| c.is_control() && c != '\n'), "{md}");
    for want in [
        "**LIVE** run",
        "**within the target**, 16m40s to spare",
        "- **Resumed:** 2026-11-22 00:05:00 (T+15m) by `bob` at step `restore-db`, after standing still for 13m29s",
        "gate cancelled by `ana`, reason: “wait for IC”",
        "gate approved by `ana`, typed `orders-dr`, reason: “IC said go\\\\x9b2J”, waited 1m",
        "→ adopted the change already made before a restart",
        "error while polling progress: `throttled`",
        "retried by `bob` (attempt 2), reason: “saw it recover”",
        "**skipped**, reason: “support\\\\x1b\\]0;pwned\\\\x07 already knows”",
        "(the sum of the runbook's expected durations; 1 of 3 steps has none)",
        "requested `rds.restore-snapshot` on `orders-dr` in `us-west-2`, token `pl-1` (attempt 1) by `ana` → adopted",
        "**step failed** on attempt 1, no automatic retry left: `orders-dr is impaired`",
        "| 1 | `restore-db` | done | ana, bob | 23:50:00 (T+0s) | 25m | 20m | +5m | 1 |",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
}

#[test]
fn an_unfinished_journal_and_records_outside_the_plan_are_said_so() {
    let mut records = live_incident();
    records.truncate(7);
    let mut odd = records[5].clone();
    odd.seq = 7;
    odd.step = Some("not-in-plan".into());
    records.push(odd);
    let r = build(&records);
    assert_eq!(r.outcome, RunOutcome::Unfinished);
    assert_eq!(r.rto.verdict, RtoVerdict::Unknown);
    assert_eq!(r.steps[0].status, StepStatus::InProgress);
    assert_eq!(r.steps[0].requests[0].ok, None);
    assert!(r.notes[0].contains("`not-in-plan`"), "{:?}", r.notes);
    let md = markdown(&r);
    assert!(md.contains("**UNFINISHED**"), "{md}");
    assert!(md.contains("no answer recorded"), "{md}");
    assert!(md.contains("Not reached: `check-db`, `notify`."), "{md}");
}
