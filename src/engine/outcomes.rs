//! How a step ends: success, failure with retries, timeouts, and the operator's skip, retry and
//! abort (each with a reason, each journaled).

use chrono::{DateTime, TimeDelta, Utc};

use super::condition::evaluate;
use super::flow::Done;
use super::{AfterAck, Effect, Engine, RunStatus, StepState, WaitFor, POLL_EVERY};
use crate::audit::event::{
    DurationSource, ErrorNote, Outcome, StatusSnapshot, StepFailed, StepRetried, StepSucceeded,
};
use crate::audit::Event;
use crate::model::{CloudError, Progress, ResourceStatus};
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
            let previous = self.seen.insert(resource.clone(), s.clone());
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
            if changed && matches!(self.status(), RunStatus::Running | RunStatus::Blocked(_)) {
                let snapshot = StatusSnapshot {
                    resource: resource.clone(),
                    status: s.clone(),
                };
                let event = Event::StatusSnapshot(snapshot);
                self.emit(fx, now, None, event, AfterAck::Nothing);
            }
        }
        if matches!(self.status(), RunStatus::Running) {
            if let Some((guard, state)) = self.guard_in_alarm().filter(|(g, _)| *g == resource) {
                return self.guard_trip(guard, state, now, fx);
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
        if condition.resource != resource || !matches!(self.status(), RunStatus::Running) {
            return;
        }
        let is_wait = matches!(step.body, StepBody::Wait { .. });
        let verdict = match status {
            Ok(s) => evaluate(&condition, &s, now),
            Err(e) => Err(format!("cannot observe {resource}: {e}")),
        };
        match verdict {
            Ok(held) => self.succeed(now, Done::Observed(held), fx),
            Err(why) if is_wait => {
                let live = &mut self.live[self.state.current];
                live.last_progress = Some(why);
                live.next_poll = Some(now + POLL_EVERY);
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
        let i = self.state.current;
        let Some(WaitFor::TargetState(target)) = self.state.steps[i].wait.clone() else {
            return;
        };
        match result {
            Ok(p) if p.state == target => {
                // What only the finished change knows (an endpoint, the created resource) goes
                // into the success record with the step's other outputs.
                let mut extra = p.outputs;
                extra.retain(|_, v| !v.is_empty());
                self.succeed_with(now, Done::State(p.state), extra, fx);
            }
            Ok(Progress {
                state,
                failed: Some(why),
                ..
            }) => {
                // It will never get there: waiting out the timeout (hours) helps nobody, and
                // trying again would only find the same broken resource.
                let why = format!("AWS says `{state}`: {why}");
                self.fail_now(why, now, fx)
            }
            Ok(p) => {
                let pct = p.percent.map(|x| format!(" {x}%")).unwrap_or_default();
                self.live[i].last_progress = Some(format!("{}{pct}", p.state));
                if matches!(
                    p.state.as_str(),
                    "failed" | "error" | "aborted" | "incompatible-restore"
                ) {
                    let why = format!("the change ended in state `{}`", p.state);
                    return self.attempt_failed(why, now, fx);
                }
                self.live[i].next_poll = Some(now + POLL_EVERY);
            }
            Err(e) => {
                // A failed poll is not a failed change: note it and poll again.
                self.live[i].last_progress = Some(format!("cannot check progress: {e}"));
                self.live[i].next_poll = Some(now + POLL_EVERY);
                let note = ErrorNote {
                    error: e.to_string(),
                    during: Some("polling progress".into()),
                };
                self.emit(fx, now, Some(i), Event::Error(note), AfterAck::Nothing);
            }
        }
    }

    pub(super) fn command_done(
        &mut self,
        result: Result<(i32, String), String>,
        done: Done,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let i = self.state.current;
        let StepBody::Command { expect_exit, .. } = self.runbook.steps[i].body else {
            return;
        };
        let attempt = self.state.steps[i].attempt;
        match result {
            Ok((code, stdout)) => {
                let stdout = stdout.trim_end_matches(['\n', '\r']).to_string();
                let outcome = Outcome {
                    attempt,
                    exit_code: Some(code),
                    ok: code == expect_exit,
                    stdout: Some(stdout),
                    ..Outcome::default()
                };
                self.emit(fx, now, Some(i), Event::Outcome(outcome), AfterAck::Nothing);
                if code == expect_exit {
                    self.succeed(now, done, fx);
                } else {
                    let why = format!("exited with {code}, expected {expect_exit}");
                    self.attempt_failed(why, now, fx);
                }
            }
            Err(e) => {
                let outcome = Outcome {
                    attempt,
                    error: Some(e.clone()),
                    ..Outcome::default()
                };
                self.emit(fx, now, Some(i), Event::Outcome(outcome), AfterAck::Nothing);
                self.attempt_failed(e, now, fx);
            }
        }
    }

    pub(super) fn tick(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if !matches!(self.status(), RunStatus::Running) {
            return;
        }
        let Some((step, state)) = self.current_step() else {
            return;
        };
        let step = step.clone();
        let i = self.state.current;
        let run = &self.state.steps[i];
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
                let change_under_way = self.live[i].awaiting.is_some()
                    || matches!(run.wait, Some(WaitFor::TargetState(_)));
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
            Some(WaitFor::Until(t)) if now >= t => return self.succeed(now, Done::Plain, fx),
            Some(WaitFor::Backoff(t)) if now >= t => return self.begin_attempt(now, fx),
            _ => {}
        }
        if self.live[i].next_poll.is_some_and(|t| now >= t) {
            self.live[i].next_poll = None;
            match (&step.body, &self.state.steps[i].plan) {
                (StepBody::Action { .. }, Some(plan)) => {
                    let plan = plan.with_made(self.state.outputs.get(&step.id));
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
        let attempt = self.state.steps[self.state.current].attempt;
        self.attempt_failed_at(attempt, why, now, fx);
    }

    /// Attempt `attempt` of the current step failed (it may have failed before its first record,
    /// when its request could not be prepared).
    pub(super) fn attempt_failed_at(
        &mut self,
        attempt: u32,
        why: String,
        now: DateTime<Utc>,
        fx: &mut Vec<Effect>,
    ) {
        let i = self.state.current;
        let retry = self.runbook.steps[i].retry;
        let live = &mut self.live[i];
        live.next_poll = None;
        // A late answer to the abandoned request is ignored from here on.
        live.awaiting = None;
        if attempt < retry.max_attempts {
            let retried = StepRetried {
                after: Some(why),
                attempt: attempt + 1,
                auto: true,
                backoff_secs: Some(retry.backoff.as_secs()),
                reason: None,
            };
            self.emit(
                fx,
                now,
                Some(i),
                Event::StepRetried(retried),
                AfterAck::Nothing,
            );
        } else {
            self.fail_at(attempt, why, now, fx);
        }
    }

    /// Fails the current step without retrying: the operator decides what comes next.
    pub(super) fn fail_now(&mut self, why: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let attempt = self.state.steps[self.state.current].attempt;
        self.fail_at(attempt, why, now, fx);
    }

    fn fail_at(&mut self, attempt: u32, error: String, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let i = self.state.current;
        let live = &mut self.live[i];
        live.next_poll = None;
        live.awaiting = None;
        let failed = StepFailed {
            attempt,
            error,
            guard: None,
        };
        self.emit(
            fx,
            now,
            Some(i),
            Event::StepFailed(failed),
            AfterAck::Nothing,
        );
    }

    pub(super) fn succeed(&mut self, now: DateTime<Utc>, done: Done, fx: &mut Vec<Effect>) {
        self.succeed_with(now, done, Default::default(), fx);
    }

    /// The current step succeeded; `extra` outputs join those it already has.
    pub(super) fn succeed_with(
        &mut self,
        now: DateTime<Utc>,
        done: Done,
        extra: std::collections::BTreeMap<String, String>,
        fx: &mut Vec<Effect>,
    ) {
        let i = self.state.current;
        let step = &self.runbook.steps[i];
        let run = &self.state.steps[i];
        let took = run.started_at.map_or(0, |s| (now - s).num_seconds());
        let mut outputs = self.state.outputs.get(&step.id).cloned();
        if !extra.is_empty() {
            outputs.get_or_insert_with(Default::default).extend(extra);
        }
        // Only real time teaches the RTO estimate: a drill's is people's (timed), assumed, or
        // the simulated world's.
        let source = match (&done, self.state.drill, &step.body) {
            (_, false, _) => DurationSource::Live,
            (Done::Assumed, true, _) => DurationSource::Assumed,
            (Done::Note(_), true, StepBody::Manual | StepBody::Command { .. }) => {
                DurationSource::Timed
            }
            _ => DurationSource::Simulated,
        };
        let data_lost = self.data_lost(i, outputs.as_ref());
        let mut succeeded = StepSucceeded {
            // A manual step done at its gate had no attempt record: it was still its first.
            attempt: run.attempt.max(1),
            data_lost,
            duration_secs: took,
            duration_source: Some(source),
            outputs,
            ..StepSucceeded::default()
        };
        match done {
            Done::Plain => {}
            Done::Assumed => {
                succeeded.note = Some("not timed: its expected duration stands in".into())
            }
            Done::Note(note) => succeeded.note = Some(note),
            Done::Observed(held) => succeeded.observed = Some(held),
            Done::State(state) => succeeded.state = Some(state),
            Done::Resumed => succeeded.resumed = Some(true),
        }
        self.next_poll_off(i);
        self.emit(
            fx,
            now,
            Some(i),
            Event::StepSucceeded(succeeded),
            AfterAck::Nothing,
        );
        self.enter_step(now, fx);
    }

    pub(super) fn next_poll_off(&mut self, i: usize) {
        self.live[i].next_poll = None;
    }
}
