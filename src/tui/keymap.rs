//! The keymap is data: one table drives key handling, the footer's hints and the `?` help.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::runtime::view::ViewMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    NextPane,
    PrevPane,
    Up,
    Down,
    Top,
    Bottom,
    Filter,
    OpenGate,
    ManualDone,
    Skip,
    Retry,
    Abort,
    Rollback,
    Open,
    /// `:`: the command line.
    Command,
    /// The timeline view, or back from it.
    Timeline,
    /// Copies the focused id or ARN to the clipboard (OSC 52).
    Copy,
}

pub struct Binding {
    pub key: KeyCode,
    pub action: Action,
    /// Shown in the footer (short) and the help overlay.
    pub label: &'static str,
    pub help: &'static str,
    /// Changes the run; never bound in read-only mode.
    pub changes_run: bool,
    pub in_footer: bool,
}

const fn b(
    key: KeyCode,
    action: Action,
    label: &'static str,
    help: &'static str,
    changes_run: bool,
    in_footer: bool,
) -> Binding {
    Binding {
        key,
        action,
        label,
        help,
        changes_run,
        in_footer,
    }
}

/// Every key the console knows, in help order.
pub const BINDINGS: &[Binding] = &[
    b(
        KeyCode::Char('g'),
        Action::OpenGate,
        "gate",
        "review the current step's gate: preview, typed phrase, reason",
        true,
        true,
    ),
    b(
        KeyCode::Char('d'),
        Action::ManualDone,
        "done",
        "mark the current manual (or drill command) step done",
        true,
        true,
    ),
    b(
        KeyCode::Char('r'),
        Action::Retry,
        "retry",
        "retry the failed step (asks why)",
        true,
        true,
    ),
    b(
        KeyCode::Char('s'),
        Action::Skip,
        "skip",
        "skip the current step (asks why)",
        true,
        true,
    ),
    b(
        KeyCode::Char('A'),
        Action::Abort,
        "abort",
        "abort the run (asks why)",
        true,
        true,
    ),
    b(
        KeyCode::Char('R'),
        Action::Rollback,
        "rollback",
        "roll back the ended run: each inverse, newest first (asks why)",
        true,
        false,
    ),
    b(
        KeyCode::Tab,
        Action::NextPane,
        "pane",
        "next pane: resources, steps, step detail, audit",
        false,
        true,
    ),
    b(
        KeyCode::BackTab,
        Action::PrevPane,
        "",
        "previous pane",
        false,
        false,
    ),
    b(
        KeyCode::Enter,
        Action::Open,
        "open",
        "open the focused resource (AWS id, recovery point) or step",
        false,
        false,
    ),
    b(
        KeyCode::Char('/'),
        Action::Filter,
        "filter",
        "filter the focused pane: resources, steps or audit (Esc clears)",
        false,
        true,
    ),
    b(
        KeyCode::Char(':'),
        Action::Command,
        "command",
        "command line: :step ID, :resource NAME, :timeline (Tab completes)",
        false,
        true,
    ),
    b(
        KeyCode::Char('t'),
        Action::Timeline,
        "timeline",
        "timeline: steps against their expected time, RTO and projection",
        false,
        true,
    ),
    b(
        KeyCode::Char('y'),
        Action::Copy,
        "copy",
        "copy the focused AWS id or ARN to the clipboard (OSC 52)",
        false,
        false,
    ),
    b(
        KeyCode::Char('j'),
        Action::Down,
        "",
        "move down",
        false,
        false,
    ),
    b(KeyCode::Down, Action::Down, "", "move down", false, false),
    b(KeyCode::Char('k'), Action::Up, "", "move up", false, false),
    b(KeyCode::Up, Action::Up, "", "move up", false, false),
    b(KeyCode::Home, Action::Top, "", "first row", false, false),
    b(KeyCode::End, Action::Bottom, "", "last row", false, false),
    b(
        KeyCode::Char('?'),
        Action::Help,
        "help",
        "show or hide this help",
        false,
        true,
    ),
    b(
        KeyCode::Char('q'),
        Action::Quit,
        "quit",
        "quit (a drill or run can be resumed later)",
        false,
        true,
    ),
];

/// The command line's word for each action a key does (`:gate`, `:timeline`, …).
pub const WORDS: &[(&str, Action)] = &[
    ("gate", Action::OpenGate),
    ("done", Action::ManualDone),
    ("retry", Action::Retry),
    ("skip", Action::Skip),
    ("abort", Action::Abort),
    ("rollback", Action::Rollback),
    ("timeline", Action::Timeline),
    ("copy", Action::Copy),
    ("filter", Action::Filter),
    ("help", Action::Help),
    ("quit", Action::Quit),
];

/// The command words usable in `mode`: none that changes the run in a read-only console.
pub fn words(mode: ViewMode) -> impl Iterator<Item = (&'static str, Action)> {
    WORDS.iter().copied().filter(move |(_, a)| {
        BINDINGS
            .iter()
            .any(|b| b.action == *a && (mode != ViewMode::ReadOnly || !b.changes_run))
    })
}

/// The bindings active in `mode`: read-only consoles have nothing that changes the run.
pub fn bindings(mode: ViewMode) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |b| mode != ViewMode::ReadOnly || !b.changes_run)
}

/// The action for a key press in `mode`, if any.
pub fn lookup(mode: ViewMode, key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            _ => None,
        };
    }
    bindings(mode).find(|b| b.key == key.code).map(|b| b.action)
}

/// How a key is written in hints and help.
pub fn key_name(code: KeyCode) -> String {
    match code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = HashSet::new();
        for b in BINDINGS {
            assert!(seen.insert(b.key), "{:?} bound twice", b.key);
        }
    }

    #[test]
    fn every_action_is_bound_and_explained() {
        use Action::*;
        for a in [
            Quit, Help, NextPane, PrevPane, Up, Down, Top, Bottom, Filter, OpenGate, ManualDone,
            Skip, Retry, Abort, Rollback, Open, Command, Timeline, Copy,
        ] {
            let b = BINDINGS.iter().find(|b| b.action == a);
            assert!(
                b.is_some_and(|b| !b.help.is_empty()),
                "{a:?} has no key or no help"
            );
        }
    }

    #[test]
    fn read_only_mode_has_no_command_that_changes_the_run() {
        for b in bindings(ViewMode::ReadOnly) {
            assert!(!b.changes_run, "{:?}", b.action);
        }
        for c in ['g', 'd', 'r', 's', 'A', 'R'] {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            assert_eq!(lookup(ViewMode::ReadOnly, &key), None, "{c}");
            assert!(lookup(ViewMode::Drill, &key).is_some(), "{c}");
        }
    }
}
