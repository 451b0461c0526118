//! Rebuilding a run from its journal, and continuing it without requesting anything twice.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::plan::ActionPlan;
use super::{AfterAck, Approval, Effect, Engine, RunStatus, StepState, WaitFor};
use crate::audit::{Event, Record};
use crate::runbook::{Runbook, StepBody};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the journal is of runbook `{found}`, not `{expected}`")]
    OtherRunbook { expected: String, found: String },
    #[error("the journal does not start with a run-started record: it is not the journal of a pilotlight run; start a new one")]
    NoStart,
    #[error("journal record {seq} names step `{step}`, which this runbook does not have (was the runbook changed since the run started?)")]
    UnknownStep { seq: u64, step: String },
}

fn attempt_of(r: &Record) -> Option<u32> {
    r.detail
        .get("attempt")
        .and_then(|a| a.as_u64())
        .map(|a| a as u32)
}

impl Engine {
    /// The state a run had when its journal ends.
    pub fn from_records(runbook: Arc<Runbook>, records: &[Record]) -> Result<Engine, ReplayError> {
        let first = records.first().ok_or(ReplayError::NoStart)?;
        if first.event != Event::RunStarted {
            return Err(ReplayError::NoStart);
        }
        if first.runbook != runbook.id {
            return Err(ReplayError::OtherRunbook {
                expected: runbook.id.clone(),
                found: first.runbook.clone(),
            });
        }
        let run_id = first
            .detail
            .get("run_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let mut e = Engine::new(runbook, &run_id);
        e.acked = records.len() as u64;
        for r in records {
            e.apply(r)?;
        }
        Ok(e)
    }

    fn apply(&mut self, r: &Record) -> Result<(), ReplayError> {
        let index = match &r.step {
            Some(id) => Some(
                self.runbook
                    .steps
                    .iter()
                    .position(|s| &s.id == id)
                    .ok_or_else(|| ReplayError::UnknownStep {
                        seq: r.seq,
                        step: id.clone(),
                    })?,
            ),
            None => None,
        };
        if let Some(i) = index {
            self.current = i;
        }
        let i = self.current;
        let backoff = self
            .runbook
            .steps
            .get(i)
            .map_or(0, |s| s.retry.backoff.as_secs());
        let Some(run) = self.steps.get_mut(i) else {
            self.apply_run_event(r);
            return Ok(());
        };
        if let Some(a) = attempt_of(r) {
            run.attempt = a;
        }
        if r.step.is_some() && r.event != Event::Error {
            self.after_outcome = None;
        }
        match r.event {
            Event::StepStarted => {
                run.started_at.get_or_insert(r.at);
                let begins = r.detail.get("begin").and_then(|v| v.as_bool()) == Some(true);
                if begins {
                    self.begin_silently(i, r.at, attempt_of(r));
                } else {
                    run.state = StepState::Pending;
                    if self.runbook.steps[i].gate.is_none() {
                        self.begin_silently(i, r.at, None);
                    }
                }
            }
            Event::GateShown => run.state = StepState::AwaitingGate,
            Event::GateApproved => {
                let unattended = r
                    .detail
                    .get("unattended")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                run.approval = Some(Approval::mint(&self.runbook.steps[i].id, r.seq, unattended));
            }
            Event::Intent => {
                run.state = StepState::Running;
                if r.detail.get("resend").and_then(|v| v.as_bool()) != Some(true) {
                    // A new attempt begins: what the last one left behind is gone.
                    run.wait = None;
                    run.next_poll = None;
                    run.error = None;
                }
                run.body_started_at = Some(r.at);
                run.plan = r
                    .detail
                    .get("plan")
                    .and_then(|p| serde_json::from_value::<ActionPlan>(p.clone()).ok());
                if let Some(since) = run.plan.as_ref().map(|p| p.since.unwrap_or(r.at)) {
                    run.first_request_at.get_or_insert(since);
                }
                self.in_flight = Some(i);
            }
            Event::Outcome => {
                self.in_flight = None;
                let ok = r
                    .detail
                    .get("ok")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                let error = r
                    .detail
                    .get("error")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                let waits = matches!(
                    &self.runbook.steps[i].body,
                    StepBody::Action {
                        wait_until: Some(_),
                        ..
                    }
                );
                self.after_outcome = match (ok, waits) {
                    (true, true) => None,
                    (true, false) => Some(Ok(())),
                    (false, _) => Some(Err(error.unwrap_or_else(|| {
                        let code = r
                            .detail
                            .get("exit_code")
                            .map(|c| c.to_string())
                            .unwrap_or_default();
                        format!("exited with {code}")
                    }))),
                };
                if let (true, Some(outs)) =
                    (ok, r.detail.get("outputs").and_then(|o| o.as_object()))
                {
                    let step_outs = self
                        .outputs
                        .entry(self.runbook.steps[i].id.clone())
                        .or_default();
                    for (k, v) in outs {
                        step_outs.insert(
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        );
                    }
                }
                if let Some(code) = r.detail.get("exit_code") {
                    let step_outs = self
                        .outputs
                        .entry(self.runbook.steps[i].id.clone())
                        .or_default();
                    step_outs.insert("exit_code".into(), code.to_string());
                    let stdout = r
                        .detail
                        .get("stdout")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default();
                    step_outs.insert("stdout".into(), stdout.to_string());
                }
                if let (
                    true,
                    StepBody::Action {
                        wait_until: Some(t),
                        ..
                    },
                ) = (ok, &self.runbook.steps[i].body)
                {
                    run.state = StepState::Waiting;
                    run.wait = Some(WaitFor::TargetState(t.clone()));
                }
            }
            Event::StepRetried => {
                let auto = r
                    .detail
                    .get("auto")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                // The record names the attempt to come: after a backoff when automatic, at once
                // when the operator asked.
                run.attempt = run.attempt.saturating_sub(1);
                self.status = RunStatus::Running;
                run.state = StepState::Waiting;
                if auto {
                    run.wait = Some(WaitFor::Backoff(r.at + TimeDelta::seconds(backoff as i64)));
                    run.error = r
                        .detail
                        .get("after")
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                } else {
                    // The operator's retry begins at once; its intent or step-started follows.
                    run.wait = None;
                }
            }
            Event::StepSucceeded => {
                if let Some(outs) = r.detail.get("outputs").and_then(|o| o.as_object()) {
                    let step_outs = self
                        .outputs
                        .entry(self.runbook.steps[i].id.clone())
                        .or_default();
                    for (k, v) in outs {
                        step_outs.insert(
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        );
                    }
                }
                let run = &mut self.steps[i];
                run.state = StepState::Done;
                run.finished_at = Some(r.at);
                run.wait = None;
                run.error = None;
                self.current = i + 1;
            }
            Event::StepFailed => {
                run.state = StepState::Failed;
                run.wait = None;
                let err = r
                    .detail
                    .get("error")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                run.error = Some(err.clone());
                self.status = RunStatus::Blocked(format!(
                    "step `{}` failed: {err}",
                    self.runbook.steps[i].id
                ));
            }
            Event::StepSkipped => {
                run.state = StepState::Skipped;
                run.finished_at = Some(r.at);
                self.status = RunStatus::Running;
                self.current = i + 1;
            }
            Event::RunAborted => {
                run.state = StepState::Aborted;
                self.apply_run_event(r);
            }
            _ => self.apply_run_event(r),
        }
        Ok(())
    }

    fn apply_run_event(&mut self, r: &Record) {
        match r.event {
            Event::StatusSnapshot => {
                let resource = r.detail.get("resource").and_then(|v| v.as_str());
                let status = r
                    .detail
                    .get("status")
                    .and_then(|s| serde_json::from_value(s.clone()).ok());
                if let (Some(resource), Some(status)) = (resource, status) {
                    self.observations.insert(resource.to_string(), status);
                }
            }
            Event::RunStarted => {
                self.status = RunStatus::Running;
                self.started_at = Some(r.at);
            }
            Event::RunFinished => self.status = RunStatus::Finished,
            Event::RunAborted => {
                let why = r
                    .detail
                    .get("reason")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                self.status = RunStatus::Aborted(why.to_string());
            }
            _ => {}
        }
    }

    /// After [`Engine::from_records`]: record the resumption and pick up where the run stopped.
    pub(super) fn resume_effects(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if !matches!(self.status, RunStatus::Running | RunStatus::Blocked(_)) {
            return fx.push(Effect::Refused(
                "this run has already ended; start a new one".into(),
            ));
        }
        let at_step = self.runbook.steps.get(self.current).map(|s| s.id.clone());
        self.record(
            fx,
            now,
            Event::RunResumed,
            None,
            json!({"run_id": self.run_id, "at_step": at_step}),
            AfterAck::Nothing,
        );
        let Some(step) = self.runbook.steps.get(self.current).cloned() else {
            return self.enter_step(now, fx);
        };
        if matches!(self.status, RunStatus::Blocked(_)) {
            return;
        }
        // The journal ends before this step's start was recorded: start it properly.
        if self.steps[self.current].started_at.is_none() {
            return self.enter_step(now, fx);
        }
        // The journal ends right after an outcome: finish what the lost records would have said.
        match self.after_outcome.take() {
            Some(Ok(())) => return self.succeed(now, json!({"resumed": true}), fx),
            Some(Err(why)) => return self.attempt_failed(why, now, fx),
            None => {}
        }
        let run = &mut self.steps[self.current];
        match (run.state, &step.body) {
            // An operator's retry was recorded, but its attempt had not begun.
            (StepState::Waiting, _) if run.wait.is_none() => self.begin_attempt(now, fx),
            (StepState::Pending, _) | (StepState::AwaitingGate, _) if run.approval.is_none() => {
                self.show_gate_or_begin(&step, now, fx)
            }
            // Approved, but the change was not yet requested.
            (StepState::AwaitingGate | StepState::Pending, _) => self.begin_attempt(now, fx),
            (StepState::Running, StepBody::Action { .. }) => match run.plan.clone() {
                // The intent is durable but its outcome is not: ask the cloud what happened
                // before sending anything again.
                Some(plan) if self.in_flight == Some(self.current) => {
                    run.awaiting = Some(plan.attempt);
                    fx.push(Effect::Reconcile { plan })
                }
                _ => self.request_change(now, fx, false),
            },
            (StepState::Running, StepBody::Command { .. }) if self.rerun_interrupted_commands => {
                self.command_intent(now, fx, true)
            }
            (StepState::Running, StepBody::Command { .. }) => {
                let why = "interrupted while its command ran; check by hand whether it finished, then retry or skip";
                self.fail_now(why.to_string(), now, fx);
            }
            (StepState::Running, _) => fx.push(Effect::AwaitOperator {
                step: step.id.clone(),
            }),
            (StepState::Verifying, StepBody::Check { expect }) => fx.push(Effect::Observe {
                resource: expect.resource.clone(),
            }),
            (
                StepState::Waiting,
                StepBody::Action { .. } | StepBody::Wait { until: Some(_), .. },
            ) if !matches!(run.wait, Some(WaitFor::Backoff(_))) => run.next_poll = Some(now),
            _ => {}
        }
    }

    /// What [`Engine::begin_attempt`] does to the state of a check, manual or wait step, without
    /// its effects (those steps begin without writing a record).
    fn begin_silently(&mut self, i: usize, at: DateTime<Utc>, attempt: Option<u32>) {
        let step = &self.runbook.steps[i];
        let run = &mut self.steps[i];
        let (state, wait) = match &step.body {
            StepBody::Check { .. } => (StepState::Verifying, None),
            StepBody::Manual => (StepState::Running, None),
            StepBody::Wait { until: Some(_), .. } => (StepState::Waiting, Some(WaitFor::Condition)),
            StepBody::Wait { delay, .. } => {
                let d = delay.map_or(0, |d| d.as_secs() as i64);
                (
                    StepState::Waiting,
                    Some(WaitFor::Until(at + TimeDelta::seconds(d))),
                )
            }
            StepBody::Action { .. } | StepBody::Command { .. } => return,
        };
        run.attempt = attempt.unwrap_or(run.attempt + 1);
        run.body_started_at = Some(at);
        run.state = state;
        run.wait = wait;
        run.error = None;
    }
}
