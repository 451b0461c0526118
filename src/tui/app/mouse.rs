//! The mouse: a click focuses the pane under it (and picks the row clicked in the resources or
//! the steps); the wheel scrolls the pane under it. Popups and the command line are modal, so
//! the mouse does nothing while one is open.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::{App, Pane, Screen};
use crate::tui::keymap::Action;
use crate::tui::screen::areas;
use crate::tui::widgets::{resources, steps};

impl App {
    /// Handles a mouse event on a screen of size `size`.
    pub fn on_mouse(&mut self, m: MouseEvent, size: Rect) {
        if self.popup.is_some() || self.command.is_some() || self.filter_editing {
            return;
        }
        let Some(a) = areas(size) else { return };
        let at = Position::new(m.column, m.row);
        let pane = match self.screen {
            Screen::Timeline if a.body.contains(at) => Pane::Steps,
            Screen::Timeline => return,
            Screen::Main => {
                let panes = [
                    (a.resources, Pane::Resources),
                    (a.steps, Pane::Steps),
                    (a.detail, Pane::Detail),
                    (a.audit, Pane::Audit),
                ];
                match panes.iter().find(|(r, _)| r.contains(at)) {
                    Some((_, p)) => *p,
                    None => return,
                }
            }
        };
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                if self.screen == Screen::Main {
                    self.focus = pane;
                }
                let action = match m.kind {
                    MouseEventKind::ScrollDown => Action::Down,
                    _ => Action::Up,
                };
                self.move_selection(action);
            }
            MouseEventKind::Down(MouseButton::Left) if self.screen == Screen::Main => {
                // The row under the pointer is the one drawn before the click moved the focus.
                match pane {
                    Pane::Resources => self.click_resource(a.resources, m.row),
                    Pane::Steps => self.click_step(a.steps, m.row),
                    _ => {}
                }
                self.focus = pane;
                self.message = None;
            }
            _ => {}
        }
    }

    /// The row clicked in the resource table (below its border and header).
    fn click_resource(&mut self, area: Rect, row: u16) {
        let Some(offset) = row.checked_sub(area.y + 2) else {
            return;
        };
        let height = area.height.saturating_sub(3) as usize;
        let first = resources::first_row(self.resource_row, height);
        let i = first + offset as usize;
        if i < self.visible_resources().len() && (offset as usize) < height {
            self.resource_row = i;
        }
    }

    /// The step clicked in the step list (below its border).
    fn click_step(&mut self, area: Rect, row: u16) {
        let Some(offset) = row.checked_sub(area.y + 1) else {
            return;
        };
        let height = area.height.saturating_sub(2) as usize;
        let visible = self.visible_steps();
        let pos = visible
            .iter()
            .position(|i| *i == self.shown_step())
            .unwrap_or(0);
        let first = steps::first_row(pos, visible.len(), height);
        if let Some(i) = visible.get(first + offset as usize) {
            if (offset as usize) < height {
                self.step_row = Some(*i);
                self.detail_scroll = 0;
            }
        }
    }
}
