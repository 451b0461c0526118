//! The console's own state (focus, selection, filter, popups, the command line) and how keys and
//! the mouse change it. Keys become [`Command`]s only through a gate, a reason prompt or the
//! command line's words for those keys; nothing here does I/O.

mod act;
mod command;
mod copy;
mod filter;
mod mouse;

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::lookup;
use super::popups::gate::GateState;
use super::popups::reason::{ReasonKind, ReasonState};
use crate::engine::GateDecision;
use crate::runtime::session::Command;
use crate::runtime::view::{RunView, ViewMode};

pub use command::CommandLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Resources,
    Steps,
    /// The shown step's full text, scrollable.
    Detail,
    Audit,
}

/// What the body of the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Resources, steps, the step's detail and the audit tail.
    Main,
    /// Each step as a bar against its expectation, with the RTO target and the projection.
    Timeline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    /// `q` with a change request out: leave anyway?
    ConfirmQuit,
    /// `Enter` on a resource: everything known of it.
    Resource(String),
    Gate(GateState),
    Reason(ReasonState),
}

pub struct App {
    pub view: Arc<RunView>,
    pub screen: Screen,
    pub focus: Pane,
    pub resource_row: usize,
    /// The step shown in detail; follows the current step until the operator moves.
    pub step_row: Option<usize>,
    /// The sequence number of the newest audit record shown while the operator has scrolled
    /// back (the pane is paused, on those records however many arrive); `None` while it follows
    /// the journal.
    pub audit_at: Option<u64>,
    /// Lines scrolled down in the step detail pane.
    pub detail_scroll: u16,
    /// What `/` typed, and the pane it filters (resources, steps or audit).
    pub filter: String,
    pub filter_pane: Pane,
    pub filter_editing: bool,
    /// `:` typed, until Enter runs it or Esc drops it.
    pub command: Option<CommandLine>,
    pub popup: Option<Popup>,
    pub quit: bool,
    /// What the console itself wants to say (refusals, why a key did nothing).
    pub message: Option<String>,
    /// What `y` copied, for the terminal to put on the clipboard (OSC 52).
    pub clipboard: Option<String>,
    /// Lines scrolled down in the help (a small window shows it a part at a time).
    pub help_scroll: u16,
    /// Whether a command went to the session since the last view: a refusal it brings is news
    /// even if it reads as the last one did.
    commanded: bool,
}

impl App {
    pub fn new(view: Arc<RunView>) -> App {
        App {
            message: view.notice.clone(),
            view,
            screen: Screen::Main,
            focus: Pane::Steps,
            resource_row: 0,
            step_row: None,
            audit_at: None,
            detail_scroll: 0,
            filter: String::new(),
            filter_pane: Pane::Resources,
            filter_editing: false,
            command: None,
            popup: None,
            quit: false,
            clipboard: None,
            help_scroll: 0,
            commanded: false,
        }
    }

    pub fn mode(&self) -> ViewMode {
        self.view.mode
    }

    /// The step in the detail pane: the one picked in the step list (or the timeline) while
    /// that has the focus, else the current step (so a waiting gate is never hidden).
    pub fn shown_step(&self) -> usize {
        let picked = if matches!(self.focus, Pane::Steps | Pane::Detail)
            || self.screen == Screen::Timeline
        {
            self.step_row
        } else {
            None
        };
        // A rollback under way is followed as the run was.
        let following = self.view.rollback_in_hand().unwrap_or(self.view.current);
        picked
            .unwrap_or(following)
            .min(self.view.steps.len().saturating_sub(1))
    }

