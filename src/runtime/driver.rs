//! Performs the engine's effects against the journal and a backend and feeds the answers back,
//! until the run ends. Unattended drills wait for each answer in turn; the console's session
//! (`session.rs`) performs the same effects but keeps calls and commands in flight while it goes
//! on serving the operator.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, TimeDelta, Utc};

use super::clock::VirtualClock;
use crate::audit::{Journal, Record};
use crate::cloud::{observe_all, Mutate, Observe};
use crate::engine::{Effect, Engine, GateDecision, Input, RunStatus};
use crate::runbook::{Duration, StepBody};

/// An answer on its way from the cloud or a command. The console's session keeps the screen and
/// the operator's keys going while it comes; the unattended driver simply waits for it.
pub(crate) type Pending<'a> = Pin<Box<dyn Future<Output = Input> + Send + 'a>>;

/// An answer on its way, and whether it answers a change request: that answer says what the
/// change made, so it must reach the journal whatever else happens (even the console closing).
pub(crate) struct Slow<'a> {
    pub answer: Pending<'a>,
    pub change: bool,
}

fn slow<'a>(change: bool, answer: impl Future<Output = Input> + Send + 'a) -> Slow<'a> {
    Slow {
        answer: Box::pin(answer),
        change,
    }
}

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
                    let mut slow = Vec::new();
                    perform(
                        effect,
                        engine,
                        journal,
                        backend,
                        now,
                        observer,
                        &mut inputs,
                        &mut timers,
                        &mut slow,
                        Operator::Unattended,
                    )
                    .await;
                    for s in slow {
                        inputs.push_back(s.answer.await);
                    }
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

/// Performs one effect; answers come back as inputs (now, or at a timer's time), or, for calls
/// to the cloud and commands, as `slow` answers for the caller to wait for.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn perform<'a, B: Observe + Mutate>(
    effect: Effect,
    engine: &Engine,
    journal: &mut Journal,
    backend: &'a B,
    now: DateTime<Utc>,
    observer: &mut dyn Observer,
    inputs: &mut VecDeque<Input>,
    timers: &mut BTreeMap<DateTime<Utc>, Vec<Input>>,
    slow: &mut Vec<Slow<'a>>,
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
            let Some(res) = runbook.resources.get(&resource).cloned() else {
                let status = Err(crate::model::CloudError::NotFound(resource.clone()));
                return inputs.push_back(Input::Observed { resource, status });
            };
            slow.push(self::slow(false, async move {
                let status = backend.observe(&res, now).await;
                Input::Observed { resource, status }
            }));
        }
        Effect::Mutate { plan, approval } => slow.push(self::slow(true, async move {
            let result = backend.start(&plan, &approval, now).await;
            Input::Started {
                step: plan.step,
                attempt: plan.attempt,
                result,
            }
        })),
        Effect::Poll { plan } => slow.push(self::slow(false, async move {
            let result = backend.poll(&plan, now).await;
            Input::Progress {
                step: plan.step,
                attempt: plan.attempt,
                result,
            }
        })),
        Effect::Reconcile { plan } => slow.push(self::slow(true, async move {
            let result = backend.reconcile(&plan, now).await;
            Input::Reconciled {
                step: plan.step,
                attempt: plan.attempt,
                result,
            }
        })),
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
                // A command is stopped (killed) when the console closes, not waited for.
                return slow.push(self::slow(false, async move {
                    let result = run_command(&command, limit).await;
                    Input::CommandDone {
                        step,
                        attempt,
                        result,
                    }
                }));
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

/// Runs a live step's command with `sh -c` in a process group of its own, its standard output
/// captured (at most 64 KiB kept). When it outlives `limit`, or the run stops
/// waiting for it (the console closed), the whole group is killed: nothing it started is left
/// running.
async fn run_command(command: &str, limit: Duration) -> Result<(i32, String), String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `sh -c`: {e}"))?;
    let mut group = Group(child.id());
    let wait = std::time::Duration::from_secs(limit.as_secs());
    match tokio::time::timeout(wait, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "the command ran longer than {limit} and was stopped, with everything it started"
        )),
        Ok(Err(e)) => Err(format!("the command failed to run: {e}")),
        Ok(Ok(out)) => {
            group.0 = None;
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

/// A running command's process group, killed when dropped before the command finished.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // The group may already be gone; there is nothing else to do about it here.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
