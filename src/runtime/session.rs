//! An interactive run: the engine, the journal and a backend in one task that takes the
//! operator's commands from the console and publishes a fresh [`RunView`] after each change.
//! The console never waits on this task; it only sends commands and reads the latest view.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{mpsc, watch};

use super::driver::{perform, Observer, Operator};
use super::flight::InFlight;
use super::look::{LiveLook, Looking};
use super::view::{RunView, TAIL};
use crate::audit::{Journal, Record};
use crate::cloud::{observe_all, Mutate, Observation, Observe};
use crate::engine::objectives::{projected_recovery, RtoEstimate};
use crate::engine::{Engine, GateDecision, Input, RunStatus, StepState};
use crate::runbook::StepBody;

/// What the operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Gate(GateDecision),
    ManualDone,
    Skip(String),
    Retry(String),
    Abort(String),
}

impl From<Command> for Input {
    fn from(c: Command) -> Input {
        match c {
            Command::Gate(d) => Input::Gate(d),
            Command::ManualDone => Input::ManualDone,
            Command::Skip(reason) => Input::Skip { reason },
            Command::Retry(reason) => Input::Retry { reason },
            Command::Abort(reason) => Input::Abort { reason },
        }
    }
}

/// Simulated time for a drill at the console. While the run waits for the operator it flows at
/// real speed (people take the time they take); while only the (simulated) cloud is working it
/// flows `speed` times faster, or jumps straight to the next event (`--speed max`).
#[derive(Debug, Clone)]
pub struct PacedClock {
    base: DateTime<Utc>,
    started: Instant,
    /// The current rate: 1 while people are needed, else `fast`.
    speed: f64,
    fast: f64,
    jumped: TimeDelta,
    jump: bool,
}

impl PacedClock {
    /// `speed` simulated seconds per real second; `None` jumps from event to event while the run
    /// does not wait for the operator.
    pub fn new(base: DateTime<Utc>, speed: Option<f64>) -> PacedClock {
        PacedClock {
            base,
            started: Instant::now(),
            speed: 1.0,
            fast: speed.unwrap_or(1.0),
            jumped: TimeDelta::zero(),
            jump: speed.is_none(),
        }
    }

    /// Real speed while the operator is needed, fast otherwise.
    fn pace(&mut self, operator_needed: bool) {
        let rate = if operator_needed || self.jump {
            1.0
        } else {
            self.fast
        };
        if (rate - self.speed).abs() > f64::EPSILON {
            self.base = self.now();
            self.jumped = TimeDelta::zero();
            self.started = Instant::now();
            self.speed = rate;
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let real = self.started.elapsed().as_secs_f64() * self.speed;
        self.base + self.jumped + TimeDelta::milliseconds((real * 1000.0) as i64)
    }

    /// How long to sleep, in real time, until simulated time `t`.
    fn real_until(&self, t: DateTime<Utc>, operator_needed: bool) -> std::time::Duration {
        if self.jump && !operator_needed {
            return std::time::Duration::ZERO;
        }
        let sim = (t - self.now()).num_milliseconds().max(0) as f64;
        std::time::Duration::from_millis((sim / self.speed) as u64)
    }

    fn catch_up(&mut self, t: DateTime<Utc>, operator_needed: bool) {
        if self.jump && !operator_needed && t > self.now() {
            self.jumped += t - self.now();
        }
    }
}

struct Tail<'a> {
    records: &'a mut VecDeque<Record>,
    notice: &'a mut Option<String>,
}

impl Observer for Tail<'_> {
    fn recorded(&mut self, record: &Record) {
        if self.records.len() == TAIL {
            self.records.pop_front();
        }
        self.records.push_back(record.clone());
    }

    fn refused(&mut self, message: &str) {
        *self.notice = Some(message.to_string());
    }
}

/// Whether the run is waiting for a person (then simulated time must not jump).
fn operator_needed(engine: &Engine) -> bool {
    match engine.status() {
        RunStatus::Blocked(_) => true,
        RunStatus::Running => match (
            engine.runbook().steps.get(engine.current()),
            engine.steps().get(engine.current()),
        ) {
            (Some(step), Some(run)) => {
                run.state == StepState::AwaitingGate
                    || (run.state == StepState::Running && matches!(step.body, StepBody::Manual))
            }
            _ => false,
        },
        _ => false,
    }
}

