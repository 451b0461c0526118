//! The runbook exactly as written: a serde mirror of the YAML that rejects unknown keys.
//! Meaning is checked afterwards, in `validate`, where every problem gets a location.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use super::catalogue::ActionKind;
use super::duration::DURATION_PATTERN;
use super::model::{Health, ReasonPolicy, ResourceKind, StepKind};

/// A duration as written (`30s`, `15m`, `1h30m`, `2d`); parsed and located in `validate`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DurationText(pub String);

impl std::ops::Deref for DurationText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration, largest unit first: 30s, 15m, 1h30m, 2d"
        })
    }
}

/// A pilotlight runbook (format v1).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pilotlight runbook")]
pub struct RawRunbook {
    /// Identifier: lowercase letters, digits and hyphens (used in journal and lock names).
    pub runbook: String,
    pub title: String,
    pub description: Option<String>,
    /// Team or person who owns this runbook.
    pub owner: Option<String>,
    pub targets: RawTargets,
    /// The region this runbook fails away from and the one it recovers into, used as
    /// `{{regions.primary}}` and `{{regions.recovery}}` anywhere below.
    pub regions: Option<RawRegions>,
    /// The team's state store for runs of this runbook (`--state` and `PILOTLIGHT_STATE` come
    /// first): one live run at a time there, the journal mirrored to it, second approvals.
    pub state: Option<RawState>,
    /// Values used as `{{vars.NAME}}` anywhere below.
    #[serde(default)]
    pub vars: IndexMap<String, String>,
    /// The cloud resources this runbook watches and changes, by name.
    #[serde(default)]
    pub resources: IndexMap<String, RawResource>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    /// `cloudwatch-alarm` resources that guard every action and command step: one in ALARM
    /// while such a step waits at its gate pauses the run there.
    #[serde(default)]
    pub guards: Vec<String>,
    /// Other AWS accounts, by 12-digit id: the role pilotlight assumes there for the resources
    /// whose `account:` names it.
    #[serde(default)]
    pub accounts: IndexMap<String, RawAccount>,
}

/// How to reach one other account.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    /// The role to assume there: `arn:aws:iam::ACCOUNT:role/NAME`.
    pub role: String,
    /// The external id the role's trust policy asks for, if any.
    pub external_id: Option<String>,
    /// The region STS is asked in (default: the recovery region, else the standard chain's).
    pub region: Option<String>,
}

/// Where the team's state store is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    /// `s3://BUCKET/PREFIX` (a bucket in a region that survives the incident), or a folder
    /// every operator's machine reaches.
    pub url: String,
    /// The bucket's region (default: the recovery region, `regions.recovery`).
    pub region: Option<String>,
}

/// The two regions of a failover.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegions {
    /// Where the workload runs normally (the region that fails).
    pub primary: String,
    /// Where it recovers.
    pub recovery: String,
}

/// Recovery objectives, as durations (`45m`, `1h30m`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTargets {
    pub rto: DurationText,
    pub rpo: Option<DurationText>,
    /// How long the steps after the one that restores the service (failback) may take.
    pub failback: Option<DurationText>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResource {
    pub kind: ResourceKind,
    /// Required for ec2-instance, ebs-volume, rds-instance and dynamodb-table.
    pub region: Option<String>,
    /// The 12-digit AWS account, when it is not the default credentials' account.
    pub account: Option<String>,
    /// Instance id, volume id, DB instance identifier or table name.
    pub id: Option<String>,
    /// Accelerator ARN (global-accelerator).
    pub arn: Option<String>,
    /// Hosted zone id (route53-record).
    pub zone: Option<String>,
    /// Record name (route53-record), e.g. `api.example.com.`.
    pub name: Option<String>,
    /// Record type (route53-record), e.g. `A`, `CNAME`.
    #[serde(rename = "type")]
    pub record_type: Option<String>,
    /// Set identifier of one member of a weighted record (route53-record).
    pub set_identifier: Option<String>,
    /// Route 53 health check id that tells whether the record's target is healthy.
    pub health_check: Option<String>,
    /// RPO target for this resource; the runbook's `targets.rpo` otherwise.
    pub rpo: Option<DurationText>,
    /// AWS Backup vault holding recovery points (or their copies) of this resource.
    pub backup: Option<RawBackup>,
    /// CloudWatch alarms (names, in the resource's region; us-east-1 for a global resource)
    /// whose state counts towards this resource's health.
    #[serde(default)]
    pub alarms: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBackup {
    pub vault: String,
    pub region: String,
    pub account: Option<String>,
}

/// A confirmation gate. It must ask for something: `confirm: true` and/or a `typed` phrase.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    #[serde(default)]
    pub confirm: bool,
    /// The operator must type exactly this phrase to proceed.
    pub typed: Option<String>,
    #[serde(default)]
    pub reason: ReasonPolicy,
    /// People who must approve: 1 (the default) or 2. With 2, after the operator confirms, a
    /// second, different person approves the same request with `pilotlight approve RUN_URL`
    /// from their own machine; the run needs a state store (`--state`).
    #[schemars(range(min = 1, max = 2))]
    pub approvers: Option<u8>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts in all, including the first (1–10).
    pub max_attempts: u32,
    /// Pause between attempts (default 30s).
    pub backoff: Option<DurationText>,
}

