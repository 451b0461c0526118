//! The typed parameters (`with:`) of every action in the catalogue.
//!
//! Each action's parameters are one struct, generic over its text: [`Template`] as the runbook
//! holds them (step outputs still to fill in), `String` once rendered for a run ([`Rendered`]):
//! what an adapter receives, and what an intent record holds.

use chrono::{DateTime, SecondsFormat, Utc};
use indexmap::IndexMap;
use schemars::JsonSchema;
use std::hash::Hash;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::catalogue::ActionKind;
use super::template::{Ref, Template};

/// A recovery point chosen by id, or `latest` to take the newest one when the step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<T = Template> {
    Latest,
    Named(T),
}

impl<'de, T: Deserialize<'de> + Text> Deserialize<'de> for Source<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Source<T>, D::Error> {
        let t = T::deserialize(d)?;
        Ok(match t.literal() {
            Some("latest") => Source::Latest,
            _ => Source::Named(t),
        })
    }
}

impl<T: Serialize> Serialize for Source<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Source::Latest => s.serialize_str("latest"),
            Source::Named(t) => t.serialize(s),
        }
    }
}

impl<T> JsonSchema for Source<T> {
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

/// The text of a parameter: a [`Template`] in a runbook, a `String` once rendered.
pub trait Text {
    /// The text when it is fully known (no step output left to fill in).
    fn literal(&self) -> Option<&str>;
}

impl Text for String {
    fn literal(&self) -> Option<&str> {
        Some(self)
    }
}

impl Text for Template {
    fn literal(&self) -> Option<&str> {
        self.literal_str()
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

impl std::fmt::Display for RestoreTime {
    /// `latest`, or the time as RFC 3339 UTC.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreTime::Latest => f.write_str("latest"),
            RestoreTime::At(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

impl Serialize for RestoreTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
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

impl<T: Eq + Hash> PartialEq for SetEndpointWeights<T> {
    fn eq(&self, other: &Self) -> bool {
        self.endpoint_group_region == other.endpoint_group_region && self.weights == other.weights
    }
}

impl<T: Eq + Hash> PartialEq for SetRecordWeights<T> {
    fn eq(&self, other: &Self) -> bool {
        self.weights == other.weights
    }
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
            ActionParams::SetTrafficDial(p) => Some(&p.endpoint_group_region),
            ActionParams::SetEndpointWeights(p) => Some(&p.endpoint_group_region),
            ActionParams::StartInstances(_)
            | ActionParams::SetRecordWeights(_)
            | ActionParams::UpsertRecord(_) => None,
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
    pub fn target_name(&self) -> Option<&T> {
        match self {
            ActionParams::RdsRestoreSnapshot(p) => Some(&p.target_id),
            ActionParams::RdsRestorePointInTime(p) => Some(&p.target_id),
            ActionParams::DynamodbRestorePointInTime(p) => Some(&p.target_table),
            ActionParams::DynamodbRestoreBackup(p) => Some(&p.target_table),
            _ => None,
        }
    }
}

impl<T: PartialEq + Eq + Hash> PartialEq for ActionParams<T> {
    fn eq(&self, other: &Self) -> bool {
        use ActionParams as P;
        match (self, other) {
            (P::StartInstances(a), P::StartInstances(b)) => a == b,
            (P::LaunchFromAmi(a), P::LaunchFromAmi(b)) => a == b,
            (P::RestoreVolume(a), P::RestoreVolume(b)) => a == b,
            (P::AttachVolume(a), P::AttachVolume(b)) => a == b,
            (P::RdsRestoreSnapshot(a), P::RdsRestoreSnapshot(b)) => a == b,
            (P::RdsRestorePointInTime(a), P::RdsRestorePointInTime(b)) => a == b,
            (P::RdsPromoteReplica(a), P::RdsPromoteReplica(b)) => a == b,
            (P::DynamodbRestorePointInTime(a), P::DynamodbRestorePointInTime(b)) => a == b,
            (P::DynamodbRestoreBackup(a), P::DynamodbRestoreBackup(b)) => a == b,
            (P::BackupStartRestore(a), P::BackupStartRestore(b)) => a == b,
            (P::SetTrafficDial(a), P::SetTrafficDial(b)) => a == b,
            (P::SetEndpointWeights(a), P::SetEndpointWeights(b)) => a == b,
            (P::SetRecordWeights(a), P::SetRecordWeights(b)) => a == b,
            (P::UpsertRecord(a), P::UpsertRecord(b)) => a == b,
            _ => false,
        }
    }
}

impl<T: Serialize + Eq + Hash> Serialize for ActionParams<T> {
    /// As the `with:` mapping it came from (the action says which parameters these are).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ActionParams::StartInstances(p) => p.serialize(s),
            ActionParams::LaunchFromAmi(p) => p.serialize(s),
            ActionParams::RestoreVolume(p) => p.serialize(s),
            ActionParams::AttachVolume(p) => p.serialize(s),
            ActionParams::RdsRestoreSnapshot(p) => p.serialize(s),
            ActionParams::RdsRestorePointInTime(p) => p.serialize(s),
            ActionParams::RdsPromoteReplica(p) => p.serialize(s),
            ActionParams::DynamodbRestorePointInTime(p) => p.serialize(s),
            ActionParams::DynamodbRestoreBackup(p) => p.serialize(s),
            ActionParams::BackupStartRestore(p) => p.serialize(s),
            ActionParams::SetTrafficDial(p) => p.serialize(s),
            ActionParams::SetEndpointWeights(p) => p.serialize(s),
            ActionParams::SetRecordWeights(p) => p.serialize(s),
            ActionParams::UpsertRecord(p) => p.serialize(s),
        }
    }
}

impl Rendered {
    /// Reads rendered parameters of `action` (as an intent record holds them).
    pub fn from_json(
        action: ActionKind,
        value: serde_json::Value,
    ) -> Result<Rendered, serde_json::Error> {
        use serde_json::from_value as f;
        use ActionParams as P;
        Ok(match action {
            ActionKind::Ec2StartInstances => P::StartInstances(f(value)?),
            ActionKind::Ec2LaunchFromAmi => P::LaunchFromAmi(f(value)?),
            ActionKind::EbsRestoreVolume => P::RestoreVolume(f(value)?),
            ActionKind::EbsAttachVolume => P::AttachVolume(f(value)?),
            ActionKind::RdsRestoreSnapshot => P::RdsRestoreSnapshot(f(value)?),
            ActionKind::RdsRestorePointInTime => P::RdsRestorePointInTime(f(value)?),
            ActionKind::RdsPromoteReplica => P::RdsPromoteReplica(f(value)?),
            ActionKind::DynamodbRestorePointInTime => P::DynamodbRestorePointInTime(f(value)?),
            ActionKind::DynamodbRestoreBackup => P::DynamodbRestoreBackup(f(value)?),
            ActionKind::BackupStartRestore => P::BackupStartRestore(f(value)?),
            ActionKind::GaSetTrafficDial => P::SetTrafficDial(f(value)?),
            ActionKind::GaSetEndpointWeights => P::SetEndpointWeights(f(value)?),
            ActionKind::Route53SetWeights => P::SetRecordWeights(f(value)?),
            ActionKind::Route53UpsertRecord => P::UpsertRecord(f(value)?),
        })
    }

    /// The parameters as the `with:` mapping of JSON they render to.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Fills in step outputs: what a runbook's text becomes for a run.
pub type Fill<'a> = &'a dyn Fn(&Template) -> Result<String, Ref>;

trait FillIn {
    type Out;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref>;
}

impl FillIn for Template {
    type Out = String;
    fn fill_in(&self, fill: Fill) -> Result<String, Ref> {
        fill(self)
    }
}

impl<X: FillIn> FillIn for Option<X> {
    type Out = Option<X::Out>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.as_ref().map(|x| x.fill_in(fill)).transpose()
    }
}

impl<X: FillIn> FillIn for Vec<X> {
    type Out = Vec<X::Out>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.iter().map(|x| x.fill_in(fill)).collect()
    }
}

impl FillIn for Source {
    type Out = Source<String>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        Ok(match self {
            Source::Latest => Source::Latest,
            Source::Named(t) => Source::Named(fill(t)?),
        })
    }
}

impl FillIn for IndexMap<String, Template> {
    type Out = IndexMap<String, String>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.iter()
            .map(|(k, v)| Ok((k.clone(), fill(v)?)))
            .collect()
    }
}

