//! People's time in a drill: a manual step marked done at once is not a measurement. Its
//! expected duration stands in (assumed), the simulated clock moves on by it, and no drill
//! teaches the RTO estimate anything but timed work.

use std::process::Command as Process;
use std::sync::Arc;
use std::time::Duration;

use pilotlight::audit::event::{DrillContext, DurationSource, RunContext};
use pilotlight::audit::{verify, Event, Journal, Mode};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::cloud::Gated;
use pilotlight::engine::objectives::estimate_rto;
use pilotlight::engine::{Engine, GateDecision, RunStatus, StepState};
use pilotlight::runbook::StepKind;
use pilotlight::runtime::clock::PacedClock;
use pilotlight::runtime::session::Command;
use pilotlight::runtime::view::{RunView, ViewMode};
use tokio::sync::{mpsc, watch};

use crate::common::session::{drive, session_over, until, Time};
use crate::common::{load_runbook, root, t0, temp_dir};

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";

/// `status --sim` of the pilot-light runbook with `dir` as the data folder: (exit code, JSON).
fn status(dir: &std::path::Path) -> (Option<i32>, serde_json::Value) {
    let out = Process::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", RUNBOOK, "--sim", "--format", "json"])
        .current_dir(root())
        .env("XDG_DATA_HOME", dir)
        .env("XDG_STATE_HOME", dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or_default(),
    )
}

#[test]
fn marking_every_manual_step_done_at_once_teaches_the_estimate_nothing() {
    let dir = temp_dir("untimed");
    let (code_before, before) = status(&dir);
    assert_eq!(before["history_runs"], 0, "{before}");

    // The interactive drill, its operator marking each manual step done the moment it starts.
    let rb = load_runbook(RUNBOOK);
    let journals = dir.join("pilotlight/journals");
    std::fs::create_dir_all(&journals).unwrap();
    let path = journals.join("drill.jsonl");
    let journal = Journal::create(&path, "ana", &rb.id, Mode::Drill).unwrap();
    let mut engine = Engine::new(rb.clone(), "untimed-drill");
    engine.set_context(RunContext {
        drill: Some(DrillContext {
            scenario: "default".into(),
            scenario_file: None,
            seed: 1,
            speed: "max".into(),
            unattended: false,
        }),
        ..RunContext::default()
    });
    let world = SimWorld::new(rb.clone(), sim::default_for(&rb), t0());
    let estimate = estimate_rto(&rb, &Default::default());
    let view = RunView::new(rb.clone(), ViewMode::Drill, "ana", "sim", estimate, t0());
    let session = session_over(
        engine,
        journal,
        Gated(world),
        PacedClock::new(t0(), None),
        &view,
    );
    let (tx, rx) = mpsc::channel(16);
    let (views_tx, mut views) = watch::channel(Arc::new(view));
    let script = async move {
        let mut pressed_early = false;
        loop {
            until(&mut views, "a gate, a manual step or the end", |v| {
                v.status != RunStatus::Running
                    || v.steps.get(v.current).is_some_and(|s| {
                        s.state == StepState::AwaitingGate
                            || (s.state == StepState::Running
                                && matches!(
                                    v.runbook.steps[v.current].kind(),
                                    StepKind::Manual | StepKind::Command
                                ))
                    })
            })
            .await;
            let v = views.borrow_and_update().clone();
            if v.status != RunStatus::Running {
                return;
            }
            let manual = v.runbook.steps[v.current].kind() == StepKind::Manual;
            if v.steps[v.current].state == StepState::AwaitingGate && manual && !pressed_early {
                // A stray `d` before the manual step has begun is refused, and moves no clock.
                pressed_early = true;
                tx.send(Command::ManualDone).await.unwrap();
                until(&mut views, "the stray press refused", |n| {
                    n.notice.is_some()
                })
                .await;
                let after = views.borrow_and_update().clone();
                assert!(
                    after.now - v.now < chrono::TimeDelta::seconds(60),
                    "the clock jumped from {} to {}",
                    v.now,
                    after.now
                );
            }
            let command = if v.steps[v.current].state == StepState::AwaitingGate {
                let gate = v.runbook.steps[v.current].gate.clone().unwrap();
                Command::Gate(GateDecision {
                    approve: true,
                    typed: gate.typed,
                    reason: Some("IC said go".into()),
                    unattended: false,
                })
            } else {
                Command::ManualDone
            };
            tx.send(command).await.unwrap();
            // Wait for the step to move on before looking again.
            let (step, state) = (v.current, v.steps[v.current].state);
            until(&mut views, "the command to land", |n| {
                n.current != step || n.steps[step].state != state || n.status != RunStatus::Running
            })
            .await;
        }
    };
    let (status_after, ()) = drive(
        session,
        rx,
        views_tx,
        script,
        Time::Paused,
        Duration::from_secs(24 * 3600),
    );
    assert_eq!(status_after, RunStatus::Finished);

    // Every manual step says its duration is assumed, and took its expected time.
    let records = verify(&std::fs::read(&path).unwrap()).unwrap().records;
    let mut manual = 0;
    for r in &records {
        let (Some(id), Event::StepSucceeded(done)) = (&r.step, &r.event) else {
            continue;
        };
        let step = rb.step(id).unwrap();
        if step.kind() == StepKind::Manual {
            manual += 1;
            assert_eq!(done.duration_source, Some(DurationSource::Assumed), "{id}");
            // Its expectation, or the five minutes a drill gives a step without one.
            let expected = step.expected_duration().map_or(300, |d| d.as_secs() as i64);
            assert_eq!(done.duration_secs, expected, "{id}");
        } else if step.kind() == StepKind::Command {
            // Drills run no command: people's work, marked done at once, so not timed.
            assert_eq!(done.duration_source, Some(DurationSource::Assumed), "{id}");
        } else {
            assert_eq!(
                done.duration_source,
                Some(DurationSource::Simulated),
                "{id}"
            );
        }
    }
    assert!(manual >= 2, "{manual}");
    // The stray press did not count as a step's time either.
    assert!(records.iter().all(|r| !matches!(&r.event,
        Event::StepSucceeded(d) if d.duration_source == Some(DurationSource::Timed))));

    // status reads the drill but learns nothing from it: same estimate, same exit code.
    let (code_after, after) = status(&dir);
    assert_eq!(after["history_runs"], 1, "{after}");
    assert_eq!(
        after["history_samples"],
        serde_json::json!({ "live": 0, "timed": 0 })
    );
    assert_eq!(
        after["rto_estimate_seconds"],
        before["rto_estimate_seconds"]
    );
    assert_eq!(code_after, code_before);
}
