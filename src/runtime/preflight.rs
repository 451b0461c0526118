//! Preflight's look at a backend (`pilotlight preflight`, and `run` before its first gate):
//! for each step in order, would it work now? Reads only: the backend is read-only, and every
//! question is a read of the IAM catalogue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::cloud::{observe_all, Inspect, Observe, PermissionCheck};
use crate::engine::objectives::{rpo, Verdict};
use crate::engine::preflight::{
    named_finding, restores_from, wants, Finding, Named, Report, Severity,
};
use crate::model::{CloudError, Identity, RecoveryPointKind, ResourceStatus};
use crate::runbook::iam::policy::step_policy;
use crate::runbook::{Duration, Runbook, StepBody};

fn finding(step: Option<&str>, check: &str, severity: Severity, detail: String) -> Finding {
    Finding {
        step: step.map(str::to_string),
        check: check.to_string(),
        severity,
        detail,
    }
}

/// The region credentials must work in: the recovery region, else the first the runbook names.
fn home(runbook: &Runbook) -> String {
    runbook
        .failover
        .as_ref()
        .map(|f| f.recovery.clone())
        .or_else(|| runbook.regions().first().cloned())
        .unwrap_or_else(|| "us-east-1".into())
}

/// `arn:P:S:R:*:rest` with the caller's account for `*`: what the simulator is asked about.
fn in_account(arn: &str, account: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[4] == "*" {
        format!(
            "{}:{}:{}:{}:{account}:{}",
            parts[0], parts[1], parts[2], parts[3], parts[5]
        )
    } else {
        arn.to_string()
    }
}

/// The simulator's questions for one step: one per statement of the step's own policy.
pub fn permission_checks(runbook: &Runbook, step: &str, account: &str) -> Vec<PermissionCheck> {
    step_policy(runbook, step)
        .statements
        .into_iter()
        .map(|s| PermissionCheck {
            actions: s.actions,
            resources: s.resources.iter().map(|r| in_account(r, account)).collect(),
            context: s
                .condition
                .values()
                .flat_map(|keys| keys.iter())
                .filter_map(|(k, v)| v.first().map(|v| (k.clone(), v.clone())))
                .collect(),
        })
        .collect()
}

