//! The console keeps serving the operator while the cloud is slow: a gate whose live preview
//! never answers (a black-holed region) can still be decided, and a change request that is out
//! when the operator closes the console is answered and journaled before the run pauses. The
//! cloud is the simulated world, slowed where a test says; time is paused (no real waiting).

use crate::common::session::{confirmed, console, drive, records, Time};
use crate::common::{t0, temp_dir};

use std::sync::Arc;
use std::time::Duration;

use pilotlight::audit::{EventKind, Mode};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::cloud::{Change, Observe};
use pilotlight::engine::{RunStatus, StepState};
use pilotlight::model::ActionPlan;
use pilotlight::model::{CloudError, Progress, ResourceStatus, Started};
use pilotlight::runbook::{Resource, Runbook};
use pilotlight::runtime::session::Command;
use pilotlight::runtime::view::RunView;
use tokio::sync::{mpsc, watch};

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

/// The simulated world, slowed where a test says: a cutover's live preview that never answers
/// for one step (its region is dark), or change requests that answer only when the test lets
/// them.
struct Scripted {
    world: SimWorld,
    dark_preview: Option<&'static str>,
    hold_changes: Option<Arc<tokio::sync::Notify>>,
}

impl Scripted {
    fn new(rb: &Arc<Runbook>) -> Scripted {
        Scripted {
            world: SimWorld::new(rb.clone(), sim::default_for(rb), t0()),
            dark_preview: None,
            hold_changes: None,
        }
    }
}

impl Observe for Scripted {
    async fn observe(
        &self,
        resource: &Resource,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        self.world.observe(resource, now).await
    }
}

impl Change for Scripted {
    async fn start(
        &self,
        plan: &ActionPlan,
        approval: &pilotlight::engine::Approval,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Started, CloudError> {
        if let Some(release) = &self.hold_changes {
            release.notified().await;
        }
        self.world.start(plan, approval, now).await
    }

    async fn poll(
        &self,
        plan: &ActionPlan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Progress, CloudError> {
        self.world.poll(plan, now).await
    }

    async fn preview(&self, plan: &ActionPlan) -> Option<String> {
        if self.dark_preview == Some(plan.step.as_str()) {
            return std::future::pending().await;
        }
        self.world.preview(plan).await
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
fn a_gate_whose_live_preview_never_answers_can_still_be_decided() {
    let rb = dial_runbook("");
    let world = Scripted {
        dark_preview: Some("dial"),
        ..Scripted::new(&rb)
    };
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
        while !matches!(
            views_rx.borrow_and_update().status,
            RunStatus::Finished | RunStatus::Aborted(_)
        ) {
            views_rx.changed().await.unwrap();
        }
        drop(cmd_tx);
    };
    // Paused time: a simulated day without the run ending fails at once, without waiting.
    let (status, ()) = drive(
        session,
        cmd_rx,
        views_tx,
        script,
        Time::Paused,
        Duration::from_secs(86_400),
    );
    assert_eq!(status, RunStatus::Finished);
    let approved: Vec<_> = records(&path)
        .into_iter()
        .filter(|r| r.kind() == EventKind::GateApproved)
        .collect();
    assert_eq!(approved.len(), 1);
    assert!(
        approved[0].event.detail().unwrap().get("seen").is_none(),
        "nothing was seen"
    );
}

#[test]
fn skipping_a_gate_while_its_look_is_out_still_looks_at_the_next_gate() {
    let more = r#"  - id: dial-back
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: { endpoint_group_region: us-east-1, dial: 0 }
    gate: { confirm: true }
"#;
    let rb = dial_runbook(more);
    let world = Scripted {
        dark_preview: Some("dial"),
        ..Scripted::new(&rb)
    };
    let (session, view, path) = console(&rb, &temp_dir("skip-look"), Mode::Drill, world, None);
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let (views_tx, mut views_rx) = watch::channel(Arc::new(view));
    let script = async move {
        let state = |v: &RunView, i: usize| v.steps.get(i).map(|s| s.state);
        while state(&views_rx.borrow_and_update(), 0) != Some(StepState::AwaitingGate) {
            views_rx.changed().await.unwrap();
        }
        // The first gate's look is still out (its region is dark) when the operator skips it.
        cmd_tx
            .send(Command::Skip("edge already on us-west-2".into()))
            .await
            .unwrap();
        // The next gate shows what the cloud says it would do.
        loop {
            let v = views_rx.borrow_and_update().clone();
            let live = v.preview.as_deref().is_some_and(|p| p.contains("->"));
            if state(&v, 1) == Some(StepState::AwaitingGate) && live {
                break;
            }
            views_rx.changed().await.unwrap();
        }
        cmd_tx.send(Command::Gate(confirmed())).await.unwrap();
        while !matches!(
            views_rx.borrow_and_update().status,
            RunStatus::Finished | RunStatus::Aborted(_)
        ) {
            views_rx.changed().await.unwrap();
        }
        drop(cmd_tx);
    };
    let (status, ()) = drive(
        session,
        cmd_rx,
        views_tx,
        script,
        Time::Paused,
        Duration::from_secs(86_400),
    );
    assert_eq!(status, RunStatus::Finished);
    let approved: Vec<_> = records(&path)
        .into_iter()
        .filter(|r| r.kind() == EventKind::GateApproved)
        .collect();
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0].step.as_deref(), Some("dial-back"));
    let seen = approved[0].event.detail().unwrap();
    assert!(
        seen.get("seen").is_some(),
        "the decision records what was seen: {seen}"
    );
}

#[test]
fn closing_the_console_with_a_change_in_flight_journals_its_answer_first() {
    let rb = dial_runbook("  - id: after\n    kind: manual\n");
    let release = Arc::new(tokio::sync::Notify::new());
    let backend = Scripted {
        hold_changes: Some(release.clone()),
        ..Scripted::new(&rb)
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
        // `q` asks first, saying what happens to the request; only `y` leaves.
        let v = views_rx.borrow().clone();
        assert_eq!(v.change_out.as_deref(), Some("dial"));
        let mut app = pilotlight::tui::app::App::new(v);
        let q = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('q'));
        let y = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('y'));
        let n = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('n'));
        app.on_key(q);
        assert_eq!(app.popup, Some(pilotlight::tui::app::Popup::ConfirmQuit));
        assert!(!app.quit);
        app.on_key(n);
        assert!(app.popup.is_none() && !app.quit);
        app.on_key(q);
        app.on_key(y);
        assert!(app.quit);
        // ... and the operator closes the console; the answer comes after that.
        drop(cmd_tx);
        // Paused time moves on only once every task is idle: the session has gone as far as
        // it can without the answer (no real waiting).
        tokio::time::sleep(Duration::from_secs(3600)).await;
        release.notify_one();
    };
    let (status, ()) = drive(
        session,
        cmd_rx,
        views_tx,
        script,
        Time::Paused,
        Duration::from_secs(86_400),
    );
    assert_eq!(status, RunStatus::Running, "paused, resumable");
    let recs = records(&path);
    let events: Vec<EventKind> = recs.iter().map(|r| r.kind()).collect();
    let outcome = events.iter().position(|e| *e == EventKind::Outcome);
    let paused = events.iter().position(|e| *e == EventKind::RunPaused);
    assert!(
        outcome.is_some() && outcome < paused,
        "the answer is journaled before the pause: {events:?}"
    );
    assert_eq!(recs[outcome.unwrap()].event.detail().unwrap()["ok"], true);
}
