//! The validated runbook: what the engine runs. Every name it mentions exists, every duration is
//! parsed, every action fits its resource, and vars are already substituted.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::catalogue::ActionKind;
use super::duration::Duration;
use super::params::ActionParams;
use super::template::Template;

/// The kinds of cloud resource a runbook can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    Ec2Instance,
    EbsVolume,
    RdsInstance,
    DynamodbTable,
    GlobalAccelerator,
    Route53Record,
    /// A CloudWatch alarm: OK is ok, INSUFFICIENT_DATA impaired, ALARM unavailable.
    CloudwatchAlarm,
    /// A Redshift cluster (its identifier); snapshots are its recovery points.
    RedshiftCluster,
    /// A CloudFormation stack (its name), healthy when its last change completed.
    CloudformationStack,
    /// An SNS topic (its ARN), to notify people through.
    SnsTopic,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 10] = [
        ResourceKind::Ec2Instance,
        ResourceKind::EbsVolume,
        ResourceKind::RdsInstance,
        ResourceKind::DynamodbTable,
        ResourceKind::GlobalAccelerator,
        ResourceKind::Route53Record,
        ResourceKind::CloudwatchAlarm,
        ResourceKind::RedshiftCluster,
        ResourceKind::CloudformationStack,
        ResourceKind::SnsTopic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Ec2Instance => "ec2-instance",
            ResourceKind::EbsVolume => "ebs-volume",
            ResourceKind::RdsInstance => "rds-instance",
            ResourceKind::DynamodbTable => "dynamodb-table",
            ResourceKind::GlobalAccelerator => "global-accelerator",
            ResourceKind::Route53Record => "route53-record",
            ResourceKind::CloudwatchAlarm => "cloudwatch-alarm",
            ResourceKind::RedshiftCluster => "redshift-cluster",
            ResourceKind::CloudformationStack => "cloudformation-stack",
            ResourceKind::SnsTopic => "sns-topic",
        }
    }

    /// Regional kinds need `region`; Global Accelerator and Route 53 are global services.
    pub fn is_regional(self) -> bool {
        !matches!(
            self,
            ResourceKind::GlobalAccelerator | ResourceKind::Route53Record
        )
    }

    /// Whether the resource holds data that has recovery points (and so an RPO).
    pub fn has_recovery_points(self) -> bool {
        self.is_regional()
            && !matches!(
                self,
                ResourceKind::CloudwatchAlarm
                    | ResourceKind::CloudformationStack
                    | ResourceKind::SnsTopic
            )
    }
}

/// Health of a resource as the console reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    Ok,
    Impaired,
    Unavailable,
    Unknown,
}

impl Health {
    /// The worse of two: unavailable, impaired, unknown, ok (a resource and its alarms).
    pub fn worse(self, other: Health) -> Health {
        let rank = |h: Health| match h {
            Health::Ok => 0,
            Health::Unknown => 1,
            Health::Impaired => 2,
            Health::Unavailable => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Impaired => "impaired",
            Health::Unavailable => "unavailable",
            Health::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Check,
    Manual,
    Action,
    Wait,
    Command,
}

impl StepKind {
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Check => "check",
            StepKind::Manual => "manual",
            StepKind::Action => "action",
            StepKind::Wait => "wait",
            StepKind::Command => "command",
        }
    }
}

/// Whether a gate asks the operator for a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonPolicy {
    #[default]
    None,
    Optional,
    Required,
}

/// The region a runbook fails away from, and the one it recovers into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverRegions {
    pub primary: String,
    pub recovery: String,
}

/// The team's state store a runbook names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateStore {
    pub url: String,
    /// The S3 bucket's region, when it is given.
    pub region: Option<String>,
}

/// A validated runbook.
#[derive(Debug, Clone)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub targets: Targets,
    /// `regions: { primary, recovery }`, when the runbook declares them.
    pub failover: Option<FailoverRegions>,
    /// `state: { url, region }`: the team's state store, when the runbook names one.
    pub state: Option<StateStore>,
    /// What `validate` warns about (the runbook loads and runs regardless).
    pub warnings: Vec<super::Diagnostic>,
    pub vars: IndexMap<String, String>,
    pub resources: IndexMap<String, Resource>,
    pub steps: Vec<Step>,
    /// `cloudwatch-alarm` resources that guard every action and command step.
    pub guards: Vec<String>,
    /// Other accounts by id: the role assumed there for resources whose `account:` names one.
    pub accounts: IndexMap<String, AccountRole>,
    /// The CloudFormation templates the runbook's steps deploy, as named; their text is read by
    /// whoever loads the runbook ([`Runbook::read_templates`]).
    pub templates: Vec<super::TemplateFile>,
}

