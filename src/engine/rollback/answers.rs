//! The cloud's answers to a rollback's requests, its clock, and picking a rollback up again
//! after a restart: nothing is requested twice, and what the journal shows in flight is
//! reconciled with the cloud first.

use chrono::{DateTime, TimeDelta, Utc};

use super::rollback_key;
use crate::audit::event::{ErrorNote, Outcome, RolledBack, RunResumed};
use crate::audit::Event;
use crate::engine::flow::uncertain_failure;
use crate::engine::{
    AfterAck, AfterOutcome, Approval, Effect, Engine, RunStatus, StepState, POLL_EVERY,
};
use crate::model::{CloudError, Progress, Started};

impl Engine {
    /// Whether `attempt` of `step` (a rollback key) is the rollback in hand's attempt.
    pub(super) fn rollback_attempt_is(&self, step: &str, attempt: u32) -> bool {
        let Some(i) = self.rollback_in_hand() else {
            return false;
        };
        matches!(self.status(), RunStatus::Running)
            && rollback_key(&self.runbook.steps[i].id) == step
            && self.state.steps[i].rollback.as_ref().map(|r| r.attempt) == Some(attempt)
    }

    /// Whether an answer is for the rollback's request in flight; if so it is taken.
    pub(super) fn take_rollback_awaited(&mut self, step: &str, attempt: u32) -> bool {
        if !self.rollback_attempt_is(step, attempt) || self.rollback_live.awaiting != Some(attempt)
        {
            return false;
        }
        self.rollback_live.awaiting = None;
        true
    }

    /// The capability to undo step `i`: minted only from its rollback's gate approval, once
    /// that record is durable.
    pub(super) fn rollback_approval(&self, i: usize) -> Option<Approval> {
        let approved = self.state.steps.get(i)?.rollback.as_ref()?.approved?;
        if approved.seq >= self.acked {
            return None;
        }
        let key = rollback_key(&self.runbook.steps.get(i)?.id);
        Some(Approval::mint(&key, approved.seq, approved.unattended))
    }

    /// A rollback record is durable: what it released may go.
    pub(in crate::engine) fn rollback_acknowledged(
        &mut self,
        after: AfterAck,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        match after {
            AfterAck::BeginRollback { step } if self.rollback_in_hand() == Some(step) => {
                self.rollback_request(step, false, now, fx)
            }
            AfterAck::SendRollback { step, attempt } => {
                let rb = self.state.steps[step].rollback.as_ref();
                let still = self.rollback_in_hand() == Some(step)
                    && matches!(self.status(), RunStatus::Running)
                    && rb.is_some_and(|r| r.attempt == attempt && r.state == StepState::Running)
                    && self.rollback_live.awaiting.is_none();
                let plan = rb
                    .and_then(|r| r.plan.clone())
                    .filter(|p| p.attempt == attempt);
                if let (true, Some(plan), Some(approval)) =
                    (still, plan, self.rollback_approval(step))
                {
                    fx.push(Effect::Mutate { plan, approval });
                    self.rollback_live.awaiting = Some(attempt);
                }
            }
            _ => {}
        }
    }

    /// The inverse was requested (or found made by a request before a restart: `reconciled`),
    /// or the request failed; `Ok(None)` from a reconcile means it never arrived: send it again.
    pub(super) fn rollback_started(
        &mut self,
        result: Result<Option<Started>, CloudError>,
        reconciled: bool,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(i) = self.rollback_in_hand() else {
            return;
        };
        let attempt = self.state.steps[i]
            .rollback
            .as_ref()
            .map_or(0, |r| r.attempt);
        match result {
            Ok(Some(started)) => {
                let outcome = Outcome {
                    adopted: Some(started.adopted || reconciled),
                    attempt,
                    ok: true,
                    outputs: Some(started.outputs),
                    ..Outcome::default()
                };
                self.emit(fx, now, Some(i), Event::RollbackOutcome(outcome), AfterAck::Nothing);
                self.after_rollback_outcome(now, fx);
            }
            Ok(None) => self.rollback_request(i, true, now, fx),
            Err(e) if reconciled => self.rollback_fail(
                attempt,
                format!("could not learn what the request before the restart did ({e}); check it, then retry or skip"),
                now,
                fx,
            ),
            Err(e) => {
                let uncertain = e.may_have_happened();
                let outcome = Outcome {
                    attempt,
                    error: Some(e.to_string()),
                    uncertain: uncertain.then_some(true),
                    ..Outcome::default()
                };
                self.emit(fx, now, Some(i), Event::RollbackOutcome(outcome), AfterAck::Nothing);
                self.after_rollback_outcome(now, fx);
            }
        }
    }

    /// What the rollback's journaled outcome leads to: done, following its target, or failed.
    fn after_rollback_outcome(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let Some(i) = self.rollback_in_hand() else {
            return;
        };
        let Some(rb) = self.state.steps[i].rollback.clone() else {
            return;
        };
        match rb.after_outcome {
            Some(AfterOutcome::Succeeded) => self.rolled_back(None, false, now, fx),
            Some(AfterOutcome::Failed(why)) => self.rollback_fail(rb.attempt, why, now, fx),
            Some(AfterOutcome::Uncertain(e)) => {
                self.rollback_fail(rb.attempt, uncertain_failure(&e), now, fx)
            }
            None if rb.state == StepState::Waiting => {
                if let Some(plan) = rb.plan {
                    fx.push(Effect::Poll {
                        plan: plan.with_made(Some(&rb.made)),
                    });
                }
            }
            None => {}
        }
    }

