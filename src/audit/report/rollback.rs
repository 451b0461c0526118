//! A rollback's part of the report: when it began and ended, and each step it undid, newest
//! first, with its gate and request as a step's are reported.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::step::secs_between;
use super::{clean, ms, StepReport, StepStatus};
use crate::audit::event::StepSucceeded;
use crate::audit::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackOutcome {
    Finished,
    Stopped,
    /// No end record: still going, or the process died.
    #[default]
    Unfinished,
}

/// The rollback of a run: its completed steps with an `inverse`, undone newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RollbackReport {
    #[serde(with = "ms::opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(with = "ms::opt")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(rename = "duration_seconds")]
    pub duration_secs: Option<u64>,
    pub reason: Option<String>,
    pub outcome: RollbackOutcome,
    pub stop_reason: Option<String>,
    /// In the order they were undone; `status: done` means rolled back.
    pub steps: Vec<StepReport>,
}

impl RollbackReport {
    /// Applies one of a rollback's records (`titles` are the run's steps, for their titles).
    pub(super) fn apply(
        &mut self,
        event: &Event,
        step: Option<&str>,
        at: DateTime<Utc>,
        operator: &str,
        titles: &[StepReport],
    ) {
        match event {
            Event::RollbackStarted(d) => {
                self.started_at = Some(at);
                self.reason = d.reason.as_deref().map(clean);
                for id in &d.steps {
                    let id = clean(id);
                    let title = titles.iter().find(|s| s.id == id);
                    self.steps.push(StepReport {
                        title: title.and_then(|s| s.title.clone()),
                        kind: title.and_then(|s| s.kind.clone()),
                        id,
                        ..StepReport::default()
                    });
                }
                return;
            }
            Event::RollbackFinished(_) | Event::RollbackStopped(_) => {
                self.ended_at = Some(at);
                self.duration_secs = self.started_at.map(|s| secs_between(s, at));
                self.outcome = RollbackOutcome::Finished;
                if let Event::RollbackStopped(d) = event {
                    self.outcome = RollbackOutcome::Stopped;
                    self.stop_reason = Some(clean(&d.reason));
                }
                return;
            }
            _ => {}
        }
        let Some(id) = step.map(clean) else {
            return;
        };
        let i = match self.steps.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                self.steps.push(StepReport {
                    id,
                    ..StepReport::default()
                });
                self.steps.len() - 1
            }
        };
        let s = &mut self.steps[i];
        s.operators_add(operator);
        // Its records are a step's, under other names: report them as a step's are.
        let as_step = match event.clone() {
            Event::RollbackGateShown(d) => Event::GateShown(d),
            Event::RollbackApproved(d) => Event::GateApproved(d),
            Event::RollbackCancelled(d) => Event::GateCancelled(d),
            Event::RollbackIntent(d) => Event::Intent(d),
            Event::RollbackOutcome(d) => Event::Outcome(d),
            Event::RollbackFailed(d) => Event::StepFailed(d),
            Event::RollbackRetried(d) => Event::StepRetried(d),
            Event::RollbackSkipped(d) => Event::StepSkipped(d),
            Event::StepRolledBack(d) => Event::StepSucceeded(StepSucceeded {
                attempt: d.attempt,
                duration_secs: d.duration_secs,
                outputs: d.outputs,
                resumed: d.resumed,
                state: d.state,
                ..StepSucceeded::default()
            }),
            _ => return,
        };
        s.apply(&as_step, at, operator);
    }

    pub(super) fn finish(&mut self) {
        for s in &mut self.steps {
            if let (Some(a), Some(b)) = (s.started_at, s.ended_at) {
                s.duration_secs = Some(secs_between(a, b));
            }
            if s.status == StepStatus::InProgress && self.outcome == RollbackOutcome::Stopped {
                s.status = StepStatus::Aborted;
            }
        }
    }
}
