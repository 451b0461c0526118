//! What pilotlight calls at AWS, and what IAM must allow for it: the single source for the
//! least-privilege policy (`pilotlight iam`), the read-only guard's allowlist, the permission
//! checks of `preflight` and the README's list of permissions.
//!
//! [`APIS`] names every operation the AWS backend may send, as the request guard names it
//! (`service:Operation`, the SDK's operation), with the IAM actions AWS authorizes it by and
//! whether it only reads. [`action_ops`] and [`observe_ops`] say which operations each catalogue
//! action and each observation sends; [`policy`] scopes them to a runbook's resources.

mod apis;
mod needs;
pub mod policy;
mod readme;
mod scope;

pub use readme::permissions_markdown;

use super::catalogue::ActionKind;
use super::model::{Resource, ResourceKind};

pub use apis::{Api, APIS};

/// The catalogue entry of `op` (`service:Operation`).
pub fn api(op: &str) -> Option<&'static Api> {
    APIS.iter().find(|a| a.op == op)
}

/// Whether a read-only console may send `op`: a catalogued read.
pub fn may_read_only(op: &str) -> bool {
    api(op).is_some_and(|a| a.read)
}

/// The operations an action sends: its preview, its start (after looking for what an earlier
/// attempt made), its progress and, after a crash, the search for what it made.
pub fn action_ops(action: ActionKind) -> &'static [&'static str] {
    use ActionKind as A;
    match action {
        A::Ec2StartInstances => &["ec2:DescribeInstances", "ec2:StartInstances"],
        A::Ec2LaunchFromAmi => &[
            "ec2:DescribeImages",
            "ec2:DescribeInstances",
            "ec2:RunInstances",
        ],
        A::EbsRestoreVolume => &[
            "ec2:DescribeSnapshots",
            "ec2:DescribeVolumes",
            "ec2:CreateVolume",
        ],
        A::EbsAttachVolume => &["ec2:DescribeVolumes", "ec2:AttachVolume"],
        A::RdsRestoreSnapshot => &[
            "rds:DescribeDBSnapshots",
            "rds:DescribeDBInstances",
            "rds:RestoreDBInstanceFromDBSnapshot",
        ],
        A::RdsRestorePointInTime => &[
            "rds:DescribeDBInstances",
            "rds:DescribeDBInstanceAutomatedBackups",
            "rds:RestoreDBInstanceToPointInTime",
        ],
        A::RdsPromoteReplica => &["rds:DescribeDBInstances", "rds:PromoteReadReplica"],
        A::DynamodbRestorePointInTime => &[
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:ListTagsOfResource",
            "dynamodb:RestoreTableToPointInTime",
            "dynamodb:TagResource",
        ],
        A::DynamodbRestoreBackup => &[
            "dynamodb:ListBackups",
            "dynamodb:DescribeTable",
            "dynamodb:ListTagsOfResource",
            "dynamodb:RestoreTableFromBackup",
            "dynamodb:TagResource",
        ],
        A::BackupStartRestore => &[
            "backup:ListRecoveryPointsByBackupVault",
            "backup:GetRecoveryPointRestoreMetadata",
            "backup:ListRestoreJobs",
            "backup:DescribeRestoreJob",
            "backup:StartRestoreJob",
        ],
        A::GaSetTrafficDial | A::GaSetEndpointWeights => &[
            "globalaccelerator:DescribeAccelerator",
            "globalaccelerator:ListListeners",
            "globalaccelerator:ListEndpointGroups",
            "globalaccelerator:DescribeEndpointGroup",
            "globalaccelerator:UpdateEndpointGroup",
        ],
        A::Route53SetWeights | A::Route53UpsertRecord => &[
            "route53:ListResourceRecordSets",
            "route53:ChangeResourceRecordSets",
            "route53:GetChange",
        ],
        A::RedshiftRestoreSnapshot => &[
            "redshift:DescribeClusterSnapshots",
            "redshift:DescribeClusters",
            "redshift:RestoreFromClusterSnapshot",
        ],
        A::CloudformationDeploy => &[
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeChangeSet",
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:DescribeStackEvents",
        ],
        A::SnsPublish => &["sns:Publish"],
    }
}

/// The operations one look at a resource of `kind` sends (its health and its recovery points).
pub fn kind_ops(kind: ResourceKind) -> &'static [&'static str] {
    use ResourceKind as R;
    match kind {
        R::Ec2Instance => &["ec2:DescribeInstanceStatus"],
        R::EbsVolume => &["ec2:DescribeVolumes", "ec2:DescribeSnapshots"],
        R::RdsInstance => &["rds:DescribeDBInstances", "rds:DescribeDBSnapshots"],
        R::DynamodbTable => &[
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:ListBackups",
        ],
        R::GlobalAccelerator => &[
            "globalaccelerator:ListListeners",
            "globalaccelerator:ListEndpointGroups",
        ],
        R::Route53Record => &["route53:ListResourceRecordSets"],
        R::CloudwatchAlarm => &["cloudwatch:DescribeAlarms"],
        R::RedshiftCluster => &[
            "redshift:DescribeClusters",
            "redshift:DescribeClusterSnapshots",
        ],
        R::CloudformationStack => &["cloudformation:DescribeStacks"],
        R::SnsTopic => &["sns:GetTopicAttributes"],
    }
}

