//! Gates: shown with a preview of the change, passed only with the exact typed phrase and a
//! reason where one is required; the attempt begins once the decision is durable.

use chrono::{DateTime, Utc};

use super::plan::render;
use super::{AfterAck, Effect, Engine, GateDecision, StepState};
use crate::audit::event::{GateApproved, GateCancelled, GateShown, SecondApproval};
use crate::audit::Event;
use crate::model::ActionPlan;
use crate::runbook::{ReasonPolicy, Step, StepBody};

impl Engine {
    pub(super) fn show_gate_or_begin(
        &mut self,
        step: &Step,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let i = self.state.current;
        match &step.gate {
            Some(gate) if self.state.steps[i].approved.is_none() => {
                let shown = GateShown {
                    approvers: (gate.approvers > 1).then_some(gate.approvers),
                    confirm: gate.confirm,
                    preview: self.preview(step),
                    reason: gate.reason,
                    typed: gate.typed.clone(),
                };
                self.emit(fx, now, Some(i), Event::GateShown(shown), AfterAck::Nothing);
                fx.push(Effect::ShowGate {
                    step: step.id.clone(),
                });
            }
            // A check, manual or wait step without a gate began with its step-started record.
            None if !matches!(
                step.body,
                StepBody::Action { .. } | StepBody::Command { .. }
            ) =>
            {
                self.attempt_effects(fx)
            }
            _ => self.begin_attempt(now, fx),
        }
    }

    /// The plan the current action step's next attempt would send (for a live look at what a
    /// cutover will change before its gate is passed).
    pub fn next_plan(&self) -> Option<ActionPlan> {
        let i = self.state.current;
        let step = self.runbook.steps.get(i)?;
        let StepBody::Action { call, resource, .. } = &step.body else {
            return None;
        };
        let res = self.runbook.resources.get(resource)?;
        let attempt = self.state.steps.get(i).map_or(1, |r| r.attempt + 1);
        let outputs = &self.outputs_with_run(None);
        render(call, res, &step.id, attempt, &self.state.run_id, outputs).ok()
    }

    /// The change an action step would request now, for the gate's preview.
    /// For a command step, the command exactly as it will run (step outputs filled in).
    pub fn preview(&self, step: &Step) -> Option<String> {
        let outputs = &self.outputs_with_run(None);
        if let StepBody::Command { run, .. } = &step.body {
            return Some(match run.render(outputs) {
                Ok(command) => command,
                Err(r) => format!("cannot prepare the command yet: `{{{{{r}}}}}` is not known"),
            });
        }
        let StepBody::Action { call, resource, .. } = &step.body else {
            return None;
        };
        let res = self.runbook.resources.get(resource)?;
        let attempt = self
            .state
            .steps
            .get(self.state.current)
            .map_or(1, |r| r.attempt + 1);
        match render(call, res, &step.id, attempt, &self.state.run_id, outputs) {
            Ok(plan) => Some(format!("{} with {}", plan.summary(), plan.params.to_json())),
            Err(e) => Some(format!("cannot prepare the request yet: {e}")),
        }
    }

    /// The token of the attempt the open gate would start, when its action runs only what the
    /// look showed (a change set named after it).
    fn shown_plan_token(&self, step: &Step) -> Option<String> {
        let StepBody::Action { call, .. } = &step.body else {
            return None;
        };
        call.action
            .runs_what_is_shown()
            .then(|| self.next_plan().map(|p| p.token))
            .flatten()
    }

