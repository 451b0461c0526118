//! Changes: every catalogue action as start (adopting what an earlier attempt made), poll and
//! find (after a crash, what an in-flight request made). What a change creates carries the
//! attempt's token as the `pilotlight:token` tag, or has the runbook's fixed name, so it can
//! always be found again; EC2 ClientToken and AWS Backup IdempotencyToken carry it too.

mod backup;
mod compute;
mod ga;
mod notify;
mod rds;
mod rds_backups;
mod redshift;
mod route53;
mod stacks;
mod tables;
mod volumes;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::{ActionKind, Resource};

/// The tag that names the attempt that made a resource.
pub(super) const TOKEN_TAG: &str = "pilotlight:token";
pub(super) const STEP_TAG: &str = "pilotlight:step";
pub(super) const RUN_TAG: &str = "pilotlight:run";

impl AwsCloud {
    pub(super) async fn start_action(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        // A repeat (a retry of the request, a resume) adopts what is already there.
        if let Some(made) = self.find_made(plan, resource).await? {
            return Ok(Started {
                adopted: true,
                ..made
            });
        }
        match self.send_change(plan, resource, now).await {
            // The request went out once and no answer came (or AWS says it exists already):
            // what it made, if anything, is this step's to adopt, never to make again.
            Err(e) if e.is_no_answer() || already_exists(&e) => {
                match self.find_made(plan, resource).await {
                    Ok(Some(made)) => Ok(Started {
                        adopted: true,
                        ..made
                    }),
                    Ok(None) => Err(e),
                    Err(found) if already_exists(&e) => Err(found),
                    Err(_) => Err(e),
                }
            }
            other => other,
        }
    }

    /// Sends the change's request (once: see `clients`).
    async fn send_change(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        use ActionKind as A;
        match plan.action {
            A::Ec2StartInstances => self.start_instances(plan).await,
            A::Ec2LaunchFromAmi => self.launch_from_ami(plan).await,
            A::EbsRestoreVolume => self.restore_volume(plan, resource).await,
            A::EbsAttachVolume => self.attach_volume(plan).await,
            A::RdsRestoreSnapshot => self.rds_restore_snapshot(plan, resource).await,
            A::RdsRestorePointInTime => self.rds_restore_pitr(plan, resource).await,
            A::RdsPromoteReplica => self.rds_promote(plan).await,
            A::DynamodbRestorePointInTime => self.table_restore_pitr(plan, resource, now).await,
            A::DynamodbRestoreBackup => self.table_restore_backup(plan, resource).await,
            A::BackupStartRestore => self.backup_restore(plan, resource).await,
            A::GaSetTrafficDial | A::GaSetEndpointWeights => self.ga_update(plan, resource).await,
            A::Route53SetWeights | A::Route53UpsertRecord => {
                self.route53_change(plan, resource).await
            }
            A::RedshiftRestoreSnapshot => self.redshift_restore(plan, resource).await,
            A::CloudformationDeploy => self.deploy(plan).await,
            A::SnsPublish => self.publish(plan, resource).await,
        }
    }

    pub(super) async fn poll_action(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Progress, CloudError> {
        use ActionKind as A;
        match plan.action {
            A::Ec2StartInstances | A::Ec2LaunchFromAmi => self.poll_instance(plan).await,
            A::EbsRestoreVolume | A::EbsAttachVolume => self.poll_volume(plan).await,
            A::RdsRestoreSnapshot | A::RdsRestorePointInTime | A::RdsPromoteReplica => {
                self.poll_db(plan).await
            }
            A::DynamodbRestorePointInTime | A::DynamodbRestoreBackup => self.poll_table(plan).await,
            A::BackupStartRestore => self.poll_backup(plan).await,
            A::GaSetTrafficDial | A::GaSetEndpointWeights => self.poll_ga(resource).await,
            A::Route53SetWeights | A::Route53UpsertRecord => self.poll_change(plan).await,
            A::RedshiftRestoreSnapshot => self.poll_cluster(plan).await,
            A::CloudformationDeploy => self.poll_deploy(plan).await,
            // Published is delivered to SNS: nothing more to follow.
            A::SnsPublish => Ok(progress("sent")),
        }
    }

    /// What an earlier request of this attempt made, if anything reached AWS.
    pub(super) async fn find_made(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Option<Started>, CloudError> {
        use ActionKind as A;
        match plan.action {
            A::Ec2StartInstances => self.find_started_instance(plan).await,
            A::Ec2LaunchFromAmi => self.find_launched(plan).await,
            A::EbsRestoreVolume => self.find_volume(plan).await,
            A::EbsAttachVolume => self.find_attachment(plan).await,
            A::RdsRestoreSnapshot | A::RdsRestorePointInTime => self.find_db(plan).await,
            A::RdsPromoteReplica => self.find_promoted(plan).await,
            A::DynamodbRestorePointInTime | A::DynamodbRestoreBackup => {
                self.find_table(plan, resource).await
            }
            A::BackupStartRestore => self.find_restore_job(plan, resource).await,
            A::GaSetTrafficDial | A::GaSetEndpointWeights => self.find_ga(plan, resource).await,
            A::Route53SetWeights | A::Route53UpsertRecord => {
                self.find_route53(plan, resource).await
            }
            A::RedshiftRestoreSnapshot => self.find_cluster(plan).await,
            A::CloudformationDeploy => self.find_deploy(plan).await,
            // Nothing to look for before the first send; see `reconcile_action`.
            A::SnsPublish => Ok(None),
        }
    }

    /// After a crash with the action in flight: what its request made, if anything reached
    /// AWS; for a publish to a standard topic, a question for the operator.
    pub(super) async fn reconcile_action(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        match plan.action {
            ActionKind::SnsPublish => self.find_published(plan, resource, now),
            _ => self.find_made(plan, resource).await,
        }
    }
}

/// Whether AWS refused a change because what it would make exists already (a request of this
/// attempt that got through without its answer, or someone else's resource of the same name).
fn already_exists(e: &CloudError) -> bool {
    matches!(e, CloudError::Api { code, .. }
        if code.contains("AlreadyExists")
            || code == "TableAlreadyExistsException"
            || code == "ResourceInUseException"
            || code == "IdempotentParameterMismatch")
}

/// The plan's region (every regional action has one by the time it is planned).
pub(super) fn region(plan: &ActionPlan) -> Result<&str, CloudError> {
    plan.region
        .as_deref()
        .ok_or_else(|| CloudError::Refused(format!("step `{}` has no region to act in", plan.step)))
}

/// The plan's parameters as its action's own struct: `params!(plan, RestoreVolume)`. A plan
/// always holds its action's parameters; anything else is refused, not guessed at.
macro_rules! params {
    ($plan:expr, $variant:ident) => {
        match &$plan.params {
            $crate::runbook::params::ActionParams::$variant(p) => p,
            _ => {
                return Err($crate::model::CloudError::Refused(format!(
                    "step `{}`: the parameters are not those of {}",
                    $plan.step,
                    $plan.action.name()
                )))
            }
        }
    };
}
pub(super) use params;

/// `Started` from output pairs.
pub(super) fn started(outputs: &[(&str, String)], adopted: bool) -> Started {
    Started {
        outputs: outputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        adopted,
    }
}

/// A progress report at `state`.
pub(super) fn progress(state: impl Into<String>) -> Progress {
    Progress {
        state: state.into(),
        ..Progress::default()
    }
}
