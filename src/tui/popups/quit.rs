//! `q` while a change request is out: what happens to it if the operator leaves now.

use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::audit::report::clean;
use crate::runtime::view::RunView;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, view: &RunView, theme: Theme) {
    let step = view
        .change_out
        .as_deref()
        .map_or("a step".to_string(), |s| format!("step `{}`", clean(s)));
    let lines =
        vec![
        Line::from(format!("A change request of {step} is out and has not answered.")),
        Line::from(
            "Quitting now waits for its answer (bounded by the cloud's timeouts), writes it to \
             the journal, then leaves; nothing new is sent. Resume the run with --resume.",
        ),
        Line::from(""),
        Line::from("Quit now? y quits · any other key stays"),
    ];
    let area = centered(frame.area(), 72, 9);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.alert())
        .title(" Quit with a request out? ");
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
