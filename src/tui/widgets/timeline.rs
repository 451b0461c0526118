//! The timeline (`t`, `:timeline`): each step as a bar on one time axis, what it was expected to
//! take (░, from its estimate) under what it took (█, in its state's colour, the part past its
//! expectation in the warning colour), with the RTO target (│), the projected recovery (┆) and
//! now (╎) as lines. Steps not begun are laid out one after the other from now, so the picture
//! ends where the projection does. The same picture as the HTML report's, drawn in cells.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{dur, pane};
use crate::audit::report::clean;
use crate::engine::objectives::Verdict;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// One step's place on the axis, in seconds from the start of the run.
struct Bar {
    start: u64,
    expected: Option<u64>,
    /// Where what it took so far ends (`None`: not begun).
    took_to: Option<u64>,
}

/// Where each step sits: begun ones where they began, the rest one after the other from now.
fn bars(app: &App) -> (Vec<Bar>, u64) {
    let v = &app.view;
    let start = v.started_at;
    let offset =
        |t: chrono::DateTime<chrono::Utc>| start.map_or(0, |s| (t - s).num_seconds().max(0) as u64);
    let now = offset(v.now);
    let mut cursor = 0u64;
    let mut out = Vec::with_capacity(v.steps.len());
    for (i, run) in v.steps.iter().enumerate() {
        let expected = v.estimate.steps.get(i).and_then(|e| e.seconds).or_else(|| {
            v.runbook
                .steps
                .get(i)
                .and_then(|s| s.expected_duration())
                .map(|d| d.as_secs())
        });
        let bar = match (run.started_at, run.finished_at) {
            (Some(s), f) => {
                let b = offset(s);
                let e = f.map_or(now, offset).max(b);
                cursor = match f {
                    Some(_) => e,
                    None => (b + expected.unwrap_or(0)).max(now),
                };
                Bar {
                    start: b,
                    expected,
                    took_to: Some(e),
                }
            }
            (None, _) => {
                // Skipped or aborted before it began: it takes no time.
                let b = cursor.max(now);
                if !run.state.is_final() {
                    cursor = b + expected.unwrap_or(0);
                }
                Bar {
                    start: b,
                    expected: (!run.state.is_final()).then_some(expected).flatten(),
                    took_to: None,
                }
            }
        };
        out.push(bar);
    }
    (out, now)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let v = &app.view;
    let (bars, now) = bars(app);
    let target = v.runbook.targets.rto.as_secs();
    let projected = v.restored.or(v.projected);
    let span = bars
        .iter()
        .map(|b| {
            b.took_to
                .unwrap_or(0)
                .max(b.start + b.expected.unwrap_or(0))
        })
        .chain([target, now, projected.unwrap_or(0)])
        .max()
        .unwrap_or(0)
        .max(60);
    // A little room past the last line, so it is not drawn on the border.
    let span = span + span / 20;
    let verdict = match projected {
        Some(p) if p > target => Verdict::Breach,
        Some(_) => Verdict::Ok,
        None => Verdict::Unknown,
    };
    let title = format!(
        "Timeline · RTO {} · projected {}",
        dur(target),
        projected.map_or("-".into(), dur)
    );
    // Steps the filter hides are not drawn: say so.
    let title = match app.filtered(crate::tui::app::Pane::Steps) {
        true => format!(
            "{title} · {} of {} steps /{}",
            app.visible_steps().len(),
            v.steps.len(),
            clean(app.filter_on(crate::tui::app::Pane::Steps))
        ),
        false => title,
    };
    let block = pane(&title, true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 || inner.width < 30 {
        return;
    }
    let label = super::steps::id_width(&v.runbook, if inner.width < 90 { 16 } else { 22 });
    let width = (inner.width as usize).saturating_sub(label + 3).max(10);
    let col =
        |secs: u64| ((secs as u128 * width as u128 / span.max(1) as u128) as usize).min(width - 1);
    let marks = [
        (col(target), '│', theme.verdict(Verdict::Breach)),
        (
            projected.map_or(usize::MAX, col),
            '┆',
            theme.verdict(verdict),
        ),
        (col(now), '╎', theme.dim()),
    ];
    let mut lines = vec![ticks(label, width, span, theme)];
    // Rows that fit, around the step shown (as the step list scrolls).
    let visible = app.visible_steps();
    let rows = (inner.height as usize).saturating_sub(2).max(1);
    let shown = app.shown_step();
    let pos = visible.iter().position(|i| *i == shown).unwrap_or(0);
    let first = super::steps::first_row(pos, visible.len(), rows);
    for &i in visible.iter().skip(first).take(rows) {
        let (Some(step), Some(run), Some(bar)) =
            (v.runbook.steps.get(i), v.steps.get(i), bars.get(i))
        else {
            continue;
        };
        let mut cells: Vec<(char, Style)> = vec![(' ', Style::default()); width];
        if let Some(e) = bar.expected {
            let (a, b) = (col(bar.start), col(bar.start + e));
            for c in cells.iter_mut().take(b.max(a + 1)).skip(a) {
                *c = ('░', theme.dim());
            }
        }
        if let Some(to) = bar.took_to {
            let (a, b) = (col(bar.start), col(to));
            let late_from = bar.expected.map_or(usize::MAX, |e| col(bar.start + e));
            for (x, c) in cells.iter_mut().enumerate().take(b.max(a + 1)).skip(a) {
                let style = match x >= late_from && to > bar.start + bar.expected.unwrap_or(0) {
                    true => theme.verdict(Verdict::Warning),
                    false => theme.step(run.state),
                };
                *c = ('█', style);
            }
        }
        for (x, ch, style) in marks {
            if let Some(c) = cells.get_mut(x).filter(|c| c.0 == ' ') {
                *c = (ch, style);
            }
        }
        let cursor = if i == shown { "▶" } else { " " };
        let id: String = clean(&step.id).chars().take(label).collect();
        let id_style = match i == shown {
            true => theme.selected(),
            false => theme.step(run.state),
        };
        let mut spans = vec![
            Span::raw(cursor),
            Span::styled(format!("{id:<label$}"), id_style),
            Span::raw("  "),
        ];
        spans.extend(merge(&cells));
        lines.push(Line::from(spans));
    }
    // Narrow windows get the short words.
    let (exp, proj) = match inner.width < 72 {
        true => ("exp", "proj"),
        false => ("expected", "projected"),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("░ {exp}  "), theme.dim()),
        Span::raw("█ took  "),
        Span::styled(
            format!("│ RTO {}  ", dur(target)),
            theme.verdict(Verdict::Breach),
        ),
        Span::styled(
            format!("┆ {proj} {}  ", projected.map_or("-".into(), dur)),
            theme.verdict(verdict),
        ),
        Span::styled(format!("╎ now T+{}", dur(now)), theme.dim()),
    ]));
    let y_last = inner.y + inner.height - 1;
    let body = Rect {
        height: inner.height - 1,
        ..inner
    };
    let legend = lines.pop().unwrap_or_default();
    frame.render_widget(Paragraph::new(lines), body);
    frame.render_widget(
        Paragraph::new(legend),
        Rect {
            y: y_last,
            height: 1,
            ..inner
        },
    );
}

