//! The footer: the keys that matter now (from the keymap), or the filter being typed, or what
//! the console has to say.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::audit::report::clean;
use crate::tui::app::App;
use crate::tui::keymap::{bindings, key_name};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let line = if app.filter_editing {
        Line::from(format!(
            "/{}▏  Enter keeps · Esc clears",
            clean(&app.filter)
        ))
    } else if let Some(m) = &app.message {
        Line::from(Span::styled(clean(m), theme.alert()))
    } else if let Some(keys) = popup_keys(app) {
        // A popup takes every key: the footer says its keys, not the ones it hides.
        Line::from(Span::styled(keys, theme.dim()))
    } else {
        let mut spans = Vec::new();
        for b in bindings(app.mode()).filter(|b| b.in_footer) {
            spans.push(Span::styled(key_name(b.key), theme.selected()));
            spans.push(Span::raw(format!(" {}  ", b.label)));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn popup_keys(app: &App) -> Option<&'static str> {
    use crate::tui::app::Popup;
    Some(match app.popup.as_ref()? {
        Popup::Gate(_) => "Tab moves · Enter chooses · Esc cancels (journaled)",
        Popup::Reason(_) => "type why · Enter confirms · Esc cancels",
        Popup::Help => "Esc or ? closes the help",
        Popup::Resource(_) => "Esc or Enter closes",
        Popup::ConfirmQuit => "y quits · any other key stays",
    })
}
