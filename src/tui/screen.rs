//! The console screen: header, resources, steps with the shown step's detail, the audit tail,
//! and the footer; popups over it. A pure function of the app state.

use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::{App, Popup};
use super::popups;
use super::theme::Theme;
use super::widgets::{audit, detail, footer, header, resources, steps};

/// The smallest terminal the console draws in; below it says so instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn render(frame: &mut Frame, app: &App, theme: Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "pilotlight needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(frame, top, &app.view, theme);
    footer::render(frame, bottom, app, theme);
    let audit_height = if body.height >= 30 { 8 } else { 5 };
    let [res_area, middle, audit_area] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Fill(1),
        Constraint::Length(audit_height),
    ])
    .areas(body);
    resources::render(frame, res_area, app, theme);
    let [steps_area, detail_area] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(middle);
    steps::render(frame, steps_area, app, theme);
    detail::render(frame, detail_area, app, theme);
    audit::render(frame, audit_area, app, theme);
    match &app.popup {
        Some(Popup::Help) => popups::help::render(frame, app.mode(), theme),
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
