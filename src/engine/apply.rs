//! The one transition of a run: a journal record applied to its [`State`]. The live engine
//! applies each record as it writes it, and a run is rebuilt from its journal by applying every
//! record in turn, so the two cannot diverge: no other code changes a run's [`State`].

use chrono::{DateTime, TimeDelta, Utc};

use super::state::{AfterOutcome, Approved, RunStatus, State, StepRun, StepState, WaitFor};
use crate::audit::event::{Event, Outcome, StepRetried};
use crate::audit::{Entry, Record};
use crate::runbook::{Runbook, StepBody};

/// Why a journal cannot be folded into a run of a runbook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the journal is of runbook `{found}`, not `{expected}`")]
    OtherRunbook { expected: String, found: String },
    #[error("the journal does not start with a run-started record: it is not the journal of a pilotlight run; start a new one")]
    NoStart,
    #[error("journal record {seq} names step `{step}`, which this runbook does not have (was the runbook changed since the run started?)")]
    UnknownStep { seq: u64, step: String },
}

fn secs(s: u64) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

impl State {
    /// A run of `runbook` before its first record.
    pub fn new(runbook: &Runbook, run_id: &str) -> State {
        State {
            run_id: run_id.to_string(),
            steps: runbook.steps.iter().map(|_| StepRun::new()).collect(),
            ..State::default()
        }
    }

    /// The state a run had when its journal ends: the fold of [`State::apply`] over its records.
    pub fn from_records(runbook: &Runbook, records: &[Record]) -> Result<State, ReplayError> {
        let first = records.first().ok_or(ReplayError::NoStart)?;
        let Event::RunStarted(started) = &first.event else {
            return Err(ReplayError::NoStart);
        };
        if first.runbook != runbook.id {
            return Err(ReplayError::OtherRunbook {
                expected: runbook.id.clone(),
                found: first.runbook.clone(),
            });
        }
        let mut state = State::new(runbook, &started.run_id);
        for r in records {
            state.apply(runbook, r.at, r.step.as_deref(), &r.event)?;
        }
        Ok(state)
    }

    /// Applies one record (its time, the step it names, its event).
    pub fn apply(
        &mut self,
        runbook: &Runbook,
        at: DateTime<Utc>,
        step: Option<&str>,
        event: &Event,
    ) -> Result<(), ReplayError> {
        let index =
            match step {
                Some(id) => Some(runbook.steps.iter().position(|s| s.id == id).ok_or_else(
                    || ReplayError::UnknownStep {
                        seq: self.records,
                        step: id.to_string(),
                    },
                )?),
                None => None,
            };
        self.apply_at(runbook, at, index, event);
        Ok(())
    }

    /// Applies an entry the engine writes (its step is always one of the runbook's).
    pub(super) fn apply_entry(&mut self, runbook: &Runbook, index: Option<usize>, entry: &Entry) {
        self.apply_at(runbook, entry.at, index, &entry.event);
    }

