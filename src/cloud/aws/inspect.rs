//! Preflight's questions, asked of AWS (reads only): does what a step names exist, who is the
//! caller in a region, and what does IAM's policy simulator say the caller may call.

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};

use chrono::{DateTime, Utc};

use super::{resolve, AwsCloud};
use crate::cloud::{Denial, Inspect, PermissionCheck};
use crate::engine::preflight::{Named, NamedKind};
use crate::model::{CloudError, Identity};
use crate::runbook::{ActionCall, Resource};

/// Whether a failed look says the thing is not there (`Ok(false)`), else the error.
fn absent(e: CloudError) -> Result<bool, CloudError> {
    match e {
        CloudError::NotFound(_) => Ok(false),
        e => Err(e),
    }
}

/// The same for an Availability Zone, which EC2 says is an invalid value when it is unknown.
fn absent_zone(e: CloudError) -> Result<bool, CloudError> {
    match e {
        CloudError::Api { code, .. } if code == "InvalidParameterValue" => Ok(false),
        e => absent(e),
    }
}

/// The role's name in a role ARN (`arn:aws:iam::A:role/PATH/NAME`), or the text as given.
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl AwsCloud {
    /// The ARN IAM's simulator takes for the caller: an assumed role's role (found with
    /// GetRole, as its path is not in the session's ARN), else the caller's own ARN.
    async fn policy_source(&self, caller: &Identity) -> Result<String, CloudError> {
        let Some(rest) = caller.arn.split(":assumed-role/").nth(1) else {
            return Ok(caller.arn.clone());
        };
        let name = rest.split('/').next().unwrap_or(rest);
        let out = self
            .clients()
            .iam("us-east-1")
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| self.fail("iam:GetRole", e))?;
        Ok(out
            .role()
            .map(|r| r.arn().to_string())
            .unwrap_or_else(|| caller.arn.clone()))
    }
}

impl Inspect for AwsCloud {
    async fn exists(&self, thing: &Named) -> Result<bool, CloudError> {
        self.for_account(thing.account.as_deref())
            .exists_here(thing)
            .await
    }

    async fn caller_in(&self, region: &str) -> Result<Identity, CloudError> {
        self.caller_here(region).await
    }

    async fn denied(
        &self,
        caller: &Identity,
        checks: &[PermissionCheck],
    ) -> Result<Option<Vec<Denial>>, CloudError> {
        // A step in another account is done as the role assumed there: simulated as that role,
        // through that account's clients.
        let account_of = |step: &str| {
            let step = self.runbook.step(step)?;
            let crate::runbook::StepBody::Action { resource, .. } = &step.body else {
                return None;
            };
            let account = self.runbook.resources.get(resource)?.account.clone()?;
            self.accounts.contains_key(&account).then_some(account)
        };
        let mut denied = Vec::new();
        let (mine, theirs): (Vec<_>, Vec<_>) = checks
            .iter()
            .cloned()
            .partition(|c| account_of(&c.step).is_none());
        if !mine.is_empty() {
            let source = self.policy_source(caller).await?;
            denied.extend(self.simulate(&source, &mine).await?);
        }
        for check in theirs {
            let Some(account) = account_of(&check.step) else {
                continue;
            };
            let (Some(other), Some(role)) = (
                self.accounts.get(&account),
                self.runbook.accounts.get(&account),
            ) else {
                continue;
            };
            denied.extend(other.simulate(&role.role, &[check]).await?);
        }
        Ok(Some(denied))
    }

    async fn health_note(&self) -> Option<String> {
        self.health_events().await.note
    }

    async fn newest_point(
        &self,
        call: &ActionCall,
        resource: &Resource,
    ) -> Result<Option<(String, DateTime<Utc>)>, CloudError> {
        self.for_account(resource.account.as_deref())
            .newest_point_here(call, resource)
            .await
    }
}

