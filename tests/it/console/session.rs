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

// ---------------------------------------------------------------------------------------------
// Scripted drills through the session loop.

#[test]
fn a_scripted_drill_through_gates_manual_skip_and_abort() {
    let rt = paused_runtime();
    let Drill {
        session,
        world,
        journal,
        view,
    } = drill("scripted", None);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        // A confirm gate on a command step.
        op.at_gate("replica-lag").await;
        op.gate(None, None).await;

        // A gate that needs a reason: without one it is refused and stays open.
        op.at_gate("decide").await;
        op.gate(None, None).await;
        let v = op.until("the refusal", |v| v.notice.is_some()).await;
        assert_eq!(v.notice.as_deref(), Some("this gate needs a reason"));
        assert_eq!(
            (current(&v), state(&v)),
            ("decide", StepState::AwaitingGate)
        );
        op.gate(None, Some("IC: go, replica lag 2s")).await;
        // The manual step now waits for the operator, however much simulated time passes.
        let v = op
            .until("decide running", |v| {
                current(v) == "decide" && state(v) == StepState::Running
            })
            .await;
        assert!(v.notice.is_none());
        op.send(Command::ManualDone).await;

        for id in ["start-app-1", "start-app-2"] {
            op.at_gate(id).await;
            op.gate(None, None).await;
        }

        // A typed gate: the wrong phrase is refused, the exact one passes.
        let v = op.at_gate("promote-replica").await;
        assert!(v
            .preview
            .as_deref()
            .unwrap()
            .contains("rds:PromoteReadReplica"));
        op.gate(Some("shop-db-replica"), Some("IC approved")).await;
        let v = op.until("the refusal", |v| v.notice.is_some()).await;
        assert_eq!(
            v.notice.as_deref(),
            Some("type `shop-db-replica-usw2` exactly to proceed")
        );
        assert_eq!(state(&v), StepState::AwaitingGate);
        op.gate(Some("shop-db-replica-usw2"), Some("IC approved"))
            .await;

        // Skip a step with a reason (at its gate: nothing was requested).
        op.at_gate("resize-db").await;
        op.send(Command::Skip("resized before the drill".into()))
            .await;
        let v = op.at_gate("configure-app").await;
        let resize = v
            .runbook
            .steps
            .iter()
            .position(|s| s.id == "resize-db")
            .unwrap();
        assert_eq!(v.steps[resize].state, StepState::Skipped);

        // Abort with a reason: the session ends.
        op.send(Command::Abort("tabletop over: time is up".into()))
            .await;
        let v = op
            .until("the abort", |v| matches!(v.status, RunStatus::Aborted(_)))
            .await;
        assert_eq!(
            v.status,
            RunStatus::Aborted("tabletop over: time is up".into())
        );
        // Views only move forward.
        assert!(op.seen.windows(2).all(|w| w[0] <= w[1]), "{:?}", op.seen);
    };
    let ((status, _engine), ()) =
        rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    assert!(matches!(status, RunStatus::Aborted(_)), "{status:?}");

    let records = records(&journal);
    // Every approval came from a person, with what they typed and said.
    let approved: Vec<_> = records
        .iter()
        .filter(|r| r.kind() == EventKind::GateApproved)
        .collect();
    let steps: Vec<_> = approved
        .iter()
        .map(|r| r.step.as_deref().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "replica-lag",
            "decide",
            "start-app-1",
            "start-app-2",
            "promote-replica"
        ]
    );
    for r in &approved {
        assert_eq!(detail(&r)["unattended"], false, "{r:?}");
        assert_eq!(r.operator, "alice");
    }
    let promote = of(&records, EventKind::GateApproved, "promote-replica");
    assert_eq!(
        promote[0].event.detail().unwrap()["typed"],
        "shop-db-replica-usw2"
    );
    assert_eq!(promote[0].event.detail().unwrap()["reason"], "IC approved");
    assert_eq!(
        of(&records, EventKind::GateApproved, "decide")[0]
            .event
            .detail()
            .unwrap()["reason"],
        "IC: go, replica lag 2s"
    );
    assert_eq!(of(&records, EventKind::StepSucceeded, "decide").len(), 1);
    let skipped = of(&records, EventKind::StepSkipped, "resize-db");
    assert_eq!(
        skipped[0].event.detail().unwrap()["reason"],
        "resized before the drill"
    );
    let aborted: Vec<_> = records
        .iter()
        .filter(|r| r.kind() == EventKind::RunAborted)
        .collect();
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        aborted[0].event.detail().unwrap()["reason"],
        "tabletop over: time is up"
    );
    assert_eq!(records.last().unwrap().kind(), EventKind::RunAborted);
    // Each change requested exactly once, each after its intent was durable.
    let made = world.requests();
    assert_eq!(made.len(), 3, "{made:?}");
    for step in ["start-app-1", "start-app-2", "promote-replica"] {
        let gate = of(&records, EventKind::GateApproved, step)[0].seq;
        let intent = of(&records, EventKind::Intent, step);
        assert_eq!(intent.len(), 1, "{step}");
        assert!(intent[0].seq > gate, "{step}: intent before its approval");
    }
    // Nothing was asked of the steps after the abort.
    assert!(of(&records, EventKind::StepStarted, "check-app-1").is_empty());
}