    fn rolled_back(
        &mut self,
        state: Option<String>,
        resumed: bool,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(i) = self.rollback_in_hand() else {
            return;
        };
        let rb = self.state.steps[i].rollback.clone().unwrap_or_default();
        let done = RolledBack {
            attempt: rb.attempt,
            duration_secs: rb.started_at.map_or(0, |s| (now - s).num_seconds()),
            outputs: Some(rb.made).filter(|m| !m.is_empty()),
            resumed: resumed.then_some(true),
            state,
        };
        self.emit(
            fx,
            now,
            Some(i),
            Event::StepRolledBack(done),
            AfterAck::Nothing,
        );
        self.enter_rollback_step(now, fx);
    }

    pub(super) fn rollback_progress(
        &mut self,
        result: Result<Progress, CloudError>,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(i) = self.rollback_in_hand() else {
            return;
        };
        let Some(rb) = self.state.steps[i].rollback.clone() else {
            return;
        };
        let Some(target) = rb
            .waiting_for
            .clone()
            .filter(|_| rb.state == StepState::Waiting)
        else {
            return;
        };
        match result {
            Ok(p) if p.state == target => self.rolled_back(Some(p.state), false, now, fx),
            Ok(Progress {
                state,
                failed: Some(why),
                ..
            }) => self.rollback_fail(rb.attempt, format!("AWS says `{state}`: {why}"), now, fx),
            Ok(p) => {
                self.rollback_live.last_progress = Some(p.state);
                self.rollback_live.next_poll = Some(now + POLL_EVERY);
            }
            Err(e) => {
                self.rollback_live.last_progress = Some(format!("cannot check progress: {e}"));
                self.rollback_live.next_poll = Some(now + POLL_EVERY);
                let note = ErrorNote {
                    error: e.to_string(),
                    during: Some("polling the rollback's progress".into()),
                };
                self.emit(fx, now, Some(i), Event::Error(note), AfterAck::Nothing);
            }
        }
    }

    /// When the rollback in hand times out (the step's own timeout), while it is under way.
    pub(in crate::engine) fn rollback_deadline(&self) -> Option<DateTime<Utc>> {
        let i = self.rollback_in_hand()?;
        let timeout = self.runbook.steps[i].timeout?;
        let rb = self.state.steps[i].rollback.as_ref()?;
        let active = matches!(rb.state, StepState::Running | StepState::Waiting);
        let begun = rb.body_started_at.filter(|_| active)?;
        Some(begun + TimeDelta::seconds(timeout.as_secs() as i64))
    }

    pub(super) fn rollback_tick(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if !matches!(self.status(), RunStatus::Running) {
            return;
        }
        let Some(i) = self.rollback_in_hand() else {
            return;
        };
        if self.rollback_deadline().is_some_and(|d| now >= d)
            && self.rollback_live.awaiting.is_none()
        {
            let timeout = self.runbook.steps[i].timeout.unwrap_or_default();
            let attempt = self.state.steps[i]
                .rollback
                .as_ref()
                .map_or(0, |r| r.attempt);
            let why = format!(
                "timed out after {timeout} with the change possibly still under way; check it before you retry (a retry sends a new request)"
            );
            return self.rollback_fail(attempt, why, now, fx);
        }
        if self.rollback_live.next_poll.is_some_and(|t| now >= t) {
            self.rollback_live.next_poll = None;
            if let Some(rb) = &self.state.steps[i].rollback {
                if let (StepState::Waiting, Some(plan)) = (rb.state, &rb.plan) {
                    fx.push(Effect::Poll {
                        plan: plan.with_made(Some(&rb.made)),
                    });
                }
            }
        }
    }

    /// Picks a rollback up where its journal ends.
    pub(super) fn resume_rollback(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let at_step = self
            .rollback_in_hand()
            .map(|i| rollback_key(&self.runbook.steps[i].id));
        let resumed = RunResumed {
            at_step,
            run_id: self.state.run_id.clone(),
            aws: self.resumed_as.clone(),
            took_over_from: self.took_over_from.clone(),
        };
        self.emit(fx, now, None, Event::RunResumed(resumed), AfterAck::Nothing);
        if matches!(self.status(), RunStatus::Blocked(_)) {
            return;
        }
        let Some(i) = self.rollback_in_hand() else {
            return self.enter_rollback_step(now, fx);
        };
        let Some(rb) = self.state.steps[i].rollback.clone() else {
            return self.enter_rollback_step(now, fx);
        };
        match (&rb.after_outcome, rb.state) {
            (Some(AfterOutcome::Succeeded), _) => self.rolled_back(None, true, now, fx),
            (Some(_), _) => self.after_rollback_outcome(now, fx),
            (None, StepState::AwaitingGate) if rb.approved.is_none() => {
                self.enter_rollback_step(now, fx)
            }
            (None, StepState::AwaitingGate | StepState::Pending) => {
                self.rollback_request(i, false, now, fx)
            }
            (None, StepState::Running) => match rb.plan {
                Some(plan) if rb.in_flight => {
                    self.rollback_live.awaiting = Some(plan.attempt);
                    fx.push(Effect::Reconcile { plan });
                }
                _ => self.rollback_request(i, false, now, fx),
            },
            (None, StepState::Waiting) => self.rollback_live.next_poll = Some(now),
            _ => {}
        }
    }
}
