//! Read-only views for `watch`: following another operator's journal (no load on AWS however
//! many viewers), or looking at the simulated world's health.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Utc;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::watch;

use super::appended::{appended, appended_store, StoreRun};
use super::view::{RunView, TAIL};
use crate::audit::{Chain, Record};
use crate::cloud::{Observe, ReadOnly};
use crate::engine::objectives::{projected_recovery, RtoEstimate};
use crate::engine::{Engine, State};
use crate::runbook::Runbook;

/// How often a followed journal is looked at.
pub const FOLLOW_EVERY: StdDuration = StdDuration::from_millis(500);

/// Publishes the run recorded in `journal` (a file or a run's folder, or in `in_store`, a run
/// in an S3 state store) each time it grows, until the console goes away.
/// Only what was appended is read, verified against the last record and folded into the run:
/// the cost of a look does not grow with the journal, and nothing but the console's tail of
/// records is kept.
pub async fn follow(
    runbook: Arc<Runbook>,
    journal: PathBuf,
    mut in_store: Option<StoreRun>,
    estimate: RtoEstimate,
    mut view: RunView,
    views: watch::Sender<Arc<RunView>>,
) {
    let mut chain = Chain::default();
    let mut state: Option<State> = None;
    let mut tail: std::collections::VecDeque<Record> = std::collections::VecDeque::new();
    // The journal's length at the last look: an unchanged file is not read again.
    let mut looked_at: Option<u64> = None;
    // A journal that failed verification (or replay) is not read further: the notice stays.
    let mut broken = false;
    // Between records the shown time runs on from the last one (at real speed: the pace of
    // people's work in a drill, the wall clock in a live run), until the run ends or pauses.
    let mut clock: Option<Ticking> = None;
    loop {
        if views.is_closed() {
            return;
        }
        if let Some(t) = &clock {
            let now = t.now();
            if now - view.now >= chrono::TimeDelta::seconds(1) {
                view.now = now;
                view.projected = projected_recovery(&t.engine, &estimate, now, None);
                view.version += 1;
                views.send_replace(Arc::new(view.clone()));
            }
        }
        // (the error, and whether reading on could ever help: not after tampering)
        let grown = match broken {
            true => Ok(None),
            false => match &mut in_store {
                Some(run) => appended_store(run, chain.consumed).await,
                None => appended(&journal, chain.consumed, &mut looked_at).await,
            },
        };
        // A long journal is read a piece at a time, without pausing, until it is caught up.
        let mut behind = false;
        let grown = grown.and_then(|bytes| match bytes {
            Some((b, at_end)) => {
                let before = chain.consumed;
                let mut grown = chain.feed(&b).map_err(|t| (t.to_string(), true))?;
                // (a piece that holds no whole record is not hurried over again)
                behind = !at_end && chain.consumed > before;
                if behind {
                    // A record cut by the piece's end is read whole with the next piece.
                    grown.torn_tail = None;
                }
                Ok(Some(grown))
            }
            None => Ok(None),
        });
        match grown {
            Ok(None) => {}
            Ok(Some(grown)) => {
                let fresh = !grown.records.is_empty();
                let folded = fold(&runbook, &mut state, &grown.records);
                for r in grown.records {
                    if tail.len() == TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(r);
                }
                let torn = grown
                    .torn_tail
                    .map(|t| format!("the journal's last line ({}) is torn", t.line));
                match (folded, &state) {
                    (Err(e), _) => {
                        broken = true;
                        // Said at once, even half-way through a long journal.
                        behind = false;
                        clock = None;
                        view.notice = Some(format!("cannot follow {}: {e}", journal.display()));
                    }
                    (Ok(()), Some(_)) if behind => {}
                    (Ok(()), Some(_)) if !fresh && torn != view.notice => {
                        // Nothing new (the journal is back, a torn line gone): just say so.
                        view.notice = torn;
                    }
                    (Ok(()), Some(st)) if fresh => {
                        let engine = Engine::from_state(runbook.clone(), st.clone());
                        let last = tail.back().map_or_else(Utc::now, |r| r.at);
                        view.now = last;
                        view.set_run(&engine);
                        view.observations = runbook
                            .resources
                            .keys()
                            .filter_map(|k| engine.observation(k).map(|o| (k.clone(), o.clone())))
                            .collect();
                        view.observed_at = engine
                            .state()
                            .snapshot_at
                            .iter()
                            .map(|(k, at)| (k.clone(), *at))
                            .collect();
                        view.projected = projected_recovery(&engine, &estimate, last, None);
                        view.tail = tail.clone();
                        view.notice = torn;
                        clock = Ticking::after(engine, tail.back(), last);
                    }
                    _ => {}
                }
                if behind {
                    continue;
                }
                view.journal = Some(journal.clone());
                view.version += 1;
                views.send_replace(Arc::new(view.clone()));
            }
            Err((e, fatal)) => {
                broken = broken || fatal;
                // Looked at again in full once it can be read: it may come back as it was.
                looked_at = None;
                let msg = format!("cannot follow {}: {e} (still trying; check the path, or that the journal is intact with `pilotlight audit verify`)", journal.display());
                let msg = match broken {
                    true => format!(
                        "cannot follow {}: {e} (check it with `pilotlight audit verify`)",
                        journal.display()
                    ),
                    false => msg,
                };
                if view.notice.as_deref() != Some(msg.as_str()) {
                    // A journal that cannot be read for now does not stop the run's time;
                    // one found tampered with does.
                    if fatal {
                        clock = None;
                    }
                    view.notice = Some(msg);
                    view.version += 1;
                    views.send_replace(Arc::new(view.clone()));
                }
            }
        }
        // Wake at once when the console goes away, not after the pause.
        tokio::select! {
            () = views.closed() => return,
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
    }
}

/// Folds `records` into the run (the first must start it).
fn fold(
    runbook: &Runbook,
    state: &mut Option<State>,
    records: &[Record],
) -> Result<(), crate::engine::ReplayError> {
    if records.is_empty() {
        return Ok(());
    }
    match state {
        None => *state = Some(State::from_records(runbook, records)?),
        Some(st) => {
            for r in records {
                st.apply(runbook, r.at, r.step.as_deref(), &r.event)?;
            }
        }
    }
    Ok(())
}

/// The followed run's time between its records.
struct Ticking {
    engine: Engine,
    /// The run's time when its last record was read.
    base: chrono::DateTime<Utc>,
    read_at: tokio::time::Instant,
}

impl Ticking {
    /// A clock for a run going on (or rolling back), from its last record at `last`; `None` for
    /// a run that has ended or paused, whose time stands still.
    fn after(
        engine: Engine,
        newest: Option<&Record>,
        last: chrono::DateTime<Utc>,
    ) -> Option<Ticking> {
        use crate::engine::RunStatus;
        let paused = newest.is_some_and(|r| r.kind() == crate::audit::EventKind::RunPaused);
        let going_on = matches!(engine.status(), RunStatus::Running | RunStatus::Blocked(_))
            || engine.rolling_back();
        if paused || !going_on {
            return None;
        }
        // A live run's records are wall-clock times: its time is now. A drill's are simulated.
        let base = match engine.is_drill() {
            true => last,
            false => last.max(Utc::now()),
        };
        Some(Ticking {
            engine,
            base,
            read_at: tokio::time::Instant::now(),
        })
    }

    fn now(&self) -> chrono::DateTime<Utc> {
        let gone = chrono::TimeDelta::from_std(self.read_at.elapsed()).unwrap_or_default();
        self.base + gone
    }
}

/// Publishes the health of every resource in a world, looked at every `every`, through a
/// backend that refuses any change. Each part of the backend (for AWS: each service and region)
/// is shown as soon as it answers; a silent one shows its error and the last thing it said.
///
/// `standing` is a note that arrives when it arrives (AWS Health): it never holds up a refresh.
pub async fn watch_world<B: Observe + Sync>(
    backend: ReadOnly<B>,
    mut view: RunView,
    every: StdDuration,
    views: watch::Sender<Arc<RunView>>,
    standing: Option<tokio::task::JoinHandle<Option<String>>>,
) {
    let started = Utc::now();
    let t0 = view.now;
    // What is on the notice line when nothing is failing (e.g. AWS Health).
    let mut note = view.notice.clone();
    let mut standing = standing;
    loop {
        if views.is_closed() {
            return;
        }
        let now = t0 + (Utc::now() - started);
        let resources = view.runbook.resources.values().cloned().collect();
        let mut batches = std::pin::pin!(backend.observe_batches(resources, now));
        loop {
            let batch = tokio::select! {
                () = views.closed() => return,
                said = async { standing.as_mut()?.await.ok() }, if standing.is_some() => {
                    standing = None;
                    note = said.flatten();
                    publish_note(&mut view, &note, &views);
                    continue;
                }
                b = batches.next() => b,
            };
            let Some(first) = batch else { break };
            // Every batch that is already there goes into one view: a backend that answers at
            // once (the simulated world, one resource a batch) must not cost a redraw each.
            let mut ready = vec![first];
            while let Some(Some(more)) = batches.next().now_or_never() {
                ready.push(more);
            }
            for (name, result) in ready.into_iter().flatten() {
                match result {
                    Ok(s) => {
                        view.observations.insert(name.clone(), s);
                        view.errors.remove(&name);
                    }
                    Err(e) => {
                        view.errors.insert(name, e.to_string());
                    }
                }
            }
            view.notice = errors_notice(&view.errors).or_else(|| note.clone());
            view.now = t0 + (Utc::now() - started);
            view.version += 1;
            views.send_replace(Arc::new(view.clone()));
        }
        let pause = tokio::time::sleep(every);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = views.closed() => return,
                said = async { standing.as_mut()?.await.ok() }, if standing.is_some() => {
                    standing = None;
                    note = said.flatten();
                    publish_note(&mut view, &note, &views);
                }
                () = &mut pause => break,
            }
        }
    }
}

/// Shows the errors of the last look, else the standing note.
fn publish_note(view: &mut RunView, note: &Option<String>, views: &watch::Sender<Arc<RunView>>) {
    view.notice = errors_notice(&view.errors).or_else(|| note.clone());
    view.version += 1;
    views.send_replace(Arc::new(view.clone()));
}

/// One line naming what could not be observed and why (each distinct reason once).
pub fn errors_notice(errors: &std::collections::HashMap<String, String>) -> Option<String> {
    if errors.is_empty() {
        return None;
    }
    let mut reasons: Vec<&str> = errors.values().map(String::as_str).collect();
    reasons.sort_unstable();
    reasons.dedup();
    Some(format!(
        "{} resource(s) not answering: {}",
        errors.len(),
        reasons.join("; ")
    ))
}
