//! Telling a crash's torn write from a forged last line. pilotlight writes each record, newline
//! included, in one append; a crash can leave only a strict prefix of that line. So an
//! unfinished last line must read as the start of the next record exactly as pilotlight would
//! write it: its sequence number, a time no earlier than the record before, the journal's own
//! runbook and mode, a known event, and, once it gets that far, the hash of the record before.

use chrono::{DateTime, Utc};

use super::event::EventKind;
use super::record::Record;

/// What the next record must say, from the records before it.
pub(super) struct Next<'a> {
    pub seq: u64,
    pub prev_hash: &'a str,
    pub last: Option<&'a Record>,
    pub first: Option<&'a Record>,
}

/// Consumes `text` along what it must be; `None` when the text ended first (still a prefix).
struct Cursor<'a> {
    rest: &'a str,
}

enum Step {
    /// Matched; go on.
    On,
    /// The text ended inside: everything so far was a prefix of what it must be.
    Ended,
    /// The text says something else.
    Wrong,
}

impl Cursor<'_> {
    /// Expects `lit` next.
    fn lit(&mut self, lit: &str) -> Step {
        if self.rest.len() < lit.len() {
            return if lit.starts_with(self.rest) {
                Step::Ended
            } else {
                Step::Wrong
            };
        }
        match self.rest.strip_prefix(lit) {
            Some(r) => {
                self.rest = r;
                Step::On
            }
            None => Step::Wrong,
        }
    }

    /// Takes a JSON string's body up to its closing quote (escapes honoured).
    fn string_body(&mut self) -> Option<&str> {
        let mut escaped = false;
        for (i, c) in self.rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let body = &self.rest[..i];
                    self.rest = &self.rest[i..];
                    return Some(body);
                }
                _ => {}
            }
        }
        None
    }
}

/// Whether `raw` (an unfinished last line) is a strict prefix of the record `next` describes.
pub(super) fn is_torn_write(raw: &[u8], next: &Next<'_>) -> bool {
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        // Cut in the middle of a character: what comes before it must be text.
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&raw[..e.valid_up_to()]) {
            Ok(t) => t,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    // serde writes no raw control character.
    if text.chars().any(|c| c.is_control()) {
        return false;
    }
    let mut at = Cursor { rest: text };
    macro_rules! expect {
        ($step:expr) => {
            match $step {
                Step::On => {}
                Step::Ended => return true,
                Step::Wrong => return false,
            }
        };
    }
    expect!(at.lit(&format!("{{\"seq\":{},\"at\":\"", next.seq)));
    // A time as pilotlight writes it, no earlier than the record before.
    let Some(time) = at.string_body() else {
        return at
            .rest
            .chars()
            .all(|c| c.is_ascii_digit() || "-T:.Z".contains(c));
    };
    let Ok(time) = DateTime::parse_from_rfc3339(time).map(|t| t.with_timezone(&Utc)) else {
        return false;
    };
    if next.last.is_some_and(|r| time < r.at) {
        return false;
    }
    expect!(at.lit("\",\"operator\":\""));
    if at.string_body().is_none() {
        return true;
    }
    if let Some(first) = next.first {
        let runbook = serde_json::to_string(&first.runbook).unwrap_or_default();
        let mode = serde_json::to_string(&first.mode).unwrap_or_default();
        expect!(at.lit(&format!(
            "\",\"runbook\":{runbook},\"mode\":{mode},\"event\":\""
        )));
    } else if !at.rest.starts_with("\",\"runbook\":") {
        return "\",\"runbook\":".starts_with(at.rest);
    } else {
        return true;
    }
    let Some(event) = at.string_body() else {
        return at.rest.chars().all(|c| c.is_ascii_lowercase() || c == '-');
    };
    let known = serde_json::from_str::<EventKind>(&format!("\"{event}\"")).is_ok();
    if !known {
        return false;
    }
    // Then the step (left out when the record names none), or the detail.
    let next_key = ["\",\"step\":", "\",\"detail\":"];
    if !next_key
        .iter()
        .any(|k| at.rest.starts_with(k) || k.starts_with(at.rest))
    {
        return false;
    }
    // Once the record names the one before it, that must be the one before it; then come the
    // hash's hex digits, and nothing after the closing quote.
    let Some(i) = at.rest.rfind(",\"prev\":\"") else {
        return true;
    };
    let after = &at.rest[i + ",\"prev\":\"".len()..];
    let chained = format!("{}\",\"hash\":\"", next.prev_hash);
    if after.len() <= chained.len() {
        return chained.starts_with(after);
    }
    let Some(hash) = after.strip_prefix(&chained) else {
        return false;
    };
    let digits = hash.strip_suffix('"').unwrap_or(hash);
    digits.len() <= 64 && digits.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use crate::audit::event::{Event, RunAborted};
    use crate::audit::record::{seal, Entry, Mode, GENESIS};
    use chrono::TimeZone;

    #[test]
    fn every_prefix_of_a_record_without_a_step_is_a_torn_write() {
        let entry = Entry {
            at: chrono::Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap(),
            step: None,
            event: Event::RunAborted(RunAborted { reason: "x".into() }),
        };
        let (_, first) = seal(0, "zoë", "rb", Mode::Drill, &entry, GENESIS).unwrap();
        let (line, _) = seal(1, "zoë", "rb", Mode::Drill, &entry, &first.hash).unwrap();
        for cut in 1..line.len() - 1 {
            if !line.is_char_boundary(cut) {
                continue;
            }
            let next = super::Next {
                seq: 1,
                prev_hash: &first.hash,
                last: Some(&first),
                first: Some(&first),
            };
            assert!(
                super::is_torn_write(&line.as_bytes()[..cut], &next),
                "{}",
                &line[..cut]
            );
        }
    }
}
