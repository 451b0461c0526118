//! Batched reads of the data resources (EC2, EBS, RDS, DynamoDB), one group per (kind, region),
//! each group answering on its own.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, Stream};

use super::resolve::{self, BackupMemo};
use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, RecoveryPoint, RecoveryPointKind, ResourceStatus};
use crate::runbook::{Health, Resource, ResourceKind};

/// AWS takes at most this many ids or filter values in one call.
pub(super) const CHUNK: usize = 100;

impl AwsCloud {
    /// One future per (kind, region) group; each yields its resources' observations.
    pub(super) fn batches(
        &self,
        resources: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Vec<Observation>> + Send + '_ {
        let memo = std::sync::Arc::new(BackupMemo::default());
        let mut groups: BTreeMap<(String, String), Vec<Resource>> = BTreeMap::new();
        for r in resources {
            let region = r.region.clone().unwrap_or_default();
            let key = match r.kind {
                // One group per accelerator or record name: they have no batch read.
                ResourceKind::GlobalAccelerator => (r.kind.name().to_string(), r.id.clone()),
                ResourceKind::Route53Record => {
                    let rec = r.record.as_ref();
                    let key = rec.map_or_else(
                        || r.id.clone(),
                        |x| format!("{}|{}|{}", x.zone, x.name.to_lowercase(), x.record_type),
                    );
                    (r.kind.name().to_string(), key)
                }
                k => (k.name().to_string(), region),
            };
            groups.entry(key).or_default().push(r);
        }
        groups
            .into_values()
            .map(|group| {
                let memo = memo.clone();
                async move { self.group(group, now, &memo).await }.boxed()
            })
            .collect::<FuturesUnordered<_>>()
    }

