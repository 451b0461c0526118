//! What a journal record says happened, typed: one variant per event, each with its detail.
//!
//! On disk a record keeps the shape pilotlight 0.1.0 wrote (`"event": "intent"`, then a `detail`
//! object), so every journal ever written still verifies, reports and resumes. This module is the
//! only place that turns a `detail` object into a typed event and back; every reader matches on
//! [`Event`]. Details are read leniently (a missing field takes its default, an unknown one is
//! ignored), as the untyped readers before them did; a field of the wrong type makes the record
//! unreadable, which `audit verify` reports at its line.

mod detail;
mod rollback;

use serde::{Deserialize, Serialize};

pub use detail::*;
pub use rollback::*;

/// The name of an event, as the journal's `event` field holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    RunStarted,
    RunResumed,
    /// The operator left the console; the run can be resumed (simulated time stops here).
    RunPaused,
    RunFinished,
    RunAborted,
    StepStarted,
    GateShown,
    GateApproved,
    GateCancelled,
    /// The operator confirmed a two-approver gate: the request waits for a second person.
    GateConfirmed,
    /// Written and fsynced before a change is requested.
    Intent,
    /// Written after the change request returned (success or failure).
    Outcome,
    StepSucceeded,
    StepFailed,
    StepSkipped,
    StepRetried,
    StatusSnapshot,
    TornTailSetAside,
    Error,
    /// A rollback of the run's completed changes began (newest first).
    RollbackStarted,
    RollbackGateShown,
    RollbackApproved,
    RollbackCancelled,
    /// Written and fsynced before an inverse is requested.
    RollbackIntent,
    RollbackOutcome,
    StepRolledBack,
    RollbackFailed,
    RollbackRetried,
    RollbackSkipped,
    RollbackFinished,
    RollbackStopped,
}

impl EventKind {
    /// The name as written in the journal (`step-started`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::RunStarted => "run-started",
            EventKind::RunResumed => "run-resumed",
            EventKind::RunPaused => "run-paused",
            EventKind::RunFinished => "run-finished",
            EventKind::RunAborted => "run-aborted",
            EventKind::StepStarted => "step-started",
            EventKind::GateShown => "gate-shown",
            EventKind::GateApproved => "gate-approved",
            EventKind::GateCancelled => "gate-cancelled",
            EventKind::GateConfirmed => "gate-confirmed",
            EventKind::Intent => "intent",
            EventKind::Outcome => "outcome",
            EventKind::StepSucceeded => "step-succeeded",
            EventKind::StepFailed => "step-failed",
            EventKind::StepSkipped => "step-skipped",
            EventKind::StepRetried => "step-retried",
            EventKind::StatusSnapshot => "status-snapshot",
            EventKind::TornTailSetAside => "torn-tail-set-aside",
            EventKind::Error => "error",
            EventKind::RollbackStarted => "rollback-started",
            EventKind::RollbackGateShown => "rollback-gate-shown",
            EventKind::RollbackApproved => "rollback-approved",
            EventKind::RollbackCancelled => "rollback-cancelled",
            EventKind::RollbackIntent => "rollback-intent",
            EventKind::RollbackOutcome => "rollback-outcome",
            EventKind::StepRolledBack => "step-rolled-back",
            EventKind::RollbackFailed => "rollback-failed",
            EventKind::RollbackRetried => "rollback-retried",
            EventKind::RollbackSkipped => "rollback-skipped",
            EventKind::RollbackFinished => "rollback-finished",
            EventKind::RollbackStopped => "rollback-stopped",
        }
    }
}

