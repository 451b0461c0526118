//! Where an action goes, and which alarms guard a step: what the engine, preflight and the IAM
//! policy all read the same way.

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
