//! RDS restores: from a snapshot, to a point in time, and promoting a replica. The target has
//! the runbook's fixed name and is tagged with the run that made it: a repeat adopts it, a
//! later run refuses it.

use chrono::{DateTime, Utc};

use super::{params, progress, region, started, RUN_TAG, STEP_TAG, TOKEN_TAG};
use crate::cloud::aws::resolve;
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::params::{ActionParams, RestoreTime, Source};
use crate::runbook::Resource;

fn rds_tags(plan: &ActionPlan, source: &str) -> Vec<aws_sdk_rds::types::Tag> {
    [
        (TOKEN_TAG, plan.token.as_str()),
        (STEP_TAG, plan.step.as_str()),
        (RUN_TAG, plan.run.as_str()),
        ("pilotlight:source", source),
    ]
    .iter()
    .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(*k).value(*v).build())
    .collect()
}

pub(super) fn sdk_time(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

impl AwsCloud {
    async fn db(
        &self,
        region: &str,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, CloudError> {
        match self
            .clients
            .rds(region)
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_instances().first().cloned()),
            Err(e) => match self.fail("rds:DescribeDBInstances", e) {
                CloudError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    fn db_outputs(db: &aws_sdk_rds::types::DbInstance) -> Vec<(&'static str, String)> {
        let tag = |k: &str| {
            db.tag_list()
                .iter()
                .find(|t| t.key() == Some(k))
                .and_then(|t| t.value())
                .unwrap_or_default()
                .to_string()
        };
        vec![
            (
                "db_instance_id",
                db.db_instance_identifier().unwrap_or_default().to_string(),
            ),
            (
                "endpoint",
                db.endpoint()
                    .and_then(|e| e.address())
                    .unwrap_or_default()
                    .to_string(),
            ),
            ("snapshot_id", tag("pilotlight:source")),
            ("restored_to", tag("pilotlight:source")),
        ]
    }

    /// The outputs the plan's action gives (the catalogue's): the source tag is the snapshot of
    /// a snapshot restore and the restore time of a point-in-time one, never both.
    fn db_outputs_of(
        plan: &ActionPlan,
        db: &aws_sdk_rds::types::DbInstance,
    ) -> Vec<(&'static str, String)> {
        let wanted = plan.action.spec().outputs;
        AwsCloud::db_outputs(db)
            .into_iter()
            .filter(|(k, _)| wanted.contains(k))
            .collect()
    }

    pub(super) async fn find_db(&self, plan: &ActionPlan) -> Result<Option<Started>, CloudError> {
        let target = target_of(plan)?;
        let Some(db) = self.db(region(plan)?, &target).await? else {
            return Ok(None);
        };
        // Adopt only what this run made: a same-named instance from elsewhere (an earlier
        // failover, a hand-made one) holds other data.
        let tag = |k: &str| {
            db.tag_list()
                .iter()
                .find(|t| t.key() == Some(k))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        let ours = tag(RUN_TAG).is_some_and(|r| r == plan.run)
            && tag(STEP_TAG).as_deref() == Some(plan.step.as_str());
        if !ours {
            return Err(CloudError::Refused(format!(
                "DB instance {target} already exists and was not made by this run ({}); rename or delete it, or choose another `target_id`, then retry",
                match tag(RUN_TAG) {
                    Some(r) => format!("it was made by run {r}"),
                    None => "it carries no pilotlight tags; if this run's own restore was interrupted before it could tag the table, check the table and skip this step".to_string(),
                }
            )));
        }
        Ok(Some(started(&AwsCloud::db_outputs_of(plan, &db), true)))
    }

    pub(super) async fn rds_restore_snapshot(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let p = params!(plan, RdsRestoreSnapshot);
        let target = p.target_id.clone();
        let snapshot = match &p.snapshot {
            Source::Latest => {
                let id = resource.id.to_lowercase();
                resolve::db_snapshots_of(self, region, std::slice::from_ref(&id))
                    .await?
                    .remove(&id)
                    .map(|(s, _)| s)
                    .ok_or_else(|| {
                        CloudError::NotFound(format!(
                            "no available snapshot of {} in {region}; name one with `snapshot:`",
                            resource.id
                        ))
                    })?
            }
            Source::Named(s) => s.clone(),
        };
        let out = self
            .clients
            .rds(region)
            .restore_db_instance_from_db_snapshot()
            .db_instance_identifier(&target)
            .db_snapshot_identifier(&snapshot)
            .set_db_instance_class(p.instance_class.clone())
            .set_db_subnet_group_name(p.subnet_group.clone())
            .set_multi_az(p.multi_az)
            .set_tags(Some(rds_tags(plan, &snapshot)))
            .send()
            .await
            .map_err(|e| self.fail("rds:RestoreDBInstanceFromDBSnapshot", e))?;
        let mut outs = out
            .db_instance()
            .map(|d| AwsCloud::db_outputs_of(plan, d))
            .unwrap_or_default();
        set(&mut outs, "db_instance_id", target);
        set(&mut outs, "snapshot_id", snapshot);
        Ok(started(&outs, false))
    }

    pub(super) async fn rds_restore_pitr(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let p = params!(plan, RdsRestorePointInTime);
        let target = p.target_id.clone();
        let when = p.restore_time.to_string();
        let client = self.clients.rds(region);
        let mut req = client
            .restore_db_instance_to_point_in_time()
            .target_db_instance_identifier(&target)
            .set_db_instance_class(p.instance_class.clone())
            .set_db_subnet_group_name(p.subnet_group.clone())
            .set_tags(Some(rds_tags(plan, &when)));
        req = match p.restore_time {
            RestoreTime::Latest => req.use_latest_restorable_time(true),
            RestoreTime::At(t) => req.restore_time(sdk_time(t)),
        };
        req = if resource.region.as_deref() == Some(region) {
            req.source_db_instance_identifier(&resource.id)
        } else {
            // In another region the source is the replicated automated backup.
            let backups = client
                .describe_db_instance_automated_backups()
                .db_instance_identifier(&resource.id)
                .send()
                .await
                .map_err(|e| self.fail("rds:DescribeDBInstanceAutomatedBackups", e))?;
            let wanted = match p.restore_time {
                RestoreTime::Latest => None,
                RestoreTime::At(t) => Some(t),
            };
            let arn =
                pick_backup(backups.db_instance_automated_backups(), wanted).ok_or_else(|| {
                    CloudError::NotFound(format!(
                        "no automated backups of {} replicated to {region}",
                        resource.id
                    ))
                })?;
            req.source_db_instance_automated_backups_arn(arn)
        };
        let out = req
            .send()
            .await
            .map_err(|e| self.fail("rds:RestoreDBInstanceToPointInTime", e))?;
        let mut outs = out
            .db_instance()
            .map(|d| AwsCloud::db_outputs_of(plan, d))
            .unwrap_or_default();
        set(&mut outs, "db_instance_id", target);
        set(&mut outs, "restored_to", when);
        Ok(started(&outs, false))
    }

    pub(super) async fn find_promoted(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let replica = params!(plan, RdsPromoteReplica).replica_id.clone();
        let db = self.db(region(plan)?, &replica).await?;
        Ok(db
            .filter(|d| d.read_replica_source_db_instance_identifier().is_none())
            .map(|d| started(&AwsCloud::db_outputs(&d)[..2], true)))
    }

    pub(super) async fn rds_promote(&self, plan: &ActionPlan) -> Result<Started, CloudError> {
        let replica = params!(plan, RdsPromoteReplica).replica_id.clone();
        let out = self
            .clients
            .rds(region(plan)?)
            .promote_read_replica()
            .db_instance_identifier(&replica)
            .send()
            .await
            .map_err(|e| self.fail("rds:PromoteReadReplica", e))?;
        let mut outs = out
            .db_instance()
            .map(|d| AwsCloud::db_outputs(d)[..2].to_vec())
            .unwrap_or_default();
        set(&mut outs, "db_instance_id", replica);
        Ok(started(&outs, false))
    }

    pub(super) async fn poll_db(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let promoting = match &plan.params {
            ActionParams::RdsPromoteReplica(p) => Some(p.replica_id.clone()),
            _ => None,
        };
        let id = match &promoting {
            Some(replica) => replica.clone(),
            None => target_of(plan)?,
        };
        let db = self
            .db(region(plan)?, &id)
            .await?
            .ok_or_else(|| CloudError::NotFound(format!("RDS instance {id}")))?;
        let status = db.db_instance_status().unwrap_or("unknown");
        // A promotion is done only once the instance no longer follows a source.
        let state =
            if db.read_replica_source_db_instance_identifier().is_some() && promoting.is_some() {
                "promoting"
            } else {
                status
            };
        let mut p = progress(state);
        p.outputs = AwsCloud::db_outputs_of(plan, &db)
            .into_iter()
            .filter(|(k, v)| *k != "restored_to" && !v.is_empty())
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok(p)
    }
}

pub(super) fn set(outs: &mut Vec<(&'static str, String)>, key: &'static str, value: String) {
    outs.retain(|(k, _)| *k != key);
    outs.push((key, value));
}

/// The fixed name of what a restore creates (`target_id`, `target_table`).
pub(super) fn target_of(plan: &ActionPlan) -> Result<String, CloudError> {
    plan.params
        .target_name()
        .cloned()
        .ok_or_else(|| CloudError::Refused(format!("step `{}` names no target", plan.step)))
}

/// The replicated automated backup to restore from: one whose window holds the restore time
/// (when one is asked for), still replicating rather than retained from a deleted instance,
/// with the newest restorable time.
fn pick_backup(
    backups: &[aws_sdk_rds::types::DbInstanceAutomatedBackup],
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<&str> {
    let window = |b: &aws_sdk_rds::types::DbInstanceAutomatedBackup| {
        let w = b.restore_window();
        (
            w.and_then(|w| w.earliest_time()).map(|t| t.secs()),
            w.and_then(|w| w.latest_time()).map(|t| t.secs()),
        )
    };
    backups
        .iter()
        .filter(|b| b.db_instance_automated_backups_arn().is_some())
        .max_by_key(|b| {
            let (from, to) = window(b);
            let holds = at.is_none_or(|t| {
                from.is_some_and(|f| f <= t.timestamp()) && to.is_some_and(|l| t.timestamp() <= l)
            });
            let live = matches!(b.status(), Some("replicating" | "active"));
            (holds, live, to)
        })
        .and_then(|b| b.db_instance_automated_backups_arn())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aws_sdk_rds::types::{DbInstanceAutomatedBackup, RestoreWindow};
    use aws_smithy_types::DateTime as SdkTime;
    use chrono::{TimeZone, Utc};

    use super::pick_backup;

    fn backup(arn: &str, status: &str, from: i64, to: i64) -> DbInstanceAutomatedBackup {
        DbInstanceAutomatedBackup::builder()
            .db_instance_automated_backups_arn(arn)
            .status(status)
            .restore_window(
                RestoreWindow::builder()
                    .earliest_time(SdkTime::from_secs(from))
                    .latest_time(SdkTime::from_secs(to))
                    .build(),
            )
            .build()
    }

    #[test]
    fn the_replicating_backup_whose_window_holds_the_time_is_chosen() {
        let t = |h: i64| 1_800_000_000 + h * 3600;
        let backups = [
            // Retained from an instance deleted earlier, with a newer window than it deserves.
            backup("arn:retained", "retained", t(0), t(30)),
            backup("arn:old-live", "replicating", t(0), t(10)),
            backup("arn:live", "replicating", t(5), t(20)),
            DbInstanceAutomatedBackup::builder()
                .status("replicating")
                .build(),
        ];
        assert_eq!(pick_backup(&backups, None), Some("arn:live"));
        let at = |h: i64| Some(Utc.timestamp_opt(t(h), 0).unwrap());
        // Only the older live backup still holds hour 2.
        assert_eq!(pick_backup(&backups, at(2)), Some("arn:old-live"));
        // Only the retained one reaches hour 25: better that than a time no backup holds.
        assert_eq!(pick_backup(&backups, at(25)), Some("arn:retained"));
        assert_eq!(pick_backup(&backups[3..], None), None);
    }
}
