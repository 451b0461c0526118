use super::*;

// ---------------------------------------------------------------------------------------------
// Scripted drills through the session loop.

#[test]
pub(crate) fn a_scripted_drill_through_gates_manual_skip_and_abort() {
    let rt = paused_runtime();
    let Drill {
        session,
        world,
        journal,
        view,
    } = drill("scripted", None);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        // A confirm gate on a command step.
        op.at_gate("replica-lag").await;
        op.gate(None, None).await;

        // A gate that needs a reason: without one it is refused and stays open.
        op.at_gate("decide").await;
        op.gate(None, None).await;
        let v = op.until("the refusal", |v| v.notice.is_some()).await;
        assert_eq!(v.notice.as_deref(), Some("this gate needs a reason"));
        assert_eq!(
            (current(&v), state(&v)),
            ("decide", StepState::AwaitingGate)
        );
        op.gate(None, Some("IC: go, replica lag 2s")).await;
        // A manual step's gate is its one question: passing it is the operator's word that the
        // step is done. Nothing asks again.
        // The failover is announced (a confirm gate) before anything is started.
        op.at_gate("notify-start").await;
        op.gate(None, None).await;
        let v = op.at_gate("start-app-1").await;
        assert!(v.notice.is_none());
        let decide = v.runbook.steps.iter().position(|s| s.id == "decide");
        assert_eq!(v.steps[decide.unwrap()].state, StepState::Done);
        op.gate(None, None).await;

        for id in ["start-app-2"] {
            op.at_gate(id).await;
            op.gate(None, None).await;
        }

        // A typed gate: the wrong phrase is refused, the exact one passes.
        let v = op.at_gate("promote-replica").await;
        assert!(v
            .preview
            .as_deref()
            .unwrap()
            .contains("rds:PromoteReadReplica"));
        op.gate(Some("shop-db-replica"), Some("IC approved")).await;
        let v = op.until("the refusal", |v| v.notice.is_some()).await;
        assert_eq!(
            v.notice.as_deref(),
            Some("type `shop-db-replica-usw2` exactly to proceed")
        );
        assert_eq!(state(&v), StepState::AwaitingGate);
        op.gate(Some("shop-db-replica-usw2"), Some("IC approved"))
            .await;

        // Skip a step with a reason (at its gate: nothing was requested).
        op.at_gate("resize-db").await;
        op.send(Command::Skip("resized before the drill".into()))
            .await;
        let v = op.at_gate("configure-app").await;
        let resize = v
            .runbook
            .steps
            .iter()
            .position(|s| s.id == "resize-db")
            .unwrap();
        assert_eq!(v.steps[resize].state, StepState::Skipped);

        // Abort with a reason: the session ends.
        op.send(Command::Abort("tabletop over: time is up".into()))
            .await;
        let v = op
            .until("the abort", |v| matches!(v.status, RunStatus::Aborted(_)))
            .await;
        assert_eq!(
            v.status,
            RunStatus::Aborted("tabletop over: time is up".into())
        );
        // Views only move forward.
        assert!(op.seen.windows(2).all(|w| w[0] <= w[1]), "{:?}", op.seen);
    };
    let ((status, _engine), ()) =
        rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    assert!(matches!(status, RunStatus::Aborted(_)), "{status:?}");

    let records = records(&journal);
    // Every approval came from a person, with what they typed and said.
    let approved: Vec<_> = records
        .iter()
        .filter(|r| r.kind() == EventKind::GateApproved)
        .collect();
    let steps: Vec<_> = approved
        .iter()
        .map(|r| r.step.as_deref().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "replica-lag",
            "decide",
            "notify-start",
            "start-app-1",
            "start-app-2",
            "promote-replica"
        ]
    );
    for r in &approved {
        assert_eq!(detail(&r)["unattended"], false, "{r:?}");
        assert_eq!(r.operator, "alice");
    }
    let promote = of(&records, EventKind::GateApproved, "promote-replica");
    assert_eq!(
        promote[0].event.detail().unwrap()["typed"],
        "shop-db-replica-usw2"
    );
    assert_eq!(promote[0].event.detail().unwrap()["reason"], "IC approved");
    assert_eq!(
        of(&records, EventKind::GateApproved, "decide")[0]
            .event
            .detail()
            .unwrap()["reason"],
        "IC: go, replica lag 2s"
    );
    assert_eq!(of(&records, EventKind::StepSucceeded, "decide").len(), 1);
    let skipped = of(&records, EventKind::StepSkipped, "resize-db");
    assert_eq!(
        skipped[0].event.detail().unwrap()["reason"],
        "resized before the drill"
    );
    let aborted: Vec<_> = records
        .iter()
        .filter(|r| r.kind() == EventKind::RunAborted)
        .collect();
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        aborted[0].event.detail().unwrap()["reason"],
        "tabletop over: time is up"
    );
    assert_eq!(records.last().unwrap().kind(), EventKind::RunAborted);
    // Each change requested exactly once, each after its intent was durable.
    let made = world.requests();
    assert_eq!(made.len(), 4, "{made:?}");
    for step in [
        "notify-start",
        "start-app-1",
        "start-app-2",
        "promote-replica",
    ] {
        let gate = of(&records, EventKind::GateApproved, step)[0].seq;
        let intent = of(&records, EventKind::Intent, step);
        assert_eq!(intent.len(), 1, "{step}");
        assert!(intent[0].seq > gate, "{step}: intent before its approval");
    }
    // Nothing was asked of the steps after the abort.
    assert!(of(&records, EventKind::StepStarted, "check-app-1").is_empty());
}

