//! Skip, retry, abort and rollback ask why; the answer goes to the journal.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::audit::report::clean;
use crate::tui::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind {
    Skip,
    Retry,
    Abort,
    /// Roll back the run's completed changes.
    Rollback,
    /// Stop a rollback under way.
    StopRollback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonState {
    pub kind: ReasonKind,
    pub text: String,
    pub error: Option<String>,
}

pub enum Outcome {
    Open,
    Cancelled,
    Given(ReasonKind, String),
}

impl ReasonState {
    pub fn new(kind: ReasonKind) -> ReasonState {
        ReasonState {
            kind,
            text: String::new(),
            error: None,
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        match key.code {
            KeyCode::Esc => return Outcome::Cancelled,
            KeyCode::Enter if self.text.trim().is_empty() => {
                self.error = Some("say why before you go on".into())
            }
            KeyCode::Enter => return Outcome::Given(self.kind, self.text.trim().to_string()),
            KeyCode::Backspace => {
                self.text.pop();
            }
            KeyCode::Char(c) if !c.is_control() && self.text.len() < 256 => self.text.push(c),
            _ => {}
        }
        Outcome::Open
    }
}

/// `step` names what skip and retry are about (`step ID`, or `the rollback of ID`).
pub fn render(frame: &mut Frame, state: &ReasonState, step: &str, theme: Theme) {
    let area = centered(frame.area(), 70, 7);
    frame.render_widget(Clear, area);
    let title = match state.kind {
        ReasonKind::Skip => format!(" Skip {} ", clean(step)),
        ReasonKind::Retry => format!(" Retry {} ", clean(step)),
        ReasonKind::Abort => " Abort the run ".to_string(),
        ReasonKind::Rollback => {
            " Roll back the run: each step newest first, at its own gate ".to_string()
        }
        ReasonKind::StopRollback => " Stop the rollback ".to_string(),
    };
    let lines = vec![
        Line::from("Why? (goes to the audit journal)"),
        Line::from(format!("▶ [{}]", clean(&state.text))),
        Line::from(
            state
                .error
                .clone()
                .unwrap_or_else(|| "Enter confirms · Esc cancels".into()),
        ),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.alert())
        .title(title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
