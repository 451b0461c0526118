//! The panes of the console, each a pure function of the view.

pub mod audit;
pub mod detail;
pub mod footer;
pub mod header;
pub mod resources;
pub mod steps;
pub mod timeline;
pub mod undo;

use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders};

use super::theme::Theme;
use crate::runbook::Duration;

/// A pane's frame, highlighted when it has the focus.
pub fn pane(title: &str, focused: bool, theme: Theme) -> Block<'static> {
    let style = if focused {
        theme.focused_border()
    } else {
        Style::default()
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(format!(" {title} "), style))
}

/// `1h2m3s`-style, for seconds.
pub fn dur(secs: u64) -> String {
    Duration::from_secs(secs).to_string()
}

/// `01:02:03`, for clocks.
pub fn clock(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let sign = if secs < 0 { "-" } else { "" };
    format!("{sign}{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}
