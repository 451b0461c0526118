use super::*;

// ---------------------------------------------------------------------------------------------
// Retries, backoff, timeouts

#[test]
pub(crate) fn auto_retry_waits_for_the_backoff_then_tries_again_under_the_same_approval() {
    let mut run = started_run(RETRYING);
    run.send(approve(Some("us-west-2"), None));
    let fx = run.ack_all();
    assert_eq!(d(&fx), ["record intent dial", "mutate dial#1"]);
    let first = mutate_of(&fx).0.clone();
    assert_eq!(first.region.as_deref(), Some("us-west-2"));
    let approval_seq = mutate_of(&fx).1.journal_seq();

    run.at(30);
    let fx = run.send(start_failed("dial", 1));
    assert_eq!(d(&fx), ["record outcome dial", "record step-retried dial"]);
    let outcome = &run.records[run.records.len() - 2];
    assert_eq!(detail(&outcome)["ok"], false);
    assert_eq!(
        run.last_record().event.detail().unwrap(),
        json!({"attempt": 2, "after": "InsufficientCapacity: simulated", "auto": true, "backoff_secs": 120})
    );
    assert_eq!(run.state(0), StepState::Waiting);
    assert_eq!(run.attempt(0), 1);
    assert_eq!(run.engine.status(), &RunStatus::Running);
    assert_eq!(run.engine.next_wake(), Some(t0() + TimeDelta::seconds(150)));
    // A late answer of the failed attempt's kind, for another attempt: ignored.
    assert_eq!(d(&run.send(started("dial", 2, &[]))), Vec::<String>::new());
    run.ack_all();
    run.at(149);
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());
    run.at(150);
    assert_eq!(d(&run.send(Input::Tick)), ["record intent dial"]);
    assert_eq!(run.attempt(0), 2);
    assert_eq!(run.state(0), StepState::Running);
    assert_eq!(run.engine.steps()[0].error, None);
    let fx = run.ack();
    assert_eq!(d(&fx), ["mutate dial#2"]);
    let (second, approval) = mutate_of(&fx);
    assert_eq!(approval.journal_seq(), approval_seq, "no second gate");
    assert_eq!(second.token, token(RUN_ID, "dial", 2));
    assert_ne!(second.token, first.token);
    // The stale answer of attempt 1 is ignored now.
    assert_eq!(d(&run.send(started("dial", 1, &[]))), Vec::<String>::new());

    run.at(160);
    assert_eq!(
        d(&run.send(start_failed("dial", 2))),
        ["record outcome dial", "record step-retried dial"]
    );
    run.ack_all();
    run.at(280);
    assert_eq!(d(&run.send(Input::Tick)), ["record intent dial"]);
    assert_eq!(d(&run.ack()), ["mutate dial#3"]);
    // Attempts exhausted: the step fails and the operator decides.
    run.at(290);
    assert_eq!(
        d(&run.send(start_failed("dial", 3))),
        ["record outcome dial", "record step-failed dial"]
    );
    assert_eq!(run.state(0), StepState::Failed);
    assert!(matches!(run.engine.status(), RunStatus::Blocked(_)));
    assert_eq!(run.engine.next_wake(), None);
    run.at(10_000);
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());
    // The operator retries past max_attempts: attempt 4 under the same approval.
    run.ack_all();
    assert_eq!(
        d(&run.send(retry("capacity is back"))),
        ["record step-retried dial", "record intent dial"]
    );
    let fx = run.ack_all();
    assert_eq!(d(&fx), ["mutate dial#4"]);
    assert_eq!(mutate_of(&fx).1.journal_seq(), approval_seq);
    assert_eq!(
        d(&run.send(started("dial", 4, &[]))),
        [
            "record outcome dial",
            "record step-succeeded dial",
            "record step-started after",
            "await-operator after"
        ]
    );
}