#[test]
pub(crate) fn a_blocked_step_is_retried_with_a_reason_and_the_run_goes_on() {
    let scenario = "scenario: no-capacity
regions: { us-east-1: unavailable }
faults:
  - step: start-app-1
    fail_times: 3
    error: \"InsufficientInstanceCapacity: no m6i.xlarge capacity in us-west-2a\"
";
    let rt = paused_runtime();
    let Drill {
        session,
        journal,
        view,
        ..
    } = drill("retry", Some(scenario));
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        op.at_gate("replica-lag").await;
        op.gate(None, None).await;
        op.at_gate("decide").await;
        op.gate(None, Some("go")).await;
        // The failover is announced (a confirm gate) before anything is started.
        op.at_gate("notify-start").await;
        op.gate(None, None).await;
        op.at_gate("start-app-1").await;
        op.gate(None, None).await;
        // Three attempts (the step's retry policy), then the run waits for a person.
        let v = op
            .until("the block", |v| matches!(v.status, RunStatus::Blocked(_)))
            .await;
        assert_eq!(current(&v), "start-app-1");
        assert_eq!(state(&v), StepState::Failed);
        assert_eq!(v.steps[v.current].attempt, 3);
        assert!(v.steps[v.current]
            .error
            .as_deref()
            .unwrap()
            .contains("InsufficientInstanceCapacity"));
        // Blocked, simulated time does not run away: the session waits for the operator.
        let at = v.now;
        let v = op
            .until("a later view", |w| w.version > v.version + 50)
            .await;
        assert!(v.now - at < TimeDelta::seconds(5), "{} → {}", at, v.now);
        // Retry with a reason; the fault is used up, the step gets done.
        op.send(Command::Retry("capacity reserved in us-west-2a".into()))
            .await;
        let v = op.at_gate("start-app-2").await;
        assert_eq!(v.status, RunStatus::Running);
        assert_eq!(v.steps[4].state, StepState::Done);
        // The operator walks away: the session ends when the console goes.
        drop(op);
    };
    let ((status, _engine), ()) =
        rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    assert_eq!(status, RunStatus::Running);
    let records = records(&journal);
    let retried = of(&records, EventKind::StepRetried, "start-app-1");
    assert!(retried
        .iter()
        .any(|r| detail(&r)["reason"] == "capacity reserved in us-west-2a"));
    assert_eq!(of(&records, EventKind::StepFailed, "start-app-1").len(), 1);
    assert_eq!(
        of(&records, EventKind::StepSucceeded, "start-app-1").len(),
        1
    );
    assert_eq!(of(&records, EventKind::Intent, "start-app-1").len(), 4);
    // The run did not end: a later drill can resume it.
    assert!(!records
        .iter()
        .any(|r| matches!(r.kind(), EventKind::RunFinished | EventKind::RunAborted)));
}

