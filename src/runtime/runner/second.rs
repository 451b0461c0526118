//! The runner's part in second approvals: while the step in hand waits for a second approver,
//! it looks in the state store every [`EVERY`] for an approval of exactly that request by
//! another person (`src/runtime/approvals.rs`), and hands the one that passes to the engine.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::audit::Record;
use crate::engine::{Engine, Input};
use crate::runtime::approvals::{self, Found, Tracker};
use crate::runtime::store::Store;

/// How often the store is looked at while a request waits.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(1);

type Look = Pin<Box<dyn Future<Output = Result<Found, String>> + Send>>;

/// Where approvals come from: the team's state store, for this run.
pub struct Approvals {
    pub store: Arc<dyn Store>,
    /// The run's place in the store (`runs/RUNBOOK/RUN_ID`).
    pub prefix: String,
    /// The run's URL, for `pilotlight approve URL`.
    pub url: String,
}

pub(super) struct Watch {
    store: Arc<dyn Store>,
    tracker: Tracker,
    /// Approvals already refused (and said so): not read again.
    told: Vec<String>,
    looking: Option<Look>,
}

impl Watch {
    pub(super) fn new(a: Approvals, records: &[Record]) -> Watch {
        let mut tracker = Tracker::new(&a.prefix);
        for r in records {
            tracker.feed(r);
        }
        Watch {
            store: a.store,
            tracker,
            told: Vec::new(),
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

    /// The next look at the store (after a pause): what it found.
    pub(super) async fn next(&mut self) -> Result<Found, String> {
        if self.looking.is_none() {
            let Some(req) = self.tracker.open().cloned() else {
                return std::future::pending().await;
            };
            let (store, told) = (self.store.clone(), self.told.clone());
            self.looking = Some(Box::pin(async move {
                tokio::time::sleep(EVERY).await;
                tokio::task::spawn_blocking(move || approvals::look(&store, &req, &told))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }));
        }
        let found = match self.looking.as_mut() {
            Some(look) => look.await,
            None => return std::future::pending().await,
        };
        self.looking = None;
        found
    }

    /// Takes what a look found: the approval that passes (as the engine's input), and the
    /// refusals not said before.
    pub(super) fn took(&mut self, found: Found) -> (Option<Input>, Vec<String>) {
        let mut said = Vec::new();
        for (key, why) in found.refused {
            self.told.push(key);
            said.push(why);
        }
        (found.approval.map(Input::SecondApproval), said)
    }
}
