//! What each simulated change gives back: ids shaped like AWS's, derived from the request's
//! token so a resumed drill reproduces them.

use crate::runbook::catalogue::RESTORED_TO;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::world::{short_of, World};
use crate::model::ActionPlan;
use crate::runbook::params::{ActionParams, RestoreTime, Source};
use crate::runbook::{ActionKind, Resource};

pub(super) fn outputs_for(
    world: &mut World,
    plan: &ActionPlan,
    res: &Resource,
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    use ActionParams as P;
    let id = super::world::id_for(world, plan);
    let region = plan.region.clone().unwrap_or_else(|| "us-east-1".into());
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        out.insert(k.to_string(), v);
    };
    // The recovery point a restore named, or one made up for `latest`.
    let pick = |source: &Source<String>, key: &str, prefix: &str| match source {
        Source::Named(v) if !v.is_empty() => v.clone(),
        _ => format!("{prefix}{}", short_of(&format!("{}/{key}", res.id))),
    };
    let target = plan.params.target_name().cloned().unwrap_or_default();
    match &plan.params {
        P::StartInstances(_) => put("instance_id", res.id.clone()),
        P::LaunchFromAmi(_) => {
            put("instance_id", format!("i-{id}0"));
            put("availability_zone", format!("{region}a"));
            let b = u8::from_str_radix(&id[..2], 16).unwrap_or(10);
            put("private_ip", format!("10.0.{}.{}", b / 2, 10 + b / 4));
        }
        P::RestoreVolume(p) => {
            put("volume_id", format!("vol-{id}0"));
            put("snapshot_id", pick(&p.snapshot, "snapshot", "snap-"));
        }
        P::AttachVolume(p) => {
            put("volume_id", p.volume_id.clone());
            put("instance_id", p.instance_id.clone());
        }
        P::RdsRestoreSnapshot(p) => {
            put("endpoint", db_endpoint(&target, &id, &region));
            put("db_instance_id", target.clone());
            put("snapshot_id", pick(&p.snapshot, "snapshot", "rds:"));
        }
        P::RdsRestorePointInTime(p) => {
            put("endpoint", db_endpoint(&target, &id, &region));
            put("db_instance_id", target.clone());
            put(RESTORED_TO, restored_to(p.restore_time, now));
        }
        P::RdsPromoteReplica(p) => {
            put("endpoint", db_endpoint(&p.replica_id, &id, &region));
            put("db_instance_id", p.replica_id.clone());
        }
        P::DynamodbRestorePointInTime(_) | P::DynamodbRestoreBackup(_) => {
            put(
                "table_arn",
                format!("arn:aws:dynamodb:{region}:111122223333:table/{target}"),
            );
            put("table_name", target.clone());
            match &plan.params {
                P::DynamodbRestorePointInTime(p) => {
                    put(RESTORED_TO, restored_to(p.restore_time, now))
                }
                P::DynamodbRestoreBackup(p) => put(
                    "backup_arn",
                    pick(&p.backup, "backup", "arn:aws:dynamodb:backup/"),
                ),
                _ => {}
            }
        }
        P::BackupStartRestore(p) => {
            put("restore_job_id", format!("{}-{}", &id[..8], &id[8..]));
            put(
                "recovery_point_arn",
                pick(
                    &p.recovery_point,
                    "recovery_point",
                    "arn:aws:backup:recovery-point:",
                ),
            );
            let (arn, created) = match res.kind {
                crate::runbook::ResourceKind::EbsVolume => {
                    let v = format!("vol-{id}1");
                    (format!("arn:aws:ec2:{region}:111122223333:volume/{v}"), v)
                }
                crate::runbook::ResourceKind::Ec2Instance => {
                    let v = format!("i-{id}1");
                    (format!("arn:aws:ec2:{region}:111122223333:instance/{v}"), v)
                }
                crate::runbook::ResourceKind::DynamodbTable => {
                    let v = format!("{}-restored", res.id);
                    (
                        format!("arn:aws:dynamodb:{region}:111122223333:table/{v}"),
                        v,
                    )
                }
                _ => {
                    let v = p
                        .metadata
                        .get("DBInstanceIdentifier")
                        .cloned()
                        .unwrap_or_else(|| format!("{}-restored", res.id));
                    (format!("arn:aws:rds:{region}:111122223333:db:{v}"), v)
                }
            };
            put("created_resource_arn", arn);
            put("created_resource_id", created);
        }
        P::RedshiftRestoreSnapshot(p) => {
            put(
                "endpoint",
                format!("{target}.c{}.{region}.redshift.amazonaws.com", &id[..10]),
            );
            put("cluster_id", target.clone());
            put("snapshot_id", pick(&p.snapshot, "snapshot", "rs:"));
        }
        P::CloudformationDeploy(p) => {
            let stack = p.stack_name.clone().unwrap_or_else(|| res.id.clone());
            let tail = format!("{}-{}-{}", &id[..8], &id[8..12], &id[12..16]);
            put(
                "stack_id",
                format!("arn:aws:cloudformation:{region}:111122223333:stack/{stack}/{tail}"),
            );
            put(
                "change_set_id",
                format!(
                    "arn:aws:cloudformation:{region}:111122223333:changeSet/{}/{tail}",
                    plan.token
                ),
            );
        }
        P::SnsPublish(_) => put(
            "message_id",
            format!("{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[..12]),
        ),
        P::SetTrafficDial(_)
        | P::SetEndpointWeights(_)
        | P::SetRecordWeights(_)
        | P::UpsertRecord(_) => {
            let previous = apply_traffic(world, plan);
            let key = match plan.action {
                ActionKind::GaSetTrafficDial => "previous_dial",
                ActionKind::Route53UpsertRecord => "previous_values",
                _ => "previous_weights",
            };
            put(key, previous);
            if matches!(
                plan.action,
                ActionKind::Route53SetWeights | ActionKind::Route53UpsertRecord
            ) {
                put("change_id", format!("C{}", id.to_uppercase()));
            }
        }
    }
    out
}

