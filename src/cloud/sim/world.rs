//! The simulated world's state: resources whose health follows the scenario, recovery points
//! that age, and changes that take realistic time.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::scenario::Prepared;
use crate::model::ActionPlan;
use crate::model::{
    CloudError, Progress, RecoveryPoint, RecoveryPointKind, ResourceStatus, Started,
};
use crate::runbook::{ActionKind, Duration, Health, Resource, ResourceKind};

/// Default age of the latest recovery point at T+0.
pub(super) const DEFAULT_RP_AGE: Duration = Duration::from_mins(5);

/// Something a change made.
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    pub token: String,
    pub step: String,
    pub action: ActionKind,
    pub target_name: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub requested_at: DateTime<Utc>,
    pub ready_at: DateTime<Utc>,
    pub wait_state: String,
}

#[derive(Debug)]
pub struct World {
    pub t0: DateTime<Utc>,
    pub scenario: Prepared,
    /// Failures still to happen, per fault index.
    pub failures_left: Vec<u32>,
    pub made: Vec<Made>,
    /// Current traffic dials and weights, by (resource target, key).
    pub traffic: BTreeMap<(String, String), String>,
    /// Every change request that reached the world, as (token, created something new).
    pub requests: Vec<(String, bool)>,
    /// Instances stopped at T+0 (standbys a step starts, or as the scenario says), until a
    /// step starts them.
    pub standby: Vec<String>,
}

