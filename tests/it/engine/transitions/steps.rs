use super::*;

// ---------------------------------------------------------------------------------------------
// Check

#[test]
pub(crate) fn check_passes() {
    let mut run = Run::new(CHECK);
    let fx = run.send(Input::Start);
    assert_eq!(
        d(&fx),
        [
            "record run-started",
            "record step-started confirm-impact",
            "observe db"
        ]
    );
    assert_eq!(run.state(0), StepState::Verifying);
    assert_eq!(run.attempt(0), 1);
    // Another resource's observation is kept (and journaled as a status snapshot, on change
    // only) but decides nothing.
    assert_eq!(
        d(&run.send(observed("other", Health::Impaired))),
        ["record status-snapshot"]
    );
    assert_eq!(
        run.last_record().event.detail().unwrap()["resource"],
        "other"
    );
    assert_eq!(
        run.last_record().event.detail().unwrap()["status"]["health"],
        "impaired"
    );
    assert_eq!(
        d(&run.send(observed("other", Health::Impaired))),
        Vec::<String>::new()
    );
    run.at(3);
    let fx = run.send(observed("db", Health::Unavailable));
    assert_eq!(
        d(&fx),
        [
            "record status-snapshot",
            "record step-succeeded confirm-impact",
            "record run-finished",
            "finished Finished"
        ]
    );
    let succeeded = &run.records[run.records.len() - 2];
    assert_eq!(detail(&succeeded)["observed"], "db is unavailable");
    assert_eq!(detail(&succeeded)["attempt"], 1);
    assert_eq!(
        run.last_record().event.detail().unwrap(),
        json!({"duration_secs": 3})
    );
    assert_eq!(run.state(0), StepState::Done);
    assert_eq!(run.engine.status(), &RunStatus::Finished);
    assert!(run.engine.observation("db").is_some());
    // Acknowledging after the end is harmless; nothing else happens.
    assert_eq!(d(&run.ack_all()), Vec::<String>::new());
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());
    assert_eq!(run.engine.next_wake(), None);
}

