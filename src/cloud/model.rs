//! What the console knows about the cloud, whichever backend (AWS or the simulated world) told it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::runbook::Health;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub state: String,
    pub percent: Option<u8>,
    /// The provider's expected completion, when it gives one (AWS Backup does).
    pub expected_done: Option<DateTime<Utc>>,
    /// Outputs known only once the change is done (an endpoint, the created resource's ARN).
    #[serde(default)]
    pub outputs: std::collections::BTreeMap<String, String>,
}

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
    /// Whether the service never answered (a timeout, no route, a 5xx): another endpoint of the
    /// same service may still answer, where a "no" from this one would be the same everywhere.
    pub fn is_no_answer(&self) -> bool {
        match self {
            CloudError::Timeout(_) => true,
            CloudError::Api { code, .. } => matches!(
                code.as_str(),
                "Unreachable" | "ServiceUnavailable" | "InternalFailure" | "InternalError"
            ),
            _ => false,
        }
    }
}
