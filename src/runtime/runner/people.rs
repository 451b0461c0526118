//! People's steps: the operator marks a manual step, or a drill's command step, done; in a
//! drill, one done in under a quarter of its expectation was not really timed.

use chrono::TimeDelta;

use super::*;

impl<B, C, O> Runner<B, C, O>
where
    B: Observe + Mutate + Send + Sync + 'static,
    C: Clock,
    O: Observer,
{
    /// The operator marks the current manual step done. In a drill, one done in under a quarter
    /// of its expected time was not really timed: simulated time moves on by the rest of its
    /// expected time, and the step says its duration is assumed.
    pub fn manual_done(&mut self) {
        let e = &self.engine;
        let i = e.current();
        let command = e
            .runbook()
            .steps
            .get(i)
            .is_some_and(|s| s.kind() == crate::runbook::StepKind::Command);
        let untimed = match (e.runbook().steps.get(i), e.steps().get(i)) {
            // Only a people's step being done now: a press that arrives once the run has moved
            // on (a double press, a screen that has not caught up) must not move the clock.
            (Some(step), Some(run))
                if e.is_drill()
                    && (step.kind() == crate::runbook::StepKind::Manual
                        || (command && self.held_command.is_some()))
                    && (run.state == crate::engine::StepState::Running
                        || e.approval(i).is_some())
                    && *e.status() == crate::engine::RunStatus::Running =>
            {
                // Judged against its expectation, or the default a drill gives people's work
                // without one. What stands in for an untimed step is its expectation: that
                // default for a manual step, nothing for a command without one (as unattended).
                let judged = step.expected_duration().unwrap_or(MANUAL_STEP_DEFAULT);
                let stands_in = match command {
                    true => step.expected_duration().unwrap_or_default(),
                    false => judged,
                };
                let secs = |d: Duration| TimeDelta::seconds(d.as_secs() as i64);
                run.started_at.and_then(|started| {
                    let took = self.clock.now() - started;
                    (took * 4 < secs(judged))
                        .then(|| (secs(stands_in) - took).max(TimeDelta::zero()))
                })
            }
            _ => None,
        };
        if let Some(rest) = untimed {
            self.clock.skip(rest);
        }
        match (command, self.held_command.take()) {
            (true, Some((step, attempt, result))) => self.push(Input::CommandMarkedDone {
                step,
                attempt,
                result,
                assumed: untimed.is_some(),
            }),
            (_, held) => {
                self.held_command = held;
                match untimed {
                    Some(_) => self.push(Input::ManualAssumed),
                    None => self.push(Input::ManualDone),
                }
            }
        }
    }

    /// Whether a drill's command step waits for the operator to mark it done.
    pub fn command_held(&self) -> bool {
        self.held_command.is_some()
    }
}
