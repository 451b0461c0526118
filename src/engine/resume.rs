//! Continuing a run rebuilt from its journal ([`Engine::from_records`]) without requesting
//! anything twice: what the journal shows in flight is reconciled with the cloud first.

use chrono::{DateTime, Utc};

use super::flow::Done;
use super::{AfterAck, AfterOutcome, Effect, Engine, RunStatus, StepState, WaitFor};
use crate::audit::event::RunResumed;
use crate::audit::Event;
use crate::runbook::StepBody;

impl Engine {
    /// Records the resumption and picks up where the run stopped.
    pub(super) fn resume_effects(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if !matches!(self.status(), RunStatus::Running | RunStatus::Blocked(_)) {
            return fx.push(Effect::Refused(
                "this run has already ended; start a new one".into(),
            ));
        }
        let resumed = RunResumed {
            at_step: self.current_id(),
            run_id: self.state.run_id.clone(),
            aws: self.resumed_as.clone(),
            took_over_from: self.took_over_from.clone(),
        };
        self.emit(fx, now, None, Event::RunResumed(resumed), AfterAck::Nothing);
        let i = self.state.current;
        let Some(step) = self.runbook.steps.get(i).cloned() else {
            return self.enter_step(now, fx);
        };
        if matches!(self.status(), RunStatus::Blocked(_)) {
            return;
        }
        // The journal ends before this step's start was recorded: start it properly.
        if self.state.steps[i].started_at.is_none() {
            return self.enter_step(now, fx);
        }
        // The journal ends right after an outcome: finish what the lost records would have said.
        match self.state.after_outcome.clone() {
            Some(AfterOutcome::Succeeded) => return self.succeed(now, Done::Resumed, fx),
            Some(AfterOutcome::Failed(why)) => return self.attempt_failed(why, now, fx),
            Some(AfterOutcome::Uncertain(error)) => {
                return self.fail_now(super::flow::uncertain_failure(&error), now, fx)
            }
            None => {}
        }
        let run = &self.state.steps[i];
        match (run.state, &step.body) {
            // An operator's retry was recorded, but its attempt had not begun.
            (StepState::Waiting, _) if run.wait.is_none() => self.begin_attempt(now, fx),
            (StepState::Pending | StepState::AwaitingGate, _) if run.approved.is_none() => {
                self.show_gate_or_begin(&step, now, fx)
            }
            // Approved, but the attempt had not begun.
            (StepState::AwaitingGate | StepState::Pending, _) => self.begin_attempt(now, fx),
            (StepState::Running, StepBody::Action { .. }) => match run.plan.clone() {
                // The intent is durable but its outcome is not: ask the cloud what happened
                // before sending anything again.
                Some(plan) if self.state.in_flight == Some(i) => {
                    self.live[i].awaiting = Some(plan.attempt);
                    fx.push(Effect::Reconcile { plan })
                }
                _ => {
                    let attempt = run.attempt;
                    self.request_change(now, fx, attempt, false)
                }
            },
            (StepState::Running, StepBody::Command { .. }) if self.rerun_interrupted_commands => {
                let attempt = run.attempt;
                self.command_intent(now, fx, attempt, true)
            }
            (StepState::Running, StepBody::Command { .. }) => {
                let why = "interrupted while its command ran; check by hand whether it finished, then retry or skip";
                self.fail_now(why.to_string(), now, fx);
            }
            (StepState::Running, _) => fx.push(Effect::AwaitOperator {
                step: step.id.clone(),
            }),
            (StepState::Verifying, StepBody::Check { expect }) => fx.push(Effect::Observe {
                resource: expect.resource.clone(),
            }),
            (
                StepState::Waiting,
                StepBody::Action { .. } | StepBody::Wait { until: Some(_), .. },
            ) if !matches!(run.wait, Some(WaitFor::Backoff(_))) => {
                self.live[i].next_poll = Some(now)
            }
            _ => {}
        }
    }
}
