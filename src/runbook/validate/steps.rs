//! Steps: unique ids, keys that fit the kind, gates where changes happen, durations, conditions.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::templates::{Scope, StepIndex, StepInfo};
use super::{is_slug, Checker};
use crate::runbook::diagnostic::{one_of, Pos};
use crate::runbook::duration::Duration;
use crate::runbook::model::{Resource, Retry, Step, StepBody, StepKind, COMMAND_OUTPUTS};
use crate::runbook::raw::{step_keys, RawStep, COMMON_STEP_KEYS};
use crate::runbook::source::{Node, Seg};
use crate::runbook::template::Template;

const DEFAULT_BACKOFF: Duration = Duration::from_secs(30);

impl Checker<'_> {
    pub(super) fn steps(
        &mut self,
        raw: &[RawStep],
        vars: &IndexMap<String, String>,
        resources: &IndexMap<String, Resource>,
    ) -> Vec<Step> {
        if raw.is_empty() {
            let pos = self.tree.locate_key(&[Seg::Key("steps")]);
            let pos = if self.tree.get(&[Seg::Key("steps")]).is_some() {
                pos
            } else {
                Pos::START
            };
            self.diags.push(
                crate::runbook::Diagnostic::new(pos, "the runbook has no steps")
                    .hint("add `steps:` with at least one step, e.g. `- { id: assess, kind: manual, title: Assess the impact }`"),
            );
            return Vec::new();
        }
        let index = self.index_steps(raw);
        let marked: Vec<usize> = (0..raw.len())
            .filter(|i| raw[*i].restores_service == Some(true))
            .collect();
        if let [first, again, ..] = marked.as_slice() {
            self.error_at(
                &[
                    Seg::Key("steps"),
                    Seg::Index(*again),
                    Seg::Key("restores_service"),
                ],
                format!(
                    "step `{}` already restores the service; only one step can",
                    raw[*first].id
                ),
                "mark only the step after which users are served again",
            );
        }
        raw.iter()
            .enumerate()
            .filter_map(|(i, s)| self.step(i, s, vars, resources, &index))
            .collect()
    }

    fn index_steps(&mut self, raw: &[RawStep]) -> StepIndex {
        let mut steps: HashMap<String, StepInfo> = HashMap::new();
        let mut first_at: HashMap<&str, Pos> = HashMap::new();
        for (i, s) in raw.iter().enumerate() {
            let path = [Seg::Key("steps"), Seg::Index(i), Seg::Key("id")];
            if !self.written_as_text(&path) {
                continue;
            }
            if !is_slug(&s.id) {
                self.error_at(
                    &path,
                    format!("`{}` is not a valid step id", s.id),
                    "use lowercase letters, digits and hyphens, e.g. `restore-db`",
                );
            }
            if let Some(first) = first_at.get(s.id.as_str()) {
                self.error_at(
                    &path,
                    format!("duplicate step id `{}` (first at {first})", s.id),
                    "give every step its own id",
                );
                continue;
            }
            first_at.insert(&s.id, self.tree.locate(&path));
            let (outputs, label) = match (s.kind, s.action) {
                (StepKind::Action, Some(a)) => (a.spec().outputs, a.name().to_string()),
                (StepKind::Command, _) => (COMMAND_OUTPUTS, "command".to_string()),
                (k, _) => (&[][..], k.name().to_string()),
            };
            steps.insert(
                s.id.clone(),
                StepInfo {
                    index: i,
                    outputs,
                    label,
                },
            );
        }
        StepIndex { steps }
    }

    fn step(
        &mut self,
        i: usize,
        s: &RawStep,
        vars: &IndexMap<String, String>,
        resources: &IndexMap<String, Resource>,
        index: &StepIndex,
    ) -> Option<Step> {
        let before = self.diags.len();
        let base = [Seg::Key("steps"), Seg::Index(i)];
        let at = |k: &'static str| [base[0], base[1], Seg::Key(k)];
        let scope = Scope::Step {
            index: i,
            steps: index,
            resources,
        };
        self.keys_fit_kind(i, s.kind);
        if s.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            self.error_at(
                &at("title"),
                "the step title is empty",
                "say in a few words what this step achieves, or leave `title` out",
            );
        }
        if let Some(t) = &s.title {
            self.shown_as_written(t, &at("title"), false);
        }
        if let Some(t) = &s.instructions {
            self.shown_as_written(t, &at("instructions"), true);
        }
        let instructions = s
            .instructions
            .as_deref()
            .and_then(|t| self.expand(t, &at("instructions"), vars, &scope))
            .and_then(|t| Template::from_expanded(&t).ok());
        let gate = s
            .gate
            .as_ref()
            .and_then(|g| self.gate(g, &at("gate"), vars, &scope));
        if matches!(s.kind, StepKind::Action | StepKind::Command) && s.gate.is_none() {
            let what = if s.kind == StepKind::Action {
                "changes cloud resources"
            } else {
                "runs a command"
            };
            self.error_at(
                &at("kind"),
                format!("step `{}` {what} but has no gate", s.id),
                "add `gate: { confirm: true }`, or `gate: { typed: PHRASE, reason: required }` for risky changes",
            );
        }
        let expect_duration = s
            .expect_duration
            .as_deref()
            .and_then(|t| self.duration(t, &at("expect_duration")));
        let timeout = s
            .timeout
            .as_deref()
            .and_then(|t| self.duration(t, &at("timeout")));
        if timeout == Some(Duration::from_secs(0)) {
            self.error_at(
                &at("timeout"),
                "a timeout of zero would fail the step at once",
                "give the longest this step may take, e.g. `1h`",
            );
        }
        if let (Some(e), Some(t)) = (expect_duration, timeout) {
            if t < e {
                self.error_at(
                    &at("timeout"),
                    format!("timeout {t} is shorter than expect_duration {e}"),
                    "make the timeout at least the expected duration",
                );
            }
        }
        let retry = match &s.retry {
            None => Retry {
                max_attempts: 1,
                backoff: DEFAULT_BACKOFF,
            },
            Some(r) => {
                let rpath = [
                    base[0],
                    base[1],
                    Seg::Key("retry"),
                    Seg::Key("max_attempts"),
                ];
                // Each attempt's plan is its own, and runs only once shown.
                if let Some(a) = s
                    .action
                    .filter(|a| a.runs_what_is_shown() && r.max_attempts > 1)
                {
                    self.error_at(
                        &rpath,
                        format!("`{}` does not retry by itself", a.name()),
                        "remove `retry:`: each attempt's change set is shown at the gate before it runs, so a retry is the operator's (r)",
                    );
                }
                if !(1..=10).contains(&r.max_attempts) {
                    self.error_at(
                        &rpath,
                        format!("max_attempts is {}", r.max_attempts),
                        "attempts in all, from 1 to 10",
                    );
                }
                let bpath = [base[0], base[1], Seg::Key("retry"), Seg::Key("backoff")];
                let backoff = r.backoff.as_deref().and_then(|t| self.duration(t, &bpath));
                Retry {
                    max_attempts: r.max_attempts,
                    backoff: backoff.unwrap_or(DEFAULT_BACKOFF),
                }
            }
        };
        let body = match s.kind {
            StepKind::Check => {
                let expect = self.required(
                    &s.expect,
                    i,
                    "expect",
                    "`expect: { resource: orders-db, health: [impaired, unavailable] }`",
                );
                expect
                    .and_then(|c| self.condition(c, &at("expect"), resources))
                    .map(|expect| StepBody::Check { expect })
            }
            StepKind::Manual => Some(StepBody::Manual),
            StepKind::Action => self.action_body(i, s, vars, resources, &scope),
            StepKind::Wait => self.wait_body(i, s, timeout, resources),
            StepKind::Command => {
                let run = self.required(&s.run, i, "run", "`run: dig +short api.example.com`");
                run.and_then(|r| self.expand(r, &at("run"), vars, &scope))
                    .and_then(|r| Template::from_expanded(&r).ok())
                    .map(|run| StepBody::Command {
                        run,
                        expect_exit: s.expect_exit.unwrap_or(0),
                    })
            }
        };
        if self.diags.len() > before {
            return None;
        }
        Some(Step {
            id: s.id.clone(),
            title: default_title(s),
            instructions,
            gate,
            expect_duration,
            timeout,
            retry,
            body: body?,
            restores_service: s.restores_service == Some(true),
            guards: self.guards(
                &s.guards,
                &[Seg::Key("steps"), Seg::Index(i), Seg::Key("guards")],
                resources,
            ),
        })
    }

    /// Reports keys that belong to another kind of step.
    fn keys_fit_kind(&mut self, i: usize, kind: StepKind) {
        let Some(Node::Map { entries, .. }) = self.tree.get(&[Seg::Key("steps"), Seg::Index(i)])
        else {
            return;
        };
        // A step of an unknown kind was read on as a bare step: its keys were never its kind's.
        let written = entries.iter().find(|e| e.key == "kind").map(|e| &e.value);
        if let Some(Node::Scalar { value, .. }) = written {
            if value != kind.name() {
                return;
            }
        }
        let allowed = step_keys(kind);
        let misplaced: Vec<(String, Pos)> = entries
            .iter()
            .filter(|e| {
                !COMMON_STEP_KEYS.contains(&e.key.as_str()) && !allowed.contains(&e.key.as_str())
            })
            .map(|e| (e.key.clone(), e.key_pos))
            .collect();
        for (key, pos) in misplaced {
            let hint = if allowed.is_empty() {
                format!(
                    "a `{}` step takes only the common keys; remove `{key}` or change `kind`",
                    kind.name()
                )
            } else {
                format!(
                    "a `{}` step takes {} besides the common keys",
                    kind.name(),
                    one_of(allowed)
                )
            };
            self.diags.push(
                crate::runbook::Diagnostic::new(
                    pos,
                    format!("`{key}` does not apply to a `{}` step", kind.name()),
                )
                .hint(hint),
            );
        }
    }

    /// A key the step kind needs; reports it missing.
    pub(super) fn required<'v, T>(
        &mut self,
        v: &'v Option<T>,
        i: usize,
        key: &str,
        example: &str,
    ) -> Option<&'v T> {
        if v.is_none() {
            let kind = self
                .tree
                .get(&[Seg::Key("steps"), Seg::Index(i), Seg::Key("kind")]);
            let pos = kind.map_or_else(
                || self.tree.locate(&[Seg::Key("steps"), Seg::Index(i)]),
                Node::pos,
            );
            self.diags.push(
                crate::runbook::Diagnostic::new(pos, format!("this step needs `{key}`"))
                    .hint(format!("add {example}")),
            );
        }
        v.as_ref()
    }
}

/// The step's title, or for an untitled action `Restore a DB instance from a snapshot (orders-db)`.
fn default_title(s: &RawStep) -> String {
    if let Some(t) = &s.title {
        return t.clone();
    }
    match (s.action, &s.resource) {
        (Some(a), Some(r)) => {
            let summary = a.spec().summary;
            let mut chars = summary.chars();
            let first = chars
                .next()
                .map(|c| c.to_uppercase().to_string())
                .unwrap_or_default();
            format!("{first}{} ({r})", chars.as_str())
        }
        _ => s.id.clone(),
    }
}
