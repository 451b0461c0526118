//! `Enter` on a resource: everything known of it, its AWS id or ARN first (to look it up in the
//! console or paste it into the CLI). A value never wraps (a wrapped ARN copied from the
//! terminal would carry the border with it): the popup is as wide as the longest one where the
//! window allows, a value that still does not fit ends in `…`, and `y` copies the id whole.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::audit::report::clean;
use crate::engine::objectives::rpo;
use crate::runtime::view::RunView;
use crate::tui::theme::Theme;
use crate::tui::widgets::dur;

pub fn render(frame: &mut Frame, name: &str, view: &RunView, theme: Theme) {
    let Some(res) = view.runbook.resources.get(name) else {
        return;
    };
    let field = |k: &str, v: String| (k.to_string(), clean(&v));
    let seen = view.observations.get(name);
    let mut lines = vec![
        field("AWS id", res.id.clone()),
        field("kind", res.kind.name().to_string()),
        field(
            "region",
            res.region.clone().unwrap_or_else(|| "global".into()),
        ),
    ];
    if let Some(a) = &res.account {
        lines.push(field("account", a.clone()));
    }
    if let Some(r) = &res.record {
        let set = r.set_identifier.as_deref().unwrap_or("-");
        lines.push(field(
            "record",
            format!(
                "{} {} in zone {} (set {set})",
                r.name, r.record_type, r.zone
            ),
        ));
    }
    if let Some(h) = &res.health_check {
        lines.push(field("health check", h.clone()));
    }
    if let Some(b) = &res.backup {
        lines.push(field(
            "backup vault",
            format!("{} in {}", b.vault, b.region),
        ));
    }
    match seen {
        Some(s) => {
            lines.push(field("health", s.health.name().to_string()));
            lines.push(field("state", s.state.clone()));
        }
        None => lines.push(field("health", "not observed yet".into())),
    }
    let at = view.observed_at.get(name).copied().unwrap_or(view.now);
    if view.observations.contains_key(name) {
        lines.push(field(
            "observed",
            at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ));
    }
    match seen.and_then(|s| s.latest_recovery_point.as_ref()) {
        // The id on a line of its own, so it fits whole where it can.
        Some(p) => {
            lines.push(field("recovery point", p.id.clone()));
            lines.push(field(
                "taken",
                format!("{} ({:?})", p.at.format("%Y-%m-%d %H:%M:%S UTC"), p.kind),
            ));
        }
        None => lines.push(field("recovery point", "none known".into())),
    }
    let r = rpo(&view.runbook, res, seen, at);
    lines.push(field(
        "RPO",
        format!(
            "{} against {}: {}",
            r.seconds.map_or("-".into(), dur),
            r.target_seconds.map_or("no target".into(), dur),
            r.verdict.name()
        ),
    ));
    // What is said in words (errors, the description) wraps; values do not.
    let mut prose: Vec<Line> = Vec::new();
    if let Some(e) = view.errors.get(name) {
        prose.push(Line::from(Span::styled(
            format!("cannot observe: {}", clean(e)),
            theme.alert(),
        )));
    }
    if let Some(d) = &res.description {
        prose.push(Line::from(Span::styled(clean(d), theme.dim())));
    }
    // Between the header and the footer (the footer says the popup's keys).
    let screen = frame.area();
    let body = Rect {
        y: screen.y + 1,
        height: screen.height.saturating_sub(2),
        ..screen
    };
    let longest = lines
        .iter()
        .map(|(_, v)| v.chars().count() + KEY)
        .max()
        .unwrap_or(0);
    let width = (longest as u16 + 2).clamp(60, 160).min(body.width);
    let prose_rows: u16 = prose
        .iter()
        .map(|l| (l.width() as u16).div_ceil(width.saturating_sub(2).max(1)))
        .sum();
    let area = centered(body, width, lines.len() as u16 + prose_rows + 3);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focused_border())
        .title(format!(" Resource {} ", clean(name)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let room = usize::from(inner.width);
    let values: Vec<Line> = lines
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<KEY$}"), theme.dim()),
                Span::raw(fit(v, room.saturating_sub(KEY))),
            ])
        })
        .collect();
    let rows = (values.len() as u16).min(inner.height);
    frame.render_widget(
        Paragraph::new(values),
        Rect {
            height: rows,
            ..inner
        },
    );
    if !prose.is_empty() && inner.height > rows + 1 {
        frame.render_widget(
            Paragraph::new(prose).wrap(Wrap { trim: false }),
            Rect {
                y: inner.y + rows + 1,
                height: inner.height - rows - 1,
                ..inner
            },
        );
    }
}

/// The width of the field names' column.
const KEY: usize = 16;

/// `v` in `room` columns: whole, or cut with `…` at the end.
fn fit(v: &str, room: usize) -> String {
    if v.chars().count() <= room {
        return v.to_string();
    }
    let mut out: String = v.chars().take(room.saturating_sub(1)).collect();
    out.push('…');
    out
}
