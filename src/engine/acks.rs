//! The journal's acknowledgements and the cloud's answers: a change goes out only after its
//! intent is durable, and only for the attempt that wrote it; an answer counts only for a
//! request actually in flight.

use chrono::{DateTime, Utc};

use super::{AfterAck, Approval, Effect, Engine, RunStatus, StepState};

impl Engine {
    /// Whether `attempt` of step `step` is the current step's attempt, still waiting to send.
    fn attempt_still_requesting(&self, step: usize, attempt: u32) -> bool {
        step == self.state.current
            && matches!(self.status(), RunStatus::Running)
            && self
                .state
                .steps
                .get(step)
                .is_some_and(|r| r.attempt == attempt && r.state == StepState::Running)
            && self.live.get(step).is_some_and(|l| l.awaiting.is_none())
    }

    /// Whether an answer is for the request in flight: right step, right attempt, and a request
    /// of that attempt was actually sent and not yet answered.
    fn is_awaited(&self, step: &str, attempt: u32) -> bool {
        let i = self.state.current;
        self.is_current_attempt(step, attempt)
            && self.live[i].awaiting == Some(attempt)
            && self.state.steps[i].state == StepState::Running
    }

    pub(super) fn is_current_attempt(&self, step: &str, attempt: u32) -> bool {
        let i = self.state.current;
        self.runbook.steps.get(i).is_some_and(|s| s.id == step)
            && self.state.steps[i].attempt == attempt
            && matches!(self.status(), RunStatus::Running)
    }

    /// The capability to change things for step `step` (by index): minted only from a gate
    /// approval whose record the journal has acknowledged as durable.
    pub fn approval(&self, step: usize) -> Option<Approval> {
        let approved = self.state.steps.get(step)?.approved?;
        if approved.seq >= self.acked {
            return None;
        }
        let id = &self.runbook.steps.get(step)?.id;
        Some(Approval::mint(id, approved.seq, approved.unattended))
    }

    pub(super) fn acknowledged(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        // An acknowledgement with nothing pending is the runtime's mistake: it must not shift
        // the sequence numbers approvals rest on.
        let Some(after) = self.acks.pop_front() else {
            return;
        };
        self.acked += 1;
        match after {
            AfterAck::Nothing => {}
            AfterAck::BeginRollback { .. } | AfterAck::SendRollback { .. } => {
                self.rollback_acknowledged(after, now, fx)
            }
            AfterAck::BeginAttempt { step } => {
                if step == self.state.current {
                    self.begin_attempt(now, fx);
                }
            }
            // A change goes out only for the attempt whose intent this was, and only while that
            // attempt still stands (it may have timed out, been skipped, or been superseded).
            // One the machine before may have sent is looked for in the cloud first.
            AfterAck::SendMutate { step, attempt } | AfterAck::ReconcileFirst { step, attempt } => {
                if !self.attempt_still_requesting(step, attempt) {
                    return;
                }
                let plan = self.state.steps[step]
                    .plan
                    .clone()
                    .filter(|p| p.attempt == attempt);
                let first = matches!(after, AfterAck::ReconcileFirst { .. });
                match (plan, self.approval(step)) {
                    (Some(plan), _) if first => fx.push(Effect::Reconcile { plan }),
                    (Some(plan), Some(approval)) => fx.push(Effect::Mutate { plan, approval }),
                    _ => return,
                }
                self.live[step].awaiting = Some(attempt);
            }
            AfterAck::RunCommand {
                step,
                attempt,
                command,
            } => {
                if !self.attempt_still_requesting(step, attempt) {
                    return;
                }
                if let Some(approval) = self.approval(step) {
                    fx.push(Effect::RunCommand {
                        step: self.runbook.steps[step].id.clone(),
                        attempt,
                        command,
                        approval,
                    });
                    self.live[step].awaiting = Some(attempt);
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
        self.live[self.state.current].awaiting = None;
        true
    }
}
