//! The fixed, typed catalogue of actions a runbook may take, and what each one needs and gives.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::model::ResourceKind;
use super::params::{self, ActionParams};

/// Every action the console can perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ActionKind {
    #[serde(rename = "ec2.start-instances")]
    Ec2StartInstances,
    #[serde(rename = "ec2.launch-from-ami")]
    Ec2LaunchFromAmi,
    #[serde(rename = "ebs.restore-volume")]
    EbsRestoreVolume,
    #[serde(rename = "ebs.attach-volume")]
    EbsAttachVolume,
    #[serde(rename = "rds.restore-snapshot")]
    RdsRestoreSnapshot,
    #[serde(rename = "rds.restore-point-in-time")]
    RdsRestorePointInTime,
    #[serde(rename = "rds.promote-replica")]
    RdsPromoteReplica,
    #[serde(rename = "dynamodb.restore-point-in-time")]
    DynamodbRestorePointInTime,
    #[serde(rename = "dynamodb.restore-backup")]
    DynamodbRestoreBackup,
    #[serde(rename = "backup.start-restore")]
    BackupStartRestore,
    #[serde(rename = "ga.set-traffic-dial")]
    GaSetTrafficDial,
    #[serde(rename = "ga.set-endpoint-weights")]
    GaSetEndpointWeights,
    #[serde(rename = "route53.set-weights")]
    Route53SetWeights,
    #[serde(rename = "route53.upsert-record")]
    Route53UpsertRecord,
    #[serde(rename = "redshift.restore-snapshot")]
    RedshiftRestoreSnapshot,
    #[serde(rename = "cloudformation.deploy")]
    CloudformationDeploy,
    #[serde(rename = "sns.publish")]
    SnsPublish,
}

/// What the catalogue knows about one action.
#[derive(Debug)]
pub struct ActionSpec {
    pub name: &'static str,
    /// The resource kinds this action applies to.
    pub resource_kinds: &'static [ResourceKind],
    /// The AWS API operation that performs it, as `service:Operation` (also the IAM action).
    pub api: &'static str,
    /// What it hands to later steps as `{{steps.ID.outputs.NAME}}`.
    pub outputs: &'static [&'static str],
    /// States `wait_until` may name.
    pub wait_states: &'static [&'static str],
    /// Expected duration when the runbook gives none and no past run has measured it.
    pub default_duration: Duration,
    /// Moves traffic (previews show before → after).
    pub cutover: bool,
    /// One line for help and previews.
    pub summary: &'static str,
}

use ResourceKind as R;

const DATA: &[ResourceKind] = &[
    R::Ec2Instance,
    R::EbsVolume,
    R::RdsInstance,
    R::DynamodbTable,
];

/// The output of a point-in-time restore that says the time it brought the data back to
/// (RFC 3339). Backends set it; the engine reads it for the window of data lost.
pub const RESTORED_TO: &str = "restored_to";

