//! `pilotlight run RUNBOOK`: the runbook against live AWS, at the console, every change behind
//! its gate. Who pilotlight acts as (STS) is on screen and in the journal; one operator per
//! runbook and account at a time.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use tokio::runtime::Runtime;

use super::console::{attend, Attended};
use super::load_runbook;
use crate::audit::event::{LiveContext, RunContext};
use crate::audit::Mode;
use crate::cloud::aws::{Access, AwsCloud};
use crate::cloud::ReadOnly;
use crate::model::Identity;
use crate::runbook::Runbook;
use crate::runtime::clock::PacedClock;
use crate::runtime::launch::{self, LaunchError, Launched};
use crate::runtime::lock::LockError;
use crate::runtime::paths;
use crate::runtime::view::ViewMode;

pub struct RunArgs {
    pub runbook: PathBuf,
    pub journal: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    /// Roll back the finished run in `resume`.
    pub rollback: bool,
    /// `--operator`, else the environment's.
    pub operator: Option<String>,
    /// `--state` and `--take-over`.
    pub team: super::team::TeamArgs,
}

pub fn run(rt: &Runtime, mut args: RunArgs) -> ExitCode {
    let Some(runbook) = load_runbook(&args.runbook) else {
        return ExitCode::from(1);
    };
    // A run's URL in the state store: its mirror, copied here to go on from.
    let from_mirror = match super::team::resume_here(&mut args.resume) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let runbook = Arc::new(runbook);
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        tell!(
            "error: `pilotlight run` needs a terminal: every change waits for a person at its gate"
        );
        return ExitCode::from(2);
    }
    let Some(timeouts) = super::aws_timeouts() else {
        return ExitCode::from(2);
    };
    let aws = rt.block_on(AwsCloud::from_env(
        runbook.clone(),
        Access::ReadWrite,
        timeouts,
    ));
    // Who we are, and AWS Health (one short attempt), side by side before the console opens.
    let (identity, health) =
        rt.block_on(async { tokio::join!(aws.identity(), aws.health_events()) });
    let identity = match identity {
        Ok(i) => i,
        Err(e) => {
            tell!("error: cannot tell which AWS account this would change ({e})");
            tell!("  set AWS_PROFILE (or run `aws sso login`), check `aws sts get-caller-identity`, then try again");
            return ExitCode::from(2);
        }
    };
    // A resumed run goes on in the account it began in, or not at all: in another account the
    // in-flight change would be looked for, not found, and sent again.
    if let Some(path) = &args.resume {
        // (A journal that cannot be read, or is a drill's, is refused below with its reason.)
        let began = launch::context_of(path).filter(|c| c.drill.is_none());
        match began.map(|c| c.live.map(|l| l.aws.account)) {
            None => {}
            Some(Some(began)) if began == identity.account => {}
            Some(Some(began)) => {
                tell!(
                    "error: {} began in AWS account {began}, but these credentials are for account {}; switch AWS_PROFILE to that account and resume again",
                    path.display(),
                    identity.account
                );
                return ExitCode::from(2);
            }
            // Fail closed: a check that cannot be made is not a check that passed.
            Some(None) => {
                tell!(
                    "error: cannot tell which AWS account {} began in (its run-started record has no readable account); check the path, then `pilotlight verify {}`",
                    path.display(),
                    path.display()
                );
                return ExitCode::from(2);
            }
        }
    }
    let operator = match super::operator_name(args.operator.as_deref()) {
        Ok(o) => o,
        Err(code) => return code,
    };
    // Every other account's role, assumed in the operator's name.
    let aws = rt.block_on(aws.assume_roles(&operator));
    // One operator per runbook and account, whichever journal they write.
    let lock_key = paths::data_dir()
        .join("locks")
        .join(format!("{}@{}.run", runbook.id, identity.account));
    if let Some(dir) = lock_key.parent() {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
        if let Err(e) = launch::private(dir) {
            tell!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let lock = match launch::lock(&lock_key, &operator) {
        Ok(l) => l,
        Err(LaunchError::Lock(LockError::Held { holder, .. })) => {
            tell!(
                "error: {} is already being run in account {} by {} on {} (pid {}) since {}; only one operator at a time",
                runbook.id, identity.account, holder.operator, holder.host, holder.pid, holder.since
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            tell!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // One live run of this runbook in the team's state store, whichever machine it is on.
    let team = match super::team::hold(
        &args.team,
        crate::runtime::lease::Namespace::Live,
        &runbook,
        &operator,
        Some(identity.arn.clone()),
        args.resume.is_some(),
    ) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let mut launched = match start_or_resume(&args, &runbook, &operator, &identity) {
        Ok(l) => l,
        Err(e) => {
            tell!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(holder) = team.took_over() {
        launched.engine.taking_over(holder);
    }
    if from_mirror {
        launched.engine.tail_may_be_lost();
    }
    let mirroring = match team.mirror(launched.journal.path()) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let approvals = team.approvals(&launched.engine, true);
    // Preflight checks in the background, through its own read-only clients, while the console
    // opens: the header shows its verdict and each gate its step's problems. A slow or dark
    // region delays only the verdict, never the console.
    let preflight = crate::runtime::view::PreflightSlot::default();
    let preflight_operator = operator.clone();
    {
        use crate::engine::StepState as S;
        let begun: Vec<String> = launched
            .engine
            .steps()
            .iter()
            .zip(&runbook.steps)
            .filter(|(s, _)| !matches!(s.state, S::Pending | S::AwaitingGate))
            .map(|(_, step)| step.id.clone())
            .collect();
        let slot = preflight.clone();
        let runbook = runbook.clone();
        rt.spawn(async move {
            let aws = ReadOnly(
                AwsCloud::from_env(runbook.clone(), Access::ReadOnly, timeouts)
                    .await
                    .assume_roles(&preflight_operator)
                    .await,
            );
            let report =
                crate::runtime::preflight::preflight(&aws, &runbook, &begun, Utc::now()).await;
            if let Ok(mut s) = slot.lock() {
                *s = Some(Arc::new(report));
            }
        });
    }
    let attended = Attended {
        launched,
        backend: aws,
        mode: ViewMode::Live,
        target: format!("AWS account {} as {}", identity.account, identity.arn),
        notice: health.summary(),
        // Live time is real time.
        clock: PacedClock::new(Utc::now(), Some(1.0)),
        lock,
        expect: None,
        lease: team.lease.clone(),
        mirror: mirroring.as_ref().map(|m| m.state.clone()),
        approvals,
        preflight: Some(preflight),
    };
    let code = rt.block_on(attend(attended, &operator, &args.runbook));
    // Mirrored to the end, and released, as the run ends here.
    super::team::mirrored(&team, mirroring);
    drop(team);
    code
}

/// The live run: new, or continued from its journal.
fn start_or_resume(
    args: &RunArgs,
    runbook: &Arc<Runbook>,
    operator: &str,
    identity: &Identity,
) -> Result<Launched, LaunchError> {
    let digest = launch::runbook_digest(&args.runbook)?;
    let mut launched = match &args.resume {
        Some(path) => {
            let launched =
                launch::resume(runbook, Mode::Live, operator, path, &digest, args.rollback)?;
            launch::rollback_needs_an_end(&launched, path, args.rollback)?;
            let mut launched = launched;
            launched.engine.resume_as(identity.clone());
            launched
        }
        None => {
            let context = RunContext {
                pilotlight: env!("CARGO_PKG_VERSION").to_string(),
                runbook_file: args.runbook.display().to_string(),
                runbook_sha256: digest,
                drill: None,
                live: Some(LiveContext {
                    aws: identity.clone(),
                    regions: runbook.regions(),
                }),
            };
            let now = Utc::now().trunc_subsecs(3);
            launch::start(
                runbook,
                Mode::Live,
                operator,
                args.journal.as_deref(),
                context,
                now,
            )?
        }
    };
    if launched.torn_set_aside {
        tell!("note: the journal's last line was torn by a crash; it was set aside and recorded");
    }
    // A live command a crash interrupted may have done its work: the operator decides.
    launched.engine.rerun_interrupted_commands(false);
    Ok(launched)
}
