//! The runbook JSON Schema, for editors (`# yaml-language-server: $schema=`) and `pilotlight schema`.

use schemars::generate::SchemaSettings;
use serde_json::{json, Value};

use super::catalogue::ActionKind;
use super::raw::RawRunbook;

/// The JSON Schema of runbook format v1, with each action's `with:` parameters spelled out.
pub fn runbook_schema() -> Value {
    let mut gen = SchemaSettings::draft07().into_generator();
    let per_action: Vec<Value> = ActionKind::ALL
        .iter()
        .map(|a| {
            let params = a.params_schema(&mut gen);
            json!({
                "if": { "properties": { "action": { "const": a.name() } }, "required": ["action"] },
                "then": { "properties": { "with": params } }
            })
        })
        .collect();
    let mut root = gen.into_root_schema_for::<RawRunbook>().to_value();
    if let Some(step) = root
        .get_mut("definitions")
        .and_then(|d| d.get_mut("RawStep"))
        .and_then(Value::as_object_mut)
    {
        step.insert("allOf".to_string(), Value::Array(per_action));
    }
    root
}

/// The schema as the pretty JSON text that `pilotlight schema` prints and `assets/` holds.
pub fn runbook_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&runbook_schema()).unwrap_or_default();
    text.push('\n');
    text
}
