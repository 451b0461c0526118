//! The one runner: it owns a run's engine, journal, backend, clock, timers and work in flight,
//! performs the engine's effects, and feeds what comes back in as inputs. The console
//! (`session.rs`) and `drill --unattended` (`unattended.rs`) are thin loops over it: they differ
//! only in who decides at gates and how they wait for time to pass.
//!
//! Nothing here waits on the cloud: a journal write is appended and fsynced in place (the one
//! wait, on the disk), every call to the cloud and every command is a future kept in flight, and an answer that is already there (the
//! simulated world answers at once) goes in at once, as if it had been awaited.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::FutureExt;

mod people;
mod perform;
mod second;

pub use second::Approvals;

use super::clock::Clock;
use super::flight::InFlight;
use super::look::{LiveLook, Looking};
use crate::audit::{Journal, Record};
use crate::cloud::{observe_all, CommandRun, Mutate, Observation, Observe};
use crate::engine::{Effect, Engine, GateDecision, Input, RunStatus, StepState};
use crate::model::CloudError;
use crate::runbook::{Duration, StepBody};

/// How long an unattended drill takes for a manual step without `expect_duration`.
pub const MANUAL_STEP_DEFAULT: Duration = Duration::from_mins(5);

/// How long a live command may run when its step sets no `timeout`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_mins(10);

/// Hooks for what happens along the way (the console's audit pane, progress lines, crash
/// injection in tests). Called as each record is durable, before anything it releases is sent.
pub trait Observer {
    fn recorded(&mut self, record: &Record);
    fn refused(&mut self, message: &str);
}

/// Who answers gates and finishes manual steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `drill --unattended`: the drill confirms gates itself, people take their expected time.
    Unattended,
    /// A person at the console: gates and manual steps wait for them.
    Person,
}

/// A status round on its way.
type Round = Pin<Box<dyn Future<Output = Vec<Observation>> + Send>>;

/// A run in progress, with everything it needs.
pub struct Runner<B, C, O> {
    engine: Engine,
    journal: Journal,
    backend: Arc<B>,
    clock: C,
    observer: O,
    operator: Operator,
    inputs: VecDeque<Input>,
    timers: BTreeMap<DateTime<Utc>, Vec<Input>>,
    in_flight: InFlight,
    look: LiveLook,
    looking: Option<Looking>,
    /// The gate the unattended operator approves once the cloud said what its change would do.
    auto_gate: Option<String>,
    round: Option<Round>,
    status_every: Option<TimeDelta>,
    next_status: Option<DateTime<Utc>>,
    /// Why each resource could not be observed on the last look (a silent region, a permission).
    errors: HashMap<String, String>,
    /// The console went away: no new work goes out, what is already sent is answered.
    closing: bool,
    /// A drill's command step at the console: what the scenario says it answers, held until
    /// the operator marks it done (step, attempt, answer).
    held_command: Option<HeldCommand>,
    /// Second approvals, when the run has a state store.
    approvals: Option<second::Watch>,
}

type HeldCommand = (String, u32, Result<(i32, String), String>);

