use super::*;

// ---------------------------------------------------------------------------------------------
// Guard alarms

const GUARDED: &str = r#"runbook: guarded
title: Guarded
targets: { rto: 1h }
resources:
  db: { kind: rds-instance, region: us-west-2, id: orders-replica }
  app-5xx: { kind: cloudwatch-alarm, region: us-west-2, id: app-5xx }
guards: [app-5xx]
steps:
  - id: look
    kind: check
    title: Look
    expect: { resource: db, health: [ok] }
    gate: { confirm: true }
  - id: promote
    kind: action
    title: Promote
    action: rds.promote-replica
    resource: db
    with: { replica_id: orders-replica }
    gate: { confirm: true }
"#;

/// Through the unguarded check (runbook guards cover action and command steps), to the gate of
/// the guarded change.
fn at_promote_gate() -> Run {
    let mut run = started_run(GUARDED);
    // The alarm is in ALARM already: a check step is not guarded by the runbook's guards.
    run.send(observed("app-5xx", Health::Unavailable));
    run.ack_all();
    run.send(approve(None, None));
    run.ack_all();
    run.send(observed("db", Health::Ok));
    run.ack_all();
    assert_eq!(run.state(0), StepState::Done);
    assert_eq!(run.state(1), StepState::AwaitingGate);
    run
}

#[test]
pub(crate) fn a_guard_in_alarm_pauses_the_change_at_its_gate_and_a_reasoned_retry_goes_on() {
    let mut run = at_promote_gate();
    // Approving while the guard is in ALARM: paused, nothing sent.
    let fx = run.send(approve(None, None));
    assert_eq!(d(&fx), ["record step-failed promote"]);
    run.ack_all();
    assert_eq!(run.state(1), StepState::Failed);
    let failed = detail(run.last_of(EventKind::StepFailed));
    assert_eq!(failed["guard"], "app-5xx");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .starts_with("paused: guard alarm app-5xx is in ALARM (whatever)"),
        "{failed}"
    );
    assert!(matches!(run.engine.status(), RunStatus::Blocked(_)));
    assert!(!run.records.iter().any(|r| r.kind() == EventKind::Intent));
    // The operator goes on despite it, with a reason: the gate opens again (nothing was
    // approved), and the alarm no longer pauses this step.
    let fx = run.send(retry("the 5xx are the old region's; IC accepts"));
    assert_eq!(
        d(&fx),
        [
            "record step-retried promote",
            "record gate-shown promote",
            "show-gate promote"
        ]
    );
    run.ack_all();
    assert_eq!(
        d(&run.send(observed("app-5xx", Health::Unavailable))),
        Vec::<String>::new()
    );
    run.send(approve(None, None));
    let fx = run.ack_all();
    assert!(
        d(&fx).contains(&"mutate promote#1".to_string()),
        "{:?}",
        d(&fx)
    );
}

#[test]
pub(crate) fn a_guard_going_to_alarm_while_the_gate_waits_pauses_at_once_and_ok_does_not() {
    let mut run = at_promote_gate();
    // Back to OK first: approving would pass; then ALARM again, seen while the gate waits.
    assert_eq!(
        d(&run.send(observed("app-5xx", Health::Ok))),
        ["record status-snapshot"]
    );
    run.ack_all();
    let fx = run.send(observed("app-5xx", Health::Unavailable));
    assert_eq!(
        d(&fx),
        ["record status-snapshot", "record step-failed promote"]
    );
    run.ack_all();
    // Abort is the other way out, as for any failed step.
    let fx = run.send(Input::Abort {
        reason: "the app is failing in the recovery region too".into(),
    });
    assert_eq!(
        d(&fx),
        [
            "record run-aborted promote",
            "finished Aborted(\"the app is failing in the recovery region too\")"
        ]
    );
}
