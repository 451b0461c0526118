//! The simulated world (design section 7): a first-class backend for drills and most tests.
//! Resources have health and recovery points that follow a scenario; changes take realistic,
//! seeded time; everything is deterministic for a given scenario, clock and seed.

mod alarms;
mod before;
mod outputs;
pub mod scenario;
mod stacks;
mod world;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

pub use scenario::{
    default_for, load as load_scenario, parse as parse_scenario, Prepared, ScenarioError,
};
pub use world::Made;

use super::{Change, CommandAnswer, CommandRun, Observe};
use crate::audit::{Event, Record};
use crate::engine::Approval;
use crate::model::{ActionPlan, CloudError, Progress, ResourceStatus, Started};
use crate::runbook::Runbook;
use world::World;

/// The simulated world behind the [`Observe`] and [`Change`] traits.
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
        let standby = before::stopped(&runbook, &scenario);
        let traffic = before::traffic(&runbook, &scenario);
        let mut world = World::new(scenario, t0, standby);
        world.traffic = traffic;
        SimWorld {
            world: Arc::new(Mutex::new(world)),
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

    /// Rebuilds what a drill's journal says was changed, so that a resumed drill finds what the
    /// first process changed and requests nothing twice: every change the journal shows as
    /// answered (made, or failed) is replayed into the world. Intents without an outcome are
    /// left out: the engine reconciles them on resume.
    pub fn replay(&self, records: &[Record]) {
        let mut open: BTreeMap<(String, u32), (ActionPlan, DateTime<Utc>)> = BTreeMap::new();
        let mut world = self.lock();
        for r in records {
            let step = r.step.clone().unwrap_or_default();
            match &r.event {
                Event::Intent(intent) => {
                    if let Some(plan) = &intent.plan {
                        open.insert((step, intent.attempt), (plan.clone(), r.at));
                    }
                }
                Event::Outcome(outcome) => {
                    let Some((plan, at)) = open.remove(&(step, outcome.attempt)) else {
                        continue;
                    };
                    if outcome.ok {
                        world.restore(&plan, outcome.outputs.clone().unwrap_or_default(), at);
                    } else {
                        world.consume_failure(&plan);
                    }
                }
                _ => {}
            }
        }
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
        let world = self.lock();
        // A restore's target exists once the restore has made it.
        if let Some(step) = self.runbook.made_by(&resource.name) {
            let made = world.made.iter().any(|m| {
                m.target_name
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(&resource.id))
            });
            if !made {
                return Err(CloudError::NotFound(format!(
                    "{} does not exist yet: step `{step}` creates it",
                    resource.id
                )));
            }
        }
        Ok(world.observe(resource, now))
    }
}

impl Change for SimWorld {
    async fn start(
        &self,
        plan: &ActionPlan,
        _: &Approval,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
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
        match &plan.params {
            crate::runbook::params::ActionParams::CloudformationDeploy(_) => {
                // As the world stood when the drill began (a stack the scenario takes down is
                // created again).
                let exists = self.resource(&plan.resource).is_ok_and(|r| {
                    let world = self.lock();
                    world.observe(r, world.t0).health != crate::runbook::Health::Unavailable
                });
                Some(stacks::change_set(&self.runbook, plan, exists))
            }
            crate::runbook::params::ActionParams::SnsPublish(p) => Some(format!(
                "drill: this message is shown, never sent\nsubject: {}\n{}",
                p.subject.as_deref().unwrap_or("(none)"),
                p.message
            )),
            _ => outputs::traffic_preview(&self.lock(), plan),
        }
    }

    /// A drill never runs a command (it could reach real systems): it answers what the scenario
    /// says (`commands:`), else succeeds, after the step's expected time in simulated time.
    async fn run_command(
        &self,
        run: &CommandRun,
        _: &Approval,
        now: DateTime<Utc>,
    ) -> CommandAnswer {
        let takes = chrono::TimeDelta::seconds(run.expected.as_secs() as i64);
        // What the scenario says the command answers, else a plain "not run".
        let answer = self
            .lock()
            .scenario
            .commands
            .get(&run.step)
            .map(|c| (c.exit_code, c.stdout.clone()))
            .unwrap_or_else(|| (0, "(drill: the command was not run)".to_string()));
        CommandAnswer {
            result: Ok(answer),
            at: Some(now + takes),
        }
    }
}

/// Preflight in the simulated world: every subnet group, vault, role and zone a runbook names
/// is there; a restore's target exists only when a change made it or the runbook watches it
/// as a resource no step creates; there is no IAM to ask.
impl super::Inspect for SimWorld {
    async fn exists(&self, thing: &crate::engine::preflight::Named) -> Result<bool, CloudError> {
        use crate::engine::preflight::NamedKind as K;
        Ok(match thing.kind {
            K::DbInstance | K::Table | K::RedshiftCluster => {
                let watched = self.runbook.resources.values().any(|r| {
                    r.id.eq_ignore_ascii_case(&thing.id) && self.runbook.made_by(&r.name).is_none()
                });
                let made = self.lock().made.iter().any(|m| {
                    m.target_name
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case(&thing.id))
                });
                watched || made
            }
            _ => true,
        })
    }

    async fn caller_in(&self, _region: &str) -> Result<crate::model::Identity, CloudError> {
        Ok(crate::model::Identity {
            account: "000000000000".into(),
            arn: "simulated".into(),
            user_id: "simulated".into(),
        })
    }

    async fn denied(
        &self,
        _: &crate::model::Identity,
        _: &[super::PermissionCheck],
    ) -> Result<Option<Vec<super::Denial>>, CloudError> {
        Ok(None)
    }

    async fn health_note(&self) -> Option<String> {
        None
    }

    /// The simulated world's recovery points are one per resource, of every kind.
    async fn newest_point(
        &self,
        _: &crate::runbook::ActionCall,
        resource: &crate::runbook::Resource,
    ) -> Result<Option<(String, DateTime<Utc>)>, CloudError> {
        let now = self.lock().t0;
        Ok(self
            .lock()
            .observe(resource, now)
            .latest_recovery_point
            .map(|p| (p.id, p.at)))
    }
}
