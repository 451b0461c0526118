//! The state of a run, step by step: what the console shows and what replaying a journal rebuilds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::approval::Approval;
use super::plan::ActionPlan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
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

/// One step's progress in this run.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRun {
    pub state: StepState,
    /// Attempts started so far (0 before the first).
    pub attempt: u32,
    pub started_at: Option<DateTime<Utc>>,
    /// When the current attempt's body began (timeouts count from here).
    pub body_started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub approval: Option<Approval>,
    /// The change requested by the current attempt, once its intent is durable.
    pub plan: Option<ActionPlan>,
    pub wait: Option<WaitFor>,
    /// The next time this step polls or observes.
    pub next_poll: Option<DateTime<Utc>>,
    pub last_progress: Option<String>,
    /// The attempt whose request was sent and not yet answered.
    pub awaiting: Option<u32>,
    /// What the cloud said the gated change would do, while its gate is open.
    pub live_preview: Option<String>,
    /// When the step first asked for its change (its first intent).
    pub first_request_at: Option<DateTime<Utc>>,
}

impl StepRun {
    pub fn new() -> StepRun {
        StepRun {
            state: StepState::Pending,
            attempt: 0,
            started_at: None,
            body_started_at: None,
            finished_at: None,
            error: None,
            approval: None,
            plan: None,
            wait: None,
            next_poll: None,
            last_progress: None,
            awaiting: None,
            live_preview: None,
            first_request_at: None,
        }
    }
}

impl Default for StepRun {
    fn default() -> Self {
        StepRun::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "why")]
pub enum RunStatus {
    NotStarted,
    Running,
    /// A step failed and the operator must retry, skip or abort it.
    Blocked(String),
    Finished,
    Aborted(String),
}

/// The part of a run's state that the journal fully determines (used to prove that replaying a
/// journal rebuilds the same state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub status: RunStatus,
    pub current: usize,
    pub steps: Vec<(String, StepState, u32, Option<String>)>,
    pub outputs: super::plan::Outputs,
}