/// The role pilotlight assumes in another account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRole {
    pub role: String,
    pub external_id: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub rto: Duration,
    pub rpo: Option<Duration>,
    /// For the steps after the service is restored.
    pub failback: Option<Duration>,
}

/// A cloud resource the runbook watches or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub name: String,
    pub kind: ResourceKind,
    pub region: Option<String>,
    pub account: Option<String>,
    /// The cloud identifier: instance id, volume id, DB identifier, table name, or for Global
    /// Accelerator the accelerator ARN. For Route 53 records, the record name.
    pub id: String,
    pub record: Option<RecordRef>,
    pub health_check: Option<String>,
    /// This resource's RPO target, else the runbook's.
    pub rpo: Option<Duration>,
    pub backup: Option<BackupSource>,
    /// CloudWatch alarms (by name, in the resource's region; us-east-1 for a global resource)
    /// that count towards its health: the worst of the resource and its alarms.
    pub alarms: Vec<String>,
    /// The role assumed for it, when its `account:` is one of the runbook's `accounts:`.
    pub role: Option<String>,
    pub description: Option<String>,
}

impl Resource {
    /// The region of the alarms it lists.
    pub fn alarm_region(&self) -> String {
        self.region
            .clone()
            .unwrap_or_else(|| "us-east-1".to_string())
    }
}

/// Which Route 53 record set a `route53-record` resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    pub zone: String,
    pub name: String,
    pub record_type: String,
    /// One member of a weighted (or otherwise routed) record set.
    pub set_identifier: Option<String>,
}

/// Where AWS Backup keeps recovery points (usually copies in the recovery region) of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSource {
    pub vault: String,
    pub region: String,
    pub account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub confirm: bool,
    /// The operator must type exactly this to proceed.
    pub typed: Option<String>,
    pub reason: ReasonPolicy,
    /// People who must approve: 1, or 2 (a second, different person, through the state store).
    pub approvers: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    pub backoff: Duration,
}

/// A condition on a declared resource: its health, and how fresh its latest recovery point is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub resource: String,
    pub health: Vec<Health>,
    pub recovery_point_within: Option<Duration>,
}

/// A typed change from the catalogue, fully specified but for step outputs filled in at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub action: ActionKind,
    /// The `with:` parameters, vars substituted and `{{steps...}}` holes left for run time.
    pub params: ActionParams,
}

/// How to undo an action (its rollback), and the gate that rollback passes.
#[derive(Debug, Clone, PartialEq)]
pub struct Inverse {
    pub call: ActionCall,
    /// `inverse.gate`; absent, the step's own gate applies.
    pub gate: Option<Gate>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepBody {
    Check {
        expect: Condition,
    },
    Manual,
    Action {
        resource: String,
        call: Box<ActionCall>,
        wait_until: Option<String>,
        inverse: Option<Box<Inverse>>,
    },
    Wait {
        until: Option<Condition>,
        delay: Option<Duration>,
    },
    Command {
        run: Template,
        expect_exit: i32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub instructions: Option<Template>,
    pub gate: Option<Gate>,
    /// From the runbook; the action's default applies when absent (see the catalogue).
    pub expect_duration: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retry: Retry,
    pub body: StepBody,
    /// The service is back once this step is done (`restores_service: true`).
    pub restores_service: bool,
    /// `cloudwatch-alarm` resources that pause this step while it waits at its gate.
    pub guards: Vec<String>,
}

impl Step {
    pub fn kind(&self) -> StepKind {
        match self.body {
            StepBody::Check { .. } => StepKind::Check,
            StepBody::Manual => StepKind::Manual,
            StepBody::Action { .. } => StepKind::Action,
            StepBody::Wait { .. } => StepKind::Wait,
            StepBody::Command { .. } => StepKind::Command,
        }
    }

    /// The expected duration from the runbook, else the action's default, else none.
    pub fn expected_duration(&self) -> Option<Duration> {
        self.expect_duration.or(match &self.body {
            StepBody::Action { call, .. } => Some(call.action.spec().default_duration),
            StepBody::Wait { delay, .. } => *delay,
            _ => None,
        })
    }

    /// Outputs this step produces for later steps.
    pub fn outputs(&self) -> &'static [&'static str] {
        match &self.body {
            StepBody::Action { call, .. } => call.action.spec().outputs,
            StepBody::Command { .. } => COMMAND_OUTPUTS,
            _ => &[],
        }
    }
}

/// What a `command` step makes available to later steps.
pub const COMMAND_OUTPUTS: &[&str] = &["stdout", "exit_code"];
