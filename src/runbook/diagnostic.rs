//! Located problems found while loading a runbook.

use std::fmt;

/// A 1-based line and column in the runbook source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, col: 1 };

    pub fn new(line: usize, col: usize) -> Pos {
        Pos {
            line: line.max(1),
            col: col.max(1),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Whether a finding stops the runbook from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Error,
    /// Worth fixing, but the runbook loads and runs (`validate` still exits 0).
    Warning,
}

/// One problem in a runbook: where, what, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub message: String,
    /// What to write instead; printed on the line after the error.
    pub hint: Option<String>,
    pub severity: Severity,
}

impl Diagnostic {
    pub fn new(pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            pos,
            message: message.into(),
            hint: None,
            severity: Severity::Error,
        }
    }

    pub fn warning(pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::new(pos, message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Renders as `FILE:LINE:COL: error: MESSAGE` (or `warning:`), plus an indented hint line.
    pub fn render(&self, file: &str) -> String {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Each part is one line, whatever the runbook put in it: no value can forge a line.
        let line = crate::safe::one_line;
        let mut out = format!(
            "{}:{}: {word}: {}",
            line(file),
            self.pos,
            line(&self.message)
        );
        if let Some(hint) = &self.hint {
            out.push_str("\n  hint: ");
            out.push_str(&line(hint));
        }
        out
    }
}

/// All problems in one runbook, in source order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the runbook", .0.len())]
pub struct LoadError(pub Vec<Diagnostic>);

impl LoadError {
    pub fn one(d: Diagnostic) -> LoadError {
        LoadError(vec![d])
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.0
    }
}

/// The closest candidate to `wrong`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(wrong: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let wrong_lower = wrong.to_ascii_lowercase();
    let close = |c: &str, d: usize| {
        d <= (c.len().max(wrong.len()) / 3).max(1)
            // `launch` for `launch-app`: one is the other with something added.
            // (A letter or two is a prefix of too much to say which was meant.)
            || (c.len() >= 3
                && wrong_lower.len() >= 3
                && (wrong_lower.starts_with(c) || c.starts_with(&wrong_lower)))
    };
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&wrong_lower, c), c))
        .filter(|(d, c)| close(c, *d))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `a`, `b` or `c`, for messages that list what is allowed.
pub fn one_of<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["title", "targets", "steps"];
        assert_eq!(did_you_mean("tittle", keys), Some("title"));
        assert_eq!(did_you_mean("stpes", keys), Some("steps"));
        assert_eq!(did_you_mean("banana", keys), None);
        assert_eq!(
            did_you_mean("launch-app", ["launch", "attach"]),
            Some("launch")
        );
    }

    #[test]
    fn renders_file_line_col_and_hint() {
        let d = Diagnostic::new(Pos::new(3, 5), "bad").hint("do this");
        assert_eq!(
            d.render("a.yaml"),
            "a.yaml:3:5: error: bad\n  hint: do this"
        );
    }

    #[test]
    fn lists_alternatives() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
