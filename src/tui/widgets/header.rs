//! The header: mode banner, runbook, operator and where changes go on the left; the incident
//! clock and the RTO countdown (projected recovery against the target) on the right. The right
//! side is never cut off: the runbook title and target give way first.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clock, dur};
use crate::audit::report::clean;
use crate::engine::objectives::Verdict;
use crate::engine::RunStatus;
use crate::runtime::view::{Preflight, RunView, ViewMode};
use crate::tui::theme::Theme;

/// `s` cut to at most `n` characters, with an ellipsis when cut.
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    if n == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

/// The RTO figure in three lengths (long, medium, short) and its verdict.
fn rto(v: &RunView, elapsed: Option<i64>) -> ([String; 3], Verdict) {
    let target = v.runbook.targets.rto.as_secs();
    // A rollback says how far it has come, instead of a recovery that is over.
    if let Some(undo) = super::undo::header(v) {
        return undo;
    }
    match (v.projected, elapsed, &v.status) {
        // The service is back (failback may go on): the RTO clock stopped there.
        _ if v.runbook.has_milestone() && v.restored.is_some() => {
            let at = v.restored.unwrap_or_default();
            let verdict = if Verdict::of(at, target) == Verdict::Breach {
                Verdict::Breach
            } else {
                Verdict::Ok
            };
            let long = format!("RESTORED at T+{} / RTO {}", dur(at), dur(target));
            let short = format!("RESTORED T+{}", dur(at));
            ([long.clone(), long, short], verdict)
        }
        // Stopped by the operator (or a step that failed for good): not recovered, said so.
        (_, Some(e), RunStatus::Aborted(_)) => {
            let long = format!(
                "ABORTED at T+{}: not recovered / RTO {}",
                dur(e.max(0) as u64),
                dur(target)
            );
            let short = format!("ABORTED at T+{}", dur(e.max(0) as u64));
            ([long.clone(), long, short], Verdict::Breach)
        }
        (_, Some(e), RunStatus::Finished) => {
            let took = e.max(0) as u64;
            let verdict = if Verdict::of(took, target) == Verdict::Breach {
                Verdict::Breach
            } else {
                Verdict::Ok
            };
            let long = format!("RECOVERED in {} / RTO {}", dur(took), dur(target));
            let short = format!("RECOVERED in {}", dur(took));
            ([long.clone(), long, short], verdict)
        }
        (Some(p), Some(e), _) => {
            let left = target as i64 - e;
            let remaining = if left >= 0 {
                format!("{} left", clock(left))
            } else {
                format!("{} past", clock(-left))
            };
            let verdict = Verdict::of(p, target);
            let over = if verdict == Verdict::Breach {
                " OVER"
            } else {
                ""
            };
            (
                [
                    format!(
                        "RTO {remaining} · projected {} / {}{over}",
                        dur(p),
                        dur(target)
                    ),
                    format!("RTO {remaining} · proj {}{over}", dur(p)),
                    // Even narrow, the projection stays: it is what the room steers by.
                    format!("RTO {remaining} · proj {}{over}", dur(p)),
                ],
                verdict,
            )
        }
        _ => (
            [
                format!(
                    "RTO target {} · estimate {}",
                    dur(target),
                    dur(v.estimate.estimate_seconds)
                ),
                format!(
                    "RTO {} · est {}",
                    dur(target),
                    dur(v.estimate.estimate_seconds)
                ),
                format!("RTO {}", dur(target)),
            ],
            v.estimate.verdict,
        ),
    }
}

/// `run`'s preflight verdict: still checking, ok, or how many findings of the worst kind.
fn preflight_span(p: &Preflight, width: u16, theme: Theme) -> Span<'static> {
    use crate::engine::preflight::Severity;
    let word = if width >= 90 { "preflight" } else { "pf" };
    let Preflight::Done(report) = p else {
        return Span::styled(format!("{word}…  "), theme.dim());
    };
    let worst = report.verdict();
    let n = report
        .findings
        .iter()
        .filter(|f| f.severity == worst)
        .count();
    let (text, verdict) = match worst {
        Severity::Ok => (format!("{word} ok  "), Verdict::Ok),
        Severity::Warning => (format!("{word} {n} warn  "), Verdict::Warning),
        Severity::Unknown => (format!("{word} {n} unknown  "), Verdict::Unknown),
        Severity::Critical => (format!("{word} {n} CRIT  "), Verdict::Breach),
    };
    Span::styled(text, theme.verdict(verdict))
}

pub fn render(frame: &mut Frame, area: Rect, v: &RunView, theme: Theme) {
    let banner = match v.mode {
        ViewMode::Live => " LIVE ",
        ViewMode::Drill => " DRILL ",
        ViewMode::ReadOnly => " READ-ONLY ",
    };
    let elapsed = v.started_at.map(|s| (v.now - s).num_seconds());
    let clock_text = match elapsed {
        Some(e) => format!("T+{}  ", clock(e)),
        None => "not started  ".to_string(),
    };
    let banner_w = banner.chars().count();
    let ([long, medium, short], verdict) = rto(v, elapsed);
    // The longer forms only where they leave the title and target room.
    let rto_text = match area.width {
        160.. => long,
        90.. => medium,
        _ => short,
    };
    // A mirror falling behind (the store unreachable) is said before the clock.
    let mirror = v
        .mirror_behind
        .map(|n| Span::styled(format!("mirror -{n}  "), theme.verdict(Verdict::Warning)));
    let preflight = v
        .preflight
        .as_ref()
        .map(|p| preflight_span(p, area.width, theme));
    let right = Line::from(
        mirror
            .into_iter()
            .chain(preflight)
            .chain([
                Span::raw(clock_text),
                Span::styled(rto_text, theme.verdict(verdict)),
            ])
            .collect::<Vec<_>>(),
    );
    let right_w = (right.width() as u16).min(area.width.saturating_sub(banner_w as u16 + 2));
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_w)])
            .spacing(2)
            .areas(area);

    // Left: banner, then the title and "target · op NAME" sharing what is left.
    let budget = (left_area.width as usize).saturating_sub(banner_w + 1);
    let title = clean(&v.runbook.title);
    let meta = format!("{} · op {}", clean(&v.target), clean(&v.operator));
    let (title_len, meta_len) = (title.chars().count(), meta.chars().count());
    let (title, meta) = if title_len + 2 + meta_len <= budget {
        (title, format!("  {meta}"))
    } else {
        // Live: the account and regions changes go to come first (the title keeps a third).
        // Otherwise the title does (two thirds); the rest only where it says something.
        let title_room = if v.mode == ViewMode::Live {
            (budget / 3).max(budget.saturating_sub(meta_len + 2))
        } else {
            (budget * 2 / 3).max(budget.saturating_sub(meta_len + 2))
        };
        let title = fit(&title, title_room);
        let meta_room = budget.saturating_sub(title.chars().count() + 2);
        if meta_room >= 16 {
            (title, format!("  {}", fit(&meta, meta_room)))
        } else {
            (fit(&v.runbook.title, budget), String::new())
        }
    };
    let left = Line::from(vec![
        Span::styled(banner, theme.mode(v.mode)),
        Span::raw(" "),
        Span::styled(
            title,
            theme
                .selected()
                .remove_modifier(ratatui::style::Modifier::REVERSED)
                .add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::raw(meta),
    ]);
    frame.render_widget(Paragraph::new(left), left_area);
    frame.render_widget(
        Paragraph::new(right).alignment(Alignment::Right),
        right_area,
    );
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 0), "");
    }
}
