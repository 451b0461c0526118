//! Backends behind one interface: live AWS (`aws`) and the simulated world (`sim`). The engine
//! never calls them; the runtime does, and turns what they answer into engine inputs.

pub mod aws;
pub mod sim;

use std::future::Future;

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::engine::Approval;
use crate::model::{ActionPlan, CloudError, Progress, ResourceStatus, Started};
use crate::runbook::Resource;

/// One resource's observation, by its runbook name.
pub type Observation = (String, Result<ResourceStatus, CloudError>);

/// Reads: health and recovery points.
pub trait Observe: Sync {
    fn observe(
        &self,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ResourceStatus, CloudError>> + Send;

    /// Observes many resources. Answers arrive in batches as each part of the backend answers
    /// (for AWS: each service and region), so a silent region does not hold up the others.
    fn observe_batches<'a>(
        &'a self,
        resources: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Vec<Observation>> + Send + 'a {
        futures_util::stream::iter(resources).then(move |r| async move {
            let status = self.observe(&r, now).await;
            vec![(r.name, status)]
        })
    }
}

/// Every observation of `resources`, once all have answered.
pub async fn observe_all<B: Observe>(
    backend: &B,
    resources: Vec<Resource>,
    now: DateTime<Utc>,
) -> Vec<Observation> {
    backend
        .observe_batches(resources, now)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect()
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
    /// What the change would do as the cloud stands now (a cutover's before -> after), for the
    /// gate's preview. Reads only.
    fn preview(&self, plan: &ActionPlan) -> impl Future<Output = Option<String>> + Send {
        let _ = plan;
        async { None }
    }

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

impl<B: Observe> Observe for ReadOnly<B> {
    async fn observe(
        &self,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        self.0.observe(resource, now).await
    }

    fn observe_batches<'a>(
        &'a self,
        resources: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Vec<Observation>> + Send + 'a {
        self.0.observe_batches(resources, now)
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
