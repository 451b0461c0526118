//! CloudWatch alarms: `cloudwatch-alarm` resources, and the `alarms:` any resource lists that
//! count towards its health. One DescribeAlarms per (region, page) per refresh, batched by
//! name, however many resources share the region's alarms.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use super::resolve::time;
use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, ResourceStatus};
use crate::runbook::{Health, Resource, ResourceKind};

/// DescribeAlarms takes at most this many names.
const NAMES_PER_CALL: usize = 100;

/// One alarm as CloudWatch has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AlarmState {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub value: String,
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
}

impl AlarmState {
    /// OK is ok, INSUFFICIENT_DATA impaired (it cannot tell), ALARM unavailable.
    pub fn health(&self) -> Health {
        match self.value.as_str() {
            "OK" => Health::Ok,
            "ALARM" => Health::Unavailable,
            "INSUFFICIENT_DATA" => Health::Impaired,
            _ => Health::Unknown,
        }
    }

    /// `ALARM since 03:12:00Z: Threshold Crossed: …`.
    pub fn describe(&self) -> String {
        let since = self
            .since
            .map(|t| format!(" since {}", t.format("%Y-%m-%dT%H:%M:%SZ")))
            .unwrap_or_default();
        let reason = crate::safe::one_line(&self.reason);
        if reason.is_empty() {
            format!("{}{since}", self.value)
        } else {
            format!("{}{since}: {reason}", self.value)
        }
    }
}

type Alarms = Result<HashMap<String, AlarmState>, CloudError>;

/// (account, or none for the caller's; region).
type AccountRegion = (String, String);

/// The alarms each region needs in one look, read once per region.
pub(super) struct AlarmMemo {
    /// Alarm names by (account, region): every `cloudwatch-alarm` and every `alarms:` of the
    /// look (an account's alarms are read through its own clients).
    names: HashMap<AccountRegion, BTreeSet<String>>,
    cells: std::sync::Mutex<HashMap<AccountRegion, Arc<OnceCell<Alarms>>>>,
}

impl AlarmMemo {
    pub(super) fn for_resources<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut names: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
        for r in resources {
            let key = (r.account.clone().unwrap_or_default(), r.alarm_region());
            if r.kind == ResourceKind::CloudwatchAlarm {
                names.entry(key.clone()).or_default().insert(r.id.clone());
            }
            for a in &r.alarms {
                names.entry(key.clone()).or_default().insert(a.clone());
            }
        }
        AlarmMemo {
            names,
            cells: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The alarms of `account` in `region` (through `aws`, that account's backend), asked for
    /// at most once per look.
    pub(super) async fn get(&self, aws: &AwsCloud, account: Option<&str>, region: &str) -> Alarms {
        let key = (account.unwrap_or_default().to_string(), region.to_string());
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells.entry(key.clone()).or_default().clone()
        };
        let names: Vec<String> = self
            .names
            .get(&key)
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default();
        cell.get_or_init(|| describe(aws, region, names))
            .await
            .clone()
    }
}

/// DescribeAlarms of `names` in `region`, a hundred names per call, every page.
async fn describe(aws: &AwsCloud, region: &str, names: Vec<String>) -> Alarms {
    let mut out = HashMap::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let pages = aws
            .clients
            .cloudwatch(region)
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws.fail("cloudwatch:DescribeAlarms", e))?;
        for page in pages {
            // Metric and composite alarms answer alike.
            let metric = page.metric_alarms().iter().map(|a| {
                (
                    a.alarm_name(),
                    a.state_value(),
                    a.state_reason(),
                    a.state_updated_timestamp(),
                )
            });
            let composite = page.composite_alarms().iter().map(|a| {
                (
                    a.alarm_name(),
                    a.state_value(),
                    a.state_reason(),
                    a.state_updated_timestamp(),
                )
            });
            for (name, value, reason, since) in metric.chain(composite) {
                let Some(name) = name else { continue };
                let state = AlarmState {
                    value: value
                        .map_or("INSUFFICIENT_DATA", |v| v.as_str())
                        .to_string(),
                    reason: reason.unwrap_or_default().to_string(),
                    since: since.and_then(time),
                };
                out.insert(name.to_string(), state);
            }
        }
    }
    Ok(out)
}

impl AwsCloud {
    /// `cloudwatch-alarm` resources of one region.
    pub(super) async fn alarms(
        &self,
        region: &str,
        group: &[Resource],
        memo: &AlarmMemo,
    ) -> Vec<Observation> {
        let account = group.first().and_then(|r| r.account.as_deref());
        let seen = memo.get(self, account, region).await;
        group
            .iter()
            .map(|r| {
                let status = match &seen {
                    Err(e) => Err(e.clone()),
                    Ok(all) => match all.get(&r.id) {
                        Some(a) => Ok(ResourceStatus {
                            health: a.health(),
                            state: a.describe(),
                            latest_recovery_point: None,
                        }),
                        None => Err(CloudError::NotFound(format!(
                            "CloudWatch alarm {} in {region}",
                            r.id
                        ))),
                    },
                };
                (r.name.clone(), status)
            })
            .collect()
    }

    /// Folds each resource's `alarms:` into its health: the worse of the two, and the alarm's
    /// state in the resource's state when it is not OK.
    pub(super) async fn with_alarms(
        &self,
        group: &[Resource],
        seen: &mut [Observation],
        memo: &AlarmMemo,
    ) {
        for (name, result) in seen.iter_mut() {
            let Some(r) = group.iter().find(|r| &r.name == name) else {
                continue;
            };
            if r.alarms.is_empty() {
                continue;
            }
            let Ok(status) = result.as_mut() else {
                continue;
            };
            let all = memo
                .get(self, r.account.as_deref(), &r.alarm_region())
                .await;
            for alarm in &r.alarms {
                let (health, note) = match all.as_ref().map(|a| a.get(alarm)) {
                    Ok(Some(a)) if a.value == "OK" => continue,
                    Ok(Some(a)) => (a.health(), format!("alarm {alarm} {}", a.describe())),
                    Ok(None) => (
                        Health::Unknown,
                        format!("alarm {alarm} not found in {}", r.alarm_region()),
                    ),
                    Err(e) => (Health::Unknown, format!("alarm {alarm}: {e}")),
                };
                status.health = status.health.worse(health);
                status.state = format!("{}; {note}", status.state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_states_map_to_health_and_say_why_and_since_when() {
        let a = AlarmState {
            value: "ALARM".into(),
            reason: "Threshold Crossed: 1 datapoint [12.0] was greater than 5.0".into(),
            since: DateTime::from_timestamp(1_764_400_000, 0),
        };
        assert_eq!(a.health(), Health::Unavailable);
        assert_eq!(
            a.describe(),
            "ALARM since 2025-11-29T07:06:40Z: Threshold Crossed: 1 datapoint [12.0] was greater than 5.0"
        );
        for (v, h) in [
            ("OK", Health::Ok),
            ("INSUFFICIENT_DATA", Health::Impaired),
            ("SOMETHING", Health::Unknown),
        ] {
            let s = AlarmState {
                value: v.into(),
                reason: String::new(),
                since: None,
            };
            assert_eq!(s.health(), h);
        }
        assert_eq!(Health::Ok.worse(Health::Impaired), Health::Impaired);
        assert_eq!(
            Health::Unavailable.worse(Health::Unknown),
            Health::Unavailable
        );
    }
}
