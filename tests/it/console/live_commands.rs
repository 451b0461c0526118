//! Command steps in a live run really run (`sh -c`), and the console stays with the operator
//! while they do: the session keeps taking keys, an abort stops the command and everything it
//! started, and a command that outlives its step's timeout is killed with its whole process
//! group, its own answer (not the step's timer) saying so. The cloud here is the simulated
//! world (commands do not touch it); the journal is a live one, which is what makes the runtime
//! run commands at all.
//!
//! These tests run on a real-time runtime: a child process is not something paused time can
//! skip over. They never sleep to wait; they wait for the session's published views, the end
//! of the run, or a killed process to be gone, each bounded.

use crate::common::engine::{RealCommands, Seen};
use crate::common::session::{confirmed, console, drive, records, step_state, until, Time};
use crate::common::{t0, temp_dir};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pilotlight::audit::{EventKind, Journal, Mode};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::engine::{Engine, Input, RunStatus, StepState};
use pilotlight::runbook::Runbook;
use pilotlight::runtime::session::Command;
use pilotlight::runtime::unattended::run_to_end;
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

fn unattended(rb: &Arc<Runbook>, dir: &Path) -> (RunStatus, PathBuf) {
    let path = dir.join("run.jsonl");
    let journal = Journal::create(&path, "ana", &rb.id, Mode::Live).unwrap();
    let world = SimWorld::new(rb.clone(), sim::default_for(rb), t0());
    let engine = Engine::new(rb.clone(), "live-commands-test");
    let mut runner = crate::common::engine::unattended(
        engine,
        journal,
        RealCommands(world),
        t0(),
        Seen::default(),
        Input::Start,
        None,
    );
    let status = real_runtime().block_on(run_to_end(&mut runner));
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
        .filter(|r| r.kind() == EventKind::Outcome)
        .collect();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].event.detail().unwrap()["exit_code"], 0);
    assert_eq!(done[0].event.detail().unwrap()["stdout"], "restored 42");
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
        .filter(|r| r.kind() == EventKind::Outcome)
        .collect();
    let error = failed[0].event.detail().unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("ran longer than 1s"), "{error}");
    // The background `sleep` was in the command's process group: it is gone too.
    let child = pid_in(&pidfile);
    assert!(
        ends_within(child, Duration::from_secs(10)),
        "pid {child} outlived its command"
    );
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
    let (session, view, path) = console(&rb, &dir, Mode::Live, RealCommands(world), Some(1.0));
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
    let (status, started) = drive(
        session,
        cmd_rx,
        views_tx,
        script,
        Time::Real,
        Duration::from_secs(60),
    );
    // The abort was taken while the 10-minute command ran, not after it.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, RunStatus::Aborted("wrong runbook".into()));
    let recs = records(&path);
    assert_eq!(recs.last().unwrap().kind(), EventKind::RunAborted);
    let child = pid_in(&pidfile);
    assert!(
        ends_within(child, Duration::from_secs(10)),
        "pid {child} outlived the aborted run"
    );
}

#[test]
fn in_the_console_a_command_past_its_timeout_is_judged_by_its_own_answer() {
    let dir = temp_dir("live-command-console-timeout");
    let rb = runbook("sleep 600", "1s");
    let world = SimWorld::new(rb.clone(), sim::default_for(&rb), t0());
    let (session, view, path) = console(&rb, &dir, Mode::Live, RealCommands(world), Some(1.0));
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
    let (status, ()) = drive(
        session,
        cmd_rx,
        views_tx,
        script,
        Time::Real,
        Duration::from_secs(60),
    );
    assert_eq!(status, RunStatus::Aborted("the command hangs".into()));
    // The step's timeout was not judged while the command ran: the command's own answer (it
    // was stopped) is in the journal, not "possibly still under way".
    let recs = records(&path);
    let outcome: Vec<_> = recs
        .iter()
        .filter(|r| r.kind() == EventKind::Outcome)
        .collect();
    assert_eq!(outcome.len(), 1, "{recs:?}");
    let error = outcome[0].event.detail().unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("ran longer than 1s"), "{error}");
}
