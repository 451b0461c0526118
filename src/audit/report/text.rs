//! Text for the report: untrusted journal text cleaned for a terminal, and made inert for
//! Markdown; durations as runbooks write them.

use crate::runbook::Duration;

/// Outputs and previews longer than this are cut in Markdown (the JSON form has them whole).
const SHOWN_CHARS: usize = 240;

/// Untrusted text made safe for a terminal and a table cell, showing what was there: line breaks
/// and tabs become spaces, every other control, bidi or invisible character is written out
/// (`\x1b`, `\u{202e}`), so no name can pass for another and nothing acts on the terminal.
pub fn clean(s: &str) -> String {
    let spaced: String = s
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    crate::safe::terminal(&spaced)
}

/// `f(v)`, or nothing when there is no `v`.
pub(super) fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or(String::new(), f)
}

pub(super) fn dur(secs: u64) -> String {
    Duration::from_secs(secs).to_string()
}

/// `+15s`, `-1m`, `on time`.
pub(super) fn signed(secs: i64) -> String {
    match secs {
        0 => "on time".into(),
        s if s > 0 => format!("+{}", dur(s.unsigned_abs())),
        s => format!("-{}", dur(s.unsigned_abs())),
    }
}

pub(super) fn cut(s: &str) -> String {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Free text (a person's reason) in quotes, or `none given`.
pub(super) fn quote(s: Option<&str>) -> String {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => format!("“{}”", esc(s)),
        None => "none given".into(),
    }
}

/// Untrusted text as inert Markdown: no links, images or HTML, nothing to break a table.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::new();
    for c in clean(s).chars() {
        if matches!(c, '\\' | '[' | ']' | '<' | '>' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Untrusted text as a code span (which Markdown shows verbatim).
pub(super) fn code(s: &str) -> String {
    let s = clean(s).trim().to_string();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_shows_escape_sequences_controls_and_bidi_overrides_as_written() {
        assert_eq!(
            clean("a\u{1b}[31mred\u{1b}[0m b"),
            "a\\x1b[31mred\\x1b[0m b"
        );
        assert_eq!(clean("c1\u{9b}31m \u{85}next"), "c1\\x9b31m \\x85next");
        assert_eq!(
            clean("line\nbreak\r\ttab\u{0}\u{7f}"),
            "line break  tab\\x00\\x7f"
        );
        // One operator cannot pass for another: the override shows.
        assert_eq!(clean("al\u{202e}ice"), "al\\u{202e}ice");
        assert_eq!(clean("plain – “text” ✓"), "plain – “text” ✓");
    }

    #[test]
    fn markdown_text_is_inert() {
        assert_eq!(esc("[x](http://e) <b>|"), "\\[x\\](http://e) \\<b\\>\\|");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("\u{1b}[2Jok "), "`\\x1b[2Jok`");
        assert_eq!(quote(Some("  ")), "none given");
        assert_eq!(signed(-60), "-1m");
        assert_eq!(signed(75), "+1m15s");
        assert_eq!(signed(0), "on time");
        assert_eq!(cut(&"é".repeat(300)).chars().count(), SHOWN_CHARS + 1);
    }
}