/// Runs every check of `runbook` against `backend`, in step order.
pub async fn preflight<B: Observe + Inspect>(
    backend: &B,
    runbook: &Runbook,
    now: DateTime<Utc>,
) -> Report {
    let mut out = Vec::new();
    let region = home(runbook);
    let caller = backend.caller_in(&region).await;
    match &caller {
        Ok(id) => out.push(finding(
            None,
            "credentials",
            Severity::Ok,
            format!("credentials work in {region} as {}", id.arn),
        )),
        Err(e) => out.push(finding(
            None,
            "credentials",
            Severity::Critical,
            format!("credentials do not work in {region}: {e}"),
        )),
    }
    match backend.health_note().await {
        None => out.push(finding(
            None,
            "AWS Health",
            Severity::Ok,
            "AWS Health answers".into(),
        )),
        Some(note) => out.push(finding(None, "AWS Health", Severity::Warning, note)),
    }
    let observed: HashMap<String, Result<ResourceStatus, CloudError>> =
        observe_all(backend, runbook.resources.values().cloned().collect(), now)
            .await
            .into_iter()
            .collect();
    let mut seen: HashMap<Named, Result<bool, CloudError>> = HashMap::new();
    let mut unchecked = false;
    for (i, step) in runbook.steps.iter().enumerate() {
        let id = step.id.as_str();
        let name = match &step.body {
            StepBody::Action { resource, .. } => Some(resource.as_str()),
            StepBody::Check { expect } => Some(expect.resource.as_str()),
            StepBody::Wait { until, .. } => until.as_ref().map(|c| c.resource.as_str()),
            _ => None,
        };
        let Some(res) = name.and_then(|n| runbook.resources.get(n)) else {
            continue;
        };
        let status = observed.get(&res.name);
        let made_earlier = runbook
            .made_by(&res.name)
            .and_then(|s| runbook.steps.iter().position(|x| x.id == s))
            .is_some_and(|at| at <= i);
        let where_ = res.region.as_deref().unwrap_or("its service");
        // A check that expects the resource down (the incident it confirms) is not failed by
        // a resource that cannot be seen: that is what it will find.
        let expects_down = match &step.body {
            StepBody::Check { expect } => expect.health.iter().any(|h| {
                matches!(
                    h,
                    crate::runbook::Health::Unavailable | crate::runbook::Health::Impaired
                )
            }),
            _ => false,
        };
        match status {
            Some(Err(e)) if expects_down => out.push(finding(
                Some(id),
                "resource",
                Severity::Ok,
                format!(
                    "{} cannot be seen now ({e}), which this check takes as the incident it confirms",
                    res.name
                ),
            )),
            Some(Ok(s)) => out.push(finding(
                Some(id),
                "resource",
                Severity::Ok,
                format!("{} ({}) is there: {}", res.name, res.id, s.state),
            )),
            Some(Err(CloudError::NotFound(_))) if made_earlier => out.push(finding(
                Some(id),
                "resource",
                Severity::Ok,
                format!("{} is made by a step before this one", res.name),
            )),
            Some(Err(CloudError::NotFound(why))) => out.push(finding(
                Some(id),
                "resource",
                Severity::Critical,
                format!(
                    "{} ({}) does not exist in {where_}: the step would fail ({why})",
                    res.name, res.id
                ),
            )),
            Some(Err(e)) => out.push(finding(
                Some(id),
                "resource",
                Severity::Unknown,
                format!("{} cannot be observed: {e}", res.name),
            )),
            None => {}
        }
        let StepBody::Action { call, .. } = &step.body else {
            continue;
        };
        if let Some(kinds) = restores_from(call) {
            let ok = status.and_then(|s| s.as_ref().ok());
            let point = ok.and_then(|s| s.latest_recovery_point.as_ref());
            let r = rpo(runbook, res, ok, now);
            let kind_of = |k: RecoveryPointKind| format!("{k:?}").to_lowercase();
            match (point, r.verdict) {
                // The look keeps the newest point of any kind: one of another kind says there
                // are points, not that the step's own kind has one.
                (Some(p), _) if !kinds.contains(&p.kind) => out.push(finding(
                    Some(id),
                    "recovery point",
                    Severity::Ok,
                    format!(
                        "{} has recovery points (newest: {}, a {}); the step restores from its newest {}, which this look does not list apart",
                        res.name,
                        p.id,
                        kind_of(p.kind),
                        kinds.iter().map(|k| kind_of(*k)).collect::<Vec<_>>().join(" or ")
                    ),
                )),
                (None, _) if ok.is_some() => out.push(finding(
                    Some(id),
                    "recovery point",
                    Severity::Critical,
                    format!(
                        "{} has no recovery point to restore from: the step would fail",
                        res.name
                    ),
                )),
                (None, _) => {}
                (Some(p), Verdict::Breach) => out.push(finding(
                    Some(id),
                    "recovery point",
                    Severity::Warning,
                    format!(
                        "the newest recovery point of {} ({}) is {} old, over its RPO target {}: the restore would lose more data than planned",
                        res.name,
                        p.id,
                        Duration::from_secs(r.seconds.unwrap_or(0)),
                        Duration::from_secs(r.target_seconds.unwrap_or(0))
                    ),
                )),
                (Some(p), _) => out.push(finding(
                    Some(id),
                    "recovery point",
                    Severity::Ok,
                    format!(
                        "{} restores from {} ({})",
                        res.name,
                        p.id,
                        p.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                )),
            }
        }
        for (named, expect) in wants(step, Some(res)) {
            let answer = match seen.get(&named) {
                Some(a) => a.clone(),
                None => {
                    let a = backend.exists(&named).await;
                    seen.insert(named.clone(), a.clone());
                    a
                }
            };
            match answer {
                Ok(exists) => out.push(named_finding(id, &named, expect, exists)),
                Err(e) => out.push(finding(
                    Some(id),
                    named.kind.name(),
                    Severity::Unknown,
                    format!("cannot look for {} `{}`: {e}", named.kind.name(), named.id),
                )),
            }
        }
        if let Ok(me) = &caller {
            unchecked |= permissions(backend, runbook, id, me, &mut out).await;
        }
    }
    if unchecked {
        out.push(finding(
            None,
            "permissions",
            Severity::Ok,
            "not checked: the simulated world has no IAM (preflight against AWS asks IAM's policy simulator)".into(),
        ));
    }
    Report { findings: out }
}

/// The permission findings of one step; true when the backend has no IAM to ask.
async fn permissions<B: Inspect>(
    backend: &B,
    runbook: &Runbook,
    step: &str,
    caller: &Identity,
    out: &mut Vec<Finding>,
) -> bool {
    let checks = permission_checks(runbook, step, &caller.account);
    match backend.denied(caller, &checks).await {
        Ok(None) => true,
        Ok(Some(denied)) if denied.is_empty() => {
            out.push(finding(
                Some(step),
                "permissions",
                Severity::Ok,
                "the caller may call every API the step needs".into(),
            ));
            false
        }
        Ok(Some(denied)) => {
            for d in denied {
                out.push(finding(
                    Some(step),
                    "permissions",
                    Severity::Critical,
                    format!(
                        "the caller may not call {} on {} ({}): grant it (`pilotlight iam RUNBOOK` prints the policy)",
                        d.action, d.resource, d.decision
                    ),
                ));
            }
            false
        }
        Err(e) => {
            out.push(finding(
                Some(step),
                "permissions",
                Severity::Unknown,
                format!("cannot ask IAM's policy simulator: {e} (grant iam:SimulatePrincipalPolicy and iam:GetRole: `pilotlight iam RUNBOOK --mode read`)"),
            ));
            false
        }
    }
}
