//! What the console's session has on its way: answers from the cloud and from commands, each
//! for the step attempt that asked. Change requests are kept apart, because their answers say
//! what a change made and must reach the journal whatever else happens.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};

use super::driver::{Pending, Slow};
use crate::engine::{Engine, Input};

/// A step (by index) and its attempt.
type Attempt = (usize, u32);

type Tagged<'a> = Pin<Box<dyn Future<Output = (Attempt, Input)> + Send + 'a>>;

#[derive(Default)]
pub(super) struct InFlight<'a> {
    changes: FuturesUnordered<Pending<'a>>,
    others: FuturesUnordered<Tagged<'a>>,
    /// How many of `others` each attempt still has out.
    out: BTreeMap<Attempt, usize>,
}

/// The engine's current step attempt.
fn current(engine: &Engine) -> Attempt {
    let step = engine.current();
    (step, engine.steps().get(step).map_or(0, |r| r.attempt))
}

impl<'a> InFlight<'a> {
    /// Takes what `perform` left on its way, for the engine's current attempt.
    pub(super) fn add(&mut self, engine: &Engine, slow: Vec<Slow<'a>>) {
        let at = current(engine);
        for Slow { answer, change } in slow {
            if change {
                self.changes.push(answer);
            } else {
                *self.out.entry(at).or_default() += 1;
                self.others
                    .push(Box::pin(answer.map(move |input| (at, input))));
            }
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

    /// Answers already there (the simulated world answers at once), changes first.
    pub(super) fn ready(&mut self) -> Vec<Input> {
        let mut answers = Vec::new();
        while let Some(Some(answer)) = self.changes.next().now_or_never() {
            answers.push(answer);
        }
        while let Some(Some((at, answer))) = self.others.next().now_or_never() {
            self.settled(at);
            answers.push(answer);
        }
        answers
    }

    /// Whether the engine's current attempt waits for an answer. (What an earlier attempt or
    /// step still has out is answered in time, and the engine ignores it; it holds nothing up.)
    pub(super) fn waited_for(&self, engine: &Engine) -> bool {
        !self.changes.is_empty() || self.out.contains_key(&current(engine))
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
