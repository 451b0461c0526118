//! The live look at what a gated change would do (a cutover's before -> after), for the gate's
//! preview. It is asked of the cloud while the session goes on serving the operator, asked again
//! after each status round while the gate stays open (the cloud may have moved), and handed to
//! the engine, which journals what the operator saw with the decision.

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
    /// A status round ended since the last answer: ask again.
    stale: bool,
}

impl LiveLook {
    /// Asks the cloud when a gate is open whose change has not been looked at (or not since the
    /// last status round). An answer already there (the simulated world's) is taken at once;
    /// otherwise the look is returned for the session to await.
    pub(super) fn ask<'a, B: Mutate + Sync>(
        &mut self,
        engine: &Engine,
        backend: &'a B,
        inputs: &mut VecDeque<Input>,
    ) -> Option<Looking<'a>> {
        let at_gate = engine
            .steps()
            .get(engine.current())
            .is_some_and(|r| r.state == StepState::AwaitingGate);
        let plan = engine
            .next_plan()
            .filter(|_| at_gate && self.asked.is_none())?;
        let key = (plan.step.clone(), plan.attempt);
        if self.seen.as_ref().is_some_and(|(k, _)| *k == key) && !self.stale {
            return None;
        }
        self.asked = Some(key.clone());
        self.stale = false;
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

    /// A status round ended: the next look asks the cloud again.
    pub(super) fn round_ended(&mut self) {
        self.stale = true;
    }

    /// Puts the newest answer under the engine's preview of the open gate. Whether the view
    /// changed.
    pub(super) fn show(&self, engine: &Engine, view: &mut RunView) -> bool {
        let Some((current, StepState::AwaitingGate)) = engine
            .runbook()
            .steps
            .get(engine.current())
            .zip(engine.steps().get(engine.current()).map(|r| r.state))
        else {
            return false;
        };
        let Some(((step, _), Some(now_says))) = &self.seen else {
            return false;
        };
        if *step != current.id {
            return false;
        }
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
