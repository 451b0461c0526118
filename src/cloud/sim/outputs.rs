//! What each simulated change gives back: ids shaped like AWS's, derived from the request's
//! token so a resumed drill reproduces them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::world::{short_of, World};
use crate::model::ActionPlan;
use crate::runbook::{ActionKind, Resource};

pub(super) fn outputs_for(
    world: &mut World,
    plan: &ActionPlan,
    res: &Resource,
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let id = super::world::id_for(world, plan);
    let region = plan.region.clone().unwrap_or_else(|| "us-east-1".into());
    let p = |k: &str| plan.param(k).unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        out.insert(k.to_string(), v);
    };
    let pick = |k: &str, prefix: &str| {
        let v = p(k);
        if v == "latest" || v.is_empty() {
            format!("{prefix}{}", short_of(&format!("{}/{k}", res.id)))
        } else {
            v
        }
    };
    match plan.action {
        ActionKind::Ec2StartInstances => put("instance_id", res.id.clone()),
        ActionKind::Ec2LaunchFromAmi => {
            put("instance_id", format!("i-{id}0"));
            put("availability_zone", format!("{region}a"));
            let b = u8::from_str_radix(&id[..2], 16).unwrap_or(10);
            put("private_ip", format!("10.0.{}.{}", b / 2, 10 + b / 4));
        }
        ActionKind::EbsRestoreVolume => {
            put("volume_id", format!("vol-{id}0"));
            put("snapshot_id", pick("snapshot", "snap-"));
        }
        ActionKind::EbsAttachVolume => {
            put("volume_id", p("volume_id"));
            put("instance_id", p("instance_id"));
        }
        ActionKind::RdsRestoreSnapshot | ActionKind::RdsRestorePointInTime => {
            let target = p("target_id");
            put(
                "endpoint",
                format!("{target}.c{id}.{region}.rds.amazonaws.com"),
            );
            put("db_instance_id", target);
            if plan.action == ActionKind::RdsRestoreSnapshot {
                put("snapshot_id", pick("snapshot", "rds:"));
            } else {
                put("restored_to", restored_to(&p("restore_time"), now));
            }
        }
        ActionKind::RdsPromoteReplica => {
            let replica = p("replica_id");
            put(
                "endpoint",
                format!("{replica}.c{id}.{region}.rds.amazonaws.com"),
            );
            put("db_instance_id", replica);
        }
        ActionKind::DynamodbRestorePointInTime | ActionKind::DynamodbRestoreBackup => {
            let table = p("target_table");
            put(
                "table_arn",
                format!("arn:aws:dynamodb:{region}:111122223333:table/{table}"),
            );
            put("table_name", table);
            if plan.action == ActionKind::DynamodbRestorePointInTime {
                put("restored_to", restored_to(&p("restore_time"), now));
            } else {
                put("backup_arn", pick("backup", "arn:aws:dynamodb:backup/"));
            }
        }
        ActionKind::BackupStartRestore => {
            put("restore_job_id", format!("{}-{}", &id[..8], &id[8..]));
            put(
                "recovery_point_arn",
                pick("recovery_point", "arn:aws:backup:recovery-point:"),
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
                    let v = plan
                        .params
                        .get("metadata")
                        .and_then(|m| m.get("DBInstanceIdentifier"))
                        .and_then(|v| v.as_str())
                        .map_or_else(|| format!("{}-restored", res.id), str::to_string);
                    (format!("arn:aws:rds:{region}:111122223333:db:{v}"), v)
                }
            };
            put("created_resource_arn", arn);
            put("created_resource_id", created);
        }
        ActionKind::GaSetTrafficDial
        | ActionKind::GaSetEndpointWeights
        | ActionKind::Route53SetWeights
        | ActionKind::Route53UpsertRecord => {
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

fn restored_to(restore_time: &str, now: DateTime<Utc>) -> String {
    if restore_time == "latest" {
        (now - chrono::TimeDelta::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    } else {
        restore_time.to_string()
    }
}

/// What a cutover sets: the world's traffic key, the new value and the value before any change.
fn traffic_setting(plan: &ActionPlan) -> Option<(String, String, String)> {
    let json = |key: &str| {
        plan.params
            .get(key)
            .map(|w| w.to_string())
            .unwrap_or_default()
    };
    let region = plan.param("endpoint_group_region").unwrap_or_default();
    Some(match plan.action {
        ActionKind::GaSetTrafficDial => (
            format!("dial/{region}"),
            plan.param("dial").unwrap_or_default(),
            "100".to_string(),
        ),
        ActionKind::GaSetEndpointWeights => (
            format!("weights/{region}"),
            json("weights"),
            "{}".to_string(),
        ),
        ActionKind::Route53SetWeights => ("weights".to_string(), json("weights"), "{}".to_string()),
        ActionKind::Route53UpsertRecord => ("values".to_string(), json("values"), "[]".to_string()),
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
    if plan.action == ActionKind::GaSetTrafficDial {
        return Some(format!(
            "traffic dial of {}: {}% -> {after}%",
            plan.param("endpoint_group_region").unwrap_or_default(),
            known.unwrap_or(default)
        ));
    }
    // The simulated world knows weights and values only once the drill has set them.
    let before = known.unwrap_or_else(|| "(as the drill began)".to_string());
    Some(match plan.action {
        ActionKind::Route53UpsertRecord => format!("values: {before} -> {after}"),
        _ => format!("weights: {before} -> {after}"),
    })
}
