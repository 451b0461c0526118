//! What reaches a terminal or a monitor from untrusted text (runbooks, scenarios, journals, AWS
//! answers, the environment): shown, never obeyed. Every human-facing line goes through
//! [`terminal`], every JSON document through [`json`]. The console strips instead (its cells
//! are drawn by ratatui; see `audit::report::clean`).

/// Whether `c` would act on a terminal or reorder text instead of being shown: C0 controls,
/// DEL, C1 controls, and the bidirectional formatting characters.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Characters that take no room or change how text is laid out, so what is shown is not what is
/// there: bidi controls, zero-width and joiner characters, line and paragraph separators, soft
/// hyphens, the byte-order mark, fillers, tags, interlinear annotations, noncharacters.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e0fff}'
    ) || (c as u32 & 0xfffe) == 0xfffe
        || ('\u{fdd0}'..='\u{fdef}').contains(&c)
}

/// One line for a terminal, from text that must not break it: like [`terminal`], and line
/// breaks and tabs written out too (`\n`), so no value can start a line of its own.
pub fn one_line(s: &str) -> String {
    terminal(s).replace('\n', "\\n").replace('\t', "\\t")
}

/// Text for a terminal: every hidden character written out as what it is (`\x1b`, `\u{202e}`),
/// line breaks and tabs kept.
pub fn terminal(s: &str) -> String {
    if !s.chars().any(|c| is_hidden(c) && c != '\n' && c != '\t') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if is_hidden(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A JSON document with every hidden character escaped (`\u009b`, `\u202e`): serde escapes C0
/// controls already, not DEL, C1 or bidi ones. Those can only occur inside strings, where a
/// `\u` escape means the same character.
pub fn json(doc: &str) -> String {
    if !doc.chars().any(|c| is_hidden(c) && c != '\n') {
        return doc.to_string();
    }
    let mut out = String::with_capacity(doc.len() + 8);
    for c in doc.chars() {
        match c {
            // The document's own line breaks (pretty printing); any in a string are escaped.
            '\n' => out.push(c),
            c if is_hidden(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_shown_not_obeyed() {
        assert_eq!(terminal("a\u{1b}[6nb"), "a\\x1b[6nb");
        assert_eq!(terminal("x\u{9b}2Jy\u{202e}z"), "x\\x9b2Jy\\u{202e}z");
        assert_eq!(terminal("line\nnext\tcol"), "line\nnext\tcol");
        assert_eq!(terminal("bell\u{7}\u{7f}"), "bell\\x07\\x7f");
        assert_eq!(
            terminal("a\u{200b}b\u{2028}c\u{feff}"),
            "a\\u{200b}b\\u{2028}c\\u{feff}"
        );
        assert_eq!(one_line("a\nb\tc"), "a\\nb\\tc");
        assert!(!is_hidden('é') && !is_hidden('中') && !is_hidden(' '));
    }

    #[test]
    fn json_escapes_what_serde_leaves() {
        let doc = serde_json::to_string(&"a\u{9b}b\u{202e}c\u{1b}").unwrap();
        let safe = json(&doc);
        assert_eq!(safe, r#""a\u009bb\u202ec\u001b""#);
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "a\u{9b}b\u{202e}c\u{1b}");
    }
}
