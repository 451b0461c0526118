//! The console keeps serving the operator while something is in flight. Command steps in a
//! live run really run (`sh -c`) while the session keeps taking keys: an abort stops the command
//! and everything it started, and a command that outlives its step's timeout is killed with its
//! whole process group. A gate whose live preview never answers (a black-holed region) can still
//! be decided. The cloud here is the simulated world; the journal is a live one, which is what
//! makes the runtime run commands at all.
//!
//! The command tests run on a real-time runtime: a child process is not something paused time
//! can skip over. They never sleep to wait; they wait for the session's published views, the end
//! of the run, or a killed process to be gone, each bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod common;

use common::engine::Seen;
use common::{t0, temp_dir};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use pilotlight::audit::{Event, Journal, Mode, Record};
use pilotlight::cloud::model::{CloudError, Progress, ResourceStatus, Started};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::cloud::{Mutate, Observe};
use pilotlight::engine::objectives::estimate_rto;
use pilotlight::engine::{ActionPlan, Approval, Engine, GateDecision, Input, RunStatus, StepState};
use pilotlight::runbook::{Resource, Runbook};
use pilotlight::runtime::clock::{Speed, VirtualClock};
use pilotlight::runtime::driver::Unattended;
use pilotlight::runtime::session::{Command, Interactive, PacedClock};
use pilotlight::runtime::view::{RunView, ViewMode};
use tokio::sync::{mpsc, watch};

fn runbook(run: &str, timeout: &str) -> Arc<Runbook> {
    let yaml = format!(
        r#"
runbook: live-commands
title: Commands in a live run
targets: {{ rto: 1h }}
resources:
  db: {{ kind: rds-instance, region: us-east-1, id: orders-prod }}
steps:
  - id: script
    kind: command
    run: '{run}'
    timeout: {timeout}
    gate: {{ confirm: true }}
"#
    );
    Arc::new(pilotlight::runbook::parse(yaml.as_bytes()).unwrap())
}

fn real_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn records(path: &Path) -> Vec<Record> {
    let verified = pilotlight::audit::verify(&std::fs::read(path).unwrap()).expect("verifies");
    assert!(verified.torn_tail.is_none());
    verified.records
}

/// Whether `pid` has ended (gone, or a zombie nobody has reaped yet).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// Waits, at most `limit`, for `pid` to end; SIGKILL is delivered asynchronously.
fn ends_within(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ended(pid) {
            return true;
        }
        std::thread::yield_now();
    }
    ended(pid)
}

/// The pid a command wrote to `file` (the background child it started).
fn pid_in(file: &Path) -> i32 {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .trim()
        .parse()
        .unwrap()
}

/// The console's session over `backend`, journaling to `dir/run.jsonl` in `mode`, its first
/// view, and the journal's path. `speed` as `PacedClock` takes it.
fn console<B>(
    rb: &Arc<Runbook>,
    dir: &Path,
    mode: Mode,
    backend: B,
    speed: Option<f64>,
) -> (Interactive<B>, RunView, PathBuf) {
    let path = dir.join("run.jsonl");
    let journal = Journal::create(&path, "ana", &rb.id, mode).unwrap();
    let estimate = estimate_rto(rb, &BTreeMap::new());
    let view_mode = match mode {
        Mode::Live => ViewMode::Live,
        _ => ViewMode::Drill,
    };
    let view = RunView::new(rb.clone(), view_mode, "ana", "sim", estimate.clone(), t0());
    let session = Interactive {
        engine: Engine::new(rb.clone(), "in-flight-test"),
        journal,
        backend,
        clock: PacedClock::new(t0(), speed),
        estimate,
        view: view.clone(),
        status_every: TimeDelta::minutes(1),
    };
    (session, view, path)
}

