//! The gate: what will change, where, and the exact phrase to type; focus never starts on
//! "Proceed", and Esc always cancels.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::audit::report::clean;
use crate::runbook::{Gate, ReasonPolicy, StepBody};
use crate::runtime::view::{Preflight, RunView};
use crate::tui::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Typed,
    Reason,
    Cancel,
    Proceed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateState {
    pub step: usize,
    /// The gate of the step's rollback, not of the step.
    pub rollback: bool,
    pub typed: String,
    pub reason: String,
    pub focus: Option<Field>,
    pub error: Option<String>,
}

pub enum Outcome {
    Open,
    Cancelled,
    Approved {
        typed: Option<String>,
        reason: Option<String>,
    },
}

const MAX_INPUT: usize = 256;

fn fields(gate: Option<&Gate>) -> Vec<Field> {
    let mut f = Vec::new();
    if gate.is_some_and(|g| g.typed.is_some()) {
        f.push(Field::Typed);
    }
    if gate.is_some_and(|g| g.reason != ReasonPolicy::None) {
        f.push(Field::Reason);
    }
    // Tab from the last text field reaches Proceed; a gate without fields starts on Cancel.
    f.push(Field::Proceed);
    f.push(Field::Cancel);
    f
}

impl GateState {
    pub fn new(step: usize, rollback: bool) -> GateState {
        GateState {
            step,
            rollback,
            typed: String::new(),
            reason: String::new(),
            focus: None,
            error: None,
        }
    }

    /// The focused field; never "Proceed" until the operator moves there.
    pub fn field(&self, gate: Option<&Gate>) -> Field {
        self.focus.unwrap_or_else(|| match fields(gate)[0] {
            Field::Proceed => Field::Cancel,
            first => first,
        })
    }

    pub fn on_key(&mut self, key: KeyEvent, gate: Option<&Gate>) -> Outcome {
        let all = fields(gate);
        let field = self.field(gate);
        let pos = all.iter().position(|f| *f == field).unwrap_or(0);
        match key.code {
            KeyCode::Esc => return Outcome::Cancelled,
            KeyCode::Tab | KeyCode::Down => self.focus = Some(all[(pos + 1) % all.len()]),
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = Some(all[(pos + all.len() - 1) % all.len()])
            }
            // Cancel stands left of Proceed.
            KeyCode::Left if matches!(field, Field::Proceed) => self.focus = Some(Field::Cancel),
            KeyCode::Right if matches!(field, Field::Cancel) => self.focus = Some(Field::Proceed),
            KeyCode::Enter => match field {
                Field::Cancel => return Outcome::Cancelled,
                Field::Proceed => return self.try_approve(gate),
                // Enter in a text field moves on to the next one. In the last it stays: it must
                // neither approve by itself nor move to Cancel and throw the input away.
                _ => match all[pos + 1..]
                    .iter()
                    .find(|f| matches!(f, Field::Typed | Field::Reason))
                {
                    Some(next) => self.focus = Some(*next),
                    None => self.error = Some("Tab to Proceed, then Enter (Esc cancels)".into()),
                },
            },
            KeyCode::Backspace => {
                // What was wrong is no longer what is typed.
                self.error = None;
                match field {
                    Field::Typed => self.typed.pop(),
                    Field::Reason => self.reason.pop(),
                    _ => None,
                };
            }
            KeyCode::Char(c)
                if !c.is_control() && matches!(field, Field::Typed | Field::Reason) =>
            {
                self.error = None;
                match field {
                    Field::Typed if self.typed.len() < MAX_INPUT => self.typed.push(c),
                    Field::Reason if self.reason.len() < MAX_INPUT => self.reason.push(c),
                    _ => {}
                }
            }
            KeyCode::Char(c) if !c.is_control() => match field {
                Field::Typed if self.typed.len() < MAX_INPUT => self.typed.push(c),
                Field::Reason if self.reason.len() < MAX_INPUT => self.reason.push(c),
                _ => {}
            },
            _ => {}
        }
        Outcome::Open
    }

    fn try_approve(&mut self, gate: Option<&Gate>) -> Outcome {
        let Some(gate) = gate else {
            return Outcome::Cancelled;
        };
        if let Some(phrase) = &gate.typed {
            if &self.typed != phrase {
                self.error = Some(format!("type `{phrase}` exactly to proceed"));
                self.focus = Some(Field::Typed);
                return Outcome::Open;
            }
        }
        let reason = self.reason.trim().to_string();
        if gate.reason == ReasonPolicy::Required && reason.is_empty() {
            self.error = Some("say why: this gate needs a reason".into());
            self.focus = Some(Field::Reason);
            return Outcome::Open;
        }
        Outcome::Approved {
            typed: gate.typed.as_ref().map(|_| self.typed.clone()),
            reason: (!reason.is_empty()).then_some(reason),
        }
    }
}

