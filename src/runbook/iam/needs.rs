//! What each part of a runbook needs of AWS: the operations its observations, its steps,
//! AWS Health, preflight and its state store send, and the ARNs and regions they go to.

use super::policy::Mode;
use super::scope::{partition, Target};
use super::{action_ops, observe_ops, preflight_ops, store_ops};
use crate::runbook::params::ActionParams;
use crate::runbook::template::Template;
use crate::runbook::{ActionCall, ActionKind, Resource, Runbook, StepBody};

/// What one part of the runbook sends, and at what.
pub(super) struct Need {
    pub(super) label: String,
    pub(super) ops: Vec<&'static str>,
    pub(super) target: Target,
    /// The other account (`accounts:`) whose role makes these calls; none: the caller.
    pub(super) account: Option<String>,
}

/// What preflight asks of IAM as the role assumed in `account`: its own permissions, simulated.
pub(super) fn account_preflight(account: &str, region: &str) -> Need {
    Need {
        label: "Preflight".into(),
        ops: vec!["iam:SimulatePrincipalPolicy"],
        target: target(region, Some(account)),
        account: Some(account.to_string()),
    }
}

/// The account whose role acts for `r`, when it is one of the runbook's `accounts:`.
fn role_account(r: &Resource) -> Option<String> {
    r.role.as_ref().and(r.account.clone())
}