#[test]
fn a_blocked_step_is_retried_with_a_reason_and_the_run_goes_on() {
    let scenario = "scenario: no-capacity
regions: { us-east-1: unavailable }
faults:
  - step: start-app-1
    fail_times: 3
    error: \"InsufficientInstanceCapacity: no m6i.xlarge capacity in us-west-2a\"
";
    let rt = paused_runtime();
    let Drill {
        session,
        journal,
        view,
        ..
    } = drill("retry", Some(scenario));
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        op.at_gate("replica-lag").await;
        op.gate(None, None).await;
        op.at_gate("decide").await;
        op.gate(None, Some("go")).await;
        op.until("decide running", |v| state(v) == StepState::Running)
            .await;
        op.send(Command::ManualDone).await;
        op.at_gate("start-app-1").await;
        op.gate(None, None).await;
        // Three attempts (the step's retry policy), then the run waits for a person.
        let v = op
            .until("the block", |v| matches!(v.status, RunStatus::Blocked(_)))
            .await;
        assert_eq!(current(&v), "start-app-1");
        assert_eq!(state(&v), StepState::Failed);
        assert_eq!(v.steps[v.current].attempt, 3);
        assert!(v.steps[v.current]
            .error
            .as_deref()
            .unwrap()
            .contains("InsufficientInstanceCapacity"));
        // Blocked, simulated time does not run away: the session waits for the operator.
        let at = v.now;
        let v = op
            .until("a later view", |w| w.version > v.version + 50)
            .await;
        assert!(v.now - at < TimeDelta::seconds(5), "{} → {}", at, v.now);
        // Retry with a reason; the fault is used up, the step gets done.
        op.send(Command::Retry("capacity reserved in us-west-2a".into()))
            .await;
        let v = op.at_gate("start-app-2").await;
        assert_eq!(v.status, RunStatus::Running);
        assert_eq!(v.steps[4].state, StepState::Done);
        // The operator walks away: the session ends when the console goes.
        drop(op);
    };
    let ((status, _engine), ()) =
        rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    assert_eq!(status, RunStatus::Running);
    let records = records(&journal);
    let retried = of(&records, EventKind::StepRetried, "start-app-1");
    assert!(retried
        .iter()
        .any(|r| detail(&r)["reason"] == "capacity reserved in us-west-2a"));
    assert_eq!(of(&records, EventKind::StepFailed, "start-app-1").len(), 1);
    assert_eq!(
        of(&records, EventKind::StepSucceeded, "start-app-1").len(),
        1
    );
    assert_eq!(of(&records, EventKind::Intent, "start-app-1").len(), 4);
    // The run did not end: a later drill can resume it.
    assert!(!records
        .iter()
        .any(|r| matches!(r.kind(), EventKind::RunFinished | EventKind::RunAborted)));
}

