//! Scripted drills through the console's real session loop (`runtime::session::Interactive`)
//! against the simulated world, run until idle on a tokio runtime with paused time (no sleeps):
//! gate decisions (a wrong typed phrase and a missing reason are refused), manual done, skip,
//! retry and abort with reasons, all checked in the published views and in the journal. Then
//! the console's key handling (`App::on_key`): gates never start on Proceed, Esc cancels, typed
//! phrases must match, and a read-only console makes no command whatever key is pressed.

use crate::common::detail;

use crate::common::session::session_over;
use crate::common::{load_runbook, t0, temp_dir};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::TimeDelta;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pilotlight::audit::{verify, EventKind, Journal, Mode, Record};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::cloud::{Gated, Mutate, ReadOnly};
use pilotlight::engine::objectives::estimate_rto;
use pilotlight::engine::{Engine, GateDecision, RunStatus, StepState};
use pilotlight::model::CloudError;
use pilotlight::runbook::ReasonPolicy;
use pilotlight::runbook::{Runbook, StepBody};
use pilotlight::runtime::clock::PacedClock;
use pilotlight::runtime::session::{Command, Interactive};
use pilotlight::runtime::view::{RunView, ViewMode};
use pilotlight::tui::app::{App, Popup};
use pilotlight::tui::keymap::{bindings, key_name, BINDINGS};
use pilotlight::tui::popups::gate::Field;
use pilotlight::tui::screen;
use pilotlight::tui::theme::Theme;

mod drills;
mod keys;

use tokio::sync::{mpsc, watch};

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";

fn load() -> Arc<Runbook> {
    load_runbook(RUNBOOK)
}

/// A tokio runtime whose timers fire as soon as every task is idle: drills run until idle with
/// no real waiting.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

struct Drill {
    session: Interactive<Gated<SimWorld>>,
    world: SimWorld,
    journal: PathBuf,
    view: RunView,
}

fn drill(name: &str, scenario: Option<&str>) -> Drill {
    let runbook = load();
    let prepared = match scenario {
        None => sim::default_for(&runbook),
        Some(text) => sim::parse_scenario(text, &runbook).unwrap(),
    };
    let path = temp_dir(name).join("drill.jsonl");
    let journal = Journal::create(&path, "alice", &runbook.id, Mode::Drill).unwrap();
    let estimate = estimate_rto(&runbook, &BTreeMap::new());
    let world = SimWorld::new(runbook.clone(), prepared, t0());
    let view = RunView::new(
        runbook.clone(),
        ViewMode::Drill,
        "alice",
        "simulated world",
        estimate.clone(),
        t0(),
    );
    let session = session_over(
        Engine::new(runbook, "pilot-light-failover-test"),
        journal,
        Gated(world.clone()),
        // Jump mode: simulated time leaps to the next event while nobody is needed.
        PacedClock::new(t0(), None),
        &view,
    );
    Drill {
        session,
        world,
        journal: path,
        view,
    }
}

/// The operator's side of a drill: waits for views, sends commands.
struct Operator {
    commands: mpsc::Sender<Command>,
    views: watch::Receiver<Arc<RunView>>,
    seen: Vec<u64>,
}

impl Operator {
    /// Waits (in paused time, so no real waiting) until the session publishes a view for which
    /// `pred` holds; a simulated day without one fails the test.
    async fn until(&mut self, what: &str, pred: impl Fn(&RunView) -> bool) -> Arc<RunView> {
        let found = tokio::time::timeout(StdDuration::from_secs(86_400), async {
            loop {
                {
                    let v = self.views.borrow_and_update();
                    self.seen.push(v.version);
                    if pred(&v) {
                        return v.clone();
                    }
                }
                if self.views.changed().await.is_err() {
                    let v = self.views.borrow().clone();
                    assert!(pred(&v), "the session ended before {what}: {:?}", v.status);
                    return v;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("never saw {what}"))
    }

    async fn at_gate(&mut self, id: &str) -> Arc<RunView> {
        self.until(&format!("the gate of {id}"), |v| {
            current(v) == id && state(v) == StepState::AwaitingGate
        })
        .await
    }

    async fn send(&self, c: Command) {
        self.commands.send(c).await.unwrap();
    }

    async fn gate(&self, typed: Option<&str>, reason: Option<&str>) {
        self.send(Command::Gate(GateDecision {
            approve: true,
            typed: typed.map(str::to_string),
            reason: reason.map(str::to_string),
            unattended: false,
        }))
        .await;
    }
}

fn current(v: &RunView) -> &str {
    v.runbook.steps.get(v.current).map_or("", |s| s.id.as_str())
}

fn state(v: &RunView) -> StepState {
    v.steps.get(v.current).map_or(StepState::Done, |s| s.state)
}

fn records(path: &PathBuf) -> Vec<Record> {
    let verified = verify(&std::fs::read(path).unwrap()).expect("the journal verifies");
    assert!(verified.torn_tail.is_none());
    verified.records
}

fn of<'a>(records: &'a [Record], event: EventKind, step: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.kind() == event && r.step.as_deref() == Some(step))
        .collect()
}