fn unattended(rb: &Arc<Runbook>, dir: &Path) -> (RunStatus, PathBuf) {
    let path = dir.join("run.jsonl");
    let mut journal = Journal::create(&path, "ana", &rb.id, Mode::Live).unwrap();
    let world = SimWorld::new(rb.clone(), sim::default_for(rb), t0());
    let mut engine = Engine::new(rb.clone(), "live-commands-test");
    let mut clock = VirtualClock::new(t0(), Speed::Max);
    let mut seen = Seen::default();
    let status = real_runtime().block_on(
        Unattended {
            engine: &mut engine,
            journal: &mut journal,
            backend: &world,
            clock: &mut clock,
            observer: &mut seen,
            status_every: None,
        }
        .run(Input::Start),
    );
    (status, path)
}

#[test]
fn a_live_command_runs_and_its_output_becomes_the_step_outputs() {
    let dir = temp_dir("live-command-ok");
    let rb = runbook("echo restored $((40 + 2)); echo noise >&2", "1m");
    let (status, path) = unattended(&rb, &dir);
    assert_eq!(status, RunStatus::Finished);
    let done: Vec<_> = records(&path)
        .into_iter()
        .filter(|r| r.event == Event::Outcome)
        .collect();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].detail["exit_code"], 0);
    assert_eq!(done[0].detail["stdout"], "restored 42");
}

#[test]
fn a_command_past_its_timeout_is_killed_with_everything_it_started() {
    let dir = temp_dir("live-command-timeout");
    let pidfile = dir.join("child.pid");
    let rb = runbook(
        &format!("sleep 600 & echo $! > {}; wait", pidfile.display()),
        "1s",
    );
    let t = Instant::now();
    let (status, path) = unattended(&rb, &dir);
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    // The unattended driver stops at the failed step.
    assert!(matches!(status, RunStatus::Aborted(_)), "{status:?}");
    let failed: Vec<_> = records(&path)
        .into_iter()
        .filter(|r| r.event == Event::Outcome)
        .collect();
    let error = failed[0].detail["error"].as_str().unwrap();
    assert!(error.contains("ran longer than 1s"), "{error}");
    // The background `sleep` was in the command's process group: it is gone too.
    let child = pid_in(&pidfile);
    assert!(
        ends_within(child, Duration::from_secs(10)),
        "pid {child} outlived its command"
    );
}

/// Waits (at most 20 s) until the session publishes a view for which `pred` holds.
async fn until(
    views: &mut watch::Receiver<Arc<RunView>>,
    what: &str,
    pred: impl Fn(&RunView) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if pred(&views.borrow_and_update()) {
                return;
            }
            if views.changed().await.is_err() {
                panic!("the session ended before {what}");
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never saw {what}"));
}

fn step_state(v: &RunView) -> Option<StepState> {
    v.steps.get(v.current).map(|s| s.state)
}

#[test]
fn the_console_takes_an_abort_while_a_command_runs_and_stops_it() {
    let dir = temp_dir("live-command-abort");
    let pidfile = dir.join("child.pid");
    let rb = runbook(
        &format!("sleep 600 & echo $! > {}; wait", pidfile.display()),
        "10m",
    );
    let world = SimWorld::new(rb.clone(), sim::default_for(&rb), t0());
    let (session, view, path) = console(&rb, &dir, Mode::Live, world, Some(1.0));
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let (views_tx, mut views_rx) = watch::channel(Arc::new(view));
    let pid_written = pidfile.clone();
    let script = async move {
        until(&mut views_rx, "the gate", |v| {
            step_state(v) == Some(StepState::AwaitingGate)
        })
        .await;
        cmd_tx.send(Command::Gate(confirmed())).await.unwrap();
        until(&mut views_rx, "the command running", |v| {
            step_state(v) == Some(StepState::Running)
        })
        .await;
        // The command has started its child once the pid is in the file.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::read_to_string(&pid_written).map_or(true, |s| !s.ends_with('\n')) {
            assert!(Instant::now() < deadline, "the command never started");
            tokio::task::yield_now().await;
        }
        let started = Instant::now();
        cmd_tx
            .send(Command::Abort("wrong runbook".into()))
            .await
            .unwrap();
        started
    };
    let rt = real_runtime();
    let ((status, _), started) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(session.run(Input::Start, cmd_rx, views_tx), script)
        })
        .await
        .expect("the session ended")
    });
    // The abort was taken while the 10-minute command ran, not after it.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, RunStatus::Aborted("wrong runbook".into()));
    let recs = records(&path);
    assert_eq!(recs.last().unwrap().event, Event::RunAborted);
    let child = pid_in(&pidfile);
    assert!(
        ends_within(child, Duration::from_secs(10)),
        "pid {child} outlived the aborted run"
    );
}

