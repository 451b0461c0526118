//! EBS changes: restore a volume from a snapshot, attach it to an instance, and follow both.

use aws_sdk_ec2::types::{Filter, ResourceType, Volume, VolumeType};

use super::compute::{by_token, tags};
use super::{params, progress, region, started};
use crate::cloud::aws::resolve;
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::params::{ActionParams, Source};
use crate::runbook::Resource;

impl AwsCloud {
    /// Volumes by id or filter, leaving out those gone or failed (unless `all`).
    async fn volumes_where(
        &self,
        region: &str,
        ids: Option<Vec<String>>,
        filter: Option<Vec<Filter>>,
    ) -> Result<Vec<Volume>, CloudError> {
        let mut all = self.all_volumes_where(region, ids, filter).await?;
        all.retain(|v| {
            !matches!(
                v.state().map(|s| s.as_str()),
                Some("deleting" | "deleted" | "error")
            )
        });
        Ok(all)
    }

    async fn all_volumes_where(
        &self,
        region: &str,
        ids: Option<Vec<String>>,
        filter: Option<Vec<Filter>>,
    ) -> Result<Vec<Volume>, CloudError> {
        let pages = self
            .clients
            .ec2(region)
            .describe_volumes()
            .set_volume_ids(ids)
            .set_filters(filter)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.fail("ec2:DescribeVolumes", e))?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.volumes.unwrap_or_default())
            .collect())
    }

    pub(super) async fn find_volume(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let found = self
            .volumes_where(region(plan)?, None, Some(by_token(plan)))
            .await?;
        Ok(found.first().map(|v| {
            started(
                &[
                    ("volume_id", v.volume_id().unwrap_or_default().to_string()),
                    (
                        "snapshot_id",
                        v.snapshot_id().unwrap_or_default().to_string(),
                    ),
                ],
                true,
            )
        }))
    }

    pub(super) async fn restore_volume(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let p = params!(plan, RestoreVolume);
        let snapshot = match &p.snapshot {
            Source::Latest if Some(region) == resource.region.as_deref() => {
                resolve::snapshots_of(self, region, std::slice::from_ref(&resource.id))
                    .await?
                    .remove(&resource.id)
                    .map(|(id, _)| id)
                    .ok_or_else(|| {
                        CloudError::NotFound(format!(
                            "no completed snapshot of {} in {region}; name one with `snapshot:`",
                            resource.id
                        ))
                    })?
            }
            // In another region only copies exist, and AWS gives a copy another volume id.
            Source::Latest => resolve::copies_of(self, region, &resource.id)
                .await?
                .map(|(id, _)| id)
                .ok_or_else(|| {
                    CloudError::NotFound(format!(
                        "no completed snapshot in {region} tagged {}={}: copies made across regions carry another volume id; tag each copy (aws ec2 copy-snapshot --tag-specifications 'ResourceType=snapshot,Tags=[{{Key={},Value={}}}]') or name one with `snapshot:`",
                        resolve::SOURCE_VOLUME_TAG,
                        resource.id,
                        resolve::SOURCE_VOLUME_TAG,
                        resource.id
                    ))
                })?,
            Source::Named(id) => id.clone(),
        };
        let out = self
            .clients
            .change()
            .ec2(region)
            .create_volume()
            .snapshot_id(&snapshot)
            .availability_zone(&p.availability_zone)
            .set_volume_type(p.volume_type.as_deref().map(VolumeType::from))
            .client_token(&plan.token)
            .tag_specifications(tags(plan, ResourceType::Volume, None))
            .send()
            .await
            .map_err(|e| self.fail("ec2:CreateVolume", e))?;
        Ok(started(
            &[
                ("volume_id", out.volume_id().unwrap_or_default().to_string()),
                ("snapshot_id", snapshot),
            ],
            false,
        ))
    }

    pub(super) async fn find_attachment(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let p = params!(plan, AttachVolume);
        let (volume, instance) = (p.volume_id.clone(), p.instance_id.clone());
        let found = self
            .volumes_where(region(plan)?, Some(vec![volume.clone()]), None)
            .await?;
        let attached = found.iter().any(|v| {
            v.attachments()
                .iter()
                .any(|a| a.instance_id() == Some(instance.as_str()))
        });
        Ok(attached.then(|| started(&[("volume_id", volume), ("instance_id", instance)], true)))
    }

    pub(super) async fn attach_volume(&self, plan: &ActionPlan) -> Result<Started, CloudError> {
        let p = params!(plan, AttachVolume);
        let (volume, instance) = (p.volume_id.clone(), p.instance_id.clone());
        self.clients
            .change()
            .ec2(region(plan)?)
            .attach_volume()
            .volume_id(&volume)
            .instance_id(&instance)
            .device(&p.device)
            .send()
            .await
            .map_err(|e| self.fail("ec2:AttachVolume", e))?;
        Ok(started(
            &[("volume_id", volume), ("instance_id", instance)],
            false,
        ))
    }

    pub(super) async fn poll_volume(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let region = region(plan)?;
        // An attachment is followed on its volume, and is done once attached to its instance.
        let attach = match &plan.params {
            ActionParams::AttachVolume(p) => Some(p),
            _ => None,
        };
        let id = plan
            .made
            .get("volume_id")
            .cloned()
            .or_else(|| attach.map(|p| p.volume_id.clone()));
        // A volume in `error` is shown, not left out: it ends the step.
        let found = match id {
            Some(id) => self.all_volumes_where(region, Some(vec![id]), None).await?,
            None => {
                self.all_volumes_where(region, None, Some(by_token(plan)))
                    .await?
            }
        };
        let v = found
            .first()
            .ok_or_else(|| CloudError::NotFound(format!("the volume of step `{}`", plan.step)))?;
        let state = v.state().map_or("unknown", |s| s.as_str());
        if state == "error" {
            let mut p = progress(state);
            p.failed = Some(
                "the volume could not be created (often an encrypted snapshot whose KMS key this account cannot use); delete it, fix the key or pick another snapshot, then retry"
                    .to_string(),
            );
            return Ok(p);
        }
        // An attachment is done when it is `attached`, which comes after the volume is `in-use`.
        if let (Some(instance), "in-use") = (attach.map(|p| &p.instance_id), state) {
            let attachment = v
                .attachments()
                .iter()
                .find(|a| a.instance_id() == Some(instance.as_str()))
                .and_then(|a| a.state())
                .map_or("attaching", |s| s.as_str());
            if attachment != "attached" {
                return Ok(progress(attachment));
            }
        }
        Ok(progress(state))
    }
}
