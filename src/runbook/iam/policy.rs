//! The least-privilege IAM policy of a runbook (`pilotlight iam`): every operation its steps
//! and its observations send, from the catalogue in [`super`], scoped to the ARNs it names and
//! to the regions it sends them to (`aws:RequestedRegion`). Each statement's `Sid` names what
//! needs it: the steps by id, `Observe` and the resource for a look, `Preflight`, `Health`,
//! `StateStore`.

use indexmap::IndexMap;
use serde_json::{json, Value};

use super::api;
use super::needs::{camel, needs, served_from, Need};
use super::scope::{scope, Cond};
use crate::runbook::Runbook;

/// Which commands the policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `run`: everything, changes included.
    Run,
    /// `watch`, `status` and `preflight`: reads only.
    Read,
}

/// One statement of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub condition: Cond,
}

/// A runbook's policy, statement by statement in the order the runbook first needs them.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// What one IAM action (under one condition) is granted on, and for whom: (resources, need
/// labels, condition).
type Grant = (Vec<String>, Vec<String>, Cond);

/// The least-privilege policy of `runbook` for `mode`.
pub fn policy(runbook: &Runbook, mode: Mode) -> Policy {
    let mut mine = needs(runbook, mode);
    mine.retain(|n| n.account.is_none());
    build(mine, mode)
}

/// The policy of the role assumed in `account` (one of the runbook's `accounts:`): what the
/// runbook does with that account's resources.
pub fn account_policy(runbook: &Runbook, mode: Mode, account: &str) -> Policy {
    let mut theirs = needs(runbook, mode);
    theirs.retain(|n| n.account.as_deref() == Some(account));
    if !theirs.is_empty() {
        let home = runbook
            .failover
            .as_ref()
            .map_or("us-east-1", |f| f.recovery.as_str());
        theirs.push(super::needs::account_preflight(account, home));
    }
    build(theirs, mode)
}

/// What one step needs (`run`), for preflight's permission check of that step.
pub fn step_policy(runbook: &Runbook, step: &str) -> Policy {
    let label = format!("Step{}", camel(step));
    let mut mine = needs(runbook, Mode::Run);
    mine.retain(|n| n.label == label);
    build(mine, Mode::Run)
}

fn build(needs: Vec<Need>, mode: Mode) -> Policy {
    // (IAM action, condition) → (resources, labels), in first-need order.
    let mut grants: IndexMap<(String, String), Grant> = IndexMap::new();
    for need in needs {
        for op in &need.ops {
            let Some(api) = api(op) else { continue };
            if mode == Mode::Read && !api.read {
                continue;
            }
            let mut t = need.target.clone();
            t.regions = served_from(op, t.regions.first().map_or("*", String::as_str));
            for action in api.iam {
                // A role is passed only where the step names one to pass (an instance profile).
                if *action == "iam:PassRole" && t.passed_to.is_none() {
                    continue;
                }
                let (resources, mut cond) = scope(op, action, &t);
                let regions: Vec<String> =
                    t.regions.iter().filter(|r| *r != "*").cloned().collect();
                if !regions.is_empty() {
                    cond.entry("StringEquals".into())
                        .or_default()
                        .insert("aws:RequestedRegion".into(), regions);
                }
                let key = (
                    action.to_string(),
                    serde_json::to_string(&cond).unwrap_or_default(),
                );
                let entry = grants
                    .entry(key)
                    .or_insert_with(|| (Vec::new(), Vec::new(), cond));
                add_all(&mut entry.0, resources);
                add_all(&mut entry.1, vec![need.label.clone()]);
            }
        }
    }
    // Statements by (labels, condition): reads of one service share one statement (a read's
    // resources of another type grant it nothing); a change gets only its own resources.
    let mut statements: Vec<Statement> = Vec::new();
    for ((action, _), (mut resources, labels, condition)) in grants {
        if resources.iter().any(|r| r == "*") {
            resources = vec!["*".into()];
        }
        let sid = labels.concat();
        let service = action.split(':').next().unwrap_or_default().to_string();
        let read = is_read_action(&action);
        let joins = |s: &Statement| {
            s.sid == sid
                && s.condition == condition
                && if read {
                    s.actions
                        .iter()
                        .all(|a| is_read_action(a) && a.starts_with(&format!("{service}:")))
                } else {
                    s.resources == resources
                }
        };
        match statements.iter_mut().find(|s| joins(s)) {
            Some(s) => {
                add_all(&mut s.actions, vec![action]);
                if s.resources.iter().any(|r| r == "*") || resources.iter().any(|r| r == "*") {
                    s.resources = vec!["*".into()];
                } else {
                    add_all(&mut s.resources, resources);
                }
            }
            None => statements.push(Statement {
                sid,
                actions: vec![action],
                resources,
                condition,
            }),
        }
    }
    // Sids are unique within a policy.
    let mut seen: IndexMap<String, usize> = IndexMap::new();
    for s in &mut statements {
        s.actions.sort();
        if !s.actions.iter().all(|a| is_read_action(a)) {
            s.sid.push_str("Change");
        }
        let n = seen.entry(s.sid.clone()).or_default();
        *n += 1;
        if *n > 1 {
            s.sid = format!("{}{}", s.sid, n);
        }
    }
    Policy { statements }
}

/// Whether an IAM action only reads: it authorizes a read of the catalogue (so a data-plane
/// `dynamodb:GetItem`, which only restores need, is not one).
pub fn is_read_action(action: &str) -> bool {
    super::APIS
        .iter()
        .any(|a| a.read && a.iam.contains(&action))
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Document<'a> {
    version: &'static str,
    statement: Vec<Element<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Element<'a> {
    sid: &'a str,
    effect: &'static str,
    action: &'a [String],
    resource: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<&'a Cond>,
}

fn add_all(into: &mut Vec<String>, more: Vec<String>) {
    for m in more {
        if !into.contains(&m) {
            into.push(m);
        }
    }
}

impl Policy {
    /// The IAM policy document, its keys in the order people read them (Sid first).
    pub fn to_json_text(&self) -> String {
        let doc = Document {
            version: "2012-10-17",
            statement: self
                .statements
                .iter()
                .map(|s| Element {
                    sid: &s.sid,
                    effect: "Allow",
                    action: &s.actions,
                    resource: if s.resources.len() == 1 {
                        json!(s.resources[0])
                    } else {
                        json!(s.resources)
                    },
                    condition: (!s.condition.is_empty()).then_some(&s.condition),
                })
                .collect(),
        };
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// Every IAM action in the policy.
    pub fn actions(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}
