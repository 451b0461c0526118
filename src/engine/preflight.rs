//! Preflight (`pilotlight preflight`, and `run` before its first gate): would each step work
//! now? What a step's parameters name that must exist (subnet groups, security groups, vaults,
//! roles, hosted zones…) or must not (a restore's fixed target), and the findings, each with
//! its severity, that the runtime's look at the cloud turns into. No I/O here.

use serde::Serialize;

use crate::model::RecoveryPointKind;
use crate::runbook::params::{ActionParams, RestoreTime, Source};
use crate::runbook::template::Template;
use crate::runbook::{ActionCall, ActionKind, Resource, Step, StepBody};

/// How bad a finding is; exit codes as `status` (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Ok,
    /// The step would work, but not as planned (an old recovery point, AWS Health unavailable).
    Warning,
    /// What could not be told (a region that did not answer, a permission that could not be
    /// checked). Never outranks a critical finding.
    Unknown,
    /// The step would fail (or do the wrong thing) now.
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Unknown => "unknown",
            Severity::Critical => "critical",
        }
    }

    /// The process exit code for a report whose worst finding is this.
    pub fn exit_code(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
            Severity::Unknown => 3,
        }
    }
}

/// One check and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The step it is about (none: the runbook as a whole, such as credentials).
    pub step: Option<String>,
    /// What was checked, in a few words.
    pub check: String,
    pub severity: Severity,
    /// What was found, and what to do when it is not ok.
    pub detail: String,
}

/// A preflight's findings in step order, and its verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// The worst finding's severity (OK when there is none).
    pub fn verdict(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// The findings about `step` that are not ok.
    pub fn problems_of<'a>(&'a self, step: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings
            .iter()
            .filter(move |f| f.step.as_deref() == Some(step) && f.severity != Severity::Ok)
    }

    /// Counts of findings that are not ok, as `2 critical, 1 warning`.
    pub fn summary(&self) -> String {
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        let parts: Vec<String> = [Severity::Critical, Severity::Unknown, Severity::Warning]
            .into_iter()
            .filter(|s| count(*s) > 0)
            .map(|s| format!("{} {}", count(s), s.name()))
            .collect();
        if parts.is_empty() {
            "every check passed".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// What kind of thing a step names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NamedKind {
    DbInstance,
    Table,
    RedshiftCluster,
    DbSubnetGroup,
    SecurityGroup,
    Subnet,
    AvailabilityZone,
    BackupVault,
    Role,
    HostedZone,
}

impl NamedKind {
    /// The operation that looks for one (in the IAM catalogue's `preflight_ops`).
    pub fn op(self) -> &'static str {
        match self {
            NamedKind::DbInstance => "rds:DescribeDBInstances",
            NamedKind::Table => "dynamodb:DescribeTable",
            NamedKind::RedshiftCluster => "redshift:DescribeClusters",
            NamedKind::DbSubnetGroup => "rds:DescribeDBSubnetGroups",
            NamedKind::SecurityGroup => "ec2:DescribeSecurityGroups",
            NamedKind::Subnet => "ec2:DescribeSubnets",
            NamedKind::AvailabilityZone => "ec2:DescribeAvailabilityZones",
            NamedKind::BackupVault => "backup:DescribeBackupVault",
            NamedKind::Role => "iam:GetRole",
            NamedKind::HostedZone => "route53:GetHostedZone",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NamedKind::DbInstance => "DB instance",
            NamedKind::Table => "DynamoDB table",
            NamedKind::RedshiftCluster => "Redshift cluster",
            NamedKind::DbSubnetGroup => "DB subnet group",
            NamedKind::SecurityGroup => "security group",
            NamedKind::Subnet => "subnet",
            NamedKind::AvailabilityZone => "Availability Zone",
            NamedKind::BackupVault => "backup vault",
            NamedKind::Role => "IAM role",
            NamedKind::HostedZone => "hosted zone",
        }
    }
}

/// Something a step names, in a region (global things: the service's region).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Named {
    pub kind: NamedKind,
    pub region: String,
    pub id: String,
    /// The account it is in (the step's resource's `account:`; none: the caller's).
    pub account: Option<String>,
}

/// Whether the step needs the thing to exist, or to be free (a restore's new name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Exists,
    Free,
}

fn lit(t: &Template) -> Option<String> {
    t.as_literal().filter(|s| !s.trim().is_empty())
}

