//! Performs the engine's effects against the journal and a backend and feeds the answers back,
//! until the run ends. Used by unattended drills; the console will drive the same loop with an
//! operator in place of the auto-confirming gates.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use super::clock::VirtualClock;
use crate::audit::{Journal, Record};
use crate::cloud::{observe_all, Mutate, Observe};
use crate::engine::{Effect, Engine, GateDecision, Input, RunStatus};
use crate::runbook::{Duration, StepBody};

/// How long an unattended drill takes for a manual step without `expect_duration`.
pub const MANUAL_STEP_DEFAULT: Duration = Duration::from_mins(5);

/// Hooks for what happens along the way (progress lines, crash injection in tests).
pub trait Observer {
    fn recorded(&mut self, record: &Record);
    fn refused(&mut self, message: &str);
}

/// Runs the engine until the run ends, confirming gates and finishing manual steps itself.
pub struct Unattended<'a, B> {
    pub engine: &'a mut Engine,
    pub journal: &'a mut Journal,
    pub backend: &'a B,
    pub clock: &'a mut VirtualClock,
    pub observer: &'a mut dyn Observer,
    /// How often to observe every resource (changes are journaled as status snapshots).
    pub status_every: Option<TimeDelta>,
}

impl<B: Observe + Mutate> Unattended<'_, B> {
    /// Drives the run from `first` (Start or Resume) to its end.
    pub async fn run(self, first: Input) -> RunStatus {
        let Unattended {
            engine,
            journal,
            backend,
            clock,
            observer,
            status_every,
        } = self;
        let mut inputs: VecDeque<Input> = VecDeque::from([first]);
        let mut timers: BTreeMap<DateTime<Utc>, Vec<Input>> = BTreeMap::new();
        let mut next_status = status_every.map(|_| clock.now());
        loop {
            if let (Some(due), Some(every)) = (next_status, status_every) {
                if clock.now() >= due && matches!(engine.status(), RunStatus::Running) {
                    // One observation per resource per round, never two in flight.
                    let resources = engine.runbook().resources.values().cloned().collect();
                    for (resource, status) in observe_all(backend, resources, clock.now()).await {
                        inputs.push_back(Input::Observed { resource, status });
                    }
                    next_status = Some(clock.now() + every);
                }
            }
            while let Some(input) = inputs.pop_front() {
                let now = clock.now();
                for effect in engine.handle(input, now) {
                    perform(
                        effect,
                        engine,
                        journal,
                        backend,
                        now,
                        observer,
                        &mut inputs,
                        &mut timers,
                        Operator::Unattended,
                    )
                    .await;
                }
            }
            match engine.status().clone() {
                RunStatus::Finished | RunStatus::Aborted(_) => return engine.status().clone(),
                RunStatus::Blocked(why) => {
                    inputs.push_back(Input::Abort {
                        reason: format!("unattended drill stopped: {why}"),
                    });
                    continue;
                }
                RunStatus::NotStarted | RunStatus::Running => {}
            }
            let next_timer = timers.keys().next().copied();
            let wake = [engine.next_wake(), next_timer].into_iter().flatten().min();
            let Some(wake) = wake else {
                inputs.push_back(Input::Abort {
                    reason: "unattended drill stopped: nothing left to wait for (this is a bug in pilotlight)".into(),
                });
                continue;
            };
            // Status rounds happen while waiting, but never keep an idle run alive.
            let wake = next_status.map_or(wake, |s| s.min(wake).max(clock.now()));
            clock.advance_to(wake).await;
            let due: Vec<DateTime<Utc>> = timers.range(..=clock.now()).map(|(t, _)| *t).collect();
            for t in due {
                inputs.extend(timers.remove(&t).unwrap_or_default());
            }
            inputs.push_back(Input::Tick);
        }
    }
}

/// Who answers gates and finishes manual steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `drill --unattended`: the drill confirms gates itself, people take their expected time.
    Unattended,
    /// A person at the console: gates and manual steps wait for them.
    Person,
}