#[test]
fn a_drill_run_to_the_end_by_a_person_finishes_and_verifies() {
    let rt = paused_runtime();
    let Drill {
        session,
        journal,
        view,
        ..
    } = drill("finish", None);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        loop {
            let v = op
                .until("the operator being needed", |v| {
                    v.status == RunStatus::Finished
                        || state(v) == StepState::AwaitingGate
                        || (state(v) == StepState::Running
                            && matches!(v.runbook.steps[v.current].body, StepBody::Manual))
                })
                .await;
            if v.status == RunStatus::Finished {
                break;
            }
            let step = &v.runbook.steps[v.current];
            if state(&v) == StepState::AwaitingGate {
                let gate = step.gate.clone().unwrap();
                op.gate(gate.typed.as_deref(), Some("drill")).await;
            } else {
                op.send(Command::ManualDone).await;
            }
            // Wait until the session took it in (the step moved on or changed state).
            let (i, s) = (v.current, state(&v));
            op.until("the command to land", |w| {
                w.current != i || state(w) != s || w.status == RunStatus::Finished
            })
            .await;
        }
    };
    let ((status, _engine), ()) =
        rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    assert_eq!(status, RunStatus::Finished);
    let records = records(&journal);
    assert_eq!(records.last().unwrap().kind(), EventKind::RunFinished);
    let gated = load().steps.iter().filter(|s| s.gate.is_some()).count();
    let approved: Vec<_> = records
        .iter()
        .filter(|r| r.kind() == EventKind::GateApproved)
        .collect();
    assert_eq!(approved.len(), gated);
    assert!(approved.iter().all(|r| detail(&r)["unattended"] == false));
    // The cutover's approval records the before -> after the operator was shown at its gate.
    let shift = of(&records, EventKind::GateApproved, "shift-dns");
    assert_eq!(
        shift[0].event.detail().unwrap()["seen"],
        r#"weights: (as the drill began) -> {"pilot-light-usw2":100,"primary-use1":0}"#
    );
    let promote = of(&records, EventKind::GateApproved, "promote-replica");
    assert!(
        promote[0].event.detail().unwrap().get("seen").is_none(),
        "not a cutover"
    );
}

#[test]
fn watch_mode_backend_refuses_every_change() {
    let rt = paused_runtime();
    let runbook = load();
    let world = ReadOnly(SimWorld::new(
        runbook.clone(),
        sim::default_for(&runbook),
        t0(),
    ));
    // Drive a drill against the refusing backend: the approved change is never made.
    let path = temp_dir("read-only").join("j.jsonl");
    let estimate = estimate_rto(&runbook, &BTreeMap::new());
    let view = RunView::new(
        runbook.clone(),
        ViewMode::ReadOnly,
        "alice",
        "x",
        estimate.clone(),
        t0(),
    );
    let session = session_over(
        Engine::new(runbook.clone(), "ro"),
        Journal::create(&path, "alice", &runbook.id, Mode::Drill).unwrap(),
        world,
        PacedClock::new(t0(), None),
        &view,
    );
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (views_tx, views_rx) = watch::channel(Arc::new(view));
    let mut op = Operator {
        commands: cmd_tx,
        views: views_rx,
        seen: Vec::new(),
    };
    let script = async move {
        op.at_gate("replica-lag").await;
        op.gate(None, None).await;
        // A command is a change too: it is not run.
        let v = op
            .until("the refusal to run the command", |v| {
                current(v) == "replica-lag" && v.steps[v.current].state == StepState::Failed
            })
            .await;
        let error = v.steps[v.current].error.clone().unwrap();
        assert!(error.contains("read-only"), "{error}");
        op.send(Command::Skip("read-only".into())).await;
        op.at_gate("decide").await;
        op.gate(None, Some("go")).await;
        op.until("decide running", |v| state(v) == StepState::Running)
            .await;
        op.send(Command::ManualDone).await;
        op.at_gate("start-app-1").await;
        op.gate(None, None).await;
        let v = op
            .until("the refusal to fail the step", |v| {
                current(v) == "start-app-1" && v.steps[v.current].error.is_some()
            })
            .await;
        let error = v.steps[v.current].error.clone().unwrap();
        assert!(error.contains("read-only"), "{error}");
        drop(op);
    };
    rt.block_on(async { tokio::join!(session.run(cmd_rx, views_tx), script) });
    let records = records(&path);
    for step in ["replica-lag", "start-app-1"] {
        let outcomes = of(&records, EventKind::Outcome, step);
        assert!(!outcomes.is_empty(), "{step}");
        assert!(outcomes.iter().all(|r| r
            .event
            .detail()
            .unwrap()
            .to_string()
            .contains("read-only")));
    }
    let outcomes = of(&records, EventKind::Outcome, "start-app-1");
    assert!(outcomes
        .iter()
        .all(|r| r.event.detail().unwrap().to_string().contains("read-only")));
}

