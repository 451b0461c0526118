//! Planning a change: the action with every step output filled in, where it goes, and the
//! idempotency token that makes a repeat after a crash harmless.

use std::collections::BTreeMap;

use crate::model::{token, ActionPlan, Outputs};
use crate::runbook::params::ActionParams;
use crate::runbook::template::{Ref, Template};
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
