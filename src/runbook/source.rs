//! The runbook text before it is typed: input limits and a tree of YAML nodes that remembers
//! where each node stands, so that every later problem can be reported at its line and column.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diagnostic::{Diagnostic, Pos};

/// Runbooks larger than this are refused before parsing.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Collections nested deeper than this are refused (a runbook needs about six levels).
pub const MAX_DEPTH: usize = 64;
/// More YAML nodes than this are refused (a large runbook has a few thousand).
pub const MAX_NODES: usize = 200_000;

/// A YAML node with its position.
#[derive(Debug, Clone)]
pub enum Node {
    Scalar {
        value: String,
        style: TScalarStyle,
        pos: Pos,
    },
    Seq {
        items: Vec<Node>,
        pos: Pos,
    },
    Map {
        entries: Vec<Entry>,
        pos: Pos,
    },
    Alias {
        pos: Pos,
    },
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// A step on the way to a node: a mapping key or a sequence index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl Node {
    pub fn pos(&self) -> Pos {
        match self {
            Node::Scalar { pos, .. }
            | Node::Seq { pos, .. }
            | Node::Map { pos, .. }
            | Node::Alias { pos } => *pos,
        }
    }

    fn child(&self, seg: Seg<'_>) -> Option<&Node> {
        match (self, seg) {
            (Node::Map { entries, .. }, Seg::Key(k)) => {
                entries.iter().find(|e| e.key == k).map(|e| &e.value)
            }
            (Node::Seq { items, .. }, Seg::Index(i)) => items.get(i),
            _ => None,
        }
    }

    fn entry(&self, key: &str) -> Option<&Entry> {
        match self {
            Node::Map { entries, .. } => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The node at `path`, if every step of it exists.
    pub fn get(&self, path: &[Seg<'_>]) -> Option<&Node> {
        path.iter().try_fold(self, |node, seg| node.child(*seg))
    }

    /// Where the value at `path` stands, or the nearest existing ancestor when it is absent.
    pub fn locate(&self, path: &[Seg<'_>]) -> Pos {
        let mut node = self;
        for seg in path {
            match node.child(*seg) {
                Some(next) => node = next,
                None => break,
            }
        }
        node.pos()
    }

    /// Where the key of the last step of `path` stands (for "unknown key" style problems),
    /// falling back to [`Node::locate`].
    pub fn locate_key(&self, path: &[Seg<'_>]) -> Pos {
        if let Some((Seg::Key(last), parent)) = path.split_last() {
            if let Some(entry) = self.get(parent).and_then(|p| p.entry(last)) {
                return entry.key_pos;
            }
        }
        self.locate(path)
    }

    /// Where `needle` starts inside the scalar at `path` (for problems inside templates).
    /// Exact for single-line plain and quoted scalars; otherwise the scalar's start.
    pub fn locate_in_scalar(&self, path: &[Seg<'_>], byte_offset: usize) -> Pos {
        match self.get(path) {
            Some(Node::Scalar { value, style, pos }) if !value.contains('\n') => {
                let quote = match style {
                    TScalarStyle::Plain => 0,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 1,
                    _ => return *pos,
                };
                let chars = value.get(..byte_offset).map_or(0, |s| s.chars().count());
                Pos::new(pos.line, pos.col + quote + chars)
            }
            _ => self.locate(path),
        }
    }
}

/// Checks the raw bytes (size, encoding) and returns them as text.
pub fn check_bytes(bytes: &[u8]) -> Result<&str, Diagnostic> {
    if bytes.len() > MAX_BYTES {
        return Err(Diagnostic::new(
            Pos::START,
            format!(
                "file is {} bytes; runbooks are limited to {} bytes (1 MiB)",
                bytes.len(),
                MAX_BYTES
            ),
        )
        .hint("split the runbook into smaller runbooks, one per recovery scenario"));
    }
    let wide = if bytes.starts_with(&[0xff, 0xfe, 0, 0]) || bytes.starts_with(&[0, 0, 0xfe, 0xff]) {
        Some("UTF-32")
    } else if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        Some("UTF-16")
    } else {
        None
    };
    if let Some(encoding) = wide {
        return Err(
            Diagnostic::new(Pos::START, format!("the file is {encoding} text"))
                .hint("save the runbook as UTF-8 text"),
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            unprintable(text).map_or(Ok(text), Err)
        }
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            Err(Diagnostic::new(
                Pos::new(line, col),
                format!("byte 0x{:02x} is not valid UTF-8", bytes[e.valid_up_to()]),
            )
            .hint("save the runbook as UTF-8 text"))
        }
    }
}

/// The first character YAML does not allow in a document (C0 controls other than tab and line
/// breaks, DEL, C1 controls other than NEL), where it is.
fn unprintable(text: &str) -> Option<Diagnostic> {
    // Line breaks other than LF and CR LF (a lone CR, NEL, the Unicode separators) would move
    // every later line number, and a byte-order mark inside the text is no mark.
    let bytes = text.as_bytes();
    let (at, c) = text.char_indices().find(|&(i, c)| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}')
            || ('\u{80}'..='\u{9f}').contains(&c)
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
            // Raw bidi and invisible characters, comments included: located exactly.
            || crate::safe::is_invisible(c)
            || (c == '\r' && bytes.get(i + 1) != Some(&b'\n'))
    })?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    Some(
        Diagnostic::new(
            Pos::new(line, col),
            format!(
                "the character U+{:04X} is not allowed in a runbook: a control, an odd line break or an invisible character",
                c as u32
            ),
        )
        .hint("remove it; to mean it in a value, write an escape in double quotes, e.g. \"\\x01\""),
    )
}

/// yaml-rust2 markers: lines count from 1, columns from 0.
fn pos_of(mark: Marker) -> Pos {
    Pos::new(mark.line(), mark.col() + 1)
}

fn nesting_too_deep(pos: Pos) -> Diagnostic {
    Diagnostic::new(pos, format!("nesting is deeper than {MAX_DEPTH} levels"))
        .hint("runbooks need only a few levels of nesting; flatten this structure")
}

enum Frame {
    Seq(Vec<Node>, Pos),
    Map(Vec<Entry>, Option<(String, Pos)>, Pos),
}

/// Parses YAML text into a located tree without recursion, refusing documents nested deeper than
/// [`MAX_DEPTH`] or larger than [`MAX_NODES`]. Aliases are kept as aliases, never expanded.
pub fn parse_tree(text: &str) -> Result<Option<Node>, Diagnostic> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut nodes = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            if e.info().contains("recursion limit") {
                nesting_too_deep(pos_of(*e.marker()))
            } else {
                Diagnostic::new(pos_of(*e.marker()), format!("YAML syntax: {}", e.info()))
                    .hint("check the indentation and quoting here and on the lines just above (an unclosed `{`, `[` or quote shows up later)")
            }
        })?;
        let pos = pos_of(mark);
        let finished = match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                if root.is_some() {
                    return Err(
                        Diagnostic::new(pos, "a runbook file holds one YAML document")
                            .hint("remove the second `---` or move it into its own file"),
                    );
                }
                None
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => None,
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(nesting_too_deep(pos));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq(Vec::new(), pos),
                    _ => Frame::Map(Vec::new(), None, pos),
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, pos)) => Some(Node::Seq { items, pos }),
                Some(Frame::Map(entries, _, start)) => {
                    // A block mapping's start marker lies after its first key: use the key.
                    let pos = entries.first().map_or(start, |e| e.key_pos.min(start));
                    Some(Node::Map { entries, pos })
                }
                None => None,
            },
            Event::Scalar(value, style, _, _) => Some(Node::Scalar { value, style, pos }),
            Event::Alias(_) => Some(Node::Alias { pos }),
        };
        let Some(node) = finished else { continue };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(
                Diagnostic::new(pos, format!("more than {MAX_NODES} YAML nodes"))
                    .hint("split the runbook into smaller runbooks"),
            );
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _)) => match pending.take() {
                None => {
                    let key = match &node {
                        Node::Scalar { value, .. } => value.clone(),
                        _ => {
                            return Err(Diagnostic::new(
                                node.pos(),
                                "mapping keys must be plain names",
                            )
                            .hint("use a name such as `orders-db` as the key"))
                        }
                    };
                    *pending = Some((key, node.pos()));
                }
                Some((key, key_pos)) => entries.push(Entry {
                    key,
                    key_pos,
                    value: node,
                }),
            },
        }
    }
    Ok(root)
}

