//! The step list: state, how long each took against what was expected.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};
use ratatui::Frame;

use super::{dur, pane, undo};
use crate::audit::report::clean;
use crate::engine::objectives::Verdict;
use crate::engine::StepState;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

fn mark(s: StepState) -> &'static str {
    match s {
        StepState::Done => "✓",
        StepState::Skipped => "»",
        StepState::Failed | StepState::Aborted => "✗",
        StepState::AwaitingGate => "?",
        StepState::Running | StepState::Waiting | StepState::Verifying => "…",
        StepState::Pending => " ",
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let v = &app.view;
    let height = area.height.saturating_sub(2) as usize;
    let shown = app.shown_step();
    let visible = app.visible_steps();
    let pos = visible.iter().position(|i| *i == shown);
    let first = first_row(pos.unwrap_or(0), visible.len(), height);
    // As wide as the longest step id (at most 22), so durations fit in narrow panes.
    let id_width = id_width(&v.runbook, 22);
    // In a narrow pane the mark (✓ ? … ✗ ») stands for the state word, and durations stay.
    let show_state = area.width.saturating_sub(2) as usize >= 2 + id_width + 14 + 11;
    let items: Vec<ListItem> = visible
        .iter()
        .skip(first)
        .take(height.max(1))
        .filter_map(|&i| Some((i, (v.runbook.steps.get(i)?, v.steps.get(i)?))))
        .map(|(i, (step, run))| {
            // `*`: not timed, its expected time stands in (a drill's step marked done at once).
            let assumed = run.duration_source == Some(crate::audit::event::DurationSource::Assumed);
            let took = match (run.started_at, run.finished_at) {
                (Some(s), Some(f)) if assumed => {
                    format!("{}*", dur((f - s).num_seconds().max(0) as u64))
                }
                (Some(s), Some(f)) => dur((f - s).num_seconds().max(0) as u64),
                (Some(s), None) if i == v.current => dur((v.now - s).num_seconds().max(0) as u64),
                _ => String::new(),
            };
            let expected = step
                .expected_duration()
                .map(|d| format!("/{d}"))
                .unwrap_or_default();
            let cursor = if i == v.rollback_in_hand().unwrap_or(v.current) {
                "▶"
            } else {
                " "
            };
            // A step a rollback reached shows how its undo stands.
            let (glyph, word, state) = match &run.rollback {
                Some(rb) => (undo::mark(rb), undo::word(rb), rb.state),
                // Confirmed at a two-approver gate: someone else's move now.
                None if run.state == StepState::AwaitingGate && run.confirmed.is_some() => {
                    ("2", "2nd approver", run.state)
                }
                None => (mark(run.state), run.state.name(), run.state),
            };
            ListItem::new(Line::from(vec![
                Span::raw(format!("{cursor}{glyph} ")),
                Span::styled(format!("{:<id_width$}", clean(&step.id)), theme.step(state)),
                Span::styled(
                    if show_state {
                        format!(" {word:<13}")
                    } else {
                        String::new()
                    },
                    theme.step(state),
                ),
                // Past its expectation, a step's time says so in the warning colour.
                {
                    let late = match (run.started_at, step.expected_duration()) {
                        (Some(s), Some(e)) => {
                            let end = run.finished_at.unwrap_or(v.now);
                            (end - s).num_seconds() > e.as_secs() as i64
                        }
                        _ => false,
                    };
                    let text = format!(" {took}{expected}");
                    if late && !took.is_empty() {
                        Span::styled(text, theme.verdict(Verdict::Warning))
                    } else {
                        Span::raw(text)
                    }
                },
            ]))
        })
        .collect();
    let mut title = format!(
        "Steps {}/{}",
        (v.current + 1).min(v.steps.len()),
        v.steps.len()
    );
    if app.filtered(Pane::Steps) {
        title.push_str(&format!(
            " ({} shown) /{}",
            visible.len(),
            clean(app.filter_on(Pane::Steps))
        ));
    }
    let list = List::new(items)
        .block(pane(&title, app.focus == Pane::Steps, theme))
        .highlight_style(theme.selected());
    let mut state = ListState::default();
    if let (Pane::Steps, Some(pos)) = (app.focus, pos) {
        state.select(Some(pos.saturating_sub(first)));
    }
    frame.render_stateful_widget(list, area, &mut state);
}

/// The first of `len` rows a list `height` rows high shows, keeping row `pos` near its middle.
pub fn first_row(pos: usize, len: usize, height: usize) -> usize {
    pos.saturating_sub(height.saturating_sub(1) / 2)
        .min(len.saturating_sub(height))
}

/// The width of the step id column: the longest id, at most `most`.
pub fn id_width(runbook: &crate::runbook::Runbook, most: usize) -> usize {
    runbook
        .steps
        .iter()
        .map(|s| s.id.chars().count())
        .max()
        .unwrap_or(0)
        .min(most)
}
