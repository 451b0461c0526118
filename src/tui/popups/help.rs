//! `?`: every key of this mode, from the keymap table.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::runtime::view::ViewMode;
use crate::tui::keymap::{bindings, key_name};
use crate::tui::theme::Theme;

/// `scroll`: lines scrolled down (a small window shows the help a part at a time).
pub fn render(frame: &mut Frame, mode: ViewMode, scroll: u16, theme: Theme) {
    // One line per action, with every key bound to it (`j/Down  move down`).
    let mut actions: Vec<(String, &str)> = Vec::new();
    let mut seen: Vec<crate::tui::keymap::Action> = Vec::new();
    for b in bindings(mode) {
        if let Some(i) = seen.iter().position(|a| *a == b.action) {
            actions[i].0.push('/');
            actions[i].0.push_str(&key_name(b.key));
        } else {
            seen.push(b.action);
            // Nothing here can be resumed: a read-only console only stops looking.
            let help = match (mode, b.action) {
                (ViewMode::ReadOnly, crate::tui::keymap::Action::Quit) => "quit (the run goes on)",
                _ => b.help,
            };
            actions.push((key_name(b.key), help));
        }
    }
    let mut lines: Vec<Line> = actions
        .iter()
        .map(|(keys, help)| Line::from(format!("{keys:>9}  {help}")))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(match mode {
        ViewMode::ReadOnly => "Read-only: nothing here can change the run.",
        _ => "A gate shows what will change; nothing changes until you pass it. In a gate, Enter moves to the next field, then to Proceed; Esc cancels.",
    }));
    lines.push(Line::from("Esc or ? closes this help."));
    // Between the header and the footer (which says how to close it); a long line wraps
    // under its text, and what does not fit scrolls.
    let screen = frame.area();
    let body = Rect {
        y: screen.y + 1,
        height: screen.height.saturating_sub(2),
        ..screen
    };
    let area = centered(body, 78, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let title = match usize::from(area.height.saturating_sub(2)) < lines.len() {
        true => " Keys (j/k scroll) ",
        false => " Keys ",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focused_border())
        .title(title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}