    /// A new view from the session. A gate popup closes if its step moved on.
    pub fn set_view(&mut self, view: Arc<RunView>) {
        if let Some(Popup::Gate(g)) = &self.popup {
            let still_open = view
                .open_gate
                .as_ref()
                .is_some_and(|o| o.step == g.step && o.rollback == g.rollback);
            if !still_open {
                self.popup = None;
            }
        }
        // A notice is shown when it is news (new, or after a command), and goes with its cause;
        // the same notice again (the clock ticking) does not cover what the operator did since.
        match &view.notice {
            Some(n) if self.commanded || view.notice != self.view.notice => {
                self.message = Some(n.clone())
            }
            None if self.view.notice.is_some() && self.message == self.view.notice => {
                self.message = None
            }
            _ => {}
        }
        self.commanded = false;
        // The resource selected stays selected, wherever the filter puts its row now.
        let selected = self
            .visible_resources()
            .get(self.resource_row)
            .map(|n| n.to_string());
        let moved_on = view.current != self.view.current
            || view.rollback_in_hand() != self.view.rollback_in_hand();
        if moved_on {
            // The run moved on: follow it, and start the new step's detail at its top.
            self.step_row = None;
            self.detail_scroll = 0;
        }
        self.view = view;
        let rows = self.visible_resources();
        self.resource_row = selected
            .and_then(|name| rows.iter().position(|n| *n == name))
            .unwrap_or(self.resource_row)
            .min(rows.len().saturating_sub(1));
    }

    /// Handles a key; returns the command for the session, if the key made one.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        let command = self.key(key);
        self.commanded |= command.is_some();
        command
    }

    fn key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && key.code == KeyCode::Char('c')
            && self.popup.is_none()
        {
            self.quit = true;
            return None;
        }
        if self.popup.is_some() {
            return self.popup_key(key);
        }
        if self.command.is_some() {
            return self.command_key(key);
        }
        if self.filter_editing {
            self.filter_key(key);
            return None;
        }
        if key.code == KeyCode::Esc {
            // Esc steps back: out of the timeline, then the filter and the message.
            if self.screen == Screen::Timeline {
                self.screen = Screen::Main;
            } else {
                self.clear_filter();
            }
            self.message = None;
            return None;
        }
        let Some(action) = lookup(self.mode(), &key) else {
            // A key that would change the run elsewhere says why it does nothing here.
            if self.mode() == ViewMode::ReadOnly && lookup(ViewMode::Drill, &key).is_some() {
                self.message = Some("read-only: nothing here can change the run".into());
            }
            return None;
        };
        self.message = None;
        self.act(action)
    }

    /// Popups are modal: they take every key.
    fn popup_key(&mut self, key: KeyEvent) -> Option<Command> {
        match &mut self.popup {
            Some(Popup::Resource(name)) => {
                match key.code {
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => self.popup = None,
                    KeyCode::Char('y') => {
                        let name = name.clone();
                        self.copy_resource(&name);
                    }
                    _ => {}
                }
                None
            }
            Some(Popup::ConfirmQuit) => {
                self.popup = None;
                if key.code == KeyCode::Char('y') {
                    self.quit = true;
                }
                None
            }
            Some(Popup::Help) => {
                match key.code {
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
                        self.popup = None;
                        self.help_scroll = 0;
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.help_scroll = (self.help_scroll + 1).min(40)
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.help_scroll = self.help_scroll.saturating_sub(1)
                    }
                    KeyCode::Home => self.help_scroll = 0,
                    _ => {}
                }
                None
            }
            Some(Popup::Gate(g)) => {
                let phrase = self
                    .view
                    .open_gate
                    .as_ref()
                    .filter(|o| o.step == g.step && o.rollback == g.rollback)
                    .map(|o| o.gate.clone());
                let (approve, typed, reason) = match g.on_key(key, phrase.as_ref()) {
                    super::popups::gate::Outcome::Open => return None,
                    // Closing a gate without passing it is a decision too: it goes to the
                    // journal.
                    super::popups::gate::Outcome::Cancelled => (false, None, None),
                    super::popups::gate::Outcome::Approved { typed, reason } => {
                        (true, typed, reason)
                    }
                };
                self.popup = None;
                Some(Command::Gate(GateDecision {
                    approve,
                    typed,
                    reason,
                    unattended: false,
                }))
            }
            Some(Popup::Reason(r)) => match r.on_key(key) {
                super::popups::reason::Outcome::Open => None,
                super::popups::reason::Outcome::Cancelled => {
                    self.popup = None;
                    None
                }
                super::popups::reason::Outcome::Given(kind, reason) => {
                    self.popup = None;
                    Some(match kind {
                        ReasonKind::Skip => Command::Skip(reason),
                        ReasonKind::Retry => Command::Retry(reason),
                        ReasonKind::Abort | ReasonKind::StopRollback => Command::Abort(reason),
                        ReasonKind::Rollback => Command::Rollback(reason),
                    })
                }
            },
            None => None,
        }
    }
}