// ---------------------------------------------------------------------------------------------
// Keys to commands.

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// A view of the runbook with step `id` in `state` (built by hand: only what the keys look at).
fn view_at(mode: ViewMode, id: &str, st: StepState) -> Arc<RunView> {
    let runbook = load();
    let estimate = estimate_rto(&runbook, &BTreeMap::new());
    let mut v = RunView::new(runbook.clone(), mode, "alice", "x", estimate, t0());
    v.current = runbook.steps.iter().position(|s| s.id == id).unwrap();
    v.status = if st == StepState::Failed {
        RunStatus::Blocked(format!("step `{id}` failed"))
    } else {
        RunStatus::Running
    };
    v.started_at = Some(t0());
    for s in &mut v.steps[..v.current] {
        s.state = StepState::Done;
    }
    v.steps[v.current].state = st;
    Arc::new(v)
}

fn press(app: &mut App, keys: &[KeyCode]) -> Vec<Command> {
    keys.iter().filter_map(|k| app.on_key(key(*k))).collect()
}

fn chars(s: &str) -> Vec<KeyCode> {
    s.chars().map(KeyCode::Char).collect()
}

fn gate_field(app: &App) -> Field {
    match &app.popup {
        Some(Popup::Gate(g)) => {
            let gate = app.view.runbook.steps[g.step].gate.clone();
            g.field(gate.as_ref())
        }
        other => panic!("no gate open: {other:?}"),
    }
}

#[test]
fn gate_focus_never_starts_on_proceed_and_enter_alone_never_approves() {
    // Every gated step of the runbook: confirm, confirm + reason, typed + reason.
    for step in load().steps.iter().filter(|s| s.gate.is_some()) {
        let mut app = App::new(view_at(ViewMode::Drill, &step.id, StepState::AwaitingGate));
        assert!(press(&mut app, &[KeyCode::Char('g')]).is_empty());
        assert_ne!(gate_field(&app), Field::Proceed, "{}", step.id);
        // Enter, again and again, never approves: it walks the text fields and stays in the
        // last one (saying how to go on); a gate without fields starts on Cancel, so Enter
        // cancels it, and the cancel is a decision for the journal.
        let mut got = Vec::new();
        for _ in 0..10 {
            got.extend(press(&mut app, &[KeyCode::Enter]));
            if app.popup.is_none() {
                break;
            }
        }
        let approved = got
            .iter()
            .any(|c| matches!(c, Command::Gate(d) if d.approve));
        assert!(!approved, "{}: {got:?}", step.id);
        let has_fields = step
            .gate
            .as_ref()
            .is_some_and(|g| g.typed.is_some() || g.reason != ReasonPolicy::None);
        assert_eq!(app.popup.is_some(), has_fields, "{}", step.id);
    }
}

