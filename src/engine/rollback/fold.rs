//! A rollback's records applied to the run's [`State`]: the same one transition for a live
//! rollback and for one rebuilt from its journal.

use chrono::{DateTime, Utc};

use super::wait_state;
use crate::audit::event::Outcome;
use crate::audit::Event;
use crate::engine::state::{
    AfterOutcome, Approved, Rollback, RollbackEnd, RunStatus, State, StepRollback, StepState,
};
use crate::runbook::Runbook;

impl State {
    /// Applies a rollback record (`seq` is its sequence number).
    pub(in crate::engine) fn apply_rollback(
        &mut self,
        runbook: &Runbook,
        at: DateTime<Utc>,
        index: Option<usize>,
        event: &Event,
        seq: u64,
    ) {
        match event {
            Event::RollbackStarted(d) => {
                let order = d
                    .steps
                    .iter()
                    .filter_map(|id| runbook.steps.iter().position(|s| s.id == *id))
                    .collect();
                self.rollback = Some(Rollback {
                    order,
                    pos: 0,
                    started_at: at,
                    reason: d.reason.clone(),
                    before: self.status.clone(),
                    ended: None,
                });
                self.status = RunStatus::Running;
                return;
            }
            Event::RollbackFinished(_) => return self.end_rollback(RollbackEnd::Finished(at)),
            Event::RollbackStopped(d) => {
                let reason = d.reason.clone();
                return self.end_rollback(RollbackEnd::Stopped { at, reason });
            }
            _ => {}
        }
        let Some(i) = index.filter(|i| *i < self.steps.len()) else {
            return;
        };
        let id = &runbook.steps[i].id;
        let rb = self.steps[i]
            .rollback
            .get_or_insert_with(StepRollback::default);
        match event {
            Event::RollbackGateShown(_) => {
                rb.state = StepState::AwaitingGate;
                rb.started_at.get_or_insert(at);
            }
            Event::RollbackApproved(d) => {
                rb.approved = Some(Approved {
                    seq,
                    unattended: d.unattended,
                })
            }
            Event::RollbackIntent(d) => {
                rb.attempt = d.attempt;
                rb.state = StepState::Running;
                rb.started_at.get_or_insert(at);
                rb.body_started_at = Some(at);
                rb.plan = d.plan.clone();
                rb.in_flight = true;
                rb.after_outcome = None;
                if !d.resend {
                    rb.error = None;
                    rb.waiting_for = None;
                    rb.made.clear();
                }
            }
            Event::RollbackOutcome(d) => outcome(rb, d, wait_state(&runbook.steps[i])),
            Event::StepRolledBack(d) => {
                rb.attempt = d.attempt;
                rb.state = StepState::Done;
                rb.finished_at = Some(at);
                rb.waiting_for = None;
                rb.after_outcome = None;
                rb.error = None;
                self.next_in_rollback();
            }
            Event::RollbackFailed(d) => {
                rb.attempt = d.attempt;
                rb.state = StepState::Failed;
                rb.waiting_for = None;
                rb.after_outcome = None;
                rb.in_flight = false;
                rb.error = Some(d.error.clone());
                self.status =
                    RunStatus::Blocked(format!("the rollback of step `{id}` failed: {}", d.error));
            }
            Event::RollbackRetried(d) => {
                rb.attempt = d.attempt.saturating_sub(1);
                rb.state = StepState::Pending;
                self.status = RunStatus::Running;
            }
            Event::RollbackSkipped(_) => {
                rb.state = StepState::Skipped;
                rb.finished_at = Some(at);
                rb.waiting_for = None;
                rb.after_outcome = None;
                self.status = RunStatus::Running;
                self.next_in_rollback();
            }
            _ => {}
        }
    }

    fn next_in_rollback(&mut self) {
        if let Some(r) = &mut self.rollback {
            r.pos += 1;
        }
    }

    fn end_rollback(&mut self, end: RollbackEnd) {
        if let Some(r) = &mut self.rollback {
            r.ended = Some(end);
            self.status = r.before.clone();
        }
    }
}

fn outcome(rb: &mut StepRollback, d: &Outcome, wait: Option<&str>) {
    rb.in_flight = false;
    rb.attempt = d.attempt;
    if d.ok {
        rb.made = d.outputs.clone().unwrap_or_default();
    }
    rb.after_outcome = match (d.ok, wait) {
        (true, Some(target)) => {
            rb.state = StepState::Waiting;
            rb.waiting_for = Some(target.to_string());
            None
        }
        (true, None) => Some(AfterOutcome::Succeeded),
        (false, _) if d.uncertain == Some(true) => {
            Some(AfterOutcome::Uncertain(d.error.clone().unwrap_or_default()))
        }
        (false, _) => Some(AfterOutcome::Failed(d.error.clone().unwrap_or_default())),
    };
}
