//! Engine transition tables (design §8.2): every step kind driven by hand with explicit inputs and
//! a fixed clock, every journal record acknowledged explicitly, and the exact effects asserted.

use crate::common::detail;

use crate::common::t0;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use pilotlight::audit::{Entry, EventKind};
use pilotlight::engine::{Approval, Effect, Engine, GateDecision, Input, RunStatus, StepState};
use pilotlight::model::token;
use pilotlight::model::ActionPlan;
use pilotlight::model::{CloudError, Progress, ResourceStatus, Started};
use pilotlight::runbook::params::ActionParams;
use pilotlight::runbook::Health;
use serde_json::json;

mod deploys;
mod failures;
mod guards;
mod happy_path;
mod mirror;
mod rollback;
mod steps;

const RUN_ID: &str = "run-1";

/// One run driven by hand: the engine, the clock, and the journal as the runtime would keep it.
struct Run {
    engine: Engine,
    now: DateTime<Utc>,
    /// Every record the engine asked for, in order: the index is the journal seq.
    records: Vec<Entry>,
    acked: usize,
}

impl Run {
    fn new(yaml: &str) -> Run {
        let runbook = pilotlight::runbook::parse(yaml.as_bytes()).expect("test runbook is valid");
        Run {
            engine: Engine::new(Arc::new(runbook), RUN_ID),
            now: t0(),
            records: Vec::new(),
            acked: 0,
        }
    }

    /// Sets the clock to `t0 + secs`.
    fn at(&mut self, secs: i64) {
        let t = t0() + TimeDelta::seconds(secs);
        assert!(t >= self.now, "the test clock never goes back");
        self.now = t;
    }

    fn send(&mut self, input: Input) -> Vec<Effect> {
        let fx = self.engine.handle(input, self.now);
        for e in &fx {
            if let Effect::Record(entry) = e {
                assert_eq!(entry.at, self.now, "records carry the time of the input");
                self.records.push(entry.clone());
            }
        }
        fx
    }

    /// The oldest unacknowledged record is durable.
    fn ack(&mut self) -> Vec<Effect> {
        assert!(self.acked < self.records.len(), "no record is waiting");
        self.acked += 1;
        self.send(Input::Recorded)
    }

    /// Acknowledges records until none waits (including those written in answer), collecting all
    /// effects.
    fn ack_all(&mut self) -> Vec<Effect> {
        let mut all = Vec::new();
        while self.acked < self.records.len() {
            all.extend(self.ack());
        }
        all
    }

    fn pending(&self) -> usize {
        self.records.len() - self.acked
    }

    fn state(&self, step: usize) -> StepState {
        self.engine.steps()[step].state
    }

    fn attempt(&self, step: usize) -> u32 {
        self.engine.steps()[step].attempt
    }

    fn last_record(&self) -> &Entry {
        self.records.last().unwrap()
    }

    fn last_of(&self, event: EventKind) -> &Entry {
        self.records
            .iter()
            .rev()
            .find(|r| r.kind() == event)
            .unwrap()
    }
}

fn d(fx: &[Effect]) -> Vec<String> {
    fx.iter().map(Effect::to_string).collect()
}

fn approve(typed: Option<&str>, reason: Option<&str>) -> Input {
    Input::Gate(GateDecision {
        approve: true,
        typed: typed.map(str::to_string),
        reason: reason.map(str::to_string),
        unattended: false,
    })
}

fn cancel(reason: &str) -> Input {
    Input::Gate(GateDecision {
        approve: false,
        typed: None,
        reason: Some(reason.to_string()),
        unattended: false,
    })
}

fn started(step: &str, attempt: u32, outputs: &[(&str, &str)]) -> Input {
    let outputs: BTreeMap<String, String> = outputs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Input::Started {
        step: step.into(),
        attempt,
        result: Ok(Started {
            outputs,
            adopted: false,
        }),
    }
}

fn api_error(code: &str) -> CloudError {
    CloudError::Api {
        code: code.into(),
        message: "simulated".into(),
    }
}

fn start_failed(step: &str, attempt: u32) -> Input {
    Input::Started {
        step: step.into(),
        attempt,
        result: Err(api_error("InsufficientCapacity")),
    }
}

fn progress(step: &str, attempt: u32, state: &str, percent: Option<u8>) -> Input {
    Input::Progress {
        step: step.into(),
        attempt,
        result: Ok(Progress {
            state: state.into(),
            percent,
            expected_done: None,
            ..Default::default()
        }),
    }
}

