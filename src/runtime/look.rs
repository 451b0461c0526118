//! The live look at what a gated change would do (a cutover's before -> after), for the gate's
//! preview. It is asked of the cloud once per gate while the session goes on serving the
//! operator, and handed to the engine, which journals it with the decision: what the operator
//! saw. (Asking again while the gate is open could put a newer answer in the record than the
//! one on screen when the key was pressed.)

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use futures_util::FutureExt;

use super::view::RunView;
use crate::cloud::Mutate;
use crate::engine::{Engine, Input, StepState};

/// (step, attempt) of the gated change, and what the cloud says it would do.
type Answer = ((String, u32), Option<String>);

/// A look on its way.
pub(super) type Looking<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

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
        let at_gate = engine
            .steps()
            .get(engine.current())
            .is_some_and(|r| r.state == StepState::AwaitingGate);
        let plan = engine.next_plan().filter(|_| at_gate)?;
        Some((plan.step, plan.attempt))
    }

    /// Whether a look on its way is for a gate no longer open (its answer would mean nothing
    /// now); the session drops it, so it cannot hold up the next gate's look.
    pub(super) fn moved_on(&mut self, engine: &Engine) -> bool {
        if self.asked.is_some() && self.asked != Self::open_gate(engine) {
            self.asked = None;
            return true;
        }
        false
    }

    /// Asks the cloud when a gate is open whose change has not been looked at. An answer
    /// already there (the simulated world's) is taken at once; otherwise the look is returned
    /// for the session to await.
    pub(super) fn ask<'a, B: Mutate + Sync>(
        &mut self,
        engine: &Engine,
        backend: &'a B,
        inputs: &mut VecDeque<Input>,
    ) -> Option<Looking<'a>> {
        let key = Self::open_gate(engine).filter(|_| self.asked.is_none())?;
        if self.seen.as_ref().is_some_and(|(k, _)| *k == key) {
            return None;
        }
        let plan = engine.next_plan()?;
        self.asked = Some(key.clone());
        let mut look: Looking<'a> = Box::pin(async move { (key, backend.preview(&plan).await) });
        match (&mut look).now_or_never() {
            Some(answer) => {
                self.answered(answer, inputs);
                None
            }
            None => Some(look),
        }
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

    /// Puts the newest answer under the engine's preview of the open gate. Whether the view
    /// changed.
    pub(super) fn show(&self, engine: &Engine, view: &mut RunView) -> bool {
        let Some(((step, attempt), Some(now_says))) = &self.seen else {
            return false;
        };
        if Self::open_gate(engine).as_ref() != Some(&(step.clone(), *attempt)) {
            return false;
        }
        let Some(current) = engine.runbook().steps.get(engine.current()) else {
            return false;
        };
        let want = Some(match engine.preview(current) {
            Some(base) => format!("{base}\n{now_says}"),
            None => now_says.clone(),
        });
        if view.preview == want {
            return false;
        }
        view.preview = want;
        true
    }
}
