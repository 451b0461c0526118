//! Backends behind one interface: the simulated world (`sim`) now, AWS later. The engine never
//! calls them; the runtime does, and turns what they answer into engine inputs.

pub mod model;
pub mod sim;

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::engine::{ActionPlan, Approval};
use crate::runbook::Resource;
use model::{CloudError, Progress, ResourceStatus, Started};

/// Reads: health and recovery points.
pub trait Observe {
    fn observe(
        &self,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ResourceStatus, CloudError>> + Send;
}

/// Changes. Each call needs an [`Approval`], which only the engine's gate logic can create.
pub trait Mutate {
    /// Requests the change. Idempotent for the plan's token: a repeat returns what the first made.
    fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Started, CloudError>> + Send;
    /// How far the change has come (for `wait_until`).
    fn poll(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Progress, CloudError>> + Send;
    /// After a crash: what an in-flight request made, if anything reached the cloud.
    fn reconcile(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Started>, CloudError>> + Send;
}
