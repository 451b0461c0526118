//! The step engine: a pure state machine. `handle(input, now)` returns effects for the runtime to
//! perform; same inputs, same effects. No I/O, no clock, no tokio.
//!
//! Safety lives here: an [`Approval`] is minted only after the gate's decision is acknowledged as
//! durable by the journal, and a change is requested only after its intent record is durable.

mod acks;
mod approval;
mod condition;
mod flow;
mod gate;
pub mod objectives;
mod outcomes;
mod plan;
mod replay;
mod state;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use approval::Approval;
pub use plan::{render, token, ActionPlan, Outputs};
pub use state::{RunStatus, Snapshot, StepRun, StepState, WaitFor};

use crate::audit::Entry;
use crate::cloud::model::{CloudError, Progress, ResourceStatus, Started};
use crate::runbook::Runbook;

/// Something that happened: an operator decision, a journal acknowledgement, a cloud answer, time.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Start,
    /// Continue a run rebuilt from its journal.
    Resume,
    /// The oldest record not yet acknowledged is durable.
    Recorded,
    /// The operator leaves the console; the run stays resumable.
    Pause,
    /// A journal write failed: nothing may change any more.
    JournalFailed(String),
    Gate(GateDecision),
    /// What the cloud says the change behind an open gate would do now (a cutover's before ->
    /// after), as the operator sees it; journaled with the gate's decision.
    LivePreview {
        step: String,
        attempt: u32,
        preview: String,
    },
    /// The operator marks the current manual step done.
    ManualDone,
    Skip {
        reason: String,
    },
    Retry {
        reason: String,
    },
    Abort {
        reason: String,
    },
    Observed {
        resource: String,
        status: Result<ResourceStatus, CloudError>,
    },
    Started {
        step: String,
        attempt: u32,
        result: Result<Started, CloudError>,
    },
    Progress {
        step: String,
        attempt: u32,
        result: Result<Progress, CloudError>,
    },
    Reconciled {
        step: String,
        attempt: u32,
        result: Result<Option<Started>, CloudError>,
    },
    CommandDone {
        step: String,
        attempt: u32,
        result: Result<(i32, String), String>,
    },
    Tick,
}

/// The operator's answer to a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateDecision {
    pub approve: bool,
    pub typed: Option<String>,
    pub reason: Option<String>,
    /// Confirmed by `drill --unattended`, not a person.
    pub unattended: bool,
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append this record to the journal, then send [`Input::Recorded`].
    Record(Entry),
    /// Show the current step's gate.
    ShowGate {
        step: String,
    },
    /// The operator does the current manual step and sends [`Input::ManualDone`].
    AwaitOperator {
        step: String,
    },
    Observe {
        resource: String,
    },
    Mutate {
        plan: ActionPlan,
        approval: Approval,
    },
    Poll {
        plan: ActionPlan,
    },
    Reconcile {
        plan: ActionPlan,
    },
    RunCommand {
        step: String,
        attempt: u32,
        command: String,
        approval: Approval,
    },
    /// Input was refused (wrong typed phrase, missing reason, nothing to retry): tell the operator.
    Refused(String),
    /// The run is over.
    Finished(RunStatus),
}

/// What to do when a record is acknowledged.
#[derive(Debug, Clone, PartialEq)]
enum AfterAck {
    Nothing,
    MintApproval {
        step: usize,
        unattended: bool,
    },
    SendMutate {
        step: usize,
        attempt: u32,
    },
    RunCommand {
        step: usize,
        attempt: u32,
        command: String,
    },
}

/// How often to poll a change in progress or re-observe a wait condition.
pub const POLL_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