impl FillIn for IndexMap<Template, u8> {
    type Out = IndexMap<String, u8>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.iter().map(|(k, v)| Ok((fill(k)?, *v))).collect()
    }
}

/// `FillIn` for a parameter struct: the listed text fields are filled in, the others copied.
macro_rules! fill_in {
    ($name:ident { $($text:ident),* } { $($copy:ident),* }) => {
        impl FillIn for $name {
            type Out = $name<String>;
            fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
                Ok($name {
                    $($text: self.$text.fill_in(fill)?,)*
                    $($copy: self.$copy.clone(),)*
                })
            }
        }
    };
}

fill_in!(LaunchFromAmi { region, ami, instance_type, subnet_id, security_group_ids, key_name, iam_instance_profile, name } { ami_name });
fill_in!(RestoreVolume { region, snapshot, availability_zone, volume_type } {});
fill_in!(AttachVolume { region, volume_id, instance_id, device } {});
fill_in!(RdsRestoreSnapshot { region, snapshot, target_id, instance_class, subnet_group } { multi_az });
fill_in!(RdsRestorePointInTime { region, target_id, instance_class, subnet_group } { restore_time });
fill_in!(RdsPromoteReplica { region, replica_id } {});
fill_in!(DynamodbRestorePointInTime { region, target_table } { restore_time });
fill_in!(DynamodbRestoreBackup { region, backup, target_table } {});
fill_in!(BackupStartRestore { region, recovery_point, iam_role_arn, metadata } {});
fill_in!(SetTrafficDial { endpoint_group_region } { dial });
fill_in!(SetEndpointWeights { endpoint_group_region, weights } {});
fill_in!(SetRecordWeights { weights } {});
fill_in!(UpsertRecord { values, set_identifier } { ttl, weight });