/// The operations one look at `resource` sends: its kind's, its AWS Backup vault's and its
/// Route 53 health check's.
pub fn observe_ops(resource: &Resource) -> Vec<&'static str> {
    let mut ops = kind_ops(resource.kind).to_vec();
    if resource.backup.is_some() {
        ops.push("backup:ListRecoveryPointsByBackupVault");
    }
    if resource.health_check.is_some() {
        ops.extend(["route53:GetHealthCheck", "route53:GetHealthCheckStatus"]);
    }
    if !resource.alarms.is_empty() && !ops.contains(&"cloudwatch:DescribeAlarms") {
        ops.push("cloudwatch:DescribeAlarms");
    }
    ops
}

/// What `preflight` sends to see that what a step's parameters name exists (subnet groups,
/// security groups, Availability Zones, vaults, roles, hosted zones, a replica) or is free (a
/// restore's target).
pub fn preflight_ops(call: &super::model::ActionCall) -> Vec<&'static str> {
    use super::params::ActionParams as P;
    let mut ops = Vec::new();
    match &call.params {
        P::LaunchFromAmi(x) => {
            ops.push("ec2:DescribeSubnets");
            if !x.security_group_ids.is_empty() {
                ops.push("ec2:DescribeSecurityGroups");
            }
        }
        P::RestoreVolume(_) => ops.push("ec2:DescribeAvailabilityZones"),
        P::RdsRestoreSnapshot(_) | P::RdsRestorePointInTime(_) => {
            ops.push("rds:DescribeDBInstances");
            if let Some(x) = call.params.rds_placement() {
                if x.subnet_group.is_some() {
                    ops.push("rds:DescribeDBSubnetGroups");
                }
                if !x.security_groups.is_empty() {
                    ops.push("ec2:DescribeSecurityGroups");
                }
            }
        }
        P::RdsPromoteReplica(_) => ops.push("rds:DescribeDBInstances"),
        P::DynamodbRestorePointInTime(_) | P::DynamodbRestoreBackup(_) => {
            ops.push("dynamodb:DescribeTable")
        }
        P::BackupStartRestore(_) => ops.extend(["backup:DescribeBackupVault", "iam:GetRole"]),
        P::SetRecordWeights(_) | P::UpsertRecord(_) => ops.push("route53:GetHostedZone"),
        P::RedshiftRestoreSnapshot(x) => {
            ops.push("redshift:DescribeClusters");
            if !x.security_groups.is_empty() {
                ops.push("ec2:DescribeSecurityGroups");
            }
        }
        _ => {}
    }
    ops
}

/// What the state store sends: reading runs and following them, and (`write`) locking, leasing
/// and mirroring.
pub fn store_ops(write: bool) -> &'static [&'static str] {
    if write {
        &[
            "s3:GetObject",
            "s3:ListObjectsV2",
            "s3:GetBucketVersioning",
            "s3:GetObjectLockConfiguration",
            "s3:GetBucketLocation",
            "s3:PutObject",
            "s3:DeleteObject",
        ]
    } else {
        &[
            "s3:GetObject",
            "s3:ListObjectsV2",
            "s3:GetBucketVersioning",
            "s3:GetObjectLockConfiguration",
            "s3:GetBucketLocation",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_catalogued_once_with_its_own_iam_action_first() {
        for (i, a) in APIS.iter().enumerate() {
            assert!(
                APIS[..i].iter().all(|b| b.op != a.op),
                "{} is listed twice",
                a.op
            );
            let (service, name) = a.op.split_once(':').unwrap();
            if a.op != "sts:GetCallerIdentity" {
                let first = a.iam.first().unwrap_or(&"");
                assert!(first.starts_with(&format!("{service}:")), "{}", a.op);
            }
            for action in a.iam {
                let (svc, act) = action.split_once(':').unwrap();
                assert!(!svc.is_empty() && !act.is_empty() && !action.contains('*'));
            }
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn every_action_and_observation_sends_only_catalogued_operations() {
        for a in ActionKind::ALL {
            for op in action_ops(a) {
                assert!(api(op).is_some(), "{}: {op}", a.name());
            }
            // The catalogue's named API is among them, as a change.
            let api_named = a.spec().api;
            assert!(action_ops(a).contains(&api_named), "{}", a.name());
            assert!(!api(api_named).unwrap().read, "{api_named}");
        }
        for k in ResourceKind::ALL {
            for op in kind_ops(k) {
                assert!(api(op).is_some_and(|a| a.read), "{}: {op}", k.name());
            }
        }
        for op in store_ops(true) {
            assert!(api(op).is_some(), "{op}");
        }
        assert!(store_ops(false).iter().all(|op| may_read_only(op)));
    }

    #[test]
    fn reads_the_old_name_test_blocked_are_allowed_and_changes_are_not() {
        for op in [
            "iam:SimulatePrincipalPolicy",
            "sts:AssumeRole",
            "s3:GetObject",
            "s3:ListObjectsV2",
        ] {
            assert!(may_read_only(op), "{op}");
        }
        for op in [
            "ec2:RunInstances",
            "s3:PutObject",
            "route53:ChangeResourceRecordSets",
            "ec2:DescribeNothing",
            "ec2:GetPasswordData",
        ] {
            assert!(!may_read_only(op), "{op}");
        }
    }
}
