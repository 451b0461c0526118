//! The runner's part in second approvals: while the step in hand waits for a second approver,
//! it looks in the state store every [`EVERY`] for an approval of exactly that request by
//! another person (`src/runtime/approvals.rs`), and hands the one that passes to the engine.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::audit::Record;
use crate::engine::{Engine, Input};
use crate::runtime::approvals::{self, Found, Request, Tracker};
use crate::runtime::store::Store;

/// How often the store is looked at while a request waits.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A look at the store for one request: what it found, or why it could not look.
type Look = Pin<Box<dyn Future<Output = (Request, Result<Found, String>)> + Send>>;

/// Where approvals come from: the team's state store, for this run.
pub struct Approvals {
    pub store: Arc<dyn Store>,
    /// The run's place in the store (`runs/RUNBOOK/RUN_ID`).
    pub prefix: String,
    /// The run's URL, for `pilotlight approve URL`.
    pub url: String,
    /// Whether the run is live: then an approval must name the AWS principal that made it.
    pub live: bool,
}

pub(super) struct Watch {
    store: Arc<dyn Store>,
    live: bool,
    tracker: Tracker,
    /// Approvals already refused (and said so): not read again.
    told: Vec<String>,
    /// Why the store could not be read at the last look, once said (not said again).
    failing: Option<String>,
    /// The look on its way, and the request it is for.
    looking: Option<(Request, Look)>,
}

impl Watch {
    pub(super) fn new(a: Approvals, records: &[Record]) -> Watch {
        let mut tracker = Tracker::new(&a.prefix);
        for r in records {
            tracker.feed(r);
        }
        Watch {
            store: a.store,
            live: a.live,
            tracker,
            told: Vec::new(),
            failing: None,
            looking: None,
        }
    }

    pub(super) fn recorded(&mut self, record: &Record) {
        self.tracker.feed(record);
    }

    /// Whether the engine waits for a second approval of the request the journal holds.
    pub(super) fn wants(&self, engine: &Engine) -> bool {
        match (engine.awaiting_second(), self.tracker.open()) {
            (Some(step), Some(req)) => step.id == req.step,
            _ => false,
        }
    }

    /// The next look at the store (after a pause), for the request waiting now.
    pub(super) async fn next(&mut self) -> Option<(Request, Result<Found, String>)> {
        let open = self.tracker.open()?.clone();
        // A look begun for another request (one since closed) is of no use now.
        if self.looking.as_ref().is_some_and(|(req, _)| *req != open) {
            self.looking = None;
        }
        if self.looking.is_none() {
            let (store, told, live) = (self.store.clone(), self.told.clone(), self.live);
            let req = open.clone();
            let look: Look = Box::pin(async move {
                tokio::time::sleep(EVERY).await;
                let asked = req.clone();
                let found = tokio::task::spawn_blocking(move || {
                    approvals::look(&store, &asked, &told, live)
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
                (req, found)
            });
            self.looking = Some((open, look));
        }
        let done = self.looking.as_mut()?.1.as_mut().await;
        self.looking = None;
        Some(done)
    }

    /// Takes what a look found: the approval that passes (as the engine's input), if it is for
    /// the request still waiting, and what to tell the operator (refusals, a store that cannot
    /// be read), each once.
    pub(super) fn took(
        &mut self,
        (asked, found): (Request, Result<Found, String>),
    ) -> (Option<Input>, Vec<String>) {
        let mut said = Vec::new();
        let found = match found {
            Ok(f) => {
                self.failing = None;
                f
            }
            Err(e) => {
                if self.failing.as_deref() != Some(e.as_str()) {
                    said.push(format!(
                        "cannot read second approvals from the state store: {e} (still looking; check the store and this machine's access to it)"
                    ));
                    self.failing = Some(e);
                }
                return (None, said);
            }
        };
        for (key, why) in found.refused {
            self.told.push(key);
            said.push(why);
        }
        // Only for the request that still waits: one confirmed again since is another request.
        let current = self.tracker.open().is_some_and(|open| *open == asked);
        let approval = found
            .approval
            .filter(|a| current && a.bound_to == asked.bound_to)
            .map(Input::SecondApproval);
        (approval, said)
    }
}
