//! The journal's acknowledgements and the cloud's answers: a change goes out only after its
//! intent is durable, and only for the attempt that wrote it; an answer counts only for a
//! request actually in flight.

use chrono::{DateTime, Utc};

use super::{AfterAck, Approval, Effect, Engine, RunStatus, StepState};
use crate::audit::{Entry, Event};

impl Engine {
    /// Whether `attempt` of step `step` is the current step's attempt, still waiting to send.
    fn attempt_still_requesting(&self, step: usize, attempt: u32) -> bool {
        step == self.current
            && matches!(self.status, RunStatus::Running)
            && self.steps.get(step).is_some_and(|r| {
                r.attempt == attempt && r.state == StepState::Running && r.awaiting.is_none()
            })
    }

    /// Whether an answer is for the request in flight: right step, right attempt, and a request
    /// of that attempt was actually sent and not yet answered.
    fn is_awaited(&self, step: &str, attempt: u32) -> bool {
        self.is_current_attempt(step, attempt)
            && self.steps[self.current].awaiting == Some(attempt)
            && self.steps[self.current].state == StepState::Running
    }

    pub(super) fn is_current_attempt(&self, step: &str, attempt: u32) -> bool {
        self.runbook
            .steps
            .get(self.current)
            .is_some_and(|s| s.id == step)
            && self.steps[self.current].attempt == attempt
            && matches!(self.status, RunStatus::Running)
    }

    /// Emits a record to journal, remembering what to do once it is durable.
    pub(super) fn record(
        &mut self,
        fx: &mut Vec<Effect>,
        at: DateTime<Utc>,
        event: Event,
        step: Option<String>,
        detail: serde_json::Value,
        after: AfterAck,
    ) {
        self.acks.push_back(after);
        fx.push(Effect::Record(Entry {
            at,
            event,
            step,
            detail,
        }));
    }

    pub(super) fn acknowledged(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        // An acknowledgement with nothing pending is the runtime's mistake: it must not shift
        // the sequence numbers approvals rest on.
        let Some(after) = self.acks.pop_front() else {
            return;
        };
        let seq = self.acked;
        self.acked += 1;
        match after {
            AfterAck::Nothing => {}
            AfterAck::MintApproval { step, unattended } => {
                if step == self.current {
                    let id = self.runbook.steps[step].id.clone();
                    self.steps[step].approval = Some(Approval::mint(&id, seq, unattended));
                    self.begin_attempt(now, fx);
                }
            }
            // A change goes out only for the attempt whose intent this was, and only while that
            // attempt still stands (it may have timed out, been skipped, or been superseded).
            AfterAck::SendMutate { step, attempt } => {
                if !self.attempt_still_requesting(step, attempt) {
                    return;
                }
                let run = &mut self.steps[step];
                if let (Some(plan), Some(approval)) = (&run.plan, &run.approval) {
                    if plan.attempt == attempt {
                        fx.push(Effect::Mutate {
                            plan: plan.clone(),
                            approval: approval.clone(),
                        });
                        run.awaiting = Some(attempt);
                    }
                }
            }
            AfterAck::RunCommand {
                step,
                attempt,
                command,
            } => {
                if !self.attempt_still_requesting(step, attempt) {
                    return;
                }
                let run = &mut self.steps[step];
                if let Some(approval) = &run.approval {
                    fx.push(Effect::RunCommand {
                        step: self.runbook.steps[step].id.clone(),
                        attempt,
                        command,
                        approval: approval.clone(),
                    });
                    run.awaiting = Some(attempt);
                }
            }
        }
    }

    /// Whether an answer is awaited for `attempt` of `step`; if so it is taken (a second answer
    /// to the same request changes nothing).
    pub(super) fn take_awaited(&mut self, step: &str, attempt: u32) -> bool {
        if !self.is_awaited(step, attempt) {
            return false;
        }
        self.steps[self.current].awaiting = None;
        true
    }
}
