//! EC2 and EBS changes: start the standby, launch from an AMI, restore and attach a volume.

use aws_sdk_ec2::types::{
    Filter, IamInstanceProfileSpecification, Instance, InstanceType, ResourceType, Tag,
    TagSpecification, Volume, VolumeType,
};

use super::{params, progress, region, started, RUN_TAG, STEP_TAG, TOKEN_TAG};
use crate::cloud::aws::resolve;
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::params::{ActionParams, Source};
use crate::runbook::Resource;

fn tags(plan: &ActionPlan, kind: ResourceType, name: Option<String>) -> TagSpecification {
    let mut spec = TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key(TOKEN_TAG).value(&plan.token).build())
        .tags(Tag::builder().key(STEP_TAG).value(&plan.step).build())
        .tags(Tag::builder().key(RUN_TAG).value(&plan.run).build());
    if let Some(n) = name {
        spec = spec.tags(Tag::builder().key("Name").value(n).build());
    }
    spec.build()
}

/// What this run's step made, whatever attempt made it: a retry after an unclear failure (a
/// reset connection, a lost answer) finds the first attempt's work instead of making more.
fn by_token(plan: &ActionPlan) -> Vec<Filter> {
    let tag = |k: &str, v: &str| Filter::builder().name(format!("tag:{k}")).values(v).build();
    if plan.run.is_empty() {
        return vec![tag(TOKEN_TAG, &plan.token)];
    }
    vec![tag(RUN_TAG, &plan.run), tag(STEP_TAG, &plan.step)]
}

fn instance_outputs(i: &Instance) -> Vec<(&'static str, String)> {
    vec![
        (
            "instance_id",
            i.instance_id().unwrap_or_default().to_string(),
        ),
        (
            "availability_zone",
            i.placement()
                .and_then(|p| p.availability_zone())
                .unwrap_or_default()
                .to_string(),
        ),
        (
            "private_ip",
            i.private_ip_address().unwrap_or_default().to_string(),
        ),
    ]
}

fn instance_state(i: &Instance) -> &str {
    i.state()
        .and_then(|s| s.name())
        .map_or("unknown", |n| n.as_str())
}

impl AwsCloud {
    async fn instances_where(
        &self,
        region: &str,
        ids: Option<Vec<String>>,
        filter: Option<Vec<Filter>>,
    ) -> Result<Vec<Instance>, CloudError> {
        let pages = self
            .clients
            .ec2(region)
            .describe_instances()
            .set_instance_ids(ids)
            .set_filters(filter)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.fail("ec2:DescribeInstances", e))?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.reservations.unwrap_or_default())
            .flat_map(|r| r.instances.unwrap_or_default())
            .filter(|i| !matches!(instance_state(i), "terminated" | "shutting-down"))
            .collect())
    }

    pub(super) async fn start_instances(&self, plan: &ActionPlan) -> Result<Started, CloudError> {
        self.clients
            .ec2(region(plan)?)
            .start_instances()
            .instance_ids(&plan.target)
            .send()
            .await
            .map_err(|e| self.fail("ec2:StartInstances", e))?;
        Ok(started(&[("instance_id", plan.target.clone())], false))
    }

    pub(super) async fn find_started_instance(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let found = self
            .instances_where(region(plan)?, Some(vec![plan.target.clone()]), None)
            .await?;
        Ok(found
            .iter()
            .find(|i| matches!(instance_state(i), "running" | "pending"))
            .map(|_| started(&[("instance_id", plan.target.clone())], true)))
    }

    pub(super) async fn poll_instance(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let region = region(plan)?;
        let found = match plan.made.get("instance_id").filter(|s| !s.is_empty()) {
            Some(id) => {
                self.instances_where(region, Some(vec![id.clone()]), None)
                    .await?
            }
            None => {
                self.instances_where(region, None, Some(by_token(plan)))
                    .await?
            }
        };
        let i = found
            .first()
            .ok_or_else(|| CloudError::NotFound(format!("the instance of step `{}`", plan.step)))?;
        let mut p = progress(instance_state(i));
        p.outputs = instance_outputs(i)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok(p)
    }

    pub(super) async fn find_launched(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let found = self
            .instances_where(region(plan)?, None, Some(by_token(plan)))
            .await?;
        Ok(found.first().map(|i| started(&instance_outputs(i), true)))
    }

    pub(super) async fn launch_from_ami(&self, plan: &ActionPlan) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let client = self.clients.ec2(region);
        let p = params!(plan, LaunchFromAmi);
        let ami = match &p.ami {
            Source::Latest => {
                let pattern = p.ami_name.clone().unwrap_or_else(|| "*".into());
                let images = client
                    .describe_images()
                    .owners("self")
                    .filters(Filter::builder().name("name").values(&pattern).build())
                    .send()
                    .await
                    .map_err(|e| self.fail("ec2:DescribeImages", e))?;
                images
                    .images()
                    .iter()
                    .filter(|i| i.image_id().is_some())
                    .max_by(|a, b| a.creation_date().cmp(&b.creation_date()))
                    .and_then(|i| i.image_id())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        CloudError::NotFound(format!(
                            "no AMI of this account named `{pattern}` in {region}; name one with `ami:`"
                        ))
                    })?
            }
            Source::Named(id) => id.clone(),
        };
        let profile = p.iam_instance_profile.as_ref().map(|p| {
            let b = IamInstanceProfileSpecification::builder();
            if p.starts_with("arn:") {
                b.arn(p).build()
            } else {
                b.name(p).build()
            }
        });
        let out = client
            .run_instances()
            .image_id(&ami)
            .instance_type(InstanceType::from(p.instance_type.as_str()))
            .subnet_id(&p.subnet_id)
            .set_security_group_ids(Some(p.security_group_ids.clone()).filter(|v| !v.is_empty()))
            .set_key_name(p.key_name.clone())
            .set_iam_instance_profile(profile)
            .min_count(1)
            .max_count(1)
            .client_token(&plan.token)
            .tag_specifications(tags(plan, ResourceType::Instance, p.name.clone()))
            .send()
            .await
            .map_err(|e| self.fail("ec2:RunInstances", e))?;
        let i = out.instances().first().ok_or_else(|| CloudError::Api {
            code: "NoInstance".into(),
            message: "RunInstances answered without an instance".into(),
        })?;
        Ok(started(&instance_outputs(i), false))
    }

    async fn volumes_where(
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
            .filter(|v| {
                !matches!(
                    v.state().map(|s| s.as_str()),
                    Some("deleting" | "deleted" | "error")
                )
            })
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
            Source::Latest => {
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
            Source::Named(id) => id.clone(),
        };
        let out = self
            .clients
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
        let found = match id {
            Some(id) => self.volumes_where(region, Some(vec![id]), None).await?,
            None => {
                self.volumes_where(region, None, Some(by_token(plan)))
                    .await?
            }
        };
        let v = found
            .first()
            .ok_or_else(|| CloudError::NotFound(format!("the volume of step `{}`", plan.step)))?;
        let state = v.state().map_or("unknown", |s| s.as_str());
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
