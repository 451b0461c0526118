//! `pilotlight status RUNBOOK`: one look at health, RPO and the RTO estimate, as a table for
//! people or JSON for machines, with monitoring-plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde_json::json;
use tokio::runtime::Runtime;

use super::load_runbook;
use crate::cloud::aws::{Access, AwsCloud, HealthReport, Timeouts};
use crate::cloud::sim::{self, SimWorld};
use crate::cloud::{observe_all, ReadOnly};
use crate::engine::objectives::{estimate_rto, rpo, Verdict};
use crate::model::{CloudError, ResourceStatus};
use crate::runbook::Duration;
use crate::runbook::Runbook;
use crate::runtime::{history, paths};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
}

pub struct StatusArgs {
    pub runbook: PathBuf,
    pub sim: bool,
    pub scenario: Option<PathBuf>,
    pub format: StatusFormat,
    pub history: Option<PathBuf>,
}

const UNKNOWN: u8 = 3;

pub fn run(rt: &Runtime, args: StatusArgs) -> ExitCode {
    let Some(runbook) = load_runbook(&args.runbook) else {
        return ExitCode::from(UNKNOWN);
    };
    let runbook = Arc::new(runbook);
    let now = Utc::now().trunc_subsecs(0);
    let looked = if !args.sim && args.scenario.is_none() {
        let Some(timeouts) = super::aws_timeouts() else {
            return ExitCode::from(UNKNOWN);
        };
        rt.block_on(look_at_aws(runbook.clone(), now, timeouts))
    } else {
        match look_at_sim(rt, &args, runbook.clone(), now) {
            Ok(l) => l,
            Err(code) => return code,
        }
    };
    report(&args, &runbook, looked, now)
}

/// What one look at a backend saw.
struct Looked {
    backend: &'static str,
    /// The scenario's name (sim) or the account (AWS), for the heading.
    source: Option<String>,
    observations: HashMap<String, Result<ResourceStatus, CloudError>>,
    health: Option<HealthReport>,
    calls: Option<u64>,
}

/// Live AWS, read-only twice over: a backend that refuses every change, and clients whose
/// request guard refuses any operation that is not a read.
async fn look_at_aws(runbook: Arc<Runbook>, now: DateTime<Utc>, timeouts: Timeouts) -> Looked {
    let aws = ReadOnly(
        AwsCloud::from_env(runbook.clone(), Access::ReadOnly, timeouts)
            .await
            .assume_roles(&crate::runtime::paths::operator())
            .await,
    );
    let resources = runbook.resources.values().cloned().collect();
    let (observed, health) = tokio::join!(observe_all(&aws, resources, now), aws.0.health_events());
    // Requests that left the process: a call that could not be signed (no credentials) or was
    // refused before it was sent is not one.
    let calls = aws.0.calls().counts().total_transmitted();
    Looked {
        backend: "aws",
        source: None,
        observations: observed.into_iter().collect(),
        health: Some(health),
        calls: Some(calls),
    }
}

fn look_at_sim(
    rt: &Runtime,
    args: &StatusArgs,
    runbook: Arc<Runbook>,
    now: DateTime<Utc>,
) -> Result<Looked, ExitCode> {
    let scenario = match sim::load_scenario(args.scenario.as_deref(), &runbook) {
        Ok(s) => s,
        Err(e) => {
            tell!("UNKNOWN: {e}");
            return Err(ExitCode::from(UNKNOWN));
        }
    };
    // Read-only: a backend that refuses every change, whatever asks.
    let world = ReadOnly(SimWorld::new(runbook.clone(), scenario, now));
    let resources = runbook.resources.values().cloned().collect();
    let observed = rt.block_on(observe_all(&world, resources, now));
    Ok(Looked {
        backend: "sim",
        source: Some(world.0.scenario_name()),
        observations: observed.into_iter().collect(),
        health: None,
        calls: None,
    })
}

