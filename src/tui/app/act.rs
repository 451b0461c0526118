//! What each key's action does to the console (and the commands some of them make).

use super::{App, CommandLine, Pane, Popup, Screen};
use crate::engine::StepState;
use crate::runbook::StepBody;
use crate::runtime::session::Command;
use crate::runtime::view::ViewMode;
use crate::tui::keymap::Action;
use crate::tui::popups::gate::GateState;
use crate::tui::popups::reason::{ReasonKind, ReasonState};

impl App {
    pub(super) fn act(&mut self, action: Action) -> Option<Command> {
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
            // From the timeline, a step opens in the main screen's detail.
            Action::Open if self.screen == Screen::Timeline => {
                self.screen = Screen::Main;
                self.focus = Pane::Steps;
            }
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
            Action::Filter => self.start_filter(),
            Action::Command => self.command = Some(CommandLine::default()),
            Action::Timeline => {
                self.screen = match self.screen {
                    Screen::Main => Screen::Timeline,
                    Screen::Timeline => Screen::Main,
                }
            }
            Action::Copy => self.copy_focused(),
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
                    if crate::tui::widgets::undo::rollback_state(v, i)
                        == Some(StepState::Failed) =>
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
            Action::Rollback => match crate::tui::widgets::undo::rollback_refusal(v) {
                Some(why) => self.message = Some(why.into()),
                None => self.popup = Some(Popup::Reason(ReasonState::new(ReasonKind::Rollback))),
            },
        }
        None
    }

    pub(super) fn move_selection(&mut self, action: Action) {
        // The timeline moves through the steps as the step list does.
        let focus = match self.screen {
            Screen::Timeline => Pane::Steps,
            Screen::Main => self.focus,
        };
        let steps = self.visible_steps();
        let (len, pos) = match focus {
            Pane::Resources => (self.visible_resources().len(), self.resource_row),
            Pane::Steps => {
                let shown = self.shown_step();
                (
                    steps.len(),
                    steps.iter().position(|i| *i == shown).unwrap_or(0),
                )
            }
            // Scrolls past the end stop at an empty pane; Home brings the top back.
            Pane::Detail => (200, usize::from(self.detail_scroll)),
            Pane::Audit => {
                let len = self.visible_audit().len();
                (len, self.audit_end().saturating_sub(1))
            }
        };
        let last = len.saturating_sub(1);
        let next = match action {
            Action::Up => pos.saturating_sub(1),
            Action::Down => (pos + 1).min(last),
            Action::Top => 0,
            _ => last,
        };
        match focus {
            Pane::Resources => self.resource_row = next,
            Pane::Steps => {
                if let Some(i) = steps.get(next) {
                    self.step_row = Some(*i);
                    self.detail_scroll = 0;
                }
            }
            Pane::Detail => self.detail_scroll = u16::try_from(next).unwrap_or(u16::MAX),
            // Down to the newest, or End, follows the journal again; anything else pauses it.
            Pane::Audit => {
                let newest = next >= last && action != Action::Up && action != Action::Top;
                let seq = self.visible_audit().get(next).map(|r| r.seq);
                self.audit_at = seq.filter(|_| !newest);
            }
        }
    }
}
