//! The typed parameters (`with:`) of every action in the catalogue.
//!
//! Each action's parameters are one struct, generic over its text: [`Template`] as the runbook
//! holds them (step outputs still to fill in), `String` once rendered for a run ([`Rendered`]):
//! what an adapter receives, and what an intent record holds.

mod encoding;
mod fill;
mod platform;
mod values;

use std::hash::Hash;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::template::Template;

pub use fill::Fill;
pub use platform::{Capability, CloudformationDeploy, RedshiftRestoreSnapshot, SnsPublish};
pub use values::{RestoreTime, Source, Text};

/// `ec2.start-instances`: start the (stopped) standby instance.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInstances {}

/// `ec2.launch-from-ami`: launch a replacement instance from a (golden) AMI.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "LaunchFromAmi")]
pub struct LaunchFromAmi<T = Template> {
    /// Region to launch in; defaults to the resource's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    /// An AMI id, or `latest` for the newest AMI matching `ami_name`.
    pub ami: Source<T>,
    /// Name pattern (`*` wildcards) that picks the AMI when `ami: latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_name: Option<String>,
    pub instance_type: T,
    pub subnet_id: T,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_instance_profile: Option<T>,
    /// Value of the `Name` tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<T>,
}

/// `ebs.restore-volume`: create a volume from a snapshot.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "RestoreVolume")]
pub struct RestoreVolume<T = Template> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    /// A snapshot id, or `latest` for the newest completed snapshot of the volume.
    pub snapshot: Source<T>,
    pub availability_zone: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<T>,
}

/// `ebs.attach-volume`: attach a (restored) volume to an instance.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "AttachVolume")]
pub struct AttachVolume<T = Template> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    pub volume_id: T,
    pub instance_id: T,
    /// Device name, e.g. `/dev/sdf`.
    pub device: T,
}

/// `rds.restore-snapshot`: a new DB instance from a DB snapshot.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "RdsRestoreSnapshot")]
pub struct RdsRestoreSnapshot<T = Template> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    /// A DB snapshot identifier or ARN, or `latest`.
    pub snapshot: Source<T>,
    /// Identifier of the new instance; fixed, so that a repeated restore finds and adopts it.
    pub target_id: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_az: Option<bool>,
    /// VPC security groups of the new instance (AWS's default group when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<T>,
    /// DB parameter group (the engine's default when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_group: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<bool>,
    /// Copy the instance's tags to its snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_tags: Option<bool>,
}

/// `rds.restore-point-in-time`: a new DB instance at a point in time.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "RdsRestorePointInTime")]
pub struct RdsRestorePointInTime<T = Template> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    pub restore_time: RestoreTime,
    pub target_id: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_az: Option<bool>,
    /// VPC security groups of the new instance (AWS's default group when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<T>,
    /// DB parameter group (the engine's default when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_group: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<bool>,
    /// Copy the instance's tags to its snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_tags: Option<bool>,
}

/// `rds.promote-replica`: promote a read replica (usually in the recovery region).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "RdsPromoteReplica")]
pub struct RdsPromoteReplica<T = Template> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    pub replica_id: T,
}

/// `dynamodb.restore-point-in-time`: a new table at a point in time, in any region.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "DynamodbRestorePointInTime")]
pub struct DynamodbRestorePointInTime<T = Template> {
    /// Region of the new table; defaults to the source table's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    pub restore_time: RestoreTime,
    pub target_table: T,
}

/// `dynamodb.restore-backup`: a new table from an on-demand backup.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "DynamodbRestoreBackup")]
pub struct DynamodbRestoreBackup<T = Template> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    /// A backup ARN, or `latest`.
    pub backup: Source<T>,
    pub target_table: T,
}

/// `backup.start-restore`: an AWS Backup restore job from a recovery point in a vault.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "BackupStartRestore")]
pub struct BackupStartRestore<T = Template> {
    /// Region of the vault; defaults to the resource's `backup.region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    /// A recovery point ARN, or `latest` for the newest in the resource's vault.
    pub recovery_point: Source<T>,
    pub iam_role_arn: T,
    /// Restore metadata for the resource type (e.g. `AvailabilityZone`, `DBInstanceIdentifier`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub metadata: IndexMap<String, T>,
}

/// `ga.set-traffic-dial`: the share of traffic (0–100 %) an endpoint group receives.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "SetTrafficDial")]
pub struct SetTrafficDial<T = Template> {
    pub endpoint_group_region: T,
    pub dial: u8,
    /// Only the endpoint group of this listener (its port, e.g. `443`, or its ARN); without
    /// it, every endpoint group of the accelerator in the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<T>,
}

/// `ga.set-endpoint-weights`: weights (0–255) of endpoints in a group, by endpoint id.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "SetEndpointWeights")]
pub struct SetEndpointWeights<T = Template> {
    pub endpoint_group_region: T,
    pub weights: IndexMap<T, u8>,
    /// Only the endpoint group of this listener (its port or ARN); without it, every endpoint
    /// group of the accelerator in the region that holds a named endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<T>,
}

/// `route53.set-weights`: weights (0–255) of a weighted record's sets, by set identifier.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "SetRecordWeights")]
pub struct SetRecordWeights<T = Template> {
    pub weights: IndexMap<T, u8>,
}

/// `route53.upsert-record`: replace the record's values.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "UpsertRecord")]
pub struct UpsertRecord<T = Template> {
    pub values: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
}

