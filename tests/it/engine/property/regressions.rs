use super::*;

// ---------------------------------------------------------------------------------------------
// Regression tests: minimal reproductions of engine bugs the random driver once found, when the
// engine and its replay were two state machines. Each names the input sequence; the doc says
// what went wrong then, the assertions what must happen.

pub(crate) fn by_hand(yaml: &str) -> Sim {
    let runbook = Arc::new(pilotlight::runbook::parse(yaml.as_bytes()).unwrap());
    let mut sim = Sim::new(0, runbook);
    sim.send(Input::Start);
    sim.ack_all();
    sim
}

pub(crate) fn confirm() -> Input {
    Input::Gate(GateDecision {
        approve: true,
        typed: None,
        reason: Some("go".into()),
        unattended: false,
    })
}

pub(crate) fn reason(text: &str) -> String {
    text.to_string()
}

pub(crate) fn names(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .map(|e| match e {
            Effect::Record(_) => e.to_string(),
            other => describe(other),
        })
        .collect()
}

pub(crate) const DIAL_WITH_RETRIES: &str = r#"
runbook: dial-with-retries
title: Dial with retries
targets: { rto: 1h }
resources:
  edge: { kind: global-accelerator, arn: "arn:aws:globalaccelerator::111122223333:accelerator/1234" }
steps:
  - id: dial
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: { endpoint_group_region: us-west-2, dial: 100 }
    retry: { max_attempts: 3, backoff: 2m }
    gate: { confirm: true }
  - id: after
    kind: manual
"#;

pub(crate) fn dial_failed_once() -> Sim {
    let mut sim = by_hand(DIAL_WITH_RETRIES);
    sim.send(confirm());
    assert_eq!(
        names(&sim.ack_all()),
        ["record intent dial", "mutate dial#1 (approval seq 3)"]
    );
    sim.now += TimeDelta::seconds(10);
    // A definite refusal (a timeout would block for the operator instead: the change might
    // have happened).
    let fx = sim.answer_by_hand(Input::Started {
        step: "dial".into(),
        attempt: 1,
        result: Err(CloudError::Api {
            code: "ThrottlingException".into(),
            message: "rate exceeded".into(),
        }),
    });
    assert_eq!(
        names(&fx),
        ["record outcome dial", "record step-retried dial"]
    );
    sim.ack_all();
    sim
}

/// While a change request is in flight (the console no longer waits for it), an abort is
/// refused: the answer says what was made, and it must reach the journal. Once it has, the
/// abort goes through.
#[test]
pub(crate) fn an_abort_waits_for_the_answer_of_a_change_in_flight() {
    let mut sim = by_hand(DIAL_WITH_RETRIES);
    sim.send(confirm());
    assert_eq!(
        names(&sim.ack_all()),
        ["record intent dial", "mutate dial#1 (approval seq 3)"]
    );
    let fx = sim.send(Input::Abort {
        reason: reason("wrong region"),
    });
    assert!(
        matches!(&fx[..], [Effect::Refused(m)] if m.contains("in flight")),
        "{fx:?}"
    );
    assert_eq!(sim.engine.status(), &RunStatus::Running);
    let fx = sim.answer_by_hand(Input::Started {
        step: "dial".into(),
        attempt: 1,
        result: Ok(Started {
            outputs: BTreeMap::from([("previous_dial".to_string(), "0".to_string())]),
            adopted: false,
        }),
    });
    assert!(
        names(&fx).contains(&"record outcome dial".to_string()),
        "{fx:?}"
    );
    sim.ack_all();
    let fx = sim.send(Input::Abort {
        reason: reason("wrong region"),
    });
    assert!(
        names(&fx).contains(&"record run-aborted after".to_string()),
        "{fx:?}"
    );
}

/// Start → approve → intent #1 → mutate #1 → the change fails → automatic retry (backoff 2m)
/// → tick after the backoff → intent #2 → mutate #2 → crash with everything durable → resume.
/// Resume asks the cloud about attempt 2 (`Reconcile`), as it should; but replay left the old
/// backoff in place (`wait: Backoff`, replay of `intent` does not clear it), so the next tick —
/// at once, `next_wake()` is already past — begins attempt 3 and writes its intent while attempt
/// 2 is being reconciled. Expected: the tick does nothing. (With `Reconciled(Ok(None))` first,
/// the resent intent's ack then even releases attempt 3's change.)
#[test]
pub(crate) fn resume_after_an_automatic_retry_does_not_begin_another_attempt() {
    let mut sim = dial_failed_once();
    sim.now += TimeDelta::minutes(2);
    assert_eq!(names(&sim.send(Input::Tick)), ["record intent dial"]);
    assert_eq!(names(&sim.ack_all()), ["mutate dial#2 (approval seq 3)"]);
    let keep = sim.log.len();
    sim.now += TimeDelta::seconds(30);
    assert_eq!(
        names(&sim.crash(keep)),
        ["record run-resumed", "reconcile dial#2"]
    );
    // The old attempt's backoff is gone: nothing is due while the change is being reconciled.
    assert!(sim.engine.next_wake().is_none_or(|w| w > sim.now));
    assert_eq!(names(&sim.send(Input::Tick)), Vec::<String>::new());
}

