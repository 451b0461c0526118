//! Gates: shown with a preview of the change, passed only with the exact typed phrase and a
//! reason where one is required; the approval is minted when the decision is durable.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::plan::render;
use super::{AfterAck, Effect, Engine, GateDecision, StepState};
use crate::audit::Event;
use crate::runbook::{ReasonPolicy, Step, StepBody};

impl Engine {
    pub(super) fn show_gate_or_begin(
        &mut self,
        step: &Step,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        match &step.gate {
            Some(gate) if self.steps[self.current].approval.is_none() => {
                self.steps[self.current].state = StepState::AwaitingGate;
                let reason = match gate.reason {
                    ReasonPolicy::None => "none",
                    ReasonPolicy::Optional => "optional",
                    ReasonPolicy::Required => "required",
                };
                let preview = self.preview(step);
                let detail = json!({"confirm": gate.confirm, "typed": gate.typed, "reason": reason, "preview": preview});
                self.record(
                    fx,
                    now,
                    Event::GateShown,
                    Some(step.id.clone()),
                    detail,
                    AfterAck::Nothing,
                );
                fx.push(Effect::ShowGate {
                    step: step.id.clone(),
                });
            }
            _ => self.begin_attempt(now, fx),
        }
    }

    /// The plan the current action step's next attempt would send (for a live look at what a
    /// cutover will change before its gate is passed).
    pub fn next_plan(&self) -> Option<super::ActionPlan> {
        let step = self.runbook.steps.get(self.current)?;
        let StepBody::Action { call, resource, .. } = &step.body else {
            return None;
        };
        let res = self.runbook.resources.get(resource)?;
        let attempt = self.steps.get(self.current).map_or(1, |r| r.attempt + 1);
        render(call, res, &step.id, attempt, &self.run_id, &self.outputs).ok()
    }

    /// The change an action step would request now, for the gate's preview.
    /// For a command step, the command exactly as it will run (step outputs filled in).
    pub fn preview(&self, step: &Step) -> Option<String> {
        if let StepBody::Command { run, .. } = &step.body {
            return Some(match run.render(&self.outputs) {
                Ok(command) => command,
                Err(r) => format!("cannot prepare the command yet: `{{{{{r}}}}}` is not known"),
            });
        }
        let StepBody::Action { call, resource, .. } = &step.body else {
            return None;
        };
        let res = self.runbook.resources.get(resource)?;
        let attempt = self.steps.get(self.current).map_or(1, |r| r.attempt + 1);
        match render(call, res, &step.id, attempt, &self.run_id, &self.outputs) {
            Ok(plan) => Some(format!("{} with {}", plan.summary(), plan.params)),
            Err(e) => Some(format!("cannot prepare the request yet: {e}")),
        }
    }

    /// Keeps what the cloud says the gated change would do, for the decision's record. Only
    /// for the gate open now and the attempt it would start.
    pub(super) fn live_preview(&mut self, step: &str, attempt: u32, preview: String) {
        let open =
            matches!(self.current_step(), Some((s, StepState::AwaitingGate)) if s.id == step);
        let run = &mut self.steps[self.current];
        if open && run.attempt + 1 == attempt {
            run.live_preview = Some(preview);
        }
    }

    pub(super) fn gate_decision(
        &mut self,
        d: GateDecision,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let Some((step, StepState::AwaitingGate)) = self.current_step() else {
            return fx.push(Effect::Refused("no gate is open".into()));
        };
        let (step, id) = (step.clone(), step.id.clone());
        if self.steps[self.current].approval.is_some()
            || self
                .acks
                .iter()
                .any(|a| matches!(a, AfterAck::MintApproval { .. }))
        {
            return fx.push(Effect::Refused("the gate is already approved".into()));
        }
        let Some(gate) = &step.gate else { return };
        // What the operator was shown the cloud would do, with what they decided.
        let seen = self.steps[self.current].live_preview.clone();
        if !d.approve {
            let detail = with_seen(json!({"reason": d.reason}), seen);
            return self.record(
                fx,
                now,
                Event::GateCancelled,
                Some(id),
                detail,
                AfterAck::Nothing,
            );
        }
        if let Some(phrase) = &gate.typed {
            if d.typed.as_deref() != Some(phrase.as_str()) {
                return fx.push(Effect::Refused(format!(
                    "type `{phrase}` exactly to proceed"
                )));
            }
        }
        let reason = d.reason.filter(|r| !r.trim().is_empty());
        if gate.reason == ReasonPolicy::Required && reason.is_none() {
            return fx.push(Effect::Refused("this gate needs a reason".into()));
        }
        let detail = with_seen(
            json!({"typed": d.typed, "reason": reason, "unattended": d.unattended}),
            seen,
        );
        let after = AfterAck::MintApproval {
            step: self.current,
            unattended: d.unattended,
        };
        self.record(fx, now, Event::GateApproved, Some(id), detail, after);
    }
}

/// A decision's detail with the live preview the operator saw, when there was one.
fn with_seen(mut detail: serde_json::Value, seen: Option<String>) -> serde_json::Value {
    if let (Some(seen), Some(map)) = (seen, detail.as_object_mut()) {
        map.insert("seen".into(), seen.into());
    }
    detail
}
