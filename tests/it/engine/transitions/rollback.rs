//! Rollback: once the run is over, each completed step with an `inverse` is undone, newest
//! first, through its own gate, with the discipline of a step's change (approval durable before
//! the intent, intent durable before the request), and the fold rebuilds it from the journal.

use super::*;
use pilotlight::audit::{Mode, Record};
use pilotlight::engine::RollbackEnd;

/// Two dials, each with an inverse (the second with its own gate), then a manual step.
const ROLLBACK: &str = r#"
runbook: engine-rollback
title: Dial over and back
targets: { rto: 1h }
resources:
  edge: { kind: global-accelerator, arn: "arn:aws:globalaccelerator::111122223333:accelerator/1234" }
steps:
  - id: dial-up
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: { endpoint_group_region: us-west-2, dial: 100 }
    gate: { typed: us-west-2 }
    inverse: { action: ga.set-traffic-dial, with: { endpoint_group_region: us-west-2, dial: 0 } }
  - id: dial-down
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: { endpoint_group_region: us-east-1, dial: 0 }
    gate: { confirm: true }
    inverse:
      action: ga.set-traffic-dial
      with: { endpoint_group_region: us-east-1, dial: 100 }
      gate: { typed: us-east-1, reason: required }
  - id: note
    kind: manual
"#;

fn rollback(reason: &str) -> Input {
    Input::Rollback {
        reason: Some(reason.into()),
    }
}

/// Runs ROLLBACK to its end: both dials approved and made, the manual step done.
fn finished_run() -> Run {
    let mut run = Run::new(ROLLBACK);
    run.send(Input::Start);
    run.ack_all();
    run.send(approve(Some("us-west-2"), None));
    run.ack_all();
    run.send(started("dial-up", 1, &[("previous_dial", "0")]));
    run.ack_all();
    run.send(approve(None, None));
    run.ack_all();
    run.send(started("dial-down", 1, &[("previous_dial", "100")]));
    run.ack_all();
    run.send(Input::ManualDone);
    run.ack_all();
    assert_eq!(run.engine.status(), &RunStatus::Finished);
    run
}

fn records_of(run: &Run) -> Vec<Record> {
    run.records
        .iter()
        .enumerate()
        .map(|(seq, e)| Record {
            seq: seq as u64,
            at: e.at,
            operator: "tester".into(),
            runbook: "engine-rollback".into(),
            mode: Mode::Drill,
            step: e.step.clone(),
            event: e.event.clone(),
            prev: "prev".into(),
            hash: "hash".into(),
        })
        .collect()
}

#[test]
fn a_run_still_going_cannot_be_rolled_back() {
    let mut run = Run::new(ROLLBACK);
    assert_eq!(
        d(&run.send(rollback("too soon"))),
        ["refused: roll back once the run is over: let it finish, or abort it (A) first"]
    );
    run.send(Input::Start);
    run.ack_all();
    assert_eq!(
        d(&run.send(rollback("too soon"))),
        ["refused: roll back once the run is over: let it finish, or abort it (A) first"]
    );
}