/// `restore-db` → `RestoreDb`: a Sid may hold only letters and digits.
pub(super) fn camel(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn literal(t: &Template) -> Option<String> {
    t.as_literal().filter(|s| !s.is_empty())
}

fn target(region: &str, account: Option<&str>) -> Target {
    Target {
        partition: partition(region).to_string(),
        regions: vec![region.to_string()],
        account: account.unwrap_or("*").to_string(),
        ..Target::default()
    }
}

/// The region a global service's API is served from, else `region`.
pub(super) fn served_from(op: &str, region: &str) -> Vec<String> {
    match op.split(':').next().unwrap_or_default() {
        "globalaccelerator" => vec!["us-west-2".into()],
        "route53" | "iam" => vec!["us-east-1".into()],
        "health" => vec!["us-east-1".into(), "us-east-2".into()],
        _ => vec![region.to_string()],
    }
}

/// The ARNs a resource itself has, by kind, in `t`'s partition, region and account.
fn resource_arns(r: &Resource, t: &mut Target) {
    let p = t.partition.clone();
    let region = r.region.clone().unwrap_or_default();
    let a = t.account.clone();
    use crate::runbook::ResourceKind as K;
    let (kind, arn) = match r.kind {
        K::Ec2Instance => (
            "instance",
            format!("arn:{p}:ec2:{region}:{a}:instance/{}", r.id),
        ),
        K::EbsVolume => (
            "volume",
            format!("arn:{p}:ec2:{region}:{a}:volume/{}", r.id),
        ),
        // RDS ARNs are in lower case, whatever case the runbook writes.
        K::RdsInstance => (
            "db",
            format!("arn:{p}:rds:{region}:{a}:db:{}", r.id.to_lowercase()),
        ),
        K::DynamodbTable => (
            "table",
            format!("arn:{p}:dynamodb:{region}:{a}:table/{}", r.id),
        ),
        K::GlobalAccelerator => ("accelerator", r.id.clone()),
        K::CloudwatchAlarm => (
            "alarm",
            format!("arn:{p}:cloudwatch:{region}:{a}:alarm:{}", r.id),
        ),
        K::Route53Record => {
            let zone = r.record.as_ref().map_or("*", |x| x.zone.as_str());
            ("zone", format!("arn:{p}:route53:::hostedzone/{zone}"))
        }
        K::RedshiftCluster => (
            "cluster",
            format!(
                "arn:{p}:redshift:{region}:{a}:cluster:{}",
                r.id.to_lowercase()
            ),
        ),
        K::CloudformationStack => (
            "stack",
            format!("arn:{p}:cloudformation:{region}:{a}:stack/{}/*", r.id),
        ),
        K::SnsTopic if r.id.starts_with("arn:") => ("topic", r.id.clone()),
        K::SnsTopic => ("topic", format!("arn:{p}:sns:{region}:{a}:{}", r.id)),
    };
    t.arns.entry(kind).or_default().push(arn);
    let alarm_region = r.alarm_region();
    for alarm in &r.alarms {
        t.arns.entry("alarm").or_default().push(format!(
            "arn:{p}:cloudwatch:{alarm_region}:{a}:alarm:{alarm}"
        ));
    }
    if let Some(hc) = &r.health_check {
        t.arns
            .entry("healthcheck")
            .or_default()
            .push(format!("arn:{p}:route53:::healthcheck/{hc}"));
    }
}

fn observe_needs(r: &Resource) -> Vec<Need> {
    let region = r.region.clone().unwrap_or_else(|| "us-east-1".into());
    let mut t = target(&region, r.account.as_deref());
    resource_arns(r, &mut t);
    let mut ops = observe_ops(r);
    ops.retain(|o| !o.starts_with("backup:"));
    let label = format!("Observe{}", camel(&r.name));
    let mut needs = vec![Need {
        label: label.clone(),
        ops,
        target: t,
        account: role_account(r),
    }];
    if let Some(b) = &r.backup {
        let mut t = target(&b.region, b.account.as_deref().or(r.account.as_deref()));
        let vault = format!(
            "arn:{}:backup:{}:{}:backup-vault:{}",
            t.partition, b.region, t.account, b.vault
        );
        t.arns.insert("vault", vec![vault]);
        needs.push(Need {
            label,
            ops: vec!["backup:ListRecoveryPointsByBackupVault"],
            target: t,
            account: role_account(r),
        });
    }
    needs
}

/// The ARNs a step's parameters name, beyond its resource's own.
fn step_arns(call: &ActionCall, r: &Resource, t: &mut Target) {
    let p = t.partition.clone();
    let region = t.regions.first().cloned().unwrap_or_default();
    let a = t.account.clone();
    let src_region = r.region.clone().unwrap_or_else(|| region.clone());
    let mut put = |k: &'static str, v: String| t.arns.entry(k).or_default().push(v);
    let db = |name: &str, reg: &str| format!("arn:{p}:rds:{reg}:{a}:db:{}", name.to_lowercase());
    let table = |name: &str, reg: &str| format!("arn:{p}:dynamodb:{reg}:{a}:table/{name}");
    let target_name = call.params.target_name().map(literal);
    match &call.params {
        ActionParams::StartInstances(_) => put(
            "instance",
            format!("arn:{p}:ec2:{src_region}:{a}:instance/{}", r.id),
        ),
        ActionParams::RdsPromoteReplica(x) => {
            let name = literal(&x.replica_id).unwrap_or_else(|| "*".into());
            put("db", db(&name, &region));
        }
        ActionParams::RdsRestoreSnapshot(_) | ActionParams::RdsRestorePointInTime(_) => {
            let target = db(
                &target_name.flatten().unwrap_or_else(|| "*".into()),
                &region,
            );
            put("db", target.clone());
            put("target", target);
            if call.action == ActionKind::RdsRestorePointInTime {
                put("db", db(&r.id, &src_region));
            }
            let subnet = call.params.rds_placement().and_then(|x| x.subnet_group);
            if let Some(s) = subnet.and_then(literal) {
                put(
                    "subgrp",
                    format!("arn:{p}:rds:{region}:{a}:subgrp:{}", s.to_lowercase()),
                );
            }
        }
        // A deployment may name another stack than the resource's.
        ActionParams::CloudformationDeploy(x) => {
            if let Some(name) = x.stack_name.as_ref().and_then(literal) {
                put(
                    "stack",
                    format!("arn:{p}:cloudformation:{region}:{a}:stack/{name}/*"),
                );
            }
        }
        ActionParams::RedshiftRestoreSnapshot(_) => {
            let name = target_name.flatten().unwrap_or_else(|| "*".into());
            let cluster = format!(
                "arn:{p}:redshift:{region}:{a}:cluster:{}",
                name.to_lowercase()
            );
            put("cluster", cluster.clone());
            put("target", cluster);
        }
        ActionParams::DynamodbRestorePointInTime(_) | ActionParams::DynamodbRestoreBackup(_) => {
            let target = table(
                &target_name.flatten().unwrap_or_else(|| "*".into()),
                &region,
            );
            let source = table(&r.id, &src_region);
            put("source", source.clone());
            put("target", target.clone());
            put("table", source);
            put("table", target);
        }
        ActionParams::BackupStartRestore(x) => {
            if let Some(b) = &r.backup {
                put(
                    "vault",
                    format!(
                        "arn:{p}:backup:{}:{}:backup-vault:{}",
                        b.region,
                        b.account.as_deref().unwrap_or(&a),
                        b.vault
                    ),
                );
            }
            if let Some(role) = literal(&x.iam_role_arn) {
                put("role", role);
            }
            t.passed_to = Some("backup.amazonaws.com");
        }
        ActionParams::LaunchFromAmi(x) if x.iam_instance_profile.is_some() => {
            t.passed_to = Some("ec2.amazonaws.com");
        }
        _ => {}
    }
    if matches!(
        call.action,
        ActionKind::GaSetTrafficDial
            | ActionKind::GaSetEndpointWeights
            | ActionKind::Route53SetWeights
            | ActionKind::Route53UpsertRecord
    ) {
        resource_arns(r, t);
    }
}

fn step_need(id: &str, call: &ActionCall, r: &Resource, mode: Mode) -> Need {
    let region = call.region(r).unwrap_or_else(|| "*".into());
    let mut t = target(&region, r.account.as_deref());
    step_arns(call, r, &mut t);
    // Reading, a step needs only what preflight asks about it; running, its action's calls.
    let mut ops: Vec<&'static str> = match mode {
        Mode::Read => Vec::new(),
        Mode::Run => action_ops(call.action).to_vec(),
    };
    ops.extend(preflight_ops(call));
    Need {
        label: format!("Step{}", camel(id)),
        ops,
        target: t,
        account: role_account(r),
    }
}

