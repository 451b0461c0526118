//! What the operator decides during a rollback: its gates, and skipping, retrying or stopping
//! it (each with a reason, each journaled).

use chrono::{DateTime, Utc};

use super::rollback_key;
use crate::audit::event::{GateCancelled, RunAborted, StepRetried, StepSkipped};
use crate::audit::Event;
use crate::engine::{AfterAck, Effect, Engine, GateDecision, Input, StepState};

impl Engine {
    /// Inputs while a rollback is under way.
    pub(in crate::engine) fn rollback_dispatch(
        &mut self,
        input: Input,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        match input {
            Input::Gate(d) => self.rollback_gate_decision(d, now, fx),
            Input::LivePreview {
                step,
                attempt,
                preview,
            } => {
                let open = self.open_gate().filter(|g| g.rollback);
                let key = open.map(|g| self.rollback_attempt(g.step));
                if key == Some((step, attempt)) {
                    self.rollback_live.live_preview = Some(preview);
                }
            }
            Input::Skip { reason } => self.rollback_skip(reason, now, fx),
            Input::Retry { reason } => self.rollback_retry(reason, now, fx),
            Input::Abort { reason } => self.rollback_stop(reason, now, fx),
            Input::Started {
                step,
                attempt,
                result,
            } if self.take_rollback_awaited(&step, attempt) => {
                self.rollback_started(result.map(Some), false, now, fx)
            }
            Input::Reconciled {
                step,
                attempt,
                result,
            } if self.take_rollback_awaited(&step, attempt) => {
                self.rollback_started(result, true, now, fx)
            }
            Input::Progress {
                step,
                attempt,
                result,
            } if self.rollback_attempt_is(&step, attempt) => {
                self.rollback_progress(result, now, fx)
            }
            Input::Tick => self.rollback_tick(now, fx),
            Input::Resume => self.resume_rollback(now, fx),
            Input::Observed { resource, status } => self.observed(resource, status, now, fx),
            Input::ManualDone | Input::ManualAssumed => fx.push(Effect::Refused(
                "no manual step is in progress: the run is rolling back".into(),
            )),
            Input::Start => fx.push(Effect::Refused("the run has already started".into())),
            // Pause, Recorded, a journal failure and a second rollback are the run's, handled
            // before; stale answers change nothing.
            _ => {}
        }
    }

    /// The (plan step, attempt) the rollback in hand's next request would carry.
    fn rollback_attempt(&self, i: usize) -> (String, u32) {
        let attempt = self.state.steps[i]
            .rollback
            .as_ref()
            .map_or(0, |r| r.attempt)
            + 1;
        (rollback_key(&self.runbook.steps[i].id), attempt)
    }

    fn rollback_gate_decision(
        &mut self,
        d: GateDecision,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(open) = self.open_gate().filter(|g| g.rollback) else {
            return fx.push(Effect::Refused("no gate is open".into()));
        };
        let (i, gate) = (open.step, open.gate);
        let seen = self.rollback_live.live_preview.clone();
        if !d.approve {
            let cancelled = GateCancelled {
                reason: d.reason,
                seen,
            };
            let event = Event::RollbackCancelled(cancelled);
            return self.emit(fx, now, Some(i), event, AfterAck::Nothing);
        }
        let approved = match crate::engine::gate::approval(&gate, d, seen) {
            Ok(a) => a,
            Err(why) => return fx.push(Effect::Refused(why)),
        };
        let after = AfterAck::BeginRollback { step: i };
        self.emit(fx, now, Some(i), Event::RollbackApproved(approved), after);
    }

    fn rollback_skip(&mut self, reason: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if reason.trim().is_empty() {
            return fx.push(Effect::Refused(
                "say why you skip this step's rollback".into(),
            ));
        }
        let Some(i) = self.rollback_in_hand() else {
            return fx.push(Effect::Refused("no step's rollback to skip".into()));
        };
        if self.rollback_live.awaiting.is_some() {
            return fx.push(Effect::Refused(
                "a change is in flight; wait for its answer first".into(),
            ));
        }
        let skipped = Event::RollbackSkipped(StepSkipped { reason });
        self.emit(fx, now, Some(i), skipped, AfterAck::Nothing);
        self.enter_rollback_step(now, fx);
    }

    fn rollback_retry(&mut self, reason: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if reason.trim().is_empty() {
            return fx.push(Effect::Refused("say why you retry this rollback".into()));
        }
        let failed = self.rollback_in_hand().filter(|&i| {
            self.state.steps[i].rollback.as_ref().map(|r| r.state) == Some(StepState::Failed)
        });
        let Some(i) = failed else {
            return fx.push(Effect::Refused(
                "only a failed rollback can be retried".into(),
            ));
        };
        let attempt = self.state.steps[i]
            .rollback
            .as_ref()
            .map_or(0, |r| r.attempt)
            + 1;
        let retried = StepRetried {
            attempt,
            auto: false,
            reason: Some(reason),
            ..StepRetried::default()
        };
        self.emit(
            fx,
            now,
            Some(i),
            Event::RollbackRetried(retried),
            AfterAck::Nothing,
        );
        self.rollback_request(i, false, now, fx);
    }

    fn rollback_stop(&mut self, reason: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if reason.trim().is_empty() {
            return fx.push(Effect::Refused("say why you stop the rollback".into()));
        }
        if self.rollback_live.awaiting.is_some() {
            return fx.push(Effect::Refused(
                "a change request is in flight; stop once it has answered (it is bounded by the cloud's timeout)".into(),
            ));
        }
        let stopped = Event::RollbackStopped(RunAborted { reason });
        self.emit(fx, now, None, stopped, AfterAck::Nothing);
        fx.push(Effect::Finished(self.state.status.clone()));
    }
}
