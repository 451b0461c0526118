//! Batched reads of EC2 instances and EBS volumes: one DescribeInstanceStatus or DescribeVolumes
//! per region and 100 ids. A batch AWS refuses because of one of its ids is split until the bad
//! id stands alone, so one bad id never blinds the rest of its region.

use std::collections::HashMap;

use super::observe::{all_failed, collect, noted, CHUNK};
use super::pace::Look;
use super::resolve;
use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, RecoveryPoint, RecoveryPointKind, ResourceStatus};
use crate::runbook::{Health, Resource};

impl AwsCloud {
    pub(super) async fn instances(&self, region: &str, group: &[Resource]) -> Vec<Observation> {
        let mut found: HashMap<String, Result<ResourceStatus, CloudError>> = HashMap::new();
        // Batches still to ask about. A batch AWS refuses because of one of its ids (a malformed
        // or unknown id, an answer that cannot be read) is split until the bad id stands alone,
        // so one bad id never blinds the rest of its region.
        let mut batches: Vec<Vec<String>> = group
            .chunks(CHUNK)
            .map(|c| c.iter().map(|r| r.id.clone()).collect())
            .collect();
        while let Some(mut ids) = batches.pop() {
            match self.instance_statuses(region, &ids).await {
                Ok(statuses) => {
                    for id in ids {
                        let status = statuses.get(&id).cloned().ok_or_else(|| {
                            CloudError::NotFound(format!("EC2 instance {id} in {region}"))
                        });
                        found.insert(id, status);
                    }
                }
                Err(err) => {
                    let gone = named_ids(&err, "i-", &ids);
                    if !gone.is_empty() {
                        ids.retain(|i| !gone.contains(i));
                        for id in gone {
                            let e = CloudError::NotFound(format!("EC2 instance {id} in {region}"));
                            found.insert(id, Err(e));
                        }
                        batches.push(ids);
                    } else if ids.len() > 1 && about_an_id(&err) {
                        let rest = ids.split_off(ids.len() / 2);
                        batches.push(ids);
                        batches.push(rest);
                    } else {
                        for id in ids {
                            found.insert(id, Err(err.clone()));
                        }
                    }
                }
            }
        }
        group
            .iter()
            .map(|r| {
                let result = found.get(&r.id).cloned().unwrap_or_else(|| {
                    Err(CloudError::NotFound(format!(
                        "EC2 instance {} in {region}",
                        r.id
                    )))
                });
                (r.name.clone(), result)
            })
            .collect()
    }

    /// One DescribeInstanceStatus (all pages) of `ids`.
    async fn instance_statuses(
        &self,
        region: &str,
        ids: &[String],
    ) -> Result<HashMap<String, ResourceStatus>, CloudError> {
        let pages = self
            .clients
            .ec2(region)
            .describe_instance_status()
            .set_instance_ids(Some(ids.to_vec()))
            .include_all_instances(true)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.fail("ec2:DescribeInstanceStatus", e))?;
        let mut found = HashMap::new();
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
        Ok(found)
    }

    pub(super) async fn volumes(
        &self,
        region: &str,
        group: &[Resource],
        look: Look,
    ) -> Vec<Observation> {
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
                self.slow.snapshots.get(
                    format!("{region}|{}", ids.join(",")),
                    look,
                    resolve::snapshots_of(self, region, &ids)
                )
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

/// Whether AWS refused a batch read because of what it was asked about (an id it cannot
/// parse, an answer the SDK could not read), rather than who asked or whether AWS answers.
fn about_an_id(err: &CloudError) -> bool {
    match err {
        CloudError::NotFound(_) => true,
        CloudError::Api { code, .. } => {
            !err.is_no_answer()
                && (code == "Unknown"
                    || code.contains("Malformed")
                    || code.starts_with("InvalidParameter")
                    || code.starts_with("InvalidInstanceID"))
        }
        _ => false,
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
