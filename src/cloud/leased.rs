//! A backend that sends no new change while the run's lease in the state store is not held
//! (issue 15): a holder that cannot renew its lease may already have lost it to another
//! operator, so it must not act until it has renewed. The refusal is definite (nothing was
//! sent): the step's retry tries again, and succeeds once the lease is renewed. Reads, polls of
//! changes already made and reconciliation go on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::Stream;

use super::{Change, CommandAnswer, CommandRun, Observation, Observe};
use crate::engine::Approval;
use crate::model::{ActionPlan, CloudError, Progress, ResourceStatus, Started};
use crate::runbook::Resource;

/// Whether the run's lease is held right now, shared between its renewer and what sends changes.
/// A deadline, not the last answer: a renewal that hangs (a partitioned mount) lets it run out,
/// a third of the lease before the lease itself could be seen expired elsewhere.
#[derive(Debug, Clone)]
pub struct LeaseHealth(Arc<Mutex<Option<Instant>>>);

impl LeaseHealth {
    /// Held for good (a run without a state store).
    pub fn held_now() -> LeaseHealth {
        LeaseHealth(Arc::new(Mutex::new(None)))
    }

    /// Held until `deadline`.
    pub fn until(deadline: Instant) -> LeaseHealth {
        LeaseHealth(Arc::new(Mutex::new(Some(deadline))))
    }

    pub fn held(&self) -> bool {
        match self.0.lock() {
            Ok(d) => d.is_none_or(|d| Instant::now() < d),
            Err(_) => false,
        }
    }

    /// A renewal begun at `began` succeeded: held for two thirds of `lease_secs` from then.
    pub fn renewed(&self, began: Instant, lease_secs: u64) {
        let deadline = began + Duration::from_secs(lease_secs.saturating_mul(2) / 3);
        if let Ok(mut d) = self.0.lock() {
            *d = Some(deadline);
        }
    }

    /// Not held any more (taken over): nothing renews it.
    pub fn lost(&self) {
        if let Ok(mut d) = self.0.lock() {
            *d = Some(Instant::now() - Duration::from_secs(1));
        }
    }
}

/// What an operator sees when a change waits for the lease.
pub const NOT_HELD: &str = "the run's lease in the state store could not be renewed: no change is sent until it is (check the store is reachable; the step retries)";

pub struct Leased<B> {
    pub inner: B,
    pub lease: LeaseHealth,
}

impl<B: Observe> Observe for Leased<B> {
    async fn observe(
        &self,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        self.inner.observe(resource, now).await
    }

    fn observe_batches<'a>(
        &'a self,
        resources: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Vec<Observation>> + Send + 'a {
        self.inner.observe_batches(resources, now)
    }
}

impl<B: Change> Change for Leased<B> {
    async fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        if !self.lease.held() {
            return Err(CloudError::Refused(NOT_HELD.into()));
        }
        self.inner.start(plan, approval, now).await
    }

    async fn poll(&self, plan: &ActionPlan, now: DateTime<Utc>) -> Result<Progress, CloudError> {
        self.inner.poll(plan, now).await
    }

    async fn preview(&self, plan: &ActionPlan) -> Option<String> {
        self.inner.preview(plan).await
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        self.inner.reconcile(plan, now).await
    }

    async fn run_command(
        &self,
        run: &CommandRun,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> CommandAnswer {
        if !self.lease.held() {
            return CommandAnswer {
                result: Err(NOT_HELD.into()),
                at: None,
            };
        }
        self.inner.run_command(run, approval, now).await
    }
}
