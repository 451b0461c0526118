//! The README's permissions section, written from the catalogue (a test holds the README to
//! it, so the two cannot drift apart).

use super::{action_ops, api, kind_ops, store_ops};
use crate::runbook::{ActionKind, ResourceKind};

/// The IAM actions the operations `ops` need, in catalogue order, each once.
fn iam_of(ops: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for op in ops {
        for a in api(op).map_or(&[][..], |a| a.iam) {
            if !out.contains(a) {
                out.push(a);
            }
        }
    }
    out.iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The permissions table: what each observation and each action needs.
pub fn permissions_markdown() -> String {
    let mut s = String::from("| for | IAM actions |\n|---|---|\n");
    for k in ResourceKind::ALL {
        s += &format!("| a look at a `{}` | {} |\n", k.name(), iam_of(kind_ops(k)));
    }
    s += &format!(
        "| a resource's `backup:` vault | {} |\n",
        iam_of(&["backup:ListRecoveryPointsByBackupVault"])
    );
    s += &format!(
        "| a record's `health_check:` | {} |\n",
        iam_of(&["route53:GetHealthCheck", "route53:GetHealthCheckStatus"])
    );
    s += &format!(
        "| a resource's `alarms:` | {} |\n",
        iam_of(&["cloudwatch:DescribeAlarms"])
    );
    s += &format!("| AWS Health | {} |\n", iam_of(&["health:DescribeEvents"]));
    s += &format!(
        "| `preflight` | {}, and per step what it looks for: {} |\n",
        iam_of(&["iam:SimulatePrincipalPolicy", "iam:GetRole"]),
        iam_of(&[
            "rds:DescribeDBInstances",
            "dynamodb:DescribeTable",
            "rds:DescribeDBSubnetGroups",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeAvailabilityZones",
            "backup:DescribeBackupVault",
            "route53:GetHostedZone",
        ])
    );
    for a in ActionKind::ALL {
        s += &format!("| `{}` | {} |\n", a.name(), iam_of(action_ops(a)));
    }
    s += &format!(
        "| a state store, read (`watch`, `runs`, `audit`) | {} |\n",
        iam_of(store_ops(false))
    );
    s += &format!(
        "| a state store, written (`run`, `drill --state`) | {} |\n",
        iam_of(store_ops(true))
    );
    s
}
