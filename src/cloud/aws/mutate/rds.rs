//! RDS restores: from a snapshot, to a point in time, and promoting a replica. The target has
//! the runbook's fixed name and is tagged with the run that made it: a repeat adopts it, a
//! later run refuses it.

use crate::runbook::catalogue::RESTORED_TO;
use chrono::{DateTime, Utc};

use super::rds_backups::pick_backup;
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
            (RESTORED_TO, tag("pilotlight:source")),
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
            .change()
            .rds(region)
            .restore_db_instance_from_db_snapshot()
            .db_instance_identifier(&target)
            .db_snapshot_identifier(&snapshot)
            .set_db_instance_class(p.instance_class.clone())
            .set_db_subnet_group_name(p.subnet_group.clone())
            .set_multi_az(p.multi_az)
            .set_vpc_security_group_ids(Some(p.security_groups.clone()).filter(|g| !g.is_empty()))
            .set_db_parameter_group_name(p.parameter_group.clone())
            .set_option_group_name(p.option_group.clone())
            .set_deletion_protection(p.deletion_protection)
            .set_copy_tags_to_snapshot(p.copy_tags)
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
        let mut req = self
            .clients
            .change()
            .rds(region)
            .restore_db_instance_to_point_in_time()
            .target_db_instance_identifier(&target)
            .set_db_instance_class(p.instance_class.clone())
            .set_db_subnet_group_name(p.subnet_group.clone())
            .set_multi_az(p.multi_az)
            .set_vpc_security_group_ids(Some(p.security_groups.clone()).filter(|g| !g.is_empty()))
            .set_db_parameter_group_name(p.parameter_group.clone())
            .set_option_group_name(p.option_group.clone())
            .set_deletion_protection(p.deletion_protection)
            .set_copy_tags_to_snapshot(p.copy_tags)
            .set_tags(Some(rds_tags(plan, &when)));
        req = match p.restore_time {
            RestoreTime::Latest => req.use_latest_restorable_time(true),
            RestoreTime::At(t) => req.restore_time(sdk_time(t)),
        };
        let same_region = resource.region.as_deref() == Some(region);
        req = if same_region && self.db(region, &resource.id).await?.is_some() {
            req.source_db_instance_identifier(&resource.id)
        } else if same_region {
            // The instance is gone (deleted, or lost with its host): its retained automated
            // backup still restores to any time in its window.
            let backups = client
                .describe_db_instance_automated_backups()
                .db_instance_identifier(&resource.id)
                .send()
                .await
                .map_err(|e| self.fail("rds:DescribeDBInstanceAutomatedBackups", e))?;
            let retained = backups
                .db_instance_automated_backups()
                .iter()
                .filter(|b| b.status() == Some("retained") && b.dbi_resource_id().is_some())
                .max_by_key(|b| {
                    b.restore_window()
                        .and_then(|w| w.latest_time())
                        .map(|t| t.secs())
                })
                .and_then(|b| b.dbi_resource_id())
                .ok_or_else(|| {
                    CloudError::NotFound(format!(
                        "DB instance {} is gone from {region} and has no retained automated backup to restore from; restore from a snapshot instead",
                        resource.id
                    ))
                })?;
            req.source_dbi_resource_id(retained)
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
        set(&mut outs, RESTORED_TO, when);
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
            .change()
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
        p.failed = db_terminal(state).map(str::to_string);
        p.outputs = AwsCloud::db_outputs_of(plan, &db)
            .into_iter()
            .filter(|(k, v)| *k != RESTORED_TO && !v.is_empty())
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok(p)
    }
}

/// RDS states a restored or promoted instance never leaves by itself, and what to do.
fn db_terminal(state: &str) -> Option<&'static str> {
    Some(match state {
        "incompatible-network" => "its subnet group or network cannot host it (no free IPs, or a subnet gone); fix the network, delete the instance, then retry",
        "incompatible-parameters" => "its parameter group does not fit the engine or instance class; fix the group, delete the instance, then retry",
        "incompatible-restore" => "the restore cannot complete (often the source's data or engine version); delete the instance and restore from another recovery point",
        "incompatible-option-group" => "its option group does not fit; choose another, delete the instance, then retry",
        "inaccessible-encryption-credentials" | "inaccessible-encryption-credentials-recoverable" => "it cannot use its KMS key; grant the key to RDS (or restore with another key), then retry",
        "restore-error" => "the restore failed; delete the instance and restore from another recovery point",
        "failed" => "the instance failed; see its events in the RDS console",
        _ => return None,
    })
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
