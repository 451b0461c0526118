//! The tail of the audit journal, newest last.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::pane;
use crate::audit::report::clean;
use crate::audit::{Event, Record};
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

fn summary(r: &Record) -> String {
    let event = serde_json::to_value(r.event)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let extra = if r.event == Event::GateShown {
        // What the gate asks for (its `reason` field is the policy, not a reason given).
        let d = &r.detail;
        let mut asks = Vec::new();
        match d.get("typed").and_then(|t| t.as_str()) {
            Some(t) => asks.push(format!("type `{t}`")),
            None => asks.push("confirm".to_string()),
        }
        match d.get("reason").and_then(|p| p.as_str()) {
            Some("required") => asks.push("reason required".to_string()),
            Some("optional") => asks.push("reason optional".to_string()),
            _ => {}
        }
        format!(": {}", asks.join(" + "))
    } else if r.event == Event::StatusSnapshot {
        let d = &r.detail;
        let health = d
            .get("status")
            .and_then(|s| s.get("health"))
            .and_then(|h| h.as_str())
            .unwrap_or("?");
        match d.get("resource").and_then(|v| v.as_str()) {
            Some(name) => format!(" {name} {health}"),
            None => String::new(),
        }
    } else {
        ["error", "reason", "command"]
            .iter()
            .find_map(|k| r.detail.get(*k).and_then(|v| v.as_str()))
            .or_else(|| {
                r.detail
                    .get("plan")
                    .and_then(|p| p.get("action"))
                    .and_then(|a| a.as_str())
            })
            .map(|s| format!(" {s}"))
            .unwrap_or_default()
    };
    format!(
        "{} #{:<4} {:<18} {event}{extra}",
        r.at.format("%H:%M:%S"),
        r.seq,
        r.step.as_deref().unwrap_or("-")
    )
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let v = &app.view;
    let height = area.height.saturating_sub(2) as usize;
    // Follow the newest record unless the operator scrolled back.
    let end = if app.focus == Pane::Audit {
        (app.audit_scroll + 1).min(v.tail.len())
    } else {
        v.tail.len()
    };
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = v
        .tail
        .iter()
        .skip(start)
        .take(end - start)
        .map(|r| Line::from(clean(&summary(r))))
        .collect();
    let title = match &v.journal {
        Some(p) => format!("Audit journal {}", clean(&p.display().to_string())),
        None => "Audit journal".to_string(),
    };
    frame.render_widget(
        Paragraph::new(lines).block(pane(&title, app.focus == Pane::Audit, theme)),
        area,
    );
}