#[test]
fn completed_inverses_are_undone_newest_first_each_through_its_own_gate() {
    let mut run = finished_run();
    let forward_token = match &run.last_of(EventKind::Intent).event {
        pilotlight::audit::Event::Intent(i) => i.plan.as_ref().unwrap().token.clone(),
        _ => unreachable!(),
    };
    run.at(600);
    let fx = run.send(rollback("failback rehearsal"));
    assert_eq!(
        d(&fx),
        [
            "record rollback-started",
            "record rollback-gate-shown dial-down",
            "show-gate rollback:dial-down",
        ]
    );
    assert_eq!(
        detail(&run.records[run.records.len() - 2])["steps"],
        json!(["dial-down", "dial-up"])
    );
    // The inverse's own gate, not the step's confirmation.
    let open = run.engine.open_gate().expect("a gate is open");
    assert_eq!((open.step, open.rollback), (1, true));
    assert_eq!(open.gate.typed.as_deref(), Some("us-east-1"));
    let shown = detail(run.last_record());
    assert_eq!(shown["typed"], "us-east-1");
    assert!(
        shown["preview"].as_str().unwrap().contains(r#""dial":100"#),
        "{shown}"
    );
    run.ack_all();
    assert_eq!(
        d(&run.send(approve(None, Some("back")))),
        ["refused: type `us-east-1` exactly to proceed"]
    );
    assert_eq!(
        d(&run.send(approve(Some("us-east-1"), None))),
        ["refused: this gate needs a reason"]
    );
    // Approval first; the intent only once it is durable; the request only once that is.
    let fx = run.send(approve(Some("us-east-1"), Some("back")));
    assert_eq!(d(&fx), ["record rollback-approved dial-down"]);
    assert_eq!(d(&run.ack()), ["record rollback-intent dial-down"]);
    let fx = run.ack();
    let (plan, approval) = mutate_of(&fx);
    assert_eq!(plan.step, "rollback:dial-down");
    assert_eq!(approval.step(), "rollback:dial-down");
    assert_ne!(
        plan.token, forward_token,
        "the undo never passes for the change"
    );
    assert_eq!(plan.token, token(RUN_ID, "rollback:dial-down", 1));
    // An answer that is not the undo's changes nothing; the undo's own moves on.
    assert!(run.send(started("dial-down", 1, &[])).is_empty());
    run.at(660);
    let fx = run.send(started("rollback:dial-down", 1, &[("previous_dial", "0")]));
    assert_eq!(
        d(&fx),
        [
            "record rollback-outcome dial-down",
            "record step-rolled-back dial-down",
            "record rollback-gate-shown dial-up",
            "show-gate rollback:dial-up",
        ]
    );
    assert_eq!(
        run.engine.steps()[1].rollback.as_ref().unwrap().state,
        StepState::Done
    );
    // Without its own gate, the inverse passes its step's.
    assert_eq!(
        run.engine.open_gate().unwrap().gate.typed.as_deref(),
        Some("us-west-2")
    );
    run.ack_all();
    let fx = run.send(skip("left at 100% on purpose"));
    assert_eq!(
        d(&fx),
        [
            "record rollback-skipped dial-up",
            "record rollback-finished",
            "finished Finished"
        ]
    );
    assert_eq!(
        detail(run.last_record()),
        json!({"duration_secs": 60, "rolled_back": ["dial-down"], "skipped": ["dial-up"]})
    );
    run.ack_all();
    assert_eq!(run.engine.status(), &RunStatus::Finished);
    assert!(matches!(
        run.engine.state().rollback.as_ref().unwrap().ended,
        Some(RollbackEnd::Finished(_))
    ));
    // Nothing is undone twice.
    assert_eq!(
        d(&run.send(rollback("again"))),
        ["refused: this run has been rolled back already; nothing is undone twice"]
    );
    // The journal rebuilds the same state.
    let runbook = Arc::new(run.engine.runbook().clone());
    let rebuilt = Engine::from_records(runbook, &records_of(&run)).unwrap();
    assert_eq!(rebuilt.state(), run.engine.state());
}

#[test]
fn a_failed_undo_blocks_until_retried_and_a_crash_after_its_intent_is_reconciled() {
    let mut run = finished_run();
    run.send(rollback("failback"));
    run.ack_all();
    run.send(approve(Some("us-east-1"), Some("back")));
    run.ack_all();
    let fx = run.send(start_failed("rollback:dial-down", 1));
    assert_eq!(
        d(&fx),
        [
            "record rollback-outcome dial-down",
            "record rollback-failed dial-down"
        ]
    );
    assert!(
        matches!(run.engine.status(), RunStatus::Blocked(why) if why.contains("rollback of step `dial-down` failed"))
    );
    run.ack_all();
    assert_eq!(
        d(&run.send(Input::Retry {
            reason: "  ".into()
        })),
        ["refused: say why you retry this rollback"]
    );
    let fx = run.send(retry("capacity is back"));
    assert_eq!(
        d(&fx),
        [
            "record rollback-retried dial-down",
            "record rollback-intent dial-down"
        ]
    );
    // The process dies with attempt 2's intent durable and no answer: the resumed run asks the
    // cloud before sending anything.
    let runbook = Arc::new(run.engine.runbook().clone());
    let mut engine = Engine::from_records(runbook, &records_of(&run)).unwrap();
    assert!(engine.rolling_back());
    let fx = engine.handle(Input::Resume, run.now);
    assert_eq!(
        d(&fx),
        ["record run-resumed", "reconcile rollback:dial-down#2"]
    );
}

#[test]
fn an_aborted_run_rolls_back_what_it_completed_and_a_stop_is_journaled() {
    let mut run = Run::new(ROLLBACK);
    run.send(Input::Start);
    run.ack_all();
    run.send(approve(Some("us-west-2"), None));
    run.ack_all();
    run.send(started("dial-up", 1, &[]));
    run.ack_all();
    run.send(abort("wrong region"));
    run.ack_all();
    assert_eq!(run.engine.rollback_candidates(), [0]);
    run.send(rollback("undo the half-done failover"));
    run.ack_all();
    assert_eq!(run.engine.open_gate().map(|g| g.step), Some(0));
    let fx = run.send(abort("not now"));
    assert_eq!(
        d(&fx),
        [
            "record rollback-stopped",
            "finished Aborted(\"wrong region\")"
        ]
    );
    run.ack_all();
    assert!(matches!(
        run.engine.state().rollback.as_ref().unwrap().ended,
        Some(RollbackEnd::Stopped { .. })
    ));
    assert_eq!(
        run.engine.status(),
        &RunStatus::Aborted("wrong region".into())
    );
}

#[test]
fn a_run_without_completed_inverses_has_nothing_to_roll_back() {
    let mut run = Run::new(ROLLBACK);
    run.send(Input::Start);
    run.ack_all();
    run.send(abort("never mind"));
    run.ack_all();
    assert_eq!(
        d(&run.send(rollback("undo"))),
        ["refused: no completed step declares an `inverse`: nothing to roll back"]
    );
}
