//! The detail of each event, as its record holds it: fields in the order the journal shows them
//! (alphabetical), optional ones left out when empty, so 0.1.0's shapes are kept exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{ActionPlan, Identity, ResourceStatus};
use crate::runbook::{ReasonPolicy, StepKind};

/// The window of data a restore lost, for the resource it restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLost {
    /// When the primary was lost: the first look that found the resource unavailable in this
    /// run, else the run's start.
    pub lost_at: chrono::DateTime<chrono::Utc>,
    /// The time the restore brought the data back to.
    pub recovery_point_at: chrono::DateTime<chrono::Utc>,
    pub resource: String,
    pub seconds: u64,
}

/// Where a journaled duration comes from, so that only real ones teach the RTO estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DurationSource {
    /// A live run: the real time it took.
    Live,
    /// People's work in a drill, timed by the wall clock until they marked it done.
    Timed,
    /// People's work in a drill that was not timed (marked done at once, or done by an
    /// unattended drill): its expected duration stands in.
    Assumed,
    /// The simulated world's own time for an action, check, wait or command.
    Simulated,
}

impl DurationSource {
    pub fn name(self) -> &'static str {
        match self {
            DurationSource::Live => "live",
            DurationSource::Timed => "timed",
            DurationSource::Assumed => "assumed",
            DurationSource::Simulated => "simulated",
        }
    }

    /// Whether a duration from here may teach the RTO estimate.
    pub fn is_real(self) -> bool {
        matches!(self, DurationSource::Live | DurationSource::Timed)
    }
}

/// The step plan a run began with, as the run-started record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlannedStep {
    pub expected_secs: Option<u64>,
    pub id: String,
    pub kind: Option<StepKind>,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunStarted {
    /// Where the run came from (absent when whoever started the engine did not say).
    pub context: Option<RunContext>,
    /// The runbook's failback target, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failback_target_secs: Option<u64>,
    /// The step after which the service is back, when the runbook marks one (the RTO clock
    /// stops there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restores_service: Option<String>,
    pub rto_target_secs: u64,
    pub run_id: String,
    pub steps: Vec<PlannedStep>,
    pub title: String,
}

/// Where a run came from: pilotlight's version, the runbook's exact bytes, and the drill's
/// scenario or the AWS identity of a live run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunContext {
    #[serde(default)]
    pub pilotlight: String,
    #[serde(default)]
    pub runbook_file: String,
    /// SHA-256 of the runbook file: a resume refuses a runbook edited since.
    #[serde(default)]
    pub runbook_sha256: String,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillContext>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveContext>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillContext {
    pub scenario: String,
    pub scenario_file: Option<String>,
    pub seed: u64,
    pub speed: String,
    pub unattended: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveContext {
    pub aws: Identity,
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunResumed {
    pub at_step: Option<String>,
    pub run_id: String,
    /// The AWS principal a live run is taken up again as (the record's operator is the person).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<Identity>,
    /// Whose expired lease in the team's state store this resumption took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_over_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunPaused {
    pub at_step: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunFinished {
    pub duration_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunAborted {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepStarted {
    pub expected_secs: Option<u64>,
    pub kind: Option<StepKind>,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AttemptBegun {
    pub attempt: u32,
    /// Always `true` on disk: what tells this record from a step's entry.
    pub begin: bool,
    pub kind: Option<StepKind>,
    pub retry: bool,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GateShown {
    pub confirm: bool,
    /// The change (or command) the gate is about, as the engine would request it.
    pub preview: Option<String>,
    /// Whether the gate asks for a reason.
    pub reason: ReasonPolicy,
    /// The phrase the operator must type.
    pub typed: Option<String>,
    /// People who must approve, when more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvers: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GateApproved {
    pub reason: Option<String>,
    /// What the cloud said the change would do when the operator decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
    pub typed: Option<String>,
    /// Confirmed by `drill --unattended`, not a person.
    pub unattended: bool,
    /// At a two-approver gate: the second person's approval, as they gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second: Option<SecondApproval>,
}

/// A second person's approval of a request at a two-approver gate (`pilotlight approve`),
/// bound to the hash of the `gate-confirmed` record it approves: that request and no other.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecondApproval {
    /// The step whose gate it approves.
    pub step: String,
    /// The hash of the `gate-confirmed` record it approves.
    pub bound_to: String,
    pub operator: String,
    /// The AWS principal (live runs): who the person is, role session name included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    pub typed: Option<String>,
    pub reason: Option<String>,
    /// When they approved, by their machine's clock.
    pub at: String,
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GateCancelled {
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
}

/// A change (`plan`) or a command about to be requested.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Intent {
    pub attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<ActionPlan>,
    /// Sent again after a restart found that the first request never reached the cloud.
    pub resend: bool,
}

/// What a change request or a command answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Outcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    pub attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// The request went out and no definite answer came: the change may have happened, so
    /// the step is not retried automatically (live, or on resume).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertain: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepSucceeded {
    pub attempt: u32,
    /// What a restore lost: from the recovery point it restored to the loss of the primary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_lost: Option<DataLost>,
    pub duration_secs: i64,
    /// Where the duration comes from (absent in journals written before it was recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_source: Option<DurationSource>,
    /// A manual step's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What a check or wait observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// Every output of the step.
    pub outputs: Option<BTreeMap<String, String>>,
    /// Finished by a resume that found its outcome already journaled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<bool>,
    /// The state an action's target reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepFailed {
    pub attempt: u32,
    pub error: String,
    /// The guard alarm (its resource name) whose ALARM paused the run at this step: a retry
    /// with a reason goes on despite it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepSkipped {
    pub reason: String,
}

/// A retry: automatic after a failed attempt (`after`, `backoff_secs`), or the operator's
/// (`reason`). `attempt` is the attempt it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepRetried {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    pub attempt: u32,
    pub auto: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    pub resource: String,
    pub status: ResourceStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TornTailSetAside {
    pub bytes: u64,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorNote {
    pub error: String,
    /// What was going on (`polling progress`).
    #[serde(rename = "while")]
    pub during: Option<String>,
}
