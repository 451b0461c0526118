//! `pilotlight drill RUNBOOK --unattended`: the whole runbook against the simulated world, every
//! gate confirmed by the drill itself, then a summary against the RTO target.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::drill::Drill;
use crate::audit::event::{DurationSource, Intent};
use crate::audit::{Event, Record};
use crate::cloud::sim;
use crate::cloud::Gated;
use crate::engine::{Engine, Input, RollbackEnd, RunStatus, StepState};
use crate::runbook::Duration;
use crate::runtime::clock::{Clock, Speed, VirtualClock};
use crate::runtime::runner::{Observer, Operator, Runner};
use crate::runtime::unattended::run_to_end;

struct Progress {
    t0: DateTime<Utc>,
    /// The run's URL, where a second approver approves it.
    approve_at: Option<String>,
    abort_after: Option<u64>,
    written: u64,
}

impl Observer for Progress {
    fn recorded(&mut self, r: &Record) {
        let t = Duration::from_secs((r.at - self.t0).num_seconds().max(0) as u64);
        let step = r.step.as_deref().unwrap_or("-");
        let name = r.kind().name();
        let what = match &r.event {
            Event::Intent(Intent {
                plan: Some(plan), ..
            }) => format!("requested {}", plan.action.name()),
            Event::Outcome(o) if !o.ok => {
                format!("failed: {}", o.error.as_deref().unwrap_or("?"))
            }
            Event::StepFailed(f) => format!("{name}: {}", f.error),
            Event::RunAborted(a) => format!("{name}: {}", a.reason),
            Event::GateConfirmed(_) => format!(
                "{name}: waiting for a second approver: pilotlight approve {}",
                self.approve_at.as_deref().unwrap_or("RUN_URL")
            ),
            Event::GateApproved(g) if g.second.is_some() => format!(
                "{name}: also by {}",
                g.second.as_ref().map_or("", |s| s.operator.as_str())
            ),
            _ => name.to_string(),
        };
        let mut out = std::io::stdout().lock();
        let line = format!("{:<11} {step:<28} {what}", format!("T+{t}"));
        let _ = writeln!(out, "{}", crate::safe::one_line(&line));
        let _ = out.flush();
        self.written += 1;
        // Fault injection for crash tests: die like SIGKILL right after this record is durable.
        if self.abort_after == Some(self.written) {
            std::process::abort();
        }
    }

    fn refused(&mut self, message: &str) {
        tell!("refused: {message}");
    }
}