/// One Global Accelerator cutover behind a confirm gate, then `more` steps.
fn dial_runbook(more: &str) -> Arc<Runbook> {
    let yaml = format!(
        r#"
runbook: dial
title: One cutover
targets: {{ rto: 1h }}
resources:
  edge: {{ kind: global-accelerator, arn: "arn:aws:globalaccelerator::111122223333:accelerator/1234" }}
steps:
  - id: dial
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: {{ endpoint_group_region: us-west-2, dial: 100 }}
    gate: {{ confirm: true }}
{more}"#
    );
    Arc::new(pilotlight::runbook::parse(yaml.as_bytes()).unwrap())
}

fn confirmed() -> GateDecision {
    GateDecision {
        approve: true,
        typed: None,
        reason: None,
        unattended: false,
    }
}

/// The simulated world, but a cutover's live preview never answers (its region is dark).
struct DarkPreview(SimWorld);

impl Observe for DarkPreview {
    async fn observe(
        &self,
        resource: &Resource,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        self.0.observe(resource, now).await
    }
}

impl Mutate for DarkPreview {
    async fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Started, CloudError> {
        self.0.start(plan, approval, now).await
    }

    async fn poll(
        &self,
        plan: &ActionPlan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Progress, CloudError> {
        self.0.poll(plan, now).await
    }

    async fn preview(&self, _: &ActionPlan) -> Option<String> {
        std::future::pending().await
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Started>, CloudError> {
        self.0.reconcile(plan, now).await
    }
}

#[test]
fn a_gate_whose_live_preview_never_answers_can_still_be_decided() {
    let rb = dial_runbook("");
    let world = DarkPreview(SimWorld::new(rb.clone(), sim::default_for(&rb), t0()));
    let (session, view, path) = console(&rb, &temp_dir("dark-preview"), Mode::Drill, world, None);
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let (views_tx, mut views_rx) = watch::channel(Arc::new(view));
    let script = async move {
        loop {
            let v = views_rx.borrow_and_update().clone();
            if v.steps.first().map(|s| s.state) == Some(StepState::AwaitingGate) {
                // The engine's own preview is there; the cloud's before -> after is not.
                let shown = v.preview.clone().unwrap_or_default();
                assert!(
                    shown.contains("globalaccelerator:UpdateEndpointGroup"),
                    "{shown}"
                );
                assert!(!shown.contains("->"), "{shown}");
                break;
            }
            views_rx.changed().await.unwrap();
        }
        cmd_tx.send(Command::Gate(confirmed())).await.unwrap();
        // Keep the console open until the run ends.
        while views_rx.changed().await.is_ok() {}
        drop(cmd_tx);
    };
    // Paused time: a day without the run ending fails at once, without waiting a day.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let ((status, _), ()) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(86_400), async {
            tokio::join!(session.run(Input::Start, cmd_rx, views_tx), script)
        })
        .await
        .expect("the gate was decided and the run ended")
    });
    assert_eq!(status, RunStatus::Finished);
    let approved: Vec<_> = records(&path)
        .into_iter()
        .filter(|r| r.event == Event::GateApproved)
        .collect();
    assert_eq!(approved.len(), 1);
    assert!(approved[0].detail.get("seen").is_none(), "nothing was seen");
}

/// The simulated world, but a change request answers only when the test lets it.
struct HeldChange {
    world: SimWorld,
    release: Arc<tokio::sync::Notify>,
}

impl Observe for HeldChange {
    async fn observe(
        &self,
        resource: &Resource,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        self.world.observe(resource, now).await
    }
}

impl Mutate for HeldChange {
    async fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Started, CloudError> {
        self.release.notified().await;
        self.world.start(plan, approval, now).await
    }

