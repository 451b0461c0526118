//! The life of a step: started → gate → attempt (observe / request / wait) → done or failed,
//! with retries, timeouts and operator commands. Every transition is a journal record.

use chrono::{DateTime, Utc};

use super::{AfterAck, Effect, Engine, Input, RunStatus, StepState};
use crate::audit::event::{
    AttemptBegun, Outcome, PlannedStep, RunFinished, RunPaused, RunStarted, StepStarted,
};
use crate::audit::Event;
use crate::model::Started;
use crate::runbook::{Step, StepBody};

impl Engine {
    pub(super) fn dispatch(&mut self, input: Input, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        match input {
            Input::Start => {
                if self.state.status != RunStatus::NotStarted {
                    return fx.push(Effect::Refused("the run has already started".into()));
                }
                let steps = self
                    .runbook
                    .steps
                    .iter()
                    .map(|s| PlannedStep {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        kind: Some(s.kind()),
                        expected_secs: s.expected_duration().map(|d| d.as_secs()),
                    })
                    .collect();
                let started = RunStarted {
                    context: self.context.clone(),
                    failback_target_secs: self.runbook.targets.failback.map(|d| d.as_secs()),
                    restores_service: self
                        .runbook
                        .steps
                        .iter()
                        .find(|s| s.restores_service)
                        .map(|s| s.id.clone()),
                    rto_target_secs: self.runbook.targets.rto.as_secs(),
                    run_id: self.state.run_id.clone(),
                    steps,
                    title: self.runbook.title.clone(),
                };
                self.emit(fx, now, None, Event::RunStarted(started), AfterAck::Nothing);
                self.enter_step(now, fx);
            }
            Input::Resume => self.resume_effects(now, fx),
            Input::Pause => {
                if matches!(self.status(), RunStatus::Running | RunStatus::Blocked(_)) {
                    let at_step = match self.rollback_in_hand() {
                        Some(i) => Some(super::rollback_key(&self.runbook.steps[i].id)),
                        None => self.current_id(),
                    };
                    let paused = Event::RunPaused(RunPaused { at_step });
                    self.emit(fx, now, None, paused, AfterAck::Nothing);
                }
            }
            Input::Recorded => self.acknowledged(now, fx),
            Input::JournalFailed(why) => {
                let status = RunStatus::Aborted(format!("journal failure: {why}"));
                self.journal_failure = Some(status.clone());
                self.acks.clear();
                fx.push(Effect::Finished(status));
            }
            Input::Gate(decision) => self.gate_decision(decision, now, fx),
            Input::SecondApproval(second) => self.second_approval(second, now, fx),
            Input::ManualDone | Input::ManualAssumed => match self.current_step() {
                Some((step, StepState::Running)) if matches!(step.body, StepBody::Manual) => {
                    let done = if input == Input::ManualAssumed {
                        Done::Assumed
                    } else {
                        Done::Note("marked done".into())
                    };
                    self.succeed(now, done, fx)
                }
                // Only once its approval is durable.
                Some((_, StepState::AwaitingGate))
                    if self.manual_gate_passed(self.state.current)
                        && self.approval(self.state.current).is_some() =>
                {
                    let done = if input == Input::ManualAssumed {
                        Done::Assumed
                    } else {
                        Done::Note("done at its gate".into())
                    };
                    self.succeed(now, done, fx)
                }
                _ => fx.push(Effect::Refused("no manual step is in progress".into())),
            },
            Input::LivePreview {
                step,
                attempt,
                preview,
            } => self.live_preview(&step, attempt, preview),
            Input::Skip { reason } => self.operator_skip(reason, now, fx),
            Input::Retry { reason } => self.operator_retry(reason, now, fx),
            Input::Abort { reason } => {
                if reason.trim().is_empty() {
                    return fx.push(Effect::Refused("say why you abort the run".into()));
                }
                if self.change_in_flight() {
                    // Its answer says what was made; an abort now would lose it from the journal.
                    return fx.push(Effect::Refused(
                        "a change request is in flight; abort once it has answered (it is bounded by the cloud's timeout)".into(),
                    ));
                }
                self.abort(reason, now, fx);
            }
            Input::Observed { resource, status } => self.observed(resource, status, now, fx),
            Input::Started {
                step,
                attempt,
                result,
            } if self.take_awaited(&step, attempt) => match result {
                Ok(started) => self.action_started(started, now, fx),
                Err(e) => {
                    let uncertain = e.may_have_happened();
                    let outcome = Outcome {
                        attempt,
                        error: Some(e.to_string()),
                        uncertain: uncertain.then_some(true),
                        ..Outcome::default()
                    };
                    let i = self.state.current;
                    self.emit(fx, now, Some(i), Event::Outcome(outcome), AfterAck::Nothing);
                    // No answer is not a "no": the change may have happened. Only a definite
                    // refusal is retried automatically.
                    if uncertain {
                        self.fail_now(uncertain_failure(&e.to_string()), now, fx)
                    } else {
                        self.attempt_failed(e.to_string(), now, fx)
                    }
                }
            },
            Input::Reconciled {
                step,
                attempt,
                result,
            } if self.take_awaited(&step, attempt) => match result {
                Ok(Some(started)) => self.action_started(
                    Started {
                        adopted: true,
                        ..started
                    },
                    now,
                    fx,
                ),
                Ok(None) => {
                    // Not sent before: the machine before got no further than this.
                    self.tail_lost = false;
                    let attempt = self.state.steps[self.state.current].attempt;
                    self.request_change(now, fx, attempt, true)
                }
                // Not knowing what the first request did, nothing new may be sent.
                Err(e) => self.fail_now(
                    format!("could not learn what the request before the restart did ({e}); check it, then retry or skip"),
                    now,
                    fx,
                ),
            },
            Input::CommandDone {
                step,
                attempt,
                result,
            } if self.take_awaited(&step, attempt) => {
                self.command_done(result, Done::Plain, now, fx)
            }
            Input::CommandMarkedDone {
                step,
                attempt,
                result,
                assumed,
            } if self.take_awaited(&step, attempt) => {
                let done = if assumed {
                    Done::Assumed
                } else {
                    Done::Note("marked done".into())
                };
                self.command_done(result, done, now, fx)
            }
            Input::Progress {
                step,
                attempt,
                result,
            } if self.is_current_attempt(&step, attempt) => self.progress(result, now, fx),
            // Answers to requests not in flight (stale, or never sent) change nothing.
            Input::Started { .. }
            | Input::Reconciled { .. }
            | Input::CommandDone { .. }
            | Input::CommandMarkedDone { .. }
            | Input::Progress { .. } => {}
            Input::Tick => self.tick(now, fx),
            // Handled before: a rollback begins whatever the run's state.
            Input::Rollback { .. } => {}
        }
    }

