//! The console screen: header, resources, steps with the shown step's detail, the audit tail,
//! and the footer (or, in their place, the timeline); popups over it. A pure function of the
//! app state.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::{App, Popup, Screen};
use super::popups;
use super::theme::Theme;
use super::widgets::{audit, detail, footer, header, resources, steps, timeline};

/// The smallest terminal the console draws in; below it says so instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Where each part of the screen goes at a size (`None`: too small to draw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The body: the four panes, or the timeline.
    pub body: Rect,
    pub resources: Rect,
    pub steps: Rect,
    pub detail: Rect,
    pub audit: Rect,
    pub footer: Rect,
}

pub fn areas(area: Rect) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let audit_height = if body.height >= 30 { 8 } else { 5 };
    let [resources, middle, audit] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Fill(1),
        Constraint::Length(audit_height),
    ])
    .areas(body);
    let [steps, detail] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(middle);
    Some(Areas {
        header,
        body,
        resources,
        steps,
        detail,
        audit,
        footer,
    })
}

pub fn render(frame: &mut Frame, app: &App, theme: Theme) {
    let area = frame.area();
    let Some(a) = areas(area) else {
        let msg = format!(
            "pilotlight needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    };
    header::render(frame, a.header, &app.view, theme);
    footer::render(frame, a.footer, app, theme);
    match app.screen {
        Screen::Timeline => timeline::render(frame, a.body, app, theme),
        Screen::Main => {
            resources::render(frame, a.resources, app, theme);
            steps::render(frame, a.steps, app, theme);
            detail::render(frame, a.detail, app, theme);
            audit::render(frame, a.audit, app, theme);
        }
    }
    match &app.popup {
        Some(Popup::Help) => popups::help::render(frame, app.mode(), app.help_scroll, theme),
        Some(Popup::ConfirmQuit) => popups::quit::render(frame, &app.view, theme),
        Some(Popup::Resource(name)) => popups::resource::render(frame, name, &app.view, theme),
        Some(Popup::Gate(g)) => popups::gate::render(frame, g, &app.view, theme),
        Some(Popup::Reason(r)) => {
            // During a rollback, skip and retry are about the step it has in hand.
            let v = &app.view;
            let in_hand = v.rollback_in_hand();
            let id = v
                .runbook
                .steps
                .get(in_hand.unwrap_or(v.current))
                .map_or("-", |s| s.id.as_str());
            let step = match in_hand {
                Some(_) => format!("the rollback of {id}"),
                None => format!("step {id}"),
            };
            let step = step.as_str();
            popups::reason::render(frame, r, step, theme)
        }
        None => {}
    }
}
