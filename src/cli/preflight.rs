//! `pilotlight preflight RUNBOOK`: would each step work now? Read-only; exit codes as
//! `status` (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), for cron and CI beside `status`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{SecondsFormat, SubsecRound, Utc};
use serde_json::json;
use tokio::runtime::Runtime;

use super::load_runbook;
use super::status::StatusFormat;
use crate::cloud::aws::{Access, AwsCloud};
use crate::cloud::sim::{self, SimWorld};
use crate::cloud::ReadOnly;
use crate::engine::preflight::{Report, Severity};
use crate::runtime::preflight::preflight;

pub struct PreflightArgs {
    pub runbook: PathBuf,
    pub sim: bool,
    pub scenario: Option<PathBuf>,
    pub format: StatusFormat,
}

const UNKNOWN: u8 = 3;

pub fn run(rt: &Runtime, args: PreflightArgs) -> ExitCode {
    let Some(runbook) = load_runbook(&args.runbook) else {
        return ExitCode::from(UNKNOWN);
    };
    let runbook = Arc::new(runbook);
    let now = Utc::now().trunc_subsecs(0);
    let (backend, source, report, calls) = if !args.sim && args.scenario.is_none() {
        let Some(timeouts) = super::aws_timeouts() else {
            return ExitCode::from(UNKNOWN);
        };
        // Read-only twice over: a backend that refuses every change, and clients whose guard
        // sends only the IAM catalogue's reads.
        let (report, calls) = rt.block_on(async {
            let aws = ReadOnly(
                AwsCloud::from_env(runbook.clone(), Access::ReadOnly, timeouts)
                    .await
                    .assume_roles(&crate::runtime::paths::operator())
                    .await,
            );
            let report = preflight(&aws, &runbook, &[], now).await;
            (report, aws.0.calls().counts().total_transmitted())
        });
        ("aws", None, report, Some(calls))
    } else {
        let scenario = match sim::load_scenario(args.scenario.as_deref(), &runbook) {
            Ok(s) => s,
            Err(e) => {
                tell!("UNKNOWN: {e}");
                return ExitCode::from(UNKNOWN);
            }
        };
        let world = ReadOnly(SimWorld::new(runbook.clone(), scenario, now));
        let report = rt.block_on(preflight(&world, &runbook, &[], now));
        ("sim", Some(world.0.scenario_name()), report, None)
    };
    let verdict = report.verdict();
    let word = verdict.name().to_uppercase();
    match args.format {
        StatusFormat::Json => {
            let doc = json!({
                "runbook": runbook.id,
                "title": runbook.title,
                "generated_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
                "backend": backend,
                "scenario": source,
                "api_calls": calls,
                "status": verdict.name(),
                "exit_code": verdict.exit_code(),
                "summary": report.summary(),
                "findings": report.findings,
            });
            say!(
                "{}",
                crate::safe::json(&serde_json::to_string_pretty(&doc).unwrap_or_default())
            );
        }
        StatusFormat::Table => print_table(&runbook.title, &runbook.id, &report, source, &word),
    }
    ExitCode::from(verdict.exit_code())
}

fn print_table(title: &str, id: &str, report: &Report, scenario: Option<String>, word: &str) {
    let one = crate::safe::one_line;
    let against = scenario.map_or_else(
        || "live AWS (read-only)".to_string(),
        |s| format!("simulated world: {}", one(&s)),
    );
    say!(
        "Preflight of {} ({}), against {against}",
        one(title),
        one(id)
    );
    say!();
    say!("{:<24} {:<22} {:<9} DETAIL", "STEP", "CHECK", "RESULT");
    for f in &report.findings {
        say!(
            "{:<24} {:<22} {:<9} {}",
            one(f.step.as_deref().unwrap_or("-")),
            one(&f.check),
            f.severity.name().to_uppercase(),
            one(&f.detail)
        );
    }
    say!();
    let worst: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == report.verdict() && f.severity != Severity::Ok)
        .map(|f| match &f.step {
            Some(s) => format!("step `{s}`: {}", f.detail),
            None => f.detail.clone(),
        })
        .collect();
    // The worst few, so the last line stays readable in a cron mail; the table has them all.
    let more = worst.len().saturating_sub(3);
    let mut shown = worst.into_iter().take(3).collect::<Vec<_>>().join("; ");
    if more > 0 {
        shown.push_str(&format!("; and {more} more above"));
    }
    if shown.is_empty() {
        say!("{word}: {}", report.summary());
    } else {
        say!("{word}: {}; {}", report.summary(), one(&shown));
    }
}