    /// Whether a change request of the current step was sent and has not answered yet.
    fn change_in_flight(&self) -> bool {
        matches!(
            self.current_step(),
            Some((step, StepState::Running)) if matches!(step.body, StepBody::Action { .. })
        ) && self.live[self.state.current].awaiting.is_some()
    }

    pub(super) fn current_step(&self) -> Option<(&Step, StepState)> {
        let i = self.state.current;
        let step = self.runbook.steps.get(i)?;
        Some((step, self.state.steps[i].state))
    }

    /// The current step's id, if the run has not gone past its last step.
    pub(super) fn current_id(&self) -> Option<String> {
        self.runbook
            .steps
            .get(self.state.current)
            .map(|s| s.id.clone())
    }

    /// Starts the current step (or finishes the run after the last one).
    pub(super) fn enter_step(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let i = self.state.current;
        let Some(step) = self.runbook.steps.get(i).cloned() else {
            let took = self.state.started_at.map_or(0, |s| (now - s).num_seconds());
            let finished = Event::RunFinished(RunFinished {
                duration_secs: took,
            });
            self.emit(fx, now, None, finished, AfterAck::Nothing);
            fx.push(Effect::Finished(RunStatus::Finished));
            return;
        };
        let started = StepStarted {
            expected_secs: step.expected_duration().map(|d| d.as_secs()),
            kind: Some(step.kind()),
            title: step.title.clone(),
        };
        // Without a gate, a check, manual or wait step's attempt begins with this record.
        self.emit(
            fx,
            now,
            Some(i),
            Event::StepStarted(started),
            AfterAck::Nothing,
        );
        self.show_gate_or_begin(&step, now, fx);
    }

