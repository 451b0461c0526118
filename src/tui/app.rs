//! The console's own state (focus, selection, filter, popups) and how keys change it. Keys
//! become [`Command`]s only through a gate or a reason prompt; `update` never does I/O.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::{lookup, Action};
use super::popups::gate::GateState;
use super::popups::reason::{ReasonKind, ReasonState};
use crate::engine::{GateDecision, StepState};
use crate::runbook::StepBody;
use crate::runtime::session::Command;
use crate::runtime::view::{RunView, ViewMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Resources,
    Steps,
    /// The shown step's full text, scrollable.
    Detail,
    Audit,
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
    pub focus: Pane,
    pub resource_row: usize,
    /// The step shown in detail; follows the current step until the operator moves.
    pub step_row: Option<usize>,
    /// The newest audit record shown while the operator has scrolled back (the pane is paused);
    /// `None` while it follows the journal.
    pub audit_at: Option<usize>,
    /// Lines scrolled down in the step detail pane.
    pub detail_scroll: u16,
    pub filter: String,
    pub filter_editing: bool,
    pub popup: Option<Popup>,
    pub quit: bool,
    /// What the console itself wants to say (refusals, why a key did nothing).
    pub message: Option<String>,
}

impl App {
    pub fn new(view: Arc<RunView>) -> App {
        App {
            view,
            focus: Pane::Steps,
            resource_row: 0,
            step_row: None,
            audit_at: None,
            detail_scroll: 0,
            filter: String::new(),
            filter_editing: false,
            popup: None,
            quit: false,
            message: None,
        }
    }

    pub fn mode(&self) -> ViewMode {
        self.view.mode
    }

    /// The resources the filter lets through, in runbook order.
    pub fn visible_resources(&self) -> Vec<&str> {
        let f = self.filter.to_lowercase();
        // Runs on every frame over every resource: compared in place, nothing allocated.
        self.view
            .runbook
            .resources
            .values()
            .filter(|r| {
                f.is_empty()
                    || contains_ci(&r.name, &f)
                    || r.kind.name().contains(&f)
                    || r.region.as_deref().unwrap_or("").contains(&f)
                    || self
                        .view
                        .observations
                        .get(&r.name)
                        .is_some_and(|o| o.health.name().contains(&f))
            })
            .map(|r| r.name.as_str())
            .collect()
    }

