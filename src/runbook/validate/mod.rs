//! From text to a validated runbook: limits, YAML syntax, the serde mirror, then meaning.

mod actions;
mod conditions;
mod guards;
mod hidden;
mod ids;
mod names;
mod platform;
mod resources;
mod serde_errors;
mod state;
mod steps;
mod templates;
mod warnings;

pub use names::is_region;
use names::{is_name, is_slug, KNOWN_REGIONS};

use indexmap::IndexMap;

use super::diagnostic::{Diagnostic, LoadError, Pos};
use super::duration::{Duration, DURATION_HINT};
use super::model::{FailoverRegions, Runbook, Targets};
use super::raw::{RawRegions, RawRunbook};
use super::source::{self, Node, Seg};

pub(super) fn parse(bytes: &[u8]) -> Result<Runbook, LoadError> {
    let text = source::check_bytes(bytes).map_err(LoadError::one)?;
    let tree = match source::parse_tree(text).map_err(LoadError::one)? {
        Some(tree @ Node::Map { .. }) => tree,
        Some(Node::Scalar { value, .. }) if value.is_empty() => return Err(empty()),
        None => return Err(empty()),
        Some(other) => {
            return Err(LoadError::one(
                Diagnostic::new(other.pos(), "a runbook is a mapping of keys")
                    .hint("start with `runbook: NAME`, `title: ...`, `targets:` and `steps:`"),
            ))
        }
    };
    let mut diags = Vec::new();
    source::duplicate_keys(&tree, &mut diags);
    let de = serde_yaml::Deserializer::from_str(text);
    let raw: RawRunbook = match serde_path_to_error::deserialize(de) {
        Ok(raw) => raw,
        Err(err) => {
            let d = serde_errors::diagnose(&err, &tree, &[]);
            // serde meets a duplicate key too, without knowing where: said once, at its place.
            let said = d.message.starts_with("duplicate field")
                && diags.iter().any(|o| o.message.starts_with("duplicate key"));
            if !said {
                diags.push(d);
            }
            // An unknown key stops serde, but not the reading: without it, the rest is checked
            // too, so one pass reports every independent problem.
            match without_unknown_keys(text, err, &tree, &mut diags) {
                Some(raw) => raw,
                None => return Err(sorted(diags)),
            }
        }
    };
    Checker {
        tree: &tree,
        diags,
        broken: Default::default(),
        failover: None,
        regions_broken: false,
        templates: Vec::new(),
    }
    .check(raw)
}

/// The runbook read again with each unknown key left out (each reported as it is met), as long
/// as unknown keys are all that stops it; `None` once something else does.
fn without_unknown_keys(
    text: &str,
    first: serde_path_to_error::Error<serde_yaml::Error>,
    tree: &Node,
    diags: &mut Vec<Diagnostic>,
) -> Option<RawRunbook> {
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let mut err = first;
    for _ in 0..64 {
        if !serde_errors::drop_unknown_key(&mut value, &err) {
            return None;
        }
        match serde_path_to_error::deserialize::<_, RawRunbook>(value.clone()) {
            Ok(raw) => return Some(raw),
            Err(next) => {
                diags.push(serde_errors::diagnose_value(&next, tree));
                err = next;
            }
        }
    }
    None
}

fn empty() -> LoadError {
    LoadError::one(
        Diagnostic::new(Pos::START, "the runbook is empty").hint(
            "a runbook needs at least `runbook`, `title`, `targets: { rto: 1h }` and `steps`",
        ),
    )
}