    /// Keeps what the cloud says the gated change would do, for the decision's record. Only
    /// for the gate open now and the attempt it would start.
    pub(super) fn live_preview(&mut self, step: &str, attempt: u32, preview: String) {
        let open =
            matches!(self.current_step(), Some((s, StepState::AwaitingGate)) if s.id == step);
        let i = self.state.current;
        if open && self.state.steps[i].attempt + 1 == attempt {
            self.live[i].live_preview = Some(preview);
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
        let step = step.clone();
        let i = self.state.current;
        if self.state.steps[i].approved.is_some() {
            return fx.push(Effect::Refused("the gate is already approved".into()));
        }
        let Some(gate) = &step.gate else { return };
        // What the operator was shown the cloud would do, with what they decided.
        let seen = self.live[i].live_preview.clone();
        if !d.approve {
            let cancelled = GateCancelled {
                reason: d.reason,
                seen,
            };
            return self.emit(
                fx,
                now,
                Some(i),
                Event::GateCancelled(cancelled),
                AfterAck::Nothing,
            );
        }
        if self.state.steps[i].confirmed.is_some() {
            return fx.push(Effect::Refused(
                "confirmed: waiting for a second approver (`pilotlight approve`)".into(),
            ));
        }
        // A guard alarm in ALARM pauses the run before the change, whoever approves.
        if let Some((guard, state)) = self.guard_in_alarm() {
            return self.guard_trip(guard, state, now, fx);
        }
        // A plan made by the gate's look runs only as shown for this attempt.
        if let Some(token) = self.shown_plan_token(&step) {
            let shown = seen
                .as_deref()
                .is_some_and(|s| s.contains(&format!("change set {token} ")));
            if !shown {
                return fx.push(Effect::Refused(
                    "wait: the change set this approval would run is not shown yet".into(),
                ));
            }
        }
        let approved = match approval(gate, d, seen) {
            Ok(a) => a,
            Err(why) => return fx.push(Effect::Refused(why)),
        };
        // The operator's half: the request now waits for a second, different person.
        if gate.approvers > 1 {
            let confirmed = Event::GateConfirmed(approved);
            return self.emit(fx, now, Some(i), confirmed, AfterAck::Nothing);
        }
        let after = AfterAck::BeginAttempt { step: i };
        self.emit(fx, now, Some(i), Event::GateApproved(approved), after);
    }
}

impl Engine {
    /// The step whose two-approver gate waits for a second person: the operator has confirmed.
    pub fn awaiting_second(&self) -> Option<&Step> {
        let i = self.state.current;
        let run = self.state.steps.get(i)?;
        let waits = run.state == StepState::AwaitingGate
            && run.approved.is_none()
            && run.confirmed.is_some()
            && !self.rolling_back();
        waits.then(|| self.runbook.steps.get(i)).flatten()
    }

    /// A second person's approval: the gate passes with both, and the attempt begins once that
    /// record is durable. The runtime has checked who approved and what; the engine checks the
    /// approval is for this step's waiting request and says what the gate asks for.
    pub(super) fn second_approval(
        &mut self,
        second: SecondApproval,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(step) = self.awaiting_second().cloned() else {
            return fx.push(Effect::Refused(
                "no request waits for a second approver".into(),
            ));
        };
        let i = self.state.current;
        let (Some(gate), Some(first)) = (&step.gate, self.state.steps[i].confirmed.clone()) else {
            return;
        };
        if second.step != step.id {
            return fx.push(Effect::Refused(format!(
                "the approval is for step {}, not {}",
                second.step, step.id
            )));
        }
        let decision = GateDecision {
            approve: true,
            typed: second.typed.clone(),
            reason: second.reason.clone(),
            unattended: false,
        };
        if let Err(why) = approval(gate, decision, None) {
            return fx.push(Effect::Refused(format!("the second approval: {why}")));
        }
        let approved = GateApproved {
            second: Some(second),
            ..first
        };
        let after = AfterAck::BeginAttempt { step: i };
        self.emit(fx, now, Some(i), Event::GateApproved(approved), after);
    }
}

/// What an approving decision at `gate` records, or why it is refused: the phrase typed exactly,
/// a reason where the gate requires one. The same for a step's gate and a rollback's.
pub(super) fn approval(
    gate: &crate::runbook::Gate,
    d: GateDecision,
    seen: Option<String>,
) -> Result<GateApproved, String> {
    if let Some(phrase) = &gate.typed {
        if d.typed.as_deref() != Some(phrase.as_str()) {
            return Err(format!("type `{phrase}` exactly to proceed"));
        }
    }
    let reason = d.reason.filter(|r| !r.trim().is_empty());
    if gate.reason == ReasonPolicy::Required && reason.is_none() {
        return Err("this gate needs a reason".into());
    }
    Ok(GateApproved {
        reason,
        seen,
        typed: d.typed,
        unattended: d.unattended,
        second: None,
    })
}