    /// The step in the detail pane: the one picked in the step list while that list has the
    /// focus, else the current step (so a waiting gate is never hidden).
    pub fn shown_step(&self) -> usize {
        let picked = if self.focus == Pane::Steps {
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
        if let Some(n) = &view.notice {
            self.message = Some(n.clone());
        }
        let moved_on = view.current != self.view.current
            || view.rollback_in_hand() != self.view.rollback_in_hand();
        if moved_on {
            // The run moved on: follow it, and start the new step's detail at its top.
            self.step_row = None;
            self.detail_scroll = 0;
        }
        self.view = view;
    }

    /// Handles a key; returns the command for the session, if the key made one.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && key.code == KeyCode::Char('c')
            && self.popup.is_none()
        {
            self.quit = true;
            return None;
        }
        // Popups are modal: they take every key.
        match &mut self.popup {
            Some(Popup::Resource(_)) => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                    self.popup = None;
                }
                return None;
            }
            Some(Popup::ConfirmQuit) => {
                self.popup = None;
                if key.code == KeyCode::Char('y') {
                    self.quit = true;
                }
                return None;
            }
            Some(Popup::Help) => {
                if matches!(
                    key.code,
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
                ) {
                    self.popup = None;
                }
                return None;
            }
            Some(Popup::Gate(g)) => {
                let phrase = self
                    .view
                    .open_gate
                    .as_ref()
                    .filter(|o| o.step == g.step && o.rollback == g.rollback)
                    .map(|o| o.gate.clone());
                return match g.on_key(key, phrase.as_ref()) {
                    super::popups::gate::Outcome::Open => None,
                    // Closing a gate without passing it is a decision too: it goes to the journal.
                    super::popups::gate::Outcome::Cancelled => {
                        self.popup = None;
                        Some(Command::Gate(GateDecision {
                            approve: false,
                            typed: None,
                            reason: None,
                            unattended: false,
                        }))
                    }
                    super::popups::gate::Outcome::Approved { typed, reason } => {
                        self.popup = None;
                        Some(Command::Gate(GateDecision {
                            approve: true,
                            typed,
                            reason,
                            unattended: false,
                        }))
                    }
                };
            }
            Some(Popup::Reason(r)) => {
                return match r.on_key(key) {
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
                };
            }
            None => {}
        }
        if self.filter_editing {
            match key.code {
                KeyCode::Esc => {
                    self.filter.clear();
                    self.filter_editing = false;
                }
                KeyCode::Enter => self.filter_editing = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() && self.filter.len() < 64 => {
                    self.filter.push(c)
                }
                _ => {}
            }
            self.resource_row = 0;
            return None;
        }
        if key.code == KeyCode::Esc {
            self.filter.clear();
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

    fn act(&mut self, action: Action) -> Option<Command> {
        let v = &self.view;
        let current = v.runbook.steps.get(v.current);
        let state = v.steps.get(v.current).map(|s| s.state);
        match action {
            // Leaving with a change request out waits for its answer: ask first.
            Action::Quit if v.change_out.is_some() => self.popup = Some(Popup::ConfirmQuit),
            Action::Quit => self.quit = true,
            Action::Help => self.popup = Some(Popup::Help),
            Action::NextPane | Action::PrevPane => {
                let order = [Pane::Resources, Pane::Steps, Pane::Detail, Pane::Audit];
                let i = order.iter().position(|p| *p == self.focus).unwrap_or(0);
                let n = if action == Action::NextPane {
                    i + 1
                } else {
                    i + order.len() - 1
                };
                self.focus = order[n % order.len()];
            }
            Action::Up | Action::Down | Action::Top | Action::Bottom => self.move_selection(action),
            Action::Open => match self.focus {
                Pane::Resources => {
                    let name = self
                        .visible_resources()
                        .get(self.resource_row)
                        .map(|n| n.to_string());
                    match name {
                        Some(name) => self.popup = Some(Popup::Resource(name)),
                        None => {
                            self.message = Some("no resource here: clear the filter (Esc)".into())
                        }
                    }
                }
                // A step opens in the detail pane, scrollable.
                Pane::Steps => self.focus = Pane::Detail,
                _ => {}
            },
            Action::Filter => {
                self.filter_editing = true;
                self.focus = Pane::Resources;
            }
            Action::OpenGate => match &v.open_gate {
                Some(open) => {
                    self.popup = Some(Popup::Gate(GateState::new(open.step, open.rollback)));
                }
                None => self.message = Some("no gate is waiting for you".into()),
            },
            Action::ManualDone => match (current, state) {
                (Some(step), Some(StepState::Running)) if matches!(step.body, StepBody::Manual) => {
                    return Some(Command::ManualDone);
                }
                // A drill runs no command: the operator does (or rehearses) it, then says so.
                (Some(step), Some(StepState::Running))
                    if v.mode == ViewMode::Drill
                        && matches!(step.body, StepBody::Command { .. }) =>
                {
                    return Some(Command::ManualDone);
                }
                (Some(step), Some(StepState::AwaitingGate))
                    if matches!(step.body, StepBody::Manual) =>
                {
                    self.message = Some("open its gate first: press g".into())
                }
                _ => {
                    self.message = Some("the current step is not a manual step in progress".into())
                }
            },
            Action::Skip => self.popup = Some(Popup::Reason(ReasonState::new(ReasonKind::Skip))),
            Action::Retry => match (state, v.rollback_in_hand()) {
                (_, Some(i))
                    if super::widgets::undo::rollback_state(v, i) == Some(StepState::Failed) =>
                {
                    self.popup = Some(Popup::Reason(ReasonState::new(ReasonKind::Retry)))
                }
                (Some(StepState::Failed), None) => {
                    self.popup = Some(Popup::Reason(ReasonState::new(ReasonKind::Retry)))
                }
                _ => self.message = Some("only a failed step can be retried".into()),
            },
            Action::Abort if v.rollback_in_hand().is_some() => {
                self.popup = Some(Popup::Reason(ReasonState::new(ReasonKind::StopRollback)))
            }
            Action::Abort => self.popup = Some(Popup::Reason(ReasonState::new(ReasonKind::Abort))),
            Action::Rollback => match super::widgets::undo::rollback_refusal(v) {
                Some(why) => self.message = Some(why.into()),
                None => self.popup = Some(Popup::Reason(ReasonState::new(ReasonKind::Rollback))),
            },
        }
        None
    }

    fn move_selection(&mut self, action: Action) {
        let (len, pos) = match self.focus {
            Pane::Resources => (self.visible_resources().len(), self.resource_row),
            Pane::Steps => (self.view.steps.len(), self.shown_step()),
            // Scrolls past the end stop at an empty pane; Home brings the top back.
            Pane::Detail => (200, usize::from(self.detail_scroll)),
            Pane::Audit => {
                let len = self.view.tail.len();
                (len, self.audit_at.unwrap_or(len.saturating_sub(1)))
            }
        };
        let last = len.saturating_sub(1);
        let next = match action {
            Action::Up => pos.saturating_sub(1),
            Action::Down => (pos + 1).min(last),
            Action::Top => 0,
            _ => last,
        };
        match self.focus {
            Pane::Resources => self.resource_row = next,
            Pane::Steps => {
                self.step_row = Some(next);
                self.detail_scroll = 0;
            }
            Pane::Detail => self.detail_scroll = u16::try_from(next).unwrap_or(u16::MAX),
            // Down to the newest, or End, follows the journal again; anything else pauses it.
            Pane::Audit => {
                let newest = next >= last && action != Action::Up && action != Action::Top;
                self.audit_at = (!newest).then_some(next);
            }
        }
    }
}

/// Whether `hay` contains `needle` (already lower case), ignoring ASCII case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || (h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
}

#[cfg(test)]
mod filter_tests {
    use super::contains_ci;

    #[test]
    fn the_filter_ignores_case_and_matches_anywhere() {
        assert!(contains_ci("Orders-DB-Replica", "db-rep"));
        assert!(contains_ci("app-1", ""));
        assert!(!contains_ci("app-1", "app-12"));
        assert!(!contains_ci("", "a"));
    }
}
