//! The parameters of the data-platform and stack actions: Redshift restores, CloudFormation
//! deployments through a change set, and SNS notifications.

use std::hash::Hash;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Source, Text};
use crate::runbook::template::Template;

/// `redshift.restore-snapshot`: a new cluster from a cluster snapshot.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "RedshiftRestoreSnapshot")]
pub struct RedshiftRestoreSnapshot<T = Template> {
    /// Region to restore in (where the snapshot, or its cross-region copy, is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    /// A snapshot identifier, or `latest` for the newest automated or manual snapshot.
    pub snapshot: Source<T>,
    /// Identifier of the new cluster; fixed, so that a repeated restore finds and adopts it.
    pub target_id: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_type: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<T>,
    /// VPC security groups of the new cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<T>,
    /// The KMS key of an encrypted snapshot's new cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<T>,
}

/// What a template may do that CloudFormation asks to be acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum Capability {
    #[serde(rename = "CAPABILITY_IAM")]
    Iam,
    #[serde(rename = "CAPABILITY_NAMED_IAM")]
    NamedIam,
    #[serde(rename = "CAPABILITY_AUTO_EXPAND")]
    AutoExpand,
}

impl Capability {
    pub fn name(self) -> &'static str {
        match self {
            Capability::Iam => "CAPABILITY_IAM",
            Capability::NamedIam => "CAPABILITY_NAMED_IAM",
            Capability::AutoExpand => "CAPABILITY_AUTO_EXPAND",
        }
    }
}

/// `cloudformation.deploy`: create or update a stack through a change set that the gate shows
/// and the approval executes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "CloudformationDeploy")]
pub struct CloudformationDeploy<T = Template> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<T>,
    /// The template file, relative to the runbook (at most 51,200 bytes: CloudFormation's
    /// limit for a template sent with the request).
    pub template: String,
    /// The stack's name; defaults to the resource's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<T>,
    /// Template parameters by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, T>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
}

/// `sns.publish`: a notification to the resource's topic. `{{run.id}}`, `{{run.step}}`,
/// `{{run.elapsed}}` and `{{run.rto}}` are filled in when it is sent.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "T: Text + Eq + Hash + Deserialize<'de>")
)]
#[schemars(rename = "SnsPublish")]
pub struct SnsPublish<T = Template> {
    /// E-mail subject line (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<T>,
    pub message: T,
    /// A FIFO topic's message group; `pilotlight` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<T>,
}
