//! The step engine: a pure state machine. `handle(input, now)` returns effects for the runtime to
//! perform; same inputs, same effects. No I/O, no clock, no tokio.
//!
//! Every change to a run's [`State`] is a journal record: the engine decides what happened,
//! writes it as an [`Event`](crate::audit::Event), and applies it with the one transition
//! ([`State::apply`]) that also rebuilds a run from its journal. What is not in the journal (a
//! request on its way, the next poll, the latest observation) is kept apart, in the engine.
//!
//! Safety lives here: an [`Approval`] is minted only once the gate's decision is acknowledged as
//! durable by the journal, and a change is requested only after its intent record is durable.

mod acks;
mod apply;
mod approval;
mod condition;
mod data_lost;
mod flow;
mod gate;
mod guards;
mod io;
pub mod objectives;
mod operator;
mod outcomes;
mod plan;
pub mod preflight;
mod request;
mod resume;
mod rollback;
mod state;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use apply::ReplayError;
pub use approval::Approval;
pub use io::{Effect, GateDecision, Input};
pub use plan::render;
pub use rollback::{rollback_gate, rollback_key, OpenGate};
pub use state::{
    AfterOutcome, Approved, Rollback, RollbackEnd, RunStatus, State, StepRollback, StepRun,
    StepState, WaitFor,
};

use crate::audit::event::RunContext;
use crate::audit::{Entry, Event, Record};
use crate::model::{Outputs, ResourceStatus};
use crate::runbook::Runbook;

/// What to do when a record is acknowledged.
#[derive(Debug, Clone, PartialEq)]
enum AfterAck {
    Nothing,
    /// The gate's approval is durable: the attempt may begin.
    BeginAttempt {
        step: usize,
    },
    SendMutate {
        step: usize,
        attempt: u32,
    },
    /// The intent is durable, but the change may have been sent already by a machine whose
    /// last records were lost: the cloud is asked first.
    ReconcileFirst {
        step: usize,
        attempt: u32,
    },
    RunCommand {
        step: usize,
        attempt: u32,
        command: String,
    },
    /// A rollback's gate approval is durable: its inverse may be requested.
    BeginRollback {
        step: usize,
    },
    /// A rollback's intent is durable: its request may go.
    SendRollback {
        step: usize,
        attempt: u32,
    },
}

/// How often to poll a change in progress or re-observe a wait condition.
pub const POLL_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

/// What the engine keeps of a step that the journal does not hold: the request on its way, the
/// next poll, the last progress, the live preview of its gate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepLive {
    /// The attempt whose request was sent and not yet answered.
    pub awaiting: Option<u32>,
    /// The next time this step polls or observes.
    pub next_poll: Option<DateTime<Utc>>,
    pub last_progress: Option<String>,
    /// What the cloud said the gated change would do, while its gate is open.
    pub live_preview: Option<String>,
}

pub struct Engine {
    runbook: Arc<Runbook>,
    state: State,
    live: Vec<StepLive>,
    /// The same, for the step a rollback has in hand.
    rollback_live: StepLive,
    acks: VecDeque<AfterAck>,
    acked: u64,
    /// The latest observation of each resource (the journal keeps only changes).
    seen: HashMap<String, ResourceStatus>,
    /// Set when a journal write failed: the run is over, though its journal cannot say so.
    journal_failure: Option<RunStatus>,
    /// Whether a command interrupted by a crash may simply run again on resume. Only for drills,
    /// where commands are simulated; a live run asks the operator instead.
    rerun_interrupted_commands: bool,
    /// Where the run came from (version, scenario, ...), written into the run-started record.
    context: Option<RunContext>,
    /// Who a live run is taken up again as, for its run-resumed record.
    resumed_as: Option<crate::model::Identity>,
    /// Whose expired lease the resumption took over, for its run-resumed record.
    took_over_from: Option<String>,
    /// Resumed from a mirror that may lack the last records of the machine that ran before:
    /// each change is looked for in the cloud before it is sent, until one is not found there.
    tail_lost: bool,
}

impl Engine {
    pub fn new(runbook: Arc<Runbook>, run_id: &str) -> Engine {
        let state = State::new(&runbook, run_id);
        Engine::with_state(runbook, state)
    }

    fn with_state(runbook: Arc<Runbook>, state: State) -> Engine {
        Engine {
            live: vec![StepLive::default(); state.steps.len()],
            rollback_live: StepLive::default(),
            acked: state.records,
            seen: state
                .snapshots
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            runbook,
            state,
            acks: VecDeque::new(),
            journal_failure: None,
            rerun_interrupted_commands: false,
            context: None,
            resumed_as: None,
            took_over_from: None,
            tail_lost: false,
        }
    }

    /// The run a journal's fold describes (`watch --follow` keeps the fold as records arrive).
    pub fn from_state(runbook: Arc<Runbook>, state: State) -> Engine {
        Engine::with_state(runbook, state)
    }

    /// The run a journal records, as it stood at its last record (every record is durable).
    pub fn from_records(runbook: Arc<Runbook>, records: &[Record]) -> Result<Engine, ReplayError> {
        let state = State::from_records(&runbook, records)?;
        Ok(Engine::with_state(runbook, state))
    }

