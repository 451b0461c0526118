//! AWS Backup restore jobs. The request's metadata is the recovery point's own (what AWS says
//! it needs to restore that point: GetRecoveryPointRestoreMetadata) with the runbook's values
//! over it, and the gate shows it merged before anything is sent.
//!
//! A repeat of one attempt carries the same IdempotencyToken, so AWS returns the job it already
//! started. A retry is a new attempt with a new token: before it asks
//! for a job, it looks for one an earlier attempt of the step started (Backup jobs carry no
//! tags, so by recovery point, IAM role and creation time) and follows that one instead.

use std::collections::BTreeMap;

use chrono::TimeDelta;

use super::{params, progress, region, started};
use crate::cloud::aws::resolve::{self, time};
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::params::Source;
use crate::runbook::Resource;

/// How far AWS's clock may be behind ours when comparing a job's creation with the step's start.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

impl AwsCloud {
    /// The recovery point to restore: the one named, or the resource's newest completed one.
    async fn restore_point(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
        region: &str,
    ) -> Result<String, CloudError> {
        if let Source::Named(named) = &params!(plan, BackupStartRestore).recovery_point {
            return Ok(named.clone());
        }
        self.points_of(resource, region)
            .await?
            .into_iter()
            .max_by_key(|p| p.created)
            .map(|p| p.arn)
            .ok_or_else(|| {
                CloudError::NotFound(format!(
                    "no completed recovery point of {} in vault {} ({region})",
                    resource.id,
                    resource.backup.as_ref().map_or("?", |b| b.vault.as_str())
                ))
            })
    }

    /// The metadata a restore of `point` sends: the recovery point's own, with the runbook's
    /// values over it, and which keys the runbook set. Only the runbook's when the resource
    /// names no vault (the point's own cannot be asked for without it).
    async fn restore_metadata(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
        region: &str,
        point: &str,
    ) -> Result<Merged, CloudError> {
        let ours = &params!(plan, BackupStartRestore).metadata;
        let mut merged = Merged::default();
        if let Some(source) = &resource.backup {
            let out = self
                .clients
                .backup(region)
                .get_recovery_point_restore_metadata()
                .backup_vault_name(&source.vault)
                .recovery_point_arn(point)
                .set_backup_vault_account_id(source.account.clone())
                .send()
                .await
                .map_err(|e| self.fail("backup:GetRecoveryPointRestoreMetadata", e))?;
            if let Some(theirs) = out.restore_metadata() {
                for (k, v) in theirs {
                    // The source's zone, or a key or ARN of its region, cannot be used in
                    // another region: left out (the preview says so) unless the runbook sets it.
                    if let Some(other) = names_other_region(v, region) {
                        merged.dropped.push(format!("{k}={v} (of {other})"));
                    } else {
                        merged.values.insert(k.clone(), v.clone());
                    }
                }
            }
        } else {
            merged.only_ours = true;
        }
        for (k, v) in ours {
            merged.values.insert(k.clone(), v.clone());
            merged.ours.push(k.clone());
            merged.dropped.retain(|d| !d.starts_with(&format!("{k}=")));
        }
        // RDS refuses a zone for a Multi-AZ instance; AWS's metadata names the source's zone.
        let multi_az = merged.values.get("MultiAZ").is_some_and(|v| v == "true");
        if multi_az && !merged.ours.iter().any(|k| k == "AvailabilityZone") {
            if let Some(v) = merged.values.remove("AvailabilityZone") {
                merged
                    .dropped
                    .push(format!("AvailabilityZone={v} (Multi-AZ)"));
            }
        }
        Ok(merged)
    }

