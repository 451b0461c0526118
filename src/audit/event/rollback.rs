//! The details of a rollback's own records: its start and end, and each step it put back. The
//! records in between (its gate, intent and outcome) reuse the details of a step's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A rollback began: these steps will be undone, in this order (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RollbackStarted {
    pub reason: Option<String>,
    pub steps: Vec<String>,
}

/// A step's inverse is done: the step is rolled back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RolledBack {
    pub attempt: u32,
    /// From the rollback's gate being shown to the inverse done.
    pub duration_secs: i64,
    pub outputs: Option<BTreeMap<String, String>>,
    /// Finished by a resume that found its outcome already journaled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<bool>,
    /// The state the inverse's target reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// The rollback is over: every step it named was rolled back or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RollbackFinished {
    pub duration_secs: i64,
    pub rolled_back: Vec<String>,
    pub skipped: Vec<String>,
}
