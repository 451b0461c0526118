//! `guards:`, on the runbook and on steps: names of `cloudwatch-alarm` resources.

use indexmap::IndexMap;

use super::Checker;
use crate::runbook::model::{Resource, ResourceKind};
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
