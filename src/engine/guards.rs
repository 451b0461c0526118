//! Guard alarms: a `cloudwatch-alarm` a step is guarded by, in ALARM while the step waits at
//! its gate (or a wait step waits), pauses the run there until the operator decides.

use chrono::{DateTime, Utc};

use super::{AfterAck, Effect, Engine, StepState};
use crate::audit::event::{Event, StepFailed};
use crate::runbook::StepBody;

impl Engine {
    /// A guard alarm of the current step in ALARM, by the latest look: (resource, its state).
    /// Judged while the step waits at its gate, or a wait step waits (nothing of its own in
    /// flight); an alarm the operator went on despite no longer guards it.
    pub(super) fn guard_in_alarm(&self) -> Option<(String, String)> {
        let (step, state) = self.current_step()?;
        let run = &self.state.steps[self.state.current];
        let waiting = state == StepState::AwaitingGate
            || (state == StepState::Waiting && matches!(step.body, StepBody::Wait { .. }));
        if !waiting || run.approved.is_some() {
            return None;
        }
        self.runbook.guards_of(step).into_iter().find_map(|g| {
            let seen = self.seen.get(g)?;
            (seen.health == crate::runbook::Health::Unavailable
                && !run.guards_overridden.iter().any(|o| o == g))
            .then(|| (g.to_string(), seen.state.clone()))
        })
    }

    /// Pauses the run at the current step: a guard alarm is in ALARM. The operator decides
    /// (retry with a reason to go on despite it, skip, abort); nothing of the step was sent.
    pub(super) fn guard_trip(
        &mut self,
        guard: String,
        state: String,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let i = self.state.current;
        let attempt = self.state.steps[i].attempt;
        let failed = StepFailed {
            attempt,
            error: format!(
                "paused: guard alarm {guard} is in ALARM ({state}); nothing of this step was sent: retry with a reason to go on despite it, skip the step, or abort"
            ),
            guard: Some(guard),
        };
        self.emit(
            fx,
            now,
            Some(i),
            Event::StepFailed(failed),
            AfterAck::Nothing,
        );
    }
}