#[test]
pub(crate) fn check_fails_and_blocks_the_run() {
    let mut run = Run::new(CHECK);
    run.send(Input::Start);
    let fx = run.send(observed("db", Health::Ok));
    assert_eq!(
        d(&fx),
        [
            "record status-snapshot",
            "record step-failed confirm-impact"
        ]
    );
    assert_eq!(run.state(0), StepState::Failed);
    let why = "db is ok (whatever); expected impaired or unavailable";
    assert_eq!(run.engine.steps()[0].error.as_deref(), Some(why));
    assert_eq!(
        run.engine.status(),
        &RunStatus::Blocked(format!("step `confirm-impact` failed: {why}"))
    );
    assert_eq!(
        run.last_record().event.detail().unwrap(),
        json!({"attempt": 1, "error": why})
    );
    assert_eq!(run.engine.next_wake(), None);
    // Retried by the operator: a record, then observe again.
    let fx = run.send(retry("the dashboard was stale"));
    assert_eq!(
        d(&fx),
        [
            "record step-retried confirm-impact",
            "record step-started confirm-impact",
            "observe db"
        ]
    );
    assert_eq!(
        run.last_of(EventKind::StepRetried).event.detail().unwrap(),
        json!({"attempt": 2, "reason": "the dashboard was stale", "auto": false})
    );
    assert_eq!(
        run.last_record().event.detail().unwrap()["begin"],
        json!(true)
    );
    assert_eq!(run.attempt(0), 2);
    assert_eq!(run.engine.status(), &RunStatus::Running);
    // An observation error fails the check too.
    let fx = run.send(Input::Observed {
        resource: "db".into(),
        status: Err(CloudError::Timeout(5)),
    });
    assert_eq!(d(&fx), ["record step-failed confirm-impact"]);
    assert!(run.engine.steps()[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with("cannot observe db: no answer within 5s"));
}

// ---------------------------------------------------------------------------------------------
// Manual

#[test]
pub(crate) fn a_manual_steps_gate_is_its_one_question() {
    let mut run = Run::new(MANUAL);
    assert_eq!(
        d(&run.send(Input::Start)),
        [
            "record run-started",
            "record step-started decide",
            "record gate-shown decide",
            "show-gate decide"
        ]
    );
    assert_eq!(
        d(&run.send(Input::Start)),
        ["refused: the run has already started"]
    );
    assert_eq!(
        d(&run.send(Input::ManualDone)),
        ["refused: no manual step is in progress"]
    );
    assert_eq!(
        d(&run.send(approve(None, None))),
        ["refused: this gate needs a reason"]
    );
    assert_eq!(
        d(&run.send(approve(None, Some(" \t")))),
        ["refused: this gate needs a reason"]
    );
    // Cancelling is journaled and leaves the gate open.
    assert_eq!(
        d(&run.send(cancel("not yet"))),
        ["record gate-cancelled decide"]
    );
    assert_eq!(
        run.last_record().event.detail().unwrap(),
        json!({"reason": "not yet"})
    );
    assert_eq!(run.state(0), StepState::AwaitingGate);
    assert_eq!(
        d(&run.send(approve(None, Some("IC says go")))),
        ["record gate-approved decide"]
    );
    assert_eq!(
        d(&run.send(Input::ManualDone)),
        ["refused: no manual step is in progress"],
        "not before the approval is durable"
    );
    assert_eq!(d(&run.ack()), Vec::<String>::new());
    assert_eq!(d(&run.ack()), Vec::<String>::new());
    assert_eq!(d(&run.ack()), Vec::<String>::new());
    assert_eq!(d(&run.ack()), Vec::<String>::new()); // gate-cancelled
                                                     // The approval is durable. For a manual step it is the operator's word that the step is
                                                     // done: no second step-started record, and the runtime marks it done without asking again
                                                     // (it times the step first: a drill's quick answer is not a measured duration).
    assert_eq!(d(&run.ack()), ["done-at-gate decide"]);
    assert_eq!(run.state(0), StepState::AwaitingGate);
    run.at(120);
    assert_eq!(
        d(&run.send(Input::ManualDone)),
        [
            "record step-succeeded decide",
            "record run-finished",
            "finished Finished"
        ]
    );
    let started = run
        .records
        .iter()
        .filter(|r| r.kind() == EventKind::StepStarted)
        .count();
    assert_eq!(started, 1, "one step-started record for the step");
    let done = run
        .last_of(EventKind::StepSucceeded)
        .event
        .detail()
        .unwrap();
    assert_eq!(done["note"], "done at its gate");
    assert_eq!(done["attempt"], 1);
    assert_eq!(done["duration_secs"], 120);
    assert_eq!(
        d(&run.send(Input::ManualDone)),
        Vec::<String>::new(),
        "a finished run ignores everything"
    );
}

// ---------------------------------------------------------------------------------------------
// Wait (for / until)

#[test]
pub(crate) fn wait_for_a_fixed_time_then_until_a_condition() {
    let mut run = Run::new(WAITS);
    assert_eq!(
        d(&run.send(Input::Start)),
        ["record run-started", "record step-started ttl"]
    );
    assert_eq!(run.state(0), StepState::Waiting);
    assert_eq!(run.engine.next_wake(), Some(t0() + TimeDelta::minutes(2)));
    run.at(119);
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());
    run.at(120);
    assert_eq!(
        d(&run.send(Input::Tick)),
        [
            "record step-succeeded ttl",
            "record step-started db-healthy",
            "observe db"
        ]
    );
    assert_eq!(run.state(1), StepState::Waiting);
    // Timeout 10m from t0+2m; no poll scheduled until the first observation returns.
    assert_eq!(run.engine.next_wake(), Some(t0() + TimeDelta::minutes(12)));
    run.at(125);
    assert_eq!(
        d(&run.send(observed("db", Health::Impaired))),
        ["record status-snapshot"]
    );
    assert_eq!(
        run.engine.live()[1].last_progress.as_deref(),
        Some("db is impaired (whatever); expected ok")
    );
    assert_eq!(run.engine.next_wake(), Some(t0() + TimeDelta::seconds(140)));
    // A failed observation is not a failed wait: observe again later.
    run.at(140);
    assert_eq!(d(&run.send(Input::Tick)), ["observe db"]);
    assert_eq!(
        d(&run.send(Input::Observed {
            resource: "db".into(),
            status: Err(CloudError::Timeout(5)),
        })),
        Vec::<String>::new()
    );
    run.at(155);
    assert_eq!(d(&run.send(Input::Tick)), ["observe db"]);
    // Unchanged: no status snapshot, no progress.
    assert_eq!(
        d(&run.send(observed("db", Health::Impaired))),
        Vec::<String>::new()
    );
    run.at(170);
    assert_eq!(d(&run.send(Input::Tick)), ["observe db"]);
    run.at(172);
    assert_eq!(
        d(&run.send(observed("db", Health::Ok))),
        [
            "record status-snapshot",
            "record step-succeeded db-healthy",
            "record run-finished",
            "finished Finished"
        ]
    );
}

