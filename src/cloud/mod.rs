//! Backends behind one interface: live AWS (`aws`) and the simulated world (`sim`). The engine
//! never calls them; the runtime does, and turns what they answer into engine inputs.
//!
//! A backend implements [`Observe`] (reads) and [`Change`] (changes, and a step's command). The
//! runtime reaches changes only through [`Mutate`], which two wrappers implement: [`Gated`], the
//! one place that checks a change carries the approval of its own step, and [`ReadOnly`], which
//! refuses every change whatever asks for it.

pub mod aws;
mod command;
pub mod inspect;
pub mod leased;
pub mod sim;

use std::future::Future;

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::engine::Approval;
use crate::model::{ActionPlan, CloudError, Progress, ResourceStatus, Started};
use crate::runbook::{Duration, Resource};

pub use command::run_local;
pub use inspect::{Denial, Inspect, PermissionCheck};

/// One resource's observation, by its runbook name.
pub type Observation = (String, Result<ResourceStatus, CloudError>);

/// Reads: health and recovery points.
pub trait Observe: Sync {
    fn observe(
        &self,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ResourceStatus, CloudError>> + Send;

    /// Observes many resources. Answers arrive in batches as each part of the backend answers
    /// (for AWS: each service and region), so a silent region does not hold up the others.
    fn observe_batches<'a>(
        &'a self,
        resources: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Vec<Observation>> + Send + 'a {
        futures_util::stream::iter(resources).then(move |r| async move {
            let status = self.observe(&r, now).await;
            vec![(r.name, status)]
        })
    }
}

/// Every observation of `resources`, once all have answered.
pub async fn observe_all<B: Observe>(
    backend: &B,
    resources: Vec<Resource>,
    now: DateTime<Utc>,
) -> Vec<Observation> {
    backend
        .observe_batches(resources, now)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// A command step's command, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRun {
    pub step: String,
    pub attempt: u32,
    /// The command with every step output filled in.
    pub command: String,
    /// How long it may run before it is stopped.
    pub timeout: Duration,
    /// How long the step is expected to take (what a drill lets it take).
    pub expected: Duration,
}

/// What a command answered, and when: `at` is the backend's time of the answer when it is not
/// now (a drill's command takes the step's expected time in simulated time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAnswer {
    /// Exit code and standard output, or why it did not run to the end.
    pub result: Result<(i32, String), String>,
    pub at: Option<DateTime<Utc>>,
}

/// What a backend does to the world. A change and a command each take an [`Approval`], which
/// only the engine's gate logic can create; [`Gated`] checks it is for the change's own step
/// before passing it on, and [`ReadOnly`] refuses every change.
pub trait Change: Sync {
    /// Requests the change. Idempotent for the plan's token: a repeat returns what the first made.
    fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Started, CloudError>> + Send;