/// Approve → the change fails → automatic retry, in its backoff; everything durable. Live the
/// step's error is the failure; replay of the journal has no error (replay of `step-retried`
/// ignores its `after`).
#[test]
pub(crate) fn replay_keeps_the_error_of_a_step_in_its_backoff() {
    let sim = dial_failed_once();
    assert_eq!(&sim.replayed(), sim.engine.state());
}

pub(crate) const DIAL_ONCE: &str = r#"
runbook: dial-once
title: Dial once
targets: { rto: 1h }
resources:
  edge: { kind: global-accelerator, arn: "arn:aws:globalaccelerator::111122223333:accelerator/1234" }
steps:
  - id: dial
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: { endpoint_group_region: us-west-2, dial: 100 }
    gate: { confirm: true }
  - id: after
    kind: manual
"#;

/// Approve → the change fails → step failed → operator retries → intent #2 → mutate #2, all
/// durable. Live the error is cleared when attempt 2 begins; replay keeps attempt 1's error
/// (replay of `step-retried`/`intent` for an action or command does not clear it).
#[test]
pub(crate) fn replay_clears_the_error_when_a_retried_action_begins() {
    let mut sim = by_hand(DIAL_ONCE);
    sim.send(confirm());
    sim.ack_all();
    let fx = sim.answer_by_hand(Input::Started {
        step: "dial".into(),
        attempt: 1,
        result: Err(CloudError::Timeout(30)),
    });
    assert_eq!(
        names(&fx),
        ["record outcome dial", "record step-failed dial"]
    );
    sim.send(Input::Retry {
        reason: reason("capacity is back"),
    });
    assert_eq!(names(&sim.ack_all()), ["mutate dial#2 (approval seq 3)"]);
    assert_eq!(sim.engine.steps()[0].error, None);
    assert_eq!(&sim.replayed(), sim.engine.state());
}

/// Approve → the change fails → step failed, run blocked → operator skips it → the next step
/// begins and the run is running again; all durable. Replay of `step-skipped` does not unblock
/// the run: replayed status is still `Blocked("step `dial` failed: ...")`.
#[test]
pub(crate) fn replay_of_skipping_a_failed_step_unblocks_the_run() {
    let mut sim = by_hand(DIAL_ONCE);
    sim.send(confirm());
    sim.ack_all();
    sim.answer_by_hand(Input::Started {
        step: "dial".into(),
        attempt: 1,
        result: Err(CloudError::Timeout(30)),
    });
    sim.send(Input::Skip {
        reason: reason("dialled by hand"),
    });
    sim.ack_all();
    assert_eq!(sim.engine.status(), &RunStatus::Running);
    assert_eq!(sim.replayed().status, RunStatus::Running);
}

pub(crate) const DECIDE: &str = r#"
runbook: decide
title: Decide
targets: { rto: 1h }
steps:
  - id: decide
    kind: manual
    gate: { confirm: true }
  - id: after
    kind: manual
"#;

/// Gated manual (or check, or wait) step: open gate → approve (the gate-approved record is not
/// yet durable) → skip the step → all durable. Live the step never began (attempt 0: the
/// approval's ack came after the skip and mints nothing); replay begins it on `gate-approved`
/// (attempt 1). The same happens with abort instead of skip.
#[test]
pub(crate) fn replay_of_a_skip_racing_the_approval_keeps_the_attempt() {
    let mut sim = by_hand(DECIDE);
    assert_eq!(names(&sim.send(confirm())), ["record gate-approved decide"]);
    let fx = sim.send(Input::Skip {
        reason: reason("changed my mind"),
    });
    assert_eq!(names(&fx)[0], "record step-skipped decide");
    assert_eq!(names(&sim.ack_all()), Vec::<String>::new());
    assert_eq!(sim.engine.steps()[0].attempt, 0);
    assert_eq!(&sim.replayed(), sim.engine.state());
}

pub(crate) const MANUAL_THEN_WAIT: &str = r#"
runbook: manual-then-wait
title: Manual then wait
targets: { rto: 1h }
steps:
  - id: first
    kind: manual
  - id: ttl
    kind: wait
    for: 1m
"#;

/// Manual step done → `step-succeeded first` is durable, `step-started ttl` is lost in a crash
/// → resume. Resume begins `ttl` (a wait) without writing `step-started ttl`, so the step has no
/// start time in the journal (durations, the audit report) and replay of the resumed journal
/// has it pending with attempt 0 while live it is waiting, attempt 1. Expected: resume writes
/// `step-started ttl` as entering a step always does.
#[test]
pub(crate) fn resume_writes_step_started_for_a_step_it_begins() {
    let mut sim = by_hand(MANUAL_THEN_WAIT);
    let fx = sim.send(Input::ManualDone);
    assert_eq!(
        names(&fx),
        ["record step-succeeded first", "record step-started ttl"]
    );
    let keep = sim.log.len() - 1;
    let fx = sim.crash(keep);
    assert_eq!(
        names(&fx),
        ["record run-resumed", "record step-started ttl"]
    );
}

