//! EC2 changes: start the standby, launch a replacement from an AMI, and follow both.

use aws_sdk_ec2::types::{
    Filter, IamInstanceProfileSpecification, Instance, InstanceType, ResourceType, Tag,
    TagSpecification,
};

use super::{params, progress, region, started, RUN_TAG, STEP_TAG, TOKEN_TAG};
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::params::Source;

pub(super) fn tags(
    plan: &ActionPlan,
    kind: ResourceType,
    name: Option<String>,
) -> TagSpecification {
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
pub(super) fn by_token(plan: &ActionPlan) -> Vec<Filter> {
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
    /// Instances by id or filter, leaving out those on their way out (unless `all`).
    async fn instances_where(
        &self,
        region: &str,
        ids: Option<Vec<String>>,
        filter: Option<Vec<Filter>>,
    ) -> Result<Vec<Instance>, CloudError> {
        let mut all = self.all_instances_where(region, ids, filter).await?;
        all.retain(|i| !matches!(instance_state(i), "terminated" | "shutting-down"));
        Ok(all)
    }

    async fn all_instances_where(
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
            .collect())
    }

    pub(super) async fn start_instances(&self, plan: &ActionPlan) -> Result<Started, CloudError> {
        self.clients
            .change()
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
        // Every state, the terminal ones too: an instance that stopped or went away while
        // starting ends the step, where leaving it out would mean "not found" until the timeout.
        let found = match plan.made.get("instance_id").filter(|s| !s.is_empty()) {
            Some(id) => {
                self.all_instances_where(region, Some(vec![id.clone()]), None)
                    .await?
            }
            None => {
                self.all_instances_where(region, None, Some(by_token(plan)))
                    .await?
            }
        };
        let i = found
            .first()
            .ok_or_else(|| CloudError::NotFound(format!("the instance of step `{}`", plan.step)))?;
        let mut p = progress(instance_state(i));
        if matches!(
            instance_state(i),
            "stopped" | "stopping" | "terminated" | "shutting-down"
        ) {
            let reason = i
                .state_reason()
                .and_then(|r| r.message())
                .unwrap_or("no reason given");
            p.failed = Some(format!(
                "the instance did not start ({reason}); see its state reason in the EC2 console, then retry"
            ));
        }
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
        let out = self
            .clients
            .change()
            .ec2(region)
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
}