fn hex(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

impl World {
    pub fn new(scenario: Prepared, t0: DateTime<Utc>, standby: Vec<String>) -> World {
        let failures_left = scenario.faults.iter().map(|f| f.fail_times).collect();
        World {
            t0,
            scenario,
            failures_left,
            made: Vec::new(),
            traffic: BTreeMap::new(),
            requests: Vec::new(),
            standby,
        }
    }

    /// A region's health at `now`.
    pub fn region_health(&self, region: &str, now: DateTime<Utc>) -> Health {
        let mut health = self
            .scenario
            .regions
            .get(region)
            .copied()
            .unwrap_or(Health::Ok);
        for (at, r, h) in &self.scenario.timeline {
            if r == region && now >= self.t0 + secs(*at) {
                health = *h;
            }
        }
        health
    }

    /// When the region last stopped being healthy, if it is not healthy now.
    fn outage_since(&self, region: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut since = match self.scenario.regions.get(region) {
            Some(h) if *h != Health::Ok => Some(self.t0),
            _ => None,
        };
        for (at, r, h) in &self.scenario.timeline {
            let t = self.t0 + secs(*at);
            if r == region && now >= t {
                since = if *h == Health::Ok {
                    None
                } else {
                    since.or(Some(t))
                };
            }
        }
        since
    }

    pub fn observe(&self, res: &Resource, now: DateTime<Utc>) -> ResourceStatus {
        let setup = self
            .scenario
            .resources
            .get(&res.name)
            .cloned()
            .unwrap_or_default();
        let mut health = res
            .region
            .as_deref()
            .map_or(Health::Ok, |r| self.region_health(r, now));
        if let Some(h) = setup.health {
            health = h;
        }
        if let Some(every) = setup.flap_every {
            let n = (now - self.t0).num_seconds().max(0) as u64 / every.as_secs().max(1);
            if n % 2 == 1 {
                health = Health::Impaired;
            }
        }
        let state = match (res.kind, health) {
            (_, Health::Unavailable) => "unreachable",
            (_, Health::Impaired) => "impaired",
            (_, Health::Unknown) => "unknown",
            (ResourceKind::Ec2Instance, _) if self.is_stopped_standby(&res.id, now) => "stopped",
            (ResourceKind::Ec2Instance, _) => "running",
            (ResourceKind::EbsVolume, _) => "in-use",
            (ResourceKind::RdsInstance, _) => "available",
            (ResourceKind::DynamodbTable, _) => "ACTIVE",
            (ResourceKind::GlobalAccelerator, _) => "DEPLOYED",
            (ResourceKind::Route53Record, _) => "healthy",
            (ResourceKind::CloudwatchAlarm, _) => "OK",
            (ResourceKind::RedshiftCluster, _) => "available",
            (ResourceKind::CloudformationStack, _) => "UPDATE_COMPLETE",
            (ResourceKind::SnsTopic, _) => "exists",
        };
        let mut status = ResourceStatus {
            health,
            state: state.to_string(),
            latest_recovery_point: self.recovery_point(res, &setup, now),
        };
        self.alarms_of(res, &mut status, now);
        status
    }

    fn recovery_point(
        &self,
        res: &Resource,
        setup: &super::scenario::PreparedSetup,
        now: DateTime<Utc>,
    ) -> Option<RecoveryPoint> {
        if !res.kind.has_recovery_points() || setup.no_recovery_point {
            return None;
        }
        let age = secs(setup.recovery_point_age.unwrap_or(DEFAULT_RP_AGE));
        // Backups keep coming while the source's region is up, and stop when it goes down.
        let region = res.region.as_deref().unwrap_or_default();
        let frozen_at = self.outage_since(region, now).unwrap_or(now).max(self.t0);
        let at = frozen_at - age;
        let kind = match (res.kind, &res.backup) {
            (_, Some(_)) => RecoveryPointKind::BackupCopy,
            (ResourceKind::Ec2Instance, _) => RecoveryPointKind::Ami,
            (ResourceKind::DynamodbTable, _) => RecoveryPointKind::Pitr,
            _ => RecoveryPointKind::Snapshot,
        };
        let id = match kind {
            RecoveryPointKind::Ami => format!("ami-{}", short(&res.id, at)),
            RecoveryPointKind::Pitr => format!("{}@{}", res.id, at.format("%Y-%m-%dT%H:%M:%SZ")),
            RecoveryPointKind::BackupCopy => format!(
                "arn:aws:backup:{}:recovery-point:{}",
                res.backup.as_ref().map_or(region, |b| b.region.as_str()),
                short(&res.id, at)
            ),
            _ if res.kind == ResourceKind::EbsVolume => format!("snap-{}", short(&res.id, at)),
            _ if res.kind == ResourceKind::RedshiftCluster => {
                format!("rs:{}-{}", res.id, at.format("%Y-%m-%d-%H-%M-%S"))
            }
            _ => format!("rds:{}-{}", res.id, at.format("%Y-%m-%d-%H-%M")),
        };
        Some(RecoveryPoint { id, at, kind })
    }

    /// An instance stopped at T+0 stays stopped until a step starts it.
    fn is_stopped_standby(&self, instance: &str, now: DateTime<Utc>) -> bool {
        self.standby.iter().any(|s| s == instance)
            && !self.made.iter().any(|m| {
                m.action == ActionKind::Ec2StartInstances
                    && m.outputs.get("instance_id").map(String::as_str) == Some(instance)
                    && now >= m.ready_at
            })
    }

    /// The fault matching this plan, if it still has failures to give.
    fn failure_for(&mut self, plan: &ActionPlan) -> Option<String> {
        for (i, f) in self.scenario.faults.iter().enumerate() {
            let matches = f.step.as_ref().is_none_or(|s| *s == plan.step)
                && f.action.is_none_or(|a| a == plan.action);
            if matches && self.failures_left[i] > 0 {
                self.failures_left[i] -= 1;
                return Some(f.error.clone().unwrap_or_else(|| {
                    "InternalFailure: the simulated service failed this request".into()
                }));
            }
        }
        None
    }

    fn slow_factor(&self, plan: &ActionPlan) -> f64 {
        self.scenario
            .faults
            .iter()
            .filter(|f| {
                f.step.as_ref().is_none_or(|s| *s == plan.step)
                    && f.action.is_none_or(|a| a == plan.action)
            })
            .filter_map(|f| f.slow_factor)
            .product()
    }

    /// How long this change takes: the catalogue's duration, ±15 % by the seeded randomness.
    /// Ids the world hands out derive from the same seed, step and attempt.
    fn duration_of(&self, plan: &ActionPlan) -> TimeDelta {
        let base = plan.action.spec().default_duration.as_secs() as f64;
        // Seeded by the scenario and the step, not the run: the same drill takes the same time.
        let digest = Sha256::digest(
            format!("{}/{}/{}", self.scenario.seed, plan.step, plan.attempt).as_bytes(),
        );
        let jitter = 0.85 + 0.30 * (f64::from(digest[0]) / 255.0);
        TimeDelta::seconds((base * jitter * self.slow_factor(plan)).round() as i64)
    }

    fn find(&self, plan: &ActionPlan) -> Option<&Made> {
        let name = target_name(plan);
        self.made.iter().find(|m| {
            m.token == plan.token
                || (name.is_some() && m.target_name == name && m.action == plan.action)
        })
    }

    pub fn start(
        &mut self,
        plan: &ActionPlan,
        res: &Resource,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        if let Some(made) = self.find(plan) {
            // The same token again, or a fixed target name that already exists: adopt it.
            let adopted = made.token != plan.token;
            let outputs = made.outputs.clone();
            self.requests.push((plan.token.clone(), false));
            return Ok(Started { outputs, adopted });
        }
        if let Some(region) = &plan.region {
            if self.region_health(region, now) == Health::Unavailable {
                return Err(CloudError::Api {
                    code: "ServiceUnavailable".into(),
                    message: format!("{region} is not answering (the simulated region is down)"),
                });
            }
        }
        if let Some(err) = self.failure_for(plan) {
            let (code, message) = err
                .split_once(": ")
                .map_or(("InternalFailure", err.as_str()), |(c, m)| (c, m));
            return Err(CloudError::Api {
                code: code.into(),
                message: message.into(),
            });
        }
        let setup = self
            .scenario
            .resources
            .get(&res.name)
            .cloned()
            .unwrap_or_default();
        let uses_latest = plan.params.uses_latest();
        if uses_latest && setup.no_recovery_point {
            return Err(CloudError::NotFound(format!(
                "no recovery point of {} ({}) to restore from",
                res.name, res.id
            )));
        }
        let outputs = super::outputs::outputs_for(self, plan, res, now);
        let made = Made {
            token: plan.token.clone(),
            step: plan.step.clone(),
            action: plan.action,
            target_name: target_name(plan),
            outputs: outputs.clone(),
            requested_at: now,
            ready_at: now + self.duration_of(plan),
            wait_state: plan
                .action
                .spec()
                .wait_states
                .first()
                .copied()
                .unwrap_or("done")
                .to_string(),
        };
        self.made.push(made);
        self.requests.push((plan.token.clone(), true));
        Ok(Started {
            outputs,
            adopted: false,
        })
    }

    pub fn poll(&self, plan: &ActionPlan, now: DateTime<Utc>) -> Result<Progress, CloudError> {
        let made = self
            .find(plan)
            .ok_or_else(|| CloudError::NotFound(format!("nothing was made by {}", plan.token)))?;
        if now >= made.ready_at {
            return Ok(Progress {
                state: made.wait_state.clone(),
                percent: Some(100),
                expected_done: Some(made.ready_at),
                ..Progress::default()
            });
        }
        let total = (made.ready_at - made.requested_at).num_seconds().max(1);
        let done = (now - made.requested_at).num_seconds().clamp(0, total);
        Ok(Progress {
            state: "in-progress".into(),
            percent: Some((done * 100 / total) as u8),
            expected_done: Some(made.ready_at),
            ..Progress::default()
        })
    }

    pub fn reconcile(&self, plan: &ActionPlan) -> Option<Started> {
        self.find(plan).map(|m| Started {
            outputs: m.outputs.clone(),
            adopted: true,
        })
    }

    /// Replays a change recorded in a journal, so a resumed drill's world has it again.
    pub fn restore(
        &mut self,
        plan: &ActionPlan,
        outputs: BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) {
        if self.find(plan).is_some() {
            return;
        }
        let ready_at = at + self.duration_of(plan);
        super::outputs::apply_traffic(self, plan);
        self.made.push(Made {
            token: plan.token.clone(),
            step: plan.step.clone(),
            action: plan.action,
            target_name: target_name(plan),
            outputs,
            requested_at: at,
            ready_at,
            wait_state: plan
                .action
                .spec()
                .wait_states
                .first()
                .copied()
                .unwrap_or("done")
                .to_string(),
        });
    }

    /// Replays a failure recorded in a journal, so fail-N-times faults count it.
    pub fn consume_failure(&mut self, plan: &ActionPlan) {
        let _ = self.failure_for(plan);
    }
}

/// The fixed name a restore creates, which a repeat must find and adopt.
fn target_name(plan: &ActionPlan) -> Option<String> {
    plan.params.target_name().cloned()
}

pub(super) fn secs(d: Duration) -> TimeDelta {
    TimeDelta::seconds(d.as_secs() as i64)
}

pub(super) fn short(seed: &str, at: DateTime<Utc>) -> String {
    let digest = Sha256::digest(format!("{seed}/{}", at.timestamp()).as_bytes());
    hex(&digest, 8)
}

pub(super) fn short_of(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()), 8)
}

/// A short id for what `plan` makes, the same in every drill with the same seed.
pub(super) fn id_for(world: &World, plan: &ActionPlan) -> String {
    short_of(&format!(
        "{}/{}/{}",
        world.scenario.seed, plan.step, plan.attempt
    ))
}
