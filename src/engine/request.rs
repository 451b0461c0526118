//! Requests: the intent of an action's or a command's attempt, written before anything goes out.

use chrono::{DateTime, Utc};

use super::plan::render;
use super::{AfterAck, Effect, Engine};
use crate::audit::event::Intent;
use crate::audit::Event;
use crate::model::ActionPlan;
use crate::runbook::StepBody;

impl Engine {
    /// Writes the intent of `attempt` of the current command step; the command runs after its
    /// acknowledgement.
    pub(super) fn command_intent(
        &mut self,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
        attempt: u32,
        resend: bool,
    ) {
        let i = self.state.current;
        let step = self.runbook.steps[i].clone();
        let StepBody::Command { run: command, .. } = &step.body else {
            return;
        };
        // The machine before may have run it in its last seconds: a person checks first (a
        // drill's simulated commands just run).
        if self.tail_lost && !resend && !self.rerun_interrupted_commands {
            self.tail_lost = false;
            let why = "the run was taken up from its mirror, which may lack the last seconds of the machine that ran it before: check whether this command (or anything after it) ran there, then retry to run it, or skip";
            return self.fail_now(why.to_string(), now, fx);
        }
        match command.render(&self.outputs_with_run(Some(now))) {
            Ok(command) => {
                let intent = Intent {
                    attempt,
                    command: Some(command.clone()),
                    plan: None,
                    resend,
                };
                let after = AfterAck::RunCommand {
                    step: i,
                    attempt,
                    command,
                };
                self.emit(fx, now, Some(i), Event::Intent(intent), after);
            }
            Err(r) => {
                let why = format!("`{{{{{r}}}}}` is not known");
                self.attempt_failed_at(attempt, why, now, fx)
            }
        }
    }

    /// Writes the intent of `attempt` of the current action step; the request follows its
    /// acknowledgement.
    pub(super) fn request_change(
        &mut self,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
        attempt: u32,
        resend: bool,
    ) {
        let i = self.state.current;
        let step = self.runbook.steps[i].clone();
        let StepBody::Action { call, resource, .. } = &step.body else {
            return;
        };
        let Some(res) = self.runbook.resources.get(resource) else {
            return;
        };
        let run_id = &self.state.run_id;
        match render(
            call,
            res,
            &step.id,
            attempt,
            run_id,
            &self.outputs_with_run(Some(now)),
        ) {
            Ok(plan) => {
                let since = self.state.steps[i].first_request_at.unwrap_or(now);
                let plan = ActionPlan {
                    since: Some(since),
                    ..plan
                };
                let intent = Intent {
                    attempt,
                    command: None,
                    plan: Some(plan),
                    resend,
                };
                // A change the machine before may have sent: the cloud is asked first.
                let after = match self.tail_lost && !resend {
                    true => AfterAck::ReconcileFirst { step: i, attempt },
                    false => AfterAck::SendMutate { step: i, attempt },
                };
                self.emit(fx, now, Some(i), Event::Intent(intent), after);
            }
            Err(e) => {
                let why = format!("cannot prepare the request: {e}");
                self.attempt_failed_at(attempt, why, now, fx)
            }
        }
    }
}
