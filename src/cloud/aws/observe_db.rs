//! Batched reads of the databases: RDS instances and their snapshots per region, DynamoDB
//! tables (which have no batch read) with their PITR windows and on-demand backups.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::observe::{all_failed, db_health, noted, CHUNK};
use super::pace::Look;
use super::resolve;
use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, RecoveryPoint, RecoveryPointKind, ResourceStatus};
use crate::runbook::{Health, Resource};

impl AwsCloud {
    pub(super) async fn databases(
        &self,
        region: &str,
        group: &[Resource],
        look: Look,
    ) -> Vec<Observation> {
        let client = self.clients.rds(region);
        let mut found: HashMap<String, ResourceStatus> = HashMap::new();
        for chunk in group.chunks(CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|r| r.id.to_lowercase()).collect();
            let filter = aws_sdk_rds::types::Filter::builder()
                .name("db-instance-id")
                .set_values(Some(ids.clone()))
                .build();
            let (instances, snapshots) = futures_util::join!(
                client
                    .describe_db_instances()
                    .filters(filter)
                    .into_paginator()
                    .send()
                    .try_collect(),
                self.slow.db_snapshots.get(
                    format!("{region}|{}", ids.join(",")),
                    look,
                    resolve::db_snapshots_of(self, region, &ids)
                )
            );
            let instances = match instances {
                Ok(v) => v,
                Err(e) => return all_failed(group, self.fail("rds:DescribeDBInstances", e)),
            };
            for db in instances.iter().flat_map(|p| p.db_instances()) {
                let id = db
                    .db_instance_identifier()
                    .unwrap_or_default()
                    .to_lowercase();
                let state = db.db_instance_status().unwrap_or("unknown").to_string();
                let noted_state = noted(&state, snapshots.as_ref().err());
                let pitr = db
                    .latest_restorable_time()
                    .and_then(resolve::time)
                    .map(|at| RecoveryPoint {
                        id: format!("{id} (latest restorable time)"),
                        at,
                        kind: RecoveryPointKind::Pitr,
                    });
                let snap = snapshots
                    .as_ref()
                    .ok()
                    .and_then(|s| s.get(&id))
                    .map(|(snap, at)| RecoveryPoint {
                        id: snap.clone(),
                        at: *at,
                        kind: RecoveryPointKind::Snapshot,
                    });
                let rp = [pitr, snap].into_iter().flatten().max_by_key(|p| p.at);
                found.insert(
                    id,
                    ResourceStatus {
                        health: db_health(&state),
                        state: noted_state,
                        latest_recovery_point: rp,
                    },
                );
            }
        }
        group
            .iter()
            .map(|r| {
                let result = found.get(&r.id.to_lowercase()).cloned().ok_or_else(|| {
                    CloudError::NotFound(format!("RDS instance {} in {region}", r.id))
                });
                (r.name.clone(), result)
            })
            .collect()
    }

    pub(super) async fn tables(
        &self,
        region: &str,
        group: &[Resource],
        look: Look,
    ) -> Vec<Observation> {
        // DynamoDB has no batch describe: one DescribeTable per table on every refresh; its
        // PITR window (DescribeContinuousBackups) and the region's on-demand backups (one
        // ListBackups) on the slow tier. At most `PER_SERVICE_REGION` of them at once.
        let client = self.clients.dynamodb(region);
        let backups = self
            .slow
            .table_backups
            .get(
                region.to_string(),
                look,
                resolve::table_backups(self, region, None),
            )
            .await;
        let backups = &backups;
        let each = group.iter().map(|r| {
            let client = client.clone();
            async move {
                let describe = self.limits.read("dynamodb", region, || async {
                    let call = client.describe_table().table_name(&r.id).send();
                    call.await
                        .map_err(|e| self.fail("dynamodb:DescribeTable", e))
                });
                let (table, pitr) = futures_util::join!(
                    describe,
                    self.slow.pitr.get(
                        format!("{region}|{}", r.id),
                        look,
                        self.pitr_of(region, &r.id)
                    )
                );
                let table = match table {
                    Ok(t) => t,
                    Err(e) => return (r.name.clone(), Err(e)),
                };
                let state = table
                    .table()
                    .and_then(|t| t.table_status())
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_lowercase();
                let health = match state.as_str() {
                    "active" => Health::Ok,
                    "creating" | "updating" => Health::Impaired,
                    _ => Health::Unavailable,
                };
                let state = noted(&state, pitr.as_ref().err().or(backups.as_ref().err()));
                let pitr = pitr.ok().flatten().map(|at| RecoveryPoint {
                    id: format!("{} (latest restorable time)", r.id),
                    at,
                    kind: RecoveryPointKind::Pitr,
                });
                let backup = backups
                    .as_ref()
                    .ok()
                    .and_then(|b| b.get(&r.id))
                    .map(|(arn, at)| RecoveryPoint {
                        id: arn.clone(),
                        at: *at,
                        kind: RecoveryPointKind::Backup,
                    });
                let rp = [pitr, backup].into_iter().flatten().max_by_key(|p| p.at);
                (
                    r.name.clone(),
                    Ok(ResourceStatus {
                        health,
                        state,
                        latest_recovery_point: rp,
                    }),
                )
            }
        });
        futures_util::future::join_all(each).await
    }

    /// A table's latest restorable time, `None` when PITR is off.
    async fn pitr_of(
        &self,
        region: &str,
        table: &str,
    ) -> Result<Option<DateTime<Utc>>, CloudError> {
        let client = self.clients.dynamodb(region);
        let answer = self
            .limits
            .read("dynamodb", region, || async {
                let call = client.describe_continuous_backups().table_name(table);
                call.send()
                    .await
                    .map_err(|e| self.fail("dynamodb:DescribeContinuousBackups", e))
            })
            .await?;
        Ok(answer
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.latest_restorable_date_time())
            .and_then(resolve::time))
    }
}