#[test]
pub(crate) fn wait_until_times_out() {
    let mut run = Run::new(WAITS);
    run.send(Input::Start);
    run.at(120);
    run.send(Input::Tick);
    run.send(observed("db", Health::Impaired));
    let mut t = 120;
    while let Some(w) = run.engine.next_wake() {
        let secs = (w - t0()).num_seconds();
        assert!(secs > t, "time moves forward");
        t = secs;
        run.at(t);
        let fx = run.send(Input::Tick);
        if t == 720 {
            assert_eq!(d(&fx), ["record step-failed db-healthy"]);
            break;
        }
        assert_eq!(d(&fx), ["observe db"]);
        run.send(observed("db", Health::Impaired));
    }
    assert_eq!(t, 720, "the timeout fires 10m after the step began");
    assert_eq!(run.state(1), StepState::Failed);
    assert_eq!(
        run.engine.steps()[1].error.as_deref(),
        Some("timed out after 10m")
    );
    assert_eq!(run.engine.next_wake(), None);
}

// ---------------------------------------------------------------------------------------------
// Command

#[test]
pub(crate) fn command_runs_after_its_intent_and_gives_outputs() {
    let mut run = started_run(COMMAND);
    assert_eq!(
        d(&run.send(approve(None, None))),
        ["record gate-approved flush"]
    );
    assert_eq!(
        run.last_record().event.detail().unwrap()["reason"],
        json!(null)
    );
    assert_eq!(d(&run.ack()), ["record intent flush"]);
    assert_eq!(run.state(0), StepState::Running);
    assert_eq!(
        d(&run.send(skip("nope"))),
        ["refused: a change is in flight; wait for its answer first"]
    );
    let fx = run.ack();
    assert_eq!(d(&fx), ["run-command flush#1"]);
    let Effect::RunCommand {
        command, approval, ..
    } = &fx[0]
    else {
        unreachable!()
    };
    assert_eq!(command, "sync && echo flushed");
    assert_eq!(approval.journal_seq(), 3);
    // Stale answers are ignored.
    assert_eq!(
        d(&run.send(command_done("flush", 2, 0, "x"))),
        Vec::<String>::new()
    );
    assert_eq!(
        d(&run.send(command_done("report", 1, 0, "x"))),
        Vec::<String>::new()
    );
    run.at(4);
    let fx = run.send(command_done("flush", 1, 0, "flushed\n\n"));
    assert_eq!(
        d(&fx),
        [
            "record outcome flush",
            "record step-succeeded flush",
            "record step-started report",
            "record gate-shown report",
            "show-gate report"
        ]
    );
    assert_eq!(
        run.records[run.records.len() - 4].event.detail().unwrap(),
        json!({"ok": true, "attempt": 1, "exit_code": 0, "stdout": "flushed"})
    );
    assert_eq!(run.engine.outputs()["flush"]["stdout"], "flushed");
    assert_eq!(run.engine.outputs()["flush"]["exit_code"], "0");
    // The next command sees those outputs; its expected exit code is 3.
    run.send(approve(None, None));
    let fx = run.ack_all();
    assert_eq!(d(&fx), ["record intent report", "run-command report#1"]);
    let Effect::RunCommand { command, .. } = &fx[1] else {
        unreachable!()
    };
    assert_eq!(command, "echo flushed 0");
    let fx = run.send(command_done("report", 1, 0, ""));
    assert_eq!(
        d(&fx),
        ["record outcome report", "record step-failed report"]
    );
    assert_eq!(
        run.records[run.records.len() - 2].event.detail().unwrap()["ok"],
        false
    );
    assert_eq!(
        run.engine.steps()[1].error.as_deref(),
        Some("exited with 0, expected 3")
    );
    // Retried by the operator: a new intent, then the command again (attempt 2).
    run.ack_all();
    let fx = run.send(retry("fixed the script"));
    assert_eq!(
        d(&fx),
        ["record step-retried report", "record intent report"]
    );
    assert_eq!(d(&run.ack_all()), ["run-command report#2"]);
    let fx = run.send(Input::CommandDone {
        step: "report".into(),
        attempt: 2,
        result: Err("cannot spawn sh".into()),
    });
    assert_eq!(
        d(&fx),
        ["record outcome report", "record step-failed report"]
    );
    assert_eq!(
        run.records[run.records.len() - 2].event.detail().unwrap(),
        json!({"ok": false, "attempt": 2, "error": "cannot spawn sh"})
    );
    let fx = run.send(retry("once more"));
    run.ack_all();
    assert_eq!(d(&fx)[1], "record intent report");
    let fx = run.send(command_done("report", 3, 3, "done"));
    assert_eq!(
        d(&fx),
        [
            "record outcome report",
            "record step-succeeded report",
            "record run-finished",
            "finished Finished"
        ]
    );
    assert_eq!(run.engine.outputs()["report"]["exit_code"], "3");
}
