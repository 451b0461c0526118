//! `pilotlight drill RUNBOOK`: a rehearsal against the simulated world, at the console or, with
//! `--unattended`, start to finish on its own. This file sets a drill up (new or resumed); the
//! two ways of running it live in `unattended.rs` and `console.rs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use super::load_runbook;
use crate::audit::event::{DrillContext, RunContext, TornTailSetAside};
use crate::audit::{Event, Journal, Mode};
use crate::cloud::sim::{self, SimWorld};
use crate::engine::{Engine, Input, RunStatus};
use crate::runbook::Runbook;
use crate::runtime::clock::Speed;
use crate::runtime::lock::{Holder, RunLock};
use crate::runtime::{paths, resume};

pub struct DrillArgs {
    pub runbook: PathBuf,
    pub scenario: Option<PathBuf>,
    pub speed: Speed,
    pub journal: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub unattended: bool,
}

/// A drill ready to run: its journal, its engine (new or rebuilt), and its world.
pub struct Setup {
    pub journal: Journal,
    pub engine: Engine,
    pub world: SimWorld,
    pub t0: DateTime<Utc>,
    pub resume_at: DateTime<Utc>,
    pub first: Input,
    pub expect: Option<sim::scenario::Expectation>,
    /// One operator per run: held while the drill runs.
    pub lock: RunLock,
}

