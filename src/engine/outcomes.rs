//! How a step ends: success, failure with retries, timeouts, and the operator's skip, retry and
//! abort (each with a reason, each journaled).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::condition::evaluate;
use super::{AfterAck, Effect, Engine, RunStatus, StepState, WaitFor, POLL_EVERY};
use crate::audit::Event;
use crate::cloud::model::{CloudError, Progress, ResourceStatus};
use crate::runbook::StepBody;

impl Engine {
    pub(super) fn observed(
        &mut self,
        resource: String,
        status: Result<ResourceStatus, CloudError>,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        if let Ok(s) = &status {
            let previous = self.observations.insert(resource.clone(), s.clone());
            // Health, state, or the RPO verdict: recovery points of healthy resources move all
            // the time, so their every move would drown the journal.
            let verdict = |o: &ResourceStatus| {
                self.runbook
                    .resources
                    .get(&resource)
                    .map(|res| super::objectives::rpo(&self.runbook, res, Some(o), now).verdict)
            };
            let changed = previous.as_ref().is_none_or(|p| {
                p.health != s.health || p.state != s.state || verdict(p) != verdict(s)
            });
            // Status snapshots go to the journal on change only: what war-room viewers follow.
            if changed && matches!(self.status, RunStatus::Running | RunStatus::Blocked(_)) {
                let detail = json!({"resource": resource, "status": s});
                self.record(
                    fx,
                    now,
                    Event::StatusSnapshot,
                    None,
                    detail,
                    AfterAck::Nothing,
                );
            }
        }
        let Some((step, state)) = self.current_step() else {
            return;
        };
        let condition = match (&step.body, state) {
            (StepBody::Check { expect }, StepState::Verifying) => expect.clone(),
            (StepBody::Wait { until: Some(c), .. }, StepState::Waiting) => c.clone(),
            _ => return,
        };
        if condition.resource != resource || !matches!(self.status, RunStatus::Running) {
            return;
        }
        let is_wait = matches!(step.body, StepBody::Wait { .. });
        let verdict = match status {
            Ok(s) => evaluate(&condition, &s, now),
            Err(e) => Err(format!("cannot observe {resource}: {e}")),
        };
        match verdict {
            Ok(held) => self.succeed(now, json!({"observed": held}), fx),
            Err(why) if is_wait => {
                let run = &mut self.steps[self.current];
                run.last_progress = Some(why);
                run.next_poll = Some(now + POLL_EVERY);
            }
            Err(why) => self.attempt_failed(why, now, fx),
        }
    }

    pub(super) fn progress(
        &mut self,
        result: Result<Progress, CloudError>,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let run = &mut self.steps[self.current];
        let Some(WaitFor::TargetState(target)) = run.wait.clone() else {
            return;
        };
        match result {
            Ok(p) if p.state == target => {
                // What only the finished change knows (an endpoint, the created resource).
                let id = self.runbook.steps[self.current].id.clone();
                let outs = self.outputs.entry(id).or_default();
                for (k, v) in p.outputs {
                    if !v.is_empty() {
                        outs.insert(k, v);
                    }
                }
                let detail = json!({"state": p.state});
                self.succeed(now, detail, fx);
            }
            Ok(p) => {
                let pct = p.percent.map(|x| format!(" {x}%")).unwrap_or_default();
                run.last_progress = Some(format!("{}{pct}", p.state));
                if matches!(
                    p.state.as_str(),
                    "failed" | "error" | "aborted" | "incompatible-restore"
                ) {
                    let why = format!("the change ended in state `{}`", p.state);
                    return self.attempt_failed(why, now, fx);
                }
                run.next_poll = Some(now + POLL_EVERY);
            }
            Err(e) => {
                // A failed poll is not a failed change: note it and poll again.
                run.last_progress = Some(format!("cannot check progress: {e}"));
                run.next_poll = Some(now + POLL_EVERY);
                let id = self.runbook.steps[self.current].id.clone();
                let detail = json!({"error": e.to_string(), "while": "polling progress"});
                self.record(fx, now, Event::Error, Some(id), detail, AfterAck::Nothing);
            }
        }
    }

