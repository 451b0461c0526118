//! CloudWatch alarms in the simulated world: a scenario's alarm changes over time, and how a
//! look sees them (a `cloudwatch-alarm` resource's state, a resource's `alarms:`).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::scenario::ScenarioError;
use super::world::World;
use crate::model::ResourceStatus;
use crate::runbook::{Duration, Health, Resource, ResourceKind, Runbook};

/// An alarm going to a state at a time of the drill.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AlarmChange {
    pub alarm: String,
    /// From T+0, e.g. `0m` or `25m`.
    pub at: String,
    pub state: AlarmValue,
    /// CloudWatch's state reason, as the console will show it.
    #[serde(default)]
    pub reason: String,
}

/// A CloudWatch alarm state.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum AlarmValue {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmValue {
    pub fn name(self) -> &'static str {
        match self {
            AlarmValue::Ok => "OK",
            AlarmValue::Alarm => "ALARM",
            AlarmValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// OK is ok, INSUFFICIENT_DATA impaired, ALARM unavailable (as live AWS maps them).
    pub fn health(self) -> Health {
        match self {
            AlarmValue::Ok => Health::Ok,
            AlarmValue::Alarm => Health::Unavailable,
            AlarmValue::InsufficientData => Health::Impaired,
        }
    }
}

/// Alarm changes checked against the runbook, in time order: (at, alarm, state, reason).
pub(super) fn prepare(
    changes: &[AlarmChange],
    runbook: &Runbook,
) -> Result<Vec<(Duration, String, AlarmValue, String)>, ScenarioError> {
    // An alarm the runbook does not watch is a typo: the drill would rehearse nothing.
    let watched: Vec<&str> = runbook
        .resources
        .values()
        .flat_map(|r| {
            let own =
                (r.kind == crate::runbook::ResourceKind::CloudwatchAlarm).then_some(r.id.as_str());
            own.into_iter().chain(r.alarms.iter().map(String::as_str))
        })
        .collect();
    let mut alarms = Vec::new();
    for (i, a) in changes.iter().enumerate() {
        if !watched.contains(&a.alarm.as_str()) {
            return Err(ScenarioError::Invalid(format!(
                "alarms[{i}]: `{}` is not an alarm runbook `{}` watches (a cloudwatch-alarm resource's id, or a resource's `alarms:`)",
                crate::safe::one_line(&a.alarm),
                runbook.id
            )));
        }
        alarms.push((
            super::scenario::duration(&a.at, &format!("alarms[{i}].at"))?,
            a.alarm.clone(),
            a.state,
            a.reason.clone(),
        ));
    }
    alarms.sort_by_key(|(at, _, _, _)| *at);
    Ok(alarms)
}

impl World {
    /// An alarm's state at `now` as the scenario changes it: (state, reason, since); OK from
    /// T+0 when no change names it.
    fn alarm_at(&self, name: &str, now: DateTime<Utc>) -> (AlarmValue, String, DateTime<Utc>) {
        let elapsed = (now - self.t0).num_seconds().max(0) as u64;
        self.scenario
            .alarms
            .iter()
            .rev()
            .find(|(at, alarm, _, _)| alarm == name && at.as_secs() <= elapsed)
            .map_or(
                (AlarmValue::Ok, String::new(), self.t0),
                |(at, _, v, why)| {
                    (
                        *v,
                        why.clone(),
                        self.t0 + TimeDelta::seconds(at.as_secs() as i64),
                    )
                },
            )
    }

    /// A `cloudwatch-alarm` resource's state, and the alarms a resource lists, folded into
    /// what it looks like (as live AWS does). An alarm in a dark region cannot be read.
    pub(super) fn alarms_of(
        &self,
        res: &Resource,
        status: &mut ResourceStatus,
        now: DateTime<Utc>,
    ) {
        let describe = |v: AlarmValue, why: &str, since: DateTime<Utc>| {
            let since = since.format("%Y-%m-%dT%H:%M:%SZ");
            if why.is_empty() {
                format!("{} since {since}", v.name())
            } else {
                format!("{} since {since}: {why}", v.name())
            }
        };
        if res.kind == ResourceKind::CloudwatchAlarm && status.health != Health::Unavailable {
            let (v, why, since) = self.alarm_at(&res.id, now);
            status.health = v.health();
            status.state = describe(v, &why, since);
        }
        // Most resources list no alarm: their look costs nothing more.
        if res.alarms.is_empty() {
            return;
        }
        let region = res.alarm_region();
        if self.region_health(&region, now) == Health::Unavailable {
            return;
        }
        for alarm in &res.alarms {
            let (v, why, since) = self.alarm_at(alarm, now);
            if v != AlarmValue::Ok {
                status.health = status.health.worse(v.health());
                status.state = format!(
                    "{}; alarm {alarm} {}",
                    status.state,
                    describe(v, &why, since)
                );
            }
        }
    }
}
