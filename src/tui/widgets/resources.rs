//! The resource table: health, latest recovery point and RPO against its target, by status.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};
use ratatui::Frame;

use super::{dur, pane};
use crate::audit::report::clean;
use crate::engine::objectives::{rpo, Verdict};
use crate::runbook::Health;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let v = &app.view;
    let names = app.visible_resources();
    let title = if app.filtered(Pane::Resources) {
        format!(
            "Resources ({}) /{}",
            names.len(),
            clean(app.filter_on(Pane::Resources))
        )
    } else {
        format!("Resources ({})", names.len())
    };
    // Narrow terminals drop the recovery point's age (the RPO column says it too) so that the
    // RPO against its target, and a breach, stay readable.
    let wide = area.width >= 110;
    // Very narrow ones drop kind and region too, so the name stays.
    let tiny = area.width < 72;
    // Very wide ones have room for the AWS id or ARN itself.
    let huge = area.width >= 160;
    let header = if huge {
        Row::new([
            "NAME",
            "AWS ID",
            "KIND",
            "REGION",
            "HEALTH",
            "STATE",
            "RECOVERY POINT",
            "RPO / TARGET",
        ])
    } else if wide {
        Row::new([
            "NAME",
            "KIND",
            "REGION",
            "HEALTH",
            "STATE",
            "RECOVERY POINT",
            "RPO / TARGET",
        ])
    } else if tiny {
        Row::new(["NAME", "HEALTH", "RPO / TARGET"])
    } else {
        Row::new(["NAME", "KIND", "REGION", "HEALTH", "RPO / TARGET"])
    }
    .style(theme.dim());
    // Only the rows that fit are built: the table stays cheap with thousands of resources.
    let height = area.height.saturating_sub(3) as usize;
    let first = first_row(app.resource_row, height);
    let rows = names
        .iter()
        .skip(first)
        .take(height.max(1))
        .filter_map(|name| {
            let res = v.runbook.resources.get(*name)?;
            let obs = v.observations.get(*name);
            let error = v.errors.get(*name);
            let health = obs.map_or(Health::Unknown, |o| o.health);
            // As of the observation when it is older than now (a followed journal).
            let at = v.observed_at.get(*name).copied().unwrap_or(v.now);
            // A restore's target before its step has made it: absent, as expected.
            let not_yet = error.is_some_and(|e| e.starts_with("not found"))
                && v.runbook.made_by(name).is_some();
            let mut r = rpo(&v.runbook, res, obs, at);
            if not_yet {
                r.verdict = Verdict::NotApplicable;
            }
            let rp = match (error, obs.and_then(|o| o.latest_recovery_point.as_ref())) {
                (Some(_), _) if not_yet => "-".to_string(),
                (Some(e), _) => format!("error: {}", clean(e)),
                (None, Some(p)) => format!("{} ago", dur((at - p.at).num_seconds().max(0) as u64)),
                (None, None) => "-".to_string(),
            };
            let rpo_text = match (r.verdict, r.seconds, r.target_seconds) {
                (Verdict::NotApplicable, _, _) => "n/a".to_string(),
                (_, Some(s), Some(t)) => format!("{} / {}", dur(s), dur(t)),
                (_, Some(s), None) => format!("{} / none", dur(s)),
                _ => "unknown".to_string(),
            };
            let rpo_text = if r.verdict == Verdict::Breach {
                format!("{rpo_text} BREACH")
            } else {
                rpo_text
            };
            // What the provider says beside the health: a stopped standby is healthy, and
            // stopped. The state's first words only (notes follow a `;`).
            let state = obs
                .map(|o| {
                    o.state
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string()
                })
                .unwrap_or_default();
            let health_text = match (error.is_some(), wide, state.as_str()) {
                (true, _, _) if not_yet => "absent".to_string(),
                (true, _, _) => "no answer".to_string(),
                // Too narrow for a state column: a stopped instance says so here.
                (false, false, "stopped") => "stopped".to_string(),
                _ => format!("{health:?}").to_lowercase(),
            };
            let mut cells = vec![Cell::from(clean(&res.name))];
            if huge {
                cells.push(Cell::from(clean(&res.id)));
            }
            if !tiny {
                cells.push(Cell::from(res.kind.name()));
                cells.push(Cell::from(
                    res.region.clone().unwrap_or_else(|| "global".into()),
                ));
            }
            cells.push(Cell::from(Span::styled(health_text, theme.health(health))));
            if wide {
                cells.push(Cell::from(clean(&state)));
                cells.push(Cell::from(rp));
            }
            cells.push(Cell::from(Span::styled(rpo_text, theme.verdict(r.verdict))));
            Some(Row::new(cells))
        });
    let widths: &[Constraint] = if huge {
        &[
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(18),
            Constraint::Length(14),
            Constraint::Length(11),
            Constraint::Length(13),
            Constraint::Length(14),
            Constraint::Fill(2),
        ]
    } else if wide {
        &[
            Constraint::Fill(3),
            Constraint::Length(18),
            Constraint::Length(14),
            Constraint::Length(11),
            Constraint::Length(13),
            Constraint::Length(14),
            Constraint::Fill(2),
        ]
    } else if tiny {
        &[
            Constraint::Fill(1),
            Constraint::Length(11),
            Constraint::Length(19),
        ]
    } else {
        &[
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(10),
            Constraint::Length(11),
            Constraint::Length(19),
        ]
    };
    let table = Table::new(rows, widths.iter().copied())
        .header(header)
        .block(pane(&title, app.focus == Pane::Resources, theme))
        .row_highlight_style(theme.selected());
    let mut state = TableState::default();
    if app.focus == Pane::Resources && !names.is_empty() {
        state.select(Some(app.resource_row.saturating_sub(first)));
    }
    frame.render_stateful_widget(table, area, &mut state);
}

/// The first row a table `height` rows high shows while row `selected` is selected.
pub fn first_row(selected: usize, height: usize) -> usize {
    selected.saturating_sub(height.saturating_sub(1))
}
