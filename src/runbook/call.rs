//! What a validated runbook says beyond its fields: where an action goes, which step makes a
//! resource, which alarms guard a step, the regions it touches. The engine, preflight and the
//! IAM policy all read these the same way.

use super::model::{ActionCall, Resource, Runbook, Step, StepBody};
use super::ActionKind;

impl ActionCall {
    /// The region the call goes to, as the engine will plan it: Global Accelerator's API in
    /// us-west-2, Route 53's in us-east-1, else the `region` parameter, an AWS Backup restore's
    /// vault region, or the resource's. `None`: known only at run time (an earlier step's
    /// output).
    pub fn region(&self, resource: &Resource) -> Option<String> {
        use super::params::ActionParams;
        match self.action {
            ActionKind::GaSetTrafficDial | ActionKind::GaSetEndpointWeights => {
                Some("us-west-2".into())
            }
            ActionKind::Route53SetWeights | ActionKind::Route53UpsertRecord => {
                Some("us-east-1".into())
            }
            _ => match self.params.region() {
                Some(t) => t.as_literal().filter(|s| !s.trim().is_empty()),
                None => match (&self.params, &resource.backup) {
                    (ActionParams::BackupStartRestore(_), Some(b)) => Some(b.region.clone()),
                    _ => resource.region.clone(),
                },
            },
        }
    }
}

impl Runbook {
    /// The guard alarms of `step` (resource names): its own `guards:`, and for an action or
    /// command step the runbook's. While the step waits at its gate, one of them in ALARM
    /// pauses the run there.
    pub fn guards_of<'a>(&'a self, step: &'a Step) -> Vec<&'a str> {
        let mut out: Vec<&str> = step.guards.iter().map(String::as_str).collect();
        if matches!(
            step.body,
            StepBody::Action { .. } | StepBody::Command { .. }
        ) {
            for g in &self.guards {
                if !out.contains(&g.as_str()) {
                    out.push(g);
                }
            }
        }
        out
    }
}

impl Runbook {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The index of the step after which the service is back: the one marked
    /// `restores_service`, else the last step (the whole runbook is the recovery).
    pub fn restored_by(&self) -> usize {
        self.steps
            .iter()
            .position(|s| s.restores_service)
            .unwrap_or(self.steps.len().saturating_sub(1))
    }

    /// Whether the runbook marks a service-restored step (and so has steps after it).
    pub fn has_milestone(&self) -> bool {
        self.steps.iter().any(|s| s.restores_service)
    }

    /// The step that creates resource `name` (a restore's fixed target): until that step has
    /// run, the resource not existing is expected, not a fault.
    pub fn made_by(&self, name: &str) -> Option<&str> {
        let res = self.resources.get(name)?;
        self.steps.iter().find_map(|s| match &s.body {
            StepBody::Action { call, .. } => call
                .params
                .target_name()
                .and_then(|t| t.as_literal())
                .filter(|t| t.eq_ignore_ascii_case(&res.id))
                .map(|_| s.id.as_str()),
            _ => None,
        })
    }

    /// Why this step may fail during the event it recovers from: its change goes through the
    /// control plane of a global service in the primary region (Route 53 in us-east-1, Global
    /// Accelerator in us-west-2). Shown by `validate` and at the step's gate.
    pub fn control_plane_risk(&self, step: &Step) -> Option<String> {
        let StepBody::Action { call, .. } = &step.body else {
            return None;
        };
        let plane = call.action.control_plane()?;
        let failover = self.failover.as_ref().filter(|f| f.primary == plane)?;
        let service = if call.action.name().starts_with("route53.") {
            "Route 53"
        } else {
            "Global Accelerator"
        };
        Some(format!(
            "`{}` goes through {service}'s control plane in {plane}, the primary region this \
             runbook fails away from: it may fail while {} is impaired",
            call.action.name(),
            failover.primary,
        ))
    }

    /// The region of the state store's S3 bucket as the runbook says it: its `state.region`,
    /// else its recovery region (which survives the incident).
    pub fn state_region(&self) -> Option<String> {
        self.state
            .as_ref()?
            .region
            .clone()
            .or_else(|| self.failover.as_ref().map(|f| f.recovery.clone()))
    }

    /// The regions the runbook touches, in first-mention order (for health and RTO views).
    pub fn regions(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |r: &str| {
            if !out.iter().any(|x| x == r) {
                out.push(r.to_string());
            }
        };
        for res in self.resources.values() {
            if let Some(r) = &res.region {
                add(r);
            }
            if let Some(b) = &res.backup {
                add(&b.region);
            }
        }
        out
    }
}

/// Where an RDS restore puts its new instance: its name, subnet group and security groups.
pub struct RdsPlacement<'a, T> {
    pub target_id: &'a T,
    pub subnet_group: Option<&'a T>,
    pub security_groups: &'a [T],
}

impl<T> super::params::ActionParams<T> {
    /// The placement of an RDS restore (from a snapshot or to a point in time), which both
    /// name alike.
    pub fn rds_placement(&self) -> Option<RdsPlacement<'_, T>> {
        use super::params::ActionParams as P;
        match self {
            P::RdsRestoreSnapshot(p) => Some(RdsPlacement {
                target_id: &p.target_id,
                subnet_group: p.subnet_group.as_ref(),
                security_groups: &p.security_groups,
            }),
            P::RdsRestorePointInTime(p) => Some(RdsPlacement {
                target_id: &p.target_id,
                subnet_group: p.subnet_group.as_ref(),
                security_groups: &p.security_groups,
            }),
            _ => None,
        }
    }
}
