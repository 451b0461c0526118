//! `/` filters the focused pane: resources by name, kind, region or health; steps by id, title
//! or state; audit records by what their line says. One filter at a time, on one pane.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Pane, Screen};
use crate::audit::Record;

impl App {
    /// The filter on `pane` ("" when it has none).
    pub fn filter_on(&self, pane: Pane) -> &str {
        if self.filter_pane == pane {
            &self.filter
        } else {
            ""
        }
    }

    /// Whether `pane` shows a filter (being typed or kept).
    pub fn filtered(&self, pane: Pane) -> bool {
        self.filter_pane == pane && (self.filter_editing || !self.filter.is_empty())
    }

    /// The resources the filter lets through, in runbook order.
    pub fn visible_resources(&self) -> Vec<&str> {
        let f = self.filter_on(Pane::Resources).to_lowercase();
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

    /// The steps (indices) the filter lets through: by id, title or state.
    pub fn visible_steps(&self) -> Vec<usize> {
        let f = self.filter_on(Pane::Steps).to_lowercase();
        let v = &self.view;
        (0..v.steps.len())
            .filter(|&i| {
                f.is_empty()
                    || v.runbook.steps.get(i).is_some_and(|s| {
                        contains_ci(&s.id, &f)
                            || contains_ci(&s.title, &f)
                            || v.steps[i].state.name().contains(&f)
                    })
            })
            .collect()
    }

    /// The audit records the filter lets through (of those the console holds), oldest first.
    pub fn visible_audit(&self) -> Vec<&Record> {
        let f = self.filter_on(Pane::Audit).to_lowercase();
        self.view
            .tail
            .iter()
            .filter(|r| f.is_empty() || contains_ci(&crate::tui::widgets::audit::summary(r), &f))
            .collect()
    }

    /// Where the audit pane's records end (exclusive, in [`App::visible_audit`]): at the newest
    /// while it follows, else just after the record it is paused on (or, if that one has left
    /// the console's tail, at the oldest page).
    pub fn audit_end(&self) -> usize {
        let records = self.visible_audit();
        match self.audit_at {
            None => records.len(),
            Some(seq) => match records.iter().position(|r| r.seq >= seq) {
                Some(i) if records[i].seq == seq => i + 1,
                Some(i) => i,
                None => records.len(),
            },
        }
    }

    /// `/`: starts a filter on the focused pane (the step list's from its detail or the
    /// timeline). A pane's new filter replaces another pane's.
    pub(super) fn start_filter(&mut self) {
        let pane = match (self.screen, self.focus) {
            (Screen::Timeline, _) | (_, Pane::Detail) => Pane::Steps,
            (_, p) => p,
        };
        if pane != self.filter_pane {
            self.clear_filter();
        }
        self.filter_pane = pane;
        self.filter_editing = true;
    }

    pub(super) fn clear_filter(&mut self) {
        self.filter.clear();
        self.filter_editing = false;
        self.refiltered();
    }

    /// Sets the filter on `pane` at once (`:filter TEXT`).
    pub(super) fn set_filter(&mut self, pane: Pane, text: &str) {
        if pane != self.filter_pane {
            self.clear_filter();
        }
        self.filter_pane = pane;
        self.filter = text.chars().take(64).collect();
        self.filter_editing = false;
        self.refiltered();
    }

    /// A key while the filter is typed.
    pub(super) fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Esc => self.filter.clear(),
            KeyCode::Enter => {}
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) if !c.is_control() && self.filter.chars().count() < 64 => {
                self.filter.push(c)
            }
            _ => return,
        }
        if matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
            self.filter_editing = false;
        }
        self.refiltered();
    }

    /// What the filter changed: selections start again from the top (the audit pane follows).
    fn refiltered(&mut self) {
        match self.filter_pane {
            Pane::Resources => self.resource_row = 0,
            Pane::Audit => self.audit_at = None,
            // The step shown stays if it still shows, else the first one that does.
            Pane::Steps | Pane::Detail => {
                let steps = self.visible_steps();
                if !steps.contains(&self.shown_step()) {
                    self.step_row = steps.first().copied();
                }
            }
        }
    }
}

/// Whether `hay` contains `needle` (already lower case), ignoring ASCII case.
pub(super) fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || (h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
}

#[cfg(test)]
mod tests {
    use super::contains_ci;

    #[test]
    fn the_filter_ignores_case_and_matches_anywhere() {
        assert!(contains_ci("Orders-DB-Replica", "db-rep"));
        assert!(contains_ci("app-1", ""));
        assert!(!contains_ci("app-1", "app-12"));
        assert!(!contains_ci("", "a"));
    }
}
