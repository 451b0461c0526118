use super::*;

// ---------------------------------------------------------------------------------------------
// CloudFormation deployments: only the change set shown at the gate runs

const DEPLOYS: &str = r#"runbook: deploys
title: Deploys
targets: { rto: 1h }
resources:
  stack: { kind: cloudformation-stack, region: us-west-2, id: app-dr }
steps:
  - id: deploy
    kind: action
    title: Deploy
    action: cloudformation.deploy
    resource: stack
    with: { template: app.template }
    wait_until: complete
    gate: { confirm: true }
"#;

/// What the cloud's look at the gate says for `attempt` (its change set is named after the
/// attempt's token).
fn shown(attempt: u32) -> Input {
    Input::LivePreview {
        step: "deploy".into(),
        attempt,
        preview: format!(
            "change set {} for stack app-dr: 1 change(s)\n  + Add     Queue (AWS::SQS::Queue)",
            token(RUN_ID, "deploy", attempt)
        ),
    }
}

#[test]
fn a_deployment_is_approved_only_once_its_change_set_is_shown_and_a_retry_shows_the_next() {
    let mut run = started_run(DEPLOYS);
    assert_eq!(run.state(0), StepState::AwaitingGate);
    // Before the change set is shown, Proceed would run something nobody saw.
    let fx = run.send(approve(None, None));
    assert_eq!(
        d(&fx),
        ["refused: wait: the change set this approval would run is not shown yet"]
    );
    // A look for another attempt is not this one's.
    run.send(shown(2));
    assert_eq!(
        d(&run.send(approve(None, None))),
        ["refused: wait: the change set this approval would run is not shown yet"]
    );
    run.send(shown(1));
    run.send(approve(None, None));
    let fx = run.ack_all();
    let (plan, _) = mutate_of(&fx);
    assert_eq!(plan.token, token(RUN_ID, "deploy", 1));
    let approved = detail(run.last_of(EventKind::GateApproved));
    assert!(
        approved["seen"]
            .as_str()
            .unwrap()
            .contains(&token(RUN_ID, "deploy", 1)),
        "{approved}"
    );
    // The execution fails: a retry is a new change set, so the gate opens again to show it.
    run.send(start_failed("deploy", 1));
    run.ack_all();
    assert_eq!(run.state(0), StepState::Failed);
    let fx = run.send(retry("fixed the template's role name"));
    assert_eq!(
        d(&fx),
        [
            "record step-retried deploy",
            "record gate-shown deploy",
            "show-gate deploy"
        ]
    );
    run.ack_all();
    assert_eq!(
        d(&run.send(approve(None, None))),
        ["refused: wait: the change set this approval would run is not shown yet"]
    );
    run.send(shown(2));
    run.send(approve(None, None));
    let fx = run.ack_all();
    assert_eq!(mutate_of(&fx).0.token, token(RUN_ID, "deploy", 2));
}

#[test]
fn the_runs_own_facts_fill_instructions_and_requests_alike() {
    const NOTIFY: &str = r#"runbook: notify
title: Notify
targets: { rto: 1h30m }
resources:
  status: { kind: sns-topic, region: us-west-2, id: "arn:aws:sns:us-west-2:111122223333:dr" }
steps:
  - id: tell
    kind: action
    title: Tell
    action: sns.publish
    resource: status
    with: { message: "run {{run.id}} at {{run.step}}, {{run.elapsed}} in, RTO {{run.rto}}" }
    instructions: "announces run {{run.id}}"
    gate: { confirm: true }
"#;
    let mut run = started_run(NOTIFY);
    run.at(150);
    run.send(approve(None, None));
    let fx = run.ack_all();
    let (plan, _) = mutate_of(&fx);
    let ActionParams::SnsPublish(p) = &plan.params else {
        panic!("{plan:?}")
    };
    assert_eq!(p.message, "run run-1 at tell, 2m30s in, RTO 1h30m");
    // What the console shows the operator is filled from the same facts.
    let step = &run.engine.runbook().steps[0];
    let shown = step.instructions.as_ref().unwrap();
    assert_eq!(
        shown.render(&run.engine.outputs_with_run(None)).unwrap(),
        "announces run run-1"
    );
    // An unknown fact is a located error when the runbook loads.
    let bad = NOTIFY.replace("{{run.rto}}", "{{run.target}}");
    let err = pilotlight::runbook::parse(bad.as_bytes()).unwrap_err();
    let d = &err.diagnostics()[0];
    assert!(d.message.contains("is not a reference"), "{d:?}");
    assert_eq!((d.pos.line, d.pos.col), (12, 79), "{d:?}");
    assert!(
        d.hint
            .as_deref()
            .unwrap()
            .contains("`{{run.FACT}}` (`id`, `step`, `elapsed`, `rto`)"),
        "{d:?}"
    );
}