pub(crate) const CHECK_WITH_RETRY: &str = r#"
runbook: check-with-retry
title: Check with a retry
targets: { rto: 1h }
resources:
  db: { kind: rds-instance, region: us-east-1, id: orders-prod }
steps:
  - id: impaired
    kind: check
    expect: { resource: db, health: [impaired] }
    retry: { max_attempts: 2, backoff: 30s }
  - id: after
    kind: manual
"#;

/// Check fails → automatic retry (backoff 30s) → tick after the backoff: attempt 2 observes
/// again, but nothing is written → skip. Live the skipped check made 2 attempts; replay says 1
/// (and before the skip, replay has it still in the backoff). Expected: beginning an attempt
/// after a backoff is journaled (or replay derives it), so the journal determines the state.
#[test]
pub(crate) fn replay_counts_a_check_attempt_begun_after_a_backoff() {
    let mut sim = by_hand(CHECK_WITH_RETRY);
    let status = |health| {
        Ok(ResourceStatus {
            health,
            state: "available".into(),
            latest_recovery_point: None,
        })
    };
    let fx = sim.send(Input::Observed {
        resource: "db".into(),
        status: status(Health::Ok),
    });
    assert!(names(&fx).contains(&"record step-retried impaired".to_string()));
    sim.ack_all();
    sim.now += TimeDelta::seconds(30);
    assert_eq!(
        names(&sim.send(Input::Tick)),
        ["record step-started impaired", "observe db"]
    );
    assert_eq!(sim.engine.steps()[0].attempt, 2);
    sim.send(Input::Skip {
        reason: reason("we know"),
    });
    sim.ack_all();
    assert_eq!(&sim.replayed(), sim.engine.state());
}

/// Approve → the change fails → step failed, run blocked → skip it → the next step (manual, no
/// gate) begins and the run is running; all durable → crash → resume. Replay left the run
/// blocked by the skipped step's failure, so resume writes `run-resumed` and stops: the manual
/// step is not offered again, and (for a step in a retry's backoff) ticks do nothing. The run is
/// stuck until the operator skips or aborts. Expected: `run-resumed`, `await-operator after`.
#[test]
pub(crate) fn resume_after_skipping_a_failed_step_continues_the_run() {
    let mut sim = by_hand(DIAL_ONCE);
    sim.send(confirm());
    sim.ack_all();
    sim.answer_by_hand(Input::Started {
        step: "dial".into(),
        attempt: 1,
        result: Err(CloudError::Timeout(30)),
    });
    let fx = sim.send(Input::Skip {
        reason: reason("dialled by hand"),
    });
    assert_eq!(names(&fx).last().unwrap(), "await-operator after");
    sim.ack_all();
    let keep = sim.log.len();
    assert_eq!(
        names(&sim.crash(keep)),
        ["record run-resumed", "await-operator after"]
    );
}

pub(crate) const DIAL_WITH_TIMEOUT: &str = r#"
runbook: dial-with-timeout
title: Dial with a timeout
targets: { rto: 1h }
resources:
  edge: { kind: global-accelerator, arn: "arn:aws:globalaccelerator::111122223333:accelerator/1234" }
steps:
  - id: dial
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: { endpoint_group_region: us-west-2, dial: 100 }
    timeout: 5m
    retry: { max_attempts: 2, backoff: 1m }
    gate: { confirm: true }
"#;

/// Approve → intent #1 → mutate #1 → crash (all durable) → restart 10 minutes later → resume
/// asks the cloud about attempt 1 (`Reconcile`). The first tick times attempt 1 out (its timeout
/// counts from the intent, before the crash) and schedules attempt 2 after the backoff. Then the
/// reconcile answer arrives ("nothing was created") and is still taken as attempt 1's: it writes
/// a re-send intent for attempt 1, whose ack sends it, while the stale backoff then begins
/// attempt 2 as well — two attempts of one change in flight. Expected: the answer of an attempt
/// already given up is ignored (or the timeout waits for the reconcile).
#[test]
pub(crate) fn a_reconcile_answer_after_the_attempt_timed_out_does_not_resend_it() {
    let mut sim = by_hand(DIAL_WITH_TIMEOUT);
    sim.send(confirm());
    assert_eq!(
        names(&sim.ack_all()),
        ["record intent dial", "mutate dial#1 (approval seq 3)"]
    );
    let keep = sim.log.len();
    sim.now += TimeDelta::minutes(10);
    assert_eq!(
        names(&sim.crash(keep)),
        ["record run-resumed", "reconcile dial#1"]
    );
    // The change may still be under way: the step waits for the operator, no new attempt.
    assert_eq!(names(&sim.send(Input::Tick)), ["record step-failed dial"]);
    let fx = sim.answer_by_hand(Input::Reconciled {
        step: "dial".into(),
        attempt: 1,
        result: Ok(None),
    });
    assert_eq!(names(&fx), Vec::<String>::new());
}
