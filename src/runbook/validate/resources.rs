//! Resources: the right fields for each kind, valid regions and accounts, no duplicates.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::ids::{id_key, id_shape, is_alarm_name, Identity};
use super::templates::Scope;
use super::{is_name, is_region, Checker};
use crate::runbook::model::{BackupSource, RecordRef, Resource, ResourceKind};
use crate::runbook::raw::RawResource;
use crate::runbook::source::Seg;

impl Checker<'_> {
    pub(super) fn resources(
        &mut self,
        raw: &IndexMap<String, RawResource>,
        vars: &IndexMap<String, String>,
    ) -> IndexMap<String, Resource> {
        let mut out = IndexMap::new();
        let mut seen: HashMap<Identity, String> = HashMap::new();
        for (name, r) in raw {
            let Some(res) = self.resource(name, r, vars) else {
                self.broken.insert(name.clone());
                continue;
            };
            let member = res
                .record
                .as_ref()
                .map(|r| format!("{}/{}/{:?}", r.zone, r.record_type, r.set_identifier));
            let key = (res.kind, res.region.clone(), res.id.clone(), member);
            if let Some(first) = seen.get(&key) {
                self.error_at(
                    &[
                        Seg::Key("resources"),
                        Seg::Key(name),
                        Seg::Key(id_key(res.kind)),
                    ],
                    format!(
                        "resources `{first}` and `{name}` name the same {} `{}`",
                        res.kind.name(),
                        res.id
                    ),
                    "declare each cloud resource once and refer to it by one name",
                );
            } else {
                seen.insert(key, name.clone());
            }
            out.insert(name.clone(), res);
        }
        out
    }

    fn resource(
        &mut self,
        name: &str,
        r: &RawResource,
        vars: &IndexMap<String, String>,
    ) -> Option<Resource> {
        let base = [Seg::Key("resources"), Seg::Key(name)];
        let at = |k: &'static str| [base[0], base[1], Seg::Key(k)];
        let errors_before = self.diags.len();
        if !is_name(name) {
            self.key_error_at(
                &base,
                format!("`{name}` is not a valid resource name"),
                "use letters, digits, `-` and `_`, e.g. `orders-db`",
            );
        }
        let kind = r.kind;
        let field =
            |this: &mut Self, key: &'static str, value: &Option<String>| -> Option<String> {
                let v = value.as_ref()?;
                this.expand(v, &at(key), vars, &Scope::Resource)
            };
        let region = field(self, "region", &r.region);
        let account = field(self, "account", &r.account);
        let id = field(self, "id", &r.id);
        let arn = field(self, "arn", &r.arn);
        let zone = field(self, "zone", &r.zone);
        let record_name = field(self, "name", &r.name);
        let record_type = field(self, "type", &r.record_type);

        // Which keys this kind takes.
        let (required, forbidden): (&[&str], &[&str]) = match kind {
            ResourceKind::GlobalAccelerator => (
                &["arn"],
                &[
                    "region",
                    "id",
                    "zone",
                    "name",
                    "type",
                    "backup",
                    "rpo",
                    "set_identifier",
                ],
            ),
            ResourceKind::Route53Record => (
                &["zone", "name", "type"],
                &["region", "id", "arn", "backup", "rpo"],
            ),
            ResourceKind::CloudwatchAlarm => (&["region", "id"], &NOT_DATA),
            // Watched through alarms like any resource: all but the last.
            ResourceKind::CloudformationStack | ResourceKind::SnsTopic => {
                (&["region", "id"], &NOT_DATA[..NOT_DATA.len() - 1])
            }
            _ => (
                &["region", "id"],
                &["arn", "zone", "name", "type", "set_identifier"],
            ),
        };
        let present = |k: &str| match k {
            "region" => r.region.is_some(),
            "id" => r.id.is_some(),
            "arn" => r.arn.is_some(),
            "zone" => r.zone.is_some(),
            "name" => r.name.is_some(),
            "type" => r.record_type.is_some(),
            "backup" => r.backup.is_some(),
            "rpo" => r.rpo.is_some(),
            "set_identifier" => r.set_identifier.is_some(),
            "health_check" => r.health_check.is_some(),
            "alarms" => !r.alarms.is_empty(),
            _ => false,
        };
        for k in required.iter().filter(|k| !present(k)) {
            self.key_error_at(
                &base,
                format!("a {} resource needs `{k}`", kind.name()),
                example(kind),
            );
        }
        for k in forbidden.iter().filter(|k| present(k)) {
            let why = match (*k, kind) {
                ("region", ResourceKind::GlobalAccelerator) => {
                    "Global Accelerator is global (its API lives in us-west-2)".to_string()
                }
                ("region", ResourceKind::Route53Record) => "Route 53 is global".to_string(),
                ("backup" | "rpo", _) => format!(
                    "a {} holds no data, so it has no recovery points",
                    kind.name()
                ),
                _ => format!("it does not apply to a {} resource", kind.name()),
            };
            self.key_error_at(&at(k), format!("remove `{k}`: {why}"), example(kind));
        }
        if let Some(id) = &id {
            if let Some(example) = id_shape(kind).filter(|(fits, _)| !fits(id)).map(|(_, e)| e) {
                self.error_at(
                    &at("id"),
                    format!("`{}` is not a {} id", id.escape_debug(), kind.name()),
                    format!("write {example}"),
                );
            }
        }
        if let Some(reg) = &region {
            if !is_region(reg) {
                self.error_at(
                    &at("region"),
                    format!("`{reg}` is not an AWS region"),
                    "write a region name such as `us-east-1` or `eu-west-2`",
                );
            }
        }
        if let Some(acct) = &account {
            if !is_account(acct) {
                self.error_at(
                    &at("account"),
                    format!("`{acct}` is not an AWS account id"),
                    "write the 12-digit account id, quoted: `\"111122223333\"`",
                );
            }
        }
        if let (ResourceKind::GlobalAccelerator, Some(a)) = (kind, &arn) {
            if !a.starts_with("arn:aws:globalaccelerator::") || !a.contains(":accelerator/") {
                self.error_at(
                    &at("arn"),
                    format!("`{a}` is not a Global Accelerator ARN"),
                    "write `arn:aws:globalaccelerator::ACCOUNT:accelerator/ID`",
                );
            }
        }
        if let (ResourceKind::Route53Record, Some(t)) = (kind, &record_type) {
            const TYPES: [&str; 6] = ["A", "AAAA", "CNAME", "TXT", "MX", "SRV"];
            if !TYPES.contains(&t.as_str()) {
                self.error_at(
                    &at("type"),
                    format!("`{t}` is not a record type pilotlight can change"),
                    "use `A`, `AAAA`, `CNAME`, `TXT`, `MX` or `SRV`",
                );
            }
        }
        let rpo = r.rpo.as_deref().and_then(|t| self.duration(t, &at("rpo")));
        let backup = r.backup.as_ref().and_then(|b| {
            let bpath = |k: &'static str| [base[0], base[1], Seg::Key("backup"), Seg::Key(k)];
            let region = self.expand(&b.region, &bpath("region"), vars, &Scope::Resource)?;
            let vault = self.expand(&b.vault, &bpath("vault"), vars, &Scope::Resource)?;
            let account = match &b.account {
                Some(a) => Some(self.expand(a, &bpath("account"), vars, &Scope::Resource)?),
                None => None,
            };
            if !is_region(&region) {
                self.error_at(
                    &bpath("region"),
                    format!("`{region}` is not an AWS region"),
                    "write the region of the backup vault, e.g. `us-west-2`",
                );
            }
            if let Some(a) = account.as_ref().filter(|a| !is_account(a)) {
                self.error_at(
                    &bpath("account"),
                    format!("`{a}` is not an AWS account id"),
                    "write the 12-digit account id, quoted",
                );
            }
            Some(BackupSource {
                vault,
                region,
                account,
            })
        });
        let mut alarms = Vec::new();
        for (i, a) in r.alarms.iter().enumerate() {
            let path = [base[0], base[1], Seg::Key("alarms"), Seg::Index(i)];
            let Some(a) = self.expand(a, &path, vars, &Scope::Resource) else {
                continue;
            };
            if !is_alarm_name(&a) {
                self.error_at(
                    &path,
                    format!("`{}` is not a CloudWatch alarm name", a.escape_debug()),
                    "write the alarm's name as CloudWatch shows it (1-255 characters, no control characters)",
                );
            } else if alarms.contains(&a) {
                self.error_at(
                    &path,
                    format!("alarm `{a}` is listed twice"),
                    "list each alarm once",
                );
            } else {
                alarms.push(a);
            }
        }
        if self.diags.len() > errors_before {
            return None;
        }
        let record = match kind {
            ResourceKind::Route53Record => Some(RecordRef {
                zone: zone.clone().unwrap_or_default(),
                name: record_name.clone().unwrap_or_default(),
                record_type: record_type.unwrap_or_default(),
                set_identifier: r.set_identifier.clone(),
            }),
            _ => None,
        };
        let id = match kind {
            ResourceKind::GlobalAccelerator => arn,
            ResourceKind::Route53Record => record_name,
            _ => id,
        };
        Some(Resource {
            name: name.to_string(),
            kind,
            region,
            account,
            id: id.unwrap_or_default(),
            record,
            health_check: r.health_check.clone(),
            rpo,
            backup,
            alarms,
            role: None,
            description: r.description.clone(),
        })
    }
}

