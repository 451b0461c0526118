//! DynamoDB restores (point in time, from a backup) and AWS Backup restore jobs. Restored
//! tables carry the run that made them; a Backup restore carries its IdempotencyToken.

use chrono::{DateTime, Utc};

use super::rds::{parse_time, sdk_time};
use super::{param, progress, region, started, RUN_TAG, STEP_TAG, TOKEN_TAG};
use crate::cloud::aws::resolve::{self, time};
use crate::cloud::aws::AwsCloud;
use crate::cloud::model::{CloudError, Progress, Started};
use crate::engine::ActionPlan;
use crate::runbook::Resource;

impl AwsCloud {
    async fn table(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<aws_sdk_dynamodb::types::TableDescription>, CloudError> {
        match self
            .clients
            .dynamodb(region)
            .describe_table()
            .table_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.table),
            Err(e) => match self.fail("dynamodb:DescribeTable", e) {
                CloudError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    pub(super) async fn find_table(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let target = param(plan, "target_table")?;
        let region = region(plan)?;
        let Some(t) = self.table(region, &target).await? else {
            return Ok(None);
        };
        let arn = t.table_arn().unwrap_or_default().to_string();
        // Adopt only what this run made (as for RDS): a same-named table from an earlier
        // failover holds old data.
        let tags = self
            .clients
            .dynamodb(region)
            .list_tags_of_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| self.fail("dynamodb:ListTagsOfResource", e))?;
        let tag = |k: &str| {
            tags.tags()
                .iter()
                .find(|x| x.key() == k)
                .map(|x| x.value().to_string())
        };
        let ours = tag(RUN_TAG).is_some_and(|r| r == plan.run)
            && tag(STEP_TAG).as_deref() == Some(plan.step.as_str());
        if !ours {
            return Err(CloudError::Refused(format!(
                "table {target} already exists in {region} and was not made by this run ({}); delete or rename it, or choose another `target_table`, then retry",
                match tag(RUN_TAG) {
                    Some(r) => format!("it was made by run {r}"),
                    None => "it carries no pilotlight tags".to_string(),
                }
            )));
        }
        Ok(Some(started(
            &[("table_name", target), ("table_arn", arn)],
            true,
        )))
    }

    /// Tags a restored table with the run and step that made it, so a repeat adopts it and a
    /// later run does not.
    async fn tag_table(&self, plan: &ActionPlan, arn: &str) -> Result<(), CloudError> {
        let tags = [
            (TOKEN_TAG, plan.token.as_str()),
            (STEP_TAG, plan.step.as_str()),
            (RUN_TAG, plan.run.as_str()),
        ]
        .iter()
        .map(|(k, v)| {
            aws_sdk_dynamodb::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CloudError::Refused(e.to_string()))?;
        self.clients
            .dynamodb(region(plan)?)
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| self.fail("dynamodb:TagResource", e))?;
        Ok(())
    }

    pub(super) async fn table_restore_pitr(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
        _now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let target = param(plan, "target_table")?;
        let when = param(plan, "restore_time")?;
        let client = self.clients.dynamodb(region);
        let mut req = client
            .restore_table_to_point_in_time()
            .target_table_name(&target);
        req = match when.as_str() {
            "latest" => req.use_latest_restorable_time(true),
            t => req.restore_date_time(sdk_time(parse_time(t)?)),
        };
        req = match resource.region.as_deref() {
            Some(src) if src != region => {
                let account = match &resource.account {
                    Some(a) => a.clone(),
                    None => self.identity().await?.account,
                };
                req.source_table_arn(format!(
                    "arn:aws:dynamodb:{src}:{account}:table/{}",
                    resource.id
                ))
            }
            _ => req.source_table_name(&resource.id),
        };
        let out = req
            .send()
            .await
            .map_err(|e| self.fail("dynamodb:RestoreTableToPointInTime", e))?;
        let arn = out
            .table_description()
            .and_then(|t| t.table_arn())
            .unwrap_or_default()
            .to_string();
        self.tag_table(plan, &arn).await?;
        Ok(started(
            &[
                ("table_name", target),
                ("table_arn", arn),
                ("restored_to", when),
            ],
            false,
        ))
    }

    pub(super) async fn table_restore_backup(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let target = param(plan, "target_table")?;
        let backup = match param(plan, "backup")?.as_str() {
            "latest" => resolve::table_backups(self, region, Some(&resource.id))
                .await?
                .remove(&resource.id)
                .map(|(arn, _)| arn)
                .ok_or_else(|| {
                    CloudError::NotFound(format!(
                        "no available backup of table {} in {region}; name one with `backup:`",
                        resource.id
                    ))
                })?,
            b => b.to_string(),
        };
        let out = self
            .clients
            .dynamodb(region)
            .restore_table_from_backup()
            .target_table_name(&target)
            .backup_arn(&backup)
            .send()
            .await
            .map_err(|e| self.fail("dynamodb:RestoreTableFromBackup", e))?;
        let arn = out
            .table_description()
            .and_then(|t| t.table_arn())
            .unwrap_or_default()
            .to_string();
        self.tag_table(plan, &arn).await?;
        Ok(started(
            &[
                ("table_name", target),
                ("table_arn", arn),
                ("backup_arn", backup),
            ],
            false,
        ))
    }

    pub(super) async fn poll_table(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let target = param(plan, "target_table")?;
        let t = self
            .table(region(plan)?, &target)
            .await?
            .ok_or_else(|| CloudError::NotFound(format!("DynamoDB table {target}")))?;
        Ok(progress(
            t.table_status()
                .map_or("unknown", |s| s.as_str())
                .to_lowercase(),
        ))
    }

    pub(super) async fn backup_restore(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let point = match param(plan, "recovery_point")?.as_str() {
            "latest" => {
                let source = resource.backup.as_ref();
                let vault = source.map(|b| b.vault.clone()).ok_or_else(|| {
                    CloudError::Refused(format!(
                        "resource `{}` names no backup vault; add `backup:` to it or name the recovery point",
                        resource.name
                    ))
                })?;
                let account = source.and_then(|b| b.account.as_deref());
                resolve::vault_points(self, &vault, region, account)
                    .await?
                    .into_iter()
                    .filter(|p| resolve::backup_matches(resource, &p.resource_arn))
                    .max_by_key(|p| p.created)
                    .map(|p| p.arn)
                    .ok_or_else(|| {
                        CloudError::NotFound(format!(
                            "no completed recovery point of {} in vault {vault} ({region})",
                            resource.id
                        ))
                    })?
            }
            p => p.to_string(),
        };
        let metadata = plan
            .params
            .get("metadata")
            .and_then(|m| m.as_object())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        )
                    })
                    .collect()
            });
        let out = self
            .clients
            .backup(region)
            .start_restore_job()
            .recovery_point_arn(&point)
            .iam_role_arn(param(plan, "iam_role_arn")?)
            .set_metadata(metadata)
            .idempotency_token(&plan.token)
            .send()
            .await
            .map_err(|e| self.fail("backup:StartRestoreJob", e))?;
        Ok(started(
            &[
                (
                    "restore_job_id",
                    out.restore_job_id().unwrap_or_default().to_string(),
                ),
                ("recovery_point_arn", point),
                ("created_resource_arn", String::new()),
            ],
            false,
        ))
    }

    pub(super) async fn poll_backup(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let job = plan
            .made
            .get("restore_job_id")
            .filter(|j| !j.is_empty())
            .ok_or_else(|| {
                CloudError::NotFound(format!("the restore job of step `{}`", plan.step))
            })?;
        let out = self
            .clients
            .backup(region(plan)?)
            .describe_restore_job()
            .restore_job_id(job)
            .send()
            .await
            .map_err(|e| self.fail("backup:DescribeRestoreJob", e))?;
        let state = out
            .status()
            .map_or("unknown", |s| s.as_str())
            .to_lowercase();
        let mut p = progress(state);
        p.percent = out
            .percent_done()
            .and_then(|s| s.trim_end_matches('%').parse::<f64>().ok())
            .map(|x| x.clamp(0.0, 100.0) as u8);
        p.expected_done = match (
            out.creation_date().and_then(time),
            out.expected_completion_time_minutes(),
        ) {
            (Some(at), Some(mins)) => Some(at + chrono::TimeDelta::minutes(mins)),
            _ => None,
        };
        if let Some(arn) = out.created_resource_arn() {
            p.outputs
                .insert("created_resource_arn".into(), arn.to_string());
            // `arn:aws:ec2:us-west-2:111122223333:volume/vol-0abc` -> `vol-0abc`
            let id = arn.rsplit(['/', ':']).next().unwrap_or(arn);
            p.outputs
                .insert("created_resource_id".into(), id.to_string());
        }
        Ok(p)
    }
}
