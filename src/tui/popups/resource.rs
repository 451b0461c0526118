//! `Enter` on a resource: everything known of it, its AWS id or ARN first (to look it up in the
//! console or paste it into the CLI). Long values wrap inside the popup, never across its border.

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
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<16}"), theme.dim()),
            Span::raw(clean(&v)),
        ])
    };
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
        Some(p) => lines.push(field(
            "recovery point",
            format!(
                "{} ({:?}) at {}",
                p.id,
                p.kind,
                p.at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        )),
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
    if let Some(e) = view.errors.get(name) {
        lines.push(Line::from(Span::styled(
            format!("cannot observe: {}", clean(e)),
            theme.alert(),
        )));
    }
    if let Some(d) = &res.description {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(clean(d), theme.dim())));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Esc or Enter closes", theme.dim())));
    let area = centered(frame.area(), 100, lines.len() as u16 + 3);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focused_border())
        .title(format!(" Resource {} ", clean(name)));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
