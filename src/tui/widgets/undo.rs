//! How a rollback shows in the panes: its words in the step list, its lines in the step detail,
//! and its standing in the header.

use ratatui::text::{Line, Span};

use crate::audit::report::clean;
use crate::engine::objectives::Verdict;
use crate::engine::{RollbackEnd, RunStatus, StepRollback, StepState};
use crate::runbook::StepBody;
use crate::runtime::view::{RunView, ViewMode};
use crate::tui::theme::Theme;

/// A step's rollback in a word that fits the step list's state column.
pub fn word(rb: &StepRollback) -> &'static str {
    match rb.state {
        StepState::Done => "rolled back",
        StepState::AwaitingGate => "undo at gate",
        StepState::Failed => "undo failed",
        StepState::Skipped => "undo skipped",
        StepState::Aborted => "undo stopped",
        StepState::Pending | StepState::Running | StepState::Waiting | StepState::Verifying => {
            "undoing"
        }
    }
}

/// The list's mark for a step's rollback.
pub fn mark(rb: &StepRollback) -> &'static str {
    match rb.state {
        StepState::Done => "↶",
        StepState::AwaitingGate => "?",
        StepState::Failed => "✗",
        StepState::Skipped => "»",
        _ => "…",
    }
}

/// The header's rollback figure (long, medium, short) and its colour, once a rollback began.
pub fn header(v: &RunView) -> Option<([String; 3], Verdict)> {
    let r = v.rollback.as_ref()?;
    let through = r
        .order
        .iter()
        .filter(|&&i| {
            v.steps
                .get(i)
                .and_then(|s| s.rollback.as_ref())
                .is_some_and(|b| matches!(b.state, StepState::Done | StepState::Skipped))
        })
        .count();
    let n = r.order.len();
    let (text, verdict) = match &r.ended {
        None => (format!("ROLLING BACK {through}/{n}"), Verdict::Warning),
        Some(RollbackEnd::Finished(_)) => (format!("ROLLED BACK {through}/{n}"), Verdict::Ok),
        Some(RollbackEnd::Stopped { .. }) => {
            (format!("ROLLBACK STOPPED {through}/{n}"), Verdict::Breach)
        }
    };
    Some(([text.clone(), text.clone(), text], verdict))
}

/// The step detail's rollback lines for step `i`: what its inverse does, how its rollback
/// stands, and what the operator can do about it.
pub fn detail(v: &RunView, i: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let (Some(step), Some(run)) = (v.runbook.steps.get(i), v.steps.get(i)) else {
        return lines;
    };
    let acts = v.mode != ViewMode::ReadOnly;
    let over = matches!(v.status, RunStatus::Finished | RunStatus::Aborted(_));
    // The run is over and can be undone: say how, on whichever step is shown.
    if acts && over && v.rollback_ready > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "the run is over: R rolls back its {} completed change(s) with an inverse, newest first, each at its own gate",
                v.rollback_ready
            ),
            theme.alert(),
        )));
    }
    if let StepBody::Action {
        inverse: Some(inv), ..
    } = &step.body
    {
        lines.push(Line::from(Span::styled(
            format!(
                "inverse (rollback): {} — {}",
                inv.call.action.name(),
                inv.call.action.spec().summary
            ),
            theme.dim(),
        )));
    }
    let Some(rb) = &run.rollback else {
        return lines;
    };
    let in_hand = v.rollback_in_hand() == Some(i);
    lines.push(Line::from(Span::styled(
        format!("ROLLBACK: {} (attempt {})", word(rb), rb.attempt.max(1)),
        theme.step(rb.state),
    )));
    if in_hand && acts {
        let what = match (rb.state, &v.status) {
            (_, RunStatus::Blocked(_)) => {
                "BLOCKED: r retry · s skip this undo · A stop the rollback (each asks why)"
            }
            (StepState::AwaitingGate, _) => {
                "ROLLBACK GATE waiting for you: press g to review and decide"
            }
            _ => "",
        };
        if !what.is_empty() {
            lines.push(Line::from(Span::styled(what, theme.alert())));
        }
    }
    if let Some(e) = &rb.error {
        lines.push(Line::from(Span::styled(
            format!("rollback error: {}", clean(e)),
            theme.alert(),
        )));
    }
    if let (true, Some(p)) = (in_hand, &v.rollback_progress) {
        lines.push(Line::from(format!("rollback progress: {}", clean(p))));
    }
    lines
}

/// The state of step `i`'s rollback, once it has one.
pub fn rollback_state(v: &RunView, i: usize) -> Option<StepState> {
    v.steps.get(i)?.rollback.as_ref().map(|r| r.state)
}

/// Why `R` cannot roll the run back now, if it cannot (the engine checks again).
pub fn rollback_refusal(v: &RunView) -> Option<&'static str> {
    use crate::engine::RunStatus;
    if let Some(r) = &v.rollback {
        return Some(match r.ended {
            None => "a rollback is already under way",
            Some(_) => "this run has been rolled back already; nothing is undone twice",
        });
    }
    if !matches!(v.status, RunStatus::Finished | RunStatus::Aborted(_)) {
        return Some("roll back once the run is over: let it finish, or abort it (A) first");
    }
    (v.rollback_ready == 0).then_some("no completed step declares an inverse: nothing to roll back")
}
