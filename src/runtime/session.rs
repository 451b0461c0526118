//! A run with a person at the console: the runner driven by the operator's commands, publishing
//! a fresh [`RunView`] after each change. The console never waits on this loop; it only sends
//! commands and reads the latest view.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{mpsc, watch};

use super::clock::{Clock, PacedClock};
use super::runner::{Observer, Runner};
use super::view::{RunView, TAIL};
use crate::audit::Record;
use crate::cloud::{Mutate, Observe};
use crate::engine::objectives::{projected_recovery, RtoEstimate};
use crate::engine::{Engine, GateDecision, Input, RunStatus};

/// What the operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Gate(GateDecision),
    ManualDone,
    Skip(String),
    Retry(String),
    Abort(String),
    /// Roll back the run's completed changes (once it is over), with why.
    Rollback(String),
}

impl From<Command> for Input {
    fn from(c: Command) -> Input {
        match c {
            Command::Gate(d) => Input::Gate(d),
            Command::ManualDone => Input::ManualDone,
            Command::Skip(reason) => Input::Skip { reason },
            Command::Retry(reason) => Input::Retry { reason },
            Command::Abort(reason) => Input::Abort { reason },
            Command::Rollback(reason) => Input::Rollback {
                reason: Some(reason),
            },
        }
    }
}

/// What the console shows of the journal and of refusals: the newest records, and the last
/// thing the operator should read (a refusal, or a standing note such as AWS Health).
#[derive(Debug, Default)]
pub struct ConsoleLog {
    pub tail: VecDeque<Record>,
    pub notice: Option<String>,
    /// How far the journal's mirror in the team's state store has come, when there is one.
    pub mirror: Option<std::sync::Arc<std::sync::Mutex<crate::runtime::mirror::MirrorState>>>,
    /// `run`'s preflight, checking in the background, when there is one.
    pub preflight: Option<crate::runtime::view::PreflightSlot>,
}

impl Observer for ConsoleLog {
    fn recorded(&mut self, record: &Record) {
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(record.clone());
    }

    fn refused(&mut self, message: &str) {
        self.notice = Some(message.to_string());
    }
}

/// A run at the console.
pub struct Interactive<B> {
    pub runner: Runner<B, PacedClock, ConsoleLog>,
    pub estimate: RtoEstimate,
    pub view: RunView,
}

impl<B: Observe + Mutate + Send + Sync + 'static> Interactive<B> {
    /// Runs until the run ends or the console goes away; returns how the run stands, and the
    /// engine (for the summary).
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        views: watch::Sender<Arc<RunView>>,
    ) -> (RunStatus, Engine) {
        let runner = &mut self.runner;
        loop {
            runner.observe_if_due();
            runner.fire_timers();
            let changed = runner.pump();
            publish(runner, &mut self.view, &self.estimate, &views, changed);
            // A run that is over stays on screen until the operator leaves: it can still be
            // rolled back from here. Nothing moves meanwhile, so only a command wakes it.
            if runner.ended() {
                match commands.recv().await {
                    Some(c) => {
                        runner.observer_mut().notice = None;
                        runner.push(c.into());
                        continue;
                    }
                    None => {
                        runner.close().await;
                        return (runner.status().clone(), self.runner.into_engine());
                    }
                }
            }
            // Simulated time never jumps past an answer the run waits for, and what the engine
            // would do at its next wake (a timeout, a poll) waits for that answer too.
            let waiting = runner.waiting();
            let needed = runner.operator_needed() || waiting;
            runner.clock_mut().pace(needed);
            // The header's clock ticks once a simulated second at most.
            let tick = runner.clock().now() + TimeDelta::seconds(1);
            let wake = [
                runner.engine().next_wake().filter(|_| !waiting),
                runner.next_timer(),
                runner.next_status(),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(tick);
            // The header's clock needs a redraw each second only while time flows at real
            // speed; jumping from event to event it would only slow the drill down.
            let next = if needed || !runner.clock().jumps() {
                wake.min(tick)
            } else {
                wake
            };
            let sleep = runner.clock().real_until(next, needed);
            let expecting = runner.expecting();
            tokio::select! {
                biased;
                // An answer already there goes in before a key pressed meanwhile (an abort
                // refused for a change in flight that has in fact answered).
                () = runner.answered(), if expecting => {}
                command = commands.recv() => match command {
                    Some(c) => {
                        runner.observer_mut().notice = None;
                        match c {
                            Command::ManualDone => runner.manual_done(),
                            c => runner.push(c.into()),
                        }
                    }
                    None => {
                        // The console went away: what a change request already sent answers
                        // is journaled, then where the run stands.
                        runner.close().await;
                        return (runner.status().clone(), self.runner.into_engine());
                    }
                },
                () = tokio::time::sleep(sleep) => {
                    runner.clock_mut().catch_up(next, needed);
                    // No tick while an answer is on its way: a step's timeout is judged once
                    // it is in (each call and command is bounded by its own timeout), or a late
                    // answer would be dropped unjournaled and a retry could race it.
                    if !waiting {
                        runner.push(Input::Tick);
                    }
                }
            }
        }
    }
}

/// Publishes a fresh view when something changed or a second passed.
fn publish<B>(
    runner: &Runner<B, PacedClock, ConsoleLog>,
    v: &mut RunView,
    estimate: &RtoEstimate,
    views: &watch::Sender<Arc<RunView>>,
    changed: bool,
) where
    B: Observe + Mutate + Send + Sync + 'static,
{
    let now: DateTime<Utc> = runner.clock().now();
    let second_passed = now.timestamp() != v.now.timestamp();
    if !changed && !second_passed {
        return;
    }
    let e = runner.engine();
    v.now = now;
    v.set_run(e);
    v.observations = e
        .runbook()
        .resources
        .keys()
        .filter_map(|k| e.observation(k).map(|o| (k.clone(), o.clone())))
        .collect();
    v.errors = runner.errors().clone();
    v.change_out = runner.change_out();
    v.projected = projected_recovery(e, estimate, now, None);
    v.preview = runner
        .gate_preview()
        .or_else(|| e.gate_preview())
        .or_else(|| {
            e.runbook()
                .steps
                .get(e.current())
                .and_then(|s| e.preview(s))
        });
    let log = runner.observer();
    v.tail = log.tail.clone();
    v.notice = log.notice.clone();
    v.mirror_behind = log.mirror.as_ref().and_then(|m| {
        let m = m.lock().ok()?;
        let written = log.tail.back().map_or(0, |r| r.seq + 1);
        let behind = written.saturating_sub(m.mirrored);
        // A mirror a look behind is normal; one the store does not take is worth saying.
        (m.error.is_some() || behind >= 20).then_some(behind)
    });
    v.preflight =
        log.preflight
            .as_ref()
            .map(|slot| match slot.lock().ok().and_then(|r| r.clone()) {
                Some(report) => crate::runtime::view::Preflight::Done(report),
                None => crate::runtime::view::Preflight::Checking,
            });
    v.journal = Some(runner.journal().path().to_path_buf());
    v.version += 1;
    views.send_replace(Arc::new(v.clone()));
}
