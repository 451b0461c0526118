//! Rollback: once a run has ended, each completed step that declares an `inverse` is undone,
//! newest first, each through its own gate (`inverse.gate`, else the step's), with the same
//! discipline as a step's change: the approval is durable before the intent, the intent before
//! the request, and a crash is reconciled with the cloud before anything is sent again.

mod answers;
mod fold;
mod operator;

use chrono::{DateTime, Utc};

use super::plan::render;
use super::{AfterAck, Effect, Engine, RunStatus, StepLive, StepState};
use crate::audit::event::{GateShown, Intent, RollbackFinished, RollbackStarted, StepFailed};
use crate::audit::Event;
use crate::model::ActionPlan;
use crate::runbook::{Gate, ReasonPolicy, Step, StepBody};

/// The name a step's rollback goes by in its plan, its approval and its idempotency token, so
/// that it never passes for the step's own change.
pub fn rollback_key(step: &str) -> String {
    format!("rollback:{step}")
}

/// The state a step's inverse waits for: the step's own `wait_until`, when the inverse's action
/// can reach it.
pub(super) fn wait_state(step: &Step) -> Option<&str> {
    let StepBody::Action {
        wait_until: Some(w),
        inverse: Some(inv),
        ..
    } = &step.body
    else {
        return None;
    };
    inv.call
        .action
        .spec()
        .wait_states
        .contains(&w.as_str())
        .then_some(w.as_str())
}

/// The gate a step's rollback passes: its `inverse.gate`, else the step's own, else a plain
/// confirmation (a rollback changes things too). One person approves a rollback: it undoes
/// what was approved, and must not wait for someone who cannot be reached.
pub fn rollback_gate(step: &Step) -> Gate {
    let own = match &step.body {
        StepBody::Action {
            inverse: Some(inv), ..
        } => inv.gate.clone(),
        _ => None,
    };
    let gate = own.or_else(|| step.gate.clone()).unwrap_or(Gate {
        confirm: true,
        typed: None,
        reason: ReasonPolicy::Optional,
        approvers: 1,
    });
    Gate {
        approvers: 1,
        ..gate
    }
}

/// A gate waiting for the operator: a step's, or a step's rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenGate {
    /// The step, by index.
    pub step: usize,
    pub rollback: bool,
    pub gate: Gate,
}

impl Engine {
    /// Whether a rollback is under way.
    pub fn rolling_back(&self) -> bool {
        self.state
            .rollback
            .as_ref()
            .is_some_and(|r| r.ended.is_none())
    }

    /// The step a rollback has in hand.
    pub fn rollback_in_hand(&self) -> Option<usize> {
        self.state.rollback.as_ref()?.in_hand()
    }

    /// What the engine keeps of the rollback in hand besides the journal.
    pub fn rollback_live(&self) -> &StepLive {
        &self.rollback_live
    }

    /// The steps a rollback would undo now, newest first: completed actions with an `inverse`.
    pub fn rollback_candidates(&self) -> Vec<usize> {
        (0..self.runbook.steps.len())
            .rev()
            .filter(|&i| {
                self.state.steps[i].state == StepState::Done
                    && matches!(
                        self.runbook.steps[i].body,
                        StepBody::Action {
                            inverse: Some(_),
                            ..
                        }
                    )
            })
            .collect()
    }

    /// The gate waiting for the operator, if one is.
    pub fn open_gate(&self) -> Option<OpenGate> {
        if !matches!(self.status(), RunStatus::Running) {
            return None;
        }
        if self.rolling_back() {
            let i = self.rollback_in_hand()?;
            let rb = self.state.steps[i].rollback.as_ref()?;
            return (rb.state == StepState::AwaitingGate && rb.approved.is_none()).then(|| {
                OpenGate {
                    step: i,
                    rollback: true,
                    gate: rollback_gate(&self.runbook.steps[i]),
                }
            });
        }
        let i = self.state.current;
        let step = self.runbook.steps.get(i)?;
        let run = self.state.steps.get(i)?;
        // Confirmed at a two-approver gate: it waits for the second person, not the operator.
        (run.state == StepState::AwaitingGate && run.approved.is_none() && run.confirmed.is_none())
            .then(|| step.gate.clone())
            .flatten()
            .map(|gate| OpenGate {
                step: i,
                rollback: false,
                gate,
            })
    }

    /// The change behind the open gate, as its approval would request it (for a live look at
    /// what it will change before the gate is passed).
    pub fn gate_plan(&self) -> Option<ActionPlan> {
        let open = self.open_gate()?;
        if open.rollback {
            self.rollback_plan(open.step).ok()
        } else {
            self.next_plan()
        }
    }

    /// What the open gate's change would request, as its gate shows it.
    pub fn gate_preview(&self) -> Option<String> {
        let open = self.open_gate()?;
        if open.rollback {
            Some(self.rollback_preview(open.step))
        } else {
            self.preview(&self.runbook.steps[open.step])
        }
    }

    /// The step attempt the engine is at (a rollback's counted apart from the steps'), to tell
    /// answers it waits for from earlier ones.
    pub fn current_attempt(&self) -> (usize, u32) {
        match self.rollback_in_hand() {
            Some(i) => {
                let attempt = self.state.steps[i]
                    .rollback
                    .as_ref()
                    .map_or(0, |r| r.attempt);
                (self.state.steps.len() + i, attempt)
            }
            None => {
                let i = self.state.current;
                (i, self.state.steps.get(i).map_or(0, |r| r.attempt))
            }
        }
    }

