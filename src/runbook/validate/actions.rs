//! Action steps: the action fits the resource, its parameters are complete and well typed, and
//! what a restore creates has a fixed name so a repeated restore can find it.

use indexmap::IndexMap;

use super::ids::is_db_identifier;
use super::templates::{segs, Scope};
use super::{is_region, serde_errors, Checker};
use crate::runbook::catalogue::ActionKind;
use crate::runbook::diagnostic::{did_you_mean, one_of, Diagnostic};
use crate::runbook::model::{ActionCall, Inverse, Resource, StepBody};
use crate::runbook::params::{ActionParams, Source};
use crate::runbook::raw::RawStep;
use crate::runbook::source::Seg;
use crate::runbook::template::Template;

impl Checker<'_> {
    pub(super) fn action_body(
        &mut self,
        i: usize,
        s: &RawStep,
        vars: &IndexMap<String, String>,
        resources: &IndexMap<String, Resource>,
        scope: &Scope<'_>,
    ) -> Option<StepBody> {
        let at = |k: &'static str| [Seg::Key("steps"), Seg::Index(i), Seg::Key(k)];
        let action = self
            .required(
                &s.action,
                i,
                "action",
                "`action: rds.restore-snapshot` (see the catalogue in README.md)",
            )
            .copied();
        let res_name = self.required(
            &s.resource,
            i,
            "resource",
            "`resource: NAME` naming a resource declared under `resources:`",
        );
        let (action, res_name) = (action?, res_name?);
        let Some(res) = resources.get(res_name) else {
            self.undefined_resource(res_name, &at("resource"), resources);
            return None;
        };
        self.fits(action, res, &at("action"))?;
        let step_path = vec!["steps".to_string(), format!("#{i}")];
        let call = self.action_call(
            action,
            s.with.as_ref(),
            &step_path,
            "with",
            res,
            vars,
            scope,
        );
        if let Some(w) = &s.wait_until {
            let states = action.spec().wait_states;
            if !states.contains(&w.as_str()) {
                self.error_at(
                    &at("wait_until"),
                    format!("`{}` never reaches state `{w}`", action.name()),
                    format!("it can wait until {}", one_of(states)),
                );
            }
        }
        let inverse = match &s.inverse {
            None => None,
            Some(inv) => {
                let ipath = [
                    Seg::Key("steps"),
                    Seg::Index(i),
                    Seg::Key("inverse"),
                    Seg::Key("action"),
                ];
                self.fits(inv.action, res, &ipath)?;
                // The undo runs after the step, so it may use the step's own outputs.
                let inverse_scope = match scope {
                    Scope::Step {
                        index,
                        steps,
                        resources,
                    } => Scope::Step {
                        index: index + 1,
                        steps,
                        resources,
                    },
                    Scope::Resource => Scope::Resource,
                };
                let mut inv_path = step_path.clone();
                inv_path.push("inverse".to_string());
                let gate = match &inv.gate {
                    Some(g) => {
                        let gpath = [
                            Seg::Key("steps"),
                            Seg::Index(i),
                            Seg::Key("inverse"),
                            Seg::Key("gate"),
                        ];
                        if g.approvers.is_some_and(|n| n > 1) {
                            let mut at = gpath.to_vec();
                            at.push(Seg::Key("approvers"));
                            self.error_at(
                                &at,
                                "a rollback is approved by one person",
                                "remove `approvers`: the rollback undoes what was approved, and must not wait for someone who cannot be reached",
                            );
                            return None;
                        }
                        Some(self.gate(g, &gpath, vars, &inverse_scope)?)
                    }
                    None => None,
                };
                let call = self.action_call(
                    inv.action,
                    Some(&inv.with),
                    &inv_path,
                    "with",
                    res,
                    vars,
                    &inverse_scope,
                )?;
                Some(Box::new(Inverse { call, gate }))
            }
        };
        Some(StepBody::Action {
            resource: res_name.clone(),
            call: Box::new(call?),
            wait_until: s.wait_until.clone(),
            inverse,
        })
    }

    /// Reports an action that does not apply to the resource's kind.
    fn fits(&mut self, action: ActionKind, res: &Resource, path: &[Seg<'_>]) -> Option<()> {
        let spec = action.spec();
        if spec.resource_kinds.contains(&res.kind) {
            return Some(());
        }
        let kinds: Vec<&str> = spec.resource_kinds.iter().map(|k| k.name()).collect();
        let fitting: Vec<&str> = ActionKind::ALL
            .iter()
            .filter(|a| a.spec().resource_kinds.contains(&res.kind))
            .map(|a| a.name())
            .collect();
        self.error_at(
            path,
            format!(
                "`{}` cannot act on `{}`, which is a {}",
                spec.name,
                res.name,
                res.kind.name()
            ),
            format!(
                "`{}` acts on {}; actions for a {}: {}",
                spec.name,
                one_of(&kinds),
                res.kind.name(),
                one_of(&fitting)
            ),
        );
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn action_call(
        &mut self,
        action: ActionKind,
        with: Option<&serde_yaml::Mapping>,
        parent: &[String],
        key: &str,
        res: &Resource,
        vars: &IndexMap<String, String>,
        scope: &Scope<'_>,
    ) -> Option<ActionCall> {
        let before = self.diags.len();
        let mut path = parent.to_vec();
        path.push(key.to_string());
        let value = serde_yaml::Value::Mapping(with.cloned().unwrap_or_default());
        let expanded = self.expand_value(&value, &mut path, vars, scope);
        if self.diags.len() > before {
            return None;
        }
        let params = match action.parse_params(expanded) {
            Ok(p) => p,
            Err(err) => {
                let mut d = serde_errors::diagnose(&err, self.tree, &segs(&path));
                if let Some(param) = d.message.strip_prefix("missing key ") {
                    let name = param.trim_matches('`');
                    d.hint = Some(format!("add `{name}:` under `{key}:`"));
                    d.message = format!("`{}` missing parameter {param}", action.name());
                }
                self.diags.push(d);
                return None;
            }
        };
        self.check_params(&params, res, &path);
        (self.diags.len() == before).then_some(ActionCall { action, params })
    }

    fn check_params(&mut self, params: &ActionParams, res: &Resource, with: &[String]) {
        let at = |k: &str| {
            let mut p = with.to_vec();
            p.push(k.to_string());
            p
        };
        let mut problems: Vec<(Vec<String>, String, String)> = Vec::new();
        if let Some(region) = params.region().and_then(Template::as_literal) {
            let key = match params {
                ActionParams::SetTrafficDial(_) | ActionParams::SetEndpointWeights(_) => {
                    "endpoint_group_region"
                }
                _ => "region",
            };
            if !is_region(&region) {
                problems.push((
                    at(key),
                    format!("`{region}` is not an AWS region"),
                    "write a region name such as `us-west-2`".into(),
                ));
            }
        }
        if let Some(target) = params.target_name() {
            let key = match params {
                ActionParams::DynamodbRestorePointInTime(_)
                | ActionParams::DynamodbRestoreBackup(_) => "target_table",
                _ => "target_id",
            };
            match target.as_literal() {
                None => problems.push((at(key), "the restore target's name must be fixed before the run".into(),
                    "use a literal or a var, so that a repeated restore finds and adopts what the first one made".into())),
                Some(t) => {
                    let same_region = params.region().and_then(Template::as_literal).is_none_or(|r| Some(&r) == res.region.as_ref());
                    if t == res.id && same_region {
                        problems.push((at(key), format!("`{t}` is the source's own name"), "restore to a new name, e.g. with a `-dr` suffix".into()));
                    }
                    if key == "target_id" && !is_db_identifier(&t) {
                        problems.push((at(key), format!("`{t}` is not a valid DB instance identifier"),
                            "1–63 letters, digits and hyphens, starting with a letter, no `--`, not ending in `-`".into()));
                    }
                }
            }
        }
        let elsewhere = params
            .region()
            .and_then(Template::as_literal)
            .filter(|r| Some(r) != res.region.as_ref());
        match params {
            ActionParams::DynamodbRestoreBackup(p)
                if elsewhere.is_some() && matches!(p.backup, Source::Latest) =>
            {
                problems.push((
                    at("region"),
                    format!(
                        "DynamoDB backups stay in their table's region ({}): RestoreTableFromBackup cannot restore one into {}",
                        res.region.as_deref().unwrap_or("?"),
                        elsewhere.unwrap_or_default()
                    ),
                    "to survive a region loss, copy backups to the recovery region with AWS Backup, give the table `backup: { vault, region }` and restore with `backup.start-restore`".into(),
                ));
            }
            ActionParams::DynamodbRestoreBackup(p) => {
                // A named backup restores only in its own region.
                let into = elsewhere.or_else(|| res.region.clone()).unwrap_or_default();
                let named = match &p.backup {
                    Source::Named(arn) => arn.as_literal(),
                    Source::Latest => None,
                };
                let from = named
                    .as_deref()
                    .and_then(|a| a.split(':').nth(3))
                    .map(str::to_string);
                if let Some(from) = from.filter(|f| !f.is_empty() && *f != into) {
                    problems.push((
                        at("backup"),
                        format!("the backup is in {from}: RestoreTableFromBackup restores it only there, not in {into}"),
                        format!("restore it with `region: {from}`, or restore an AWS Backup copy in {into} with `backup.start-restore`"),
                    ));
                }
            }
            ActionParams::SetTrafficDial(p) if p.dial > 100 => {
                problems.push((
                    at("dial"),
                    format!("a traffic dial of {} %", p.dial),
                    "the dial is a percentage from 0 to 100".into(),
                ));
            }
            ActionParams::SetEndpointWeights(p) if p.weights.is_empty() => {
                problems.push((
                    at("weights"),
                    "no endpoint weights given".into(),
                    "map endpoint ids to weights 0–255".into(),
                ));
            }
            ActionParams::SetRecordWeights(p) if p.weights.is_empty() => {
                problems.push((
                    at("weights"),
                    "no record weights given".into(),
                    "map set identifiers to weights 0–255, e.g. `{ primary: 0, recovery: 100 }`"
                        .into(),
                ));
            }
            ActionParams::UpsertRecord(p) if p.values.is_empty() => {
                problems.push((
                    at("values"),
                    "no record values given".into(),
                    "list the new values, e.g. `values: [203.0.113.10]`".into(),
                ));
            }
            ActionParams::LaunchFromAmi(p) => match (&p.ami, &p.ami_name) {
                (Source::Latest, None) => problems.push((
                    at("ami"),
                    "`ami: latest` needs `ami_name` to say which AMIs".into(),
                    "add `ami_name: golden-app-*`, or name one AMI: `ami: ami-0abc1234`".into(),
                )),
                (Source::Named(_), Some(_)) => problems.push((
                    at("ami_name"),
                    "`ami_name` only applies with `ami: latest`".into(),
                    "remove `ami_name`, or set `ami: latest`".into(),
                )),
                _ => {}
            },
            ActionParams::BackupStartRestore(_) if res.backup.is_none() => {
                let mut resource = with.to_vec();
                resource.pop();
                resource.push("resource".to_string());
                problems.push((
                    resource,
                    format!(
                        "resource `{}` has no `backup:` vault to restore from",
                        res.name
                    ),
                    "add `backup: { vault: NAME, region: REGION }` to the resource".into(),
                ));
            }
            _ => {}
        }
        for (key, source, prefixes, example) in params.sources() {
            let Source::Named(t) = source else { continue };
            let Some(id) = t.as_literal() else { continue };
            if did_you_mean(&id, ["latest"]).is_some() {
                problems.push((
                    at(key),
                    format!("`{id}` is not `latest` or an id"),
                    "did you mean `latest`?".into(),
                ));
            } else if !prefixes.is_empty() && !prefixes.iter().any(|p| id.starts_with(p)) {
                problems.push((
                    at(key),
                    format!("`{id}` does not look like a {key} id"),
                    format!("write `latest`, or an id like `{example}`"),
                ));
            }
        }
        let with_segs = segs(with);
        for (key, message, hint) in self.platform_params(params, &with_segs) {
            problems.push((at(key), message, hint));
        }
        for (path, message, hint) in problems {
            let pos = self.tree.locate(&segs(&path));
            self.diags.push(Diagnostic::new(pos, message).hint(hint));
        }
    }
}
