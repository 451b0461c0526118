//! `guards:`, on the runbook and on steps: names of `cloudwatch-alarm` resources; and
//! `accounts:`, the roles assumed in other accounts.

use indexmap::IndexMap;

use super::names::is_region;
use super::Checker;
use crate::runbook::model::{AccountRole, Resource, ResourceKind};
use crate::runbook::raw::RawAccount;
use crate::runbook::source::Seg;

impl Checker<'_> {
    /// The guard alarms at `path`, each a declared `cloudwatch-alarm` resource, once.
    pub(super) fn guards(
        &mut self,
        names: &[String],
        path: &[Seg<'_>],
        resources: &IndexMap<String, Resource>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let mut at = path.to_vec();
            at.push(Seg::Index(i));
            match resources.get(name) {
                Some(r) if r.kind == ResourceKind::CloudwatchAlarm => {
                    if out.contains(name) {
                        self.error_at(&at, format!("guard `{name}` is listed twice"), "list each guard once");
                    } else {
                        out.push(name.clone());
                    }
                }
                Some(r) => self.error_at(
                    &at,
                    format!("`{name}` is a {}, not a cloudwatch-alarm", r.kind.name()),
                    "a guard is a `cloudwatch-alarm` resource: declare the alarm and name it here",
                ),
                None if self.broken.contains(name) => {}
                None => self.error_at(
                    &at,
                    format!("`{name}` is not a declared resource"),
                    "declare the alarm under `resources:` as `{ kind: cloudwatch-alarm, region: REGION, id: ALARM_NAME }`",
                ),
            }
        }
        out
    }
}

/// `arn:aws:iam::ACCOUNT:role/NAME` (any partition, any path), in `account`.
fn is_role_in(arn: &str, account: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4] == account
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty())
}

impl Checker<'_> {
    /// `accounts:`: 12-digit ids, each with a role in that account.
    pub(super) fn accounts(
        &mut self,
        raw: &IndexMap<String, RawAccount>,
    ) -> IndexMap<String, AccountRole> {
        let mut out = IndexMap::new();
        for (id, a) in raw {
            let at = |k: &'static str| [Seg::Key("accounts"), Seg::Key(id), Seg::Key(k)];
            if !(id.len() == 12 && id.chars().all(|c| c.is_ascii_digit())) {
                self.key_error_at(
                    &[Seg::Key("accounts"), Seg::Key(id)],
                    format!("`{}` is not an AWS account id", id.escape_debug()),
                    "key each account by its 12-digit id, quoted: `\"111122223333\": { role: … }`",
                );
                continue;
            }
            if !is_role_in(&a.role, id) {
                self.error_at(
                    &at("role"),
                    format!("`{}` is not a role in account {id}", a.role.escape_debug()),
                    format!("write the role's ARN, e.g. `arn:aws:iam::{id}:role/pilotlight-dr`"),
                );
                continue;
            }
            if let Some(r) = a.region.as_ref().filter(|r| !is_region(r)) {
                self.error_at(
                    &at("region"),
                    format!("`{}` is not an AWS region", r.escape_debug()),
                    "the region to ask STS in, e.g. `us-west-2`",
                );
                continue;
            }
            out.insert(
                id.clone(),
                AccountRole {
                    role: a.role.clone(),
                    external_id: a.external_id.clone(),
                    region: a.region.clone(),
                },
            );
        }
        out
    }
}
