//! Batched reads of the data resources (EC2, EBS, RDS, DynamoDB), one group per (kind, region),
//! each group answering on its own.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, Stream};

use super::observe_alarms::AlarmMemo;
use super::pace::Look;
use super::resolve::{self, BackupMemo};
use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, RecoveryPoint, RecoveryPointKind, ResourceStatus};
use crate::runbook::{Health, Resource, ResourceKind};

/// The service that answers for a resource's kind, and where.
pub(super) fn service_of(r: &Resource) -> String {
    let service = match r.kind {
        ResourceKind::Ec2Instance | ResourceKind::EbsVolume => "ec2",
        ResourceKind::RdsInstance => "rds",
        ResourceKind::DynamodbTable => "dynamodb",
        ResourceKind::GlobalAccelerator => return "globalaccelerator".into(),
        ResourceKind::Route53Record => return "route53".into(),
        ResourceKind::CloudwatchAlarm => "cloudwatch",
        ResourceKind::RedshiftCluster => "redshift",
        ResourceKind::CloudformationStack => "cloudformation",
        ResourceKind::SnsTopic => "sns",
    };
    format!("{service} in {}", r.region.as_deref().unwrap_or("?"))
}

/// A look at `r` that did not finish within `bound`.
fn no_answer(r: &Resource, bound: std::time::Duration) -> CloudError {
    CloudError::Api {
        code: "NoAnswer".into(),
        message: format!(
            "no answer from {} within {}s; the region may be impaired",
            service_of(r),
            bound.as_secs_f64().ceil()
        ),
    }
}

/// AWS takes at most this many ids or filter values in one call.
pub(super) const CHUNK: usize = 100;

impl AwsCloud {
    /// One future per (kind, region) group; each yields its resources' observations within
    /// the operation timeout, however many calls the group takes: a group that has not answered
    /// by then is "no answer", naming the service and region, so one look is bounded whatever is
    /// silent.
    pub(super) fn batches(
        &self,
        resources: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Vec<Observation>> + Send + '_ {
        let memo = std::sync::Arc::new(BackupMemo::default());
        let alarms = std::sync::Arc::new(AlarmMemo::for_resources(&resources));
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
            // Each account's resources are looked at through its own clients.
            let key = (
                format!("{}@{}", key.0, r.account.clone().unwrap_or_default()),
                key.1,
            );
            groups.entry(key).or_default().push(r);
        }
        let bound = self.clients.timeouts().operation;
        groups
            .into_values()
            .map(|group| {
                let memo = memo.clone();
                let alarms = alarms.clone();
                async move {
                    let silent: HashMap<String, CloudError> = group
                        .iter()
                        .map(|r| (r.name.clone(), no_answer(r, bound)))
                        .collect();
                    match tokio::time::timeout(
                        bound,
                        self.for_account(group.first().and_then(|r| r.account.as_deref()))
                            .group(group, Look { now, fresh: false }, &memo, &alarms),
                    )
                    .await
                    {
                        // A call's own timeout says which service and region too.
                        Ok(seen) => seen
                            .into_iter()
                            .map(|(n, r)| {
                                let r = match (r, silent.get(&n)) {
                                    (Err(CloudError::Timeout(_)), Some(e)) => Err(e.clone()),
                                    (r, _) => r,
                                };
                                (n, r)
                            })
                            .collect(),
                        Err(_) => silent.into_iter().map(|(n, e)| (n, Err(e))).collect(),
                    }
                }
                .boxed()
            })
            .collect::<FuturesUnordered<_>>()
    }

    /// Observes resources of one kind in one region.
    pub(super) async fn observe_group(
        &self,
        group: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> Vec<Observation> {
        let alarms = AlarmMemo::for_resources(&group);
        let cloud = self.for_account(group.first().and_then(|r| r.account.as_deref()));
        cloud
            .group(
                group,
                Look { now, fresh: true },
                &BackupMemo::default(),
                &alarms,
            )
            .await
    }

    async fn group(
        &self,
        group: Vec<Resource>,
        look: Look,
        memo: &BackupMemo,
        alarms: &AlarmMemo,
    ) -> Vec<Observation> {
        let Some(first) = group.first() else {
            return Vec::new();
        };
        let region = first.region.clone().unwrap_or_default();
        let (main, backups) = futures_util::join!(
            self.kind_group(first.kind, &region, &group, look, alarms),
            self.backup_points(&group, memo, look)
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
        self.with_alarms(&group, &mut main, alarms).await;
        main
    }

    async fn kind_group(
        &self,
        kind: ResourceKind,
        region: &str,
        group: &[Resource],
        look: Look,
        alarms: &AlarmMemo,
    ) -> Vec<Observation> {
        match kind {
            ResourceKind::CloudwatchAlarm => self.alarms(region, group, alarms).await,
            ResourceKind::Ec2Instance => self.instances(region, group).await,
            ResourceKind::EbsVolume => self.volumes(region, group, look).await,
            ResourceKind::RdsInstance => self.databases(region, group, look).await,
            ResourceKind::DynamodbTable => self.tables(region, group, look).await,
            ResourceKind::RedshiftCluster => self.clusters(region, group).await,
            ResourceKind::CloudformationStack => self.stacks(region, group).await,
            ResourceKind::SnsTopic => self.topics(region, group).await,
            // One group per accelerator or record, each a few calls in turn: the group takes
            // one of the service's slots.
            ResourceKind::GlobalAccelerator => {
                let _slot = self.limits.permit("globalaccelerator", "global").await;
                self.accelerators(group).await
            }
            ResourceKind::Route53Record => {
                let _slot = self.limits.permit("route53", "global").await;
                self.records(group).await
            }
        }
    }

    /// The newest AWS Backup recovery point of each resource that names a vault.
    async fn backup_points(
        &self,
        group: &[Resource],
        memo: &BackupMemo,
        look: Look,
    ) -> HashMap<String, Result<Option<RecoveryPoint>, CloudError>> {
        let mut out = HashMap::new();
        for r in group {
            let Some(b) = &r.backup else { continue };
            let points = memo.get(self, b, look).await;
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

pub(super) fn all_failed(group: &[Resource], err: CloudError) -> Vec<Observation> {
    group
        .iter()
        .map(|r| (r.name.clone(), Err(err.clone())))
        .collect()
}

pub(super) fn collect(
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