pub fn render(frame: &mut Frame, state: &GateState, view: &RunView, theme: Theme) {
    let Some(step) = view.runbook.steps.get(state.step) else {
        return;
    };
    let open = view
        .open_gate
        .as_ref()
        .filter(|g| g.step == state.step && g.rollback == state.rollback);
    let gate = open.map(|g| &g.gate).or(step.gate.as_ref());
    let area = centered(frame.area(), 90, 24);
    frame.render_widget(Clear, area);
    let heading = if state.rollback {
        format!(" ROLLBACK GATE: {} ", clean(&step.id))
    } else {
        format!(" GATE: {} ", clean(&step.id))
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.alert())
        .title(Span::styled(heading, theme.alert()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [what, inputs, buttons, error] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let title = if state.rollback {
        format!("undo: {}", clean(&step.title))
    } else {
        clean(&step.title)
    };
    let mut lines = vec![Line::from(Span::styled(
        title,
        theme
            .selected()
            .remove_modifier(Modifier::REVERSED)
            .add_modifier(Modifier::BOLD),
    ))];
    lines.push(Line::from(format!(
        "mode {} · operator {} · {}",
        mode_word(view),
        clean(&view.operator),
        clean(&view.target)
    )));
    // A change in another account goes through the role assumed there: said with the account.
    if let StepBody::Action { resource, .. } = &step.body {
        let account = view
            .runbook
            .resources
            .get(resource)
            .and_then(|r| r.account.as_deref());
        if let Some(a) = account {
            let how = view.runbook.accounts.get(a).map_or_else(
                || "with the credentials above".to_string(),
                |r| format!("as {} (assumed)", clean(&r.role)),
            );
            lines.push(Line::from(Span::styled(
                format!("in account {} {how}", clean(a)),
                theme.alert(),
            )));
        }
    }
    // Proceed is only the first of two approvals: said before the change, which may be long.
    if gate.is_some_and(|g| g.approvers > 1) && !state.rollback {
        lines.push(Line::from(Span::styled(
            "two approvers: after you, another person approves this request with `pilotlight approve`",
            theme.alert(),
        )));
    }
    let drill_note = if view.mode == crate::runtime::view::ViewMode::Drill {
        " (simulated in a drill)"
    } else {
        ""
    };
    match (&view.preview, &step.body) {
        (Some(p), StepBody::Command { .. }) => {
            lines.push(Line::from(format!("will run{drill_note}: {}", clean(p))))
        }
        // A change set's lines each on their own, a replacement in red: it means the resource
        // is made anew (new id, and for data stores, new storage).
        (Some(p), _) => {
            let mut rows = p.lines();
            let first = format!("will call: {}", clean(rows.next().unwrap_or_default()));
            // With what the cloud says under it (a change set, a before -> after), the request
            // keeps one line: its parameters are in the step's detail and the journal.
            let first = if p.lines().count() > 1 {
                let width = usize::from(what.width).max(2);
                match first.char_indices().nth(width - 1) {
                    Some((at, _)) => format!("{}…", &first[..at]),
                    None => first,
                }
            } else {
                first
            };
            lines.push(Line::from(first));
            for row in rows {
                let replaces = ["replacement: True", "replacement: Conditional"];
                let style = if replaces.iter().any(|r| row.contains(r)) {
                    theme.alert()
                } else {
                    Style::default()
                };
                lines.push(Line::from(Span::styled(clean(row), style)));
            }
        }
        // The gate is a manual step's one question: Proceed says the work is done.
        (None, StepBody::Manual) if !state.rollback => lines.push(Line::from(
            "no cloud change: Proceed says you have done this step",
        )),
        (None, _) => lines.push(Line::from(
            "no cloud change: confirms you will do this step",
        )),
    }
    // A cutover that needs the failed region's control plane may not happen at all.
    if let Some(risk) = view.runbook.control_plane_risk(step) {
        lines.push(Line::from(Span::styled(
            format!("warning: {}", clean(&risk)),
            theme.alert(),
        )));
    }
    // What `run`'s preflight found wrong with this step, before the operator decides.
    if !state.rollback {
        match &view.preflight {
            Some(Preflight::Done(report)) => {
                for f in report.problems_of(&step.id) {
                    lines.push(Line::from(Span::styled(
                        format!(
                            "preflight {}: {}",
                            f.severity.name().to_uppercase(),
                            clean(&f.detail)
                        ),
                        theme.alert(),
                    )));
                }
            }
            Some(Preflight::Checking) => lines.push(Line::from(Span::styled(
                "preflight: still checking",
                theme.dim(),
            ))),
            None => {}
        }
    }
    // The step's own words (warnings such as "one-way") belong in front of the decision.
    if let (Some(text), false) = (&step.instructions, state.rollback) {
        lines.push(Line::from(""));
        let text = text
            .render(&view.outputs)
            .unwrap_or_else(|_| text.to_string());
        lines.push(Line::from(Span::styled(clean(&text), theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), what);
    let field = state.field(gate);
    let mark = |f: Field| if field == f { "▶ " } else { "  " };
    let mut input_lines = Vec::new();
    if let Some(phrase) = gate.and_then(|g| g.typed.as_ref()) {
        input_lines.push(Line::from(format!("type `{}` to proceed:", clean(phrase))));
        input_lines.push(Line::from(format!(
            "{}[{}]",
            mark(Field::Typed),
            clean(&state.typed)
        )));
    }
    if let Some(policy) = gate.map(|g| g.reason).filter(|p| *p != ReasonPolicy::None) {
        let word = if policy == ReasonPolicy::Required {
            "required"
        } else {
            "optional"
        };
        input_lines.push(Line::from(format!(
            "{}reason ({word}): [{}]",
            mark(Field::Reason),
            clean(&state.reason)
        )));
    }
    frame.render_widget(Paragraph::new(input_lines), inputs);
    // The focused button is reversed and marked, so focus shows without colour too.
    let button = |f: Field, label: &str| {
        if field == f {
            Span::styled(format!("▶{label} "), theme.selected())
        } else {
            Span::styled(format!(" {label} "), theme.dim())
        }
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            button(Field::Cancel, "Cancel"),
            Span::raw("   "),
            button(Field::Proceed, "Proceed"),
        ])),
        buttons,
    );
    if let Some(e) = &state.error {
        frame.render_widget(
            Paragraph::new(Span::styled(e.clone(), theme.alert())),
            error,
        );
    } else {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "Tab moves · Enter chooses · Esc cancels",
                theme.dim(),
            )),
            error,
        );
    }
}

fn mode_word(view: &RunView) -> &'static str {
    match view.mode {
        crate::runtime::view::ViewMode::Live => "LIVE",
        crate::runtime::view::ViewMode::Drill => "DRILL",
        crate::runtime::view::ViewMode::ReadOnly => "READ-ONLY",
    }
}