pub struct Engine {
    runbook: Arc<Runbook>,
    run_id: String,
    status: RunStatus,
    current: usize,
    steps: Vec<StepRun>,
    outputs: Outputs,
    started_at: Option<DateTime<Utc>>,
    acks: VecDeque<AfterAck>,
    acked: u64,
    observations: HashMap<String, ResourceStatus>,
    /// Intents that were in flight when the journal ended (resume reconciles them).
    in_flight: Option<usize>,
    /// When replay ends right after an outcome, what it was (the step's next record was lost).
    after_outcome: Option<Result<(), String>>,
    /// Whether a command interrupted by a crash may simply run again on resume. Only for drills,
    /// where commands are simulated; a live run asks the operator instead.
    rerun_interrupted_commands: bool,
    /// Where the run came from (version, scenario, ...), written into the run-started record.
    context: serde_json::Value,
}

impl Engine {
    pub fn new(runbook: Arc<Runbook>, run_id: &str) -> Engine {
        let steps = runbook.steps.iter().map(|_| StepRun::new()).collect();
        Engine {
            runbook,
            run_id: run_id.to_string(),
            status: RunStatus::NotStarted,
            current: 0,
            steps,
            outputs: Outputs::new(),
            started_at: None,
            acks: VecDeque::new(),
            acked: 0,
            observations: HashMap::new(),
            in_flight: None,
            after_outcome: None,
            rerun_interrupted_commands: false,
            context: serde_json::Value::Null,
        }
    }

    /// For drills, whose commands are simulated: re-run a command a crash interrupted instead
    /// of asking the operator.
    pub fn rerun_interrupted_commands(&mut self, yes: bool) {
        self.rerun_interrupted_commands = yes;
    }

    /// Provenance for the run-started record: pilotlight's version, the scenario of a drill.
    pub fn set_context(&mut self, context: serde_json::Value) {
        self.context = context;
    }

    pub fn runbook(&self) -> &Runbook {
        &self.runbook
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn status(&self) -> &RunStatus {
        &self.status
    }

    pub fn current(&self) -> usize {
        self.current
    }

    pub fn steps(&self) -> &[StepRun] {
        &self.steps
    }

    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.started_at
    }

    pub fn observation(&self, resource: &str) -> Option<&ResourceStatus> {
        self.observations.get(resource)
    }

    /// Whether records are still waiting for the journal.
    pub fn awaiting_journal(&self) -> bool {
        !self.acks.is_empty()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            status: self.status.clone(),
            current: self.current,
            steps: self
                .runbook
                .steps
                .iter()
                .zip(&self.steps)
                .map(|(s, r)| (s.id.clone(), r.state, r.attempt, r.error.clone()))
                .collect(),
            outputs: self.outputs.clone(),
        }
    }

    /// The next time the engine wants a [`Input::Tick`], if any.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        if !matches!(self.status, RunStatus::Running) {
            return None;
        }
        let step = self.runbook.steps.get(self.current)?;
        let run = self.steps.get(self.current)?;
        let mut wake: Option<DateTime<Utc>> = run.next_poll;
        let mut earliest = |t: DateTime<Utc>| {
            wake = Some(wake.map_or(t, |w| w.min(t)));
        };
        if let Some(WaitFor::Until(t) | WaitFor::Backoff(t)) = &run.wait {
            earliest(*t);
        }
        if let (Some(timeout), Some(begun)) = (step.timeout, run.body_started_at) {
            // As in `tick`: a step backing off before its next attempt has no timeout running.
            let backing_off = matches!(run.wait, Some(WaitFor::Backoff(_)));
            if !backing_off
                && matches!(
                    run.state,
                    StepState::Running | StepState::Waiting | StepState::Verifying
                )
            {
                earliest(begun + chrono::TimeDelta::seconds(timeout.as_secs() as i64));
            }
        }
        wake
    }

    /// Handles one input at time `now` and returns the effects to perform, in order.
    pub fn handle(&mut self, input: Input, now: DateTime<Utc>) -> Vec<Effect> {
        let mut fx = Vec::new();
        if matches!(self.status, RunStatus::Finished | RunStatus::Aborted(_)) {
            if input == Input::Recorded {
                self.acked += 1;
                self.acks.pop_front();
            }
            return fx;
        }
        self.dispatch(input, now, &mut fx);
        fx
    }
}
