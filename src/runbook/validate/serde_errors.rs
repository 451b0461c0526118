//! Turns serde's structural errors (unknown key, unknown value, missing key, wrong type) into
//! located diagnostics with a hint, using the path serde_path_to_error recorded.

use serde_path_to_error::Segment;

use crate::runbook::diagnostic::{did_you_mean, one_of, Diagnostic};
use crate::runbook::source::{Node, Seg};

/// `prefix` is where the deserialized value sits in the document (empty for the whole runbook,
/// `steps[i].with` for action parameters).
pub(super) fn diagnose(
    err: &serde_path_to_error::Error<serde_yaml::Error>,
    tree: &Node,
    prefix: &[Seg<'_>],
) -> Diagnostic {
    let mut path: Vec<Seg<'_>> = prefix.to_vec();
    for seg in err.path().iter() {
        match seg {
            Segment::Seq { index } => path.push(Seg::Index(*index)),
            Segment::Map { key } => path.push(Seg::Key(key.as_str())),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let inner = err.inner();
    let text = inner.to_string();
    if let Some((name, expected)) = quoted_after(&text, "unknown field `") {
        // serde_path_to_error may already have recorded the offending key itself.
        let mut key_path = path.clone();
        if key_path.last() != Some(&Seg::Key(name)) {
            key_path.push(Seg::Key(name));
        }
        let hint = match did_you_mean(name, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if expected.is_empty() => "remove it: this mapping takes no keys".to_string(),
            None => format!("keys allowed here: {}", one_of(&expected)),
        };
        return Diagnostic::new(tree.locate_key(&key_path), format!("unknown key `{name}`"))
            .hint(hint);
    }
    if let Some((value, expected)) = quoted_after(&text, "unknown variant `") {
        let what = match path.last() {
            Some(Seg::Key(k)) => format!("unknown {} `{value}`", k.replace('_', " ")),
            _ => format!("unknown value `{value}`"),
        };
        let hint = match did_you_mean(value, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? Allowed: {}", one_of(&expected)),
            None => format!("allowed: {}", one_of(&expected)),
        };
        return Diagnostic::new(tree.locate(&path), what).hint(hint);
    }
    if let Some((name, _)) = quoted_after(&text, "missing field `") {
        let pos = tree.locate(&path);
        return Diagnostic::new(pos, format!("missing key `{name}`")).hint(format!(
            "add `{name}:` here (the format: runbooks/README.md)"
        ));
    }
    // Any other problem: serde_yaml's own location when it has one and we have no path.
    let pos = match inner.location() {
        Some(loc) if path.is_empty() => {
            crate::runbook::diagnostic::Pos::new(loc.line(), loc.column())
        }
        _ => tree.locate(&path),
    };
    let message = plain_message(&text);
    let hint = type_hint(&message);
    Diagnostic::new(pos, message).hint(hint)
}

/// The same for an error met reading the document as a YAML value (no serde_yaml location).
pub(super) fn diagnose_value(
    err: &serde_path_to_error::Error<serde_yaml::Error>,
    tree: &Node,
) -> Diagnostic {
    diagnose(err, tree, &[])
}

/// Removes the unknown key `err` names from `doc`; whether it was one to remove.
pub(super) fn drop_unknown_key(
    doc: &mut serde_yaml::Value,
    err: &serde_path_to_error::Error<serde_yaml::Error>,
) -> bool {
    let text = err.inner().to_string();
    // A step of a kind there is not: read on as a bare manual step under its id (its own keys
    // mean nothing without a kind), so the steps after it are still checked.
    if quoted_after(&text, "unknown variant `").is_some() {
        return bare_step(doc, err);
    }
    let Some((name, _)) = quoted_after(&text, "unknown field `") else {
        return false;
    };
    let mut at = doc;
    let mut segs: Vec<&Segment> = err.path().iter().collect();
    // The path may end at the offending key itself.
    if matches!(segs.last(), Some(Segment::Map { key }) if key == name) {
        segs.pop();
    }
    for seg in segs {
        at = match (seg, at) {
            (Segment::Seq { index }, serde_yaml::Value::Sequence(items)) => {
                match items.get_mut(*index) {
                    Some(item) => item,
                    None => return false,
                }
            }
            (Segment::Map { key }, serde_yaml::Value::Mapping(map)) => {
                match map.get_mut(key.as_str()) {
                    Some(v) => v,
                    None => return false,
                }
            }
            (Segment::Enum { .. } | Segment::Unknown, v) => v,
            _ => return false,
        };
    }
    match at {
        serde_yaml::Value::Mapping(map) => map.remove(name).is_some(),
        _ => false,
    }
}

/// For "unknown field `x`, expected one of `a`, `b`": returns `x` and [`a`, `b`].
fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<(&'a str, Vec<&'a str>)> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    let end = rest.find('`')?;
    let name = &rest[..end];
    let expected = rest[end + 1..]
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    Some((name, expected))
}

/// Drops serde_yaml's `path: ` prefix and ` at line N column M` suffix, and names Rust integer
/// types the way a runbook author thinks of them.
fn plain_message(text: &str) -> String {
    let mut msg = text;
    if let Some(i) = msg.find(" at line ") {
        msg = &msg[..i];
    }
    if let Some((prefix, rest)) = msg.split_once(": ") {
        if !prefix.contains(' ') {
            msg = rest;
        }
    }
    msg.replace("expected u8", "expected a whole number from 0 to 255")
        .replace("expected u32", "expected a whole number")
        .replace("expected i32", "expected a whole number")
        .replace("expected a sequence", "expected a list")
        .replace("expected a map", "expected a mapping of keys")
}

/// What to write instead, from what serde expected.
fn type_hint(message: &str) -> String {
    if message.contains("recursion limit") || message.contains("repetition limit") {
        return "the document expands too far (deep nesting or repeated aliases); write the values out".into();
    }
    if message.contains("RFC 3339") {
        return "write `latest`, or a UTC time such as `2026-11-21T03:00:00Z`".into();
    }
    match message.rsplit_once(", expected ") {
        Some((_, "a boolean")) => "write `true` or `false`".into(),
        Some((_, "a string")) => {
            "write text here (quote it if it looks like a number or a list)".into()
        }
        Some((_, expected)) => format!("write {expected} here"),
        None => "check this value against the runbook format in runbooks/README.md".into(),
    }
}

/// Replaces `steps[i]`, whose `kind` is unknown, with `{ id, kind: manual }`.
fn bare_step(
    doc: &mut serde_yaml::Value,
    err: &serde_path_to_error::Error<serde_yaml::Error>,
) -> bool {
    let segs: Vec<&Segment> = err.path().iter().collect();
    let index = match segs.as_slice() {
        [Segment::Map { key: steps }, Segment::Seq { index }, Segment::Map { key: kind }, ..]
            if steps == "steps" && kind == "kind" =>
        {
            *index
        }
        _ => return false,
    };
    let Some(serde_yaml::Value::Sequence(steps)) = doc.get_mut("steps") else {
        return false;
    };
    let Some(step) = steps.get_mut(index) else {
        return false;
    };
    let id = step.get("id").cloned().unwrap_or(serde_yaml::Value::Null);
    let mut bare = serde_yaml::Mapping::new();
    bare.insert("id".into(), id);
    bare.insert("kind".into(), "manual".into());
    *step = serde_yaml::Value::Mapping(bare);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_out_of_serde_messages() {
        let (n, e) = quoted_after(
            "steps[0]: unknown field `tittle`, expected one of `id`, `title` at line 3 column 5",
            "unknown field `",
        )
        .unwrap_or_default();
        assert_eq!(n, "tittle");
        assert_eq!(e, vec!["id", "title"]);
    }

    #[test]
    fn cleans_messages() {
        assert_eq!(
            plain_message(
                "steps[1].with: invalid type: string \"x\", expected u8 at line 4 column 7"
            ),
            "invalid type: string \"x\", expected a whole number from 0 to 255"
        );
    }
}