    pub(super) fn command_done(
        &mut self,
        result: Result<(i32, String), String>,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let step = self.runbook.steps[self.current].clone();
        let StepBody::Command { expect_exit, .. } = &step.body else {
            return;
        };
        let attempt = self.steps[self.current].attempt;
        match result {
            Ok((code, stdout)) => {
                let stdout = stdout.trim_end_matches(['\n', '\r']).to_string();
                let detail = json!({"ok": code == *expect_exit, "attempt": attempt, "exit_code": code, "stdout": stdout});
                self.record(
                    fx,
                    now,
                    Event::Outcome,
                    Some(step.id.clone()),
                    detail,
                    AfterAck::Nothing,
                );
                let outs = self.outputs.entry(step.id.clone()).or_default();
                outs.insert("stdout".into(), stdout);
                outs.insert("exit_code".into(), code.to_string());
                if code == *expect_exit {
                    self.succeed(now, json!({}), fx);
                } else {
                    self.attempt_failed(
                        format!("exited with {code}, expected {expect_exit}"),
                        now,
                        fx,
                    );
                }
            }
            Err(e) => {
                let detail = json!({"ok": false, "attempt": attempt, "error": e});
                self.record(
                    fx,
                    now,
                    Event::Outcome,
                    Some(step.id.clone()),
                    detail,
                    AfterAck::Nothing,
                );
                self.attempt_failed(e, now, fx);
            }
        }
    }

    pub(super) fn tick(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if !matches!(self.status, RunStatus::Running) {
            return;
        }
        let Some((step, state)) = self.current_step() else {
            return;
        };
        let step = step.clone();
        let run = &self.steps[self.current];
        if let (Some(timeout), Some(begun)) = (step.timeout, run.body_started_at) {
            let active = matches!(
                state,
                StepState::Running | StepState::Waiting | StepState::Verifying
            );
            let backing_off = matches!(run.wait, Some(WaitFor::Backoff(_)));
            if active && !backing_off && now >= begun + TimeDelta::seconds(timeout.as_secs() as i64)
            {
                // A change that was requested may still be happening: another attempt (with a new
                // token) could make it twice. The operator looks, then retries or skips.
                let change_under_way =
                    run.awaiting.is_some() || matches!(run.wait, Some(WaitFor::TargetState(_)));
                if change_under_way {
                    let why = format!(
                        "timed out after {timeout} with the change possibly still under way; check it before you retry (a retry sends a new request)"
                    );
                    return self.fail_now(why, now, fx);
                }
                return self.attempt_failed(format!("timed out after {timeout}"), now, fx);
            }
        }
        match run.wait.clone() {
            Some(WaitFor::Until(t)) if now >= t => return self.succeed(now, json!({}), fx),
            Some(WaitFor::Backoff(t)) if now >= t => return self.begin_attempt(now, fx),
            _ => {}
        }
        if run.next_poll.is_some_and(|t| now >= t) {
            self.steps[self.current].next_poll = None;
            match (&step.body, &self.steps[self.current].plan) {
                (StepBody::Action { .. }, Some(plan)) => {
                    let plan = plan.with_made(self.outputs.get(&step.id));
                    fx.push(Effect::Poll { plan })
                }
                (StepBody::Wait { until: Some(c), .. }, _) => fx.push(Effect::Observe {
                    resource: c.resource.clone(),
                }),
                _ => {}
            }
        }
    }

    /// The current attempt failed: retry after the backoff if attempts remain, else block the run
    /// until the operator retries, skips or aborts.
    pub(super) fn attempt_failed(&mut self, why: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let step = self.runbook.steps[self.current].clone();
        let run = &mut self.steps[self.current];
        run.error = Some(why.clone());
        run.next_poll = None;
        // A late answer to the abandoned request is ignored from here on.
        run.awaiting = None;
        if run.attempt < step.retry.max_attempts {
            let at = now + TimeDelta::seconds(step.retry.backoff.as_secs() as i64);
            run.state = StepState::Waiting;
            run.wait = Some(WaitFor::Backoff(at));
            let detail = json!({"attempt": run.attempt + 1, "after": why, "auto": true,
                "backoff_secs": step.retry.backoff.as_secs()});
            self.record(
                fx,
                now,
                Event::StepRetried,
                Some(step.id),
                detail,
                AfterAck::Nothing,
            );
        } else {
            self.fail_now(why, now, fx);
        }
    }