    /// For drills, whose commands are simulated: re-run a command a crash interrupted instead
    /// of asking the operator.
    pub fn rerun_interrupted_commands(&mut self, yes: bool) {
        self.rerun_interrupted_commands = yes;
    }

    /// Provenance for the run-started record: pilotlight's version, the scenario of a drill.
    pub fn set_context(&mut self, context: RunContext) {
        self.context = Some(context);
    }

    /// The AWS principal a live run is resumed as: its run-resumed record names it beside the
    /// operator, as run-started does for the one who began it.
    pub fn resume_as(&mut self, who: crate::model::Identity) {
        self.resumed_as = Some(who);
    }

    /// The run is resumed by taking over `holder`'s expired lease in the team's state store:
    /// its run-resumed record says whose.
    pub fn taking_over(&mut self, holder: String) {
        self.took_over_from = Some(holder);
    }

    /// The run is resumed from its mirror in the state store, which trails the machine that
    /// ran it by a few seconds: that machine may have sent changes its mirror never got to
    /// record. Until a change is found not to have been sent, each is looked for in the cloud
    /// (as a change in flight at a crash is) before it is sent, and a command is not run
    /// again without the operator.
    pub fn tail_may_be_lost(&mut self) {
        self.tail_lost = true;
    }

    pub fn runbook(&self) -> &Runbook {
        &self.runbook
    }

    /// Everything the journal determines.
    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn run_id(&self) -> &str {
        &self.state.run_id
    }

    pub fn status(&self) -> &RunStatus {
        self.journal_failure.as_ref().unwrap_or(&self.state.status)
    }

    pub fn current(&self) -> usize {
        self.state.current
    }

    pub fn steps(&self) -> &[StepRun] {
        &self.state.steps
    }

    /// What the engine keeps of each step besides the journal (progress, requests on their way).
    pub fn live(&self) -> &[StepLive] {
        &self.live
    }

    pub fn outputs(&self) -> &Outputs {
        &self.state.outputs
    }

    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.state.started_at
    }

    /// Seconds from the run's start to the service restored, once it is.
    pub fn service_restored_secs(&self) -> Option<u64> {
        let at = self.service_restored_at()?;
        Some((at - self.started_at()?).num_seconds().max(0) as u64)
    }

    /// Whether the run is a drill (its run-started record says so).
    pub fn is_drill(&self) -> bool {
        self.state.drill
    }

    /// When the service was back: the step that restores it (else the last step) done or
    /// skipped. The RTO clock stops here; what follows is failback.
    pub fn service_restored_at(&self) -> Option<DateTime<Utc>> {
        let run = self.state.steps.get(self.runbook.restored_by())?;
        match run.state {
            StepState::Done | StepState::Skipped => run.finished_at,
            _ => None,
        }
    }

    /// The latest observation of a resource.
    pub fn observation(&self, resource: &str) -> Option<&ResourceStatus> {
        self.seen.get(resource)
    }

    /// Whether records are still waiting for the journal.
    pub fn awaiting_journal(&self) -> bool {
        !self.acks.is_empty()
    }

    /// The next time the engine wants a [`Input::Tick`], if any.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        if !matches!(self.status(), RunStatus::Running) {
            return None;
        }
        if self.rolling_back() {
            let poll = self.rollback_live.next_poll;
            return [poll, self.rollback_deadline()].into_iter().flatten().min();
        }
        let i = self.state.current;
        let step = self.runbook.steps.get(i)?;
        let run = self.state.steps.get(i)?;
        let mut wake: Option<DateTime<Utc>> = self.live.get(i)?.next_poll;
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
        match input {
            Input::Rollback { reason } => {
                self.start_rollback(reason, now, &mut fx);
                return fx;
            }
            // What a rollback's records release, and what concerns the run whatever it does.
            Input::Recorded | Input::JournalFailed(_) | Input::Pause => {}
            input if self.rolling_back() && self.journal_failure.is_none() => {
                self.rollback_dispatch(input, now, &mut fx);
                return fx;
            }
            _ => {}
        }
        if matches!(self.status(), RunStatus::Finished | RunStatus::Aborted(_)) {
            if input == Input::Recorded && self.acks.pop_front().is_some() {
                self.acked += 1;
            }
            return fx;
        }
        self.dispatch(input, now, &mut fx);
        fx
    }

    /// Writes `event` (of step `step`, by index) to the journal and applies it to the run's
    /// state, remembering what to do once it is durable.
    fn emit(
        &mut self,
        fx: &mut Vec<Effect>,
        at: DateTime<Utc>,
        step: Option<usize>,
        event: Event,
        after: AfterAck,
    ) {
        let entry = Entry {
            at,
            step: step
                .and_then(|i| self.runbook.steps.get(i))
                .map(|s| s.id.clone()),
            event,
        };
        self.state.apply_entry(&self.runbook, step, &entry);
        self.acks.push_back(after);
        fx.push(Effect::Record(entry));
    }
}