/// Performs one effect; answers come back as inputs (now, or at a timer's time).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn perform<B: Observe + Mutate>(
    effect: Effect,
    engine: &Engine,
    journal: &mut Journal,
    backend: &B,
    now: DateTime<Utc>,
    observer: &mut dyn Observer,
    inputs: &mut VecDeque<Input>,
    timers: &mut BTreeMap<DateTime<Utc>, Vec<Input>>,
    operator: Operator,
) {
    let runbook = engine.runbook();
    match effect {
        Effect::ShowGate { .. } | Effect::AwaitOperator { .. } if operator == Operator::Person => {}
        Effect::Record(entry) => match journal.append(&entry) {
            Ok(record) => {
                observer.recorded(&record);
                inputs.push_back(Input::Recorded);
            }
            Err(e) => inputs.push_back(Input::JournalFailed(e.to_string())),
        },
        Effect::ShowGate { step } => {
            // What the cloud says the change would do goes into the record of the approval.
            if let Some(plan) = engine.next_plan().filter(|p| p.step == step) {
                if let Some(preview) = backend.preview(&plan).await {
                    inputs.push_back(Input::LivePreview {
                        step: step.clone(),
                        attempt: plan.attempt,
                        preview,
                    });
                }
            }
            let typed = runbook
                .step(&step)
                .and_then(|s| s.gate.as_ref())
                .and_then(|g| g.typed.clone());
            inputs.push_back(Input::Gate(GateDecision {
                approve: true,
                typed,
                reason: Some("unattended drill".into()),
                unattended: true,
            }));
        }
        Effect::AwaitOperator { step } => {
            // In a drill the team takes the step's expected time to do it.
            let takes = runbook
                .step(&step)
                .and_then(|s| s.expect_duration)
                .unwrap_or(MANUAL_STEP_DEFAULT);
            let at = now + TimeDelta::seconds(takes.as_secs() as i64);
            timers.entry(at).or_default().push(Input::ManualDone);
        }
        Effect::Observe { resource } => {
            let status = match runbook.resources.get(&resource) {
                Some(res) => backend.observe(res, now).await,
                None => Err(crate::cloud::model::CloudError::NotFound(resource.clone())),
            };
            inputs.push_back(Input::Observed { resource, status });
        }
        Effect::Mutate { plan, approval } => {
            let result = backend.start(&plan, &approval, now).await;
            inputs.push_back(Input::Started {
                step: plan.step.clone(),
                attempt: plan.attempt,
                result,
            });
        }
        Effect::Poll { plan } => {
            let result = backend.poll(&plan, now).await;
            inputs.push_back(Input::Progress {
                step: plan.step.clone(),
                attempt: plan.attempt,
                result,
            });
        }
        Effect::Reconcile { plan } => {
            let result = backend.reconcile(&plan, now).await;
            inputs.push_back(Input::Reconciled {
                step: plan.step.clone(),
                attempt: plan.attempt,
                result,
            });
        }
        Effect::RunCommand {
            step,
            attempt,
            command,
            ..
        } => {
            if journal.mode() == crate::audit::Mode::Live {
                let limit = runbook
                    .step(&step)
                    .and_then(|s| s.timeout)
                    .unwrap_or(COMMAND_TIMEOUT);
                let result = run_command(&command, limit).await;
                return inputs.push_back(Input::CommandDone {
                    step,
                    attempt,
                    result,
                });
            }
            // A drill never runs commands (they could reach real systems); it pretends they
            // succeed after the step's expected time.
            let _ = command;
            let Some(s) = runbook
                .step(&step)
                .filter(|s| matches!(s.body, StepBody::Command { .. }))
            else {
                let result = Err(format!("step `{step}` is not a command"));
                return inputs.push_back(Input::CommandDone {
                    step,
                    attempt,
                    result,
                });
            };
            let takes = s.expect_duration.unwrap_or_default();
            let at = now + TimeDelta::seconds(takes.as_secs() as i64);
            let result = Ok((0, format!("drill-{step}")));
            timers.entry(at).or_default().push(Input::CommandDone {
                step,
                attempt,
                result,
            });
        }
        Effect::Refused(message) => observer.refused(&message),
        Effect::Finished(_) => {}
    }
}

/// How long a live command may run when its step sets no `timeout`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_mins(10);

/// Runs a live step's command with `sh -c`, its output captured (at most 64 KiB kept), killed
/// when it outlives `limit`.
async fn run_command(command: &str, limit: Duration) -> Result<(i32, String), String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `sh -c`: {e}"))?;
    let wait = std::time::Duration::from_secs(limit.as_secs());
    match tokio::time::timeout(wait, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "the command ran longer than {limit} and was stopped"
        )),
        Ok(Err(e)) => Err(format!("the command failed to run: {e}")),
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.len() > 64 * 1024 {
                let mut cut = 64 * 1024;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            Ok((out.status.code().unwrap_or(-1), text))
        }
    }
}
