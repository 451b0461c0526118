//! Preflight's look at a backend (`pilotlight preflight`, and `run` before its first gate):
//! for each step in order, would it work now? Reads only: the backend is read-only, and every
//! question is a read of the IAM catalogue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::cloud::{observe_all, Inspect, Observe, PermissionCheck};
use crate::engine::objectives::Verdict;
use crate::engine::preflight::{
    named_finding, restores_from, wants, Finding, Named, Report, Severity,
};
use crate::model::{CloudError, Identity, RecoveryPointKind, ResourceStatus};
use crate::runbook::iam::policy::step_policy;
use crate::runbook::{ActionCall, Duration, Resource, Runbook, StepBody};

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
            step: step.to_string(),
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

/// Runs every check of `runbook` against `backend`, in step order. Steps in `begun` (a resumed
/// run's, whose changes may be out already: a restore's target may be its own) are not checked.
pub async fn preflight<B: Observe + Inspect>(
    backend: &B,
    runbook: &Runbook,
    begun: &[String],
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
    let mut checks = Vec::new();
    for (i, step) in runbook.steps.iter().enumerate() {
        let id = step.id.as_str();
        if begun.iter().any(|b| b == id) {
            out.push(finding(
                Some(id),
                "resumed",
                Severity::Ok,
                "begun before this resume: what it made is its own, so it is not checked again"
                    .into(),
            ));
            continue;
        }
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
        if let Some(f) = point_finding(backend, runbook, id, call, res, status, now).await {
            out.push(f);
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
            checks.extend(permission_checks(runbook, id, &me.account));
        }
    }
    if let Ok(me) = &caller {
        permissions(backend, me, &checks, &mut out).await;
    }
    // Step by step in runbook order, the runbook-wide findings first.
    let order = |f: &Finding| {
        f.step
            .as_ref()
            .and_then(|s| runbook.steps.iter().position(|x| &x.id == s))
            .map_or(0, |i| i + 1)
    };
    out.sort_by_key(order);
    Report { findings: out }
}

/// Whether the recovery point a restore from `latest` will use is there now, and how old: a
/// point-in-time window from the look, any other kind as the step itself will find it (its
/// kind, in its region).
async fn point_finding<B: Inspect>(
    backend: &B,
    runbook: &Runbook,
    step: &str,
    call: &ActionCall,
    res: &Resource,
    status: Option<&Result<ResourceStatus, CloudError>>,
    now: DateTime<Utc>,
) -> Option<Finding> {
    let kinds = restores_from(call)?;
    let check = |severity, detail| Some(finding(Some(step), "recovery point", severity, detail));
    let newest = if kinds.contains(&RecoveryPointKind::Pitr) {
        let ok = status.and_then(|s| s.as_ref().ok())?;
        match ok.latest_recovery_point.as_ref().filter(|p| kinds.contains(&p.kind)) {
            Some(p) => (p.id.clone(), p.at),
            None => {
                return check(
                    Severity::Warning,
                    format!(
                        "the look shows no point-in-time restore window of {} (is point-in-time recovery on?)",
                        res.name
                    ),
                )
            }
        }
    } else {
        match backend.newest_point(call, res).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                let region = call.region(res).unwrap_or_default();
                return check(
                    Severity::Critical,
                    format!(
                        "{} has no {} in {region} to restore from: the step would fail",
                        res.name,
                        kinds
                            .iter()
                            .map(|k| format!("{k:?}").to_lowercase())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                );
            }
            Err(e) => {
                return check(
                    Severity::Unknown,
                    format!("cannot find the recovery point of {}: {e}", res.name),
                )
            }
        }
    };
    let (point, at) = newest;
    let age = (now - at).num_seconds().max(0) as u64;
    let target = res.rpo.or(runbook.targets.rpo).map(|t| t.as_secs());
    match target {
        Some(t) if Verdict::of(age, t) == Verdict::Breach => check(
            Severity::Warning,
            format!(
                "the newest recovery point of {} ({point}) is {} old, over its RPO target {}: the restore would lose more data than planned",
                res.name,
                Duration::from_secs(age),
                Duration::from_secs(t)
            ),
        ),
        _ => check(
            Severity::Ok,
            format!(
                "{} restores from {point} ({}, {} old)",
                res.name,
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                Duration::from_secs(age)
            ),
        ),
    }
}

/// The permission findings of every step, from one session with IAM's policy simulator.
async fn permissions<B: Inspect>(
    backend: &B,
    caller: &Identity,
    checks: &[PermissionCheck],
    out: &mut Vec<Finding>,
) {
    if checks.is_empty() {
        return;
    }
    let mut steps: Vec<&str> = checks.iter().map(|c| c.step.as_str()).collect();
    steps.dedup();
    match backend.denied(caller, checks).await {
        Ok(None) => out.push(finding(
            None,
            "permissions",
            Severity::Ok,
            "not checked: the simulated world has no IAM (preflight against AWS asks IAM's policy simulator)".into(),
        )),
        Ok(Some(denied)) => {
            for step in steps {
                let mine: Vec<_> = denied.iter().filter(|d| d.step == step).collect();
                if mine.is_empty() {
                    out.push(finding(
                        Some(step),
                        "permissions",
                        Severity::Ok,
                        "the caller may call every API the step needs".into(),
                    ));
                }
                for d in mine {
                    // A decision that hangs on a condition the simulator was not given (a tag,
                    // MFA) cannot be told; a KMS key's own policy may allow what IAM does not.
                    let (severity, why) = if !d.missing_context.is_empty() {
                        (
                            Severity::Unknown,
                            format!(
                                "; it depends on {} the simulator was not given",
                                d.missing_context.join(", ")
                            ),
                        )
                    } else if d.action.starts_with("kms:") {
                        (
                            Severity::Warning,
                            "; the key's own policy may allow it, and only encrypted sources need it"
                                .to_string(),
                        )
                    } else {
                        (Severity::Critical, String::new())
                    };
                    out.push(finding(
                        Some(step),
                        "permissions",
                        severity,
                        format!(
                            "the caller may not call {} on {} ({}{why}): grant it (`pilotlight iam RUNBOOK` prints the policy)",
                            d.action, d.resource, d.decision
                        ),
                    ));
                }
            }
        }
        Err(e) => out.push(finding(
            None,
            "permissions",
            Severity::Unknown,
            format!("cannot ask IAM's policy simulator: {e} (grant iam:SimulatePrincipalPolicy and iam:GetRole: `pilotlight iam RUNBOOK --mode read`)"),
        )),
    }
}