#[test]
fn esc_cancels_every_popup_without_a_command() {
    for (id, st, open) in [
        ("promote-replica", StepState::AwaitingGate, 'g'),
        ("decide", StepState::AwaitingGate, 's'),
        ("decide", StepState::AwaitingGate, 'A'),
        ("start-app-1", StepState::Failed, 'r'),
        ("decide", StepState::AwaitingGate, '?'),
    ] {
        let mut app = App::new(view_at(ViewMode::Drill, id, st));
        let mut keys = vec![KeyCode::Char(open)];
        keys.extend(chars("shop-db-replica-usw2"));
        keys.push(KeyCode::Tab);
        keys.extend(chars("a reason"));
        keys.push(KeyCode::Esc);
        let commands = press(&mut app, &keys);
        // Esc on a gate is a decision not to pass it (journaled as cancelled), never approval.
        let cancel_only = commands
            .iter()
            .all(|c| matches!(c, Command::Gate(d) if !d.approve));
        assert!(
            cancel_only && (open == 'g' || commands.is_empty()),
            "{open}: {commands:?}"
        );
        assert!(app.popup.is_none(), "{open}");
        assert!(!app.quit, "{open}: typing q in a popup must not quit");
    }
    // The filter too: Esc clears it.
    let mut app = App::new(view_at(ViewMode::Drill, "decide", StepState::AwaitingGate));
    press(
        &mut app,
        &[KeyCode::Char('/'), KeyCode::Char('a'), KeyCode::Esc],
    );
    assert!(app.filter.is_empty() && !app.filter_editing);
}

#[test]
fn a_typed_gate_approves_only_the_exact_phrase_with_a_reason() {
    let mut app = App::new(view_at(
        ViewMode::Drill,
        "promote-replica",
        StepState::AwaitingGate,
    ));
    press(&mut app, &[KeyCode::Char('g')]);
    assert_eq!(gate_field(&app), Field::Typed);
    // Wrong phrase (a prefix, then different case), reason given: refused in the popup.
    for wrong in [
        "shop-db-replica",
        "SHOP-DB-REPLICA-USW2",
        "shop-db-replica-usw2 ",
    ] {
        let mut a = App::new(app.view.clone());
        let mut keys = vec![KeyCode::Char('g')];
        keys.extend(chars(wrong));
        keys.push(KeyCode::Tab);
        keys.extend(chars("IC approved"));
        keys.extend([KeyCode::Tab, KeyCode::Enter]);
        assert!(press(&mut a, &keys).is_empty(), "{wrong:?}");
        match &a.popup {
            Some(Popup::Gate(g)) => {
                assert!(g.error.as_deref().unwrap().contains("exactly"), "{wrong:?}");
                assert_eq!(g.focus, Some(Field::Typed));
            }
            other => panic!("{wrong:?}: {other:?}"),
        }
    }
    // Right phrase, no reason: refused, focus on the reason.
    let mut keys = chars("shop-db-replica-usw2");
    keys.extend([KeyCode::Tab, KeyCode::Tab, KeyCode::Enter]);
    assert!(press(&mut app, &keys).is_empty());
    assert_eq!(gate_field(&app), Field::Reason);
    // Backspace edits; Right in a text field is no shortcut; Tab from the reason reaches Proceed.
    let mut keys = chars("IC approvedX");
    keys.push(KeyCode::Backspace);
    keys.extend([KeyCode::Right, KeyCode::Tab, KeyCode::Enter]);
    let got = press(&mut app, &keys);
    assert_eq!(
        got,
        [Command::Gate(GateDecision {
            approve: true,
            typed: Some("shop-db-replica-usw2".into()),
            reason: Some("IC approved".into()),
            unattended: false,
        })]
    );
    assert!(app.popup.is_none());
}