    /// Begins a new attempt of the current step's body.
    pub(super) fn begin_attempt(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let i = self.state.current;
        let step = self.runbook.steps[i].clone();
        let live = &mut self.live[i];
        live.awaiting = None;
        live.next_poll = None;
        live.live_preview = None;
        let attempt = self.state.steps[i].attempt + 1;
        match &step.body {
            // A manual step's gate is its one question: passing it says the step is done.
            StepBody::Manual if self.manual_gate_passed(i) => fx.push(Effect::DoneAtGate {
                step: step.id.clone(),
            }),
            // Actions and commands record each attempt in their intent.
            StepBody::Action { .. } => self.request_change(now, fx, attempt, false),
            StepBody::Command { .. } => self.command_intent(now, fx, attempt, false),
            _ => {
                let begun = AttemptBegun {
                    attempt,
                    begin: true,
                    kind: Some(step.kind()),
                    retry: attempt > 1,
                    title: step.title.clone(),
                };
                self.emit(
                    fx,
                    now,
                    Some(i),
                    Event::AttemptBegun(begun),
                    AfterAck::Nothing,
                );
                self.attempt_effects(fx);
            }
        }
    }

    /// Whether step `i` is a manual step whose gate has been approved (and so is done once the
    /// runtime has timed it).
    pub(super) fn manual_gate_passed(&self, i: usize) -> bool {
        let manual = self
            .runbook
            .steps
            .get(i)
            .is_some_and(|s| matches!(s.body, StepBody::Manual) && s.gate.is_some());
        manual
            && self
                .state
                .steps
                .get(i)
                .is_some_and(|r| r.approved.is_some())
    }

    /// What a check, manual or wait step's attempt that has begun needs from the runtime.
    pub(super) fn attempt_effects(&mut self, fx: &mut Vec<Effect>) {
        let Some((step, _)) = self.current_step() else {
            return;
        };
        match &step.body {
            StepBody::Check { expect } => fx.push(Effect::Observe {
                resource: expect.resource.clone(),
            }),
            StepBody::Manual => fx.push(Effect::AwaitOperator {
                step: step.id.clone(),
            }),
            StepBody::Wait { until: Some(c), .. } => fx.push(Effect::Observe {
                resource: c.resource.clone(),
            }),
            _ => {}
        }
    }

    pub(super) fn action_started(
        &mut self,
        started: Started,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let i = self.state.current;
        let attempt = self.state.steps[i].attempt;
        let outcome = Outcome {
            adopted: Some(started.adopted),
            attempt,
            ok: true,
            outputs: Some(started.outputs),
            ..Outcome::default()
        };
        self.emit(fx, now, Some(i), Event::Outcome(outcome), AfterAck::Nothing);
        match self.state.steps[i].state {
            // Waiting for the target state (`wait_until`): follow it.
            StepState::Waiting => {
                let id = &self.runbook.steps[i].id;
                if let Some(plan) = &self.state.steps[i].plan {
                    let plan = plan.with_made(self.state.outputs.get(id));
                    fx.push(Effect::Poll { plan });
                }
            }
            _ => self.succeed(now, Done::Plain, fx),
        }
    }
}

/// What a step's success record says beyond its outputs and duration.
pub(super) enum Done {
    Plain,
    Note(String),
    /// A manual step whose expected duration stands in for its time.
    Assumed,
    Observed(String),
    State(String),
    Resumed,
}

/// Why a step whose change request got no definite answer fails: the same words live and when
/// a resumed run finishes what the journal's outcome began.
pub(super) fn uncertain_failure(error: &str) -> String {
    format!("{error}; the change may have happened: check it before you retry")
}
