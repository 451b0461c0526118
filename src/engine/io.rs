//! What goes into the engine ([`Input`]) and what comes out ([`Effect`]).

use crate::audit::Entry;
use crate::model::{ActionPlan, CloudError, Progress, ResourceStatus, Started};

use super::{Approval, RunStatus};

/// Something that happened: an operator decision, a journal acknowledgement, a cloud answer, time.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Start,
    /// Continue a run rebuilt from its journal.
    Resume,
    /// The oldest record not yet acknowledged is durable.
    Recorded,
    /// The operator leaves the console; the run stays resumable.
    Pause,
    /// A journal write failed: nothing may change any more.
    JournalFailed(String),
    Gate(GateDecision),
    /// A second person approved the request waiting at the current step's two-approver gate
    /// (the runtime has checked it is another person, bound to that request).
    SecondApproval(crate::audit::event::SecondApproval),
    /// What the cloud says the change behind an open gate would do now (a cutover's before ->
    /// after), as the operator sees it; journaled with the gate's decision.
    LivePreview {
        step: String,
        attempt: u32,
        preview: String,
    },
    /// The operator marks the current manual step done.
    ManualDone,
    /// The current manual step is done, but its time is no measurement (a drill's operator
    /// marked it done at once, or an unattended drill did it): its expected duration stands in.
    ManualAssumed,
    Skip {
        reason: String,
    },
    Retry {
        reason: String,
    },
    Abort {
        reason: String,
    },
    /// Roll back the run's completed steps that declare an `inverse`, newest first (once the
    /// run is over).
    Rollback {
        reason: Option<String>,
    },
    Observed {
        resource: String,
        status: Result<ResourceStatus, CloudError>,
    },
    Started {
        step: String,
        attempt: u32,
        result: Result<Started, CloudError>,
    },
    Progress {
        step: String,
        attempt: u32,
        result: Result<Progress, CloudError>,
    },
    Reconciled {
        step: String,
        attempt: u32,
        result: Result<Option<Started>, CloudError>,
    },
    CommandDone {
        step: String,
        attempt: u32,
        result: Result<(i32, String), String>,
    },
    /// A drill's command step is done: drills run no command, so it is people's work, timed
    /// until the operator marked it done, or `assumed` (its expected time stands in: marked done
    /// at once, or done by an unattended drill). `result` is what the scenario says it answers.
    CommandMarkedDone {
        step: String,
        attempt: u32,
        result: Result<(i32, String), String>,
        assumed: bool,
    },
    Tick,
}

/// The operator's answer to a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateDecision {
    pub approve: bool,
    pub typed: Option<String>,
    pub reason: Option<String>,
    /// Confirmed by `drill --unattended`, not a person.
    pub unattended: bool,
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append this record to the journal, then send [`Input::Recorded`].
    Record(Entry),
    /// Show the current step's gate.
    ShowGate {
        step: String,
    },
    /// The operator does the current manual step and sends [`Input::ManualDone`].
    AwaitOperator {
        step: String,
    },
    /// The gate of the current manual step has passed: that approval is the operator's word that
    /// the step is done. The runtime times it (as for [`Input::ManualDone`]) and sends
    /// [`Input::ManualDone`] or [`Input::ManualAssumed`] without asking again.
    DoneAtGate {
        step: String,
    },
    Observe {
        resource: String,
    },
    Mutate {
        plan: ActionPlan,
        approval: Approval,
    },
    Poll {
        plan: ActionPlan,
    },
    Reconcile {
        plan: ActionPlan,
    },
    RunCommand {
        step: String,
        attempt: u32,
        command: String,
        approval: Approval,
    },
    /// Input was refused (wrong typed phrase, missing reason, nothing to retry): tell the operator.
    Refused(String),
    /// The run is over.
    Finished(RunStatus),
}

impl std::fmt::Display for Effect {
    /// A compact, exact description: `record intent restore`, `mutate restore#2`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Record(entry) => match &entry.step {
                Some(step) => write!(f, "record {} {step}", entry.kind().name()),
                None => write!(f, "record {}", entry.kind().name()),
            },
            Effect::ShowGate { step } => write!(f, "show-gate {step}"),
            Effect::AwaitOperator { step } => write!(f, "await-operator {step}"),
            Effect::DoneAtGate { step } => write!(f, "done-at-gate {step}"),
            Effect::Observe { resource } => write!(f, "observe {resource}"),
            Effect::Mutate { plan, .. } => write!(f, "mutate {}#{}", plan.step, plan.attempt),
            Effect::Poll { plan } => write!(f, "poll {}#{}", plan.step, plan.attempt),
            Effect::Reconcile { plan } => write!(f, "reconcile {}#{}", plan.step, plan.attempt),
            Effect::RunCommand { step, attempt, .. } => write!(f, "run-command {step}#{attempt}"),
            Effect::Refused(why) => write!(f, "refused: {why}"),
            Effect::Finished(status) => write!(f, "finished {status:?}"),
        }
    }
}
