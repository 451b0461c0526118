//! `pilotlight run RUNBOOK`: the runbook against live AWS, at the console, every change behind
//! its gate. Who pilotlight acts as (STS) is on screen and in the journal; one operator per
//! runbook and account at a time.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};

use super::console::{attend, Attended};
use super::drill::{create_default, resume_from};
use super::load_runbook;
use crate::audit::event::{LiveContext, RunContext};
use crate::audit::{Event, Journal, Mode};
use crate::cloud::aws::{Access, AwsCloud};
use crate::engine::{Engine, Input};
use crate::runtime::lock::{Holder, LockError, RunLock};
use crate::runtime::paths;
use crate::runtime::session::PacedClock;
use crate::runtime::view::ViewMode;

pub struct RunArgs {
    pub runbook: PathBuf,
    pub journal: Option<PathBuf>,
    pub resume: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> ExitCode {
    let Some(runbook) = load_runbook(&args.runbook) else {
        return ExitCode::from(1);
    };
    let runbook = Arc::new(runbook);
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        eprintln!(
            "error: `pilotlight run` needs a terminal: every change waits for a person at its gate"
        );
        return ExitCode::from(2);
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
    let Some(timeouts) = super::aws_timeouts() else {
        return ExitCode::from(2);
    };
    let aws = runtime.block_on(AwsCloud::from_env(
        runbook.clone(),
        Access::ReadWrite,
        timeouts,
    ));
    // Who we are, and AWS Health (one short attempt), side by side before the console opens.
    let (identity, health) =
        runtime.block_on(async { tokio::join!(aws.identity(), aws.health_events()) });
    let identity = match identity {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: cannot tell which AWS account this would change ({e})");
            eprintln!("  set AWS_PROFILE (or run `aws sso login`), check `aws sts get-caller-identity`, then try again");
            return ExitCode::from(2);
        }
    };
    // A resumed run goes on in the account it began in, or not at all: in another account the
    // in-flight change would be looked for, not found, and sent again.
    if let Some(path) = &args.resume {
        if let Some(began) = began_in(path).filter(|a| *a != identity.account) {
            eprintln!(
                "error: {} began in AWS account {began}, but these credentials are for account {}; switch AWS_PROFILE to that account and resume again",
                path.display(),
                identity.account
            );
            return ExitCode::from(2);
        }
    }
    let operator = paths::operator();
    let holder = Holder::current(&operator);
    // One operator per runbook and account, whichever journal they write.
    let lock_key = paths::data_dir()
        .join("locks")
        .join(format!("{}@{}.run", runbook.id, identity.account));
    if let Some(dir) = lock_key.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let lock = match RunLock::acquire(&lock_key, &holder) {
        Ok(l) => l,
        Err(LockError::Held { holder, .. }) => {
            eprintln!(
                "error: {} is already being run in account {} by {} on {} (pid {}) since {}; only one operator at a time",
                runbook.id, identity.account, holder.operator, holder.host, holder.pid, holder.since
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let digest = match std::fs::read(&args.runbook) {
        Ok(b) => crate::audit::sha256_hex(&b),
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.runbook.display());
            return ExitCode::from(1);
        }
    };
    let (journal, mut engine, t0, first) = match &args.resume {
        Some(path) => match resume_from(path, &operator, &runbook, &digest, Mode::Live) {
            Ok((journal, engine, t0, _, first)) => (journal, engine, t0, first),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
        None => {
            let t0 = Utc::now().trunc_subsecs(3);
            let journal = match &args.journal {
                Some(path) => Journal::create(path, &operator, &runbook.id, Mode::Live),
                None => create_default(&runbook.id, &operator, t0, Mode::Live),
            };
            let journal = match journal {
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
                Input::Start,
            )
        }
    };
    // A live command a crash interrupted may have done its work: the operator decides.
    engine.rerun_interrupted_commands(false);
    engine.set_context(RunContext {
        pilotlight: env!("CARGO_PKG_VERSION").to_string(),
        runbook_file: args.runbook.display().to_string(),
        runbook_sha256: digest,
        drill: None,
        live: Some(LiveContext {
            aws: identity.clone(),
            regions: runbook.regions(),
        }),
    });
    let notice = health.summary();
    let attended = Attended {
        engine,
        journal,
        backend: aws,
        mode: ViewMode::Live,
        target: format!("AWS account {} as {}", identity.account, identity.arn),
        notice,
        // Live time is real time.
        clock: PacedClock::new(Utc::now(), Some(1.0)),
        t0,
        first,
        lock,
    };
    runtime.block_on(attend(attended, &operator, &args.runbook))
}

/// The AWS account a live journal's run began in, as its first record says.
fn began_in(journal: &std::path::Path) -> Option<String> {
    let bytes = std::fs::read(journal).ok()?;
    let verified = crate::audit::verify(&bytes).ok()?;
    match &verified.records.first()?.event {
        Event::RunStarted(started) => started
            .context
            .as_ref()
            .and_then(|c| c.live.as_ref())
            .map(|l| l.aws.account.clone()),
        _ => None,
    }
}
