//! `audit report`: a journal turned into a post-incident timeline. Pure: records in, [`Report`]
//! out; [`markdown`] renders it for people, `serde_json` for machines.
//!
//! Every text taken from the journal (ids, titles, reasons, errors, operators, outputs) is
//! cleaned of control characters (C0, C1, ESC sequences, bidi overrides) by [`build`], so both
//! forms are safe to print. Times are UTC, RFC 3339 with milliseconds; durations are whole
//! seconds. In a drill they are simulated (`simulated_time: true`).
//!
//! JSON shape (`pilotlight audit report JOURNAL --format json`), `?` marks a nullable field:
//! ```text
//! { runbook, title?, run_id?, mode: "drill"|"live", simulated_time: bool,
//!   started_at?, ended_at?, duration_seconds?, service_restored_seconds?, service_restored_by?,
//!   failback_seconds?, failback_target_seconds?,
//!   outcome: { status: "finished" } | { status: "aborted", reason, step? } | { status: "unfinished" },
//!   rto: { target_seconds?, verdict: "within"|"over"|"not-recovered"|"unknown", margin_seconds? },
//!   expected_total_seconds?, steps_without_expectation, gate_wait_seconds,
//!   operators: [name], resumptions: [{ resumed_at, operator, at_step?, gap_seconds? }],
//!   journal: { verified, records, torn_tail?: { line, bytes }, set_aside: [{ set_aside_at, line?, bytes? }] },
//!   notes: [text],
//!   steps: [{ id, title?, kind?,
//!     status: "done"|"failed"|"skipped"|"aborted"|"in-progress"|"not-started",
//!     operators: [name], started_at?, ended_at?, start_offset_seconds?, duration_seconds?,
//!     expected_seconds?, over_expected_seconds?, attempts, result?, skip_reason?,
//!     data_lost?: { resource, recovery_point_at, lost_at, window_seconds }, duration_source?,
//!     gates: [{ shown_at?, confirm, typed_phrase?, reason_policy?, preview?,
//!               decision: "approved"|"cancelled"|"open", decided_at?, operator?, typed?,
//!               reason?, unattended?, waited_seconds?, seen? }],
//!     requests: [{ requested_at, operator, attempt?, action?, target?, region?, token?, command?, resend,
//!                  answered_at?, ok?, adopted?, exit_code?, error?, outputs }],
//!     retries: [{ retried_at, attempt?, auto, after?, reason?, backoff_seconds?, operator }],
//!     failures: [{ failed_at, attempt?, error, last: bool }],
//!     errors: [{ noted_at, error, context? }] }],
//!   rollback (only when one began): { started_at, ended_at?, duration_seconds?, reason?,
//!     outcome: "finished"|"stopped"|"unfinished", stop_reason?,
//!     steps: [ same shape as steps, newest first; status "done" means rolled back ] } }
//! ```
//! `service_restored_seconds` runs from the start to the end of the step marked
//! `restores_service` (when the runbook marks one and it was done); the RTO verdict and margin are
//! about it when present, else about the whole run. `margin_seconds` is target minus that
//! (negative when over), for restored runs only. `over_expected_seconds` is set for
//! done steps with an expected duration. A retry's `attempt` is the attempt it leads to.

mod build;
mod events;
mod html;
mod markdown;
mod rollback;
mod step;
#[cfg(test)]
mod tests;
mod text;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use build::build;
pub use html::html;
pub use markdown::markdown;
pub use rollback::{RollbackOutcome, RollbackReport};
pub use text::clean;

use super::record::Mode;
use super::verify::Verified;