    /// Fails the current step without retrying: the operator decides what comes next.
    pub(super) fn fail_now(&mut self, why: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let id = self.runbook.steps[self.current].id.clone();
        let run = &mut self.steps[self.current];
        run.state = StepState::Failed;
        run.wait = None;
        run.next_poll = None;
        run.awaiting = None;
        run.error = Some(why.clone());
        let detail = json!({"attempt": run.attempt, "error": why});
        self.status = RunStatus::Blocked(format!("step `{id}` failed: {why}"));
        self.record(
            fx,
            now,
            Event::StepFailed,
            Some(id),
            detail,
            AfterAck::Nothing,
        );
    }

    pub(super) fn succeed(
        &mut self,
        now: DateTime<Utc>,
        mut detail: serde_json::Value,
        fx: &mut Vec<Effect>,
    ) {
        let step = self.runbook.steps[self.current].clone();
        let run = &mut self.steps[self.current];
        run.state = StepState::Done;
        run.finished_at = Some(now);
        run.wait = None;
        run.next_poll = None;
        run.error = None;
        let took = run.started_at.map_or(0, |s| (now - s).num_seconds());
        if let Some(obj) = detail.as_object_mut() {
            obj.insert("attempt".into(), json!(run.attempt));
            obj.insert("duration_secs".into(), json!(took));
            obj.insert("outputs".into(), json!(self.outputs.get(&step.id)));
        }
        self.record(
            fx,
            now,
            Event::StepSucceeded,
            Some(step.id),
            detail,
            AfterAck::Nothing,
        );
        self.current += 1;
        self.enter_step(now, fx);
    }

    pub(super) fn operator_skip(
        &mut self,
        reason: String,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        if reason.trim().is_empty() {
            return fx.push(Effect::Refused("say why you skip this step".into()));
        }
        let Some((step, state)) = self.current_step() else {
            return fx.push(Effect::Refused("no step to skip".into()));
        };
        if state == StepState::Running
            && matches!(
                step.body,
                StepBody::Action { .. } | StepBody::Command { .. }
            )
        {
            return fx.push(Effect::Refused(
                "a change is in flight; wait for its answer first".into(),
            ));
        }
        let id = step.id.clone();
        let run = &mut self.steps[self.current];
        run.state = StepState::Skipped;
        run.finished_at = Some(now);
        run.wait = None;
        run.next_poll = None;
        self.status = RunStatus::Running;
        self.record(
            fx,
            now,
            Event::StepSkipped,
            Some(id),
            json!({"reason": reason}),
            AfterAck::Nothing,
        );
        self.current += 1;
        self.enter_step(now, fx);
    }

    pub(super) fn operator_retry(
        &mut self,
        reason: String,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        if reason.trim().is_empty() {
            return fx.push(Effect::Refused("say why you retry this step".into()));
        }
        let Some((step, StepState::Failed)) = self.current_step() else {
            return fx.push(Effect::Refused("only a failed step can be retried".into()));
        };
        let id = step.id.clone();
        let attempt = self.steps[self.current].attempt + 1;
        self.status = RunStatus::Running;
        let detail = json!({"attempt": attempt, "reason": reason, "auto": false});
        self.record(
            fx,
            now,
            Event::StepRetried,
            Some(id),
            detail,
            AfterAck::Nothing,
        );
        self.begin_attempt(now, fx);
    }

    pub(super) fn abort(&mut self, reason: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if let Some(run) = self.steps.get_mut(self.current) {
            run.state = StepState::Aborted;
            run.finished_at = Some(now);
        }
        let step = self.runbook.steps.get(self.current).map(|s| s.id.clone());
        self.status = RunStatus::Aborted(reason.clone());
        self.record(
            fx,
            now,
            Event::RunAborted,
            step,
            json!({"reason": reason}),
            AfterAck::Nothing,
        );
        fx.push(Effect::Finished(self.status.clone()));
    }
}
