//! A console session (`runtime::session::Interactive`) for tests, and what they check it with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use pilotlight::audit::{Journal, Mode, Record};
use pilotlight::cloud::{Change, Gated, Mutate, Observe};
use pilotlight::engine::objectives::estimate_rto;
use pilotlight::engine::{Engine, GateDecision, Input, RunStatus, StepState};
use pilotlight::runbook::Runbook;
use pilotlight::runtime::clock::PacedClock;
use pilotlight::runtime::runner::{Operator, Runner};
use pilotlight::runtime::session::{Command, ConsoleLog, Interactive};
use pilotlight::runtime::view::{RunView, ViewMode};
use tokio::sync::{mpsc, watch};

use super::t0;

/// The journal's records, verified, with no torn tail.
pub fn records(path: &Path) -> Vec<Record> {
    let verified = pilotlight::audit::verify(&std::fs::read(path).unwrap()).expect("verifies");
    assert!(verified.torn_tail.is_none());
    verified.records
}

/// The console's session over `backend`, journaling to `dir/run.jsonl` in `mode`, its first
/// view, and the journal's path. `speed` as `PacedClock` takes it.
pub fn console<B: Observe + Change + Send + Sync + 'static>(
    rb: &Arc<Runbook>,
    dir: &Path,
    mode: Mode,
    backend: B,
    speed: Option<f64>,
) -> (Interactive<Gated<B>>, RunView, PathBuf) {
    let path = dir.join("run.jsonl");
    let journal = Journal::create(&path, "ana", &rb.id, mode).unwrap();
    let estimate = estimate_rto(rb, &BTreeMap::new());
    let view_mode = match mode {
        Mode::Live => ViewMode::Live,
        _ => ViewMode::Drill,
    };
    let view = RunView::new(rb.clone(), view_mode, "ana", "sim", estimate.clone(), t0());
    let engine = Engine::new(rb.clone(), "in-flight-test");
    let clock = PacedClock::new(t0(), speed);
    let session = session_over(engine, journal, Gated(backend), clock, &view);
    (session, view, path)
}

/// The console's session of `engine`, journaling to `journal`, over `backend` as it is (wrap
/// it in `Gated` to have approvals checked, or `ReadOnly`), starting the run; status rounds
/// every minute.
pub fn session_over<B: Observe + Mutate + Send + Sync + 'static>(
    engine: Engine,
    journal: Journal,
    backend: B,
    clock: PacedClock,
    view: &RunView,
) -> Interactive<B> {
    let runner = Runner::new(
        engine,
        journal,
        Arc::new(backend),
        clock,
        ConsoleLog::default(),
        Operator::Person,
        Input::Start,
    )
    .observe_every(TimeDelta::minutes(1));
    Interactive {
        runner,
        estimate: view.estimate.clone(),
        view: view.clone(),
    }
}

/// Waits (at most 20 s) until the session publishes a view for which `pred` holds.
pub async fn until(
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

pub fn step_state(v: &RunView) -> Option<StepState> {
    v.steps.get(v.current).map(|s| s.state)
}

/// The operator passes a confirm gate.
pub fn confirmed() -> GateDecision {
    GateDecision {
        approve: true,
        typed: None,
        reason: None,
        unattended: false,
    }
}

/// How a test's runtime keeps time.
pub enum Time {
    /// Paused: a timer fires as soon as every task is idle, so nothing waits for real.
    Paused,
    /// Real: child processes are not something paused time can skip over.
    Real,
}

/// Runs the session from the start with `script` as the operator until both end; not within
/// `limit` (of the runtime's time) fails the test.
pub fn drive<B: Observe + Change + Send + Sync + 'static, T>(
    session: Interactive<Gated<B>>,
    commands: mpsc::Receiver<Command>,
    views: watch::Sender<Arc<RunView>>,
    script: impl std::future::Future<Output = T>,
    time: Time,
    limit: Duration,
) -> (RunStatus, T) {
    let rt = match time {
        Time::Paused => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build(),
        Time::Real => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
    }
    .unwrap();
    let ((status, _), out) = rt.block_on(async {
        tokio::time::timeout(limit, async {
            tokio::join!(session.run(commands, views), script)
        })
        .await
        .expect("the session and its operator ended in time")
    });
    (status, out)
}
