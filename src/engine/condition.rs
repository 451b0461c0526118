//! Whether an observed resource meets a `check` or `wait` condition, and why not.

use chrono::{DateTime, Utc};

use crate::model::ResourceStatus;
use crate::runbook::{Condition, Health};

/// `Ok(description)` when the condition holds, `Err(why not)` otherwise.
pub fn evaluate(
    c: &Condition,
    status: &ResourceStatus,
    now: DateTime<Utc>,
) -> Result<String, String> {
    let mut held = Vec::new();
    if !c.health.is_empty() {
        let want: Vec<&str> = c.health.iter().map(|h| Health::name(*h)).collect();
        if !c.health.contains(&status.health) {
            return Err(format!(
                "{} is {} ({}); expected {}",
                c.resource,
                Health::name(status.health),
                status.state,
                want.join(" or ")
            ));
        }
        held.push(format!("{} is {}", c.resource, Health::name(status.health)));
    }
    if let Some(within) = c.recovery_point_within {
        let Some(rp) = &status.latest_recovery_point else {
            return Err(format!("{} has no recovery point", c.resource));
        };
        let age = (now - rp.at).num_seconds().max(0) as u64;
        let age_text = crate::runbook::Duration::from_secs(age);
        if age > within.as_secs() {
            return Err(format!(
                "{}'s latest recovery point {} is {age_text} old; expected at most {within}",
                c.resource, rp.id
            ));
        }
        held.push(format!("latest recovery point {} is {age_text} old", rp.id));
    }
    Ok(held.join("; "))
}