pub async fn run(drill: Drill, speed: Speed, rollback: bool) -> ExitCode {
    let Drill {
        launched,
        world,
        expect,
        lock: _lock,
        lease,
        mirror: _,
        approvals,
    } = drill;
    let abort_after = std::env::var("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok());
    let rb = launched.engine.runbook();
    say!(
        "drill: {} ({}) against the simulated world, scenario: {}",
        rb.title,
        rb.id,
        world.scenario_name()
    );
    say!("journal: {}", launched.journal.path().display());
    let t0 = launched.t0;
    let progress = Progress {
        t0,
        approve_at: approvals.as_ref().map(|a| a.url.clone()),
        abort_after,
        written: 0,
    };
    let records = launched.records;
    let mut runner = Runner::new(
        launched.engine,
        launched.journal,
        Arc::new(Gated(crate::cloud::leased::Leased {
            inner: world,
            lease,
        })),
        VirtualClock::new(launched.resume_at, speed),
        progress,
        Operator::Unattended,
        launched.first,
    )
    .observe_every(chrono::TimeDelta::minutes(1));
    if let Some(a) = approvals {
        runner = runner.with_approvals(a, &records);
    }
    let mut status = run_to_end(&mut runner).await;
    // Then undo what the run changed, newest first (unless a resumed journal already began).
    if rollback && runner.engine().state().rollback.is_none() {
        runner.push(Input::Rollback {
            reason: Some("drill --unattended --rollback".into()),
        });
        status = run_to_end(&mut runner).await;
    }
    let engine = runner.engine();
    let end = engine
        .state()
        .ended_at
        .unwrap_or_else(|| runner.clock().now());
    print_summary(engine, &status, t0, end, runner.journal().path());
    verdict(engine, &status, expect.as_ref())
}

/// The drill's verdict, printed last, and the exit code it gives: with a scenario, 0 when the run
/// ended as the scenario expects (an expected abort included) and 1 when it did not; without
/// one, 0 when the runbook completed and 1 when it stopped.
pub(super) fn verdict(
    engine: &Engine,
    status: &RunStatus,
    expect: Option<&sim::scenario::Expectation>,
) -> ExitCode {
    if let RunStatus::Aborted(why) | RunStatus::Blocked(why) = status {
        say!("ABORTED: {why}");
    }
    // A rollback that was stopped left things half undone: that is no pass, whatever else.
    if let Some(RollbackEnd::Stopped { reason, .. }) = engine
        .state()
        .rollback
        .as_ref()
        .and_then(|r| r.ended.as_ref())
    {
        say!("ROLLBACK STOPPED: {reason}");
        if expect.is_some() {
            say!("scenario check: FAILED: the rollback did not finish");
        }
        return ExitCode::from(1);
    }
    match expect {
        Some(expect) => match check_expectation(engine, status, expect) {
            Ok(()) => {
                say!("scenario check: PASSED: the drill ended as the scenario expects");
                ExitCode::SUCCESS
            }
            Err(why) => {
                say!("scenario check: FAILED: not as the scenario expects: {why}");
                ExitCode::from(1)
            }
        },
        None if matches!(status, RunStatus::Finished) => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    }
}

pub(super) fn print_summary(
    engine: &Engine,
    status: &RunStatus,
    t0: DateTime<Utc>,
    end: DateTime<Utc>,
    journal: &Path,
) {
    let rb = engine.runbook();
    say!();
    say!(
        "{:<28} {:<14} {:>10} {:>10}",
        "STEP",
        "OUTCOME",
        "TOOK",
        "EXPECTED"
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
        let assumed = run.duration_source == Some(DurationSource::Assumed);
        let outcome = match run.state {
            StepState::Done if run.attempt > 1 => format!("done ({} tries)", run.attempt),
            StepState::Done if assumed => "done*".to_string(),
            s => s.name().to_string(),
        };
        say!(
            "{:<28} {:<14} {:>10} {:>10}",
            step.id,
            outcome,
            took,
            expected
        );
    }
    let untimed: Vec<&str> = rb
        .steps
        .iter()
        .zip(engine.steps())
        .filter(|(_, r)| r.duration_source == Some(DurationSource::Assumed))
        .map(|(s, _)| s.id.as_str())
        .collect();
    if !untimed.is_empty() {
        say!(
            "* not timed ({}): marked done in under a quarter of the expected time, or done by the unattended drill; the expected time stands in and the RTO estimate does not learn from it",
            untimed.join(", ")
        );
    }
    for (step, run) in rb.steps.iter().zip(engine.steps()) {
        if let Some(lost) = &run.data_lost {
            say!(
                "data lost with {} (step `{}`): {} (restored to {}; primary lost {})",
                lost.resource,
                step.id,
                Duration::from_secs(lost.seconds),
                lost.recovery_point_at.format("%Y-%m-%d %H:%M:%S UTC"),
                lost.lost_at.format("%Y-%m-%d %H:%M:%S UTC"),
            );
        }
    }
    let total = Duration::from_secs((end - t0).num_seconds().max(0) as u64);
    let target = rb.targets.rto;
    say!();
    let verdict = |took: Duration, target: Duration| if took <= target { "within" } else { "OVER" };
    let restored = engine
        .service_restored_at()
        .map(|at| Duration::from_secs((at - t0).num_seconds().max(0) as u64));
    match (status, rb.has_milestone(), restored) {
        (RunStatus::Finished, false, _) => say!(
            "recovered in {total} (simulated) against RTO target {target}: {} target",
            verdict(total, target)
        ),
        (RunStatus::Finished, true, _) => {
            say!("finished in {total} (simulated), failback included")
        }
        (_, false, _) => {
            say!("stopped after {total} (simulated); not recovered (RTO target {target})")
        }
        (_, true, _) => say!("stopped after {total} (simulated)"),
    }
    // The RTO clock stops at the step that restores the service; failback is timed apart.
    if rb.has_milestone() {
        let step = &rb.steps[rb.restored_by()].id;
        match restored {
            Some(at) => {
                say!(
                    "service restored at T+{at} (simulated, step `{step}`) against RTO target {target}: {} target",
                    verdict(at, target)
                );
                let failback = Duration::from_secs(total.as_secs().saturating_sub(at.as_secs()));
                match (status, rb.targets.failback) {
                    (RunStatus::Finished, Some(ft)) => say!(
                        "failback took {failback} against target {ft}: {} target",
                        verdict(failback, ft)
                    ),
                    (RunStatus::Finished, None) => say!("failback took {failback}"),
                    _ => say!("failback stopped after {failback}, not finished"),
                }
            }
            None => {
                say!("service not restored: step `{step}` was not done (RTO target {target})")
            }
        }
    }
    print_rollback(engine, t0);
    say!("journal: {}", journal.display());
}

/// The rollback, when there was one: each step undone (newest first), and how it ended.
fn print_rollback(engine: &Engine, t0: DateTime<Utc>) {
    let Some(r) = &engine.state().rollback else {
        return;
    };
    let since = |at: DateTime<Utc>| Duration::from_secs((at - t0).num_seconds().max(0) as u64);
    say!();
    say!(
        "rollback (newest first), began at T+{}:",
        since(r.started_at)
    );
    for &i in &r.order {
        let (step, rb) = (&engine.runbook().steps[i], &engine.steps()[i].rollback);
        let what = match rb {
            Some(rb) => match (rb.state, rb.started_at, rb.finished_at) {
                (StepState::Done, Some(s), Some(f)) => format!(
                    "rolled back at T+{} (took {})",
                    since(f),
                    Duration::from_secs((f - s).num_seconds().max(0) as u64)
                ),
                (StepState::Failed, ..) => {
                    format!("failed: {}", rb.error.as_deref().unwrap_or("?"))
                }
                (s, ..) => s.name().to_string(),
            },
            None => "not reached".to_string(),
        };
        say!("  {:<28} {what}", step.id);
    }
    match &r.ended {
        Some(RollbackEnd::Finished(at)) => say!(
            "rollback finished at T+{}, in {}",
            since(*at),
            Duration::from_secs((*at - r.started_at).num_seconds().max(0) as u64)
        ),
        Some(RollbackEnd::Stopped { at, reason }) => {
            say!("rollback stopped at T+{}: {reason}", since(*at))
        }
        None => say!("rollback not finished"),
    }
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