    /// How far the change has come (for `wait_until`).
    fn poll(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Progress, CloudError>> + Send;

    /// What the change would do as the cloud stands now (a cutover's before -> after), for the
    /// gate's preview. Reads only, but for a deployment's change set, which this makes: it
    /// changes no resource, and it is what the approval will run.
    fn preview(&self, plan: &ActionPlan) -> impl Future<Output = Option<String>> + Send {
        let _ = plan;
        async { None }
    }

    /// After a crash: what an in-flight request made, if anything reached the cloud.
    fn reconcile(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Started>, CloudError>> + Send;

    /// Runs a command step's command: for real on this machine ([`run_local`]), unless the
    /// backend is a simulation.
    fn run_command(
        &self,
        run: &CommandRun,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> impl Future<Output = CommandAnswer> + Send {
        let _ = (approval, now);
        let (command, timeout) = (run.command.clone(), run.timeout);
        async move {
            CommandAnswer {
                result: run_local(&command, timeout).await,
                at: None,
            }
        }
    }
}

/// Changes as the runtime asks for them: each needs an [`Approval`], which only the engine's
/// gate logic can create.
pub trait Mutate: Sync {
    fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Started, CloudError>> + Send;
    fn poll(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Progress, CloudError>> + Send;
    fn preview(&self, plan: &ActionPlan) -> impl Future<Output = Option<String>> + Send;
    fn reconcile(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Started>, CloudError>> + Send;
    fn run_command(
        &self,
        run: &CommandRun,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> impl Future<Output = CommandAnswer> + Send;
}

/// Any backend behind the one check that a change (or a command) carries the approval of its
/// own step.
pub struct Gated<B>(pub B);

fn refused_approval(approval: &Approval, step: &str) -> Option<String> {
    (approval.step() != step).then(|| {
        format!(
            "the approval is for step `{}`, not `{step}`",
            approval.step()
        )
    })
}

impl<B: Change> Mutate for Gated<B> {
    async fn start(
        &self,
        plan: &ActionPlan,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        if let Some(why) = refused_approval(approval, &plan.step) {
            return Err(CloudError::Refused(why));
        }
        self.0.start(plan, approval, now).await
    }

    async fn poll(&self, plan: &ActionPlan, now: DateTime<Utc>) -> Result<Progress, CloudError> {
        self.0.poll(plan, now).await
    }

    async fn preview(&self, plan: &ActionPlan) -> Option<String> {
        self.0.preview(plan).await
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        self.0.reconcile(plan, now).await
    }

    async fn run_command(
        &self,
        run: &CommandRun,
        approval: &Approval,
        now: DateTime<Utc>,
    ) -> CommandAnswer {
        if let Some(why) = refused_approval(approval, &run.step) {
            return CommandAnswer {
                result: Err(why),
                at: None,
            };
        }
        self.0.run_command(run, approval, now).await
    }
}

/// A backend for read-only consoles (`watch`, `status`): reads pass through, every change is
/// refused before it is sent, whatever asks for it.
pub struct ReadOnly<B>(pub B);

/// Preflight reads through a read-only backend as through the backend.
impl<B: Inspect> Inspect for ReadOnly<B> {
    async fn exists(&self, thing: &crate::engine::preflight::Named) -> Result<bool, CloudError> {
        self.0.exists(thing).await
    }

    async fn caller_in(&self, region: &str) -> Result<crate::model::Identity, CloudError> {
        self.0.caller_in(region).await
    }

    async fn denied(
        &self,
        caller: &crate::model::Identity,
        checks: &[PermissionCheck],
    ) -> Result<Option<Vec<Denial>>, CloudError> {
        self.0.denied(caller, checks).await
    }

    async fn health_note(&self) -> Option<String> {
        self.0.health_note().await
    }

    async fn newest_point(
        &self,
        call: &crate::runbook::ActionCall,
        resource: &Resource,
    ) -> Result<Option<(String, DateTime<Utc>)>, CloudError> {
        self.0.newest_point(call, resource).await
    }
}

impl<B: Sync> Mutate for ReadOnly<B> {
    async fn start(
        &self,
        plan: &ActionPlan,
        _: &Approval,
        _: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        Err(CloudError::Refused(format!(
            "read-only: {} was not sent",
            plan.action.spec().api
        )))
    }

    async fn poll(&self, plan: &ActionPlan, _: DateTime<Utc>) -> Result<Progress, CloudError> {
        Err(CloudError::Refused(format!(
            "read-only: no change of {} to follow",
            plan.step
        )))
    }

    async fn preview(&self, _: &ActionPlan) -> Option<String> {
        None
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        _: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        Err(CloudError::Refused(format!(
            "read-only: cannot reconcile {}",
            plan.step
        )))
    }

    async fn run_command(&self, run: &CommandRun, _: &Approval, _: DateTime<Utc>) -> CommandAnswer {
        CommandAnswer {
            result: Err(format!(
                "read-only: the command of {} was not run",
                run.step
            )),
            at: None,
        }
    }
}

/// Reads pass through the wrappers around a backend unchanged.
macro_rules! observe_through {
    ($($wrapper:ident),*) => {$(
        impl<B: Observe> Observe for $wrapper<B> {
            fn observe(
                &self,
                resource: &Resource,
                now: DateTime<Utc>,
            ) -> impl Future<Output = Result<ResourceStatus, CloudError>> + Send {
                self.0.observe(resource, now)
            }

            fn observe_batches<'a>(
                &'a self,
                resources: Vec<Resource>,
                now: DateTime<Utc>,
            ) -> impl Stream<Item = Vec<Observation>> + Send + 'a {
                self.0.observe_batches(resources, now)
            }
        }
    )*};
}

observe_through!(Gated, ReadOnly);

/// A backend shared or borrowed is the same backend (a runner holds it in an `Arc`; a test may
/// keep one to look at it afterwards).
macro_rules! forward {
    ($($ty:ty),*) => {$(
        impl<T: Observe + Send + ?Sized> Observe for $ty {
            fn observe(
                &self,
                resource: &Resource,
                now: DateTime<Utc>,
            ) -> impl Future<Output = Result<ResourceStatus, CloudError>> + Send {
                (**self).observe(resource, now)
            }

            fn observe_batches<'a>(
                &'a self,
                resources: Vec<Resource>,
                now: DateTime<Utc>,
            ) -> impl Stream<Item = Vec<Observation>> + Send + 'a {
                (**self).observe_batches(resources, now)
            }
        }

        impl<T: Change + Send + ?Sized> Change for $ty {
            fn start(
                &self,
                plan: &ActionPlan,
                approval: &Approval,
                now: DateTime<Utc>,
            ) -> impl Future<Output = Result<Started, CloudError>> + Send {
                (**self).start(plan, approval, now)
            }

            fn poll(
                &self,
                plan: &ActionPlan,
                now: DateTime<Utc>,
            ) -> impl Future<Output = Result<Progress, CloudError>> + Send {
                (**self).poll(plan, now)
            }

            fn preview(&self, plan: &ActionPlan) -> impl Future<Output = Option<String>> + Send {
                (**self).preview(plan)
            }

            fn reconcile(
                &self,
                plan: &ActionPlan,
                now: DateTime<Utc>,
            ) -> impl Future<Output = Result<Option<Started>, CloudError>> + Send {
                (**self).reconcile(plan, now)
            }

            fn run_command(
                &self,
                run: &CommandRun,
                approval: &Approval,
                now: DateTime<Utc>,
            ) -> impl Future<Output = CommandAnswer> + Send {
                (**self).run_command(run, approval, now)
            }
        }
    )*};
}

forward!(&T, std::sync::Arc<T>);
