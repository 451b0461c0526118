//! Planning a change: the action with every step output filled in, where it goes, and the
//! idempotency token that makes a repeat after a crash harmless.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Engine;
use crate::model::{token, ActionPlan, Outputs};
use crate::runbook::params::ActionParams;
use crate::runbook::template::{Ref, Template, RUN_CONTEXT};
use crate::runbook::{ActionCall, ActionKind, Resource};

/// Fills step outputs into the call's parameters: the change exactly as it will be requested.
pub fn render(
    call: &ActionCall,
    resource: &Resource,
    step: &str,
    attempt: u32,
    run_id: &str,
    outputs: &Outputs,
) -> Result<ActionPlan, String> {
    let params = call
        .params
        .render(&|t: &Template| t.render(outputs))
        .map_err(|r| match r {
            Ref::StepOutput { step, output } => format!("step `{step}` gave no output `{output}`"),
            Ref::Run(field) => format!("`run.{field}` is not known yet"),
            other => format!("`{other}` is not known"),
        })?;
    // Where the call goes: Global Accelerator's API lives in us-west-2 whatever the endpoint
    // group's region; Route 53's is global.
    let region = match call.action {
        ActionKind::GaSetTrafficDial | ActionKind::GaSetEndpointWeights => {
            Some("us-west-2".to_string())
        }
        ActionKind::Route53SetWeights | ActionKind::Route53UpsertRecord => None,
        _ => params
            .region()
            .cloned()
            .or_else(|| match (&params, &resource.backup) {
                (ActionParams::BackupStartRestore(_), Some(b)) => Some(b.region.clone()),
                _ => None,
            })
            .or_else(|| resource.region.clone()),
    };
    Ok(ActionPlan {
        step: step.to_string(),
        attempt,
        action: call.action,
        resource: resource.name.clone(),
        target: resource.id.clone(),
        region,
        params,
        token: token(run_id, step, attempt),
        run: run_id.to_string(),
        since: None,
        made: BTreeMap::new(),
        principal: resource.role.clone(),
    })
}

impl Engine {
    /// The step outputs, with the run's own facts beside them for `{{run.…}}`: its id, the step
    /// in hand, how long since it started (as of `at`, else as of the step's start) and the RTO
    /// target.
    pub fn outputs_with_run(&self, at: Option<DateTime<Utc>>) -> Outputs {
        let mut outputs = self.state.outputs.clone();
        let i = self.state.current;
        let step = self.runbook.steps.get(i).map(|s| s.id.clone());
        let at = at.or_else(|| self.state.steps.get(i).and_then(|s| s.started_at));
        let elapsed = match (self.state.started_at, at) {
            (Some(start), Some(at)) => {
                let secs = (at - start).num_seconds().max(0) as u64;
                crate::runbook::Duration::from_secs(secs).to_string()
            }
            _ => "0s".to_string(),
        };
        let facts = [
            ("id", self.state.run_id.clone()),
            ("step", step.unwrap_or_default()),
            ("elapsed", elapsed),
            ("rto", self.runbook.targets.rto.to_string()),
        ];
        outputs.insert(
            RUN_CONTEXT.to_string(),
            facts.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        );
        outputs
    }
}