pub struct Interactive<B> {
    pub engine: Engine,
    pub journal: Journal,
    pub backend: B,
    pub clock: PacedClock,
    pub estimate: RtoEstimate,
    pub view: RunView,
    pub status_every: TimeDelta,
}

impl<B: Observe + Mutate> Interactive<B> {
    /// Runs until the run ends or the console goes away; returns how the run stands, and the
    /// engine (for the summary).
    pub async fn run(
        mut self,
        first: Input,
        mut commands: mpsc::Receiver<Command>,
        views: watch::Sender<Arc<RunView>>,
    ) -> (RunStatus, Engine) {
        let mut inputs: VecDeque<Input> = VecDeque::from([first]);
        let mut timers: BTreeMap<DateTime<Utc>, Vec<Input>> = BTreeMap::new();
        let mut next_status = self.clock.now();
        // What the backend says a gated change would do as things stand, and the look on its way.
        let mut look = LiveLook::default();
        let mut looking: Option<Looking<'_>> = None;
        let backend = &self.backend;
        // The status round in flight, at most one: it runs while the session waits, so a slow
        // or dark region never holds up the operator's decisions.
        let mut round: Option<Round<'_>> = None;
        // Calls to the cloud and commands on their way: the session keeps publishing the view
        // and taking the operator's keys while they run.
        let mut in_flight = InFlight::default();
        loop {
            let now = self.clock.now();
            if now >= next_status
                && round.is_none()
                && matches!(
                    self.engine.status(),
                    RunStatus::Running | RunStatus::Blocked(_)
                )
            {
                let resources = self.engine.runbook().resources.values().cloned().collect();
                round = Some(Box::pin(observe_all(backend, resources, now)));
                next_status = now + self.status_every;
            }
            let due: Vec<DateTime<Utc>> = timers.range(..=now).map(|(t, _)| *t).collect();
            for t in due {
                inputs.extend(timers.remove(&t).unwrap_or_default());
            }
            let changed = !inputs.is_empty();
            loop {
                while let Some(input) = inputs.pop_front() {
                    let now = self.clock.now();
                    for effect in self.engine.handle(input, now) {
                        let mut tail = Tail {
                            records: &mut self.view.tail,
                            notice: &mut self.view.notice,
                        };
                        let mut slow = Vec::new();
                        perform(
                            effect,
                            &self.engine,
                            &mut self.journal,
                            backend,
                            now,
                            &mut tail,
                            &mut inputs,
                            &mut timers,
                            &mut slow,
                            Operator::Person,
                        )
                        .await;
                        in_flight.add(&self.engine, slow);
                    }
                }
                // Answers already there (the simulated world answers at once) go in now, as if
                // they had been awaited; the others come while the session waits below.
                let ready = in_flight.ready();
                if ready.is_empty() {
                    break;
                }
                inputs.extend(ready);
            }
            let mut changed = changed;
            if look.moved_on(&self.engine) {
                looking = None;
            }
            if let Some(ask) = look.ask(&self.engine, backend, &mut inputs) {
                looking = Some(ask);
            }
            changed |= !inputs.is_empty();
            publish(
                &self.engine,
                &mut self.view,
                self.clock.now(),
                &self.estimate,
                &self.journal,
                &views,
                changed,
            );
            if look.show(&self.engine, &mut self.view) {
                self.view.version += 1;
                views.send_replace(Arc::new(self.view.clone()));
            }
            if matches!(
                self.engine.status(),
                RunStatus::Finished | RunStatus::Aborted(_)
            ) {
                return (self.engine.status().clone(), self.engine);
            }
            // Simulated time never jumps past an answer the run waits for, and what the engine
            // would do at its next wake (a timeout, a poll) waits for that answer too.
            let waiting = in_flight.waited_for(&self.engine);
            let needed = operator_needed(&self.engine) || waiting;
            self.clock.pace(needed);
            // The header's clock ticks once a simulated second at most.
            let tick = self.clock.now() + TimeDelta::seconds(1);
            let wake = [
                self.engine.next_wake().filter(|_| !waiting),
                timers.keys().next().copied(),
                round.is_none().then_some(next_status),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(tick);
            // The header's clock needs a redraw each second only while time flows at real
            // speed; jumping from event to event it would only slow the drill down.
            let next = if needed || !self.clock.jump {
                wake.min(tick)
            } else {
                wake
            };
            let sleep = self.clock.real_until(next, needed);
            tokio::select! {
                biased;
                // An answer already there goes in before a key pressed meanwhile (an abort
                // refused for a change in flight that has in fact answered).
                answer = in_flight.next(), if !in_flight.is_empty() => inputs.push_back(answer),
                command = commands.recv() => match command {
                    Some(c) => {
                        self.view.notice = None;
                        inputs.push_back(c.into());
                    }
                    None => {
                        // The console went away. A change request already sent is answered
                        // first (within the cloud's timeouts), so the journal says what it made;
                        // what that answer leads to (polls) waits for the resume.
                        let mut acks = VecDeque::new();
                        while let Some(answer) = in_flight.next_change().await {
                            acks.push_back(answer);
                            while let Some(input) = acks.pop_front() {
                                let now = self.clock.now();
                                for effect in self.engine.handle(input, now) {
                                    let mut tail = Tail { records: &mut self.view.tail, notice: &mut self.view.notice };
                                    perform(effect, &self.engine, &mut self.journal, backend, now, &mut tail, &mut acks, &mut timers, &mut Vec::new(), Operator::Person).await;
                                }
                            }
                        }
                        // Then record where the run stands, so a resume continues from now and
                        // not from the last thing that happened.
                        let now = self.clock.now();
                        for effect in self.engine.handle(Input::Pause, now) {
                            let mut tail = Tail { records: &mut self.view.tail, notice: &mut self.view.notice };
                            perform(effect, &self.engine, &mut self.journal, backend, now, &mut tail, &mut inputs, &mut timers, &mut Vec::new(), Operator::Person).await;
                        }
                        return (self.engine.status().clone(), self.engine);
                    }
                },
                answer = async { Some(looking.as_mut()?.await) }, if looking.is_some() => {
                    looking = None;
                    if let Some(answer) = answer {
                        look.answered(answer, &mut inputs);
                    }
                }
                seen = async { Some(round.as_mut()?.await) }, if round.is_some() => {
                    round = None;
                    for (name, status) in seen.unwrap_or_default() {
                        match &status {
                            Ok(_) => self.view.errors.remove(&name),
                            Err(e) => self.view.errors.insert(name.clone(), e.to_string()),
                        };
                        inputs.push_back(Input::Observed { resource: name, status });
                    }
                }
                () = tokio::time::sleep(sleep) => {
                    self.clock.catch_up(next, needed);
                    // No tick while an answer is on its way: a step's timeout is judged once
                    // it is in (each call and command is bounded by its own timeout), or a late
                    // answer would be dropped unjournaled and a retry could race it.
                    if !waiting {
                        inputs.push_back(Input::Tick);
                    }
                }
            }
        }
    }
}

type Round<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Observation>> + 'a>>;

/// Publishes a fresh view when something changed or a second passed.
fn publish(
    e: &Engine,
    v: &mut RunView,
    now: DateTime<Utc>,
    estimate: &RtoEstimate,
    journal: &Journal,
    views: &watch::Sender<Arc<RunView>>,
    changed: bool,
) {
    let second_passed = now.timestamp() != v.now.timestamp();
    if !changed && !second_passed {
        return;
    }
    v.now = now;
    v.started_at = e.started_at();
    v.status = e.status().clone();
    v.current = e.current();
    v.steps = e.steps().to_vec();
    v.progress = super::follow::progress_of(e);
    v.outputs = e.outputs().clone();
    v.observations = e
        .runbook()
        .resources
        .keys()
        .filter_map(|k| e.observation(k).map(|o| (k.clone(), o.clone())))
        .collect();
    v.projected = projected_recovery(e, estimate, now, None);
    v.preview = e
        .runbook()
        .steps
        .get(e.current())
        .and_then(|s| e.preview(s));
    v.journal = Some(journal.path().to_path_buf());
    v.version += 1;
    views.send_replace(Arc::new(v.clone()));
}
