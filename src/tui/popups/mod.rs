//! Modal popups: each takes every key while it is open.

pub mod gate;
pub mod help;
pub mod quit;
pub mod reason;
pub mod resource;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}