    /// The inverse of step `i` as its next attempt would request it.
    pub fn rollback_plan(&self, i: usize) -> Result<ActionPlan, String> {
        let step = self.runbook.steps.get(i).ok_or("no such step")?;
        let StepBody::Action {
            resource,
            inverse: Some(inv),
            ..
        } = &step.body
        else {
            return Err(format!("step `{}` declares no inverse", step.id));
        };
        let res = self
            .runbook
            .resources
            .get(resource)
            .ok_or_else(|| format!("resource `{resource}` is not declared"))?;
        let attempt = self.state.steps[i]
            .rollback
            .as_ref()
            .map_or(0, |r| r.attempt)
            + 1;
        let key = rollback_key(&step.id);
        render(
            &inv.call,
            res,
            &key,
            attempt,
            &self.state.run_id,
            &self.outputs_with_run(None),
        )
    }

    /// What the rollback of step `i` would request, for its gate.
    pub fn rollback_preview(&self, i: usize) -> String {
        match self.rollback_plan(i) {
            Ok(plan) => format!("{} with {}", plan.summary(), plan.params.to_json()),
            Err(e) => format!("cannot prepare the request: {e}"),
        }
    }

    /// Begins a rollback of the run, which must have ended.
    pub(super) fn start_rollback(
        &mut self,
        reason: Option<String>,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(r) = &self.state.rollback {
            let why = match r.ended {
                None => "a rollback is already under way",
                Some(_) => "this run has been rolled back already; nothing is undone twice",
            };
            return fx.push(Effect::Refused(why.into()));
        }
        if self.journal_failure.is_some()
            || !matches!(self.status(), RunStatus::Finished | RunStatus::Aborted(_))
        {
            return fx.push(Effect::Refused(
                "roll back once the run is over: let it finish, or abort it (A) first".into(),
            ));
        }
        let order = self.rollback_candidates();
        if order.is_empty() {
            return fx.push(Effect::Refused(
                "no completed step declares an `inverse`: nothing to roll back".into(),
            ));
        }
        let started = RollbackStarted {
            reason: reason.filter(|r| !r.trim().is_empty()),
            steps: order
                .iter()
                .map(|&i| self.runbook.steps[i].id.clone())
                .collect(),
        };
        self.emit(
            fx,
            now,
            None,
            Event::RollbackStarted(started),
            AfterAck::Nothing,
        );
        self.enter_rollback_step(now, fx);
    }

    /// Shows the gate of the next step to roll back, or ends the rollback after the last.
    pub(super) fn enter_rollback_step(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        self.rollback_live = StepLive::default();
        let Some(i) = self.rollback_in_hand() else {
            let Some(r) = &self.state.rollback else {
                return;
            };
            let ids = |state: StepState| {
                r.order
                    .iter()
                    .filter(|&&i| {
                        self.state.steps[i].rollback.as_ref().map(|b| b.state) == Some(state)
                    })
                    .map(|&i| self.runbook.steps[i].id.clone())
                    .collect()
            };
            let finished = RollbackFinished {
                duration_secs: (now - r.started_at).num_seconds(),
                rolled_back: ids(StepState::Done),
                skipped: ids(StepState::Skipped),
            };
            self.emit(
                fx,
                now,
                None,
                Event::RollbackFinished(finished),
                AfterAck::Nothing,
            );
            return fx.push(Effect::Finished(self.state.status.clone()));
        };
        let gate = rollback_gate(&self.runbook.steps[i]);
        let shown = GateShown {
            approvers: None,
            confirm: gate.confirm,
            preview: Some(self.rollback_preview(i)),
            reason: gate.reason,
            typed: gate.typed.clone(),
        };
        self.emit(
            fx,
            now,
            Some(i),
            Event::RollbackGateShown(shown),
            AfterAck::Nothing,
        );
        fx.push(Effect::ShowGate {
            step: rollback_key(&self.runbook.steps[i].id),
        });
    }

    /// Writes the intent of the next attempt of step `i`'s inverse (or of `attempt` again, sent
    /// anew after a restart found the first never arrived); the request follows its
    /// acknowledgement.
    pub(super) fn rollback_request(
        &mut self,
        i: usize,
        resend: bool,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let rb = self.state.steps[i].rollback.clone().unwrap_or_default();
        self.rollback_live.awaiting = None;
        self.rollback_live.next_poll = None;
        let plan = match (resend, rb.plan) {
            (true, Some(plan)) => Ok(plan),
            _ => self.rollback_plan(i),
        };
        match plan {
            Ok(plan) => {
                let attempt = plan.attempt;
                let intent = Intent {
                    attempt,
                    command: None,
                    plan: Some(plan),
                    resend,
                };
                let after = AfterAck::SendRollback { step: i, attempt };
                self.emit(fx, now, Some(i), Event::RollbackIntent(intent), after);
            }
            Err(e) => {
                let attempt = rb.attempt + 1;
                self.rollback_fail(attempt, format!("cannot prepare the request: {e}"), now, fx)
            }
        }
    }

    pub(super) fn rollback_fail(
        &mut self,
        attempt: u32,
        error: String,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(i) = self.rollback_in_hand() else {
            return;
        };
        self.rollback_live.awaiting = None;
        self.rollback_live.next_poll = None;
        let failed = StepFailed {
            attempt,
            error,
            guard: None,
        };
        self.emit(
            fx,
            now,
            Some(i),
            Event::RollbackFailed(failed),
            AfterAck::Nothing,
        );
    }
}
