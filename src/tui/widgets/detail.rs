//! The shown step in full: what it does, its gate, the change it requests, and how it stands.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::pane;
use crate::audit::report::clean;
use crate::engine::{RunStatus, StepState};
use crate::runbook::{ReasonPolicy, StepBody};
use crate::runtime::view::ViewMode;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let v = &app.view;
    let i = app.shown_step();
    let (Some(step), Some(run)) = (v.runbook.steps.get(i), v.steps.get(i)) else {
        frame.render_widget(pane("Step", false, theme), area);
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(clean(&step.title), theme.step(run.state)),
        Span::raw(format!(
            "  ({}, {}, attempt {})",
            step.kind().name(),
            run.state.name(),
            run.attempt.max(1)
        )),
    ])];
    // While a rollback goes on, what the run waits for is about the step it has in hand.
    let is_current = i == v.current && v.rollback_in_hand().is_none();
    lines.extend(super::undo::detail(v, i, theme));
    // What the run waits for comes first, so it is never scrolled out of a small pane.
    if is_current {
        if let RunStatus::Blocked(why) = &v.status {
            let what = if v.mode == ViewMode::ReadOnly {
                "BLOCKED: waiting for the operator to retry, skip or abort".to_string()
            } else {
                "BLOCKED: r retry · s skip · A abort (each asks why)".to_string()
            };
            // What failed first, then what to do: both above the fold, without a key.
            let error = run
                .error
                .as_deref()
                .map_or_else(|| clean(why), |e| format!("error: {}", clean(e)));
            lines.push(Line::from(Span::styled(error, theme.alert())));
            lines.push(Line::from(Span::styled(what, theme.alert())));
        }
    }
    let second = is_current && run.state == StepState::AwaitingGate && run.confirmed.is_some();
    if second {
        // Confirmed at a two-approver gate: the next move is someone else's.
        let who = match v.mode {
            ViewMode::ReadOnly => "GATE confirmed: waiting for a second approver",
            _ => "GATE confirmed: waiting for a second approver (another person)",
        };
        lines.push(Line::from(Span::styled(who, theme.alert())));
        // The command on a line of its own, so a narrow pane breaks it as little as it can.
        lines.push(Line::from(
            "they run, on their own machine (y copies the URL):",
        ));
        let how = match &v.approve_url {
            Some(url) => format!("pilotlight approve {}", clean(url)),
            None => "pilotlight approve RUN_URL (pilotlight runs lists it)".into(),
        };
        lines.push(Line::from(how));
    }
    if is_current && run.state == StepState::AwaitingGate && !second && v.mode != ViewMode::ReadOnly
    {
        // A manual step's gate is its one question: passing it says the work is done.
        let ask = match step.body {
            StepBody::Manual => "do this by hand, then pass its GATE: press g",
            _ => "GATE waiting for you: press g to review and decide",
        };
        lines.push(Line::from(Span::styled(ask, theme.alert())));
    }
    if let StepBody::Action {
        call,
        resource,
        wait_until,
        ..
    } = &step.body
    {
        lines.push(Line::from(format!(
            "action {} on {} — {}{}",
            call.action.name(),
            clean(resource),
            call.action.spec().summary,
            wait_until
                .as_ref()
                .map(|w| format!(", then wait until {w}"))
                .unwrap_or_default()
        )));
        if is_current {
            if let Some(p) = &v.preview {
                lines.push(Line::from(format!("request: {}", clean(p))));
            }
        }
    }
    // What preflight found wrong with this step: for any step, so the operator can read ahead.
    if let Some(crate::runtime::view::Preflight::Done(report)) = &v.preflight {
        for f in report.problems_of(&step.id) {
            lines.push(Line::from(Span::styled(
                format!(
                    "preflight {}: {}",
                    f.severity.name().to_uppercase(),
                    clean(&f.detail)
                ),
                theme.alert(),
            )));
        }
    }
    if let StepBody::Command { run: cmd, .. } = &step.body {
        let note = if v.mode == ViewMode::Drill {
            " (simulated in a drill)"
        } else {
            ""
        };
        // What the drill waits for comes before the command's (often long) text.
        if is_current && run.state == StepState::Running && v.mode == ViewMode::Drill {
            lines.push(Line::from(Span::styled(
                "drills run no command: do it (or talk it through), then press d",
                theme.alert(),
            )));
        }
        lines.push(Line::from(format!(
            "command{note}: {}",
            clean(&cmd.to_string())
        )));
    }
    if let StepBody::Manual = &step.body {
        if is_current && run.state == StepState::Running && v.mode != ViewMode::ReadOnly {
            lines.push(Line::from(Span::styled(
                "do this by hand, then press d",
                theme.alert(),
            )));
        }
    }
    if let Some(gate) = &step.gate {
        let mut asks = Vec::new();
        if let Some(t) = &gate.typed {
            asks.push(format!("type `{}`", clean(t)));
        } else if gate.confirm {
            asks.push("confirm".to_string());
        }
        if gate.reason == ReasonPolicy::Required {
            asks.push("a reason".to_string());
        }
        lines.push(Line::from(Span::styled(
            format!("gate: {}", asks.join(" + ")),
            theme.dim(),
        )));
    }
    if let Some(Some(p)) = v.progress.get(i) {
        lines.push(Line::from(format!("progress: {}", clean(p))));
    }
    if let Some(l) = &run.data_lost {
        lines.push(Line::from(Span::styled(
            format!(
                "data lost with {}: {} (restored to {}; primary lost {})",
                clean(&l.resource),
                super::dur(l.seconds),
                l.recovery_point_at.format("%H:%M:%S"),
                l.lost_at.format("%H:%M:%S")
            ),
            theme.alert(),
        )));
    }
    let blocked_here = is_current && matches!(v.status, RunStatus::Blocked(_));
    if let (Some(e), false) = (&run.error, blocked_here) {
        lines.push(Line::from(Span::styled(
            format!("error: {}", clean(e)),
            theme.alert(),
        )));
    }
    if let Some(text) = &step.instructions {
        lines.push(Line::from(""));
        match text.render(&v.outputs) {
            Ok(t) => lines.push(Line::from(clean(&t))),
            Err(_) => {
                lines.push(Line::from(clean(&text.to_string())));
                lines.push(Line::from(Span::styled(
                    "({{…}} is filled in once that step has run)",
                    theme.dim(),
                )));
            }
        }
    }
    let focused = app.focus == Pane::Detail;
    let title = if focused {
        format!("Step {} (j/k scroll)", clean(&step.id))
    } else {
        format!("Step {}", clean(&step.id))
    };
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .scroll((app.detail_scroll, 0))
        .block(pane(&title, focused, theme));
    frame.render_widget(p, area);
}