    /// What the gate shows of a restore: the recovery point and the metadata that would be
    /// sent, the runbook's values marked.
    pub(crate) async fn restore_preview(&self, plan: &ActionPlan) -> Result<String, CloudError> {
        let resource = self.resource(&plan.resource)?;
        let region = region(plan)?;
        let point = self.restore_point(plan, resource, region).await?;
        let merged = self
            .restore_metadata(plan, resource, region, &point)
            .await?;
        let shown: Vec<String> = merged
            .values
            .iter()
            .map(|(k, v)| {
                let mark = if merged.ours.contains(k) {
                    " (runbook)"
                } else {
                    ""
                };
                format!("{k}={v}{mark}")
            })
            .collect();
        let whose = if merged.only_ours {
            "the runbook's metadata only (the resource names no vault to ask for the point's own)"
        } else {
            "metadata"
        };
        let dropped = if merged.dropped.is_empty() {
            String::new()
        } else {
            format!("; left out: {}", merged.dropped.join(", "))
        };
        Ok(format!(
            "restore {point} with {whose}: {}{dropped}",
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            }
        ))
    }

    /// The resource's completed recovery points in its vault.
    async fn points_of(
        &self,
        resource: &Resource,
        region: &str,
    ) -> Result<Vec<resolve::BackupPoint>, CloudError> {
        let source = resource.backup.as_ref().ok_or_else(|| {
            CloudError::Refused(format!(
                "resource `{}` names no backup vault; add `backup:` to it or name the recovery point",
                resource.name
            ))
        })?;
        Ok(
            resolve::vault_points(self, &source.vault, region, source.account.as_deref())
                .await?
                .into_iter()
                .filter(|p| resolve::backup_matches(resource, &p.resource_arn))
                .collect(),
        )
    }

    /// A restore job an earlier attempt of this step started and that has not failed: one of
    /// the points this step restores, with its IAM role, created since the step first asked for
    /// its change.
    pub(super) async fn find_restore_job(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Option<Started>, CloudError> {
        let Some(since) = plan.since.filter(|_| plan.attempt > 1) else {
            return Ok(None);
        };
        let region = region(plan)?;
        let p = params!(plan, BackupStartRestore);
        let role = p.iam_role_arn.clone();
        let points: Vec<String> = match &p.recovery_point {
            Source::Latest => self
                .points_of(resource, region)
                .await?
                .into_iter()
                .map(|p| p.arn)
                .collect(),
            Source::Named(named) => vec![named.clone()],
        };
        let pages: Vec<_> = self
            .clients
            .backup(region)
            .list_restore_jobs()
            .by_created_after(super::rds::sdk_time(since - CLOCK_SKEW))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.fail("backup:ListRestoreJobs", e))?;
        use aws_sdk_backup::types::RestoreJobStatus as S;
        let after = (since - CLOCK_SKEW).timestamp();
        let job = pages
            .iter()
            .flat_map(|p| p.restore_jobs())
            .filter(|j| j.creation_date().is_some_and(|t| t.secs() >= after))
            .filter(|j| matches!(j.status(), Some(S::Pending | S::Running | S::Completed)))
            .filter(|j| j.iam_role_arn() == Some(role.as_str()))
            .filter(|j| {
                j.recovery_point_arn()
                    .is_some_and(|p| points.iter().any(|x| x == p))
            })
            .max_by_key(|j| j.creation_date().and_then(time));
        Ok(job.map(|j| {
            started(
                &[
                    (
                        "restore_job_id",
                        j.restore_job_id().unwrap_or_default().to_string(),
                    ),
                    (
                        "recovery_point_arn",
                        j.recovery_point_arn().unwrap_or_default().to_string(),
                    ),
                    (
                        "created_resource_arn",
                        j.created_resource_arn().unwrap_or_default().to_string(),
                    ),
                ],
                true,
            )
        }))
    }

    pub(super) async fn backup_restore(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let point = self.restore_point(plan, resource, region).await?;
        let p = params!(plan, BackupStartRestore);
        let merged = self
            .restore_metadata(plan, resource, region, &point)
            .await?;
        let metadata = Some(merged.values.into_iter().collect())
            .filter(|m: &std::collections::HashMap<String, String>| !m.is_empty());
        let out = self
            .clients
            .change()
            .backup(region)
            .start_restore_job()
            .recovery_point_arn(&point)
            .iam_role_arn(&p.iam_role_arn)
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
        if matches!(p.state.as_str(), "failed" | "aborted") {
            p.failed = Some(
                out.status_message()
                    .unwrap_or("the restore job ended without a message")
                    .to_string(),
            );
        }
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

/// Restore metadata: the recovery point's own with the runbook's over it.
#[derive(Debug, Default)]
struct Merged {
    values: BTreeMap<String, String>,
    /// Keys the runbook set.
    ours: Vec<String>,
    /// The point's own could not be asked for.
    only_ours: bool,
    /// The point's own values left out, and why.
    dropped: Vec<String>,
}

/// The other region a restore-metadata value names, if it names one: a region or zone
/// (`us-east-1`, `us-east-1a`) or an ARN in a region (`arn:aws:kms:us-east-1:…`).
fn names_other_region(value: &str, region: &str) -> Option<String> {
    let named = if value.starts_with("arn:") {
        value.split(':').nth(3).unwrap_or_default().to_string()
    } else {
        // A zone is its region and one letter.
        let zone_of = value
            .strip_suffix(|c: char| c.is_ascii_lowercase())
            .filter(|r| crate::runbook::is_region(r));
        match zone_of {
            Some(r) => r.to_string(),
            None if crate::runbook::is_region(value) => value.to_string(),
            None => String::new(),
        }
    };
    (!named.is_empty() && named != region).then_some(named)
}

#[cfg(test)]
mod tests {
    use super::names_other_region;

    #[test]
    fn values_of_another_region_are_recognised() {
        let r = "us-west-2";
        assert_eq!(
            names_other_region("us-east-1a", r).as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            names_other_region("us-east-1", r).as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            names_other_region("arn:aws:kms:us-east-1:111122223333:key/abc", r).as_deref(),
            Some("us-east-1")
        );
        for same_or_none in [
            "us-west-2b",
            "arn:aws:kms:us-west-2:1:key/x",
            "arn:aws:iam::1:role/x",
            "gp3",
            "100",
            "true",
            "billing-db-dr",
            "db-east-1",
        ] {
            assert_eq!(names_other_region(same_or_none, r), None, "{same_or_none}");
        }
    }
}