/// Every need of `runbook` in `mode`, in the order the runbook first has them.
pub(super) fn needs(runbook: &Runbook, mode: Mode) -> Vec<Need> {
    let mut out = Vec::new();
    for r in runbook.resources.values() {
        out.extend(observe_needs(r));
    }
    let home = runbook
        .failover
        .as_ref()
        .map(|f| f.recovery.clone())
        .or_else(|| runbook.regions().first().cloned())
        .unwrap_or_else(|| "us-east-1".into());
    out.push(Need {
        label: "Health".into(),
        ops: vec!["health:DescribeEvents"],
        target: target(&home, None),
        account: None,
    });
    out.push(Need {
        label: "Preflight".into(),
        ops: vec!["iam:SimulatePrincipalPolicy", "iam:GetRole"],
        target: target(&home, None),
        account: None,
    });
    for step in &runbook.steps {
        let StepBody::Action {
            resource,
            call,
            inverse,
            ..
        } = &step.body
        else {
            continue;
        };
        let Some(r) = runbook.resources.get(resource) else {
            continue;
        };
        out.push(step_need(&step.id, call, r, mode));
        // Its rollback is a change of its own (another action, or the same elsewhere).
        if let (Some(inv), Mode::Run) = (inverse, mode) {
            let mut need = step_need(&step.id, &inv.call, r, mode);
            need.label.push_str("Rollback");
            out.push(need);
        }
    }
    // The roles of the runbook's other accounts, assumed by the caller (what each role may
    // do in its account is that account's policy).
    if !runbook.accounts.is_empty() {
        // STS is asked in the account's region, or the recovery region, or the chain's: any.
        let mut t = target("*", None);
        t.partition = super::scope::partition(&home).to_string();
        t.arns.insert(
            "role",
            runbook.accounts.values().map(|a| a.role.clone()).collect(),
        );
        out.push(Need {
            label: "Accounts".into(),
            ops: vec!["sts:AssumeRole"],
            target: t,
            account: None,
        });
    }
    if let Some(state) = &runbook.state {
        if let Some(rest) = state.url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let prefix = prefix.trim_matches('/');
            let region = runbook.state_region().unwrap_or_else(|| home.clone());
            let mut t = target(&region, None);
            let p = t.partition.clone();
            t.arns
                .insert("bucket", vec![format!("arn:{p}:s3:::{bucket}")]);
            let objects = if prefix.is_empty() {
                format!("arn:{p}:s3:::{bucket}/*")
            } else {
                format!("arn:{p}:s3:::{bucket}/{prefix}/*")
            };
            t.arns.insert("objects", vec![objects]);
            out.push(Need {
                label: "StateStore".into(),
                ops: store_ops(mode == Mode::Run).to_vec(),
                target: t,
                account: None,
            });
        }
    }
    out
}
