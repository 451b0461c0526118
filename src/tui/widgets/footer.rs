//! The footer: the keys that matter now (from the keymap), or the command line or the filter
//! being typed, or what the console has to say.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::audit::report::clean;
use crate::tui::app::{App, Pane, Screen};
use crate::tui::keymap::{bindings, key_name, Action};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let line = if let Some(c) = &app.command {
        // What Tab found, after what is typed: as many as fit.
        let choices = match c.choices.as_slice() {
            [] => "  Tab completes · Enter runs · Esc cancels".to_string(),
            many => format!("  {}", clean(&many.join("  "))),
        };
        Line::from(vec![
            Span::raw(format!(":{}▏", clean(&c.text))),
            Span::styled(choices, theme.dim()),
        ])
    } else if app.filter_editing {
        let pane = match app.filter_pane {
            Pane::Resources => "resources",
            Pane::Audit => "audit",
            Pane::Steps | Pane::Detail => "steps",
        };
        Line::from(format!(
            "/{}▏  filters {pane} · Enter keeps · Esc clears",
            clean(&app.filter)
        ))
    } else if let Some(m) = &app.message {
        Line::from(Span::styled(clean(m), theme.alert()))
    } else if let Some(keys) = popup_keys(app) {
        // A popup takes every key: the footer says its keys, not the ones it hides.
        Line::from(Span::styled(keys, theme.dim()))
    } else if app.screen == Screen::Timeline {
        Line::from(Span::styled(
            "Up/Down step · Enter opens · t or Esc back · : command",
            theme.dim(),
        ))
    } else {
        // The keys that change the run, `?` and `q` always; the views' keys where they fit.
        let all: Vec<_> = bindings(app.mode()).filter(|b| b.in_footer).collect();
        let width = |bs: &[&crate::tui::keymap::Binding]| {
            bs.iter()
                .map(|b| key_name(b.key).chars().count() + b.label.chars().count() + 3)
                .sum::<usize>()
        };
        let keys: Vec<_> = match width(&all) <= usize::from(area.width) {
            true => all,
            false => all
                .into_iter()
                .filter(|b| !matches!(b.action, Action::Command | Action::Timeline))
                .collect(),
        };
        let mut spans = Vec::new();
        for b in keys {
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
        Popup::Help => "j/k scroll · Esc or ? closes the help",
        Popup::Resource(_) => "y copies the AWS id · Esc or Enter closes",
        Popup::ConfirmQuit => "y quits · any other key stays",
    })
}
