//! A drill's change set: made up from the template the step deploys, so the gate shows what a
//! real one would list. A stack the drill's world has is modified where the template's
//! properties use a parameter the step sets; a stack it does not have is created whole.

use crate::model::ActionPlan;
use crate::runbook::params::ActionParams;
use crate::runbook::Runbook;

/// The simulated change set's text, shaped like the live one's.
pub(super) fn change_set(runbook: &Runbook, plan: &ActionPlan, stack_exists: bool) -> String {
    let ActionParams::CloudformationDeploy(p) = &plan.params else {
        return String::new();
    };
    let stack = p.stack_name.clone().unwrap_or_else(|| plan.target.clone());
    let header = |n: usize, why: &str| {
        format!(
            "change set {} for stack {stack}: {n} change(s) (drill: {why})",
            plan.token
        )
    };
    let Some(body) = runbook.template_body(&p.template) else {
        return header(0, &format!("template `{}` was not read", p.template));
    };
    let resources = match serde_yaml::from_str::<serde_yaml::Value>(body) {
        Ok(v) => v.get("Resources").cloned().unwrap_or_default(),
        Err(e) => {
            let why = format!("template `{}` is not YAML or JSON: {e}", p.template);
            return header(0, &why);
        }
    };
    let mut lines = Vec::new();
    if let serde_yaml::Value::Mapping(m) = resources {
        for (name, r) in &m {
            let name = name.as_str().unwrap_or("?");
            let kind = r.get("Type").and_then(|t| t.as_str()).unwrap_or("?");
            if !stack_exists {
                lines.push(format!("  + Add     {name} ({kind})"));
                continue;
            }
            let props = serde_yaml::to_string(&r.get("Properties")).unwrap_or_default();
            if p.parameters.keys().any(|k| props.contains(k.as_str())) {
                lines.push(format!("  ~ Modify  {name} ({kind}) replacement: False"));
            }
        }
    }
    let mut text = vec![header(lines.len(), "made up from the template")];
    text.extend(lines);
    text.join("\n")
}