fn observed(resource: &str, health: Health) -> Input {
    Input::Observed {
        resource: resource.into(),
        status: Ok(ResourceStatus {
            health,
            state: "whatever".into(),
            latest_recovery_point: None,
        }),
    }
}

fn command_done(step: &str, attempt: u32, code: i32, stdout: &str) -> Input {
    Input::CommandDone {
        step: step.into(),
        attempt,
        result: Ok((code, stdout.into())),
    }
}

fn skip(reason: &str) -> Input {
    Input::Skip {
        reason: reason.into(),
    }
}

fn retry(reason: &str) -> Input {
    Input::Retry {
        reason: reason.into(),
    }
}

fn abort(reason: &str) -> Input {
    Input::Abort {
        reason: reason.into(),
    }
}

fn mutate_of(fx: &[Effect]) -> (&ActionPlan, &Approval) {
    fx.iter()
        .find_map(|e| match e {
            Effect::Mutate { plan, approval } => Some((plan, approval)),
            _ => None,
        })
        .expect("a mutate effect")
}

// ---------------------------------------------------------------------------------------------
// Runbooks

/// Restore a volume (waits until available), attach it (no wait) using the restore's output.
const ACTIONS: &str = r#"
runbook: engine-actions
title: Restore a volume and attach it
targets: { rto: 1h }
resources:
  data: { kind: ebs-volume, region: us-east-1, id: vol-0abc1234 }
steps:
  - id: restore
    kind: action
    action: ebs.restore-volume
    resource: data
    with: { region: us-west-2, snapshot: latest, availability_zone: us-west-2a }
    wait_until: available
    timeout: 30m
    gate: { typed: vol-0abc1234, reason: required }
  - id: attach
    kind: action
    action: ebs.attach-volume
    resource: data
    with:
      region: us-west-2
      volume_id: "{{steps.restore.outputs.volume_id}}"
      instance_id: i-0123456789abcdef0
      device: /dev/sdf
    gate: { confirm: true }
  - id: announce
    kind: command
    run: "echo attached {{steps.attach.outputs.volume_id}} from {{steps.restore.outputs.snapshot_id}}"
    gate: { confirm: true }
"#;

const CHECK: &str = r#"
runbook: engine-check
title: Check the primary
targets: { rto: 1h }
resources:
  db: { kind: rds-instance, region: us-east-1, id: orders-prod }
steps:
  - id: confirm-impact
    kind: check
    expect: { resource: db, health: [impaired, unavailable] }
"#;

const MANUAL: &str = r#"
runbook: engine-manual
title: Decide
targets: { rto: 1h }
steps:
  - id: decide
    kind: manual
    instructions: Call the incident commander.
    gate: { confirm: true, reason: required }
"#;

const WAITS: &str = r#"
runbook: engine-waits
title: Waits
targets: { rto: 1h }
resources:
  db: { kind: rds-instance, region: us-east-1, id: orders-prod }
steps:
  - id: ttl
    kind: wait
    for: 2m
  - id: db-healthy
    kind: wait
    until: { resource: db, health: [ok] }
    timeout: 10m
"#;

const COMMAND: &str = r#"
runbook: engine-command
title: Command
targets: { rto: 1h }
steps:
  - id: flush
    kind: command
    run: "sync && echo flushed"
    gate: { confirm: true, reason: optional }
  - id: report
    kind: command
    run: "echo {{steps.flush.outputs.stdout}} {{steps.flush.outputs.exit_code}}"
    expect_exit: 3
    gate: { confirm: true }
"#;

const RETRYING: &str = r#"
runbook: engine-retry
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
    gate: { typed: us-west-2 }
  - id: after
    kind: manual
"#;

const TIMEOUTS: &str = r#"
runbook: engine-timeouts
title: Restore with a timeout
targets: { rto: 1h }
resources:
  data: { kind: ebs-volume, region: us-east-1, id: vol-0abc1234 }
steps:
  - id: restore
    kind: action
    action: ebs.restore-volume
    resource: data
    with: { snapshot: latest, availability_zone: us-east-1a }
    wait_until: available
    timeout: 10m
    gate: { confirm: true }
"#;

/// Starts a run and acknowledges what it wrote: the first step's gate is open.
fn started_run(yaml: &str) -> Run {
    let mut run = Run::new(yaml);
    run.send(Input::Start);
    run.ack_all();
    run
}