pub fn run(mut args: DrillArgs) -> ExitCode {
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
    if !args.unattended && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        eprintln!(
            "error: the drill console needs a terminal; in scripts and CI use `drill --unattended`"
        );
        return ExitCode::from(2);
    }
    if !args.unattended && args.resume.is_none() && args.journal.is_none() {
        match super::console::offer_resume(&runbook) {
            Ok(choice) => args.resume = choice,
            Err(code) => return code,
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let operator = paths::operator();
    let setup = match prepare(&args, runbook, scenario, &operator) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if args.unattended {
        runtime.block_on(super::unattended::run(setup, args.speed))
    } else {
        runtime.block_on(super::console::drill(
            setup,
            args.speed,
            &operator,
            &args.runbook,
        ))
    }
}

/// Opens (or resumes) the journal, builds the engine and the world.
fn prepare(
    args: &DrillArgs,
    runbook: Arc<Runbook>,
    scenario: sim::Prepared,
    operator: &str,
) -> Result<Setup, String> {
    let holder = Holder::current(operator);
    // The runbook's exact bytes: a resume refuses a runbook edited since the run started.
    let digest = std::fs::read(&args.runbook)
        .map(|b| crate::audit::sha256_hex(&b))
        .map_err(|e| format!("cannot read {}: {e}", args.runbook.display()))?;
    let mut lock = None;
    let (journal, mut engine, t0, resume_at, first) = match &args.resume {
        Some(path) => {
            lock = Some(RunLock::acquire(path, &holder).map_err(|e| e.to_string())?);
            resume_from(path, operator, &runbook, &digest, Mode::Drill)?
        }
        None => {
            let t0 = Utc::now().trunc_subsecs(3);
            let journal = match &args.journal {
                Some(path) => Journal::create(path, operator, &runbook.id, Mode::Drill),
                None => create_default(&runbook.id, operator, t0, Mode::Drill),
            }
            .map_err(|e| e.to_string())?;
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
    engine.set_context(RunContext {
        pilotlight: env!("CARGO_PKG_VERSION").to_string(),
        runbook_file: args.runbook.display().to_string(),
        runbook_sha256: digest,
        drill: Some(DrillContext {
            scenario: scenario.name.clone(),
            scenario_file: args.scenario.as_ref().map(|p| p.display().to_string()),
            seed: scenario.seed,
            speed: match args.speed {
                Speed::Max => "max".to_string(),
                Speed::Times(f) => f.to_string(),
            },
            unattended: args.unattended,
        }),
        live: None,
    });
    let lock = match lock {
        Some(l) => l,
        None => RunLock::acquire(journal.path(), &holder).map_err(|e| e.to_string())?,
    };
    let expect = scenario.expect.clone();
    let world = SimWorld::new(runbook.clone(), scenario, t0);
    if args.resume.is_some() {
        let records = crate::audit::verify(&std::fs::read(journal.path()).unwrap_or_default())
            .map(|v| v.records)
            .unwrap_or_default();
        resume::rebuild_world(&world, &records);
    }
    Ok(Setup {
        journal,
        engine,
        world,
        t0,
        resume_at,
        first,
        expect,
        lock,
    })
}

pub(super) type Resumed = (Journal, Engine, DateTime<Utc>, DateTime<Utc>, Input);

fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Drill => "drill",
        Mode::Live => "run",
    }
}

/// Checks a journal of `mode` read-only, then reopens it and rebuilds the engine from it.
pub(super) fn resume_from(
    path: &Path,
    operator: &str,
    runbook: &Arc<Runbook>,
    digest: &str,
    mode: Mode,
) -> Result<Resumed, String> {
    let word = mode_word(mode);
    // Everything is checked read-only first: a refused resume leaves the journal untouched.
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let verified = crate::audit::verify(&bytes).map_err(|t| {
        format!(
            "{} is not intact: {t}; keep it as evidence and start a new {word}",
            path.display()
        )
    })?;
    let first = verified
        .records
        .first()
        .ok_or_else(|| format!("{} holds no records; start a new {word}", path.display()))?;
    if first.mode != mode {
        return Err(format!(
            "{} is the journal of a {}; resume it with `pilotlight {} --resume`",
            path.display(),
            if first.mode == Mode::Live {
                "live run"
            } else {
                "drill"
            },
            mode_word(first.mode)
        ));
    }
    if first.runbook != runbook.id {
        return Err(format!(
            "{}: the journal is of runbook `{}`, not `{}`; give the runbook it was started with",
            path.display(),
            first.runbook,
            runbook.id
        ));
    }
    // Approvals in the journal were given for the runbook as it was: an edited runbook must not
    // inherit them.
    let recorded = match &first.event {
        Event::RunStarted(started) => started.context.as_ref().map(|c| c.runbook_sha256.as_str()),
        _ => None,
    };
    if let Some(recorded) = recorded.filter(|r| !r.is_empty() && *r != digest) {
        return Err(format!(
            "the runbook changed since this {word} started (sha256 {} then, {} now); approvals given for the old one cannot carry over: resume with the runbook as it was, or start a new {word}",
            &recorded[..recorded.len().min(12)],
            &digest[..digest.len().min(12)]
        ));
    }
    let preview = Engine::from_records(runbook.clone(), &verified.records)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if matches!(
        preview.status(),
        RunStatus::Finished | RunStatus::Aborted(_)
    ) {
        return Err(format!(
            "the run in {} has already ended ({}); start a new {word} instead",
            path.display(),
            match preview.status() {
                RunStatus::Aborted(why) => format!("aborted: {why}"),
                _ => "finished".to_string(),
            }
        ));
    }
    // Now the journal may change: a torn last line is set aside and that is recorded, and the
    // engine is rebuilt from every record (so its sequence numbers match the file's).
    let (mut journal, records, torn) =
        Journal::resume(path, operator).map_err(|e| e.to_string())?;
    let t0 = records.first().map(|r| r.at).unwrap_or_else(Utc::now);
    let last = records.last().map_or(t0, |r| r.at);
    let mut records = records;
    if let Some(torn) = torn {
        let entry = crate::audit::Entry {
            at: last,
            step: None,
            event: Event::TornTailSetAside(TornTailSetAside {
                bytes: torn.bytes.len() as u64,
                line: torn.line as u64,
            }),
        };
        records.push(journal.append(&entry).map_err(|e| e.to_string())?);
        eprintln!(
            "note: the journal's last line was torn by a crash; it was set aside and recorded"
        );
    }
    let engine = Engine::from_records(runbook.clone(), &records)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((journal, engine, t0, last, Input::Resume))
}

/// A new journal at the default place; two runs started in the same second get `.2`, `.3`...
pub(super) fn create_default(
    runbook: &str,
    operator: &str,
    t0: DateTime<Utc>,
    mode: Mode,
) -> Result<Journal, crate::audit::JournalError> {
    let base = paths::default_journal(runbook, mode_word(mode), t0);
    let mut n = 1;
    loop {
        let path = if n == 1 {
            base.clone()
        } else {
            base.with_extension(format!("{n}.jsonl"))
        };
        match Journal::create(&path, operator, runbook, mode) {
            Err(crate::audit::JournalError::Create { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists && n < 100 =>
            {
                n += 1;
            }
            other => return other,
        }
    }
}