    fn apply_at(
        &mut self,
        runbook: &Runbook,
        at: DateTime<Utc>,
        index: Option<usize>,
        event: &Event,
    ) {
        let seq = self.records;
        self.records += 1;
        // A rollback has its own records, and its own state beside each step's.
        if event.is_rollback() {
            return self.apply_rollback(runbook, at, index, event, seq);
        }
        let Some(i) = index.filter(|i| *i < self.steps.len()) else {
            return self.apply_to_run(at, event);
        };
        self.current = i;
        // A record of the step after its outcome says what that outcome led to.
        if !matches!(event, Event::Error(_)) {
            self.after_outcome = None;
        }
        match event {
            Event::StepStarted(_) => {
                let run = &mut self.steps[i];
                run.started_at = Some(at);
                run.state = StepState::Pending;
                // Without a gate, a check, manual or wait step begins as it starts.
                if runbook.steps[i].gate.is_none() {
                    let attempt = run.attempt + 1;
                    self.begin(runbook, i, at, attempt);
                }
            }
            Event::AttemptBegun(d) => self.begin(runbook, i, at, d.attempt),
            Event::GateShown(_) => {
                self.steps[i].state = StepState::AwaitingGate;
                self.steps[i].confirmed = None;
            }
            Event::GateConfirmed(d) => self.steps[i].confirmed = Some(d.clone()),
            Event::GateApproved(d) => {
                self.steps[i].approved = Some(Approved {
                    seq,
                    unattended: d.unattended,
                })
            }
            Event::GateCancelled(_) => self.steps[i].confirmed = None,
            Event::Error(_) => {}
            Event::Intent(d) => {
                let run = &mut self.steps[i];
                run.attempt = d.attempt;
                run.state = StepState::Running;
                if !d.resend {
                    // A new attempt begins: what the last one left behind is gone.
                    run.wait = None;
                    run.error = None;
                }
                // The step's timeout counts from the request that is out now (a request sent
                // again after a restart found the first one never arrived counts afresh).
                run.body_started_at = Some(at);
                run.plan = d.plan.clone();
                if let Some(plan) = &d.plan {
                    run.first_request_at.get_or_insert(plan.since.unwrap_or(at));
                }
                self.in_flight = Some(i);
            }
            Event::Outcome(d) => self.outcome(runbook, i, d),
            Event::StepSucceeded(d) => {
                if let Some(outs) = &d.outputs {
                    let step_outs = self.outputs.entry(runbook.steps[i].id.clone()).or_default();
                    step_outs.extend(outs.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                let run = &mut self.steps[i];
                run.attempt = d.attempt;
                run.state = StepState::Done;
                run.finished_at = Some(at);
                run.duration_source = d.duration_source;
                run.data_lost = d.data_lost.clone();
                run.wait = None;
                run.error = None;
                self.current = i + 1;
            }
            Event::StepFailed(d) => {
                let run = &mut self.steps[i];
                run.attempt = d.attempt;
                run.state = StepState::Failed;
                run.wait = None;
                run.error = Some(d.error.clone());
                run.guard_trip = d.guard.clone();
                self.status = RunStatus::Blocked(format!(
                    "step `{}` failed: {}",
                    runbook.steps[i].id, d.error
                ));
            }
            Event::StepSkipped(_) => {
                let run = &mut self.steps[i];
                run.state = StepState::Skipped;
                run.finished_at = Some(at);
                run.wait = None;
                self.status = RunStatus::Running;
                self.current = i + 1;
            }
            Event::StepRetried(d) => self.retried(runbook, i, at, d),
            Event::RunAborted(d) => {
                let run = &mut self.steps[i];
                run.state = StepState::Aborted;
                run.finished_at = Some(at);
                self.status = RunStatus::Aborted(d.reason.clone());
                self.ended_at = Some(at);
            }
            _ => self.apply_to_run(at, event),
        }
        // A change planned by an earlier attempt is not this attempt's.
        let run = &mut self.steps[i];
        if run.plan.as_ref().is_some_and(|p| p.attempt != run.attempt) {
            run.plan = None;
        }
    }

    /// Events of the run as a whole.
    fn apply_to_run(&mut self, at: DateTime<Utc>, event: &Event) {
        match event {
            Event::RunStarted(d) => {
                self.status = RunStatus::Running;
                self.started_at = Some(at);
                self.drill = d.context.as_ref().is_some_and(|c| c.drill.is_some());
            }
            Event::RunFinished(_) => {
                self.status = RunStatus::Finished;
                self.ended_at = Some(at);
            }
            Event::RunAborted(d) => {
                self.status = RunStatus::Aborted(d.reason.clone());
                self.ended_at = Some(at);
            }
            Event::StatusSnapshot(d) => {
                if d.status.health == crate::runbook::Health::Unavailable {
                    self.lost_at.entry(d.resource.clone()).or_insert(at);
                }
                self.snapshots.insert(d.resource.clone(), d.status.clone());
                self.snapshot_at.insert(d.resource.clone(), at);
            }
            _ => {}
        }
    }

    /// A check, manual or wait step's attempt begins (actions and commands begin with their
    /// intent).
    fn begin(&mut self, runbook: &Runbook, i: usize, at: DateTime<Utc>, attempt: u32) {
        let (state, wait) = match &runbook.steps[i].body {
            StepBody::Check { .. } => (StepState::Verifying, None),
            StepBody::Manual => (StepState::Running, None),
            StepBody::Wait { until: Some(_), .. } => (StepState::Waiting, Some(WaitFor::Condition)),
            StepBody::Wait { delay, .. } => (
                StepState::Waiting,
                Some(WaitFor::Until(
                    at + secs(delay.unwrap_or_default().as_secs()),
                )),
            ),
            StepBody::Action { .. } | StepBody::Command { .. } => return,
        };
        let run = &mut self.steps[i];
        run.attempt = attempt;
        run.body_started_at = Some(at);
        run.state = state;
        run.wait = wait;
        run.error = None;
        run.plan = None;
    }

    fn outcome(&mut self, runbook: &Runbook, i: usize, d: &Outcome) {
        self.in_flight = None;
        let step = &runbook.steps[i];
        self.steps[i].attempt = d.attempt;
        if d.ok {
            if let Some(outs) = &d.outputs {
                let step_outs = self.outputs.entry(step.id.clone()).or_default();
                step_outs.extend(outs.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        if let Some(code) = d.exit_code {
            let step_outs = self.outputs.entry(step.id.clone()).or_default();
            step_outs.insert("exit_code".into(), code.to_string());
            step_outs.insert("stdout".into(), d.stdout.clone().unwrap_or_default());
        }
        let wait_until = match &step.body {
            StepBody::Action { wait_until, .. } => wait_until.as_ref(),
            _ => None,
        };
        self.after_outcome = match (d.ok, wait_until) {
            (true, Some(_)) => None,
            (true, None) => Some(AfterOutcome::Succeeded),
            (false, _) if d.uncertain == Some(true) => {
                Some(AfterOutcome::Uncertain(d.error.clone().unwrap_or_default()))
            }
            (false, _) => Some(AfterOutcome::Failed(match (&d.error, d.exit_code) {
                (Some(e), _) => e.clone(),
                (None, code) => {
                    let expected = match &step.body {
                        StepBody::Command { expect_exit, .. } => *expect_exit,
                        _ => 0,
                    };
                    format!(
                        "exited with {}, expected {expected}",
                        code.map_or("?".into(), |c| c.to_string())
                    )
                }
            })),
        };
        if let (true, Some(target)) = (d.ok, wait_until) {
            let run = &mut self.steps[i];
            run.state = StepState::Waiting;
            run.wait = Some(WaitFor::TargetState(target.clone()));
        }
    }

    fn retried(&mut self, runbook: &Runbook, i: usize, at: DateTime<Utc>, d: &StepRetried) {
        let run = &mut self.steps[i];
        // The record names the attempt to come: after a backoff when automatic, at once when
        // the operator asked (its attempt-begun or intent record follows).
        run.attempt = d.attempt.saturating_sub(1);
        run.state = StepState::Waiting;
        // The operator's retry after a guard paused the run goes on despite that alarm.
        if let Some(g) = run.guard_trip.take().filter(|_| !d.auto) {
            run.guards_overridden.push(g);
        }
        // An attempt whose plan the gate's look makes (a change set) is shown anew: its gate
        // opens again, and what was approved before does not run it.
        let shown = matches!(&runbook.steps[i].body,
            StepBody::Action { call, .. } if call.action.runs_what_is_shown());
        if shown && !d.auto {
            run.approved = None;
            run.confirmed = None;
            run.state = StepState::Pending;
        }
        if d.auto {
            let backoff = d
                .backoff_secs
                .unwrap_or_else(|| runbook.steps[i].retry.backoff.as_secs());
            run.wait = Some(WaitFor::Backoff(at + secs(backoff)));
            run.error = d.after.clone();
        } else {
            run.wait = None;
        }
        self.status = RunStatus::Running;
    }
}
