//! The life of a step: started → gate → attempt (observe / request / wait) → done or failed,
//! with retries, timeouts and operator commands. Every transition is journaled.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::plan::{render, ActionPlan};
use super::{AfterAck, Effect, Engine, Input, RunStatus, StepState, WaitFor};
use crate::audit::Event;
use crate::cloud::model::{CloudError, Started};
use crate::runbook::{Step, StepBody};

fn secs(d: crate::runbook::Duration) -> TimeDelta {
    TimeDelta::seconds(d.as_secs() as i64)
}

impl Engine {
    pub(super) fn dispatch(&mut self, input: Input, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        match input {
            Input::Start => {
                if self.status != RunStatus::NotStarted {
                    return fx.push(Effect::Refused("the run has already started".into()));
                }
                self.status = RunStatus::Running;
                self.started_at = Some(now);
                let steps: Vec<_> = self
                    .runbook
                    .steps
                    .iter()
                    .map(|s| {
                        json!({"id": s.id, "title": s.title, "kind": s.kind().name(),
                        "expected_secs": s.expected_duration().map(|d| d.as_secs())})
                    })
                    .collect();
                let detail = json!({"run_id": self.run_id, "title": self.runbook.title,
                    "rto_target_secs": self.runbook.targets.rto.as_secs(), "steps": steps,
                    "context": self.context});
                self.record(fx, now, Event::RunStarted, None, detail, AfterAck::Nothing);
                self.enter_step(now, fx);
            }
            Input::Resume => self.resume_effects(now, fx),
            Input::Pause => {
                if matches!(self.status, RunStatus::Running | RunStatus::Blocked(_)) {
                    let at_step = self.runbook.steps.get(self.current).map(|s| s.id.clone());
                    let detail = json!({"at_step": at_step});
                    self.record(fx, now, Event::RunPaused, None, detail, AfterAck::Nothing);
                }
            }
            Input::Recorded => self.acknowledged(now, fx),
            Input::JournalFailed(why) => {
                self.status = RunStatus::Aborted(format!("journal failure: {why}"));
                self.acks.clear();
                fx.push(Effect::Finished(self.status.clone()));
            }
            Input::Gate(decision) => self.gate_decision(decision, now, fx),
            Input::ManualDone => match self.current_step() {
                Some((step, StepState::Running)) if matches!(step.body, StepBody::Manual) => {
                    self.succeed(now, json!({"note": "marked done"}), fx)
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
                    let detail = json!({"ok": false, "attempt": attempt, "error": e.to_string()});
                    self.record(
                        fx,
                        now,
                        Event::Outcome,
                        Some(step),
                        detail,
                        AfterAck::Nothing,
                    );
                    // No answer is not a "no": the change may have happened. Only a definite
                    // refusal is retried automatically.
                    match e {
                        CloudError::Timeout(_) => self.fail_now(
                            format!("{e}; the change may have happened: check it before you retry"),
                            now,
                            fx,
                        ),
                        _ => self.attempt_failed(e.to_string(), now, fx),
                    }
                }
            },
            Input::Reconciled {
                step,
                attempt,
                result,
            } if self.take_awaited(&step, attempt) => {
                self.in_flight = None;
                match result {
                    Ok(Some(started)) => self.action_started(
                        Started {
                            adopted: true,
                            ..started
                        },
                        now,
                        fx,
                    ),
                    Ok(None) => self.request_change(now, fx, true),
                    // Not knowing what the first request did, nothing new may be sent.
                    Err(e) => self.fail_now(
                        format!("could not learn what the request before the restart did ({e}); check it, then retry or skip"),
                        now,
                        fx,
                    ),
                }
            }
            Input::CommandDone {
                step,
                attempt,
                result,
            } if self.take_awaited(&step, attempt) => self.command_done(result, now, fx),
            Input::Progress {
                step,
                attempt,
                result,
            } if self.is_current_attempt(&step, attempt) => self.progress(result, now, fx),
            // Answers to requests not in flight (stale, or never sent) change nothing.
            Input::Started { .. }
            | Input::Reconciled { .. }
            | Input::CommandDone { .. }
            | Input::Progress { .. } => {}
            Input::Tick => self.tick(now, fx),
        }
    }

    /// Whether a change request of the current step was sent and has not answered yet.
    fn change_in_flight(&self) -> bool {
        matches!(
            self.current_step(),
            Some((step, StepState::Running)) if matches!(step.body, StepBody::Action { .. })
        ) && self.steps[self.current].awaiting.is_some()
    }

    pub(super) fn current_step(&self) -> Option<(&Step, StepState)> {
        let step = self.runbook.steps.get(self.current)?;
        Some((step, self.steps[self.current].state))
    }

    /// Starts the current step (or finishes the run after the last one).
    pub(super) fn enter_step(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let Some(step) = self.runbook.steps.get(self.current).cloned() else {
            self.status = RunStatus::Finished;
            let took = self.started_at.map_or(0, |s| (now - s).num_seconds());
            self.record(
                fx,
                now,
                Event::RunFinished,
                None,
                json!({"duration_secs": took}),
                AfterAck::Nothing,
            );
            fx.push(Effect::Finished(RunStatus::Finished));
            return;
        };
        let run = &mut self.steps[self.current];
        run.started_at = Some(now);
        let detail = json!({"title": step.title, "kind": step.kind().name(),
            "expected_secs": step.expected_duration().map(|d| d.as_secs())});
        self.record(
            fx,
            now,
            Event::StepStarted,
            Some(step.id.clone()),
            detail,
            AfterAck::Nothing,
        );
        self.show_gate_or_begin(&step, now, fx);
    }