/// A condition on a declared resource.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    pub resource: String,
    /// Any of these health states satisfies the condition.
    pub health: Option<Vec<Health>>,
    /// The latest recovery point must be at most this old.
    pub recovery_point_within: Option<DurationText>,
}

/// The undo of an action, used for failback.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInverse {
    pub action: ActionKind,
    #[serde(default)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub with: serde_yaml::Mapping,
    /// The gate the rollback passes; by default the step's own (a confirmation when it has
    /// none).
    pub gate: Option<RawGate>,
}

/// One step. Which keys apply depends on `kind`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Unique within the runbook; later steps use it in `{{steps.ID.outputs.NAME}}`.
    pub id: String,
    /// What the step achieves, in a few words; defaults to the action's summary or the id.
    pub title: Option<String>,
    pub kind: StepKind,
    /// What the operator reads (and, for `manual` steps, does).
    pub instructions: Option<String>,
    /// Required on `action` and `command` steps.
    pub gate: Option<RawGate>,
    pub expect_duration: Option<DurationText>,
    pub timeout: Option<DurationText>,
    pub retry: Option<RawRetry>,
    /// `check`: the condition that must hold.
    pub expect: Option<RawCondition>,
    /// `action`: what to do, from the catalogue.
    pub action: Option<ActionKind>,
    /// `action`: the declared resource it acts on.
    pub resource: Option<String>,
    /// `action`: the action's parameters.
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub with: Option<serde_yaml::Mapping>,
    /// `action`: wait until what the action made reaches this state.
    pub wait_until: Option<String>,
    /// `action`: how to undo it (failback).
    pub inverse: Option<RawInverse>,
    /// `wait`: until this condition holds.
    pub until: Option<RawCondition>,
    /// `wait`: a fixed pause, e.g. a DNS TTL.
    #[serde(rename = "for")]
    pub wait_for: Option<DurationText>,
    /// `command`: a local shell command; its output is captured.
    pub run: Option<String>,
    /// `command`: the exit code that counts as success (default 0).
    pub expect_exit: Option<i32>,
    /// The service is back once this step is done: the RTO clock stops here, and the steps
    /// after it (failback, clean-up) are timed against `targets.failback`. At most one step.
    pub restores_service: Option<bool>,
    /// `cloudwatch-alarm` resources that guard this step: one in ALARM while the step waits at
    /// its gate (or a wait step waits) pauses the run there.
    #[serde(default)]
    pub guards: Vec<String>,
}

/// The keys each step kind accepts besides the common ones.
pub fn step_keys(kind: StepKind) -> &'static [&'static str] {
    match kind {
        StepKind::Check => &["expect"],
        StepKind::Manual => &[],
        StepKind::Action => &["action", "resource", "with", "wait_until", "inverse"],
        StepKind::Wait => &["until", "for"],
        StepKind::Command => &["run", "expect_exit"],
    }
}

/// Keys valid on every step.
pub const COMMON_STEP_KEYS: &[&str] = &[
    "id",
    "title",
    "kind",
    "instructions",
    "gate",
    "expect_duration",
    "timeout",
    "retry",
    "restores_service",
    "guards",
];
