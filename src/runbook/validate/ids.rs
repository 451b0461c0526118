//! The shapes AWS gives each kind's ids, checked when a runbook loads.

use crate::runbook::model::ResourceKind;

/// The shape AWS gives a kind's ids, and an example for the hint (`None`: not checked here).
type Shape = (fn(&str) -> bool, &'static str);

pub(super) fn id_shape(kind: ResourceKind) -> Option<Shape> {
    Some(match kind {
        ResourceKind::Ec2Instance => (
            |s| is_hex_id(s, "i-"),
            "an instance id like `i-0abc1234` or `i-0123456789abcdef0`",
        ),
        ResourceKind::EbsVolume => (
            |s| is_hex_id(s, "vol-"),
            "a volume id like `vol-0abc1234` or `vol-0123456789abcdef0`",
        ),
        ResourceKind::RdsInstance => (
            is_db_identifier,
            "a DB instance identifier: a letter, then letters, digits and single hyphens (at most 63)",
        ),
        ResourceKind::DynamodbTable => (
            is_table_name,
            "a table name of 3 to 255 letters, digits, `_`, `-` and `.`",
        ),
        ResourceKind::CloudwatchAlarm => (
            is_alarm_name,
            "the alarm's name as CloudWatch shows it (1-255 characters, no control characters)",
        ),
        ResourceKind::RedshiftCluster => (
            is_db_identifier,
            "a cluster identifier: a letter, then letters, digits and single hyphens (at most 63)",
        ),
        ResourceKind::CloudformationStack => (
            is_stack_name,
            "a stack name: a letter, then letters, digits and hyphens (at most 128)",
        ),
        ResourceKind::SnsTopic => (
            is_topic_arn,
            "a topic ARN like `arn:aws:sns:us-east-1:111122223333:dr-status`",
        ),
        ResourceKind::GlobalAccelerator | ResourceKind::Route53Record => return None,
    })
}

/// CloudFormation: a letter, then up to 127 letters, digits and hyphens.
fn is_stack_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `arn:PARTITION:sns:REGION:ACCOUNT:NAME`, the name 1-256 of `[A-Za-z0-9_-]` (and `.fifo`).
fn is_topic_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    let name = parts
        .get(5)
        .map_or("", |n| n.strip_suffix(".fifo").unwrap_or(n));
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sns"
        && (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// CloudWatch: 1 to 255 characters, none of them a control character.
pub(super) fn is_alarm_name(s: &str) -> bool {
    (1..=255).contains(&s.chars().count()) && !s.chars().any(char::is_control) && s.trim() == s
}

/// `i-` or `vol-` and 8 or 17 lowercase hex digits, as EC2 makes them.
fn is_hex_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        matches!(h.len(), 8 | 17)
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// RDS: 1 to 63 letters, digits and hyphens, starting with a letter, no `--`, no trailing `-`.
pub(super) fn is_db_identifier(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.contains("--")
        && !s.ends_with('-')
}

/// DynamoDB: 3 to 255 of `[A-Za-z0-9_.-]`.
fn is_table_name(s: &str) -> bool {
    (3..=255).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// What makes two resources the same cloud resource: kind, region, id, and for DNS the record set.
pub(super) type Identity = (ResourceKind, Option<String>, String, Option<String>);

pub(super) fn id_key(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::GlobalAccelerator => "arn",
        ResourceKind::Route53Record => "name",
        _ => "id",
    }
}
