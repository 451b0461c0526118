//! A fully specified change: the action with every step output filled in, where it goes, and the
//! idempotency token that makes a repeat after a crash harmless.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::runbook::params::ActionParams;
use crate::runbook::template::{Ref, Template};
use crate::runbook::{ActionCall, ActionKind, Resource};

/// Step outputs by step id, then output name.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

/// What a mutating call will do, exactly. Shown in the preview and written in the intent record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionPlan {
    pub step: String,
    pub attempt: u32,
    pub action: ActionKind,
    /// The runbook's name for the resource.
    pub resource: String,
    /// The resource's cloud id (instance id, DB identifier, ARN, record name).
    pub target: String,
    /// The region the call is made in, when the service is regional.
    pub region: Option<String>,
    /// The `with:` parameters, every value known.
    pub params: serde_json::Value,
    /// ClientToken / IdempotencyToken: the same for every repeat of this attempt.
    pub token: String,
    /// The run this change belongs to (what it makes is tagged with it, so a later run never
    /// mistakes an earlier run's leftovers for its own).
    #[serde(default)]
    pub run: String,
    /// When the step first asked for its change: what an earlier attempt made is newer than
    /// this, where a service cannot be asked by token (AWS Backup restore jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// What the change reported when it was requested (its outputs so far), for following it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub made: BTreeMap<String, String>,
}

impl ActionPlan {
    /// The typed parameters.
    pub fn typed(&self) -> Result<ActionParams, String> {
        let value = serde_yaml::to_value(&self.params).map_err(|e| e.to_string())?;
        self.action.parse_params(value).map_err(|e| e.to_string())
    }

    /// This plan with the outputs its change reported so far, for polling.
    pub fn with_made(&self, outputs: Option<&BTreeMap<String, String>>) -> ActionPlan {
        ActionPlan {
            made: outputs.cloned().unwrap_or_default(),
            ..self.clone()
        }
    }

    /// A string parameter, when set.
    pub fn param(&self, key: &str) -> Option<String> {
        match self.params.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// `rds:RestoreDBInstanceFromDBSnapshot in us-west-2 on orders-prod (token …)`.
    pub fn summary(&self) -> String {
        let region = self.region.as_deref().unwrap_or("global");
        format!(
            "{} in {region} on {} ({})",
            self.action.spec().api,
            self.target,
            self.action.name()
        )
    }
}

/// The idempotency token of one attempt of one step of one run (at most 64 ASCII characters, as
/// EC2 ClientToken and AWS Backup IdempotencyToken require).
pub fn token(run_id: &str, step: &str, attempt: u32) -> String {
    let digest = Sha256::digest(format!("{run_id}/{step}/{attempt}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("pl-{hex}")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_short_and_distinct() {
        let a = token("run-1", "restore", 1);
        assert_eq!(a, token("run-1", "restore", 1));
        assert_ne!(a, token("run-1", "restore", 2));
        assert_ne!(a, token("run-2", "restore", 1));
        assert!(a.len() <= 64 && a.is_ascii());
    }
}
