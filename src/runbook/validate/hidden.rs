//! No value or key anywhere in a runbook may hold a character that acts on a terminal or hides
//! (controls, bidi overrides, zero-width and other invisible characters): whatever the field, it
//! is shown to an operator, sent to AWS or typed at a gate, and must be what it looks like.
//! Prose and commands (`description`, `instructions`, `run`, a notification's `message`) may break
//! lines.

use super::Checker;
use crate::runbook::diagnostic::{Diagnostic, Pos};
use crate::runbook::source::Node;

const PROSE: [&str; 4] = ["description", "instructions", "run", "message"];

impl Checker<'_> {
    pub(super) fn no_hidden_characters(&mut self) {
        let mut found = Vec::new();
        walk(self.tree, false, &mut found);
        for (pos, c) in found {
            self.diags.push(hidden_at(pos, c));
        }
    }
}

/// The diagnostic for `c` at `pos` (the same words wherever it is found, so that one problem
/// met twice is said once).
pub(super) fn hidden_at(pos: Pos, c: char) -> Diagnostic {
    Diagnostic::new(
        pos,
        format!(
            "holds the invisible character U+{:04X}, which a terminal would act on or reorder",
            c as u32
        ),
    )
    .hint("write it out in plain text; what an operator reads or types must be what is there")
}

fn first_hidden(text: &str, prose: bool) -> Option<char> {
    text.chars()
        .find(|&c| crate::safe::is_hidden(c) && !(prose && (c == '\n' || c == '\t')))
}

fn walk(node: &Node, prose: bool, found: &mut Vec<(Pos, char)>) {
    match node {
        Node::Scalar { value, pos, .. } => {
            if let Some(c) = first_hidden(value, prose) {
                found.push((*pos, c));
            }
        }
        Node::Seq { items, .. } => {
            for item in items {
                walk(item, prose, found);
            }
        }
        Node::Map { entries, .. } => {
            for e in entries {
                if let Some(c) = first_hidden(&e.key, false) {
                    found.push((e.key_pos, c));
                }
                walk(&e.value, PROSE.contains(&e.key.as_str()), found);
            }
        }
        Node::Alias { .. } => {}
    }
}