    async fn poll(
        &self,
        plan: &ActionPlan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Progress, CloudError> {
        self.world.poll(plan, now).await
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Started>, CloudError> {
        self.world.reconcile(plan, now).await
    }
}

#[test]
fn closing_the_console_with_a_change_in_flight_journals_its_answer_first() {
    let rb = dial_runbook("  - id: after\n    kind: manual\n");
    let release = Arc::new(tokio::sync::Notify::new());
    let backend = HeldChange {
        world: SimWorld::new(rb.clone(), sim::default_for(&rb), t0()),
        release: release.clone(),
    };
    let dir = temp_dir("held-change");
    let (session, view, path) = console(&rb, &dir, Mode::Drill, backend, None);
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let (views_tx, mut views_rx) = watch::channel(Arc::new(view));
    let script = async move {
        let state = |v: &RunView| v.steps.first().map(|s| s.state);
        while state(&views_rx.borrow_and_update()) != Some(StepState::AwaitingGate) {
            views_rx.changed().await.unwrap();
        }
        cmd_tx.send(Command::Gate(confirmed())).await.unwrap();
        while state(&views_rx.borrow_and_update()) != Some(StepState::Running) {
            views_rx.changed().await.unwrap();
        }
        // An abort is refused while the request is out...
        cmd_tx
            .send(Command::Abort("changed my mind".into()))
            .await
            .unwrap();
        while views_rx.borrow_and_update().notice.is_none() {
            views_rx.changed().await.unwrap();
        }
        let notice = views_rx.borrow().notice.clone().unwrap();
        assert!(notice.contains("in flight"), "{notice}");
        // ... and the operator closes the console; the answer comes after that.
        drop(cmd_tx);
        // Paused time moves on only once every task is idle: the session has gone as far as
        // it can without the answer (no real waiting).
        tokio::time::sleep(Duration::from_secs(3600)).await;
        release.notify_one();
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let ((status, _), ()) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(86_400), async {
            tokio::join!(session.run(Input::Start, cmd_rx, views_tx), script)
        })
        .await
        .expect("the session ended")
    });
    assert_eq!(status, RunStatus::Running, "paused, resumable");
    let recs = records(&path);
    let events: Vec<Event> = recs.iter().map(|r| r.event).collect();
    let outcome = events.iter().position(|e| *e == Event::Outcome);
    let paused = events.iter().position(|e| *e == Event::RunPaused);
    assert!(
        outcome.is_some() && outcome < paused,
        "the answer is journaled before the pause: {events:?}"
    );
    assert_eq!(recs[outcome.unwrap()].detail["ok"], true);
}

#[test]
fn in_the_console_a_command_past_its_timeout_is_judged_by_its_own_answer() {
    let dir = temp_dir("live-command-console-timeout");
    let rb = runbook("sleep 600", "1s");
    let world = SimWorld::new(rb.clone(), sim::default_for(&rb), t0());
    let (session, view, path) = console(&rb, &dir, Mode::Live, world, Some(1.0));
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let (views_tx, mut views_rx) = watch::channel(Arc::new(view));
    let script = async move {
        until(&mut views_rx, "the gate", |v| {
            step_state(v) == Some(StepState::AwaitingGate)
        })
        .await;
        cmd_tx.send(Command::Gate(confirmed())).await.unwrap();
        until(&mut views_rx, "the step failing", |v| {
            step_state(v) == Some(StepState::Failed)
        })
        .await;
        cmd_tx
            .send(Command::Abort("the command hangs".into()))
            .await
            .unwrap();
    };
    let rt = real_runtime();
    let ((status, _), ()) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(session.run(Input::Start, cmd_rx, views_tx), script)
        })
        .await
        .expect("the session ended")
    });
    assert_eq!(status, RunStatus::Aborted("the command hangs".into()));
    // The step's timeout was not judged while the command ran: the command's own answer (it
    // was stopped) is in the journal, not "possibly still under way".
    let recs = records(&path);
    let outcome: Vec<_> = recs.iter().filter(|r| r.event == Event::Outcome).collect();
    assert_eq!(outcome.len(), 1, "{recs:?}");
    let error = outcome[0].detail["error"].as_str().unwrap();
    assert!(error.contains("ran longer than 1s"), "{error}");
}