/// Reports keys that appear twice in one mapping, anywhere in the tree.
pub fn duplicate_keys(root: &Node, out: &mut Vec<Diagnostic>) {
    let mut todo = vec![root];
    while let Some(node) = todo.pop() {
        match node {
            Node::Map { entries, .. } => {
                let mut seen: HashMap<&str, Pos> = HashMap::with_capacity(entries.len());
                for e in entries {
                    if let Some(first) = seen.get(e.key.as_str()) {
                        out.push(
                            Diagnostic::new(
                                e.key_pos,
                                format!("duplicate key `{}` (first at {first})", e.key),
                            )
                            .hint("give each entry a unique name, or merge the two entries"),
                        );
                    } else {
                        seen.insert(&e.key, e.key_pos);
                    }
                    todo.push(&e.value);
                }
            }
            Node::Seq { items, .. } => todo.extend(items.iter()),
            Node::Scalar { .. } | Node::Alias { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        match parse_tree(text) {
            Ok(Some(node)) => node,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn locates_keys_values_and_items() {
        let t = tree("a:\n  b: [x, 'y{{z}}']\n  c: 1\n");
        assert_eq!(t.locate(&[Seg::Key("a"), Seg::Key("c")]), Pos::new(3, 6));
        assert_eq!(
            t.locate_key(&[Seg::Key("a"), Seg::Key("c")]),
            Pos::new(3, 3)
        );
        let item = [Seg::Key("a"), Seg::Key("b"), Seg::Index(1)];
        assert_eq!(t.locate(&item), Pos::new(2, 10));
        assert_eq!(t.locate_in_scalar(&item, 1), Pos::new(2, 12));
        // A missing leaf falls back to its nearest ancestor.
        assert_eq!(t.locate(&[Seg::Key("a"), Seg::Key("zz")]), Pos::new(2, 3));
    }

    #[test]
    fn refuses_deep_nesting_without_recursing() {
        let text = "[".repeat(100_000);
        let err = parse_tree(&text).err().map(|d| d.message);
        assert_eq!(err.as_deref(), Some("nesting is deeper than 64 levels"));
    }

    #[test]
    fn finds_duplicate_keys() {
        let mut out = Vec::new();
        duplicate_keys(&tree("a: 1\nb:\n  c: 1\n  c: 2\n"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].pos, Pos::new(4, 3));
        assert!(out[0].message.contains("first at 3:3"));
    }

    #[test]
    fn reports_invalid_utf8_where_it_is() {
        let err = check_bytes(b"a: 1\nbb: \xff\n").err();
        assert_eq!(err.map(|d| d.pos), Some(Pos::new(2, 5)));
    }
}
