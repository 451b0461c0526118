//! What a run has on its way: answers from the cloud and from commands, each for the step
//! attempt that asked. Change requests are kept apart, because their answers say what a change
//! made and must reach the journal whatever else happens.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};

use crate::engine::{Engine, Input};

/// An answer on its way from the cloud or a command.
pub(super) type Pending = Pin<Box<dyn Future<Output = Input> + Send>>;

/// An answer on its way, and whether it answers a change request: that answer says what the
/// change made, so it must reach the journal whatever else happens (even the console closing).
pub(super) struct Slow {
    pub answer: Pending,
    pub change: bool,
}

/// A step (by index) and its attempt.
type Attempt = (usize, u32);

type Tagged = Pin<Box<dyn Future<Output = (Attempt, Input)> + Send>>;

#[derive(Default)]
pub(super) struct InFlight {
    changes: FuturesUnordered<Pending>,
    others: FuturesUnordered<Tagged>,
    /// How many of `others` each attempt still has out.
    out: BTreeMap<Attempt, usize>,
}

/// The engine's current step attempt.
fn current(engine: &Engine) -> Attempt {
    engine.current_attempt()
}

impl InFlight {
    /// Keeps an answer on its way, for the engine's current attempt.
    pub(super) fn add(&mut self, engine: &Engine, slow: Slow) {
        let at = current(engine);
        if slow.change {
            self.changes.push(slow.answer);
        } else {
            *self.out.entry(at).or_default() += 1;
            self.others
                .push(Box::pin(slow.answer.map(move |input| (at, input))));
        }
    }

    fn settled(&mut self, at: Attempt) {
        if let Some(n) = self.out.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.out.remove(&at);
            }
        }
    }

    /// Whether the engine's current attempt waits for an answer. (What an earlier attempt or
    /// step still has out is answered in time, and the engine ignores it; it holds nothing up.)
    pub(super) fn waited_for(&self, engine: &Engine) -> bool {
        !self.changes.is_empty() || self.out.contains_key(&current(engine))
    }

    /// Whether a change request's answer is on its way.
    pub(super) fn change_out(&self) -> bool {
        !self.changes.is_empty()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.others.is_empty()
    }

    /// The next answer, changes first; pending forever when nothing is on its way.
    pub(super) async fn next(&mut self) -> Input {
        tokio::select! {
            biased;
            Some(answer) = self.changes.next(), if !self.changes.is_empty() => answer,
            Some((at, answer)) = self.others.next(), if !self.others.is_empty() => {
                self.settled(at);
                answer
            }
            else => std::future::pending().await,
        }
    }

    /// The next answer to a change request, or `None` when none is out.
    pub(super) async fn next_change(&mut self) -> Option<Input> {
        self.changes.next().await
    }
}
