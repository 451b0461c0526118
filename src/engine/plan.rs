//! Planning a change: the action with every step output filled in, where it goes, and the
//! idempotency token that makes a repeat after a crash harmless.

use std::collections::BTreeMap;

use crate::model::{token, ActionPlan, Outputs};
use crate::runbook::params::ActionParams;
use crate::runbook::template::{Ref, Template};
use crate::runbook::{ActionCall, ActionKind, Resource};

/// Fills step outputs into the call's `with:` and types the result.
pub fn render(
    call: &ActionCall,
    resource: &Resource,
    step: &str,
    attempt: u32,
    run_id: &str,
    outputs: &Outputs,
) -> Result<ActionPlan, String> {
    let rendered = render_value(&call.with, outputs)?;
    let params = serde_json::to_value(&rendered).map_err(|e| e.to_string())?;
    let plan = ActionPlan {
        step: step.to_string(),
        attempt,
        action: call.action,
        resource: resource.name.clone(),
        target: resource.id.clone(),
        region: None,
        params,
        token: token(run_id, step, attempt),
        run: run_id.to_string(),
        since: None,
        made: BTreeMap::new(),
    };
    let typed = plan.typed()?;
    // Where the call goes: Global Accelerator's API lives in us-west-2 whatever the endpoint
    // group's region; Route 53's is global.
    let control_plane = match call.action {
        ActionKind::GaSetTrafficDial | ActionKind::GaSetEndpointWeights => {
            Some(Some("us-west-2".to_string()))
        }
        ActionKind::Route53SetWeights | ActionKind::Route53UpsertRecord => Some(None),
        _ => None,
    };
    if let Some(region) = control_plane {
        return Ok(ActionPlan { region, ..plan });
    }
    let region = typed
        .region()
        .and_then(Template::as_literal)
        .or_else(|| match (&typed, &resource.backup) {
            (ActionParams::BackupStartRestore(_), Some(b)) => Some(b.region.clone()),
            _ => None,
        })
        .or_else(|| resource.region.clone());
    Ok(ActionPlan { region, ..plan })
}

fn render_value(value: &serde_yaml::Value, outputs: &Outputs) -> Result<serde_yaml::Value, String> {
    use serde_yaml::Value;
    Ok(match value {
        Value::String(s) => {
            let t = Template::from_expanded(s)?;
            let text = t.render(outputs).map_err(|r| match r {
                Ref::StepOutput { step, output } => {
                    format!("step `{step}` gave no output `{output}`")
                }
                other => format!("`{other}` is not known"),
            })?;
            let whole_ref = t.needs().count() == 1
                && t.as_literal().is_none()
                && s.starts_with("{{")
                && s.ends_with("}}");
            match text.parse::<u64>() {
                Ok(n) if whole_ref => Value::Number(n.into()),
                _ => Value::String(text),
            }
        }
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|v| render_value(v, outputs))
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(map) => {
            let mut out = serde_yaml::Mapping::new();
            for (k, v) in map {
                let key = match k {
                    Value::String(ks) => Value::String(
                        Template::from_expanded(ks)?
                            .render(outputs)
                            .map_err(|r| format!("`{r}` is not known"))?,
                    ),
                    other => other.clone(),
                };
                out.insert(key, render_value(v, outputs)?);
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    })
}
