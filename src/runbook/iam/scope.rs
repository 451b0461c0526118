//! Which resources one IAM action may touch for one need of a runbook: the ARNs the runbook
//! names where the service has resource-level permissions, a wildcard inside the region and
//! account where the name is only known at run time, and `*` where the API has none.

use std::collections::BTreeMap;

/// Condition operator → key → values, as in a policy statement.
pub type Cond = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// What one need is about: where its requests go and the ARNs of what it names.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub partition: String,
    /// The region the requests go to (`aws:RequestedRegion`); empty for none.
    pub regions: Vec<String>,
    /// The account of what it names: the runbook's `account:`, else any (`*`).
    pub account: String,
    /// ARNs by what they are (`instance`, `db`, `table`, `vault`, `role`, …); a kind absent
    /// here is any of that kind in the region and account.
    pub arns: BTreeMap<&'static str, Vec<String>>,
    /// The services a role named here is passed to (`iam:PassedToService`).
    pub passed_to: Option<&'static str>,
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl Target {
    fn region(&self) -> &str {
        self.regions.first().map_or("*", String::as_str)
    }

    /// `arn:P:SERVICE:REGION:ACCOUNT:rest`.
    fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.partition,
            self.region(),
            self.account
        )
    }

    /// The named ARNs of `kind`, else `fallback` (the wildcard inside region and account).
    fn named(&self, kind: &str, fallback: impl FnOnce() -> String) -> Vec<String> {
        match self.arns.get(kind) {
            Some(v) if !v.is_empty() => v.clone(),
            _ => vec![fallback()],
        }
    }
}

fn one(op: &str, key: &str, values: Vec<String>) -> Cond {
    BTreeMap::from([(op.to_string(), BTreeMap::from([(key.to_string(), values)]))])
}