#[test]
fn confirm_gate_tab_enter_approves() {
    let mut app = App::new(view_at(
        ViewMode::Drill,
        "start-app-1",
        StepState::AwaitingGate,
    ));
    let got = press(
        &mut app,
        &[KeyCode::Char('g'), KeyCode::Tab, KeyCode::Enter],
    );
    assert_eq!(
        got,
        [Command::Gate(GateDecision {
            approve: true,
            typed: None,
            reason: None,
            unattended: false,
        })]
    );
}

#[test]
fn reasons_manual_done_and_their_refusals() {
    let at_gate = view_at(ViewMode::Drill, "decide", StepState::AwaitingGate);
    // Skip and abort ask why; an empty answer is not one.
    for (k, want) in [
        ('s', Command::Skip("not needed".into())),
        ('A', Command::Abort("not needed".into())),
    ] {
        let mut app = App::new(at_gate.clone());
        assert!(press(&mut app, &[KeyCode::Char(k), KeyCode::Enter]).is_empty());
        assert!(matches!(app.popup, Some(Popup::Reason(_))));
        let mut keys = chars("  not needed ");
        keys.push(KeyCode::Enter);
        assert_eq!(press(&mut app, &keys), [want]);
    }
    // Retry only a failed step.
    let mut app = App::new(at_gate.clone());
    assert!(press(&mut app, &[KeyCode::Char('r')]).is_empty());
    assert!(app.popup.is_none() && app.message.is_some());
    let mut app = App::new(view_at(ViewMode::Drill, "start-app-1", StepState::Failed));
    let mut keys = vec![KeyCode::Char('r')];
    keys.extend(chars("capacity back"));
    keys.push(KeyCode::Enter);
    assert_eq!(
        press(&mut app, &keys),
        [Command::Retry("capacity back".into())]
    );
    // Done only for a manual step in progress.
    let mut app = App::new(at_gate.clone());
    assert!(press(&mut app, &[KeyCode::Char('d')]).is_empty());
    assert!(app.message.is_some());
    let mut app = App::new(view_at(ViewMode::Drill, "decide", StepState::Running));
    assert_eq!(
        press(&mut app, &[KeyCode::Char('d')]),
        [Command::ManualDone]
    );
    let mut app = App::new(view_at(ViewMode::Drill, "start-app-1", StepState::Running));
    assert!(press(&mut app, &[KeyCode::Char('d')]).is_empty());
    // No gate waiting: g says so.
    let mut app = App::new(view_at(ViewMode::Drill, "decide", StepState::Running));
    assert!(press(&mut app, &[KeyCode::Char('g')]).is_empty());
    assert!(app.popup.is_none());
    assert_eq!(app.message.as_deref(), Some("no gate is waiting for you"));
}

/// Every key a terminal can send that matters here: printable characters (with and without
/// modifiers) and the special keys.
fn every_key() -> Vec<KeyEvent> {
    let mut codes: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
    codes.extend("éßЖ→✓€\u{7f}\u{1b}\t\r\n\u{0}".chars().map(KeyCode::Char));
    codes.extend([
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Insert,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Null,
        KeyCode::CapsLock,
        KeyCode::Menu,
    ]);
    codes.extend((1..=24).map(KeyCode::F));
    let mut keys = Vec::new();
    for m in [
        KeyModifiers::NONE,
        KeyModifiers::SHIFT,
        KeyModifiers::CONTROL,
        KeyModifiers::ALT,
        KeyModifiers::SUPER,
        KeyModifiers::CONTROL | KeyModifiers::SHIFT,
    ] {
        for c in &codes {
            keys.push(KeyEvent::new(*c, m));
        }
    }
    keys
}