impl<B, C, O> Runner<B, C, O>
where
    B: Observe + Mutate + Send + Sync + 'static,
    C: Clock,
    O: Observer,
{
    /// A runner that will begin with `first` (Start, or Resume for a run rebuilt from its
    /// journal).
    pub fn new(
        engine: Engine,
        journal: Journal,
        backend: Arc<B>,
        clock: C,
        observer: O,
        operator: Operator,
        first: Input,
    ) -> Runner<B, C, O> {
        Runner {
            engine,
            journal,
            backend,
            clock,
            observer,
            operator,
            inputs: VecDeque::from([first]),
            timers: BTreeMap::new(),
            in_flight: InFlight::default(),
            look: LiveLook::default(),
            looking: None,
            auto_gate: None,
            round: None,
            status_every: None,
            next_status: None,
            errors: HashMap::new(),
            closing: false,
            held_command: None,
            approvals: None,
        }
    }

    /// Takes second approvals from the team's state store; `records` are a resumed run's (a
    /// request may be waiting already).
    pub fn with_approvals(mut self, approvals: Approvals, records: &[Record]) -> Self {
        self.approvals = Some(second::Watch::new(approvals, records));
        self
    }

    /// Whether the step in hand waits for a second approver's approval in the store.
    fn awaiting_second(&self) -> bool {
        !self.closing
            && self
                .approvals
                .as_ref()
                .is_some_and(|w| w.wants(&self.engine))
    }

    /// Observes every resource this often (changes are journaled as status snapshots), first at
    /// once.
    pub fn observe_every(mut self, every: TimeDelta) -> Self {
        self.status_every = Some(every);
        self.next_status = Some(self.clock.now());
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, once the run is over or the console has closed (for the summary).
    pub fn into_engine(self) -> Engine {
        self.engine
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    pub fn clock_mut(&mut self) -> &mut C {
        &mut self.clock
    }

    pub fn observer(&self) -> &O {
        &self.observer
    }

    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Why resources could not be observed on the last look, by name.
    pub fn errors(&self) -> &HashMap<String, String> {
        &self.errors
    }

    /// The live preview of the open gate, under the engine's own preview (for the console).
    pub fn gate_preview(&self) -> Option<String> {
        self.look.shown(&self.engine)
    }

    /// Queues an input (an operator's command, a tick) for the next [`Runner::pump`].
    pub fn push(&mut self, input: Input) {
        self.inputs.push_back(input);
    }

    pub fn status(&self) -> &RunStatus {
        self.engine.status()
    }

    /// Whether the run is over (finished or aborted).
    pub fn ended(&self) -> bool {
        matches!(
            self.engine.status(),
            RunStatus::Finished | RunStatus::Aborted(_)
        )
    }

    /// Whether the run is waiting for a person (then simulated time must not jump).
    pub fn operator_needed(&self) -> bool {
        let e = &self.engine;
        match e.status() {
            RunStatus::Blocked(_) => true,
            RunStatus::Running if e.open_gate().is_some() || self.held_command.is_some() => true,
            RunStatus::Running => match (
                e.runbook().steps.get(e.current()),
                e.steps().get(e.current()),
            ) {
                (Some(step), Some(run)) => {
                    run.state == StepState::AwaitingGate
                        || (run.state == StepState::Running
                            && matches!(step.body, StepBody::Manual))
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether the engine's current attempt waits for an answer on its way (then no tick may
    /// reach it: a step's timeout is judged once that answer is in).
    pub fn waiting(&self) -> bool {
        self.in_flight.waited_for(&self.engine)
    }

    /// The step whose change request is out and has not answered, if one is.
    pub fn change_out(&self) -> Option<String> {
        if !self.in_flight.change_out() {
            return None;
        }
        let e = &self.engine;
        let i = e.rollback_in_hand().unwrap_or(e.current());
        e.runbook().steps.get(i).map(|s| s.id.clone())
    }

    /// Whether anything is on its way: an answer, the gate's look, a status round, a second
    /// approver's approval.
    pub fn expecting(&self) -> bool {
        !self.in_flight.is_empty()
            || self.looking.is_some()
            || self.round.is_some()
            || self.awaiting_second()
    }

    /// The earliest timer (a drill's manual step or command finishing), if any.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        self.timers.keys().next().copied()
    }

    /// When the next status round is due, unless one is on its way.
    pub fn next_status(&self) -> Option<DateTime<Utc>> {
        self.next_status.filter(|_| self.round.is_none())
    }

    /// Queues the inputs of every timer due by now.
    pub fn fire_timers(&mut self) {
        let now = self.clock.now();
        let due: Vec<DateTime<Utc>> = self.timers.range(..=now).map(|(t, _)| *t).collect();
        for t in due {
            self.inputs
                .extend(self.timers.remove(&t).unwrap_or_default());
        }
    }

    /// Starts a status round when one is due (while the run goes on); its answers go in as they
    /// come, at once when they are already there.
    pub fn observe_if_due(&mut self) {
        let (Some(due), Some(every)) = (self.next_status, self.status_every) else {
            return;
        };
        let now = self.clock.now();
        let live = matches!(
            self.engine.status(),
            RunStatus::Running | RunStatus::Blocked(_)
        );
        if now < due || self.round.is_some() || !live || self.closing {
            return;
        }
        let resources = self.engine.runbook().resources.values().cloned().collect();
        let backend = self.backend.clone();
        let mut round: Round =
            Box::pin(async move { observe_all(backend.as_ref(), resources, now).await });
        self.next_status = Some(now + every);
        match (&mut round).now_or_never() {
            Some(seen) => self.observed(seen),
            None => self.round = Some(round),
        }
    }

    fn observed(&mut self, seen: Vec<Observation>) {
        for (name, status) in seen {
            match &status {
                Ok(_) => self.errors.remove(&name),
                Err(e) => self.errors.insert(name.clone(), e.to_string()),
            };
            self.inputs.push_back(Input::Observed {
                resource: name,
                status,
            });
        }
    }

    /// Handles every queued input and what it leads to, performing each effect. Whether anything
    /// was handled.
    pub fn pump(&mut self) -> bool {
        let mut handled = false;
        while let Some(input) = self.inputs.pop_front() {
            handled = true;
            let now = self.clock.now();
            for effect in self.engine.handle(input, now) {
                self.perform(effect, now);
            }
        }
        // A look on its way for a gate no longer open means nothing now.
        if self.look.moved_on(&self.engine) {
            self.looking = None;
        }
        // A held command answer for an attempt that no longer stands (skipped, aborted) is
        // dropped: it must not keep the clock paced or answer a later step.
        if let Some((step, attempt, _)) = &self.held_command {
            let e = &self.engine;
            let stands = e
                .runbook()
                .steps
                .get(e.current())
                .is_some_and(|s| s.id == *step)
                && e.steps()
                    .get(e.current())
                    .is_some_and(|r| r.attempt == *attempt && r.state == StepState::Running);
            if !stands {
                self.held_command = None;
            }
        }
        handled
    }

    /// Waits for the next answer on its way (a cloud call, a command, the gate's look, a status
    /// round) and queues it. Pending forever when nothing is on its way.
    pub async fn answered(&mut self) {
        tokio::select! {
            biased;
            answer = self.in_flight.next(), if !self.in_flight.is_empty() => {
                self.inputs.push_back(answer);
            }
            look = async { Some(self.looking.as_mut()?.await) }, if self.looking.is_some() => {
                self.looking = None;
                if let Some(look) = look {
                    self.looked(look);
                }
            }
            seen = async { Some(self.round.as_mut()?.await) }, if self.round.is_some() => {
                self.round = None;
                self.observed(seen.unwrap_or_default());
            }
            found = async { self.approvals.as_mut()?.next().await }, if self.awaiting_second() => {
                if let (Some(found), Some(w)) = (found, self.approvals.as_mut()) {
                    let (approval, said) = w.took(found);
                    for why in said {
                        self.observer.refused(&why);
                    }
                    self.inputs.extend(approval);
                }
            }
            else => std::future::pending().await,
        }
    }

    /// The console went away. A change request already sent is answered first (within the
    /// cloud's timeouts) so the journal says what it made; what that answer leads to (polls,
    /// the next steps' requests) waits for the resume. Then the run records where it stands.
    pub async fn close(&mut self) {
        self.closing = true;
        self.looking = None;
        self.round = None;
        while let Some(answer) = self.in_flight.next_change().await {
            self.inputs.push_back(answer);
            self.pump();
        }
        self.inputs.push_back(Input::Pause);
        self.pump();
    }
}
