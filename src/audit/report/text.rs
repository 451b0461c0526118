//! Text for the report: untrusted journal text cleaned for a terminal, and made inert for
//! Markdown; durations as runbooks write them.

use crate::runbook::Duration;

/// Outputs and previews longer than this are cut in Markdown (the JSON form has them whole).
const SHOWN_CHARS: usize = 240;

/// Untrusted text made safe for a terminal: ESC sequences (CSI, OSC and two-character ones),
/// other C0 and C1 controls and bidi overrides removed; line breaks and tabs become spaces.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        // ESC-introduced sequences, and their one-character C1 forms.
        let sequence = match c {
            '\u{1b}' => match chars.next() {
                Some('[') => Some(true),
                Some(']' | 'P' | '_' | '^' | 'X') => Some(false),
                _ => None, // a two-character sequence, both gone
            },
            '\u{9b}' => Some(true),
            '\u{9d}' | '\u{90}' | '\u{9f}' | '\u{9e}' | '\u{98}' => Some(false),
            '\n' | '\r' | '\t' => {
                out.push(' ');
                continue;
            }
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' => None,
            '\u{2066}'..='\u{2069}' => None,
            c if c.is_control() => None,
            c => {
                out.push(c);
                continue;
            }
        };
        match sequence {
            // CSI: parameters and intermediates, then one final byte in @..~.
            Some(true) => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC, DCS, APC, PM, SOS: a string up to BEL or ST (ESC \ or its C1 form).
            Some(false) => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || c == '\u{9c}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            None => {}
        }
    }
    out
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
    fn clean_removes_escape_sequences_controls_and_bidi_overrides() {
        assert_eq!(clean("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(
            clean("x\u{1b}]0;title\u{7}y\u{1b}]8;;http://e\u{1b}\\z"),
            "xyz"
        );
        assert_eq!(clean("c1\u{9b}31m \u{85}next\u{9d}8;;x\u{9c}!"), "c1 next!");
        assert_eq!(clean("line\nbreak\r\ttab\u{0}\u{7f}"), "line break  tab");
        assert_eq!(clean("evil\u{202e}txt.exe\u{2066}"), "eviltxt.exe");
        assert_eq!(clean("plain – “text” ✓"), "plain – “text” ✓");
    }

    #[test]
    fn markdown_text_is_inert() {
        assert_eq!(esc("[x](http://e) <b>|"), "\\[x\\](http://e) \\<b\\>\\|");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("\u{1b}[2Jok "), "`ok`");
        assert_eq!(quote(Some("  ")), "none given");
        assert_eq!(signed(-60), "-1m");
        assert_eq!(signed(75), "+1m15s");
        assert_eq!(signed(0), "on time");
        assert_eq!(cut(&"é".repeat(300)).chars().count(), SHOWN_CHARS + 1);
    }
}