fn db_endpoint(name: &str, id: &str, region: &str) -> String {
    format!("{name}.c{id}.{region}.rds.amazonaws.com")
}

fn restored_to(restore_time: RestoreTime, now: DateTime<Utc>) -> String {
    match restore_time {
        RestoreTime::Latest => {
            (now - chrono::TimeDelta::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
        at => at.to_string(),
    }
}

/// JSON text, keys in order (as a journal shows them).
fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// What a cutover sets: the world's traffic key, the new value and the value before any change.
pub(super) fn traffic_setting(plan: &ActionPlan) -> Option<(String, String, String)> {
    Some(match &plan.params {
        ActionParams::SetTrafficDial(p) => (
            format!("dial/{}", p.endpoint_group_region),
            p.dial.to_string(),
            "100".to_string(),
        ),
        ActionParams::SetEndpointWeights(p) => (
            format!("weights/{}", p.endpoint_group_region),
            json(&p.weights),
            "{}".to_string(),
        ),
        ActionParams::SetRecordWeights(p) => {
            ("weights".to_string(), json(&p.weights), "{}".to_string())
        }
        ActionParams::UpsertRecord(p) => ("values".to_string(), json(&p.values), "[]".to_string()),
        _ => return None,
    })
}

/// Applies a cutover to the world's traffic settings and returns what they were before.
pub(super) fn apply_traffic(world: &mut World, plan: &ActionPlan) -> String {
    let Some((key, value, default)) = traffic_setting(plan) else {
        return String::new();
    };
    world
        .traffic
        .insert((plan.target.clone(), key), value)
        .unwrap_or(default)
}

/// A cutover's before -> after as the world stands, in the words of the AWS backend's preview.
pub(super) fn traffic_preview(world: &World, plan: &ActionPlan) -> Option<String> {
    let (key, after, default) = traffic_setting(plan)?;
    let known = world.traffic.get(&(plan.target.clone(), key)).cloned();
    if let ActionParams::SetTrafficDial(p) = &plan.params {
        return Some(format!(
            "traffic dial of {}: {}% -> {after}%",
            p.endpoint_group_region,
            known.unwrap_or(default)
        ));
    }
    // Weights and values the runbook does not say (no fixed inverse) and the drill has not set.
    let before = known.unwrap_or_else(|| "(not known to the drill)".to_string());
    Some(match plan.action {
        ActionKind::Route53UpsertRecord => format!("values: {before} -> {after}"),
        _ => format!("weights: {before} -> {after}"),
    })
}
