//! Driving the engine in tests: up to a change request with its approval, and a recorder of
//! what a run journals.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::Utc;
use pilotlight::audit::Record;
use pilotlight::cloud::{Change, Gated, Observe};
use pilotlight::engine::{Approval, Effect, Engine, GateDecision, Input};
use pilotlight::model::ActionPlan;
use pilotlight::runbook::Runbook;
use pilotlight::runtime::clock::{Speed, VirtualClock};
use pilotlight::runtime::runner::{Observer, Operator, Runner};

/// Drives an engine through the runbook's first step (an action) up to its change request,
/// approving the gate, and returns the plan and the approval the engine minted for it.
pub fn plan_and_approval(runbook: &Arc<Runbook>, run_id: &str) -> (ActionPlan, Approval) {
    let mut engine = Engine::new(runbook.clone(), run_id);
    let now = Utc::now();
    let mut inputs = VecDeque::from([Input::Start]);
    while let Some(input) = inputs.pop_front() {
        for effect in engine.handle(input, now) {
            match effect {
                Effect::Record(_) => inputs.push_back(Input::Recorded),
                Effect::ShowGate { step } => {
                    let typed = runbook
                        .step(&step)
                        .and_then(|s| s.gate.as_ref())
                        .and_then(|g| g.typed.clone());
                    // A deployment is approved only with its change set shown (the look that
                    // made it is the test's to do, with the plan this returns).
                    let deploys = runbook.step(&step).is_some_and(|s| {
                        matches!(&s.body, pilotlight::runbook::StepBody::Action { call, .. }
                            if call.action == pilotlight::runbook::ActionKind::CloudformationDeploy)
                    });
                    if deploys {
                        let token = pilotlight::model::token(run_id, &step, 1);
                        inputs.push_back(Input::LivePreview {
                            step: step.clone(),
                            attempt: 1,
                            preview: format!("change set {token} (the test's look)"),
                        });
                    }
                    inputs.push_back(Input::Gate(GateDecision {
                        approve: true,
                        typed,
                        reason: Some("test".into()),
                        unattended: true,
                    }));
                }
                Effect::Mutate { plan, approval } => return (plan, approval),
                other => panic!("unexpected effect before the change: {other:?}"),
            }
        }
    }
    panic!("the engine requested no change")
}

/// Journal records as they are written, and what the engine refused.
#[derive(Default)]
pub struct Seen {
    pub records: Vec<Record>,
    pub refused: Vec<String>,
}

impl Observer for Seen {
    fn recorded(&mut self, r: &Record) {
        let step = r.step.as_deref().unwrap_or("-");
        println!("  #{:<3} {:<24} {:?}", r.seq, step, r.event);
        self.records.push(r.clone());
    }

    fn refused(&mut self, message: &str) {
        println!("  refused: {message}");
        self.refused.push(message.to_string());
    }
}

/// A runner for `drill --unattended`-style runs in tests: `engine` writing to `journal` against
/// `backend` (behind the approval check), simulated time from `t0` jumping from event to event,
/// observing every resource each `status_every` if set.
pub fn unattended<B, O>(
    engine: Engine,
    journal: pilotlight::audit::Journal,
    backend: B,
    t0: chrono::DateTime<Utc>,
    observer: O,
    first: Input,
    status_every: Option<chrono::TimeDelta>,
) -> Runner<Gated<B>, VirtualClock, O>
where
    B: Observe + Change + Send + Sync + 'static,
    O: Observer,
{
    let runner = Runner::new(
        engine,
        journal,
        Arc::new(Gated(backend)),
        VirtualClock::new(t0, Speed::Max),
        observer,
        Operator::Unattended,
        first,
    );
    match status_every {
        Some(every) => runner.observe_every(every),
        None => runner,
    }
}

/// A backend whose cloud is `B`'s but whose commands run for real on this machine, as a live
/// run's do (the simulated world only pretends to run them).
pub struct RealCommands<B>(pub B);

impl<B: Observe> Observe for RealCommands<B> {
    fn observe(
        &self,
        resource: &pilotlight::runbook::Resource,
        now: chrono::DateTime<Utc>,
    ) -> impl std::future::Future<
        Output = Result<pilotlight::model::ResourceStatus, pilotlight::model::CloudError>,
    > + Send {
        self.0.observe(resource, now)
    }
}

impl<B: Change> Change for RealCommands<B> {
    fn start(
        &self,
        plan: &ActionPlan,
        approval: &pilotlight::engine::Approval,
        now: chrono::DateTime<Utc>,
    ) -> impl std::future::Future<
        Output = Result<pilotlight::model::Started, pilotlight::model::CloudError>,
    > + Send {
        self.0.start(plan, approval, now)
    }

    fn poll(
        &self,
        plan: &ActionPlan,
        now: chrono::DateTime<Utc>,
    ) -> impl std::future::Future<
        Output = Result<pilotlight::model::Progress, pilotlight::model::CloudError>,
    > + Send {
        self.0.poll(plan, now)
    }

    fn reconcile(
        &self,
        plan: &ActionPlan,
        now: chrono::DateTime<Utc>,
    ) -> impl std::future::Future<
        Output = Result<Option<pilotlight::model::Started>, pilotlight::model::CloudError>,
    > + Send {
        self.0.reconcile(plan, now)
    }
}