/// The post-incident timeline of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub runbook: String,
    pub title: Option<String>,
    pub run_id: Option<String>,
    pub mode: Mode,
    pub simulated_time: bool,
    #[serde(with = "ms::opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(with = "ms::opt")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(rename = "duration_seconds")]
    pub duration_secs: Option<u64>,
    /// From the start to the end of the step that restores the service, when the runbook marks
    /// one and it was done: what the RTO verdict is about.
    #[serde(rename = "service_restored_seconds")]
    pub service_restored_secs: Option<u64>,
    /// The step that restores the service.
    pub service_restored_by: Option<String>,
    /// From the service restored to the end of the run.
    #[serde(rename = "failback_seconds")]
    pub failback_secs: Option<u64>,
    #[serde(rename = "failback_target_seconds")]
    pub failback_target_secs: Option<u64>,
    pub outcome: RunOutcome,
    pub rto: Rto,
    #[serde(rename = "expected_total_seconds")]
    pub expected_total_secs: Option<u64>,
    pub steps_without_expectation: usize,
    #[serde(rename = "gate_wait_seconds")]
    pub gate_wait_secs: u64,
    pub operators: Vec<String>,
    /// The AWS principal a live run began as (its operator is the person at the keyboard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_principal: Option<String>,
    pub resumptions: Vec<Resumption>,
    pub journal: JournalCheck,
    pub notes: Vec<String>,
    pub steps: Vec<StepReport>,
    /// The rollback of the run, when one began (left out otherwise, so reports of runs without
    /// one keep their shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RunOutcome {
    Finished,
    Aborted {
        reason: String,
        step: Option<String>,
    },
    /// No end record: still running, or the process died.
    Unfinished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RtoVerdict {
    Within,
    Over,
    /// The run was aborted: service was not recovered by it.
    NotRecovered,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rto {
    #[serde(rename = "target_seconds")]
    pub target_secs: Option<u64>,
    pub verdict: RtoVerdict,
    #[serde(rename = "margin_seconds")]
    pub margin_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resumption {
    #[serde(with = "ms::one")]
    #[serde(rename = "resumed_at")]
    pub at: DateTime<Utc>,
    pub operator: String,
    pub at_step: Option<String>,
    /// Time since the record before it (how long the run stood still).
    #[serde(rename = "gap_seconds")]
    pub gap_secs: Option<u64>,
    /// The AWS principal a live run was taken up again as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_principal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalCheck {
    /// Whether the hash chain was verified ([`from_verified`]); `build` alone cannot tell.
    pub verified: bool,
    pub records: usize,
    /// A torn last line left out of the report (a crash during a write).
    pub torn_tail: Option<TornLine>,
    /// Torn lines that a resumed run set aside earlier.
    pub set_aside: Vec<SetAside>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TornLine {
    pub line: usize,
    pub bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetAside {
    #[serde(with = "ms::one")]
    #[serde(rename = "set_aside_at")]
    pub at: DateTime<Utc>,
    pub line: Option<u64>,
    pub bytes: Option<u64>,
}

/// The window of data a restore lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataLostReport {
    pub resource: String,
    pub recovery_point_at: DateTime<Utc>,
    pub lost_at: DateTime<Utc>,
    #[serde(rename = "window_seconds")]
    pub seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Done,
    Failed,
    Skipped,
    Aborted,
    InProgress,
    #[default]
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct StepReport {
    pub id: String,
    pub title: Option<String>,
    pub kind: Option<String>,
    pub status: StepStatus,
    pub operators: Vec<String>,
    #[serde(with = "ms::opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(with = "ms::opt")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(rename = "start_offset_seconds")]
    pub start_offset_secs: Option<u64>,
    #[serde(rename = "duration_seconds")]
    pub duration_secs: Option<u64>,
    #[serde(rename = "expected_seconds")]
    pub expected_secs: Option<u64>,
    #[serde(rename = "over_expected_seconds")]
    pub over_expected_secs: Option<i64>,
    pub attempts: u32,
    /// What the step ended with: the observation, the target state, or a note.
    pub result: Option<String>,
    pub skip_reason: Option<String>,
    /// What a restore lost: from the recovery point it restored to the loss of the primary.
    pub data_lost: Option<DataLostReport>,
    /// Where its duration came from: `live`, `timed` (people's time in a drill), `assumed`
    /// (not timed: its expected time stands in) or `simulated`; null in older journals.
    pub duration_source: Option<String>,
    pub gates: Vec<GateReport>,
    pub requests: Vec<RequestReport>,
    pub retries: Vec<RetryReport>,
    pub failures: Vec<FailureReport>,
    pub errors: Vec<ErrorNote>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GateDecision {
    Approved,
    Cancelled,
    #[default]
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct GateReport {
    #[serde(with = "ms::opt")]
    pub shown_at: Option<DateTime<Utc>>,
    pub confirm: bool,
    pub typed_phrase: Option<String>,
    /// `none`, `optional` or `required`.
    pub reason_policy: Option<String>,
    pub preview: Option<String>,
    pub decision: GateDecision,
    #[serde(with = "ms::opt")]
    pub decided_at: Option<DateTime<Utc>>,
    pub operator: Option<String>,
    pub typed: Option<String>,
    pub reason: Option<String>,
    pub unattended: Option<bool>,
    #[serde(rename = "waited_seconds")]
    pub waited_secs: Option<u64>,
    /// What the cloud said the change would do when the decision was made (a cutover's
    /// before -> after).
    pub seen: Option<String>,
    /// At a two-approver gate: the second person (their AWS principal in a live run), and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_approver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RequestReport {
    #[serde(with = "ms::one")]
    #[serde(rename = "requested_at")]
    pub at: DateTime<Utc>,
    /// Who was running the console when the request was sent.
    pub operator: String,
    pub attempt: Option<u64>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub region: Option<String>,
    pub token: Option<String>,
    pub command: Option<String>,
    pub resend: bool,
    #[serde(with = "ms::opt")]
    pub answered_at: Option<DateTime<Utc>>,
    pub ok: Option<bool>,
    pub adopted: Option<bool>,
    pub exit_code: Option<i64>,
    pub error: Option<String>,
    pub outputs: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryReport {
    #[serde(with = "ms::one")]
    #[serde(rename = "retried_at")]
    pub at: DateTime<Utc>,
    pub attempt: Option<u64>,
    pub auto: bool,
    /// The error that led to an automatic retry.
    pub after: Option<String>,
    /// The operator's reason for a manual retry.
    pub reason: Option<String>,
    #[serde(rename = "backoff_seconds")]
    pub backoff_secs: Option<u64>,
    pub operator: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureReport {
    #[serde(with = "ms::one")]
    #[serde(rename = "failed_at")]
    pub at: DateTime<Utc>,
    pub attempt: Option<u64>,
    pub error: String,
    /// No attempts were left: the step failed and the run stopped for the operator.
    pub last: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorNote {
    #[serde(with = "ms::one")]
    #[serde(rename = "noted_at")]
    pub at: DateTime<Utc>,
    pub error: String,
    pub context: Option<String>,
}

/// The report of an intact journal, noting a torn last line if there is one.
pub fn from_verified(v: &Verified) -> Report {
    let mut report = build(&v.records);
    report.journal.verified = true;
    report.journal.torn_tail = v.torn_tail.as_ref().map(|t| TornLine {
        line: t.line,
        bytes: t.bytes.len(),
    });
    report
}

mod ms {
    pub mod one {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&crate::audit::format_time(*t))
        }
    }

    pub mod opt {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&crate::audit::format_time(*t)),
                None => s.serialize_none(),
            }
        }
    }
}
