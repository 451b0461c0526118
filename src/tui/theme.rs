//! Colours by meaning, in one place; `NO_COLOR` turns them all off (emphasis stays).

use ratatui::style::{Color, Modifier, Style};

use crate::engine::objectives::Verdict;
use crate::engine::StepState;
use crate::runbook::Health;
use crate::runtime::view::ViewMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    /// The mode banner: LIVE red, DRILL blue, READ-ONLY grey; reversed so it stands out
    /// even without colour.
    pub fn mode(self, mode: ViewMode) -> Style {
        let base = Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED);
        if !self.color {
            return base;
        }
        match mode {
            ViewMode::Live => base.fg(Color::Red),
            ViewMode::Drill => base.fg(Color::Blue),
            ViewMode::ReadOnly => base.fg(Color::Gray),
        }
    }

    pub fn health(self, h: Health) -> Style {
        match h {
            Health::Ok => self.fg(Color::Green),
            Health::Impaired => self.fg(Color::Yellow),
            Health::Unavailable => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Health::Unknown => self.fg(Color::DarkGray),
        }
    }

    pub fn verdict(self, v: Verdict) -> Style {
        match v {
            Verdict::Ok => self.fg(Color::Green),
            Verdict::Warning => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Verdict::Breach => self
                .fg(Color::Red)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            Verdict::Unknown => self.fg(Color::Magenta),
            Verdict::NotApplicable => self.fg(Color::DarkGray),
        }
    }

    pub fn step(self, s: StepState) -> Style {
        match s {
            StepState::Done => self.fg(Color::Green),
            StepState::Skipped => self.fg(Color::DarkGray),
            StepState::Failed | StepState::Aborted => {
                self.fg(Color::Red).add_modifier(Modifier::BOLD)
            }
            StepState::AwaitingGate => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            StepState::Running | StepState::Waiting | StepState::Verifying => self.fg(Color::Cyan),
            StepState::Pending => Style::default(),
        }
    }

    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn focused_border(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn alert(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_mean_the_same_everywhere() {
        let t = Theme { color: true };
        assert_eq!(t.mode(ViewMode::Live).fg, Some(Color::Red));
        assert_eq!(t.mode(ViewMode::Drill).fg, Some(Color::Blue));
        assert_eq!(t.health(Health::Ok).fg, Some(Color::Green));
        assert_eq!(t.health(Health::Unavailable).fg, Some(Color::Red));
        assert_eq!(t.verdict(Verdict::Breach).fg, Some(Color::Red));
        assert_eq!(t.verdict(Verdict::Warning).fg, Some(Color::Yellow));
        assert_eq!(t.step(StepState::AwaitingGate).fg, Some(Color::Yellow));
    }

    #[test]
    fn no_color_keeps_emphasis_but_drops_colour() {
        let t = Theme { color: false };
        assert_eq!(t.mode(ViewMode::Live).fg, None);
        assert!(t
            .mode(ViewMode::Live)
            .add_modifier
            .contains(Modifier::REVERSED));
        assert_eq!(t.verdict(Verdict::Breach).fg, None);
        assert!(t
            .verdict(Verdict::Breach)
            .add_modifier
            .contains(Modifier::BOLD));
    }
}
