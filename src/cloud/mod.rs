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

/// A backend for read-only consoles (`watch`, `status`): reads pass through, every change is
/// refused before it is sent, whatever asks for it.
pub struct ReadOnly<B>(pub B);

impl<B: Observe + Sync> Observe for ReadOnly<B> {
    async fn observe(
        &self,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        self.0.observe(resource, now).await
    }
}

impl<B: Sync> Mutate for ReadOnly<B> {
    async fn start(
        &self,
        plan: &ActionPlan,
        _: &Approval,
        _: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        Err(CloudError::Refused(format!(
            "read-only: {} was not sent",
            plan.action.spec().api
        )))
    }

    async fn poll(&self, plan: &ActionPlan, _: DateTime<Utc>) -> Result<Progress, CloudError> {
        Err(CloudError::Refused(format!(
            "read-only: no change of {} to follow",
            plan.step
        )))
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        _: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        Err(CloudError::Refused(format!(
            "read-only: cannot reconcile {}",
            plan.step
        )))
    }
}