    /// Observes resources of one kind in one region.
    pub(super) async fn observe_group(
        &self,
        group: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> Vec<Observation> {
        self.group(group, now, &BackupMemo::default()).await
    }

    async fn group(
        &self,
        group: Vec<Resource>,
        now: DateTime<Utc>,
        memo: &BackupMemo,
    ) -> Vec<Observation> {
        let Some(first) = group.first() else {
            return Vec::new();
        };
        let region = first.region.clone().unwrap_or_default();
        let (main, backups) = futures_util::join!(
            self.kind_group(first.kind, &region, &group, now),
            self.backup_points(&group, memo)
        );
        let mut main = main;
        for (name, result) in &mut main {
            if let (Ok(status), Some(Err(e))) = (result.as_mut(), backups.get(name)) {
                status.state = noted(&status.state, Some(e));
            }
            if let (Ok(status), Some(Ok(Some(rp)))) = (result.as_mut(), backups.get(name)) {
                if status
                    .latest_recovery_point
                    .as_ref()
                    .is_none_or(|p| p.at < rp.at)
                {
                    status.latest_recovery_point = Some(rp.clone());
                }
            }
        }
        main
    }

    async fn kind_group(
        &self,
        kind: ResourceKind,
        region: &str,
        group: &[Resource],
        now: DateTime<Utc>,
    ) -> Vec<Observation> {
        let _ = now;
        match kind {
            ResourceKind::Ec2Instance => self.instances(region, group).await,
            ResourceKind::EbsVolume => self.volumes(region, group).await,
            ResourceKind::RdsInstance => self.databases(region, group).await,
            ResourceKind::DynamodbTable => self.tables(region, group).await,
            ResourceKind::GlobalAccelerator => self.accelerators(group).await,
            ResourceKind::Route53Record => self.records(group).await,
        }
    }

    /// The newest AWS Backup recovery point of each resource that names a vault.
    async fn backup_points(
        &self,
        group: &[Resource],
        memo: &BackupMemo,
    ) -> HashMap<String, Result<Option<RecoveryPoint>, CloudError>> {
        let mut out = HashMap::new();
        for r in group {
            let Some(b) = &r.backup else { continue };
            let points = memo.get(self, b).await;
            let newest = points.map(|ps| {
                ps.iter()
                    .filter(|p| resolve::backup_matches(r, &p.resource_arn))
                    .max_by_key(|p| p.created)
                    .map(|p| RecoveryPoint {
                        id: p.arn.clone(),
                        at: p.created,
                        kind: if Some(b.region.as_str()) == r.region.as_deref() {
                            RecoveryPointKind::Backup
                        } else {
                            RecoveryPointKind::BackupCopy
                        },
                    })
            });
            out.insert(r.name.clone(), newest);
        }
        out
    }

    async fn instances(&self, region: &str, group: &[Resource]) -> Vec<Observation> {
        let client = self.clients.ec2(region);
        let mut found: HashMap<String, ResourceStatus> = HashMap::new();
        let mut missing: Vec<String> = Vec::new();
        for chunk in group.chunks(CHUNK) {
            let mut ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
            // Ids that do not exist fail the whole call; drop them (named in the error) and ask
            // again, at most once per id.
            for _ in 0..=ids.len() {
                if ids.is_empty() {
                    break;
                }
                let answer = client
                    .describe_instance_status()
                    .set_instance_ids(Some(ids.clone()))
                    .include_all_instances(true)
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await;
                match answer {
                    Ok(pages) => {
                        for s in pages.iter().flat_map(|p| p.instance_statuses()) {
                            let id = s.instance_id().unwrap_or_default().to_string();
                            let state = s
                                .instance_state()
                                .and_then(|x| x.name())
                                .map_or("unknown", |n| n.as_str())
                                .to_string();
                            let checks = [s.system_status(), s.instance_status()]
                                .into_iter()
                                .flatten()
                                .filter_map(|c| c.status().map(|x| x.as_str().to_string()))
                                .collect::<Vec<_>>();
                            found.insert(id, instance_status(&state, &checks));
                        }
                        break;
                    }
                    Err(e) => {
                        let err = self.fail("ec2:DescribeInstanceStatus", e);
                        let gone = named_ids(&err, "i-", &ids);
                        if gone.is_empty() {
                            return group
                                .iter()
                                .map(|r| (r.name.clone(), Err(err.clone())))
                                .collect();
                        }
                        ids.retain(|i| !gone.contains(i));
                        missing.extend(gone);
                    }
                }
            }
        }
        group
            .iter()
            .map(|r| {
                let result = found.get(&r.id).cloned().ok_or_else(|| {
                    CloudError::NotFound(format!("EC2 instance {} in {region}", r.id))
                });
                (r.name.clone(), result)
            })
            .collect()
    }

    async fn volumes(&self, region: &str, group: &[Resource]) -> Vec<Observation> {
        let client = self.clients.ec2(region);
        let mut found: HashMap<String, ResourceStatus> = HashMap::new();
        for chunk in group.chunks(CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
            let filter = aws_sdk_ec2::types::Filter::builder()
                .name("volume-id")
                .set_values(Some(ids.clone()))
                .build();
            let (volumes, snapshots) = futures_util::join!(
                client
                    .describe_volumes()
                    .filters(filter)
                    .into_paginator()
                    .send()
                    .try_collect(),
                resolve::snapshots_of(self, region, &ids)
            );
            let volumes = match volumes {
                Ok(v) => v,
                Err(e) => return all_failed(group, self.fail("ec2:DescribeVolumes", e)),
            };
            for v in volumes.iter().flat_map(|p| p.volumes()) {
                let id = v.volume_id().unwrap_or_default().to_string();
                let state = v.state().map_or("unknown", |s| s.as_str()).to_string();
                let health = match state.as_str() {
                    "available" | "in-use" => Health::Ok,
                    "creating" => Health::Impaired,
                    _ => Health::Unavailable,
                };
                let state = noted(&state, snapshots.as_ref().err());
                let rp = snapshots
                    .as_ref()
                    .ok()
                    .and_then(|s| s.get(&id))
                    .map(|(snap, at)| RecoveryPoint {
                        id: snap.clone(),
                        at: *at,
                        kind: RecoveryPointKind::Snapshot,
                    });
                found.insert(
                    id,
                    ResourceStatus {
                        health,
                        state,
                        latest_recovery_point: rp,
                    },
                );
            }
        }
        collect(group, found, |r| format!("EBS volume {} in {region}", r.id))
    }
}

fn instance_status(state: &str, checks: &[String]) -> ResourceStatus {
    let impaired = checks.iter().any(|c| c == "impaired");
    let health = match state {
        "running" if impaired => Health::Impaired,
        "running" | "stopped" => Health::Ok,
        "pending" | "stopping" => Health::Impaired,
        _ => Health::Unavailable,
    };
    let state = if impaired {
        format!("{state} (status checks impaired)")
    } else {
        state.to_string()
    };
    ResourceStatus {
        health,
        state,
        latest_recovery_point: None,
    }
}

pub(super) fn db_health(state: &str) -> Health {
    match state {
        "available"
        | "backing-up"
        | "modifying"
        | "configuring-enhanced-monitoring"
        | "configuring-log-exports"
        | "renaming"
        | "resetting-master-credentials"
        | "storage-optimization"
        | "upgrading"
        | "maintenance" => Health::Ok,
        "creating" | "rebooting" | "starting" | "stopping" | "moving-to-vpc" | "storage-full"
        | "converting-to-vpc" => Health::Impaired,
        _ => Health::Unavailable,
    }
}

/// Ids (with `prefix`) that an error message names, among those asked for.
fn named_ids(err: &CloudError, prefix: &str, asked: &[String]) -> Vec<String> {
    let CloudError::NotFound(message) = err else {
        return Vec::new();
    };
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with(prefix) && asked.iter().any(|a| a == w))
        .map(str::to_string)
        .collect()
}

pub(super) fn all_failed(group: &[Resource], err: CloudError) -> Vec<Observation> {
    group
        .iter()
        .map(|r| (r.name.clone(), Err(err.clone())))
        .collect()
}

fn collect(
    group: &[Resource],
    found: HashMap<String, ResourceStatus>,
    missing: impl Fn(&Resource) -> String,
) -> Vec<Observation> {
    group
        .iter()
        .map(|r| {
            let result = found
                .get(&r.id)
                .cloned()
                .ok_or_else(|| CloudError::NotFound(missing(r)));
            (r.name.clone(), result)
        })
        .collect()
}

/// The provider's state, with why the recovery points are not known when they are not.
pub(super) fn noted(state: &str, err: Option<&CloudError>) -> String {
    match err {
        Some(e) => format!("{state}; recovery points unknown: {e}"),
        None => state.to_string(),
    }
}