#[test]
pub(crate) fn action_times_out_while_waiting_for_its_target_state() {
    let mut run = started_run(TIMEOUTS);
    run.at(60);
    run.send(approve(None, None));
    run.ack_all();
    run.send(started("restore", 1, &[("volume_id", "vol-1")]));
    // Deadline: 10m after the attempt began at t0+60s.
    assert_eq!(run.engine.next_wake(), Some(t0() + TimeDelta::seconds(660)));
    run.at(100);
    run.send(progress("restore", 1, "creating", None));
    assert_eq!(run.engine.next_wake(), Some(t0() + TimeDelta::seconds(115)));
    // A failed poll is noted and journaled as an error, not a failure.
    run.at(115);
    assert_eq!(d(&run.send(Input::Tick)), ["poll restore#1"]);
    assert_eq!(
        d(&run.send(Input::Progress {
            step: "restore".into(),
            attempt: 1,
            result: Err(CloudError::Timeout(10)),
        })),
        ["record error restore"]
    );
    assert_eq!(run.state(0), StepState::Waiting);
    run.at(659);
    run.send(Input::Tick);
    run.at(660);
    let fx = run.send(Input::Tick);
    assert_eq!(d(&fx), ["record step-failed restore"]);
    // The change may still be under way: the operator decides, no new attempt is made.
    let error = run.engine.steps()[0].error.clone().unwrap_or_default();
    assert!(
        error.starts_with("timed out after 10m with the change possibly still under way"),
        "{error}"
    );
    // A progress report after the timeout changes nothing.
    assert_eq!(
        d(&run.send(progress("restore", 1, "available", None))),
        Vec::<String>::new()
    );
    assert_eq!(run.state(0), StepState::Failed);
}

#[test]
pub(crate) fn a_change_that_ends_in_a_failed_state_fails_the_attempt() {
    let mut run = started_run(TIMEOUTS);
    run.send(approve(None, None));
    run.ack_all();
    run.send(started("restore", 1, &[("volume_id", "vol-1")]));
    let fx = run.send(progress("restore", 1, "error", None));
    assert_eq!(d(&fx), ["record step-failed restore"]);
    assert_eq!(
        run.engine.steps()[0].error.as_deref(),
        Some("the change ended in state `error`")
    );
}

// ---------------------------------------------------------------------------------------------
// Operator skip / retry / abort

#[test]
pub(crate) fn operator_commands_need_a_reason() {
    let mut run = started_run(RETRYING);
    for input in [
        skip(""),
        skip("  "),
        retry(""),
        retry("\n"),
        abort(""),
        abort(" "),
    ] {
        let fx = run.send(input.clone());
        assert_eq!(fx.len(), 1, "{input:?}");
        assert!(
            matches!(&fx[0], Effect::Refused(why) if why.starts_with("say why you")),
            "{input:?}: {fx:?}"
        );
    }
    assert_eq!(run.records.len(), 3, "refusals write nothing");
    assert_eq!(run.state(0), StepState::AwaitingGate);
    assert_eq!(run.engine.status(), &RunStatus::Running);
}

#[test]
pub(crate) fn skip_a_gated_step_then_abort() {
    let mut run = started_run(RETRYING);
    let fx = run.send(skip("dial already at 100"));
    assert_eq!(
        d(&fx),
        [
            "record step-skipped dial",
            "record step-started after",
            "await-operator after"
        ]
    );
    assert_eq!(
        run.records[3].event.detail().unwrap(),
        json!({"reason": "dial already at 100"})
    );
    assert_eq!(run.state(0), StepState::Skipped);
    assert_eq!(run.state(1), StepState::Running);
    let fx = run.send(abort("incident over"));
    assert_eq!(
        d(&fx),
        [
            "record run-aborted after",
            "finished Aborted(\"incident over\")"
        ]
    );
    assert_eq!(run.state(1), StepState::Aborted);
    assert_eq!(
        run.engine.status(),
        &RunStatus::Aborted("incident over".into())
    );
    // After the end, nothing is accepted or produced.
    for input in [
        Input::ManualDone,
        Input::Tick,
        skip("x"),
        retry("x"),
        abort("x"),
        approve(None, None),
    ] {
        assert_eq!(d(&run.send(input)), Vec::<String>::new());
    }
}