#[test]
fn read_only_console_makes_no_command_whatever_key_is_pressed() {
    for (id, st) in [
        ("replica-lag", StepState::AwaitingGate),
        ("promote-replica", StepState::AwaitingGate),
        ("decide", StepState::Running),
        ("start-app-1", StepState::Failed),
    ] {
        let view = view_at(ViewMode::ReadOnly, id, st);
        // Each key alone, on a fresh console...
        for k in every_key() {
            let mut app = App::new(view.clone());
            assert_eq!(app.on_key(k), None, "{id}: {k:?}");
            assert!(
                !matches!(app.popup, Some(Popup::Gate(_) | Popup::Reason(_))),
                "{id}: {k:?} opened {:?}",
                app.popup
            );
        }
        // ...and all of them in a row on one console (whatever state the keys lead to), and the
        // sequences that would decide in a drill.
        let mut app = App::new(view.clone());
        for k in every_key() {
            assert_eq!(app.on_key(k), None, "{id}: {k:?}");
            assert!(!matches!(
                app.popup,
                Some(Popup::Gate(_) | Popup::Reason(_))
            ));
        }
        let mut app = App::new(view.clone());
        let mut keys = vec![KeyCode::Char('g'), KeyCode::Tab, KeyCode::Enter];
        keys.extend(chars("gshop-db-replica-usw2"));
        keys.extend([
            KeyCode::Tab,
            KeyCode::Char('x'),
            KeyCode::Tab,
            KeyCode::Tab,
            KeyCode::Enter,
        ]);
        keys.extend(chars("dsA"));
        keys.push(KeyCode::Enter);
        keys.extend(chars("r because"));
        keys.push(KeyCode::Enter);
        assert!(press(&mut app, &keys).is_empty(), "{id}");
    }
}

#[test]
fn keymap_drives_the_footer_and_the_help() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    for mode in [ViewMode::Drill, ViewMode::Live, ViewMode::ReadOnly] {
        let mut app = App::new(view_at(mode, "decide", StepState::AwaitingGate));
        let mut term = Terminal::new(TestBackend::new(120, 36)).unwrap();
        term.draw(|f| screen::render(f, &app, Theme { color: true }))
            .unwrap();
        let footer: String = {
            let buf = term.backend().buffer();
            (0..120)
                .map(|x| buf[(x, 35)].symbol().to_string())
                .collect()
        };
        for b in bindings(mode).filter(|b| b.in_footer) {
            let hint = format!("{} {}", key_name(b.key), b.label);
            assert!(footer.contains(&hint), "{mode:?}: {hint} not in {footer}");
        }
        app.on_key(key(KeyCode::Char('?')));
        term.draw(|f| screen::render(f, &app, Theme { color: true }))
            .unwrap();
        let buf = term.backend().buffer();
        let screen: String = (0..36)
            .map(|y| {
                (0..120)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        // Every key of this mode is explained, and nothing that changes the run in read-only.
        for b in BINDINGS {
            // One help line per action, listing every key bound to it.
            let first = BINDINGS.iter().find(|x| x.action == b.action).unwrap_or(b);
            let shown = screen
                .lines()
                .any(|l| l.contains(first.help) && l.contains(&key_name(b.key)));
            let bound = mode != ViewMode::ReadOnly || !b.changes_run;
            assert_eq!(shown, bound, "{mode:?}: {:?} {}", b.key, first.help);
        }
    }
}

#[test]
fn a_refusing_mutator_refuses_every_change() {
    let rt = paused_runtime();
    let runbook = load();
    let world = ReadOnly(SimWorld::new(
        runbook.clone(),
        sim::default_for(&runbook),
        t0(),
    ));
    // `start` needs an approval, which only the engine mints: the drill above covers it. Here
    // the other two calls, with a plan rendered from the runbook.
    let step = runbook.step("start-app-1").unwrap();
    let StepBody::Action { call, resource, .. } = &step.body else {
        panic!()
    };
    let res = &runbook.resources[resource];
    let plan = pilotlight::engine::render(
        call,
        res,
        &step.id,
        1,
        "run",
        &pilotlight::model::Outputs::default(),
    )
    .unwrap();
    rt.block_on(async {
        assert!(matches!(
            world.poll(&plan, t0()).await,
            Err(CloudError::Refused(_))
        ));
        assert!(matches!(
            world.reconcile(&plan, t0()).await,
            Err(CloudError::Refused(_))
        ));
    });
}
