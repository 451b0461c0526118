//! Reading a journal back: every record's hash, sequence and chain, and a torn last line told
//! apart from tampering.

use super::record::{open_line, LineProblem, Record, GENESIS};

/// The first problem in a journal, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tamper {
    #[error("line {line}: not a journal record ({why})")]
    Malformed { line: usize, why: String },
    #[error("line {line}: the record was changed after it was written (its hash does not match)")]
    Edited { line: usize },
    #[error("line {line}: expected record #{expected}, found #{found} (a record was deleted, inserted or moved)")]
    OutOfSequence {
        line: usize,
        expected: u64,
        found: u64,
    },
    #[error("line {line}: the record does not follow the one before it (hash chain broken)")]
    BrokenChain { line: usize },
    #[error("line {line}: the record is sealed as written, but this pilotlight cannot read it ({why}); if a newer pilotlight wrote it, use that one")]
    Unreadable { line: usize, why: String },
    #[error("the journal is empty (the run never recorded its start, e.g. a crash at once); start a new run")]
    Empty,
}

impl Tamper {
    pub fn line(&self) -> Option<usize> {
        match self {
            Tamper::Malformed { line, .. }
            | Tamper::Edited { line }
            | Tamper::OutOfSequence { line, .. }
            | Tamper::BrokenChain { line }
            | Tamper::Unreadable { line, .. } => Some(*line),
            Tamper::Empty => None,
        }
    }
}

/// An unfinished last line, as a crash in the middle of a write leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub line: usize,
    /// Byte offset where the torn line starts (the intact journal's length).
    pub offset: usize,
    pub bytes: Vec<u8>,
}

/// An intact journal: its records, and a torn last line if a crash left one.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub records: Vec<Record>,
    pub torn_tail: Option<TornTail>,
    /// Whether the last intact record lacks its newline (append must add one first).
    pub needs_newline: bool,
}

/// Verifies a whole journal.
pub fn verify(bytes: &[u8]) -> Result<Verified, Tamper> {
    let mut records: Vec<Record> = Vec::new();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut torn_tail = None;
    let mut needs_newline = false;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (raw, terminated) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        let opened = match std::str::from_utf8(raw) {
            Ok(text) => open_line(text),
            Err(_) => Err(LineProblem::Malformed("not UTF-8".into())),
        };
        match opened {
            Ok(rec) => {
                let expected = records.len() as u64;
                if rec.seq != expected {
                    return Err(Tamper::OutOfSequence {
                        line: line_no,
                        expected,
                        found: rec.seq,
                    });
                }
                let prev = records.last().map_or(GENESIS, |r| r.hash.as_str());
                if rec.prev != prev {
                    return Err(Tamper::BrokenChain { line: line_no });
                }
                records.push(rec);
                needs_newline = !terminated;
            }
            Err(_) if !terminated => {
                torn_tail = Some(TornTail {
                    line: line_no,
                    offset,
                    bytes: raw.to_vec(),
                });
            }
            Err(LineProblem::HashMismatch) => return Err(Tamper::Edited { line: line_no }),
            Err(LineProblem::Malformed(why)) => {
                return Err(Tamper::Malformed { line: line_no, why })
            }
            Err(LineProblem::Unreadable(why)) => {
                return Err(Tamper::Unreadable { line: line_no, why })
            }
        }
        offset += raw.len() + usize::from(terminated);
    }
    if records.is_empty() && torn_tail.is_none() {
        return Err(Tamper::Empty);
    }
    Ok(Verified {
        records,
        torn_tail,
        needs_newline,
    })
}