fn sorted(mut diags: Vec<Diagnostic>) -> LoadError {
    diags.sort_by_key(|d| d.pos);
    diags.dedup();
    // A key met twice (unknown to the format, and not taken by the step's kind) is said once:
    // as a typo when it is one ("did you mean"), else in the words about the step's kind.
    let unknown = |d: &Diagnostic| d.message.starts_with("unknown key `");
    let typo = |d: &Diagnostic| {
        unknown(d)
            && d.hint
                .as_deref()
                .is_some_and(|h| h.starts_with("did you mean"))
    };
    // An invisible character in a value that is wrong anyway is said by the value's own error.
    let hidden = |d: &Diagnostic| d.message.starts_with("holds the invisible character");
    let said_better = |d: &Diagnostic, all: &[Diagnostic]| {
        if hidden(d) && all.iter().any(|o| o.pos == d.pos && !hidden(o)) {
            return true;
        }
        all.iter().any(|o| {
            o.pos == d.pos
                && !hidden(o)
                && !hidden(d)
                && unknown(o) != unknown(d)
                && if unknown(d) { !typo(d) } else { typo(o) }
        })
    };
    let keep: Vec<bool> = diags.iter().map(|d| !said_better(d, &diags)).collect();
    let mut keep = keep.into_iter();
    diags.retain(|_| keep.next().unwrap_or(true));
    LoadError(diags)
}

/// Checks meaning, collecting every problem with its location.
pub(super) struct Checker<'t> {
    pub tree: &'t Node,
    pub diags: Vec<Diagnostic>,
    /// Resources declared but invalid: already reported, so references to them are not.
    pub broken: std::collections::HashSet<String>,
    /// `regions:`, once checked (what `{{regions.primary}}` stands for).
    pub failover: Option<FailoverRegions>,
    /// `regions:` is declared but invalid: already reported, so uses of it are not.
    pub regions_broken: bool,
    /// The template files `cloudformation.deploy` steps name, for the loader to read.
    pub templates: Vec<crate::runbook::TemplateFile>,
}

