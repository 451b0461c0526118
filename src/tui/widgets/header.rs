//! The header: mode banner, runbook, where changes go, operator, the incident clock and the RTO
//! countdown (projected recovery against the target).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clock, dur};
use crate::audit::report::clean;
use crate::engine::objectives::Verdict;
use crate::engine::RunStatus;
use crate::runtime::view::{RunView, ViewMode};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, v: &RunView, theme: Theme) {
    let banner = match v.mode {
        ViewMode::Live => " LIVE ",
        ViewMode::Drill => " DRILL ",
        ViewMode::ReadOnly => " READ-ONLY ",
    };
    let elapsed = v.started_at.map(|s| (v.now - s).num_seconds());
    let target = v.runbook.targets.rto.as_secs();
    let mut spans = vec![
        Span::styled(banner, theme.mode(v.mode)),
        Span::raw(" "),
        Span::styled(
            clean(&v.runbook.title),
            theme
                .selected()
                .remove_modifier(ratatui::style::Modifier::REVERSED)
                .add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::raw(format!(
            "  {}  op {}  ",
            clean(&v.target),
            clean(&v.operator)
        )),
    ];
    match elapsed {
        Some(e) => spans.push(Span::raw(format!("T+{}  ", clock(e)))),
        None => spans.push(Span::raw("not started  ")),
    }
    let rto = match (v.projected, elapsed, &v.status) {
        (_, Some(e), RunStatus::Finished) => {
            let verdict = Verdict::of(e.max(0) as u64, target);
            (
                format!(
                    "RECOVERED in {} / RTO {}",
                    dur(e.max(0) as u64),
                    dur(target)
                ),
                if verdict == Verdict::Breach {
                    Verdict::Breach
                } else {
                    Verdict::Ok
                },
            )
        }
        (Some(p), Some(e), _) => {
            let left = target as i64 - e;
            let verdict = Verdict::of(p, target);
            let word = if verdict == Verdict::Breach {
                "OVER"
            } else {
                "left"
            };
            (
                format!(
                    "RTO {} {word} · projected {} / {}",
                    clock(left),
                    dur(p),
                    dur(target)
                ),
                verdict,
            )
        }
        _ => (
            format!(
                "RTO target {} · estimate {}",
                dur(target),
                dur(v.estimate.estimate_seconds)
            ),
            v.estimate.verdict,
        ),
    };
    spans.push(Span::styled(rto.0, theme.verdict(rto.1)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
