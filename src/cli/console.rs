//! The console commands: an interactive `drill`, and `watch` (read-only). The session task and
//! the UI run side by side; the UI only sends commands and reads the latest view.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use tokio::sync::{mpsc, watch};

use tokio::runtime::Runtime;

use super::drill::Drill;
use super::load_runbook;
use crate::audit::Mode;
use crate::cloud::aws::{Access, AwsCloud, Timeouts};
use crate::cloud::leased::Leased;
use crate::cloud::sim::{self, SimWorld};
use crate::cloud::{Change, Gated, Observe, ReadOnly};
use crate::engine::objectives::estimate_rto;
use crate::engine::RunStatus;
use crate::runbook::Runbook;
use crate::runtime::clock::{Clock, PacedClock, Speed};
use crate::runtime::launch::Launched;
use crate::runtime::runner::{Operator, Runner};
use crate::runtime::session::{ConsoleLog, Interactive};
use crate::runtime::view::{RunView, ViewMode};
use crate::runtime::{follow, history, paths, unfinished};

/// Before a new drill: if an unfinished drill of this runbook exists, ask whether to resume it.
/// `Ok(Some(journal))` resumes, `Ok(None)` starts fresh.
pub fn offer_resume(runbook: &Runbook) -> Result<Option<PathBuf>, ExitCode> {
    let dir = paths::data_dir().join("journals");
    let found = unfinished::find(&dir, &runbook.id, Mode::Drill);
    let Some(latest) = found.first() else {
        return Ok(None);
    };
    if !std::io::stdin().is_terminal() {
        tell!("note: an unfinished drill exists ({}); starting a new one (use --resume to continue it)", latest.path.display());
        return Ok(None);
    }
    say!("An unfinished drill of `{}` exists:", runbook.id);
    say!(
        "  started {} by {}, last record at {} (simulated time), at step {}",
        latest.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        latest.operator,
        latest.last_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        latest.at_step.as_deref().unwrap_or("-")
    );
    say!("  journal {}", latest.path.display());
    if let Some(h) = &latest.locked_by {
        say!(
            "  in progress: held by {} since {}",
            h.operator,
            h.since.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    loop {
        print!("Resume it (r), start a new drill (n), or quit (q)? Type a letter and Enter: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        match std::io::stdin().lock().read_line(&mut answer) {
            Ok(0) | Err(_) => return Err(ExitCode::SUCCESS),
            Ok(_) => {}
        }
        match answer.trim() {
            "r" | "R" | "resume" => return Ok(Some(latest.path.clone())),
            "n" | "N" | "new" => return Ok(None),
            "q" | "Q" | "quit" => {
                say!("not started");
                return Err(ExitCode::SUCCESS);
            }
            _ => {}
        }
    }
}

/// An interactive drill at the console.
pub async fn drill(drill: Drill, speed: Speed, operator: &str, runbook_file: &Path) -> ExitCode {
    let Drill {
        launched,
        world,
        lock,
        expect,
        lease,
        mirror,
        approvals,
    } = drill;
    let target = format!("simulated world ({})", world.scenario_name());
    let fast = match speed {
        Speed::Max => None,
        Speed::Times(f) => Some(f),
    };
    let clock = PacedClock::new(launched.resume_at, fast);
    let attended = Attended {
        launched,
        backend: world,
        mode: ViewMode::Drill,
        target,
        notice: None,
        clock,
        lock,
        expect,
        lease,
        mirror,
        approvals,
        preflight: None,
    };
    attend(attended, operator, runbook_file).await
}

/// A run with a person at the console, against any backend.
pub struct Attended<B> {
    pub launched: Launched,
    pub backend: B,
    pub mode: ViewMode,
    /// Where the changes go, for the header.
    pub target: String,
    /// A standing note for the operator (e.g. AWS Health).
    pub notice: Option<String>,
    pub clock: PacedClock,
    pub lock: crate::runtime::lock::RunLock,
    /// How a drill's scenario expects it to end: its verdict is printed on exit.
    pub expect: Option<crate::cloud::sim::scenario::Expectation>,
    /// Whether the run's lease in the team's state store is held: no change leaves while not.
    pub lease: crate::cloud::leased::LeaseHealth,
    /// How far the journal's mirror in the state store has come (the header says if behind).
    pub mirror: Option<Arc<std::sync::Mutex<crate::runtime::mirror::MirrorState>>>,
    /// Where second approvers' approvals come from (the state store).
    pub approvals: Option<crate::runtime::runner::Approvals>,
    /// `run`'s preflight, checking in the background.
    pub preflight: Option<crate::runtime::view::PreflightSlot>,
}

/// Runs the session as a task and the console on this thread, until the run ends or the
/// operator leaves; then prints the summary or how to resume.
pub async fn attend<B>(run: Attended<B>, operator: &str, runbook_file: &Path) -> ExitCode
where
    B: Observe + Change + Send + Sync + 'static,
{
    let Attended {
        launched,
        backend,
        mode,
        target,
        notice,
        clock,
        lock,
        expect,
        lease,
        mirror,
        approvals,
        preflight,
    } = run;
    let Launched {
        journal,
        engine,
        t0,
        first,
        records,
        ..
    } = launched;
    let runbook = Arc::new(engine.runbook().clone());
    let past = history::read(&paths::data_dir().join("journals"), &runbook.id);
    let estimate = estimate_rto(&runbook, &past.durations);
    let journal_path = journal.path().to_path_buf();
    let mut view = RunView::new(
        runbook.clone(),
        mode,
        operator,
        &target,
        estimate.clone(),
        clock.now(),
    );
    view.notice = notice.clone();
    view.approve_url = approvals.as_ref().map(|a| a.url.clone());
    let (views_tx, views_rx) = watch::channel(Arc::new(view.clone()));
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    // A resumed run's audit pane goes on from its journal, not from an empty page.
    let skip = records.len().saturating_sub(crate::runtime::view::TAIL);
    let waiting = approvals.map(|a| (a, records.clone()));
    let log = ConsoleLog {
        notice,
        tail: records.into_iter().skip(skip).collect(),
        mirror,
        preflight,
    };
    let runner = Runner::new(
        engine,
        journal,
        Arc::new(Gated(Leased {
            inner: backend,
            lease,
        })),
        clock,
        log,
        Operator::Person,
        first,
    )
    .observe_every(chrono::TimeDelta::minutes(1));
    let runner = match waiting {
        Some((a, records)) => runner.with_approvals(a, &records),
        None => runner,
    };
    let session = Interactive {
        runner,
        estimate,
        view,
    };
    // The session (journal fsyncs, cloud calls) runs as a task on the runtime's worker threads
    // while the screen is drawn on this one, so a slow disk or a slow region never freezes the
    // screen or stops the operator from quitting.
    let session = tokio::spawn(session.run(cmd_rx, views_tx));
    let ui = crate::tui::run(views_rx, Some(cmd_tx)).await;
    let word = if mode == ViewMode::Live {
        "run"
    } else {
        "drill"
    };
    let Ok((status, engine)) = session.await else {
        tell!(
            "error: the {word}'s session stopped unexpectedly; resume it with `pilotlight {word} {} --resume {}`",
            runbook_file.display(),
            journal_path.display()
        );
        return ExitCode::from(1);
    };
    drop(lock);
    if let Err(e) = ui {
        tell!("error: {e}");
        return ExitCode::from(1);
    }
    match status {
        RunStatus::Finished | RunStatus::Aborted(_) => {
            let end = engine
                .steps()
                .iter()
                .filter_map(|s| s.finished_at)
                .max()
                .unwrap_or(t0);
            super::unattended::print_summary(&engine, &status, t0, end, &journal_path);
            super::unattended::verdict(&engine, &status, expect.as_ref())
        }
        _ => {
            say!(
                "{word} paused at step `{}`; continue it with:\n  pilotlight {word} {} --resume {}",
                runbook
                    .steps
                    .get(engine.current())
                    .map_or("-", |s| s.id.as_str()),
                runbook_file.display(),
                journal_path.display()
            );
            ExitCode::SUCCESS
        }
    }
}

pub struct WatchArgs {
    pub runbook: PathBuf,
    pub follow: Option<PathBuf>,
    pub sim: bool,
}

/// `pilotlight watch`: read-only, whatever key is pressed.
pub fn watch(rt: &Runtime, args: WatchArgs) -> ExitCode {
    let Some(runbook) = load_runbook(&args.runbook) else {
        return ExitCode::from(1);
    };
    let runbook = Arc::new(runbook);
    let timeouts = if args.follow.is_none() && !args.sim {
        match super::aws_timeouts() {
            Some(t) => t,
            None => return ExitCode::from(2),
        }
    } else {
        Timeouts::default()
    };
    let past = history::read(&paths::data_dir().join("journals"), &runbook.id);
    let estimate = estimate_rto(&runbook, &past.durations);
    let now = Utc::now();
    let target = match &args.follow {
        Some(j) => format!("following {}", j.display()),
        None if args.sim => "simulated world (default scenario)".to_string(),
        None => "live AWS, read-only".to_string(),
    };
    let view = RunView::new(
        runbook.clone(),
        ViewMode::ReadOnly,
        &paths::operator(),
        &target,
        estimate.clone(),
        now,
    );
    // A run in an S3 state store, by its URL: read with reads only.
    let in_store = match args.follow.as_deref().and_then(|p| p.to_str()) {
        Some(url) if url.starts_with("s3://") => {
            let Some((root, prefix)) = super::team::split_run_url(url) else {
                tell!("error: `{}` is not a run's URL (s3://BUCKET/PREFIX/runs/RUNBOOK/RUN_ID, as `pilotlight runs` lists them)", crate::safe::one_line(url));
                return ExitCode::from(2);
            };
            match super::team::open_store(root, Some(&runbook), Access::ReadOnly) {
                Ok(store) => Some(crate::runtime::StoreRun::new(store, prefix)),
                Err(e) => {
                    tell!("error: the state store: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        _ => None,
    };
    let (views_tx, views_rx) = watch::channel(Arc::new(view.clone()));
    // Reading and replaying the journal (or observing the world) is a task of its own: the
    // screen never waits for the disk.
    let producer = rt.spawn(async move {
        match args.follow {
            Some(journal) => {
                follow::follow(runbook, journal, in_store, estimate, view, views_tx).await
            }
            None if !args.sim => {
                // Read-only twice over: a backend that refuses every change, and clients whose
                // request guard lets only reads leave the process.
                let aws = AwsCloud::from_env(runbook.clone(), Access::ReadOnly, timeouts)
                    .await
                    .assume_roles(&crate::runtime::paths::operator())
                    .await;
                // AWS Health on its own client, beside the first refresh, never before it.
                let health = AwsCloud::from_env(runbook.clone(), Access::ReadOnly, timeouts).await;
                let health = tokio::spawn(async move { health.health_events().await.summary() });
                let every = std::time::Duration::from_secs(30);
                follow::watch_world(ReadOnly(aws), view, every, views_tx, Some(health)).await
            }
            None => {
                let world = SimWorld::new(runbook.clone(), sim::default_for(&runbook), now);
                let every = std::time::Duration::from_secs(5);
                follow::watch_world(ReadOnly(world), view, every, views_tx, None).await
            }
        }
    });
    let ui = rt.block_on(crate::tui::run(views_rx, None));
    // The producer notices the closed channel and stops at once.
    let _ = rt.block_on(producer);
    match ui {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tell!("error: {e}");
            ExitCode::from(1)
        }
    }
}