#[test]
pub(crate) fn skip_a_failed_step_and_retry_only_failed_steps() {
    let mut run = started_run(RETRYING);
    assert_eq!(
        d(&run.send(retry("why not"))),
        ["refused: only a failed step can be retried"]
    );
    run.send(approve(Some("us-west-2"), None));
    run.ack_all();
    run.send(start_failed("dial", 1));
    run.ack_all();
    // In the backoff: neither failed nor in flight: it can be skipped but not retried.
    assert_eq!(
        d(&run.send(retry("hurry"))),
        ["refused: only a failed step can be retried"]
    );
    let fx = run.send(skip("dial by hand in the console"));
    assert_eq!(
        d(&fx),
        [
            "record step-skipped dial",
            "record step-started after",
            "await-operator after"
        ]
    );
    assert_eq!(run.engine.next_wake(), None);
    // The backoff no longer fires.
    run.at(3600);
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());
    assert_eq!(run.attempt(0), 1);
}

#[test]
pub(crate) fn skipping_a_blocked_step_resumes_the_run() {
    let mut run = Run::new(CHECK);
    run.send(Input::Start);
    run.send(observed("db", Health::Ok));
    assert!(matches!(run.engine.status(), RunStatus::Blocked(_)));
    let fx = run.send(skip("we know it is down"));
    assert_eq!(
        d(&fx),
        [
            "record step-skipped confirm-impact",
            "record run-finished",
            "finished Finished"
        ]
    );
    assert_eq!(run.engine.status(), &RunStatus::Finished);
    assert_eq!(run.state(0), StepState::Skipped);
}

// ---------------------------------------------------------------------------------------------
// Stale answers

#[test]
pub(crate) fn stale_answers_are_ignored() {
    let mut run = started_run(ACTIONS);
    run.send(approve(Some("vol-0abc1234"), Some("go")));
    run.ack_all();
    let before = run.engine.state().clone();
    let stale = [
        started("restore", 0, &[("volume_id", "vol-stale")]),
        started("restore", 2, &[("volume_id", "vol-stale")]),
        started("attach", 1, &[]),
        start_failed("restore", 2),
        progress("restore", 2, "available", None),
        progress("attach", 1, "available", None),
        command_done("restore", 2, 0, ""),
        command_done("announce", 1, 0, ""),
        Input::Reconciled {
            step: "restore".into(),
            attempt: 7,
            result: Ok(None),
        },
    ];
    for input in &stale {
        assert_eq!(
            d(&run.send(input.clone())),
            Vec::<String>::new(),
            "{input:?}"
        );
    }
    assert_eq!(run.engine.state().clone(), before);
    assert_eq!(run.engine.outputs().get("restore"), None);
    // The real answer still works.
    assert_eq!(
        d(&run.send(started("restore", 1, &[("volume_id", "vol-1")]))),
        ["record outcome restore", "poll restore#1"]
    );
    // A progress report for the current attempt while no target is awaited is ignored too.
    let before = run.engine.state().clone();
    for input in stale {
        assert_eq!(
            d(&run.send(input.clone())),
            Vec::<String>::new(),
            "{input:?}"
        );
    }
    assert_eq!(run.engine.state().clone(), before);
}

// ---------------------------------------------------------------------------------------------
// Journal failure

#[test]
pub(crate) fn journal_failure_before_the_approval_is_durable_stops_everything() {
    let mut run = started_run(ACTIONS);
    run.send(approve(Some("vol-0abc1234"), Some("go")));
    let fx = run.send(Input::JournalFailed("disk full".into()));
    assert_eq!(d(&fx), ["finished Aborted(\"journal failure: disk full\")"]);
    assert_eq!(
        run.engine.status(),
        &RunStatus::Aborted("journal failure: disk full".into())
    );
    assert!(!run.engine.awaiting_journal());
    // Even if the runtime later claims the record made it, nothing is minted or sent.
    assert_eq!(d(&run.send(Input::Recorded)), Vec::<String>::new());
    assert!(run.engine.approval(0).is_none());
    for input in [
        approve(Some("vol-0abc1234"), Some("go")),
        Input::Tick,
        Input::Start,
        Input::Resume,
        retry("x"),
        started("restore", 1, &[]),
    ] {
        assert_eq!(d(&run.send(input)), Vec::<String>::new());
    }
    assert_eq!(run.engine.next_wake(), None);
}

