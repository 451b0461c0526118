//! Regressions from review: timeouts never make a change twice or spin, and an edited runbook
//! does not inherit a journal's approvals.

use std::process::Command;
use std::sync::Arc;

use crate::common::{root, temp_dir};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use pilotlight::engine::{Effect, Engine, GateDecision, Input, RunStatus, StepState};
use pilotlight::model::{CloudError, ResourceStatus};
use pilotlight::runbook::Health;

const RUNBOOK: &str = r#"
runbook: review
title: Review regressions
targets: { rto: 2h }
resources:
  vol: { kind: ebs-volume, region: us-east-1, id: vol-0abc1234 }
steps:
  - id: restore
    kind: action
    action: ebs.restore-volume
    resource: vol
    with: { snapshot: latest, availability_zone: us-east-1a }
    wait_until: available
    timeout: 10m
    retry: { max_attempts: 3, backoff: 1m }
    gate: { confirm: true }
  - id: settle
    kind: wait
    until: { resource: vol, health: [ok] }
    timeout: 5m
    retry: { max_attempts: 2, backoff: 1m }
"#;

struct Run {
    engine: Engine,
    now: DateTime<Utc>,
    pending: usize,
    effects: Vec<Effect>,
}

impl Run {
    fn new() -> Run {
        let rb = Arc::new(pilotlight::runbook::parse(RUNBOOK.as_bytes()).unwrap());
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
        Run {
            engine: Engine::new(rb, "run-review"),
            now,
            pending: 0,
            effects: Vec::new(),
        }
    }
    /// Sends an input, then acknowledges every record until quiet.
    fn send(&mut self, input: Input) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut queue = vec![input];
        while let Some(i) = queue.pop() {
            for e in self.engine.handle(i, self.now) {
                if matches!(e, Effect::Record(_)) {
                    self.pending += 1;
                }
                out.push(e);
            }
            if self.pending > 0 {
                self.pending -= 1;
                queue.push(Input::Recorded);
            }
        }
        self.effects.extend(out.clone());
        out
    }
    fn mutates(&self) -> usize {
        self.effects
            .iter()
            .filter(|e| matches!(e, Effect::Mutate { .. }))
            .count()
    }
    fn at(&mut self, minutes: i64) {
        self.now += TimeDelta::minutes(minutes);
    }
}

fn approve() -> Input {
    Input::Gate(GateDecision {
        approve: true,
        typed: None,
        reason: None,
        unattended: false,
    })
}

#[test]
fn a_timeout_while_the_change_may_be_under_way_blocks_instead_of_sending_another() {
    let mut run = Run::new();
    run.send(Input::Start);
    run.send(approve());
    assert_eq!(run.mutates(), 1);
    // No answer at all for the timeout: the request may still be creating a volume.
    run.at(11);
    run.send(Input::Tick);
    assert!(
        matches!(run.engine.status(), RunStatus::Blocked(why) if why.contains("possibly still under way"))
    );
    // However long we wait, nothing else is sent.
    run.at(60);
    run.send(Input::Tick);
    assert_eq!(run.mutates(), 1);
}

#[test]
fn a_request_that_timed_out_at_the_transport_is_not_retried_with_a_new_token() {
    let mut run = Run::new();
    run.send(Input::Start);
    run.send(approve());
    run.send(Input::Started {
        step: "restore".into(),
        attempt: 1,
        result: Err(CloudError::Timeout(30)),
    });
    assert!(matches!(run.engine.status(), RunStatus::Blocked(_)));
    run.at(5);
    run.send(Input::Tick);
    assert_eq!(run.mutates(), 1);
}

#[test]
fn a_check_backing_off_after_a_timeout_does_not_spin() {
    let mut run = Run::new();
    run.send(Input::Start);
    run.send(approve());
    let ok = pilotlight::model::Started::default();
    run.send(Input::Started {
        step: "restore".into(),
        attempt: 1,
        result: Ok(ok),
    });
    let done = pilotlight::model::Progress {
        state: "available".into(),
        percent: Some(100),
        expected_done: None,
        ..Default::default()
    };
    run.send(Input::Progress {
        step: "restore".into(),
        attempt: 1,
        result: Ok(done),
    });
    assert_eq!(run.engine.steps()[1].state, StepState::Waiting);
    let impaired = ResourceStatus {
        health: Health::Impaired,
        state: "impaired".into(),
        latest_recovery_point: None,
    };
    run.send(Input::Observed {
        resource: "vol".into(),
        status: Ok(impaired),
    });
    run.at(6);
    run.send(Input::Tick); // the wait times out: a retry after the backoff
    assert_eq!(run.engine.steps()[1].state, StepState::Waiting);
    let wake = run.engine.next_wake().unwrap();
    assert!(
        wake > run.now,
        "next wake {wake} is not after now {}: the driver would spin",
        run.now
    );
}

#[test]
fn a_drill_resumed_with_an_edited_runbook_is_refused() {
    let dir = temp_dir("edited");
    let original =
        std::fs::read_to_string(root().join("runbooks/pilot-light-failover.yaml")).unwrap();
    let rb = dir.join("rb.yaml");
    std::fs::write(&rb, &original).unwrap();
    let journal = dir.join("run.jsonl");
    let drill = |runbook: &std::path::Path, extra: &[&str], abort: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pilotlight"));
        c.args([
            "drill",
            runbook.to_str().unwrap(),
            "--unattended",
            "--speed",
            "max",
        ])
        .args(extra);
        if let Some(n) = abort {
            c.env("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS", n);
        }
        c.output().unwrap()
    };
    drill(&rb, &["--journal", journal.to_str().unwrap()], Some("20"));
    let before = std::fs::read(&journal).unwrap();
    std::fs::write(
        &rb,
        original.replace(
            "replica: shop-db-replica-usw2",
            "replica: totally-different-db",
        ),
    )
    .unwrap();
    let out = drill(&rb, &["--resume", journal.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("the runbook changed since this drill started"));
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        before,
        "a refused resume must leave the journal untouched"
    );
    std::fs::write(&rb, &original).unwrap();
    assert_eq!(
        drill(&rb, &["--resume", journal.to_str().unwrap()], None)
            .status
            .code(),
        Some(0)
    );
}
