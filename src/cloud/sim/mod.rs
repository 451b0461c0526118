//! The simulated world (design section 7): a first-class backend for drills and most tests.
//! Resources have health and recovery points that follow a scenario; changes take realistic,
//! seeded time; everything is deterministic for a given scenario, clock and seed.

mod outputs;
pub mod scenario;
mod world;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

pub use scenario::{default_for, parse as parse_scenario, Prepared, ScenarioError};
pub use world::Made;

use super::{Mutate, Observe};
use crate::engine::Approval;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, ResourceStatus, Started};
use crate::runbook::Runbook;
use world::World;

/// The simulated world behind the [`Observe`] and [`Mutate`] traits.
#[derive(Clone)]
pub struct SimWorld {
    runbook: Arc<Runbook>,
    world: Arc<Mutex<World>>,
}

impl SimWorld {
    /// A world at T+0 = `t0`, set up by `scenario`.
    pub fn new(runbook: Arc<Runbook>, mut scenario: Prepared, t0: DateTime<Utc>) -> SimWorld {
        // Fresh recovery points unless the scenario says otherwise: a quarter of the RPO target
        // old (at most 5 minutes), so a healthy world is comfortably within its objectives.
        for res in runbook
            .resources
            .values()
            .filter(|r| r.kind.has_recovery_points())
        {
            let target = res.rpo.or(runbook.targets.rpo);
            let fresh = target.map_or(world::DEFAULT_RP_AGE, |t| {
                crate::runbook::Duration::from_secs(
                    (t.as_secs() / 4).min(world::DEFAULT_RP_AGE.as_secs()),
                )
            });
            let setup = scenario.resources.entry(res.name.clone()).or_default();
            setup.recovery_point_age.get_or_insert(fresh);
        }
        let standby = runbook
            .steps
            .iter()
            .filter_map(|s| match &s.body {
                crate::runbook::StepBody::Action { call, resource, .. }
                    if call.action == crate::runbook::ActionKind::Ec2StartInstances =>
                {
                    runbook.resources.get(resource).map(|r| r.id.clone())
                }
                _ => None,
            })
            .collect();
        SimWorld {
            world: Arc::new(Mutex::new(World::new(scenario, t0, standby))),
            runbook,
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock cannot leave the world half-changed in a way that
        // matters more than losing it; keep serving.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every change that reached the world, in order: (token, whether it made something new).
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.lock().requests.clone()
    }

    /// What the world holds that changes made.
    pub fn made(&self) -> Vec<Made> {
        self.lock().made.clone()
    }

    pub fn scenario_name(&self) -> String {
        self.lock().scenario.name.clone()
    }

    /// Rebuilds what a journal says was changed, for a resumed drill.
    pub fn restore(&self, plan: &ActionPlan, outputs: BTreeMap<String, String>, at: DateTime<Utc>) {
        self.lock().restore(plan, outputs, at);
    }

    /// Counts a failure a journal recorded against the scenario's fail-N-times faults.
    pub fn consume_failure(&self, plan: &ActionPlan) {
        self.lock().consume_failure(plan);
    }

    fn resource(&self, name: &str) -> Result<&crate::runbook::Resource, CloudError> {
        self.runbook
            .resources
            .get(name)
            .ok_or_else(|| CloudError::NotFound(format!("resource `{name}`")))
    }
}

impl Observe for SimWorld {
    async fn observe(
        &self,
        resource: &crate::runbook::Resource,
        now: DateTime<Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        Ok(self.lock().observe(resource, now))
    }
}

impl Mutate for SimWorld {
    async fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        if approval.step() != plan.step {
            return Err(CloudError::Refused(format!(
                "the approval is for step `{}`, not `{}`",
                approval.step(),
                plan.step
            )));
        }
        let res = self.resource(&plan.resource)?.clone();
        self.lock().start(plan, &res, now)
    }

    async fn poll(&self, plan: &ActionPlan, now: DateTime<Utc>) -> Result<Progress, CloudError> {
        self.lock().poll(plan, now)
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        _now: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        Ok(self.lock().reconcile(plan))
    }

    async fn preview(&self, plan: &ActionPlan) -> Option<String> {
        outputs::traffic_preview(&self.lock(), plan)
    }
}