#[test]
pub(crate) fn a_drill_run_run_to_the_end_by_a_person_finishes_and_verifies() {
    let rt = paused_runtime();
    let Drill {
        session,
        journal,
        view,
        ..
    } = drill("finish", None);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        loop {
            let v = op
                .until("the operator being needed", |v| {
                    v.status == RunStatus::Finished
                        || state(v) == StepState::AwaitingGate
                        || (state(v) == StepState::Running
                            && matches!(v.runbook.steps[v.current].body, StepBody::Manual))
                })
                .await;
            if v.status == RunStatus::Finished {
                break;
            }
            let step = &v.runbook.steps[v.current];
            if state(&v) == StepState::AwaitingGate {
                let gate = step.gate.clone().unwrap();
                op.gate(gate.typed.as_deref(), Some("drill")).await;
            } else {
                op.send(Command::ManualDone).await;
            }
            // Wait until the session took it in (the step moved on or changed state).
            let (i, s) = (v.current, state(&v));
            op.until("the command to land", |w| {
                w.current != i || state(w) != s || w.status == RunStatus::Finished
            })
            .await;
        }
    };
    let ((status, _engine), ()) =
        rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    assert_eq!(status, RunStatus::Finished);
    let records = records(&journal);
    assert_eq!(records.last().unwrap().kind(), EventKind::RunFinished);
    let gated = load().steps.iter().filter(|s| s.gate.is_some()).count();
    let approved: Vec<_> = records
        .iter()
        .filter(|r| r.kind() == EventKind::GateApproved)
        .collect();
    assert_eq!(approved.len(), gated);
    assert!(approved.iter().all(|r| detail(&r)["unattended"] == false));
    // The cutover's approval records the before -> after the operator was shown at its gate.
    let shift = of(&records, EventKind::GateApproved, "shift-dns");
    assert_eq!(
        shift[0].event.detail().unwrap()["seen"],
        r#"weights: {"pilot-light-usw2":0,"primary-use1":100} -> {"pilot-light-usw2":100,"primary-use1":0}"#
    );
    let promote = of(&records, EventKind::GateApproved, "promote-replica");
    assert!(
        promote[0].event.detail().unwrap().get("seen").is_none(),
        "not a cutover"
    );
}

#[test]
pub(crate) fn watch_mode_backend_refuses_every_change() {
    let rt = paused_runtime();
    let runbook = load();
    let world = ReadOnly(SimWorld::new(
        runbook.clone(),
        sim::default_for(&runbook),
        t0(),
    ));
    // Drive a drill against the refusing backend: the approved change is never made.
    let path = temp_dir("read-only").join("j.jsonl");
    let estimate = estimate_rto(&runbook, &BTreeMap::new());
    let view = RunView::new(
        runbook.clone(),
        ViewMode::ReadOnly,
        "alice",
        "x",
        estimate.clone(),
        t0(),
    );
    let session = session_over(
        Engine::new(runbook.clone(), "ro"),
        Journal::create(&path, "alice", &runbook.id, Mode::Drill).unwrap(),
        world,
        PacedClock::new(t0(), None),
        &view,
    );
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        op.at_gate("replica-lag").await;
        op.gate(None, None).await;
        // A command is a change too: it is not run.
        let v = op
            .until("the refusal to run the command", |v| {
                current(v) == "replica-lag" && v.steps[v.current].state == StepState::Failed
            })
            .await;
        let error = v.steps[v.current].error.clone().unwrap();
        assert!(error.contains("read-only"), "{error}");
        op.send(Command::Skip("read-only".into())).await;
        op.at_gate("decide").await;
        op.gate(None, Some("go")).await;
        // A notification is not sent either.
        op.at_gate("notify-start").await;
        op.gate(None, None).await;
        let v = op
            .until("the refusal to publish", |v| {
                current(v) == "notify-start" && v.steps[v.current].error.is_some()
            })
            .await;
        let error = v.steps[v.current].error.clone().unwrap();
        assert!(error.contains("read-only"), "{error}");
        op.send(Command::Skip("read-only".into())).await;
        op.at_gate("start-app-1").await;
        op.gate(None, None).await;
        let v = op
            .until("the refusal to fail the step", |v| {
                current(v) == "start-app-1" && v.steps[v.current].error.is_some()
            })
            .await;
        let error = v.steps[v.current].error.clone().unwrap();
        assert!(error.contains("read-only"), "{error}");
        drop(op);
    };
    rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    let records = records(&path);
    for step in ["replica-lag", "start-app-1"] {
        let outcomes = of(&records, EventKind::Outcome, step);
        assert!(!outcomes.is_empty(), "{step}");
        assert!(outcomes.iter().all(|r| r
            .event
            .detail()
            .unwrap()
            .to_string()
            .contains("read-only")));
    }
    let outcomes = of(&records, EventKind::Outcome, "start-app-1");
    assert!(outcomes
        .iter()
        .all(|r| r.event.detail().unwrap().to_string().contains("read-only")));
}