impl AwsCloud {
    async fn exists_here(&self, thing: &Named) -> Result<bool, CloudError> {
        let c = self.clients();
        let r = thing.region.as_str();
        let id = thing.id.clone();
        match thing.kind {
            NamedKind::DbInstance => match c
                .rds(r)
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
            {
                Ok(out) => Ok(!out.db_instances().is_empty()),
                Err(e) => absent(self.fail("rds:DescribeDBInstances", e)),
            },
            NamedKind::RedshiftCluster => {
                let call = c.redshift(r).describe_clusters().cluster_identifier(id);
                match call.send().await {
                    Ok(out) => Ok(!out.clusters().is_empty()),
                    Err(e) => absent(self.fail("redshift:DescribeClusters", e)),
                }
            }
            NamedKind::Table => match c.dynamodb(r).describe_table().table_name(id).send().await {
                Ok(_) => Ok(true),
                Err(e) => absent(self.fail("dynamodb:DescribeTable", e)),
            },
            NamedKind::DbSubnetGroup => match c
                .rds(r)
                .describe_db_subnet_groups()
                .db_subnet_group_name(id)
                .send()
                .await
            {
                Ok(out) => Ok(!out.db_subnet_groups().is_empty()),
                Err(e) => absent(self.fail("rds:DescribeDBSubnetGroups", e)),
            },
            NamedKind::SecurityGroup => {
                match c
                    .ec2(r)
                    .describe_security_groups()
                    .group_ids(id)
                    .send()
                    .await
                {
                    Ok(out) => Ok(!out.security_groups().is_empty()),
                    Err(e) => absent(self.fail("ec2:DescribeSecurityGroups", e)),
                }
            }
            NamedKind::Subnet => match c.ec2(r).describe_subnets().subnet_ids(id).send().await {
                Ok(out) => Ok(!out.subnets().is_empty()),
                Err(e) => absent(self.fail("ec2:DescribeSubnets", e)),
            },
            NamedKind::AvailabilityZone => match c
                .ec2(r)
                .describe_availability_zones()
                .zone_names(id)
                .send()
                .await
            {
                Ok(out) => Ok(!out.availability_zones().is_empty()),
                Err(e) => absent_zone(self.fail("ec2:DescribeAvailabilityZones", e)),
            },
            NamedKind::BackupVault => match c
                .backup(r)
                .describe_backup_vault()
                .backup_vault_name(id)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) => absent(self.fail("backup:DescribeBackupVault", e)),
            },
            NamedKind::Role => match c
                .iam("us-east-1")
                .get_role()
                .role_name(role_name(&id))
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) => absent(self.fail("iam:GetRole", e)),
            },
            NamedKind::HostedZone => {
                match c.route53("us-east-1").get_hosted_zone().id(id).send().await {
                    Ok(_) => Ok(true),
                    Err(e) => absent(self.fail("route53:GetHostedZone", e)),
                }
            }
        }
    }

    async fn caller_here(&self, region: &str) -> Result<Identity, CloudError> {
        match self
            .clients()
            .sts(region)
            .get_caller_identity()
            .send()
            .await
        {
            Ok(out) => Ok(Identity {
                account: out.account().unwrap_or_default().to_string(),
                arn: out.arn().unwrap_or_default().to_string(),
                user_id: out.user_id().unwrap_or_default().to_string(),
            }),
            Err(e) => Err(self.fail("sts:GetCallerIdentity", e)),
        }
    }

    /// What IAM's policy simulator says `source` may not do of `checks`, asked of this
    /// backend's account.
    async fn simulate(
        &self,
        source: &str,
        checks: &[PermissionCheck],
    ) -> Result<Vec<Denial>, CloudError> {
        let iam = self.clients().iam("us-east-1");
        let mut denied = Vec::new();
        for check in checks {
            let mut req = iam
                .simulate_principal_policy()
                .policy_source_arn(source)
                .set_action_names(Some(check.actions.clone()))
                .set_resource_arns(Some(check.resources.clone()));
            for (key, value) in &check.context {
                req = req.context_entries(
                    ContextEntry::builder()
                        .context_key_name(key)
                        .context_key_values(value)
                        .context_key_type(ContextKeyTypeEnum::String)
                        .build(),
                );
            }
            // The simulator pages its results; a step's few actions fit in the first pages.
            let mut marker: Option<String> = None;
            for _ in 0..20 {
                let out = req
                    .clone()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| self.fail("iam:SimulatePrincipalPolicy", e))?;
                for r in out.evaluation_results() {
                    let decision = r.eval_decision().as_str();
                    if decision == "allowed" {
                        continue;
                    }
                    let on: Vec<String> = r
                        .resource_specific_results()
                        .iter()
                        .filter(|x| x.eval_resource_decision().as_str() != "allowed")
                        .map(|x| x.eval_resource_name().to_string())
                        .collect();
                    denied.push(Denial {
                        step: check.step.clone(),
                        missing_context: r.missing_context_values().to_vec(),
                        action: r.eval_action_name().to_string(),
                        resource: if on.is_empty() {
                            r.eval_resource_name().unwrap_or("*").to_string()
                        } else {
                            on.join(", ")
                        },
                        decision: decision.to_string(),
                    });
                }
                marker = out
                    .marker()
                    .map(str::to_string)
                    .filter(|_| out.is_truncated());
                if marker.is_none() {
                    break;
                }
            }
            if marker.is_some() {
                return Err(CloudError::Refused(format!(
                    "IAM's policy simulator kept paging past 20 pages for step `{}`",
                    check.step
                )));
            }
        }
        Ok(denied)
    }
}

impl AwsCloud {
    /// The newest recovery point a step restores from, asked of this backend's account.
    async fn newest_point_here(
        &self,
        call: &ActionCall,
        resource: &Resource,
    ) -> Result<Option<(String, DateTime<Utc>)>, CloudError> {
        use crate::runbook::ActionKind as A;
        let Some(region) = call.region(resource) else {
            return Err(CloudError::Refused(
                "the step's region is known only at run time".into(),
            ));
        };
        let region = region.as_str();
        let id = resource.id.clone();
        match call.action {
            A::RdsRestoreSnapshot => {
                let id = id.to_lowercase();
                Ok(
                    resolve::db_snapshots_of(self, region, std::slice::from_ref(&id))
                        .await?
                        .remove(&id),
                )
            }
            A::EbsRestoreVolume if Some(region) == resource.region.as_deref() => Ok(
                resolve::snapshots_of(self, region, std::slice::from_ref(&id))
                    .await?
                    .remove(&id),
            ),
            A::EbsRestoreVolume => resolve::copies_of(self, region, &id).await,
            A::RedshiftRestoreSnapshot => Ok(self
                .cluster_snapshots(region, Some(&id))
                .await?
                .remove(&id.to_lowercase())),
            A::DynamodbRestoreBackup => Ok(resolve::table_backups(self, region, Some(&id))
                .await?
                .remove(&id)),
            A::BackupStartRestore => {
                let Some(b) = &resource.backup else {
                    return Ok(None);
                };
                Ok(
                    resolve::vault_points(self, &b.vault, region, b.account.as_deref())
                        .await?
                        .into_iter()
                        .filter(|p| resolve::backup_matches(resource, &p.resource_arn))
                        .max_by_key(|p| p.created)
                        .map(|p| (p.arn, p.created)),
                )
            }
            _ => Err(CloudError::Refused(format!(
                "{} does not restore from a recovery point it finds",
                call.action.name()
            ))),
        }
    }
}
