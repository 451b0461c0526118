//! `pilotlight drill RUNBOOK --unattended`: the whole runbook against the simulated world, every
//! gate confirmed by the drill itself, then a summary against the RTO target.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use super::load_runbook;
use crate::audit::{Event, Journal, Mode, Record};
use crate::cloud::sim::{self, SimWorld};
use crate::engine::{Engine, Input, RunStatus, StepState};
use crate::runbook::{Duration, Runbook};
use crate::runtime::clock::{Speed, VirtualClock};
use crate::runtime::driver::{Observer, Unattended};
use crate::runtime::{paths, resume};

pub struct DrillArgs {
    pub runbook: PathBuf,
    pub scenario: Option<PathBuf>,
    pub speed: Speed,
    pub journal: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub unattended: bool,
}

/// Prints one line per journal record as the drill goes (flushed, so a watcher sees progress).
struct Progress {
    t0: DateTime<Utc>,
    abort_after: Option<u64>,
    written: u64,
}

impl Observer for Progress {
    fn recorded(&mut self, r: &Record) {
        let t = Duration::from_secs((r.at - self.t0).num_seconds().max(0) as u64);
        let step = r.step.as_deref().unwrap_or("-");
        let what = match (r.event, r.detail.get("plan")) {
            (Event::Intent, Some(plan)) => format!(
                "requested {}",
                plan.get("action").and_then(|a| a.as_str()).unwrap_or("?")
            ),
            (Event::Outcome, _) if r.detail.get("ok").and_then(|v| v.as_bool()) == Some(false) => {
                format!(
                    "failed: {}",
                    r.detail
                        .get("error")
                        .and_then(|e| e.as_str())
                        .unwrap_or("?")
                )
            }
            (Event::StepFailed, _) | (Event::RunAborted, _) => {
                let why = r.detail.get("error").or_else(|| r.detail.get("reason"));
                format!(
                    "{}: {}",
                    event_name(r.event),
                    why.and_then(|e| e.as_str()).unwrap_or("?")
                )
            }
            (e, _) => event_name(e).to_string(),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{:<11} {step:<28} {what}", format!("T+{t}"));
        let _ = out.flush();
        self.written += 1;
        // Fault injection for crash tests: die like SIGKILL right after this record is durable.
        if self.abort_after == Some(self.written) {
            std::process::abort();
        }
    }

    fn refused(&mut self, message: &str) {
        eprintln!("refused: {message}");
    }
}

fn event_name(e: Event) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn run(args: DrillArgs) -> ExitCode {
    if !args.unattended {
        eprintln!(
            "error: the interactive console is not built yet; run the drill with --unattended"
        );
        return ExitCode::from(2);
    }
    let Some(runbook) = load_runbook(&args.runbook) else {
        return ExitCode::from(1);
    };
    let runbook = Arc::new(runbook);
    let scenario = match &args.scenario {
        None => sim::default_for(&runbook),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| sim::parse_scenario(&t, &runbook).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}: error: {e}", path.display());
                return ExitCode::from(1);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(drill(args, runbook, scenario))
}

async fn drill(args: DrillArgs, runbook: Arc<Runbook>, scenario: sim::Prepared) -> ExitCode {
    let operator = paths::operator();
    let abort_after = std::env::var("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok());
    let (mut journal, mut engine, t0, resume_at, first) = match &args.resume {
        Some(path) => match resume_from(path, &operator, &runbook) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
        None => {
            let t0 = Utc::now().trunc_subsecs(3);
            let created = match &args.journal {
                Some(path) => Journal::create(path, &operator, &runbook.id, Mode::Drill),
                None => create_default(&runbook.id, &operator, t0),
            };
            let journal = match created {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            };
            let run_id = format!("{}-{}", runbook.id, t0.format("%Y%m%dT%H%M%S%.3fZ"));
            (
                journal,
                Engine::new(runbook.clone(), &run_id),
                t0,
                t0,
                Input::Start,
            )
        }
    };
    // Drills never run commands, so one a crash interrupted can simply "run" again.
    engine.rerun_interrupted_commands(true);
    engine.set_context(serde_json::json!({
        "pilotlight": env!("CARGO_PKG_VERSION"),
        "runbook_file": args.runbook.display().to_string(),
        "scenario": scenario.name,
        "scenario_file": args.scenario.as_ref().map(|p| p.display().to_string()),
        "seed": scenario.seed,
        "speed": match args.speed { Speed::Max => "max".to_string(), Speed::Times(f) => f.to_string() },
    }));
    let expect = scenario.expect.clone();
    let world = SimWorld::new(runbook.clone(), scenario, t0);
    if args.resume.is_some() {
        let records = crate::audit::verify(&std::fs::read(journal.path()).unwrap_or_default())
            .map(|v| v.records)
            .unwrap_or_default();
        resume::rebuild_world(&world, &records);
    }
    println!(
        "drill: {} ({}) against the simulated world, scenario: {}",
        runbook.title,
        runbook.id,
        world.scenario_name()
    );
    println!("journal: {}", journal.path().display());
    let mut clock = VirtualClock::new(resume_at, args.speed);
    let mut progress = Progress {
        t0,
        abort_after,
        written: 0,
    };
    let status = Unattended {
        engine: &mut engine,
        journal: &mut journal,
        backend: &world,
        clock: &mut clock,
        observer: &mut progress,
        status_every: Some(chrono::TimeDelta::minutes(1)),
    }
    .run(first)
    .await;
    print_summary(&engine, &status, t0, clock.now(), journal.path());
    if let Some(expect) = &expect {
        match check_expectation(&engine, &status, expect) {
            Ok(()) => println!("scenario check: the drill ended as the scenario expects"),
            Err(why) => println!("scenario check: NOT as the scenario expects: {why}"),
        }
    }
    match status {
        RunStatus::Finished => ExitCode::SUCCESS,
        RunStatus::Aborted(why) | RunStatus::Blocked(why) => {
            println!("ABORTED: {why}");
            ExitCode::from(1)
        }
        RunStatus::NotStarted | RunStatus::Running => ExitCode::from(1),
    }
}

type Resumed = (Journal, Engine, DateTime<Utc>, DateTime<Utc>, Input);

fn resume_from(path: &Path, operator: &str, runbook: &Arc<Runbook>) -> Result<Resumed, String> {
    let (mut journal, records, torn) =
        Journal::resume(path, operator).map_err(|e| e.to_string())?;
    if journal.mode() != Mode::Drill {
        return Err(format!(
            "{} is the journal of a live run; resume it with `pilotlight run`",
            path.display()
        ));
    }
    let engine = Engine::from_records(runbook.clone(), &records)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if matches!(engine.status(), RunStatus::Finished | RunStatus::Aborted(_)) {
        return Err(format!(
            "the run in {} has already ended ({}); start a new drill instead",
            path.display(),
            match engine.status() {
                RunStatus::Aborted(why) => format!("aborted: {why}"),
                _ => "finished".to_string(),
            }
        ));
    }
    let t0 = records.first().map(|r| r.at).unwrap_or_else(Utc::now);
    let last = records.last().map_or(t0, |r| r.at);
    if let Some(torn) = torn {
        let entry = crate::audit::Entry {
            at: last,
            event: Event::TornTailSetAside,
            step: None,
            detail: serde_json::json!({"line": torn.line, "bytes": torn.bytes.len()}),
        };
        journal.append(&entry).map_err(|e| e.to_string())?;
        eprintln!(
            "note: the journal's last line was torn by a crash; it was set aside and recorded"
        );
    }
    Ok((journal, engine, t0, last, Input::Resume))
}

fn print_summary(
    engine: &Engine,
    status: &RunStatus,
    t0: DateTime<Utc>,
    end: DateTime<Utc>,
    journal: &Path,
) {
    let rb = engine.runbook();
    println!();
    println!(
        "{:<28} {:<9} {:>10} {:>10}",
        "STEP", "OUTCOME", "TOOK", "EXPECTED"
    );
    for (step, run) in rb.steps.iter().zip(engine.steps()) {
        let took = match (run.started_at, run.finished_at) {
            (Some(s), Some(f)) => {
                Duration::from_secs((f - s).num_seconds().max(0) as u64).to_string()
            }
            _ => "-".into(),
        };
        let expected = step
            .expected_duration()
            .map_or("-".into(), |d| d.to_string());
        let outcome = match run.state {
            StepState::Done if run.attempt > 1 => format!("done ({} tries)", run.attempt),
            s => s.name().to_string(),
        };
        println!(
            "{:<28} {:<9} {:>10} {:>10}",
            step.id, outcome, took, expected
        );
    }
    let total = Duration::from_secs((end - t0).num_seconds().max(0) as u64);
    let target = rb.targets.rto;
    println!();
    if matches!(status, RunStatus::Finished) {
        let verdict = if total <= target { "within" } else { "OVER" };
        println!("recovered in {total} (simulated) against RTO target {target}: {verdict} target");
    } else {
        println!("stopped after {total} (simulated); not recovered (RTO target {target})");
    }
    println!("journal: {}", journal.display());
}

/// Whether the run ended as the scenario says it should.
fn check_expectation(
    engine: &Engine,
    status: &RunStatus,
    expect: &sim::scenario::Expectation,
) -> Result<(), String> {
    use sim::scenario::ExpectedOutcome;
    let finished = matches!(status, RunStatus::Finished);
    match (expect.outcome, finished) {
        (ExpectedOutcome::Finished, false) => {
            return Err("expected the run to finish, but it was aborted".into())
        }
        (ExpectedOutcome::Aborted, true) => {
            return Err("expected the run to be aborted, but it finished".into())
        }
        _ => {}
    }
    let rb = engine.runbook();
    let run_of = |id: &str| {
        rb.steps
            .iter()
            .position(|s| s.id == id)
            .map(|i| &engine.steps()[i])
    };
    if let Some(step) = &expect.failed_step {
        let stopped_at = rb.steps.get(engine.current()).map(|s| s.id.as_str());
        if stopped_at != Some(step.as_str()) {
            return Err(format!(
                "expected step `{step}` to stop the run, but it stopped at {stopped_at:?}"
            ));
        }
    }
    if let Some(step) = &expect.retried_step {
        if run_of(step).is_none_or(|r| r.attempt < 2) {
            return Err(format!(
                "expected step `{step}` to need more than one attempt"
            ));
        }
    }
    Ok(())
}

/// A new journal at the default place; two drills started in the same second get `-2`, `-3`...
fn create_default(
    runbook: &str,
    operator: &str,
    t0: DateTime<Utc>,
) -> Result<Journal, crate::audit::JournalError> {
    let base = paths::default_journal(runbook, "drill", t0);
    let mut n = 1;
    loop {
        let path = if n == 1 {
            base.clone()
        } else {
            base.with_extension(format!("{n}.jsonl"))
        };
        match Journal::create(&path, operator, runbook, Mode::Drill) {
            Err(crate::audit::JournalError::Create { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists && n < 100 =>
            {
                n += 1;
            }
            other => return other,
        }
    }
}
