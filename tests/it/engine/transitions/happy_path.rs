use super::*;

// ---------------------------------------------------------------------------------------------
// Action with wait_until, then action without, then command: the whole happy path.

#[test]
pub(crate) fn action_gate_intent_mutate_outcome_poll_progress_succeeded() {
    let mut run = Run::new(ACTIONS);
    assert_eq!(run.engine.next_wake(), None);
    let fx = run.send(Input::Start);
    assert_eq!(
        d(&fx),
        [
            "record run-started",
            "record step-started restore",
            "record gate-shown restore",
            "show-gate restore",
        ]
    );
    assert_eq!(run.state(0), StepState::AwaitingGate);
    assert_eq!(run.attempt(0), 0);
    assert_eq!(run.engine.status(), &RunStatus::Running);
    let shown = &run.records[2];
    assert_eq!(detail(&shown)["typed"], "vol-0abc1234");
    assert_eq!(detail(&shown)["reason"], "required");
    let preview = detail(&shown)["preview"].as_str().unwrap().to_string();
    assert!(preview.contains("ec2:CreateVolume"), "{preview}");
    assert!(preview.contains("us-west-2"), "{preview}");

    // The gate refuses what does not satisfy it, and writes nothing.
    assert_eq!(
        d(&run.send(approve(Some("vol-0abc123"), Some("primary is down")))),
        ["refused: type `vol-0abc1234` exactly to proceed"]
    );
    assert_eq!(
        d(&run.send(approve(None, Some("primary is down")))),
        ["refused: type `vol-0abc1234` exactly to proceed"]
    );
    assert_eq!(
        d(&run.send(approve(Some("vol-0abc1234"), None))),
        ["refused: this gate needs a reason"]
    );
    assert_eq!(
        d(&run.send(approve(Some("vol-0abc1234"), Some("   ")))),
        ["refused: this gate needs a reason"]
    );
    assert_eq!(run.records.len(), 3);

    // Approval: only the gate-approved record; nothing else until it is durable.
    run.at(10);
    let fx = run.send(approve(Some("vol-0abc1234"), Some("primary is down")));
    assert_eq!(d(&fx), ["record gate-approved restore"]);
    assert_eq!(
        run.last_record().event.detail().unwrap(),
        json!({"typed": "vol-0abc1234", "reason": "primary is down", "unattended": false})
    );
    assert_eq!(run.state(0), StepState::AwaitingGate);
    assert_eq!(
        d(&run.send(approve(Some("vol-0abc1234"), Some("again")))),
        ["refused: the gate is already approved"]
    );
    // Earlier records' acknowledgements do not release anything.
    for _ in 0..3 {
        assert_eq!(d(&run.ack()), Vec::<String>::new());
    }
    assert!(run.engine.approval(0).is_none());
    assert_eq!(run.pending(), 1);

    // The gate-approved record (seq 3) is durable: approval, then the intent, not the change.
    let fx = run.ack();
    assert_eq!(d(&fx), ["record intent restore"]);
    assert_eq!(run.state(0), StepState::Running);
    assert_eq!(run.attempt(0), 1);
    let approval = run.engine.approval(0).unwrap();
    assert_eq!(approval.step(), "restore");
    assert_eq!(approval.journal_seq(), 3);
    assert!(!approval.unattended());
    assert_eq!(
        d(&run.send(approve(Some("vol-0abc1234"), Some("again")))),
        ["refused: no gate is open"]
    );
    let intent = run.last_record().clone();
    assert_eq!(detail(&intent)["attempt"], 1);
    assert_eq!(detail(&intent)["resend"], false);

    // The intent is durable: now, and only now, the change.
    let fx = run.ack();
    assert_eq!(d(&fx), ["mutate restore#1"]);
    let (plan, approval) = mutate_of(&fx);
    assert_eq!(approval.step(), "restore");
    assert_eq!(approval.journal_seq(), 3);
    assert_eq!(plan.token, token(RUN_ID, "restore", 1));
    assert_eq!(plan.target, "vol-0abc1234");
    assert_eq!(plan.region.as_deref(), Some("us-west-2"));
    assert_eq!(detail(&intent)["plan"], serde_json::to_value(plan).unwrap());
    // Timeout counts from the start of the attempt (the approval's acknowledgement at t0+10s).
    assert_eq!(
        run.engine.next_wake(),
        Some(t0() + TimeDelta::seconds(10 + 30 * 60))
    );

    // The change returned: outcome, then a poll of its progress.
    run.at(60);
    let fx = run.send(started(
        "restore",
        1,
        &[("volume_id", "vol-0new"), ("snapshot_id", "snap-1")],
    ));
    assert_eq!(d(&fx), ["record outcome restore", "poll restore#1"]);
    assert_eq!(
        run.last_record().event.detail().unwrap(),
        json!({"ok": true, "attempt": 1, "adopted": false,
               "outputs": {"volume_id": "vol-0new", "snapshot_id": "snap-1"}})
    );
    assert_eq!(run.state(0), StepState::Waiting);
    assert_eq!(run.engine.outputs()["restore"]["volume_id"], "vol-0new");

    // Progress short of the target: nothing written, poll again after POLL_EVERY.
    run.at(70);
    assert_eq!(
        d(&run.send(progress("restore", 1, "creating", Some(40)))),
        Vec::<String>::new()
    );
    assert_eq!(
        run.engine.live()[0].last_progress.as_deref(),
        Some("creating 40%")
    );
    assert_eq!(run.engine.next_wake(), Some(t0() + TimeDelta::seconds(85)));
    run.at(84);
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());
    run.at(85);
    assert_eq!(d(&run.send(Input::Tick)), ["poll restore#1"]);
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());

    // The target state: the step succeeds and the next one opens its gate, with a preview that
    // already names the restored volume.
    run.at(100);
    let fx = run.send(progress("restore", 1, "available", Some(100)));
    assert_eq!(
        d(&fx),
        [
            "record step-succeeded restore",
            "record step-started attach",
            "record gate-shown attach",
            "show-gate attach",
        ]
    );
    assert_eq!(run.state(0), StepState::Done);
    assert_eq!(run.state(1), StepState::AwaitingGate);
    assert_eq!(run.engine.current(), 1);
    let succeeded = &run.records[run.records.len() - 3];
    assert_eq!(detail(&succeeded)["attempt"], 1);
    assert_eq!(detail(&succeeded)["duration_secs"], 100);
    assert_eq!(detail(&succeeded)["state"], "available");
    let preview = run.last_record().event.detail().unwrap()["preview"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(preview.contains("vol-0new"), "{preview}");

    // Action without wait_until: gate → intent → mutate → outcome → succeeded.
    assert_eq!(
        d(&run.send(approve(None, None))),
        ["record gate-approved attach"]
    );
    let approved_seq = run.records.len() as u64 - 1;
    assert_eq!(
        d(&run.ack_all()),
        ["record intent attach", "mutate attach#1"]
    );
    let plan = run.engine.steps()[1].plan.clone().unwrap();
    assert_eq!(plan.params.to_json()["volume_id"], "vol-0new");
    assert_eq!(plan.params.to_json()["instance_id"], "i-0123456789abcdef0");
    assert_eq!(run.engine.approval(1).unwrap().journal_seq(), approved_seq);
    let fx = run.send(started(
        "attach",
        1,
        &[
            ("volume_id", "vol-0new"),
            ("instance_id", "i-0123456789abcdef0"),
        ],
    ));
    assert_eq!(
        d(&fx),
        [
            "record outcome attach",
            "record step-succeeded attach",
            "record step-started announce",
            "record gate-shown announce",
            "show-gate announce",
        ]
    );
    assert_eq!(run.state(1), StepState::Done);

    // Command: the rendered command in the intent, the run only after the intent's ack.
    run.ack_all();
    assert_eq!(
        d(&run.send(approve(None, None))),
        ["record gate-approved announce"]
    );
    assert_eq!(d(&run.ack()), ["record intent announce"]);
    let intent = run.last_of(EventKind::Intent);
    assert_eq!(intent.step.as_deref(), Some("announce"));
    assert_eq!(
        intent.event.detail().unwrap(),
        json!({"attempt": 1, "command": "echo attached vol-0new from snap-1", "resend": false})
    );
    assert_eq!(d(&run.ack()), ["run-command announce#1"]);
    assert_eq!(
        d(&run.send(command_done("announce", 1, 0, "attached\n"))),
        [
            "record outcome announce",
            "record step-succeeded announce",
            "record run-finished",
            "finished Finished"
        ]
    );
    assert_eq!(run.engine.next_wake(), None);
}

