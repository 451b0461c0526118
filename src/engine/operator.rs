//! What the operator decides about the current step besides its gate: skip it, retry it after a
//! failure, or abort the run; each needs a reason and is journaled.

use chrono::{DateTime, Utc};

use super::{AfterAck, Effect, Engine, StepState};
use crate::audit::event::{RunAborted, StepRetried, StepSkipped};
use crate::audit::Event;
use crate::runbook::StepBody;

impl Engine {
    pub(super) fn operator_skip(
        &mut self,
        reason: String,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        if reason.trim().is_empty() {
            return fx.push(Effect::Refused("say why you skip this step".into()));
        }
        let Some((step, state)) = self.current_step() else {
            return fx.push(Effect::Refused("no step to skip".into()));
        };
        if state == StepState::Running
            && matches!(
                step.body,
                StepBody::Action { .. } | StepBody::Command { .. }
            )
        {
            return fx.push(Effect::Refused(
                "a change is in flight; wait for its answer first".into(),
            ));
        }
        let i = self.state.current;
        self.next_poll_off(i);
        let skipped = Event::StepSkipped(StepSkipped { reason });
        self.emit(fx, now, Some(i), skipped, AfterAck::Nothing);
        self.enter_step(now, fx);
    }

    pub(super) fn operator_retry(
        &mut self,
        reason: String,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        if reason.trim().is_empty() {
            return fx.push(Effect::Refused("say why you retry this step".into()));
        }
        let Some((_, StepState::Failed)) = self.current_step() else {
            return fx.push(Effect::Refused("only a failed step can be retried".into()));
        };
        let i = self.state.current;
        let retried = StepRetried {
            attempt: self.state.steps[i].attempt + 1,
            auto: false,
            reason: Some(reason),
            ..StepRetried::default()
        };
        self.emit(
            fx,
            now,
            Some(i),
            Event::StepRetried(retried),
            AfterAck::Nothing,
        );
        // Paused at its gate (a guard alarm): the gate opens again, nothing was approved.
        let step = self.runbook.steps[i].clone();
        if step.gate.is_some() && self.state.steps[i].approved.is_none() {
            return self.show_gate_or_begin(&step, now, fx);
        }
        self.begin_attempt(now, fx);
    }

    pub(super) fn abort(&mut self, reason: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let i = self.state.current;
        let step = (i < self.runbook.steps.len()).then_some(i);
        let aborted = Event::RunAborted(RunAborted { reason });
        self.emit(fx, now, step, aborted, AfterAck::Nothing);
        fx.push(Effect::Finished(self.state.status.clone()));
    }
}
