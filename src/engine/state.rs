//! The state of a run, step by step: what the console shows and what replaying a journal rebuilds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ActionPlan, Outputs, ResourceStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    #[default]
    Pending,
    AwaitingGate,
    /// A request is in flight, or a manual step is being done.
    Running,
    /// Waiting for a state, a condition, a fixed time, or a retry's backoff.
    Waiting,
    /// A check is observing its resource.
    Verifying,
    Done,
    Failed,
    Skipped,
    Aborted,
}

impl StepState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            StepState::Done | StepState::Skipped | StepState::Aborted
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::AwaitingGate => "awaiting gate",
            StepState::Running => "running",
            StepState::Waiting => "waiting",
            StepState::Verifying => "verifying",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Aborted => "aborted",
        }
    }
}

/// What the step is waiting for while `Waiting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitFor {
    /// The action's target to reach `wait_until`.
    TargetState(String),
    /// A wait step's condition.
    Condition,
    /// A fixed pause until this time.
    Until(DateTime<Utc>),
    /// A retry's backoff, until this time.
    Backoff(DateTime<Utc>),
}

/// One step's progress in this run, as its journal records it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepRun {
    pub state: StepState,
    /// Attempts started so far (0 before the first).
    pub attempt: u32,
    pub started_at: Option<DateTime<Utc>>,
    /// When the current attempt's body began (timeouts count from here).
    pub body_started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// The gate's approval, once its record was written (the capability to change things is
    /// minted from it only once that record is durable).
    pub approved: Option<Approved>,
    /// At a two-approver gate: the operator's confirmation, once its record was written; the
    /// gate stays open for the second person.
    pub confirmed: Option<crate::audit::event::GateApproved>,
    /// The change requested by the current attempt (its intent).
    pub plan: Option<ActionPlan>,
    pub wait: Option<WaitFor>,
    /// When the step first asked for its change (its first intent).
    pub first_request_at: Option<DateTime<Utc>>,
    /// Where its duration came from, once it succeeded.
    pub duration_source: Option<crate::audit::event::DurationSource>,
    /// What a restore lost, once it succeeded.
    pub data_lost: Option<crate::audit::event::DataLost>,
    /// Its rollback, once one reached it.
    pub rollback: Option<StepRollback>,
    /// The guard alarm that paused the run here, while it is paused.
    pub guard_trip: Option<String>,
    /// Guard alarms the operator went on despite (a retry with a reason after a pause).
    pub guards_overridden: Vec<String>,
}

/// A step's rollback (its `inverse`), as the journal records it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepRollback {
    /// `AwaitingGate`, `Running` (the inverse requested), `Waiting` (for its target state),
    /// `Done` (rolled back), `Failed`, `Skipped`; `Pending` between a retry and its attempt.
    pub state: StepState,
    pub attempt: u32,
    /// When its gate was first shown.
    pub started_at: Option<DateTime<Utc>>,
    /// When the current attempt's request went out (the step's timeout counts from here).
    pub body_started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub approved: Option<Approved>,
    /// The inverse requested by the current attempt.
    pub plan: Option<ActionPlan>,
    /// What the inverse reported when it was requested.
    pub made: BTreeMap<String, String>,
    pub error: Option<String>,
    /// The target state it waits for after its outcome.
    pub waiting_for: Option<String>,
    /// Its intent has no outcome yet.
    pub in_flight: bool,
    /// Its outcome was journaled and nothing after it (a crash in between).
    pub after_outcome: Option<AfterOutcome>,
}

/// How a rollback ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackEnd {
    Finished(DateTime<Utc>),
    Stopped { at: DateTime<Utc>, reason: String },
}

/// A rollback of a run that ended: its completed steps with an `inverse`, undone newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollback {
    /// The steps to roll back, newest first (by index).
    pub order: Vec<usize>,
    /// The position in `order` of the step in hand (its length once every step is through).
    pub pos: usize,
    pub started_at: DateTime<Utc>,
    pub reason: Option<String>,
    /// How the run stood before the rollback began: it stands so again once the rollback ends.
    pub before: RunStatus,
    pub ended: Option<RollbackEnd>,
}

impl Rollback {
    /// The step in hand, while the rollback goes on.
    pub fn in_hand(&self) -> Option<usize> {
        match self.ended {
            None => self.order.get(self.pos).copied(),
            Some(_) => None,
        }
    }
}

impl StepRun {
    pub fn new() -> StepRun {
        StepRun::default()
    }
}

/// A gate's approval as the journal holds it: the record it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approved {
    /// The gate-approved record's sequence number.
    pub seq: u64,
    pub unattended: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "why")]
pub enum RunStatus {
    #[default]
    NotStarted,
    Running,
    /// A step failed and the operator must retry, skip or abort it.
    Blocked(String),
    Finished,
    Aborted(String),
}

/// How the last outcome of the current step left it, when nothing after it was journaled (a
/// crash between the outcome and what it led to): a resume finishes what those records would
/// have said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterOutcome {
    Succeeded,
    Failed(String),
    /// The change request got no definite answer (it may have happened): the step fails for
    /// the operator to check, it is not retried.
    Uncertain(String),
}

/// Everything the journal of a run determines: the state a live run has after handling its
/// inputs is exactly the fold of [`State::apply`] over the records it wrote, and that fold is how
/// a run is rebuilt from its journal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    pub run_id: String,
    pub status: RunStatus,
    pub current: usize,
    pub steps: Vec<StepRun>,
    pub outputs: Outputs,
    pub started_at: Option<DateTime<Utc>>,
    /// The latest status snapshot of each resource.
    pub snapshots: BTreeMap<String, ResourceStatus>,
    /// When each resource's latest snapshot was recorded.
    pub snapshot_at: BTreeMap<String, DateTime<Utc>>,
    /// The step whose intent has no outcome yet.
    pub in_flight: Option<usize>,
    pub after_outcome: Option<AfterOutcome>,
    /// Records applied so far (the next record's sequence number).
    pub records: u64,
    /// Whether the run is a drill (from its run-started record): its durations are timed,
    /// assumed or simulated, never live.
    pub drill: bool,
    /// When each resource was first seen unavailable in this run (the primary lost).
    pub lost_at: BTreeMap<String, DateTime<Utc>>,
    /// The rollback of the run, once one began.
    pub rollback: Option<Rollback>,
    /// When the run finished or was aborted (a rollback after it is timed apart).
    pub ended_at: Option<DateTime<Utc>>,
}
