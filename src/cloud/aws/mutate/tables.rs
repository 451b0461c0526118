//! DynamoDB restores (point in time, from a backup). A restore request cannot carry tags, and
//! DynamoDB refuses to tag a table until it is ACTIVE, so a restored table is tagged with the run
//! and step that made it once it is ACTIVE. Until then (and after a crash that came before the
//! tags) it is known by its provenance: a table whose restore summary points at this step's
//! source and that was created after the step first asked for it.

use crate::runbook::catalogue::RESTORED_TO;
use chrono::{DateTime, Utc};

use super::rds::{sdk_time, target_of};
use super::{params, progress, region, started, RUN_TAG, STEP_TAG, TOKEN_TAG};
use crate::cloud::aws::resolve;
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::params::{ActionParams, RestoreTime, Source};
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
        resource: &Resource,
    ) -> Result<Option<Started>, CloudError> {
        let target = target_of(plan)?;
        let region = region(plan)?;
        let Some(t) = self.table(region, &target).await? else {
            return Ok(None);
        };
        let arn = t.table_arn().unwrap_or_default().to_string();
        // Adopt only what this run made (as for RDS): a same-named table from an earlier
        // failover holds old data.
        let tags = self.table_tags(region, &arn).await?;
        let tag = |k: &str| {
            tags.iter()
                .find(|x| x.key() == k)
                .map(|x| x.value().to_string())
        };
        let tagged_ours = tag(RUN_TAG).is_some_and(|r| r == plan.run)
            && tag(STEP_TAG).as_deref() == Some(plan.step.as_str());
        let ours = tagged_ours || (tag(RUN_TAG).is_none() && restored_for(plan, resource, &t));
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

    async fn table_tags(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<Vec<aws_sdk_dynamodb::types::Tag>, CloudError> {
        let out = self
            .clients
            .dynamodb(region)
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| self.fail("dynamodb:ListTagsOfResource", e))?;
        Ok(out.tags.unwrap_or_default())
    }

    /// Tags a restored table with the run and step that made it, so a repeat adopts it and a
    /// later run does not. DynamoDB accepts tags only once the table is ACTIVE.
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
            .change()
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
        let target = target_of(plan)?;
        let when = params!(plan, DynamodbRestorePointInTime).restore_time;
        let mut req = self
            .clients
            .change()
            .dynamodb(region)
            .restore_table_to_point_in_time()
            .target_table_name(&target);
        req = match when {
            RestoreTime::Latest => req.use_latest_restorable_time(true),
            RestoreTime::At(t) => req.restore_date_time(sdk_time(t)),
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
        Ok(started(
            &[
                ("table_name", target),
                ("table_arn", arn),
                (RESTORED_TO, when.to_string()),
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
        let target = target_of(plan)?;
        let backup = match &params!(plan, DynamodbRestoreBackup).backup {
            Source::Latest => resolve::table_backups(self, region, Some(&resource.id))
                .await?
                .remove(&resource.id)
                .map(|(arn, _)| arn)
                .ok_or_else(|| {
                    CloudError::NotFound(format!(
                        "no available backup of table {} in {region}; name one with `backup:`",
                        resource.id
                    ))
                })?,
            Source::Named(b) => b.clone(),
        };
        let out = self
            .clients
            .change()
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
        let target = target_of(plan)?;
        let t = self
            .table(region(plan)?, &target)
            .await?
            .ok_or_else(|| CloudError::NotFound(format!("DynamoDB table {target}")))?;
        let state = t.table_status().map_or("unknown", |s| s.as_str());
        if state == "ACTIVE" {
            self.tag_table(plan, t.table_arn().unwrap_or_default())
                .await?;
        }
        let mut p = progress(state.to_lowercase());
        if matches!(
            state,
            "INACCESSIBLE_ENCRYPTION_CREDENTIALS" | "ARCHIVING" | "ARCHIVED"
        ) {
            p.failed = Some(format!(
                "table {target} cannot use its KMS key; grant the key to DynamoDB (or restore with another key), delete the table, then retry"
            ));
        }
        Ok(p)
    }
}

/// How long before the step first asked for its restore a restored table may have been
/// created and still be this step's (clocks of this machine and AWS disagree a little).
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Whether `t` is what this step's restore made, by provenance: its restore summary points at
/// the step's source (the named backup, a backup of the resource's table, or the resource's
/// table itself for a point-in-time restore), and it was created after the step first asked.
fn restored_for(
    plan: &ActionPlan,
    resource: &Resource,
    t: &aws_sdk_dynamodb::types::TableDescription,
) -> bool {
    let Some(summary) = t.restore_summary() else {
        return false;
    };
    let of_source = |arn: &str| arn.ends_with(&format!(":table/{}", resource.id));
    let source_matches = match &plan.params {
        ActionParams::DynamodbRestoreBackup(p) => match (&p.backup, summary.source_backup_arn()) {
            (Source::Named(b), Some(arn)) => arn == b,
            (Source::Latest, Some(arn)) => arn
                .split_once("/backup/")
                .is_some_and(|(table, _)| of_source(table)),
            (_, None) => false,
        },
        ActionParams::DynamodbRestorePointInTime(_) => {
            summary.source_table_arn().is_some_and(of_source)
        }
        _ => false,
    };
    let created = t
        .creation_date_time()
        .and_then(|c| chrono::DateTime::from_timestamp(c.secs(), 0));
    let recent = match (plan.since, created) {
        (Some(since), Some(created)) => created >= since - CLOCK_SKEW,
        _ => false,
    };
    source_matches && recent
}
