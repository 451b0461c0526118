//! Reads of the data platform and the stacks: Redshift clusters with their newest snapshots
//! (one paginated read of each per region), CloudFormation stacks (one paginated
//! DescribeStacks per region) and SNS topics.

use std::collections::HashMap;

use super::observe::{all_failed, collect, noted};
use super::resolve::{self, Newest};
use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, RecoveryPoint, RecoveryPointKind, ResourceStatus};
use crate::runbook::{Health, Resource};

/// A Redshift cluster's health from its status.
pub(super) fn cluster_health(status: &str) -> Health {
    match status {
        s if s.starts_with("available") => Health::Ok,
        "creating" | "modifying" | "rebooting" | "renaming" | "resizing" | "rotating-keys"
        | "updating-hsm" | "cancelling-resize" | "storage-full" | "resuming" | "pausing" => {
            Health::Impaired
        }
        _ => Health::Unavailable,
    }
}

/// A stack's health from its status: running as its template says, changing (or running, but
/// its last change failed), or gone.
pub(super) fn stack_health(status: &str) -> Health {
    match status {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => Health::Ok,
        "REVIEW_IN_PROGRESS" | "UPDATE_ROLLBACK_COMPLETE" => Health::Impaired,
        s if s.ends_with("_IN_PROGRESS") => Health::Impaired,
        _ => Health::Unavailable,
    }
}

/// A stack's status with its reason, when CloudFormation gives one.
pub(super) fn stack_state(status: &str, reason: Option<&str>) -> String {
    match reason.filter(|r| !r.is_empty()) {
        Some(r) => format!("{status}: {r}"),
        None => status.to_string(),
    }
}

impl AwsCloud {
    pub(super) async fn clusters(&self, region: &str, group: &[Resource]) -> Vec<Observation> {
        let client = self.clients.redshift(region);
        let (clusters, snapshots) = futures_util::join!(
            client
                .describe_clusters()
                .into_paginator()
                .send()
                .try_collect(),
            self.cluster_snapshots(region, None),
        );
        let pages = match clusters {
            Ok(p) => p,
            Err(e) => return all_failed(group, self.fail("redshift:DescribeClusters", e)),
        };
        let mut found = HashMap::new();
        for c in pages.iter().flat_map(|p| p.clusters()) {
            let id = c.cluster_identifier().unwrap_or_default().to_lowercase();
            let status = c.cluster_status().unwrap_or("unknown").to_string();
            let point = snapshots.as_ref().ok().and_then(|s| s.get(&id));
            found.insert(
                id.clone(),
                ResourceStatus {
                    health: cluster_health(&status),
                    state: noted(&status, snapshots.as_ref().err()),
                    latest_recovery_point: point.map(|(snap, at)| RecoveryPoint {
                        id: snap.clone(),
                        at: *at,
                        kind: RecoveryPointKind::Snapshot,
                    }),
                },
            );
        }
        let lower: Vec<Resource> = group
            .iter()
            .map(|r| Resource {
                id: r.id.to_lowercase(),
                ..r.clone()
            })
            .collect();
        collect(&lower, found, |r| {
            format!("Redshift cluster {} in {region}", r.id)
        })
    }

    /// The newest available snapshot (automated or manual) of each cluster in `region`, or of
    /// one cluster: (snapshot id, creation time) by cluster id in lower case.
    pub(super) async fn cluster_snapshots(
        &self,
        region: &str,
        cluster: Option<&str>,
    ) -> Result<Newest, CloudError> {
        let pages = self
            .clients
            .redshift(region)
            .describe_cluster_snapshots()
            .set_cluster_identifier(cluster.map(str::to_string))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.fail("redshift:DescribeClusterSnapshots", e))?;
        let mut newest = Newest::new();
        for s in pages.iter().flat_map(|p| p.snapshots()) {
            let (Some(owner), Some(id), Some(at)) = (
                s.cluster_identifier(),
                s.snapshot_identifier(),
                s.snapshot_create_time().and_then(resolve::time),
            ) else {
                continue;
            };
            if s.status() != Some("available") {
                continue;
            }
            resolve::keep_newest(&mut newest, owner.to_lowercase(), id.to_string(), at);
        }
        Ok(newest)
    }

    pub(super) async fn stacks(&self, region: &str, group: &[Resource]) -> Vec<Observation> {
        let pages = self
            .clients
            .cloudformation(region)
            .describe_stacks()
            .into_paginator()
            .send()
            .try_collect()
            .await;
        let pages = match pages {
            Ok(p) => p,
            Err(e) => return all_failed(group, self.fail("cloudformation:DescribeStacks", e)),
        };
        let mut found = HashMap::new();
        for s in pages.iter().flat_map(|p| p.stacks()) {
            let status = s.stack_status().map_or("unknown", |x| x.as_str());
            found.insert(
                s.stack_name().unwrap_or_default().to_string(),
                ResourceStatus {
                    health: stack_health(status),
                    state: stack_state(status, s.stack_status_reason()),
                    latest_recovery_point: None,
                },
            );
        }
        // A stack that does not exist (or was deleted) is listed by no page: unavailable.
        group
            .iter()
            .map(|r| {
                let status = found.get(&r.id).cloned().unwrap_or(ResourceStatus {
                    health: Health::Unavailable,
                    state: format!("no stack {} in {region}", r.id),
                    latest_recovery_point: None,
                });
                (r.name.clone(), Ok(status))
            })
            .collect()
    }

    pub(super) async fn topics(&self, region: &str, group: &[Resource]) -> Vec<Observation> {
        let client = self.clients.sns(region);
        let mut out = Vec::new();
        for r in group {
            let answer = self
                .limits
                .read("sns", region, || async {
                    let call = client.get_topic_attributes().topic_arn(&r.id).send();
                    call.await
                        .map_err(|e| self.fail("sns:GetTopicAttributes", e))
                })
                .await;
            let status = match answer {
                Ok(a) => {
                    let attrs = a.attributes();
                    let confirmed = attrs.and_then(|m| m.get("SubscriptionsConfirmed"));
                    Ok(ResourceStatus {
                        health: Health::Ok,
                        state: format!(
                            "exists; {} confirmed subscription(s)",
                            confirmed.map_or("?", String::as_str)
                        ),
                        latest_recovery_point: None,
                    })
                }
                Err(CloudError::NotFound(_)) => Ok(ResourceStatus {
                    health: Health::Unavailable,
                    state: "no such topic".into(),
                    latest_recovery_point: None,
                }),
                Err(other) => Err(other),
            };
            out.push((r.name.clone(), status));
        }
        out
    }
}