/// What a regional kind that holds no data never takes: no recovery points (so no RPO and no
/// vault), nothing of the other kinds' addressing, and (last, for an alarm itself) no alarms.
const NOT_DATA: [&str; 9] = [
    "arn",
    "zone",
    "name",
    "type",
    "set_identifier",
    "backup",
    "rpo",
    "health_check",
    "alarms",
];

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

fn example(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Ec2Instance => "e.g. `{ kind: ec2-instance, region: us-east-1, id: i-0abc1234 }`",
        ResourceKind::EbsVolume => "e.g. `{ kind: ebs-volume, region: us-east-1, id: vol-0abc1234 }`",
        ResourceKind::RdsInstance => "e.g. `{ kind: rds-instance, region: us-east-1, id: orders-prod }`",
        ResourceKind::DynamodbTable => "e.g. `{ kind: dynamodb-table, region: us-east-1, id: orders }`",
        ResourceKind::GlobalAccelerator => {
            "e.g. `{ kind: global-accelerator, arn: \"arn:aws:globalaccelerator::111122223333:accelerator/1234\" }`"
        }
        ResourceKind::Route53Record => {
            "e.g. `{ kind: route53-record, zone: Z0123456789, name: api.example.com., type: A }`"
        }
        ResourceKind::CloudwatchAlarm => {
            "e.g. `{ kind: cloudwatch-alarm, region: us-west-2, id: shop-5xx-rate }`"
        }
        ResourceKind::RedshiftCluster => {
            "e.g. `{ kind: redshift-cluster, region: us-east-1, id: warehouse }`"
        }
        ResourceKind::CloudformationStack => {
            "e.g. `{ kind: cloudformation-stack, region: us-west-2, id: analytics-dr }`"
        }
        ResourceKind::SnsTopic => {
            "e.g. `{ kind: sns-topic, region: us-east-1, id: \"arn:aws:sns:us-east-1:111122223333:dr-status\" }`"
        }
    }
}
