//! `pilotlight drill RUNBOOK`: a rehearsal against the simulated world, at the console or, with
//! `--unattended`, start to finish on its own. This file picks the scenario and hands over to
//! the runtime; the two ways of running live in `unattended.rs` and `console.rs`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use tokio::runtime::Runtime;

use super::load_runbook;
use crate::audit::event::{DrillContext, RunContext};
use crate::audit::Mode;
use crate::cloud::sim::{self, SimWorld};
use crate::runbook::Runbook;
use crate::runtime::clock::Speed;
use crate::runtime::launch::{self, Launched};
use crate::runtime::lock::RunLock;

pub struct DrillArgs {
    pub runbook: PathBuf,
    pub scenario: Option<PathBuf>,
    pub speed: Speed,
    pub journal: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub unattended: bool,
    /// Roll back the completed steps with an `inverse` (after the runbook when unattended; a
    /// drill that has ended with `resume`).
    pub rollback: bool,
    /// `--operator`, else the environment's.
    pub operator: Option<String>,
    /// `--state` and `--take-over`.
    pub team: super::team::TeamArgs,
}

/// A drill ready to run: its journal and engine, the world they act on, and its lock.
pub struct Drill {
    pub launched: Launched,
    pub world: SimWorld,
    pub expect: Option<sim::scenario::Expectation>,
    /// One operator per run: held while the drill runs.
    pub lock: RunLock,
    /// Whether the drill's lease in the team's state store is held (always, without one).
    pub lease: crate::cloud::leased::LeaseHealth,
    /// How far its journal's mirror in the state store has come.
    pub mirror: Option<Arc<std::sync::Mutex<crate::runtime::mirror::MirrorState>>>,
    /// Where second approvers' approvals come from (the state store).
    pub approvals: Option<crate::runtime::runner::Approvals>,
}

pub fn run(rt: &Runtime, mut args: DrillArgs) -> ExitCode {
    let Some(runbook) = load_runbook(&args.runbook) else {
        return ExitCode::from(1);
    };
    // A run's URL in the state store: its mirror, copied here to go on from.
    let from_mirror = match super::team::resume_here(&mut args.resume) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let runbook = Arc::new(runbook);
    let scenario = match sim::load_scenario(args.scenario.as_deref(), &runbook) {
        Ok(s) => s,
        Err(e) => {
            let line = crate::safe::one_line;
            tell!("{}: error: {}", line(&e.path), line(&e.why));
            return ExitCode::from(1);
        }
    };
    if !args.unattended && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        tell!(
            "error: the drill console needs a terminal; in scripts and CI use `drill --unattended`"
        );
        return ExitCode::from(2);
    }
    if args.rollback && !args.unattended && args.resume.is_none() {
        tell!("error: at the drill console, roll back with R once the run is over; --rollback is for --unattended, or with --resume JOURNAL for a drill that has ended");
        return ExitCode::from(2);
    }
    if !args.unattended && args.resume.is_none() && args.journal.is_none() {
        match super::console::offer_resume(&runbook) {
            Ok(choice) => args.resume = choice,
            Err(code) => return code,
        }
    }
    let operator = match super::operator_name(args.operator.as_deref()) {
        Ok(o) => o,
        Err(code) => return code,
    };
    // One drill of this runbook in the team's state store (never in the way of a live run).
    let team = match super::team::hold(
        &args.team,
        crate::runtime::lease::Namespace::Drill,
        &runbook,
        &operator,
        None,
        args.resume.is_some(),
    ) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let mut drill = match prepare(&args, &runbook, scenario, &operator) {
        Ok(d) => d,
        Err(e) => {
            tell!("error: {e}");
            return ExitCode::from(1);
        }
    };
    drill.lease = team.lease.clone();
    if let Some(holder) = team.took_over() {
        drill.launched.engine.taking_over(holder);
    }
    if from_mirror {
        drill.launched.engine.tail_may_be_lost();
    }
    let mirroring = match team.mirror(drill.launched.journal.path()) {
        Ok(m) => m,
        Err(code) => return code,
    };
    drill.mirror = mirroring.as_ref().map(|m| m.state.clone());
    drill.approvals = team.approvals(&drill.launched.engine, false);
    let code = if args.unattended {
        rt.block_on(super::unattended::run(drill, args.speed, args.rollback))
    } else {
        rt.block_on(super::console::drill(
            drill,
            args.speed,
            &operator,
            &args.runbook,
        ))
    };
    // Mirrored to the end, and released, as the drill ends here.
    super::team::mirrored(&team, mirroring);
    drop(team);
    code
}

/// Starts (or resumes) the drill's run and sets up its world.
fn prepare(
    args: &DrillArgs,
    runbook: &Arc<Runbook>,
    scenario: sim::Prepared,
    operator: &str,
) -> Result<Drill, launch::LaunchError> {
    let digest = launch::runbook_digest(&args.runbook)?;
    let context = RunContext {
        pilotlight: env!("CARGO_PKG_VERSION").to_string(),
        runbook_file: args.runbook.display().to_string(),
        runbook_sha256: digest.clone(),
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
    };
    let (mut launched, lock) = match &args.resume {
        Some(path) => {
            // Locked by the file's one real path: an alias would be a second lock.
            let lock = launch::lock(&launch::journal_itself(path)?, operator)?;
            let launched =
                launch::resume(runbook, Mode::Drill, operator, path, &digest, args.rollback)?;
            if !args.unattended {
                launch::rollback_needs_an_end(&launched, path, args.rollback)?;
            }
            (launched, lock)
        }
        None => {
            let now = Utc::now().trunc_subsecs(3);
            let launched = launch::start(
                runbook,
                Mode::Drill,
                operator,
                args.journal.as_deref(),
                context,
                now,
            )?;
            let lock = launch::lock(launched.journal.path(), operator)?;
            (launched, lock)
        }
    };
    if launched.torn_set_aside {
        tell!("note: the journal's last line was torn by a crash; it was set aside and recorded");
    }
    // Drills never run commands, so one a crash interrupted can simply "run" again.
    launched.engine.rerun_interrupted_commands(true);
    let expect = scenario.expect.clone();
    let world = SimWorld::new(runbook.clone(), scenario, launched.t0);
    // What the first process changed is there for the resumed one.
    world.replay(&launched.records);
    Ok(Drill {
        launched,
        world,
        expect,
        lock,
        lease: crate::cloud::leased::LeaseHealth::held_now(),
        mirror: None,
        approvals: None,
    })
}
