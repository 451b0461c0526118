//! The tail of the audit journal, newest last.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::pane;
use crate::audit::report::clean;
use crate::audit::{Event, Record};
use crate::runbook::ReasonPolicy;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

/// A record as one line of the pane (what `/` filters on).
pub fn summary(r: &Record) -> String {
    let event = r.kind().name();
    let extra = match &r.event {
        Event::GateShown(g) | Event::RollbackGateShown(g) => {
            // What the gate asks for (its `reason` field is the policy, not a reason given).
            let mut asks = Vec::new();
            match &g.typed {
                Some(t) => asks.push(format!("type `{t}`")),
                None => asks.push("confirm".to_string()),
            }
            match g.reason {
                ReasonPolicy::Required => asks.push("reason required".to_string()),
                ReasonPolicy::Optional => asks.push("reason optional".to_string()),
                ReasonPolicy::None => {}
            }
            format!(": {}", asks.join(" + "))
        }
        Event::StatusSnapshot(s) => format!(" {} {}", s.resource, s.status.health.name()),
        event => said(event).map(|s| format!(" {s}")).unwrap_or_default(),
    };
    format!(
        "{} #{:<4} {:<18} {event}{extra}",
        r.at.format("%H:%M:%S"),
        r.seq,
        r.step.as_deref().unwrap_or("-")
    )
}

/// The error, reason, command or action a record names, the first of them it has.
fn said(event: &Event) -> Option<&str> {
    match event {
        Event::Outcome(o) | Event::RollbackOutcome(o) => o.error.as_deref(),
        Event::StepFailed(f) | Event::RollbackFailed(f) => Some(&f.error),
        Event::RollbackStopped(a) => Some(&a.reason),
        Event::RollbackSkipped(s) => Some(&s.reason),
        Event::RollbackStarted(r) => r.reason.as_deref(),
        Event::RollbackApproved(g) => g.reason.as_deref(),
        Event::RollbackCancelled(g) => g.reason.as_deref(),
        Event::RollbackRetried(x) => x.reason.as_deref(),
        Event::RollbackIntent(i) => i.plan.as_ref().map(|p| p.action.name()),
        Event::Error(e) => Some(&e.error),
        Event::RunAborted(a) => Some(&a.reason),
        Event::StepSkipped(s) => Some(&s.reason),
        Event::GateApproved(g) => g.reason.as_deref(),
        Event::GateConfirmed(g) => g.reason.as_deref(),
        Event::GateCancelled(g) => g.reason.as_deref(),
        Event::StepRetried(x) => x.reason.as_deref(),
        Event::Intent(i) => i
            .command
            .as_deref()
            .or_else(|| i.plan.as_ref().map(|p| p.action.name())),
        _ => None,
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let v = &app.view;
    let height = area.height.saturating_sub(2) as usize;
    let records = app.visible_audit();
    // Follow the newest record unless the operator scrolled back; a page is always full (Home
    // shows the first page, not one line).
    let end = match app.audit_at {
        Some(_) => app.audit_end().max(height).min(records.len()),
        None => records.len(),
    };
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = records[start..end]
        .iter()
        .map(|r| Line::from(clean(&summary(r))))
        .collect();
    // What the pane shows comes before the journal's (often long) path.
    let mut title = "Audit journal".to_string();
    if app.filtered(Pane::Audit) {
        title.push_str(&format!(
            " ({} shown) /{}",
            records.len(),
            clean(app.filter_on(Pane::Audit))
        ));
    }
    if let Some(p) = &v.journal {
        title.push_str(if app.filtered(Pane::Audit) {
            " · "
        } else {
            " "
        });
        title.push_str(&clean(&p.display().to_string()));
    }
    // Scrolled back, the pane does not follow: say so, and how to follow again.
    let title = match app.audit_at {
        Some(_) => format!("PAUSED (End follows) · {title}"),
        None => title,
    };
    frame.render_widget(
        Paragraph::new(lines).block(pane(&title, app.focus == Pane::Audit, theme)),
        area,
    );
}