/// The resources `action` (an IAM action) may touch when `op` sends it for `t`, and any
/// condition beyond the region.
pub fn scope(op: &str, action: &str, t: &Target) -> (Vec<String>, Cond) {
    let none = Cond::new();
    let all = || vec!["*".to_string()];
    let op_name = op.split_once(':').map_or(op, |(_, n)| n);
    let (service, name) = action.split_once(':').unwrap_or((action, ""));
    let p = t.partition.as_str();
    match (service, name) {
        // EC2 Describe* has no resource-level permissions.
        ("ec2", n) if n.starts_with("Describe") => (all(), none),
        ("ec2", "StartInstances") => (t.named("instance", || t.arn("ec2", "instance/*")), none),
        ("ec2", "RunInstances") => {
            let mut r: Vec<String> = [
                "instance/*",
                "volume/*",
                "network-interface/*",
                "security-group/*",
                "subnet/*",
                "key-pair/*",
            ]
            .iter()
            .map(|k| t.arn("ec2", k))
            .collect();
            r.push(format!("arn:{p}:ec2:{}::image/*", t.region()));
            (r, none)
        }
        ("ec2", "CreateTags") => (
            vec![t.arn("ec2", "instance/*"), t.arn("ec2", "volume/*")],
            one(
                "StringEquals",
                "ec2:CreateAction",
                vec![op_name.to_string()],
            ),
        ),
        ("ec2", "CreateVolume") => (
            vec![
                t.arn("ec2", "volume/*"),
                format!("arn:{p}:ec2:{}::snapshot/*", t.region()),
            ],
            none,
        ),
        ("ec2", "AttachVolume") => (
            vec![t.arn("ec2", "instance/*"), t.arn("ec2", "volume/*")],
            none,
        ),
        ("kms", _) => {
            let via = t
                .regions
                .iter()
                .map(|r| format!("{}.{r}.amazonaws.com", op.split(':').next().unwrap_or("")))
                .collect();
            // A region known only at run time is a pattern, not a value.
            let op = if t.regions.iter().any(|r| r == "*") {
                "StringLike"
            } else {
                "StringEquals"
            };
            (vec![t.arn("kms", "key/*")], one(op, "kms:ViaService", via))
        }
        ("rds", "DescribeDBInstances") => (vec![t.arn("rds", "db:*")], none),
        ("rds", "DescribeDBSnapshots") => {
            (vec![t.arn("rds", "db:*"), t.arn("rds", "snapshot:*")], none)
        }
        ("rds", "DescribeDBInstanceAutomatedBackups") => (
            vec![t.arn("rds", "db:*"), t.arn("rds", "auto-backup:*")],
            none,
        ),
        ("rds", "DescribeDBSubnetGroups") => (vec![t.arn("rds", "subgrp:*")], none),
        ("rds", "RestoreDBInstanceFromDBSnapshot") => {
            let mut r = t.named("db", || t.arn("rds", "db:*"));
            r.extend(t.named("snapshot", || t.arn("rds", "snapshot:*")));
            r.extend(t.named("subgrp", || t.arn("rds", "subgrp:*")));
            r.extend([t.arn("rds", "og:*"), t.arn("rds", "pg:*")]);
            (r, none)
        }
        ("rds", "RestoreDBInstanceToPointInTime") => {
            let mut r = t.named("db", || t.arn("rds", "db:*"));
            r.push(t.arn("rds", "auto-backup:*"));
            r.extend(t.named("subgrp", || t.arn("rds", "subgrp:*")));
            r.extend([t.arn("rds", "og:*"), t.arn("rds", "pg:*")]);
            (r, none)
        }
        ("rds", "AddTagsToResource") => (t.named("target", || t.arn("rds", "db:*")), none),
        ("rds", "PromoteReadReplica") => (t.named("db", || t.arn("rds", "db:*")), none),
        ("dynamodb", "ListBackups") => (all(), none),
        ("dynamodb", "RestoreTableFromBackup") => {
            let mut r: Vec<String> = t
                .named("source", || t.arn("dynamodb", "table/*"))
                .into_iter()
                .map(|a| format!("{a}/backup/*"))
                .collect();
            r.extend(t.named("target", || t.arn("dynamodb", "table/*")));
            (r, none)
        }
        ("dynamodb", "RestoreTableToPointInTime") => {
            let mut r = t.named("source", || t.arn("dynamodb", "table/*"));
            r.extend(t.named("target", || t.arn("dynamodb", "table/*")));
            (r, none)
        }
        ("dynamodb", "DescribeTable" | "DescribeContinuousBackups") => {
            (t.named("table", || t.arn("dynamodb", "table/*")), none)
        }
        // What a restore made: the target table only.
        ("dynamodb", _) => (t.named("target", || t.arn("dynamodb", "table/*")), none),
        ("backup", "ListRestoreJobs" | "DescribeRestoreJob" | "StartRestoreJob") => (all(), none),
        ("backup", _) => (t.named("vault", || t.arn("backup", "backup-vault:*")), none),
        ("iam", "PassRole") => (
            t.named("role", || format!("arn:{p}:iam::{}:role/*", t.account)),
            t.passed_to.map_or_else(Cond::new, |s| {
                one("StringEquals", "iam:PassedToService", vec![s.to_string()])
            }),
        ),
        ("iam", "GetRole") => (
            t.named("role", || format!("arn:{p}:iam::{}:role/*", t.account)),
            none,
        ),
        ("iam", "SimulatePrincipalPolicy") => (
            vec![
                format!("arn:{p}:iam::{}:role/*", t.account),
                format!("arn:{p}:iam::{}:user/*", t.account),
            ],
            none,
        ),
        ("sts", "AssumeRole") => (t.named("role", || format!("arn:{p}:iam::*:role/*")), none),
        ("globalaccelerator", n) => {
            let accel = t.named("accelerator", || {
                format!("arn:{p}:globalaccelerator::{}:accelerator/*", t.account)
            });
            let under = |rest: &str| accel.iter().map(|a| format!("{a}{rest}")).collect();
            match n {
                "ListEndpointGroups" => (under("/listener/*"), none),
                "DescribeEndpointGroup" | "UpdateEndpointGroup" => {
                    (under("/listener/*/endpoint-group/*"), none)
                }
                _ => (accel, none),
            }
        }
        ("cloudwatch", "DescribeAlarms") => {
            (t.named("alarm", || t.arn("cloudwatch", "alarm:*")), none)
        }
        ("redshift", "RestoreFromClusterSnapshot") => {
            let mut r = t.named("target", || t.arn("redshift", "cluster:*"));
            r.push(t.arn("redshift", "snapshot:*/*"));
            (r, none)
        }
        // A look lists every cluster and stack of the region (one call per page), which IAM
        // allows only on all of them.
        ("redshift", "DescribeClusters" | "DescribeClusterSnapshots") => (all(), none),
        ("cloudformation", "DescribeStacks") => (all(), none),
        ("redshift", _) => (t.named("cluster", || t.arn("redshift", "cluster:*")), none),
        ("cloudformation", n) => {
            let mut r = t.named("stack", || t.arn("cloudformation", "stack/*"));
            // The change sets pilotlight makes are named after the attempt's token (`pl-…`).
            if n.contains("ChangeSet") {
                r.push(t.arn("cloudformation", "changeSet/pl-*/*"));
            }
            (r, none)
        }
        ("sns", _) => (t.named("topic", || t.arn("sns", "*")), none),
        ("route53", "GetChange") => (vec![format!("arn:{p}:route53:::change/*")], none),
        ("route53", "GetHealthCheck" | "GetHealthCheckStatus") => (
            t.named("healthcheck", || format!("arn:{p}:route53:::healthcheck/*")),
            none,
        ),
        ("route53", _) => (
            t.named("zone", || format!("arn:{p}:route53:::hostedzone/*")),
            none,
        ),
        ("s3", "GetObject" | "PutObject" | "DeleteObject") => {
            (t.named("objects", || format!("arn:{p}:s3:::*/*")), none)
        }
        ("s3", _) => (t.named("bucket", || format!("arn:{p}:s3:::*")), none),
        // AWS Health, and anything without resource-level permissions.
        _ => (all(), none),
    }
}
