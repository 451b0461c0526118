//! What pilotlight knows about the cloud, whichever backend (AWS or the simulated world) told it,
//! and the changes it asks for. These types sit below the engine, the journal and the backends,
//! so none of those imports another to talk about the cloud.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::runbook::params::Rendered;
use crate::runbook::{ActionKind, Health};

/// Where a recovery point comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryPointKind {
    Snapshot,
    Ami,
    /// The latest restorable time of a point-in-time-recovery window.
    Pitr,
    Backup,
    /// An AWS Backup copy in another region.
    BackupCopy,
}

/// A point the resource can be restored to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    pub id: String,
    pub at: DateTime<Utc>,
    pub kind: RecoveryPointKind,
}

/// One observation of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceStatus {
    pub health: Health,
    /// The provider's own word for the state (`available`, `impaired`, `running`, ...).
    pub state: String,
    pub latest_recovery_point: Option<RecoveryPoint>,
}

/// What a backend says when a change request returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Started {
    /// The action's outputs (see the catalogue), e.g. `volume_id`.
    pub outputs: std::collections::BTreeMap<String, String>,
    /// Whether this found and adopted what an earlier attempt had already created.
    pub adopted: bool,
}

/// How far what an action made has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Progress {
    pub state: String,
    /// Why what the change made can never reach its target state (AWS's terminal states:
    /// `incompatible-parameters`, a volume in `error`, an instance that stopped while
    /// starting...): the step ends at once instead of waiting out its timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    pub percent: Option<u8>,
    /// The provider's expected completion, when it gives one (AWS Backup does).
    pub expected_done: Option<DateTime<Utc>>,
    /// Outputs known only once the change is done (an endpoint, the created resource's ARN).
    #[serde(default)]
    pub outputs: std::collections::BTreeMap<String, String>,
}

/// The error codes with which AWS services say "slow down".
pub const THROTTLING_CODES: [&str; 11] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "EC2ThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// A cloud failure, as step state and journal text rather than a panic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CloudError {
    #[error("{code}: {message}")]
    Api { code: String, message: String },
    #[error("not permitted: {action} ({message}); grant it to the role you run pilotlight as")]
    AccessDenied { action: String, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("no answer within {0}s; the region may be impaired")]
    Timeout(u64),
    #[error("refused: {0}")]
    Refused(String),
}

impl CloudError {
    /// Whether a change request that failed so may still have been made: it went out and no
    /// definite answer came (a timeout, a broken connection, a 5xx). Unlike "unreachable"
    /// (no connection was ever made) or a refusal, which say it was not.
    pub fn may_have_happened(&self) -> bool {
        self.is_no_answer()
            && !matches!(self, CloudError::Api { code, .. } if code == "Unreachable")
    }

    /// Whether AWS refused the request for its rate (after the SDK's own retries).
    pub fn is_throttling(&self) -> bool {
        matches!(self, CloudError::Api { code, .. } if THROTTLING_CODES.contains(&code.as_str()))
    }

    /// Whether the service never answered (a timeout, no route, a 5xx): another endpoint of the
    /// same service may still answer, where a "no" from this one would be the same everywhere.
    pub fn is_no_answer(&self) -> bool {
        match self {
            CloudError::Timeout(_) => true,
            CloudError::Api { code, .. } => matches!(
                code.as_str(),
                "Unreachable"
                    | "ServiceUnavailable"
                    | "InternalFailure"
                    | "InternalError"
                    | "NoAnswer"
            ),
            _ => false,
        }
    }
}

/// Who pilotlight acts as in AWS (STS GetCallerIdentity), for the header and the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// Step outputs by step id, then output name.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

/// What a mutating call will do, exactly. Shown in the preview and written in the intent record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PlanOnDisk")]
pub struct ActionPlan {
    pub step: String,
    pub attempt: u32,
    pub action: ActionKind,
    /// The runbook's name for the resource.
    pub resource: String,
    /// The resource's cloud id (instance id, DB identifier, ARN, record name).
    pub target: String,
    /// The region the call is made in, when the service is regional.
    pub region: Option<String>,
    /// The `with:` parameters, every value known.
    pub params: Rendered,
    /// ClientToken / IdempotencyToken: the same for every repeat of this attempt.
    pub token: String,
    /// The run this change belongs to (what it makes is tagged with it, so a later run never
    /// mistakes an earlier run's leftovers for its own).
    #[serde(default)]
    pub run: String,
    /// When the step first asked for its change: what an earlier attempt made is newer than
    /// this, where a service cannot be asked by token (AWS Backup restore jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// What the change reported when it was requested (its outputs so far), for following it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub made: BTreeMap<String, String>,
    /// Who the change is made as when it is not the run's principal: the role assumed in the
    /// resource's account (`accounts:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

impl ActionPlan {
    /// This plan with the outputs its change reported so far, for polling.
    pub fn with_made(&self, outputs: Option<&BTreeMap<String, String>>) -> ActionPlan {
        ActionPlan {
            made: outputs.cloned().unwrap_or_default(),
            ..self.clone()
        }
    }

    /// `rds:RestoreDBInstanceFromDBSnapshot in us-west-2 on orders-prod (token …)`.
    pub fn summary(&self) -> String {
        let region = self.region.as_deref().unwrap_or("global");
        format!(
            "{} in {region} on {} ({})",
            self.action.spec().api,
            self.target,
            self.action.name()
        )
    }
}

/// A plan as an intent record holds it: its parameters are read as its action's.
#[derive(Deserialize)]
struct PlanOnDisk {
    step: String,
    attempt: u32,
    action: ActionKind,
    resource: String,
    target: String,
    region: Option<String>,
    params: serde_json::Value,
    token: String,
    #[serde(default)]
    run: String,
    #[serde(default)]
    since: Option<DateTime<Utc>>,
    #[serde(default)]
    made: BTreeMap<String, String>,
    #[serde(default)]
    principal: Option<String>,
}

impl TryFrom<PlanOnDisk> for ActionPlan {
    type Error = serde_json::Error;

    fn try_from(p: PlanOnDisk) -> Result<ActionPlan, serde_json::Error> {
        Ok(ActionPlan {
            params: Rendered::from_json(p.action, p.params)?,
            step: p.step,
            attempt: p.attempt,
            action: p.action,
            resource: p.resource,
            target: p.target,
            region: p.region,
            token: p.token,
            run: p.run,
            since: p.since,
            made: p.made,
            principal: p.principal,
        })
    }
}

/// The idempotency token of one attempt of one step of one run (at most 64 ASCII characters, as
/// EC2 ClientToken and AWS Backup IdempotencyToken require).
pub fn token(run_id: &str, step: &str, attempt: u32) -> String {
    let digest = Sha256::digest(format!("{run_id}/{step}/{attempt}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("pl-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_short_and_distinct() {
        let a = token("run-1", "restore", 1);
        assert_eq!(a, token("run-1", "restore", 1));
        assert_ne!(a, token("run-1", "restore", 2));
        assert_ne!(a, token("run-2", "restore", 1));
        assert!(a.len() <= 64 && a.is_ascii());
    }
}
