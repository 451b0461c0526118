//! `:` the command line, as in k9s and vim: the word for any key's action (`:gate`, `:timeline`,
//! `:quit`, …), jumps (`:step ID`, `:resource NAME`), `:filter TEXT` and `:main`. Tab completes
//! the word or the name; Enter runs it; Esc drops it. A word that would change the run goes the
//! same way as its key: through its gate or its reason prompt.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Pane, Popup, Screen};
use crate::runtime::session::Command;
use crate::tui::keymap::words;

/// What is typed after `:`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub text: String,
    /// What Tab found when it could not finish the word on its own.
    pub choices: Vec<String>,
}

const MAX: usize = 128;

/// Words of the command line besides the keys' own.
const JUMPS: &[&str] = &["step", "resource", "main"];

impl App {
    pub(super) fn command_key(&mut self, key: KeyEvent) -> Option<Command> {
        let line = self.command.as_mut()?;
        match key.code {
            KeyCode::Esc => self.command = None,
            KeyCode::Enter => {
                let text = line.text.trim().to_string();
                self.command = None;
                return self.run_command(&text);
            }
            KeyCode::Tab => self.complete(),
            KeyCode::Backspace => {
                line.choices.clear();
                if line.text.pop().is_none() {
                    self.command = None;
                }
            }
            KeyCode::Char(c) if !c.is_control() && line.text.chars().count() < MAX => {
                line.choices.clear();
                line.text.push(c);
            }
            _ => {}
        }
        None
    }

    /// What could follow what is typed: command words, else the step ids or resource names
    /// after `step ` or `resource `.
    pub fn completions(&self, text: &str) -> Vec<String> {
        let v = &self.view;
        match text.split_once(' ') {
            None => words(self.mode())
                .map(|(w, _)| w)
                .chain(JUMPS.iter().copied())
                .filter(|w| w.starts_with(text))
                .map(str::to_string)
                .collect(),
            Some(("step", id)) => v
                .runbook
                .steps
                .iter()
                .map(|s| s.id.clone())
                .filter(|s| s.starts_with(id.trim_start()))
                .collect(),
            Some(("resource", name)) => v
                .runbook
                .resources
                .keys()
                .filter(|r| r.starts_with(name.trim_start()))
                .cloned()
                .collect(),
            Some(_) => Vec::new(),
        }
    }

    /// Tab: finishes the word (or name) when one fits, else as far as all that fit agree, and
    /// lists them.
    fn complete(&mut self) {
        let Some(line) = &self.command else { return };
        let text = line.text.clone();
        let found = self.completions(&text);
        let head = match text.split_once(' ') {
            Some((word, _)) => format!("{word} "),
            None => String::new(),
        };
        let Some(line) = self.command.as_mut() else {
            return;
        };
        match found.as_slice() {
            [] => line.choices.clear(),
            [one] => {
                line.text = format!("{head}{one}");
                // A word that takes a name is followed by a space, ready for it.
                if head.is_empty() && matches!(one.as_str(), "step" | "resource" | "filter") {
                    line.text.push(' ');
                }
                line.choices.clear();
            }
            many => {
                let common = common_prefix(many);
                if common.len() > text.len() - head.len() {
                    line.text = format!("{head}{common}");
                }
                line.choices = many.to_vec();
            }
        }
    }

    fn run_command(&mut self, text: &str) -> Option<Command> {
        let (word, rest) = match text.split_once(' ') {
            Some((w, r)) => (w, r.trim()),
            None => (text, ""),
        };
        match word {
            "" => None,
            "step" => {
                self.jump_to_step(rest);
                None
            }
            "resource" => {
                self.jump_to_resource(rest);
                None
            }
            "filter" => {
                let pane = match (self.screen, self.focus) {
                    (Screen::Timeline, _) | (_, Pane::Detail) => Pane::Steps,
                    (_, p) => p,
                };
                match rest {
                    "" => self.start_filter(),
                    text => self.set_filter(pane, text),
                }
                None
            }
            "main" => {
                self.screen = Screen::Main;
                None
            }
            w => match words(self.mode()).find(|(name, _)| *name == w) {
                Some((_, action)) => self.act(action),
                None => {
                    self.message = Some(
                        match crate::tui::keymap::WORDS.iter().any(|(n, _)| *n == w) {
                            true => format!(
                                "`:{}` changes the run: not here (read-only)",
                                crate::safe::one_line(w)
                            ),
                            false => format!(
                                "no command `:{}`; Tab after `:` lists them",
                                crate::safe::one_line(w)
                            ),
                        },
                    );
                    None
                }
            },
        }
    }

    /// `:step ID`: that step, in the step list and its detail (or in the timeline).
    fn jump_to_step(&mut self, id: &str) {
        let Some(i) = self.view.runbook.steps.iter().position(|s| s.id == id) else {
            self.message = Some(format!(
                "no step `{}`; Tab after `:step ` lists them",
                crate::safe::one_line(id)
            ));
            return;
        };
        if !self.visible_steps().contains(&i) {
            self.set_filter(Pane::Steps, "");
        }
        self.step_row = Some(i);
        self.detail_scroll = 0;
        if self.screen == Screen::Main {
            self.focus = Pane::Steps;
        }
    }

    /// `:resource NAME`: that resource's row, and its detail open.
    fn jump_to_resource(&mut self, name: &str) {
        if !self.view.runbook.resources.contains_key(name) {
            self.message = Some(format!(
                "no resource `{}`; Tab after `:resource ` lists them",
                crate::safe::one_line(name)
            ));
            return;
        }
        if !self.visible_resources().contains(&name) {
            self.set_filter(Pane::Resources, "");
        }
        self.screen = Screen::Main;
        self.focus = Pane::Resources;
        self.resource_row = self
            .visible_resources()
            .iter()
            .position(|n| *n == name)
            .unwrap_or(0);
        self.popup = Some(Popup::Resource(name.to_string()));
    }
}

/// The longest start all of `words` share.
fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for w in &words[1..] {
        end = first
            .char_indices()
            .zip(w.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(end);
    }
    first[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn completion_extends_to_what_all_choices_share() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            common_prefix(&w(&["start-app-1", "start-app-2"])),
            "start-app-"
        );
        assert_eq!(common_prefix(&w(&["step", "skip"])), "s");
        assert_eq!(common_prefix(&w(&["gate"])), "gate");
        assert_eq!(common_prefix(&w(&["é-a", "é-b"])), "é-");
        assert_eq!(common_prefix(&[]), "");
    }
}