/// One event with its detail.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    RunStarted(RunStarted),
    RunResumed(RunResumed),
    RunPaused(RunPaused),
    RunFinished(RunFinished),
    RunAborted(RunAborted),
    /// A step was entered (on disk: `step-started`).
    StepStarted(StepStarted),
    /// An attempt of a check, manual or wait step began after its gate or a retry (on disk:
    /// `step-started` with `begin: true`; actions and commands begin with their intent).
    AttemptBegun(AttemptBegun),
    GateShown(GateShown),
    GateApproved(GateApproved),
    GateCancelled(GateCancelled),
    /// The first of two approvals (the operator's); the change waits for the second.
    GateConfirmed(GateApproved),
    Intent(Intent),
    Outcome(Outcome),
    StepSucceeded(StepSucceeded),
    StepFailed(StepFailed),
    StepSkipped(StepSkipped),
    StepRetried(StepRetried),
    StatusSnapshot(StatusSnapshot),
    TornTailSetAside(TornTailSetAside),
    Error(ErrorNote),
    RollbackStarted(RollbackStarted),
    RollbackGateShown(GateShown),
    RollbackApproved(GateApproved),
    RollbackCancelled(GateCancelled),
    RollbackIntent(Intent),
    RollbackOutcome(Outcome),
    StepRolledBack(RolledBack),
    RollbackFailed(StepFailed),
    RollbackRetried(StepRetried),
    RollbackSkipped(StepSkipped),
    RollbackFinished(RollbackFinished),
    RollbackStopped(RunAborted),
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::RunStarted(_) => EventKind::RunStarted,
            Event::RunResumed(_) => EventKind::RunResumed,
            Event::RunPaused(_) => EventKind::RunPaused,
            Event::RunFinished(_) => EventKind::RunFinished,
            Event::RunAborted(_) => EventKind::RunAborted,
            Event::StepStarted(_) | Event::AttemptBegun(_) => EventKind::StepStarted,
            Event::GateShown(_) => EventKind::GateShown,
            Event::GateApproved(_) => EventKind::GateApproved,
            Event::GateCancelled(_) => EventKind::GateCancelled,
            Event::GateConfirmed(_) => EventKind::GateConfirmed,
            Event::Intent(_) => EventKind::Intent,
            Event::Outcome(_) => EventKind::Outcome,
            Event::StepSucceeded(_) => EventKind::StepSucceeded,
            Event::StepFailed(_) => EventKind::StepFailed,
            Event::StepSkipped(_) => EventKind::StepSkipped,
            Event::StepRetried(_) => EventKind::StepRetried,
            Event::StatusSnapshot(_) => EventKind::StatusSnapshot,
            Event::TornTailSetAside(_) => EventKind::TornTailSetAside,
            Event::Error(_) => EventKind::Error,
            Event::RollbackStarted(_) => EventKind::RollbackStarted,
            Event::RollbackGateShown(_) => EventKind::RollbackGateShown,
            Event::RollbackApproved(_) => EventKind::RollbackApproved,
            Event::RollbackCancelled(_) => EventKind::RollbackCancelled,
            Event::RollbackIntent(_) => EventKind::RollbackIntent,
            Event::RollbackOutcome(_) => EventKind::RollbackOutcome,
            Event::StepRolledBack(_) => EventKind::StepRolledBack,
            Event::RollbackFailed(_) => EventKind::RollbackFailed,
            Event::RollbackRetried(_) => EventKind::RollbackRetried,
            Event::RollbackSkipped(_) => EventKind::RollbackSkipped,
            Event::RollbackFinished(_) => EventKind::RollbackFinished,
            Event::RollbackStopped(_) => EventKind::RollbackStopped,
        }
    }

    /// The `detail` object as the journal holds it.
    pub fn detail(&self) -> Result<serde_json::Value, serde_json::Error> {
        use serde_json::to_value as v;
        match self {
            Event::RunStarted(d) => v(d),
            Event::RunResumed(d) => v(d),
            Event::RunPaused(d) => v(d),
            Event::RunFinished(d) => v(d),
            Event::RunAborted(d) => v(d),
            Event::StepStarted(d) => v(d),
            Event::AttemptBegun(d) => v(d),
            Event::GateShown(d) => v(d),
            Event::GateApproved(d) => v(d),
            Event::GateCancelled(d) => v(d),
            Event::GateConfirmed(d) => v(d),
            Event::Intent(d) => v(d),
            Event::Outcome(d) => v(d),
            Event::StepSucceeded(d) => v(d),
            Event::StepFailed(d) => v(d),
            Event::StepSkipped(d) => v(d),
            Event::StepRetried(d) => v(d),
            Event::StatusSnapshot(d) => v(d),
            Event::TornTailSetAside(d) => v(d),
            Event::Error(d) => v(d),
            Event::RollbackStarted(d) => v(d),
            Event::RollbackGateShown(d) => v(d),
            Event::RollbackApproved(d) => v(d),
            Event::RollbackCancelled(d) => v(d),
            Event::RollbackIntent(d) => v(d),
            Event::RollbackOutcome(d) => v(d),
            Event::StepRolledBack(d) => v(d),
            Event::RollbackFailed(d) => v(d),
            Event::RollbackRetried(d) => v(d),
            Event::RollbackSkipped(d) => v(d),
            Event::RollbackFinished(d) => v(d),
            Event::RollbackStopped(d) => v(d),
        }
    }

    /// Reads a record's detail as the event `kind` it names.
    pub fn from_detail(
        kind: EventKind,
        detail: serde_json::Value,
    ) -> Result<Event, serde_json::Error> {
        use serde_json::from_value as f;
        // A record written without a detail (or with `null`) reads as an empty one.
        let detail = match detail {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            other => other,
        };
        Ok(match kind {
            EventKind::RunStarted => Event::RunStarted(f(detail)?),
            EventKind::RunResumed => Event::RunResumed(f(detail)?),
            EventKind::RunPaused => Event::RunPaused(f(detail)?),
            EventKind::RunFinished => Event::RunFinished(f(detail)?),
            EventKind::RunAborted => Event::RunAborted(f(detail)?),
            EventKind::StepStarted if detail.get("begin") == Some(&true.into()) => {
                Event::AttemptBegun(f(detail)?)
            }
            EventKind::StepStarted => Event::StepStarted(f(detail)?),
            EventKind::GateShown => Event::GateShown(f(detail)?),
            EventKind::GateApproved => Event::GateApproved(f(detail)?),
            EventKind::GateCancelled => Event::GateCancelled(f(detail)?),
            EventKind::GateConfirmed => Event::GateConfirmed(f(detail)?),
            EventKind::Intent => Event::Intent(f(detail)?),
            EventKind::Outcome => Event::Outcome(f(detail)?),
            EventKind::StepSucceeded => Event::StepSucceeded(f(detail)?),
            EventKind::StepFailed => Event::StepFailed(f(detail)?),
            EventKind::StepSkipped => Event::StepSkipped(f(detail)?),
            EventKind::StepRetried => Event::StepRetried(f(detail)?),
            EventKind::StatusSnapshot => Event::StatusSnapshot(f(detail)?),
            EventKind::TornTailSetAside => Event::TornTailSetAside(f(detail)?),
            EventKind::Error => Event::Error(f(detail)?),
            EventKind::RollbackStarted => Event::RollbackStarted(f(detail)?),
            EventKind::RollbackGateShown => Event::RollbackGateShown(f(detail)?),
            EventKind::RollbackApproved => Event::RollbackApproved(f(detail)?),
            EventKind::RollbackCancelled => Event::RollbackCancelled(f(detail)?),
            EventKind::RollbackIntent => Event::RollbackIntent(f(detail)?),
            EventKind::RollbackOutcome => Event::RollbackOutcome(f(detail)?),
            EventKind::StepRolledBack => Event::StepRolledBack(f(detail)?),
            EventKind::RollbackFailed => Event::RollbackFailed(f(detail)?),
            EventKind::RollbackRetried => Event::RollbackRetried(f(detail)?),
            EventKind::RollbackSkipped => Event::RollbackSkipped(f(detail)?),
            EventKind::RollbackFinished => Event::RollbackFinished(f(detail)?),
            EventKind::RollbackStopped => Event::RollbackStopped(f(detail)?),
        })
    }

    /// Whether the event ends a run: it finished or was aborted, or its rollback ended.
    pub fn ends_run(&self) -> bool {
        matches!(
            self,
            Event::RunFinished(_)
                | Event::RunAborted(_)
                | Event::RollbackFinished(_)
                | Event::RollbackStopped(_)
        )
    }

    /// Whether the event is one of a rollback's.
    pub fn is_rollback(&self) -> bool {
        matches!(
            self,
            Event::RollbackStarted(_)
                | Event::RollbackGateShown(_)
                | Event::RollbackApproved(_)
                | Event::RollbackCancelled(_)
                | Event::RollbackIntent(_)
                | Event::RollbackOutcome(_)
                | Event::StepRolledBack(_)
                | Event::RollbackFailed(_)
                | Event::RollbackRetried(_)
                | Event::RollbackSkipped(_)
                | Event::RollbackFinished(_)
                | Event::RollbackStopped(_)
        )
    }

    /// The attempt the event names, where it names one.
    pub fn attempt(&self) -> Option<u32> {
        match self {
            Event::AttemptBegun(d) => Some(d.attempt),
            Event::Intent(d) => Some(d.attempt),
            Event::Outcome(d) => Some(d.attempt),
            Event::StepSucceeded(d) => Some(d.attempt),
            Event::StepFailed(d) => Some(d.attempt),
            Event::StepRetried(d) => Some(d.attempt),
            Event::RollbackIntent(d) => Some(d.attempt),
            Event::RollbackOutcome(d) => Some(d.attempt),
            Event::StepRolledBack(d) => Some(d.attempt),
            Event::RollbackFailed(d) => Some(d.attempt),
            Event::RollbackRetried(d) => Some(d.attempt),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
