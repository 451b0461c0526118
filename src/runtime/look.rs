//! The live look at what a gated change would do (a cutover's before -> after), for the gate's
//! preview. It is asked of the cloud once per gate while the run goes on, and handed to the
//! engine, which journals it with the decision: what the operator saw. (Asking again while the
//! gate is open could put a newer answer in the record than the one on screen when the key was
//! pressed.)

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;

use crate::cloud::Mutate;
use crate::engine::{Engine, Input};

/// (step, attempt) of the gated change, and what the cloud says it would do.
pub(super) type Answer = ((String, u32), Option<String>);

/// A look on its way.
pub(super) type Looking = Pin<Box<dyn Future<Output = Answer> + Send>>;

#[derive(Default)]
pub(super) struct LiveLook {
    /// The newest answer, for the gate it was asked for.
    seen: Option<Answer>,
    /// Asked for (step, attempt), answer not yet in.
    asked: Option<(String, u32)>,
}

impl LiveLook {
    /// The open gate's (step, attempt), when a gate is open on a change.
    fn open_gate(engine: &Engine) -> Option<(String, u32)> {
        let plan = engine.gate_plan()?;
        Some((plan.step, plan.attempt))
    }

    /// Whether a look on its way is for a gate no longer open (its answer would mean nothing
    /// now); the runner drops it, so it cannot hold up the next gate's look.
    pub(super) fn moved_on(&mut self, engine: &Engine) -> bool {
        if self.asked.is_some() && self.asked != Self::open_gate(engine) {
            self.asked = None;
            return true;
        }
        false
    }

    /// Asks the cloud when a gate is open whose change has not been looked at: the answer when
    /// it is already there (the simulated world's), else the look on its way.
    pub(super) fn ask<B: Mutate + Send + Sync + 'static>(
        &mut self,
        engine: &Engine,
        backend: Arc<B>,
    ) -> Option<Result<Answer, Looking>> {
        let key = Self::open_gate(engine).filter(|_| self.asked.is_none())?;
        if self.seen.as_ref().is_some_and(|(k, _)| *k == key) {
            return None;
        }
        let plan = engine.gate_plan()?;
        self.asked = Some(key.clone());
        let mut look: Looking = Box::pin(async move { (key, backend.preview(&plan).await) });
        Some(match (&mut look).now_or_never() {
            Some(answer) => Ok(answer),
            None => Err(look),
        })
    }

    /// Takes an answer: the engine gets it for the decision's record.
    pub(super) fn answered(&mut self, answer: Answer, inputs: &mut VecDeque<Input>) {
        self.asked = None;
        let ((step, attempt), preview) = &answer;
        if let Some(preview) = preview {
            inputs.push_back(Input::LivePreview {
                step: step.clone(),
                attempt: *attempt,
                preview: preview.clone(),
            });
        }
        self.seen = Some(answer);
    }

    /// The open gate's preview with what the cloud said under it, when the newest answer is
    /// for the gate open now.
    pub(super) fn shown(&self, engine: &Engine) -> Option<String> {
        let ((step, attempt), Some(now_says)) = self.seen.as_ref()? else {
            return None;
        };
        if Self::open_gate(engine).as_ref() != Some(&(step.clone(), *attempt)) {
            return None;
        }
        Some(match engine.gate_preview() {
            Some(base) => format!("{base}\n{now_says}"),
            None => now_says.clone(),
        })
    }
}