fn report(args: &StatusArgs, runbook: &Runbook, looked: Looked, now: DateTime<Utc>) -> ExitCode {
    let history_dir = args
        .history
        .clone()
        .unwrap_or_else(|| paths::data_dir().join("journals"));
    let past = history::read(&history_dir, &runbook.id);
    let rto = estimate_rto(runbook, &past.durations);

    let mut resources = Vec::new();
    let mut worst = rto.verdict;
    let mut unknown = rto.verdict == Verdict::Unknown;
    let mut findings: Vec<String> = Vec::new();
    // Missing credentials are said once, with how to get them, not once per resource.
    let no_credentials = looked.observations.values().find_map(|o| match o {
        Err(CloudError::Api { code, message }) if code == "NoCredentials" => Some(message.clone()),
        _ => None,
    });
    if let Some(why) = &no_credentials {
        findings.push(why.clone());
    }
    for res in runbook.resources.values() {
        let observed = looked
            .observations
            .get(&res.name)
            .cloned()
            .unwrap_or_else(|| Err(CloudError::NotFound(res.name.clone())));
        let status = observed.as_ref().ok();
        let error = observed.as_ref().err().map(|e| e.to_string());
        // A restore's target that does not exist before its step runs is as expected.
        let not_yet = match observed.as_ref() {
            Err(CloudError::NotFound(_)) => runbook.made_by(&res.name),
            _ => None,
        };
        if let Some(step) = not_yet {
            resources.push(json!({
                "name": res.name,
                "kind": res.kind.name(),
                "region": res.region,
                "account": res.account,
                "health": "absent",
                "state": format!("not created yet: step `{step}` creates it"),
                "latest_recovery_point": null,
                "recovery_point_id": null,
                "rpo_seconds": null,
                "rpo_target_seconds": null,
                "rpo_status": Verdict::NotApplicable.name(),
                "error": null,
            }));
            continue;
        }
        if let Some(e) = &error {
            let e = match observed.as_ref() {
                Err(CloudError::Api { code, .. }) if code == "NoCredentials" => {
                    "no AWS credentials (above)"
                }
                _ => e.as_str(),
            };
            findings.push(format!("{} cannot be observed: {e}", res.name));
            // What cannot be seen is never OK.
            worst = worst.max(Verdict::Unknown);
            unknown = true;
        }
        let r = rpo(runbook, res, status, now);
        worst = worst.max(r.verdict);
        unknown |= r.verdict == Verdict::Unknown;
        let health = status.map_or("unknown".to_string(), |s| {
            format!("{:?}", s.health).to_lowercase()
        });
        match r.verdict {
            Verdict::Breach | Verdict::Warning => findings.push(format!(
                "{} RPO {} against target {}{}",
                res.name,
                Duration::from_secs(r.seconds.unwrap_or(0)),
                Duration::from_secs(r.target_seconds.unwrap_or(0)),
                if r.verdict == Verdict::Breach {
                    " (breached)"
                } else {
                    " (close to target)"
                }
            )),
            Verdict::Unknown => findings.push(format!(
                "{} RPO unknown ({})",
                res.name,
                match (&r.seconds, &r.target_seconds) {
                    (None, _) => "no recovery point",
                    (_, None) => "no RPO target",
                    _ => "?",
                }
            )),
            _ => {}
        }
        let rp = status.and_then(|s| s.latest_recovery_point.as_ref());
        resources.push(json!({
            "name": res.name,
            "kind": res.kind.name(),
            "region": res.region,
            "account": res.account,
            "health": health,
            "state": status.map(|s| s.state.clone()),
            "latest_recovery_point": rp.map(|p| p.at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            "recovery_point_id": rp.map(|p| p.id.clone()),
            "rpo_seconds": r.seconds,
            "rpo_target_seconds": r.target_seconds,
            "rpo_status": r.verdict.name(),
            "error": error,
        }));
    }
    if matches!(
        rto.verdict,
        Verdict::Breach | Verdict::Warning | Verdict::Unknown
    ) {
        let unknown = rto.steps.iter().filter(|s| s.seconds.is_none()).count();
        let lower_bound = if rto.complete {
            String::new()
        } else {
            format!(
                " or more ({unknown} steps have no expected duration: set `expect_duration`, or let a run with people time them)"
            )
        };
        findings.push(format!(
            "RTO estimate {}{lower_bound} against target {}",
            Duration::from_secs(rto.estimate_seconds),
            Duration::from_secs(rto.target_seconds)
        ));
    }
    // What could not be told is never outranked by a warning: any unknown, and no breach, is
    // UNKNOWN (a monitor must not read "warning" when it could see nothing).
    if unknown && worst != Verdict::Breach {
        worst = Verdict::Unknown;
    }
    let (code, word) = match worst {
        Verdict::Breach => (2, "CRITICAL"),
        Verdict::Warning => (1, "WARNING"),
        Verdict::Unknown => (UNKNOWN, "UNKNOWN"),
        Verdict::Ok | Verdict::NotApplicable => (0, "OK"),
    };
    let report = json!({
        "runbook": runbook.id,
        "title": runbook.title,
        "generated_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "backend": looked.backend,
        "scenario": looked.source,
        "aws_health": looked.health,
        "api_calls": looked.calls,
        "status": word.to_lowercase(),
        "exit_code": code,
        "findings": findings,
        "resources": resources,
        "rto_target_seconds": rto.target_seconds,
        "rto_estimate_seconds": rto.estimate_seconds,
        "rto_estimate_complete": rto.complete,
        "rto_status": rto.verdict.name(),
        "rto_sources": rto.steps,
        "history_runs": past.runs,
        "history_samples": { "live": past.live_samples, "timed": past.timed_samples },
    });
    match args.format {
        StatusFormat::Json => say!(
            "{}",
            crate::safe::json(&serde_json::to_string_pretty(&report).unwrap_or_default())
        ),
        StatusFormat::Table => print_table(&report, word, &findings),
    }
    for (path, why) in &past.skipped {
        tell!("note: past journal {} not used: {why}", path.display());
    }
    ExitCode::from(code)
}

/// Runs one look to its end (AWS calls carry their own timeouts).
fn print_table(r: &serde_json::Value, word: &str, findings: &[String]) {
    // Every value is one line: an AWS answer or a scenario cannot break the table.
    let s = |v: &serde_json::Value| crate::safe::one_line(v.as_str().unwrap_or("-"));
    let d = |v: &serde_json::Value| {
        v.as_u64()
            .map_or("-".to_string(), |x| Duration::from_secs(x).to_string())
    };
    let source = if r["backend"] == "aws" {
        format!("live AWS ({} API calls)", r["api_calls"])
    } else {
        format!("simulated world: {}", s(&r["scenario"]))
    };
    say!(
        "{} ({}), {source}, at {}",
        s(&r["title"]),
        s(&r["runbook"]),
        s(&r["generated_at"])
    );
    if let Some(note) = r["aws_health"]["note"].as_str() {
        say!("{}", crate::safe::one_line(note));
    }
    for e in r["aws_health"]["events"].as_array().into_iter().flatten() {
        say!(
            "AWS Health: {} in {}: {} ({})",
            s(&e["service"]),
            s(&e["region"]),
            s(&e["event_type"]),
            s(&e["status"])
        );
    }
    say!();
    say!(
        "{:<24} {:<18} {:<12} {:<12} {:<21} {:>8} {:>8}  RPO STATUS",
        "RESOURCE",
        "KIND",
        "REGION",
        "HEALTH",
        "LATEST RECOVERY POINT",
        "RPO",
        "TARGET",
    );
    for res in r["resources"].as_array().into_iter().flatten() {
        say!(
            "{:<24} {:<18} {:<12} {:<12} {:<21} {:>8} {:>8}  {}",
            s(&res["name"]),
            s(&res["kind"]),
            s(&res["region"]),
            s(&res["health"]),
            s(&res["latest_recovery_point"]),
            d(&res["rpo_seconds"]),
            d(&res["rpo_target_seconds"]),
            s(&res["rpo_status"]).to_uppercase()
        );
    }
    say!();
    let sources = r["rto_sources"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let count = |src: &str| sources.iter().filter(|x| x["source"] == src).count();
    say!(
        "RTO estimate {}{} against target {}: {} (per step: {} from {} past runs ({} live and {} timed samples), {} from the runbook, {} from the catalogue, {} unknown)",
        d(&r["rto_estimate_seconds"]),
        if r["rto_estimate_complete"] == true { "" } else { " or more" },
        d(&r["rto_target_seconds"]),
        s(&r["rto_status"]).to_uppercase(),
        count("history"),
        r["history_runs"],
        r["history_samples"]["live"],
        r["history_samples"]["timed"],
        count("runbook"),
        count("catalogue"),
        count("none"),
    );
    say!();
    if findings.is_empty() {
        say!("{word}: every objective is within its target");
    } else {
        say!("{word}: {}", crate::safe::one_line(&findings.join("; ")));
    }
}