impl ActionParams {
    /// The parameters with every step output filled in by `fill`; the error names the first
    /// reference that cannot be filled.
    pub fn render(&self, fill: Fill) -> Result<Rendered, Ref> {
        use ActionParams as P;
        Ok(match self {
            P::StartInstances(p) => P::StartInstances(p.clone()),
            P::LaunchFromAmi(p) => P::LaunchFromAmi(p.fill_in(fill)?),
            P::RestoreVolume(p) => P::RestoreVolume(p.fill_in(fill)?),
            P::AttachVolume(p) => P::AttachVolume(p.fill_in(fill)?),
            P::RdsRestoreSnapshot(p) => P::RdsRestoreSnapshot(p.fill_in(fill)?),
            P::RdsRestorePointInTime(p) => P::RdsRestorePointInTime(p.fill_in(fill)?),
            P::RdsPromoteReplica(p) => P::RdsPromoteReplica(p.fill_in(fill)?),
            P::DynamodbRestorePointInTime(p) => P::DynamodbRestorePointInTime(p.fill_in(fill)?),
            P::DynamodbRestoreBackup(p) => P::DynamodbRestoreBackup(p.fill_in(fill)?),
            P::BackupStartRestore(p) => P::BackupStartRestore(p.fill_in(fill)?),
            P::SetTrafficDial(p) => P::SetTrafficDial(p.fill_in(fill)?),
            P::SetEndpointWeights(p) => P::SetEndpointWeights(p.fill_in(fill)?),
            P::SetRecordWeights(p) => P::SetRecordWeights(p.fill_in(fill)?),
            P::UpsertRecord(p) => P::UpsertRecord(p.fill_in(fill)?),
        })
    }
}