#[test]
pub(crate) fn mutate_waits_for_the_intent_ack_even_when_other_records_are_pending() {
    let mut run = Run::new(ACTIONS);
    run.send(Input::Start);
    // Nothing acknowledged yet: the operator approves at once.
    assert_eq!(
        d(&run.send(approve(Some("vol-0abc1234"), Some("go")))),
        ["record gate-approved restore"]
    );
    assert_eq!(d(&run.ack()), Vec::<String>::new()); // run-started
    assert_eq!(d(&run.ack()), Vec::<String>::new()); // step-started
    assert_eq!(d(&run.ack()), Vec::<String>::new()); // gate-shown
    assert_eq!(d(&run.ack()), ["record intent restore"]); // gate-approved
    assert!(run.engine.awaiting_journal());
    // Time passes, the operator presses keys: still no change until the intent is durable.
    run.at(5);
    assert_eq!(d(&run.send(Input::Tick)), Vec::<String>::new());
    assert_eq!(
        d(&run.send(skip("changed my mind"))),
        ["refused: a change is in flight; wait for its answer first"]
    );
    assert_eq!(
        d(&run.send(retry("again"))),
        ["refused: only a failed step can be retried"]
    );
    // An answer to a request never sent is not the engine's business to trust, but an answer to
    // another attempt is always ignored.
    assert_eq!(
        d(&run.send(started("restore", 2, &[]))),
        Vec::<String>::new()
    );
    let fx = run.ack();
    assert_eq!(d(&fx), ["mutate restore#1"]);
    assert!(!run.engine.awaiting_journal());
}

#[test]
pub(crate) fn unattended_approval_is_carried_by_the_capability() {
    let mut run = started_run(COMMAND);
    run.send(Input::Gate(GateDecision {
        approve: true,
        typed: None,
        reason: None,
        unattended: true,
    }));
    assert_eq!(
        run.last_record().event.detail().unwrap()["unattended"],
        true
    );
    let fx = run.ack_all();
    assert_eq!(d(&fx), ["record intent flush", "run-command flush#1"]);
    let Effect::RunCommand {
        approval, command, ..
    } = &fx[1]
    else {
        unreachable!()
    };
    assert!(approval.unattended());
    assert_eq!(approval.step(), "flush");
    assert_eq!(approval.journal_seq(), 3);
    assert_eq!(command, "sync && echo flushed");
}