impl ActionKind {
    /// The region whose control plane this action's API is served from, for a global service
    /// (Route 53 changes go through us-east-1, Global Accelerator's through us-west-2): a
    /// failover away from that region depends on the region that failed.
    pub fn control_plane(self) -> Option<&'static str> {
        match self {
            ActionKind::Route53SetWeights | ActionKind::Route53UpsertRecord => Some("us-east-1"),
            ActionKind::GaSetTrafficDial | ActionKind::GaSetEndpointWeights => Some("us-west-2"),
            _ => None,
        }
    }

    /// Whether the gate's look makes the change's plan in the cloud (a CloudFormation change
    /// set): the approval then runs only what that look showed for the same attempt, and every
    /// attempt is shown, so a retry opens the gate again and no attempt retries by itself.
    pub fn runs_what_is_shown(self) -> bool {
        matches!(self, ActionKind::CloudformationDeploy)
    }

    pub const ALL: [ActionKind; 17] = [
        ActionKind::Ec2StartInstances,
        ActionKind::Ec2LaunchFromAmi,
        ActionKind::EbsRestoreVolume,
        ActionKind::EbsAttachVolume,
        ActionKind::RdsRestoreSnapshot,
        ActionKind::RdsRestorePointInTime,
        ActionKind::RdsPromoteReplica,
        ActionKind::DynamodbRestorePointInTime,
        ActionKind::DynamodbRestoreBackup,
        ActionKind::BackupStartRestore,
        ActionKind::GaSetTrafficDial,
        ActionKind::GaSetEndpointWeights,
        ActionKind::Route53SetWeights,
        ActionKind::Route53UpsertRecord,
        ActionKind::RedshiftRestoreSnapshot,
        ActionKind::CloudformationDeploy,
        ActionKind::SnsPublish,
    ];

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn spec(self) -> &'static ActionSpec {
        macro_rules! spec {
            ($name:literal, $kinds:expr, $api:literal, $outputs:expr, $wait:expr, $mins:literal, $cut:literal, $summary:literal) => {{
                static SPEC: ActionSpec = ActionSpec {
                    name: $name,
                    resource_kinds: $kinds,
                    api: $api,
                    outputs: $outputs,
                    wait_states: $wait,
                    default_duration: Duration::from_mins($mins),
                    cutover: $cut,
                    summary: $summary,
                };
                &SPEC
            }};
        }
        match self {
            ActionKind::Ec2StartInstances => spec!(
                "ec2.start-instances",
                &[R::Ec2Instance],
                "ec2:StartInstances",
                &["instance_id"],
                &["running"],
                3,
                false,
                "start the stopped standby instance"
            ),
            ActionKind::Ec2LaunchFromAmi => spec!(
                "ec2.launch-from-ami",
                &[R::Ec2Instance],
                "ec2:RunInstances",
                &["instance_id", "availability_zone", "private_ip"],
                &["running"],
                5,
                false,
                "launch a replacement instance from an AMI"
            ),
            ActionKind::EbsRestoreVolume => spec!(
                "ebs.restore-volume",
                &[R::EbsVolume],
                "ec2:CreateVolume",
                &["volume_id", "snapshot_id"],
                &["available"],
                5,
                false,
                "create a volume from a snapshot"
            ),
            ActionKind::EbsAttachVolume => spec!(
                "ebs.attach-volume",
                &[R::EbsVolume],
                "ec2:AttachVolume",
                &["volume_id", "instance_id"],
                &["in-use"],
                1,
                false,
                "attach a volume to an instance"
            ),
            ActionKind::RdsRestoreSnapshot => spec!(
                "rds.restore-snapshot",
                &[R::RdsInstance],
                "rds:RestoreDBInstanceFromDBSnapshot",
                &["db_instance_id", "endpoint", "snapshot_id"],
                &["available"],
                20,
                false,
                "restore a DB instance from a snapshot"
            ),
            ActionKind::RdsRestorePointInTime => spec!(
                "rds.restore-point-in-time",
                &[R::RdsInstance],
                "rds:RestoreDBInstanceToPointInTime",
                &["db_instance_id", "endpoint", RESTORED_TO],
                &["available"],
                25,
                false,
                "restore a DB instance to a point in time"
            ),
            ActionKind::RdsPromoteReplica => spec!(
                "rds.promote-replica",
                &[R::RdsInstance],
                "rds:PromoteReadReplica",
                &["db_instance_id", "endpoint"],
                &["available"],
                10,
                false,
                "promote a read replica to primary"
            ),
            ActionKind::DynamodbRestorePointInTime => spec!(
                "dynamodb.restore-point-in-time",
                &[R::DynamodbTable],
                "dynamodb:RestoreTableToPointInTime",
                &["table_name", "table_arn", RESTORED_TO],
                &["active"],
                30,
                false,
                "restore a table to a point in time"
            ),
            ActionKind::DynamodbRestoreBackup => spec!(
                "dynamodb.restore-backup",
                &[R::DynamodbTable],
                "dynamodb:RestoreTableFromBackup",
                &["table_name", "table_arn", "backup_arn"],
                &["active"],
                30,
                false,
                "restore a table from an on-demand backup"
            ),
            ActionKind::BackupStartRestore => spec!(
                "backup.start-restore",
                DATA,
                "backup:StartRestoreJob",
                &[
                    "restore_job_id",
                    "recovery_point_arn",
                    "created_resource_arn",
                    "created_resource_id"
                ],
                &["completed"],
                30,
                false,
                "restore an AWS Backup recovery point"
            ),
            ActionKind::GaSetTrafficDial => spec!(
                "ga.set-traffic-dial",
                &[R::GlobalAccelerator],
                "globalaccelerator:UpdateEndpointGroup",
                &["previous_dial"],
                &["deployed"],
                2,
                true,
                "set an endpoint group's traffic dial"
            ),
            ActionKind::GaSetEndpointWeights => spec!(
                "ga.set-endpoint-weights",
                &[R::GlobalAccelerator],
                "globalaccelerator:UpdateEndpointGroup",
                &["previous_weights"],
                &["deployed"],
                2,
                true,
                "set endpoint weights in a group"
            ),
            ActionKind::Route53SetWeights => spec!(
                "route53.set-weights",
                &[R::Route53Record],
                "route53:ChangeResourceRecordSets",
                &["change_id", "previous_weights"],
                &["insync"],
                1,
                true,
                "shift weighted DNS between record sets"
            ),
            ActionKind::Route53UpsertRecord => spec!(
                "route53.upsert-record",
                &[R::Route53Record],
                "route53:ChangeResourceRecordSets",
                &["change_id", "previous_values"],
                &["insync"],
                1,
                true,
                "point a DNS record at new values"
            ),
            ActionKind::RedshiftRestoreSnapshot => spec!(
                "redshift.restore-snapshot",
                &[R::RedshiftCluster],
                "redshift:RestoreFromClusterSnapshot",
                &["cluster_id", "endpoint", "snapshot_id"],
                &["available"],
                45,
                false,
                "restore a Redshift cluster from a snapshot"
            ),
            ActionKind::CloudformationDeploy => spec!(
                "cloudformation.deploy",
                &[R::CloudformationStack],
                "cloudformation:ExecuteChangeSet",
                &["stack_id", "change_set_id"],
                &["complete"],
                15,
                false,
                "deploy a stack through a change set shown at the gate"
            ),
            ActionKind::SnsPublish => spec!(
                "sns.publish",
                &[R::SnsTopic],
                "sns:Publish",
                &["message_id"],
                &["sent"],
                1,
                false,
                "publish a notification to an SNS topic"
            ),
        }
    }

    /// Types the `with:` mapping for this action. The error carries the path inside `with`.
    pub fn parse_params(
        self,
        with: serde_yaml::Value,
    ) -> Result<ActionParams, serde_path_to_error::Error<serde_yaml::Error>> {
        let mut track = serde_path_to_error::Track::new();
        let d = serde_path_to_error::Deserializer::new(with, &mut track);
        ActionParams::parse(self, d).map_err(|e| serde_path_to_error::Error::new(track.path(), e))
    }

    /// The JSON Schema of this action's `with:` mapping.
    pub fn params_schema(self, gen: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use params as p;
        match self {
            ActionKind::Ec2StartInstances => gen.subschema_for::<p::StartInstances>(),
            ActionKind::Ec2LaunchFromAmi => gen.subschema_for::<p::LaunchFromAmi>(),
            ActionKind::EbsRestoreVolume => gen.subschema_for::<p::RestoreVolume>(),
            ActionKind::EbsAttachVolume => gen.subschema_for::<p::AttachVolume>(),
            ActionKind::RdsRestoreSnapshot => gen.subschema_for::<p::RdsRestoreSnapshot>(),
            ActionKind::RdsRestorePointInTime => gen.subschema_for::<p::RdsRestorePointInTime>(),
            ActionKind::RdsPromoteReplica => gen.subschema_for::<p::RdsPromoteReplica>(),
            ActionKind::DynamodbRestorePointInTime => {
                gen.subschema_for::<p::DynamodbRestorePointInTime>()
            }
            ActionKind::DynamodbRestoreBackup => gen.subschema_for::<p::DynamodbRestoreBackup>(),
            ActionKind::BackupStartRestore => gen.subschema_for::<p::BackupStartRestore>(),
            ActionKind::GaSetTrafficDial => gen.subschema_for::<p::SetTrafficDial>(),
            ActionKind::GaSetEndpointWeights => gen.subschema_for::<p::SetEndpointWeights>(),
            ActionKind::Route53SetWeights => gen.subschema_for::<p::SetRecordWeights>(),
            ActionKind::Route53UpsertRecord => gen.subschema_for::<p::UpsertRecord>(),
            ActionKind::RedshiftRestoreSnapshot => {
                gen.subschema_for::<p::RedshiftRestoreSnapshot>()
            }
            ActionKind::CloudformationDeploy => gen.subschema_for::<p::CloudformationDeploy>(),
            ActionKind::SnsPublish => gen.subschema_for::<p::SnsPublish>(),
        }
    }

    pub fn from_name(name: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for a in ActionKind::ALL {
            let yaml = serde_yaml::to_string(&a).unwrap_or_default();
            assert_eq!(yaml.trim(), a.name());
            assert_eq!(ActionKind::from_name(a.name()), Some(a));
        }
    }

    #[test]
    fn every_action_has_a_resource_kind_and_an_api() {
        for a in ActionKind::ALL {
            let s = a.spec();
            assert!(!s.resource_kinds.is_empty(), "{}", s.name);
            assert!(s.api.contains(':'), "{}", s.name);
        }
    }
}
