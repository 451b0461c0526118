//! Performing the engine's effects: the journal, the operator's part, the cloud and commands.

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::FutureExt;

use super::*;
use crate::runtime::flight::{Pending, Slow};

impl<B, C, O> Runner<B, C, O>
where
    B: Observe + Mutate + Send + Sync + 'static,
    C: Clock,
    O: Observer,
{
    /// Takes what the cloud said the gated change would do; the unattended operator then
    /// decides.
    pub(super) fn looked(&mut self, look: crate::runtime::look::Answer) {
        let mut inputs = VecDeque::new();
        self.look.answered(look, &mut inputs);
        self.inputs.extend(inputs);
        self.decide_gate();
    }

    /// The unattended operator approves the gate it was shown, once its look is in.
    fn decide_gate(&mut self) {
        if self.looking.is_some() {
            return;
        }
        if self.auto_gate.take().is_none() {
            return;
        }
        let Some(open) = self.engine.open_gate() else {
            return;
        };
        let typed = open.gate.typed;
        self.inputs.push_back(Input::Gate(GateDecision {
            approve: true,
            typed,
            reason: Some("unattended drill".into()),
            unattended: true,
        }));
    }

    /// Sends a call or a command: its answer goes in at once when it is already there,
    /// otherwise it is kept in flight.
    fn send(&mut self, slow: Slow) {
        if self.closing {
            return;
        }
        let Slow { mut answer, change } = slow;
        match (&mut answer).now_or_never() {
            Some(input) => self.inputs.push_back(input),
            None => self.in_flight.add(&self.engine, Slow { answer, change }),
        }
    }

    /// Performs one effect.
    pub(super) fn perform(&mut self, effect: Effect, now: DateTime<Utc>) {
        let backend = self.backend.clone();
        match effect {
            Effect::Record(entry) => match self.journal.append(&entry) {
                Ok(record) => {
                    if let Some(w) = &mut self.approvals {
                        w.recorded(&record);
                    }
                    self.observer.recorded(&record);
                    self.inputs.push_back(Input::Recorded);
                }
                Err(e) => self.inputs.push_back(Input::JournalFailed(e.to_string())),
            },
            Effect::ShowGate { step } => {
                if self.operator == Operator::Unattended {
                    self.auto_gate = Some(step);
                }
                // What the cloud says the change would do goes into the record of the decision.
                if !self.closing {
                    // A look still out for a gate passed meanwhile (skipped while its region
                    // was slow to answer) must not stand in the way of this gate's.
                    if self.look.moved_on(&self.engine) {
                        self.looking = None;
                    }
                    if let Some(look) = self.look.ask(&self.engine, self.backend.clone()) {
                        match look {
                            Ok(answer) => self.looked(answer),
                            Err(pending) => self.looking = Some(pending),
                        }
                    }
                }
                self.decide_gate();
            }
            Effect::AwaitOperator { step } => {
                if self.operator == Operator::Unattended {
                    // In a drill the team takes the step's expected time to do it.
                    let takes = self
                        .engine
                        .runbook()
                        .step(&step)
                        .and_then(|s| s.expect_duration)
                        .unwrap_or(MANUAL_STEP_DEFAULT);
                    let at = now + TimeDelta::seconds(takes.as_secs() as i64);
                    self.timers
                        .entry(at)
                        .or_default()
                        .push(Input::ManualAssumed);
                }
            }
            // The operator said so at the gate: done now, timed as if `d` had been pressed
            // (an unattended drill takes the step's expected time, as for any manual step).
            Effect::DoneAtGate { step } if self.operator == Operator::Unattended => {
                self.perform(Effect::AwaitOperator { step }, now)
            }
            Effect::DoneAtGate { .. } => self.manual_done(),
            Effect::Observe { resource } => {
                let Some(res) = self.engine.runbook().resources.get(&resource).cloned() else {
                    let status = Err(CloudError::NotFound(resource.clone()));
                    return self.inputs.push_back(Input::Observed { resource, status });
                };
                self.send(slow(false, async move {
                    let status = backend.observe(&res, now).await;
                    Input::Observed { resource, status }
                }));
            }
            Effect::Mutate { plan, approval } => self.send(slow(true, async move {
                let result = backend.start(&plan, &approval, now).await;
                Input::Started {
                    step: plan.step,
                    attempt: plan.attempt,
                    result,
                }
            })),
            Effect::Poll { plan } => self.send(slow(false, async move {
                let result = backend.poll(&plan, now).await;
                Input::Progress {
                    step: plan.step,
                    attempt: plan.attempt,
                    result,
                }
            })),
            Effect::Reconcile { plan } => self.send(slow(true, async move {
                let result = backend.reconcile(&plan, now).await;
                Input::Reconciled {
                    step: plan.step,
                    attempt: plan.attempt,
                    result,
                }
            })),
            Effect::RunCommand {
                step,
                attempt,
                command,
                approval,
            } => {
                let s = self.engine.runbook().step(&step);
                let run = CommandRun {
                    timeout: s.and_then(|s| s.timeout).unwrap_or(COMMAND_TIMEOUT),
                    expected: s.and_then(|s| s.expect_duration).unwrap_or_default(),
                    step: step.clone(),
                    attempt,
                    command,
                };
                let mut answer =
                    Box::pin(async move { backend.run_command(&run, &approval, now).await });
                match (&mut answer).now_or_never() {
                    // An answer for a later time (a drill's command takes its expected time)
                    // waits for that time.
                    // A drill runs no command: its step is people's work. Unattended, it takes
                    // its expected time (assumed); at the console it waits for the operator to
                    // mark it done, and the scenario's answer is held until then.
                    Some(a) if self.engine.is_drill() => match self.operator {
                        Operator::Unattended => {
                            let at = a.at.unwrap_or(now);
                            self.timers
                                .entry(at)
                                .or_default()
                                .push(Input::CommandMarkedDone {
                                    step,
                                    attempt,
                                    result: a.result,
                                    assumed: true,
                                });
                        }
                        Operator::Person => self.held_command = Some((step, attempt, a.result)),
                    },
                    Some(a) => {
                        let input = Input::CommandDone {
                            step,
                            attempt,
                            result: a.result,
                        };
                        match a.at {
                            Some(at) => self.timers.entry(at).or_default().push(input),
                            None => self.inputs.push_back(input),
                        }
                    }
                    // A command still running stays in flight: it is stopped, not waited for,
                    // when the console closes.
                    None => self.send(slow(false, async move {
                        Input::CommandDone {
                            step,
                            attempt,
                            result: answer.await.result,
                        }
                    })),
                }
            }
            Effect::Refused(message) => self.observer.refused(&message),
            Effect::Finished(_) => {}
        }
    }
}

fn slow(change: bool, answer: impl Future<Output = Input> + Send + 'static) -> Slow {
    Slow {
        answer: Box::pin(answer) as Pending,
        change,
    }
}
