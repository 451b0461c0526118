//! What `preflight` asks of a backend beyond health and recovery points: whether what a step
//! names exists, who the caller is in a region, and what IAM's policy simulator says the
//! caller may call. Reads only.

use std::future::Future;

use crate::engine::preflight::Named;
use chrono::{DateTime, Utc};

use crate::model::{CloudError, Identity};
use crate::runbook::{ActionCall, Resource};

/// One question to IAM's policy simulator: may the caller call these actions on these
/// resources, with these request facts (`aws:RequestedRegion` and the like)?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionCheck {
    /// The step it is for.
    pub step: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// Condition keys and the value the request will carry.
    pub context: Vec<(String, String)>,
}

/// An action the simulator would not allow, on what, and its decision (`implicitDeny`,
/// `explicitDeny`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The step whose check it answers.
    pub step: String,
    pub action: String,
    pub resource: String,
    pub decision: String,
    /// Condition keys the simulator needed and was not given (a tag, MFA): the decision
    /// would depend on them.
    pub missing_context: Vec<String>,
}

/// Preflight's questions to a backend.
pub trait Inspect: Sync {
    /// Whether `thing` exists (`Ok(false)`: the service says it does not).
    fn exists(&self, thing: &Named) -> impl Future<Output = Result<bool, CloudError>> + Send;

    /// Who the credentials are, asked in `region` (they work there).
    fn caller_in(&self, region: &str) -> impl Future<Output = Result<Identity, CloudError>> + Send;

    /// What of `checks` the caller may not do; `None` when this backend has no IAM to ask
    /// (the simulated world).
    fn denied(
        &self,
        caller: &Identity,
        checks: &[PermissionCheck],
    ) -> impl Future<Output = Result<Option<Vec<Denial>>, CloudError>> + Send;

    /// The newest recovery point a step restores from when it names none (`latest`), found as
    /// the step will find it: its kind, in the region the step acts in. `Ok(None)`: there is
    /// none. Only for steps `engine::preflight::restores_from` names.
    fn newest_point(
        &self,
        call: &ActionCall,
        resource: &Resource,
    ) -> impl Future<Output = Result<Option<(String, DateTime<Utc>)>, CloudError>> + Send;

    /// Why AWS Health cannot be read (`None`: it answers).
    fn health_note(&self) -> impl Future<Output = Option<String>> + Send;
}
