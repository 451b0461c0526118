//! Rebuilding a drill's simulated world from its journal, so that a resumed drill finds what the
//! first process changed and requests nothing twice.

use std::collections::BTreeMap;

use crate::audit::{Event, Record};
use crate::cloud::sim::SimWorld;
use crate::model::ActionPlan;

/// Replays every change the journal shows as answered (made, or failed) into `world`.
/// Intents without an outcome are left out: the engine reconciles them on resume.
pub fn rebuild_world(world: &SimWorld, records: &[Record]) {
    let mut open: BTreeMap<(String, u32), (ActionPlan, chrono::DateTime<chrono::Utc>)> =
        BTreeMap::new();
    for r in records {
        let step = r.step.clone().unwrap_or_default();
        match &r.event {
            Event::Intent(intent) => {
                if let Some(plan) = &intent.plan {
                    open.insert((step, intent.attempt), (plan.clone(), r.at));
                }
            }
            Event::Outcome(outcome) => {
                let Some((plan, at)) = open.remove(&(step, outcome.attempt)) else {
                    continue;
                };
                if outcome.ok {
                    world.restore(&plan, outcome.outputs.clone().unwrap_or_default(), at);
                } else {
                    world.consume_failure(&plan);
                }
            }
            _ => {}
        }
    }
}