/// The parameters of one action call.
#[derive(Debug, Clone)]
pub enum ActionParams<T = Template> {
    StartInstances(StartInstances),
    LaunchFromAmi(LaunchFromAmi<T>),
    RestoreVolume(RestoreVolume<T>),
    AttachVolume(AttachVolume<T>),
    RdsRestoreSnapshot(RdsRestoreSnapshot<T>),
    RdsRestorePointInTime(RdsRestorePointInTime<T>),
    RdsPromoteReplica(RdsPromoteReplica<T>),
    DynamodbRestorePointInTime(DynamodbRestorePointInTime<T>),
    DynamodbRestoreBackup(DynamodbRestoreBackup<T>),
    BackupStartRestore(BackupStartRestore<T>),
    SetTrafficDial(SetTrafficDial<T>),
    SetEndpointWeights(SetEndpointWeights<T>),
    SetRecordWeights(SetRecordWeights<T>),
    UpsertRecord(UpsertRecord<T>),
    RedshiftRestoreSnapshot(RedshiftRestoreSnapshot<T>),
    CloudformationDeploy(CloudformationDeploy<T>),
    SnsPublish(SnsPublish<T>),
}

/// An action's parameters with every step output filled in.
pub type Rendered = ActionParams<String>;

impl<T> ActionParams<T> {
    /// The `region` parameter, where the action has one and the runbook set it.
    pub fn region(&self) -> Option<&T> {
        match self {
            ActionParams::LaunchFromAmi(p) => p.region.as_ref(),
            ActionParams::RestoreVolume(p) => p.region.as_ref(),
            ActionParams::AttachVolume(p) => p.region.as_ref(),
            ActionParams::RdsRestoreSnapshot(p) => p.region.as_ref(),
            ActionParams::RdsRestorePointInTime(p) => p.region.as_ref(),
            ActionParams::RdsPromoteReplica(p) => p.region.as_ref(),
            ActionParams::DynamodbRestorePointInTime(p) => p.region.as_ref(),
            ActionParams::DynamodbRestoreBackup(p) => p.region.as_ref(),
            ActionParams::BackupStartRestore(p) => p.region.as_ref(),
            ActionParams::RedshiftRestoreSnapshot(p) => p.region.as_ref(),
            ActionParams::CloudformationDeploy(p) => p.region.as_ref(),
            ActionParams::SetTrafficDial(p) => Some(&p.endpoint_group_region),
            ActionParams::SetEndpointWeights(p) => Some(&p.endpoint_group_region),
            ActionParams::StartInstances(_)
            | ActionParams::SetRecordWeights(_)
            | ActionParams::UpsertRecord(_)
            | ActionParams::SnsPublish(_) => None,
        }
    }

    /// The recovery-point parameters, as (key, value, id prefixes accepted, example id).
    pub fn sources(
        &self,
    ) -> Vec<(
        &'static str,
        &Source<T>,
        &'static [&'static str],
        &'static str,
    )> {
        match self {
            ActionParams::LaunchFromAmi(p) => vec![("ami", &p.ami, &["ami-"], "ami-0abc1234")],
            ActionParams::RestoreVolume(p) => {
                vec![("snapshot", &p.snapshot, &["snap-"], "snap-0abc1234")]
            }
            ActionParams::RdsRestoreSnapshot(p) => {
                vec![("snapshot", &p.snapshot, &[], "orders-prod-2026-11-21")]
            }
            ActionParams::RedshiftRestoreSnapshot(p) => vec![(
                "snapshot",
                &p.snapshot,
                &[],
                "rs:warehouse-2026-11-21-03-00-00",
            )],
            ActionParams::DynamodbRestoreBackup(p) => vec![(
                "backup",
                &p.backup,
                &["arn:"],
                "arn:aws:dynamodb:us-east-1:111122223333:table/orders/backup/01700000000000-abcd1234",
            )],
            ActionParams::BackupStartRestore(p) => vec![(
                "recovery_point",
                &p.recovery_point,
                &["arn:"],
                "arn:aws:ec2:us-west-2::snapshot/snap-0abc1234",
            )],
            _ => Vec::new(),
        }
    }

    /// Whether the change restores from the newest recovery point or restorable time
    /// (`latest`), which the cloud picks when the step runs.
    pub fn uses_latest(&self) -> bool {
        let latest_time = match self {
            ActionParams::RdsRestorePointInTime(p) => p.restore_time == RestoreTime::Latest,
            ActionParams::DynamodbRestorePointInTime(p) => p.restore_time == RestoreTime::Latest,
            _ => false,
        };
        latest_time
            || self
                .sources()
                .iter()
                .any(|(_, source, _, _)| matches!(source, Source::Latest))
    }

    /// The fixed name of what a restore creates (RDS instance, Redshift cluster or DynamoDB
    /// table).
    pub fn target_name(&self) -> Option<&T> {
        match self {
            ActionParams::RdsRestoreSnapshot(p) => Some(&p.target_id),
            ActionParams::RdsRestorePointInTime(p) => Some(&p.target_id),
            ActionParams::DynamodbRestorePointInTime(p) => Some(&p.target_table),
            ActionParams::DynamodbRestoreBackup(p) => Some(&p.target_table),
            ActionParams::RedshiftRestoreSnapshot(p) => Some(&p.target_id),
            _ => None,
        }
    }
}
