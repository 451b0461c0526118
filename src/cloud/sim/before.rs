//! The world before the drill: how traffic was routed and which instances were stopped. The
//! runbook says it where a cutover declares a fixed `inverse` (the inverse puts things back the
//! way they were); a scenario says it outright (`state`, `dials`, `weights` under `resources:`),
//! and a scenario's word wins.

use std::collections::BTreeMap;

use super::outputs::traffic_setting;
use super::scenario::{InstanceState, Prepared, ResourceSetup, ScenarioError};
use crate::runbook::{Resource, ResourceKind, Runbook};

/// Refuses before-state keys that do not fit the resource's kind, or values out of range.
pub(super) fn check(
    name: &str,
    setup: &ResourceSetup,
    res: &Resource,
) -> Result<(), ScenarioError> {
    let wrong = |key: &str, kind: &str| {
        Err(ScenarioError::Invalid(format!(
            "resources.{name}.{key}: only a {kind} has {key} (`{name}` is a {})",
            res.kind.name()
        )))
    };
    if setup.state.is_some() && res.kind != ResourceKind::Ec2Instance {
        return wrong("state", "ec2-instance");
    }
    if setup.dials.is_some() && res.kind != ResourceKind::GlobalAccelerator {
        return wrong("dials", "global-accelerator");
    }
    if setup.weights.is_some() && res.kind != ResourceKind::Route53Record {
        return wrong("weights", "route53-record");
    }
    if let Some((region, dial)) = setup.dials.iter().flatten().find(|(_, d)| **d > 100) {
        return Err(ScenarioError::Invalid(format!(
            "resources.{name}.dials.{region}: {dial} is not a dial (0-100)"
        )));
    }
    Ok(())
}

/// Instances stopped at T+0: those a step starts (pilot-light standbys) unless the scenario says
/// they run, and those the scenario says are stopped.
pub(super) fn stopped(runbook: &Runbook, scenario: &Prepared) -> Vec<String> {
    let started_by_a_step = |name: &str| {
        runbook.steps.iter().any(|s| {
            matches!(&s.body, crate::runbook::StepBody::Action { call, resource, .. }
                if call.action == crate::runbook::ActionKind::Ec2StartInstances && resource == name)
        })
    };
    runbook
        .resources
        .values()
        .filter(|r| r.kind == ResourceKind::Ec2Instance)
        .filter(
            |r| match scenario.resources.get(&r.name).and_then(|s| s.state) {
                Some(state) => state == InstanceState::Stopped,
                None => started_by_a_step(&r.name),
            },
        )
        .map(|r| r.id.clone())
        .collect()
}

/// Dials and weights at T+0: the scenario's, else what the runbook's fixed inverses say.
pub(super) fn traffic(
    runbook: &Runbook,
    scenario: &Prepared,
) -> BTreeMap<(String, String), String> {
    let mut out = before_states(runbook);
    for (name, setup) in &scenario.resources {
        let Some(res) = runbook.resources.get(name) else {
            continue;
        };
        for (region, dial) in setup.dials.iter().flatten() {
            out.insert((res.id.clone(), format!("dial/{region}")), dial.to_string());
        }
        if let Some(weights) = &setup.weights {
            // By set identifier, as the world shows the weights a cutover sets.
            let sorted: BTreeMap<&String, &u8> = weights.iter().collect();
            let text = serde_json::to_string(&sorted).unwrap_or_default();
            out.insert((res.id.clone(), "weights".to_string()), text);
        }
    }
    out
}

/// The traffic settings the world starts with, derived from the runbook: a cutover that
/// declares its `inverse` says how things were before it (the inverse puts them back), when the
/// inverse is fixed before the run (not made of step outputs). The first such change of a
/// setting wins: it is the one the drill meets first.
fn before_states(runbook: &crate::runbook::Runbook) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for step in &runbook.steps {
        let crate::runbook::StepBody::Action {
            resource,
            inverse: Some(inverse),
            ..
        } = &step.body
        else {
            continue;
        };
        let Some(res) = runbook.resources.get(resource) else {
            continue;
        };
        let no_outputs = crate::model::Outputs::default();
        let Ok(undo) =
            crate::engine::render(&inverse.call, res, &step.id, 1, "before", &no_outputs)
        else {
            continue;
        };
        if let Some((key, value, _)) = traffic_setting(&undo) {
            out.entry((undo.target.clone(), key)).or_insert(value);
        }
    }
    out
}