/// The axis: `T+…` on round times (1m, 5m, 15m, 1h, …), as many as fit.
fn ticks(label: usize, width: usize, span: u64, theme: Theme) -> Line<'static> {
    const ROUND: [u64; 12] = [
        60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    ];
    // Room for a label of about nine columns each.
    let most = (width / 10).max(1) as u64;
    let every = ROUND
        .iter()
        .copied()
        .find(|r| span / r < most)
        .unwrap_or(span / most + 1);
    let mut row = vec![' '; width];
    let mut t = 0;
    while t <= span {
        let x = (t as u128 * width as u128 / span.max(1) as u128) as usize;
        let text: Vec<char> = format!("T+{}", dur(t)).chars().collect();
        if x + text.len() <= width {
            row[x..x + text.len()].copy_from_slice(&text);
        }
        t += every;
    }
    let axis: String = row.into_iter().collect();
    Line::from(vec![
        Span::styled(format!(" {:<label$}  ", "STEP"), theme.dim()),
        Span::styled(axis, theme.dim()),
    ])
}

/// Cells as spans, one per run of the same style.
fn merge(cells: &[(char, Style)]) -> Vec<Span<'static>> {
    let mut out: Vec<Span> = Vec::new();
    let mut text = String::new();
    let mut style = cells.first().map_or(Style::default(), |c| c.1);
    for (ch, st) in cells {
        if *st != style && !text.is_empty() {
            out.push(Span::styled(std::mem::take(&mut text), style));
        }
        style = *st;
        text.push(*ch);
    }
    if !text.is_empty() {
        out.push(Span::styled(text, style));
    }
    out
}