#[test]
pub(crate) fn journal_failure_with_the_intent_pending_sends_no_change() {
    let mut run = started_run(ACTIONS);
    run.send(approve(Some("vol-0abc1234"), Some("go")));
    assert_eq!(d(&run.ack()), ["record intent restore"]);
    assert_eq!(
        d(&run.send(Input::JournalFailed("EIO".into()))),
        ["finished Aborted(\"journal failure: EIO\")"]
    );
    assert_eq!(d(&run.send(Input::Recorded)), Vec::<String>::new());
    assert_eq!(run.state(0), StepState::Running);
}

// ---------------------------------------------------------------------------------------------
// Step outputs

#[test]
pub(crate) fn outputs_flow_into_later_plans_and_commands() {
    let mut run = started_run(ACTIONS);
    run.send(approve(Some("vol-0abc1234"), Some("go")));
    run.ack_all();
    run.send(started(
        "restore",
        1,
        &[("volume_id", "vol-0feed"), ("snapshot_id", "snap-0beef")],
    ));
    run.send(progress("restore", 1, "available", None));
    run.ack_all();
    run.send(approve(None, None));
    let fx = run.ack_all();
    let (plan, _) = mutate_of(&fx);
    assert_eq!(plan.step, "attach");
    assert_eq!(
        plan.params.to_json(),
        json!({"region": "us-west-2", "volume_id": "vol-0feed",
               "instance_id": "i-0123456789abcdef0", "device": "/dev/sdf"})
    );
    let ActionParams::AttachVolume(attach) = &plan.params else {
        panic!("{plan:?}")
    };
    assert_eq!(attach.volume_id, "vol-0feed");
    // The intent journals the filled-in plan.
    assert_eq!(
        run.last_of(EventKind::Intent).event.detail().unwrap()["plan"]["params"]["volume_id"],
        "vol-0feed"
    );
    run.send(started("attach", 1, &[("volume_id", "vol-0feed")]));
    run.send(approve(None, None));
    let fx = run.ack_all();
    let Some(Effect::RunCommand { command, .. }) = fx.last() else {
        panic!("{fx:?}")
    };
    assert_eq!(command, "echo attached vol-0feed from snap-0beef");
}

#[test]
pub(crate) fn an_output_that_never_came_fails_the_step_without_a_change() {
    let mut run = started_run(ACTIONS);
    run.send(skip("volume restored by hand"));
    let shown = run.last_of(EventKind::GateShown).clone();
    assert_eq!(shown.step.as_deref(), Some("attach"));
    let preview = detail(&shown)["preview"].as_str().unwrap().to_string();
    assert!(
        preview.starts_with("cannot prepare the request yet"),
        "{preview}"
    );
    run.ack_all();
    run.send(approve(None, None));
    let fx = run.ack_all();
    assert_eq!(d(&fx), ["record step-failed attach"]);
    assert_eq!(
        run.engine.steps()[1].error.as_deref(),
        Some("cannot prepare the request: step `restore` gave no output `volume_id`")
    );
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Mutate { .. } | Effect::RunCommand { .. })));
}

// ---------------------------------------------------------------------------------------------
// Regressions: engine bugs these tables once found, kept as minimal reproductions.

/// A slow journal: the intent is still not durable when the step's timeout fires. The attempt is
/// declared failed (the run blocks), yet acknowledging the old intent afterwards still sends the
/// change. Expected: no `Mutate` for an attempt that already failed.
#[test]
pub(crate) fn no_change_is_sent_for_an_attempt_that_already_timed_out() {
    let mut run = started_run(TIMEOUTS);
    run.send(approve(None, None));
    assert_eq!(d(&run.ack()), ["record intent restore"]);
    run.at(600);
    assert_eq!(d(&run.send(Input::Tick)), ["record step-failed restore"]);
    assert_eq!(d(&run.ack_all()), Vec::<String>::new());
}