/// What `step` names that preflight can look for, and what it needs of each. Names filled in
/// from earlier steps' outputs are only known at run time and are left out.
pub fn wants(step: &Step, resource: Option<&Resource>) -> Vec<(Named, Expect)> {
    let StepBody::Action { call, .. } = &step.body else {
        return Vec::new();
    };
    let Some(resource) = resource else {
        return Vec::new();
    };
    let Some(region) = call.region(resource) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut add = |kind: NamedKind, id: Option<String>, expect: Expect| {
        if let Some(id) = id {
            let region = match (kind, &resource.backup) {
                (NamedKind::Role | NamedKind::HostedZone, _) => "us-east-1".to_string(),
                (NamedKind::BackupVault, Some(b)) => b.region.clone(),
                _ => region.clone(),
            };
            let account = resource.account.clone();
            out.push((
                Named {
                    kind,
                    region,
                    id,
                    account,
                },
                expect,
            ));
        }
    };
    let l = |t: &Template| lit(t);
    match &call.params {
        ActionParams::LaunchFromAmi(p) => {
            add(NamedKind::Subnet, l(&p.subnet_id), Expect::Exists);
            for g in &p.security_group_ids {
                add(NamedKind::SecurityGroup, l(g), Expect::Exists);
            }
        }
        ActionParams::RestoreVolume(p) => {
            add(
                NamedKind::AvailabilityZone,
                l(&p.availability_zone),
                Expect::Exists,
            );
        }
        ActionParams::RdsRestoreSnapshot(_) | ActionParams::RdsRestorePointInTime(_) => {
            if let Some(p) = call.params.rds_placement() {
                add(NamedKind::DbInstance, l(p.target_id), Expect::Free);
                add(
                    NamedKind::DbSubnetGroup,
                    p.subnet_group.and_then(l),
                    Expect::Exists,
                );
                for g in p.security_groups {
                    add(NamedKind::SecurityGroup, l(g), Expect::Exists);
                }
            }
        }
        ActionParams::RdsPromoteReplica(p) => {
            add(NamedKind::DbInstance, l(&p.replica_id), Expect::Exists);
        }
        ActionParams::DynamodbRestorePointInTime(p) => {
            add(NamedKind::Table, l(&p.target_table), Expect::Free);
        }
        ActionParams::RedshiftRestoreSnapshot(p) => {
            add(NamedKind::RedshiftCluster, l(&p.target_id), Expect::Free);
            for g in &p.security_groups {
                add(NamedKind::SecurityGroup, l(g), Expect::Exists);
            }
        }
        ActionParams::DynamodbRestoreBackup(p) => {
            add(NamedKind::Table, l(&p.target_table), Expect::Free);
        }
        ActionParams::BackupStartRestore(p) => {
            let vault = resource.backup.as_ref().map(|b| b.vault.clone());
            add(NamedKind::BackupVault, vault, Expect::Exists);
            add(NamedKind::Role, l(&p.iam_role_arn), Expect::Exists);
        }
        ActionParams::SetRecordWeights(_) | ActionParams::UpsertRecord(_) => {
            let zone = resource.record.as_ref().map(|r| r.zone.clone());
            add(NamedKind::HostedZone, zone, Expect::Exists);
        }
        _ => {}
    }
    out
}

/// The kinds of recovery point a step restores the newest of (`latest`), which must exist
/// now; `None` when it names its own (or is no restore).
pub fn restores_from(call: &ActionCall) -> Option<&'static [RecoveryPointKind]> {
    use RecoveryPointKind as K;
    let latest = call
        .params
        .sources()
        .iter()
        .any(|(_, s, _, _)| matches!(s, Source::Latest));
    let latest_time = matches!(&call.params,
        ActionParams::RdsRestorePointInTime(p) if p.restore_time == RestoreTime::Latest)
        || matches!(&call.params,
        ActionParams::DynamodbRestorePointInTime(p) if p.restore_time == RestoreTime::Latest);
    match call.action {
        ActionKind::RdsRestoreSnapshot | ActionKind::EbsRestoreVolume if latest => {
            Some(&[K::Snapshot])
        }
        ActionKind::DynamodbRestoreBackup | ActionKind::BackupStartRestore if latest => {
            Some(&[K::Backup, K::BackupCopy])
        }
        ActionKind::RdsRestorePointInTime | ActionKind::DynamodbRestorePointInTime
            if latest_time =>
        {
            Some(&[K::Pitr])
        }
        _ => None,
    }
}

/// The finding for a named thing, given whether AWS says it exists.
pub fn named_finding(step: &str, named: &Named, expect: Expect, exists: bool) -> Finding {
    let what = format!("{} `{}` in {}", named.kind.name(), named.id, named.region);
    let (severity, detail) = match (expect, exists) {
        (Expect::Exists, true) => (Severity::Ok, format!("{what} exists")),
        (Expect::Free, false) => (Severity::Ok, format!("{what} is free for the restore")),
        (Expect::Exists, false) => (
            Severity::Critical,
            format!("{what} does not exist: the step would fail; create it in {} or fix the runbook", named.region),
        ),
        (Expect::Free, true) => (
            Severity::Critical,
            format!(
                "the restore target {what} already exists: the restore would fail or adopt it as its own; rename or delete it, or change the runbook's target"
            ),
        ),
    };
    Finding {
        step: Some(step.to_string()),
        check: match expect {
            Expect::Exists => format!("{} exists", named.kind.name()),
            Expect::Free => "restore target is free".to_string(),
        },
        severity,
        detail,
    }
}
