//! What the console shows: an owned picture of a run, published by the session after every
//! change and rendered by the UI without waiting on anything.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::audit::Record;
use crate::engine::objectives::RtoEstimate;
use crate::engine::{Engine, OpenGate, Rollback, RunStatus, StepRun};
use crate::model::ResourceStatus;
use crate::runbook::Runbook;

/// Which console this is; always on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    /// Live AWS (`run`).
    Live,
    /// The simulated world (`drill`).
    Drill,
    /// `watch`: nothing can be changed from here.
    ReadOnly,
}

/// Preflight as the console has it.
#[derive(Debug, Clone)]
pub enum Preflight {
    Checking,
    Done(Arc<crate::engine::preflight::Report>),
}

/// Where a background preflight puts its report for the session to show.
pub type PreflightSlot = Arc<std::sync::Mutex<Option<Arc<crate::engine::preflight::Report>>>>;

/// How many journal records the console keeps for its audit pane.
pub const TAIL: usize = 200;

#[derive(Debug, Clone)]
pub struct RunView {
    pub runbook: Arc<Runbook>,
    pub mode: ViewMode,
    pub operator: String,
    /// Where the changes go, for the header ("simulated world", or account and regions).
    pub target: String,
    pub journal: Option<PathBuf>,
    pub now: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub current: usize,
    pub steps: Vec<StepRun>,
    /// Each step's last progress note (what it waits for, how far its change has come).
    pub progress: Vec<Option<String>>,
    pub observations: HashMap<String, ResourceStatus>,
    /// When each observation was made, where it is older than `now` (a followed journal): RPO is
    /// shown as of then, not aged to now.
    pub observed_at: HashMap<String, DateTime<Utc>>,
    /// Why a resource could not be observed on the last look (a silent region, a permission).
    pub errors: HashMap<String, String>,
    pub tail: VecDeque<Record>,
    /// Step outputs so far (instructions and previews show them filled in).
    pub outputs: crate::model::Outputs,
    pub estimate: RtoEstimate,
    /// Seconds from the start of the run to the projected recovery.
    pub projected: Option<u64>,
    /// Seconds from the start of the run to the service restored, once it is (the step that
    /// restores it is done; failback may still be running).
    pub restored: Option<u64>,
    /// The preview of the change the current step's gate is about.
    pub preview: Option<String>,
    /// The last thing the engine refused, to show the operator.
    pub notice: Option<String>,
    /// The gate waiting for the operator: a step's, or a step's rollback.
    pub open_gate: Option<OpenGate>,
    /// The run's URL in the state store, where a second approver approves it.
    pub approve_url: Option<String>,
    /// The rollback, once one began.
    pub rollback: Option<Rollback>,
    /// How many steps a rollback would undo now (the run is over, none began yet).
    pub rollback_ready: usize,
    /// The rollback in hand's last progress note.
    pub rollback_progress: Option<String>,
    /// The step whose change request is out and has not answered (quitting waits for it).
    pub change_out: Option<String>,
    /// How many records the journal's mirror in the team's state store is behind, when that is
    /// worth saying (the store is unreachable, or it fell well behind).
    pub mirror_behind: Option<u64>,
    /// `run`'s preflight: still checking, or its findings (the header shows the verdict, each
    /// gate its step's problems).
    pub preflight: Option<Preflight>,
    /// Bumped on every change, so the UI redraws only when something changed.
    pub version: u64,
}

impl RunView {
    /// An empty view of a runbook (before anything happened).
    pub fn new(
        runbook: Arc<Runbook>,
        mode: ViewMode,
        operator: &str,
        target: &str,
        estimate: RtoEstimate,
        now: DateTime<Utc>,
    ) -> RunView {
        let steps = runbook.steps.iter().map(|_| StepRun::new()).collect();
        let progress = vec![None; runbook.steps.len()];
        RunView {
            runbook,
            mode,
            operator: operator.to_string(),
            target: target.to_string(),
            journal: None,
            now,
            started_at: None,
            status: RunStatus::NotStarted,
            current: 0,
            steps,
            progress,
            observations: HashMap::new(),
            observed_at: HashMap::new(),
            errors: HashMap::new(),
            tail: VecDeque::new(),
            outputs: Default::default(),
            estimate,
            projected: None,
            restored: None,
            preview: None,
            notice: None,
            open_gate: None,
            approve_url: None,
            rollback: None,
            rollback_ready: 0,
            rollback_progress: None,
            change_out: None,
            mirror_behind: None,
            preflight: None,
            version: 0,
        }
    }

    /// Takes what the journal of a run determines, and what its engine keeps besides, from
    /// the engine (a live session's, or one rebuilt from a followed journal).
    pub fn set_run(&mut self, e: &Engine) {
        self.started_at = e.started_at();
        self.status = e.status().clone();
        self.current = e.current();
        self.steps = e.steps().to_vec();
        self.progress = e.live().iter().map(|l| l.last_progress.clone()).collect();
        // With the run's own facts, for `{{run.…}}` in instructions.
        self.outputs = e.outputs_with_run(None);
        self.restored = e.service_restored_secs();
        self.open_gate = e.open_gate();
        self.rollback = e.state().rollback.clone();
        let over = matches!(e.status(), RunStatus::Finished | RunStatus::Aborted(_));
        self.rollback_ready = if over && self.rollback.is_none() {
            e.rollback_candidates().len()
        } else {
            0
        };
        self.rollback_progress = e.rollback_live().last_progress.clone();
    }

    /// The step a rollback has in hand, while it goes on.
    pub fn rollback_in_hand(&self) -> Option<usize> {
        self.rollback.as_ref()?.in_hand()
    }
}