pub(crate) const SLOW_JOURNAL: &str = r#"
runbook: engine-slow-journal
title: Timeouts and retries
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
  - id: flush
    kind: command
    run: sync
    timeout: 5m
    retry: { max_attempts: 2, backoff: 1m }
    gate: { confirm: true }
"#;

/// A slow journal again, with retries: intent #1 is not durable when attempt 1 times out; after
/// the backoff attempt 2 writes intent #2. Then intent #1 becomes durable, and its
/// acknowledgement sends the step's *current* plan — attempt 2's, whose intent is not durable
/// yet (the write-ahead rule broken). Intent #2's acknowledgement then sends it a second time.
/// Expected: nothing on intent #1's ack; one `mutate dial#2` on intent #2's.
#[test]
pub(crate) fn a_late_intent_ack_does_not_release_the_next_attempts_change() {
    let mut run = started_run(SLOW_JOURNAL);
    run.send(approve(None, None));
    assert_eq!(d(&run.ack()), ["record intent dial"]);
    run.at(300);
    assert_eq!(d(&run.send(Input::Tick)), ["record step-retried dial"]);
    run.at(360);
    assert_eq!(d(&run.send(Input::Tick)), ["record intent dial"]);
    assert_eq!(run.attempt(0), 2);
    // Intent #1 is durable now.
    assert_eq!(d(&run.ack()), Vec::<String>::new());
}

/// The same with a command: intent #1's late acknowledgement emits `RunCommand` labelled
/// attempt 2 before intent #2 is durable, and intent #2's ack runs the command again.
#[test]
pub(crate) fn a_late_intent_ack_does_not_run_the_next_attempts_command() {
    let mut run = started_run(SLOW_JOURNAL);
    run.send(skip("dial set by hand"));
    run.ack_all();
    run.send(approve(None, None));
    assert_eq!(d(&run.ack()), ["record intent flush"]);
    run.at(300);
    assert_eq!(d(&run.send(Input::Tick)), ["record step-retried flush"]);
    run.at(360);
    assert_eq!(d(&run.send(Input::Tick)), ["record intent flush"]);
    assert_eq!(d(&run.ack()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// A change with no answer, across a crash

/// A change request that got no answer may have happened: live, the step fails for the operator
/// to check, never retried automatically. A crash after the outcome was journaled but before the
/// failure was must come back the same way, not as an automatic retry with a new token (which,
/// for a launch, would be a second instance).
#[test]
pub(crate) fn a_change_with_no_answer_is_not_retried_after_a_crash_before_its_failure() {
    let mut run = started_run(RETRYING);
    run.send(approve(Some("us-west-2"), None));
    run.ack_all();
    let fx = run.send(Input::Started {
        step: "dial".into(),
        attempt: 1,
        result: Err(CloudError::Timeout(20)),
    });
    assert_eq!(d(&fx), ["record outcome dial", "record step-failed dial"]);
    assert_eq!(run.state(0), StepState::Failed);

    // The crash: the outcome is in the journal, the step failure is not.
    let kept = run.records.len() - 1;
    use pilotlight::audit::{Mode, Record};
    let records: Vec<Record> = run.records[..kept]
        .iter()
        .enumerate()
        .map(|(seq, e)| Record {
            seq: seq as u64,
            at: e.at,
            operator: "tester".into(),
            runbook: "engine-retry".into(),
            mode: Mode::Live,
            step: e.step.clone(),
            event: e.event.clone(),
            prev: "prev".into(),
            hash: "hash".into(),
        })
        .collect();
    let runbook = Arc::new(run.engine.runbook().clone());
    let mut engine = Engine::from_records(runbook, &records).unwrap();
    let fx = engine.handle(Input::Resume, run.now);
    let said = d(&fx);
    assert!(
        said.iter().any(|e| e == "record step-failed dial"),
        "the resumed run fails the step as the live run did: {said:?}"
    );
    assert!(
        !said
            .iter()
            .any(|e| e.contains("intent") || e.contains("retried")),
        "nothing is sent again: {said:?}"
    );
    assert_eq!(engine.steps()[0].state, StepState::Failed);
}
