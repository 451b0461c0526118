//! The typed parameters (`with:`) of every action in the catalogue.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use super::template::Template;

/// A recovery point chosen by id, or `latest` to take the newest one when the step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Latest,
    Named(Template),
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Source, D::Error> {
        let t = Template::deserialize(d)?;
        Ok(match t.as_literal() {
            Some(s) if s == "latest" => Source::Latest,
            _ => Source::Named(t),
        })
    }
}

impl JsonSchema for Source {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Source".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`latest`, or the id/ARN of a specific snapshot, backup or recovery point"
        })
    }
}

/// The time to restore to: `latest` (latest restorable time) or an RFC 3339 timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTime {
    Latest,
    At(DateTime<Utc>),
}

impl<'de> Deserialize<'de> for RestoreTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RestoreTime, D::Error> {
        let s = String::deserialize(d)?;
        if s == "latest" {
            return Ok(RestoreTime::Latest);
        }
        DateTime::parse_from_rfc3339(&s)
            .map(|t| RestoreTime::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{s}` is not `latest` or an RFC 3339 time such as 2026-11-21T03:00:00Z"
                ))
            })
    }
}

impl JsonSchema for RestoreTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RestoreTime".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`latest` (the latest restorable time) or an RFC 3339 time"
        })
    }
}

/// `ec2.start-instances`: start the (stopped) standby instance.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInstances {}

/// `ec2.launch-from-ami`: launch a replacement instance from a (golden) AMI.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchFromAmi {
    /// Region to launch in; defaults to the resource's region.
    pub region: Option<Template>,
    /// An AMI id, or `latest` for the newest AMI matching `ami_name`.
    pub ami: Source,
    /// Name pattern (`*` wildcards) that picks the AMI when `ami: latest`.
    pub ami_name: Option<String>,
    pub instance_type: Template,
    pub subnet_id: Template,
    #[serde(default)]
    pub security_group_ids: Vec<Template>,
    pub key_name: Option<Template>,
    pub iam_instance_profile: Option<Template>,
    /// Value of the `Name` tag.
    pub name: Option<Template>,
}

/// `ebs.restore-volume`: create a volume from a snapshot.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreVolume {
    pub region: Option<Template>,
    /// A snapshot id, or `latest` for the newest completed snapshot of the volume.
    pub snapshot: Source,
    pub availability_zone: Template,
    pub volume_type: Option<Template>,
}

/// `ebs.attach-volume`: attach a (restored) volume to an instance.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachVolume {
    pub region: Option<Template>,
    pub volume_id: Template,
    pub instance_id: Template,
    /// Device name, e.g. `/dev/sdf`.
    pub device: Template,
}

/// `rds.restore-snapshot`: a new DB instance from a DB snapshot.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RdsRestoreSnapshot {
    pub region: Option<Template>,
    /// A DB snapshot identifier or ARN, or `latest`.
    pub snapshot: Source,
    /// Identifier of the new instance; fixed, so that a repeated restore finds and adopts it.
    pub target_id: Template,
    pub instance_class: Option<Template>,
    pub subnet_group: Option<Template>,
    pub multi_az: Option<bool>,
}

/// `rds.restore-point-in-time`: a new DB instance at a point in time.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RdsRestorePointInTime {
    pub region: Option<Template>,
    pub restore_time: RestoreTime,
    pub target_id: Template,
    pub instance_class: Option<Template>,
    pub subnet_group: Option<Template>,
}

/// `rds.promote-replica`: promote a read replica (usually in the recovery region).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RdsPromoteReplica {
    pub region: Option<Template>,
    pub replica_id: Template,
}

/// `dynamodb.restore-point-in-time`: a new table at a point in time, in any region.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamodbRestorePointInTime {
    /// Region of the new table; defaults to the source table's region.
    pub region: Option<Template>,
    pub restore_time: RestoreTime,
    pub target_table: Template,
}

/// `dynamodb.restore-backup`: a new table from an on-demand backup.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamodbRestoreBackup {
    pub region: Option<Template>,
    /// A backup ARN, or `latest`.
    pub backup: Source,
    pub target_table: Template,
}

/// `backup.start-restore`: an AWS Backup restore job from a recovery point in a vault.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupStartRestore {
    /// Region of the vault; defaults to the resource's `backup.region`.
    pub region: Option<Template>,
    /// A recovery point ARN, or `latest` for the newest in the resource's vault.
    pub recovery_point: Source,
    pub iam_role_arn: Template,
    /// Restore metadata for the resource type (e.g. `AvailabilityZone`, `DBInstanceIdentifier`).
    #[serde(default)]
    pub metadata: IndexMap<String, Template>,
}

/// `ga.set-traffic-dial`: the share of traffic (0–100 %) an endpoint group receives.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTrafficDial {
    pub endpoint_group_region: Template,
    pub dial: u8,
}

/// `ga.set-endpoint-weights`: weights (0–255) of endpoints in a group, by endpoint id.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEndpointWeights {
    pub endpoint_group_region: Template,
    pub weights: IndexMap<String, u8>,
}

/// `route53.set-weights`: weights (0–255) of a weighted record's sets, by set identifier.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRecordWeights {
    pub weights: IndexMap<String, u8>,
}

/// `route53.upsert-record`: replace the record's values.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertRecord {
    pub values: Vec<Template>,
    pub ttl: Option<u32>,
    pub set_identifier: Option<Template>,
    pub weight: Option<u8>,
}

/// The parameters of one action call.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionParams {
    StartInstances(StartInstances),
    LaunchFromAmi(LaunchFromAmi),
    RestoreVolume(RestoreVolume),
    AttachVolume(AttachVolume),
    RdsRestoreSnapshot(RdsRestoreSnapshot),
    RdsRestorePointInTime(RdsRestorePointInTime),
    RdsPromoteReplica(RdsPromoteReplica),
    DynamodbRestorePointInTime(DynamodbRestorePointInTime),
    DynamodbRestoreBackup(DynamodbRestoreBackup),
    BackupStartRestore(BackupStartRestore),
    SetTrafficDial(SetTrafficDial),
    SetEndpointWeights(SetEndpointWeights),
    SetRecordWeights(SetRecordWeights),
    UpsertRecord(UpsertRecord),
}

impl ActionParams {
    /// The `region` parameter, where the action has one and the runbook set it.
    pub fn region(&self) -> Option<&Template> {
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
            ActionParams::SetTrafficDial(p) => Some(&p.endpoint_group_region),
            ActionParams::SetEndpointWeights(p) => Some(&p.endpoint_group_region),
            ActionParams::StartInstances(_)
            | ActionParams::SetRecordWeights(_)
            | ActionParams::UpsertRecord(_) => None,
        }
    }

    /// The recovery-point parameters, as (key, value, id prefixes accepted, example id).
    pub fn sources(&self) -> Vec<(&'static str, &Source, &'static [&'static str], &'static str)> {
        match self {
            ActionParams::LaunchFromAmi(p) => vec![("ami", &p.ami, &["ami-"], "ami-0abc1234")],
            ActionParams::RestoreVolume(p) => {
                vec![("snapshot", &p.snapshot, &["snap-"], "snap-0abc1234")]
            }
            ActionParams::RdsRestoreSnapshot(p) => {
                vec![("snapshot", &p.snapshot, &[], "orders-prod-2026-11-21")]
            }
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

    /// The fixed name of what a restore creates (RDS instance or DynamoDB table).
    pub fn target_name(&self) -> Option<&Template> {
        match self {
            ActionParams::RdsRestoreSnapshot(p) => Some(&p.target_id),
            ActionParams::RdsRestorePointInTime(p) => Some(&p.target_id),
            ActionParams::DynamodbRestorePointInTime(p) => Some(&p.target_table),
            ActionParams::DynamodbRestoreBackup(p) => Some(&p.target_table),
            _ => None,
        }
    }
}
