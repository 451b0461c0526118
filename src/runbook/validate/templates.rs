//! Checks and substitutes `{{ }}` references: vars and resource fields now, step outputs later.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::Checker;
use crate::runbook::diagnostic::{did_you_mean, one_of, Diagnostic};
use crate::runbook::model::Resource;
use crate::runbook::source::Seg;
use crate::runbook::template::{self, Piece, Ref};

/// What each step is and gives, so references to it can be checked before it is validated.
pub(super) struct StepIndex {
    pub steps: HashMap<String, StepInfo>,
}

pub(super) struct StepInfo {
    pub index: usize,
    pub outputs: &'static [&'static str],
    /// `rds.restore-snapshot` or `command`, for messages.
    pub label: String,
}

/// Which references a place may use.
pub(super) enum Scope<'a> {
    /// Resource fields: vars only.
    Resource,
    /// Step `index`: vars, resources and outputs of earlier steps.
    Step {
        index: usize,
        steps: &'a StepIndex,
        resources: &'a IndexMap<String, Resource>,
    },
}

impl Checker<'_> {
    /// Substitutes vars and resource fields in `text`, keeping `{{steps...}}` references (after
    /// checking them) for run time. Reports located problems; `None` when there were any.
    pub(super) fn expand(
        &mut self,
        text: &str,
        path: &[Seg<'_>],
        vars: &IndexMap<String, String>,
        scope: &Scope<'_>,
    ) -> Option<String> {
        let pieces = match template::split(text) {
            Ok(p) => p,
            Err((offset, message)) => {
                let pos = self.tree.locate_in_scalar(path, offset);
                self.diags.push(Diagnostic::new(pos, message).hint(
                    "write `{{vars.NAME}}`, `{{resources.NAME.FIELD}}`, `{{steps.STEP.outputs.NAME}}` or `{{run.FACT}}` (`id`, `step`, `elapsed`, `rto`)",
                ));
                return None;
            }
        };
        let mut out = String::with_capacity(text.len());
        let mut ok = true;
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(&t),
                Piece::Ref { reference, offset } => match self.resolve(&reference, vars, scope) {
                    Ok(Some(value)) => out.push_str(&value),
                    Ok(None) => out.push_str(&format!("{{{{{reference}}}}}")),
                    Err(Some((message, hint))) => {
                        let pos = self.tree.locate_in_scalar(path, offset);
                        self.diags.push(Diagnostic::new(pos, message).hint(hint));
                        ok = false;
                    }
                    Err(None) => ok = false,
                },
            }
        }
        ok.then_some(out)
    }

    /// `Ok(Some(value))` for what is known now, `Ok(None)` for a valid step-output reference.
    fn resolve(
        &self,
        reference: &Ref,
        vars: &IndexMap<String, String>,
        scope: &Scope<'_>,
    ) -> Result<Option<String>, Option<(String, String)>> {
        self.resolve_inner(reference, vars, scope).map_err(|e| {
            // A reference to a resource that is itself invalid was reported there already.
            match reference {
                Ref::Resource { name, .. } if self.broken.contains(name) => None,
                Ref::Region(_) if self.regions_broken => None,
                _ => Some(e),
            }
        })
    }

    fn resolve_inner(
        &self,
        reference: &Ref,
        vars: &IndexMap<String, String>,
        scope: &Scope<'_>,
    ) -> Result<Option<String>, (String, String)> {
        match reference {
            Ref::Var(name) => match vars.get(name) {
                Some(v) => Ok(Some(v.clone())),
                None => Err((
                    format!("undefined var `{name}`"),
                    suggest(
                        name,
                        vars.keys().map(String::as_str),
                        "define it under `vars:`",
                    ),
                )),
            },
            Ref::Region(which) => match &self.failover {
                Some(f) if which == "primary" => Ok(Some(f.primary.clone())),
                Some(f) => Ok(Some(f.recovery.clone())),
                None => Err((
                    format!("`regions.{which}` is used but the runbook declares no regions"),
                    "add `regions: { primary: us-east-1, recovery: us-west-2 }` at the top".into(),
                )),
            },
            Ref::Resource { name, field } => {
                let Scope::Step { resources, .. } = scope else {
                    return Err((
                        "resources cannot refer to other resources".into(),
                        "write the value out, or put it in `vars:`".into(),
                    ));
                };
                let Some(res) = resources.get(name) else {
                    return Err((
                        format!("undefined resource `{name}`"),
                        suggest(
                            name,
                            resources.keys().map(String::as_str),
                            "declare it under `resources:`",
                        ),
                    ));
                };
                resource_field(res, field).map(Some).ok_or_else(|| {
                    (
                        format!("resource `{name}` has no `{field}`"),
                        "fields: `id`, `region`, `account`, `name` (the resource's key), `zone`, `record_name`, `type`"
                            .into(),
                    )
                })
            }
            Ref::Run(_) => match scope {
                Scope::Step { .. } => Ok(None),
                _ => Err((
                    "resources are fixed before the run and cannot use the run's facts".into(),
                    "use `{{run.…}}` inside a step's `with:` or command instead".into(),
                )),
            },
            Ref::StepOutput { step, output } => {
                let Scope::Step { index, steps, .. } = scope else {
                    return Err((
                        "resources are fixed before the run and cannot use step outputs".into(),
                        "use a step output inside a step's `with:` instead".into(),
                    ));
                };
                let Some(info) = steps.steps.get(step) else {
                    let mut earlier: Vec<(&String, &StepInfo)> = steps
                        .steps
                        .iter()
                        .filter(|(_, s)| s.index < *index)
                        .collect();
                    earlier.sort_by_key(|(_, s)| s.index);
                    let ids = earlier.iter().map(|(id, _)| id.as_str());
                    return Err((
                        format!("undefined step `{step}`"),
                        suggest(step, ids, "refer to an earlier step's id"),
                    ));
                };
                if info.index >= *index {
                    let when = if info.index == *index {
                        "is this very step"
                    } else {
                        "runs later"
                    };
                    return Err((
                        format!("step `{step}` {when}; its outputs are not known here"),
                        "a step can only use outputs of steps before it: move this step after it"
                            .into(),
                    ));
                }
                if !info.outputs.contains(&output.as_str()) {
                    let gives = if info.outputs.is_empty() {
                        format!("a `{}` step gives no outputs", info.label)
                    } else {
                        format!("`{}` gives {}", info.label, one_of(info.outputs))
                    };
                    let hint = match did_you_mean(output, info.outputs.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? {gives}"),
                        None => gives,
                    };
                    return Err((format!("step `{step}` has no output `{output}`"), hint));
                }
                Ok(None)
            }
        }
    }

    /// Expands every string (and key) inside an action's `with:` value.
    pub(super) fn expand_value(
        &mut self,
        value: &serde_yaml::Value,
        path: &mut Vec<String>,
        vars: &IndexMap<String, String>,
        scope: &Scope<'_>,
    ) -> serde_yaml::Value {
        use serde_yaml::Value;
        match value {
            Value::String(s) => {
                let segs = segs(path);
                let Some(expanded) = self.expand(s, &segs, vars, scope) else {
                    return value.clone();
                };
                // A whole-string var holding a number stays a number (`dial: "{{vars.dial}}"`).
                let whole_var = matches!(
                    template::split(s).as_deref(),
                    Ok([Piece::Ref {
                        reference: Ref::Var(_),
                        ..
                    }])
                );
                match expanded.parse::<u64>() {
                    Ok(n) if whole_var => Value::Number(n.into()),
                    _ => Value::String(expanded),
                }
            }
            Value::Sequence(items) => Value::Sequence(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        path.push(format!("#{i}"));
                        let out = self.expand_value(v, path, vars, scope);
                        path.pop();
                        out
                    })
                    .collect(),
            ),
            Value::Mapping(map) => {
                let mut out = serde_yaml::Mapping::new();
                for (k, v) in map {
                    let key = match k {
                        Value::String(ks) => {
                            path.push(ks.clone());
                            let segs = segs(path);
                            let expanded = self.expand(ks, &segs, vars, scope);
                            path.pop();
                            Value::String(expanded.unwrap_or_else(|| ks.clone()))
                        }
                        other => other.clone(),
                    };
                    path.push(match k {
                        Value::String(ks) => ks.clone(),
                        _ => String::new(),
                    });
                    let v = self.expand_value(v, path, vars, scope);
                    path.pop();
                    out.insert(key, v);
                }
                Value::Mapping(out)
            }
            Value::Tagged(t) => self.expand_value(&t.value, path, vars, scope),
            other => other.clone(),
        }
    }
}

/// Turns a path of owned strings (`#3` for index 3) into tree segments.
pub(super) fn segs(path: &[String]) -> Vec<Seg<'_>> {
    path.iter()
        .map(|p| match p.strip_prefix('#').and_then(|n| n.parse().ok()) {
            Some(i) => Seg::Index(i),
            None => Seg::Key(p.as_str()),
        })
        .collect()
}

fn suggest<'a>(
    wrong: &str,
    known: impl Iterator<Item = &'a str> + Clone,
    otherwise: &str,
) -> String {
    match did_you_mean(wrong, known.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<&str> = known.collect();
            if all.is_empty() {
                otherwise.to_string()
            } else {
                format!("{otherwise}; known: {}", one_of(&all))
            }
        }
    }
}

fn resource_field(res: &Resource, field: &str) -> Option<String> {
    match field {
        "id" | "arn" => Some(res.id.clone()),
        "name" => Some(res.name.clone()),
        "region" => res.region.clone(),
        "account" => res.account.clone(),
        "zone" => res.record.as_ref().map(|r| r.zone.clone()),
        "record_name" => res.record.as_ref().map(|r| r.name.clone()),
        "type" => res.record.as_ref().map(|r| r.record_type.clone()),
        _ => None,
    }
}