    /// Begins a new attempt of the current step's body.
    pub(super) fn begin_attempt(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let step = self.runbook.steps[self.current].clone();
        let run = &mut self.steps[self.current];
        run.attempt += 1;
        run.awaiting = None;
        run.body_started_at = Some(now);
        run.error = None;
        run.wait = None;
        run.next_poll = None;
        run.plan = None;
        run.live_preview = None;
        let attempt = run.attempt;
        let recorded_elsewhere = matches!(
            step.body,
            StepBody::Action { .. } | StepBody::Command { .. }
        );
        if !recorded_elsewhere && (attempt > 1 || step.gate.is_some()) {
            // Actions and commands record each attempt in their intent. Other steps say here when
            // an attempt begins after a gate or a retry (otherwise step-started says it).
            let detail = json!({"attempt": attempt, "begin": true, "retry": attempt > 1,
                "title": step.title, "kind": step.kind().name()});
            self.record(
                fx,
                now,
                Event::StepStarted,
                Some(step.id.clone()),
                detail,
                AfterAck::Nothing,
            );
        }
        let run = &mut self.steps[self.current];
        match &step.body {
            StepBody::Check { expect } => {
                run.state = StepState::Verifying;
                fx.push(Effect::Observe {
                    resource: expect.resource.clone(),
                });
            }
            StepBody::Manual => {
                run.state = StepState::Running;
                fx.push(Effect::AwaitOperator {
                    step: step.id.clone(),
                });
            }
            StepBody::Wait { until: Some(c), .. } => {
                run.state = StepState::Waiting;
                run.wait = Some(WaitFor::Condition);
                fx.push(Effect::Observe {
                    resource: c.resource.clone(),
                });
            }
            StepBody::Wait { delay, .. } => {
                run.state = StepState::Waiting;
                run.wait = Some(WaitFor::Until(now + secs(delay.unwrap_or_default())));
            }
            StepBody::Action { .. } => self.request_change(now, fx, false),
            StepBody::Command { .. } => self.command_intent(now, fx, false),
        }
    }

    /// Writes the intent of the current command attempt; the command runs after its
    /// acknowledgement.
    pub(super) fn command_intent(
        &mut self,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
        resend: bool,
    ) {
        let step = self.runbook.steps[self.current].clone();
        let StepBody::Command { run: command, .. } = &step.body else {
            return;
        };
        let attempt = self.steps[self.current].attempt;
        match command.render(&self.outputs) {
            Ok(command) => {
                self.steps[self.current].state = StepState::Running;
                let detail = json!({"attempt": attempt, "command": command, "resend": resend});
                let after = AfterAck::RunCommand {
                    step: self.current,
                    attempt,
                    command,
                };
                self.record(fx, now, Event::Intent, Some(step.id.clone()), detail, after);
            }
            Err(r) => self.attempt_failed(format!("`{{{{{r}}}}}` is not known"), now, fx),
        }
    }

    /// Writes the intent of the current action attempt; the request follows its acknowledgement.
    pub(super) fn request_change(
        &mut self,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
        resend: bool,
    ) {
        let step = self.runbook.steps[self.current].clone();
        let StepBody::Action { call, resource, .. } = &step.body else {
            return;
        };
        let Some(res) = self.runbook.resources.get(resource) else {
            return;
        };
        let attempt = self.steps[self.current].attempt;
        match render(call, res, &step.id, attempt, &self.run_id, &self.outputs) {
            Ok(plan) => {
                let run = &mut self.steps[self.current];
                let plan = ActionPlan {
                    since: Some(*run.first_request_at.get_or_insert(now)),
                    ..plan
                };
                run.state = StepState::Running;
                run.plan = Some(plan.clone());
                let detail = json!({"attempt": attempt, "plan": plan, "resend": resend});
                let after = AfterAck::SendMutate {
                    step: self.current,
                    attempt,
                };
                self.record(fx, now, Event::Intent, Some(step.id.clone()), detail, after);
            }
            Err(e) => self.attempt_failed(format!("cannot prepare the request: {e}"), now, fx),
        }
    }

    fn action_started(&mut self, started: Started, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let step = self.runbook.steps[self.current].clone();
        let attempt = self.steps[self.current].attempt;
        let detail = json!({"ok": true, "attempt": attempt, "outputs": started.outputs, "adopted": started.adopted});
        self.record(
            fx,
            now,
            Event::Outcome,
            Some(step.id.clone()),
            detail,
            AfterAck::Nothing,
        );
        self.outputs
            .entry(step.id.clone())
            .or_default()
            .extend(started.outputs);
        match &step.body {
            StepBody::Action {
                wait_until: Some(target),
                ..
            } => {
                let run = &mut self.steps[self.current];
                run.state = StepState::Waiting;
                run.wait = Some(WaitFor::TargetState(target.clone()));
                if let Some(plan) = &run.plan {
                    let plan = plan.with_made(self.outputs.get(&step.id));
                    fx.push(Effect::Poll { plan });
                }
            }
            _ => self.succeed(now, json!({}), fx),
        }
    }
}
