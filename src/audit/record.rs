//! One journal record and its hash-chained line format.
//!
//! A line is the record's JSON with `hash` as its last field. The hash is SHA-256 over the exact
//! bytes of the line without the hash (`{...,"prev":"…"}`), so verification does not depend on
//! how any JSON library orders or spaces keys, and any changed byte is detected.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::{Event, EventKind};

/// `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const HASH_FIELD: &str = ",\"hash\":\"";

/// Which kind of run wrote the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Live,
    Drill,
}

/// A record as it stands in the journal, its event typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub operator: String,
    pub runbook: String,
    pub mode: Mode,
    pub step: Option<String>,
    pub event: Event,
    pub prev: String,
    pub hash: String,
}

impl Record {
    /// The event's name.
    pub fn kind(&self) -> EventKind {
        self.event.kind()
    }
}

/// A line as it is on disk, its detail not yet typed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    seq: u64,
    #[serde(with = "millis")]
    at: DateTime<Utc>,
    operator: String,
    runbook: String,
    mode: Mode,
    event: EventKind,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    detail: serde_json::Value,
    prev: String,
    hash: String,
}

/// The fields a writer supplies; `seq`, `prev` and `hash` are the journal's.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub step: Option<String>,
    pub event: Event,
}

impl Entry {
    /// The event's name.
    pub fn kind(&self) -> EventKind {
        self.event.kind()
    }
}

#[derive(Serialize)]
struct Unsealed<'a> {
    seq: u64,
    #[serde(with = "millis")]
    at: DateTime<Utc>,
    operator: &'a str,
    runbook: &'a str,
    mode: Mode,
    event: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'a str>,
    detail: &'a serde_json::Value,
    prev: &'a str,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Builds the sealed line (with trailing newline) and the record it encodes.
pub fn seal(
    seq: u64,
    operator: &str,
    runbook: &str,
    mode: Mode,
    entry: &Entry,
    prev: &str,
) -> Result<(String, Record), serde_json::Error> {
    let detail = entry.event.detail()?;
    let unsealed = serde_json::to_string(&Unsealed {
        seq,
        at: entry.at,
        operator,
        runbook,
        mode,
        event: entry.event.kind(),
        step: entry.step.as_deref(),
        detail: &detail,
        prev,
    })?;
    let hash = sha256_hex(unsealed.as_bytes());
    let body = unsealed.strip_suffix('}').unwrap_or(&unsealed);
    let line = format!("{body}{HASH_FIELD}{hash}\"}}\n");
    let record = Record {
        seq,
        at: entry.at,
        operator: operator.to_string(),
        runbook: runbook.to_string(),
        mode,
        step: entry.step.clone(),
        event: entry.event.clone(),
        prev: prev.to_string(),
        hash,
    };
    Ok((line, record))
}

/// What a journal's first line says about its run, read without verifying anything: for telling
/// which runbook a journal that does not verify claims to be of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    pub runbook: Option<String>,
    pub mode: Option<Mode>,
}

/// What the first line of `bytes` claims (nothing, where it cannot be read).
pub fn first_line_claims(bytes: &[u8]) -> Claim {
    #[derive(Deserialize)]
    struct Head {
        runbook: Option<String>,
        mode: Option<serde_json::Value>,
    }
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let Ok(head) = serde_json::from_slice::<Head>(first) else {
        return Claim::default();
    };
    Claim {
        runbook: head.runbook,
        mode: head.mode.and_then(|m| serde_json::from_value(m).ok()),
    }
}

/// Why one line is not an intact record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// Not a record at all (unparseable, or no trailing hash).
    Malformed(String),
    /// The bytes were changed after the record was written.
    HashMismatch,
    /// Sealed as written, but its detail is not what this version reads (a newer pilotlight
    /// may have written it).
    Unreadable(String),
}

/// Checks one line's own hash and parses it (chain checks are the caller's).
pub(crate) fn open_line(line: &str) -> Result<Record, LineProblem> {
    let Some(i) = line.rfind(HASH_FIELD) else {
        return Err(LineProblem::Malformed("no `hash` field at the end".into()));
    };
    let claimed = &line[i + HASH_FIELD.len()..];
    let Some(claimed) = claimed.strip_suffix("\"}") else {
        return Err(LineProblem::Malformed(
            "does not end with the `hash` field".into(),
        ));
    };
    let raw: Line = serde_json::from_str(line)
        .map_err(|e| LineProblem::Malformed(format!("not a journal record: {e}")))?;
    let mut unsealed = String::with_capacity(i + 1);
    unsealed.push_str(&line[..i]);
    unsealed.push('}');
    if sha256_hex(unsealed.as_bytes()) != claimed || raw.hash != claimed {
        return Err(LineProblem::HashMismatch);
    }
    let event = Event::from_detail(raw.event, raw.detail).map_err(|e| {
        LineProblem::Unreadable(format!(
            "the detail of `{}` is not what pilotlight writes: {e}",
            raw.event.name()
        ))
    })?;
    Ok(Record {
        seq: raw.seq,
        at: raw.at,
        operator: raw.operator,
        runbook: raw.runbook,
        mode: raw.mode,
        step: raw.step,
        event,
        prev: raw.prev,
        hash: raw.hash,
    })
}

mod millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// `2026-11-21T03:04:05.678Z`, the journal's time format.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry() -> Entry {
        Entry {
            at: Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap(),
            step: None,
            event: Event::RunAborted(crate::audit::event::RunAborted { reason: "x".into() }),
        }
    }

    #[test]
    fn sealed_lines_open_to_the_same_record() {
        let (line, rec) = seal(0, "ana", "rb", Mode::Drill, &entry(), GENESIS).unwrap();
        assert!(line.ends_with("\"}\n"));
        assert!(line.starts_with("{\"seq\":0,\"at\":\"2026-11-21T03:00:00.000Z\""));
        assert_eq!(open_line(line.trim_end()), Ok(rec));
    }

    #[test]
    fn any_changed_byte_is_detected() {
        let (line, _) = seal(0, "ana", "rb", Mode::Drill, &entry(), GENESIS).unwrap();
        let line = line.trim_end();
        let edited = line.replace("\"ana\"", "\"bob\"");
        assert_eq!(open_line(&edited), Err(LineProblem::HashMismatch));
        let spaced = line.replacen(",", ", ", 1);
        assert_eq!(open_line(&spaced), Err(LineProblem::HashMismatch));
        assert!(matches!(
            open_line(&line[..line.len() - 5]),
            Err(LineProblem::Malformed(_))
        ));
    }
}