impl Checker<'_> {
    fn check(mut self, raw: RawRunbook) -> Result<Runbook, LoadError> {
        self.no_hidden_characters();
        let id_is_text = self.written_as_text(&[Seg::Key("runbook")]);
        if id_is_text && !is_slug(&raw.runbook) {
            self.error_at(
                &[Seg::Key("runbook")],
                format!("`{}` is not a valid runbook id", raw.runbook),
                "use lowercase letters, digits and hyphens, e.g. `orders-region-failover`",
            );
        }
        if raw.title.trim().is_empty() {
            self.error_at(
                &[Seg::Key("title")],
                "the title is empty",
                "say what this runbook recovers, e.g. `Fail orders over to us-west-2`",
            );
        }
        self.shown_as_written(&raw.title, &[Seg::Key("title")], false);
        let rto = self.duration(&raw.targets.rto, &[Seg::Key("targets"), Seg::Key("rto")]);
        let rpo = raw
            .targets
            .rpo
            .as_deref()
            .and_then(|t| self.duration(t, &[Seg::Key("targets"), Seg::Key("rpo")]));
        let failback = raw
            .targets
            .failback
            .as_deref()
            .and_then(|t| self.duration(t, &[Seg::Key("targets"), Seg::Key("failback")]));
        if failback.is_some() && !raw.steps.iter().any(|s| s.restores_service == Some(true)) {
            self.error_at(
                &[Seg::Key("targets"), Seg::Key("failback")],
                "a failback target, but no step restores the service",
                "mark the step after which users are served again with `restores_service: true`",
            );
        }
        if rto == Some(Duration::from_secs(0)) {
            self.error_at(
                &[Seg::Key("targets"), Seg::Key("rto")],
                "the RTO target is zero",
                "give the time the business allows for recovery, e.g. `4h`",
            );
        }
        self.failover = raw.regions.as_ref().and_then(|r| self.regions(r));
        self.regions_broken = raw.regions.is_some() && self.failover.is_none();
        let state = raw.state.as_ref().and_then(|s| self.state(s));
        let vars = self.vars(&raw.vars);
        let mut resources = self.resources(&raw.resources, &vars);
        let steps = self.steps(&raw.steps, &vars, &resources);
        let guards = self.guards(&raw.guards, &[Seg::Key("guards")], &resources);
        let accounts = self.accounts(&raw.accounts);
        for r in resources.values_mut() {
            r.role = r
                .account
                .as_ref()
                .and_then(|a| accounts.get(a))
                .map(|a| a.role.clone());
        }
        if !self.diags.is_empty() {
            return Err(sorted(self.diags));
        }
        let mut book = Runbook {
            id: raw.runbook,
            title: raw.title,
            description: raw.description,
            owner: raw.owner,
            targets: Targets {
                rto: rto.unwrap_or_default(),
                rpo,
                failback,
            },
            failover: self.failover.clone(),
            state,
            warnings: Vec::new(),
            vars,
            resources,
            steps,
            guards,
            accounts,
            templates: std::mem::take(&mut self.templates),
        };
        book.warnings = self.warnings(&book);
        Ok(book)
    }

    fn regions(&mut self, raw: &RawRegions) -> Option<FailoverRegions> {
        let mut ok = true;
        for (key, region) in [("primary", &raw.primary), ("recovery", &raw.recovery)] {
            if !is_region(region) {
                self.error_at(
                    &[Seg::Key("regions"), Seg::Key(key)],
                    format!("`{}` is not an AWS region", region.escape_debug()),
                    "write a region name such as `us-east-1` or `eu-west-2`",
                );
                ok = false;
            }
        }
        if ok && raw.primary == raw.recovery {
            self.error_at(
                &[Seg::Key("regions"), Seg::Key("recovery")],
                "the recovery region is the primary region",
                "recover into another region than the one that fails",
            );
            ok = false;
        }
        ok.then(|| FailoverRegions {
            primary: raw.primary.clone(),
            recovery: raw.recovery.clone(),
        })
    }

    fn vars(&mut self, raw: &IndexMap<String, String>) -> IndexMap<String, String> {
        for (name, value) in raw {
            let path = [Seg::Key("vars"), Seg::Key(name)];
            if !is_name(name) {
                self.key_error_at(
                    &path,
                    format!("`{name}` is not a valid var name"),
                    "use letters, digits, `-` and `_`",
                );
            }
            if value.contains("{{") {
                self.error_at(
                    &path,
                    "vars cannot use `{{ }}` references",
                    "write the value out in full",
                );
            }
        }
        raw.clone()
    }

    /// Refuses an id YAML reads as something else than text (`null`, `~`, `42`, `true`) that
    /// serde would quietly turn into the text "null" or "42".
    pub(super) fn written_as_text(&mut self, path: &[Seg<'_>]) -> bool {
        let Some(source::Node::Scalar { value, style, .. }) = self.tree.get(path) else {
            return true;
        };
        let plain = *style == yaml_rust2::scanner::TScalarStyle::Plain;
        let other = matches!(
            value.as_str(),
            "null"
                | "Null"
                | "NULL"
                | "~"
                | ""
                | "true"
                | "True"
                | "TRUE"
                | "false"
                | "False"
                | "FALSE"
        ) || value.parse::<f64>().is_ok();
        if plain && other {
            self.error_at(
                path,
                format!("`{value}` is not text here: YAML reads it as a null, a number or a boolean"),
                "write an id: lowercase letters, digits and hyphens (quote it if it must look like a number)",
            );
            return false;
        }
        true
    }

    /// Refuses text holding characters that act on a terminal or reorder what is shown
    /// (controls, bidi overrides): what an operator reads or types must be what is there. Line
    /// breaks and tabs pass where the text is prose (`multiline`).
    pub(super) fn shown_as_written(
        &mut self,
        text: &str,
        path: &[Seg<'_>],
        multiline: bool,
    ) -> bool {
        let bad = text
            .chars()
            .find(|&c| crate::safe::is_hidden(c) && !(multiline && (c == '\n' || c == '\t')));
        let Some(c) = bad else {
            return true;
        };
        let pos = self.tree.locate(path);
        self.diags.push(hidden::hidden_at(pos, c));
        false
    }

    pub(super) fn error_at(
        &mut self,
        path: &[Seg<'_>],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let pos = self.tree.locate(path);
        self.diags.push(Diagnostic::new(pos, message).hint(hint));
    }

    pub(super) fn key_error_at(
        &mut self,
        path: &[Seg<'_>],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let pos = self.tree.locate_key(path);
        self.diags.push(Diagnostic::new(pos, message).hint(hint));
    }

    /// Parses a duration, reporting a located problem when it is not one.
    pub(super) fn duration(&mut self, text: &str, path: &[Seg<'_>]) -> Option<Duration> {
        match Duration::parse(text) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error_at(path, message, DURATION_HINT);
                None
            }
        }
    }
}
