//! Gates, conditions and waits of steps: a gate must ask for something, a condition must name a
//! declared resource and check something, a wait takes `until` (with a timeout) or `for`.

use indexmap::IndexMap;

use super::templates::Scope;
use super::Checker;
use crate::runbook::duration::Duration;
use crate::runbook::model::{Condition, Gate, Resource, StepBody};
use crate::runbook::raw::{RawCondition, RawGate, RawStep};
use crate::runbook::source::Seg;

impl Checker<'_> {
    pub(super) fn gate(
        &mut self,
        g: &RawGate,
        path: &[Seg<'_>],
        vars: &IndexMap<String, String>,
        scope: &Scope<'_>,
    ) -> Option<Gate> {
        let mut typed_path = path.to_vec();
        typed_path.push(Seg::Key("typed"));
        let typed = match &g.typed {
            Some(t) => {
                let phrase = self.expand(t, &typed_path, vars, scope)?;
                if phrase.trim().is_empty() {
                    self.error_at(
                        &typed_path,
                        "the typed phrase is empty",
                        "use the name of what is about to change, e.g. the target DB id",
                    );
                    return None;
                }
                if !self.shown_as_written(&phrase, &typed_path, false) {
                    return None;
                }
                if phrase.contains("{{") {
                    self.error_at(
                        &typed_path,
                        "the typed phrase must be known before the run",
                        "use vars or resource fields here, not step outputs",
                    );
                    return None;
                }
                Some(phrase)
            }
            None => None,
        };
        if !g.confirm && typed.is_none() {
            self.error_at(
                path,
                "this gate asks for nothing",
                "set `confirm: true`, or `typed: PHRASE` to make the operator type a phrase",
            );
            return None;
        }
        let approvers = g.approvers.unwrap_or(1);
        if !(1..=2).contains(&approvers) {
            let mut at = path.to_vec();
            at.push(Seg::Key("approvers"));
            self.error_at(
                &at,
                format!("a gate has 1 or 2 approvers, not {approvers}"),
                "use `approvers: 2` for a change a second person must approve",
            );
            return None;
        }
        Some(Gate {
            confirm: g.confirm || typed.is_some(),
            typed,
            reason: g.reason,
            approvers,
        })
    }

    pub(super) fn condition(
        &mut self,
        c: &RawCondition,
        path: &[Seg<'_>],
        resources: &IndexMap<String, Resource>,
    ) -> Option<Condition> {
        let mut rpath = path.to_vec();
        rpath.push(Seg::Key("resource"));
        let Some(res) = resources.get(&c.resource) else {
            self.undefined_resource(&c.resource, &rpath, resources);
            return None;
        };
        let mut wpath = path.to_vec();
        wpath.push(Seg::Key("recovery_point_within"));
        let within = c
            .recovery_point_within
            .as_deref()
            .and_then(|t| self.duration(t, &wpath));
        if within.is_some() && !res.kind.has_recovery_points() {
            self.key_error_at(
                &wpath,
                format!(
                    "`{}` is a {} and has no recovery points",
                    res.name,
                    res.kind.name()
                ),
                "check its `health` instead",
            );
            return None;
        }
        let health = c.health.clone().unwrap_or_default();
        if health.is_empty() && within.is_none() {
            self.error_at(
                path,
                "this condition checks nothing",
                "add `health: [ok]` and/or `recovery_point_within: 15m`",
            );
            return None;
        }
        Some(Condition {
            resource: c.resource.clone(),
            health,
            recovery_point_within: within,
        })
    }

    pub(super) fn undefined_resource(
        &mut self,
        name: &str,
        path: &[Seg<'_>],
        resources: &IndexMap<String, Resource>,
    ) {
        if self.broken.contains(name) {
            return;
        }
        let hint = match crate::runbook::diagnostic::did_you_mean(
            name,
            resources.keys().map(String::as_str),
        ) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "declare it under `resources:`".to_string(),
        };
        self.error_at(path, format!("undefined resource `{name}`"), hint);
    }

    pub(super) fn wait_body(
        &mut self,
        i: usize,
        s: &RawStep,
        timeout: Option<Duration>,
        resources: &IndexMap<String, Resource>,
    ) -> Option<StepBody> {
        let at = |k: &'static str| [Seg::Key("steps"), Seg::Index(i), Seg::Key(k)];
        match (&s.until, &s.wait_for) {
            (None, None) => {
                self.required(
                    &s.until,
                    i,
                    "until",
                    "`until: { resource: orders-db, health: [ok] }` or `for: 5m`",
                );
                None
            }
            (Some(_), Some(_)) => {
                self.key_error_at(
                    &at("for"),
                    "a wait step takes `until` or `for`, not both",
                    "split it into two wait steps",
                );
                None
            }
            (Some(c), None) => {
                if timeout.is_none() {
                    self.error_at(
                        &at("until"),
                        "a wait `until` needs a `timeout`",
                        "add `timeout: 30m` (how long to wait before the step fails)",
                    );
                }
                let until = self.condition(c, &at("until"), resources)?;
                Some(StepBody::Wait {
                    until: Some(until),
                    delay: None,
                })
            }
            (None, Some(d)) => {
                let delay = self.duration(d, &at("for"))?;
                Some(StepBody::Wait {
                    until: None,
                    delay: Some(delay),
                })
            }
        }
    }
}
