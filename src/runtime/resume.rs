//! Rebuilding a drill's simulated world from its journal, so that a resumed drill finds what the
//! first process changed and requests nothing twice.

use std::collections::BTreeMap;

use crate::audit::{Event, Record};
use crate::cloud::sim::SimWorld;
use crate::engine::ActionPlan;

/// Replays every change the journal shows as answered (made, or failed) into `world`.
/// Intents without an outcome are left out: the engine reconciles them on resume.
pub fn rebuild_world(world: &SimWorld, records: &[Record]) {
    let mut open: BTreeMap<(String, u64), (ActionPlan, chrono::DateTime<chrono::Utc>)> =
        BTreeMap::new();
    for r in records {
        let step = r.step.clone().unwrap_or_default();
        let attempt = r
            .detail
            .get("attempt")
            .and_then(|a| a.as_u64())
            .unwrap_or(0);
        match r.event {
            Event::Intent => {
                if let Some(plan) = r
                    .detail
                    .get("plan")
                    .and_then(|p| serde_json::from_value::<ActionPlan>(p.clone()).ok())
                {
                    open.insert((step, attempt), (plan, r.at));
                }
            }
            Event::Outcome => {
                let Some((plan, at)) = open.remove(&(step, attempt)) else {
                    continue;
                };
                if r.detail.get("ok").and_then(|v| v.as_bool()) == Some(true) {
                    let outputs = r
                        .detail
                        .get("outputs")
                        .and_then(|o| {
                            serde_json::from_value::<BTreeMap<String, String>>(o.clone()).ok()
                        })
                        .unwrap_or_default();
                    world.restore(&plan, outputs, at);
                } else {
                    world.consume_failure(&plan);
                }
            }
            _ => {}
        }
    }
}
