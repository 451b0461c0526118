//! `?`: every key of this mode, from the keymap table.

use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::runtime::view::ViewMode;
use crate::tui::keymap::{bindings, key_name};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, mode: ViewMode, theme: Theme) {
    let mut lines: Vec<Line> = bindings(mode)
        .map(|b| Line::from(format!("{:>6}  {}", key_name(b.key), b.help)))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(match mode {
        ViewMode::ReadOnly => "Read-only: nothing here can change the run.",
        _ => "A gate shows what will change; nothing changes until you pass it.",
    }));
    lines.push(Line::from("Esc or ? closes this help."));
    let area = centered(frame.area(), 78, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focused_border())
        .title(" Keys ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
