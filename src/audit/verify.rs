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
    #[error("line {line}: an unfinished last line that is not the start of the record pilotlight would write next (a crash leaves only that): it was added or edited after the fact")]
    ForgedTail { line: usize },
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
            | Tamper::ForgedTail { line }
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
    let mut chain = Chain::default();
    let grown = chain.feed(bytes)?;
    if grown.records.is_empty() && grown.torn_tail.is_none() {
        return Err(Tamper::Empty);
    }
    Ok(Verified {
        records: grown.records,
        torn_tail: grown.torn_tail,
        needs_newline: chain.needs_newline,
    })
}

/// A journal verified as it grows (`watch --follow`): each feed checks only what was appended
/// since the last, against the last record, so following costs the same at record 10 and at
/// record 100,000. A torn last line is reported and left unconsumed: the next feed reads it again
/// (a write in progress becomes a whole record).
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// Bytes taken so far: whole records with their newlines. The next feed starts here.
    pub consumed: u64,
    lines: usize,
    count: u64,
    first: Option<Record>,
    last: Option<Record>,
    needs_newline: bool,
}

/// What a feed found: the new records, and a torn last line if one is there now.
#[derive(Debug, Clone, PartialEq)]
pub struct Grown {
    pub records: Vec<Record>,
    pub torn_tail: Option<TornTail>,
}

impl Chain {
    /// How many records have been taken.
    pub fn records(&self) -> u64 {
        self.count
    }

    /// Checks `bytes`, the journal from [`Chain::consumed`] to its end.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Grown, Tamper> {
        let mut records: Vec<Record> = Vec::new();
        let mut torn_tail = None;
        let mut offset = 0usize;
        // The newline a record written whole but unterminated (a crash) gets on resume.
        if self.needs_newline && bytes.first() == Some(&b'\n') {
            offset = 1;
            self.needs_newline = false;
        }
        while offset < bytes.len() {
            let line_no = self.lines + 1;
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
                    if rec.seq != self.count {
                        return Err(Tamper::OutOfSequence {
                            line: line_no,
                            expected: self.count,
                            found: rec.seq,
                        });
                    }
                    let prev = self.last.as_ref().map_or(GENESIS, |r| r.hash.as_str());
                    if rec.prev != prev {
                        return Err(Tamper::BrokenChain { line: line_no });
                    }
                    if self.first.is_none() {
                        self.first = Some(rec.clone());
                    }
                    self.last = Some(rec.clone());
                    self.count += 1;
                    self.lines += 1;
                    records.push(rec);
                    self.needs_newline = !terminated;
                }
                // A whole record that does not verify was edited, newline or not.
                Err(LineProblem::HashMismatch) => return Err(Tamper::Edited { line: line_no }),
                Err(_) if !terminated => {
                    let next = super::torn::Next {
                        seq: self.count,
                        prev_hash: self.last.as_ref().map_or(GENESIS, |r| r.hash.as_str()),
                        last: self.last.as_ref(),
                        first: self.first.as_ref(),
                    };
                    if !super::torn::is_torn_write(raw, &next) {
                        return Err(Tamper::ForgedTail { line: line_no });
                    }
                    torn_tail = Some(TornTail {
                        line: line_no,
                        offset: self.consumed as usize + offset,
                        bytes: raw.to_vec(),
                    });
                    // Not taken: it may yet be finished.
                    break;
                }
                Err(LineProblem::Malformed(why)) => {
                    return Err(Tamper::Malformed { line: line_no, why })
                }
                Err(LineProblem::Unreadable(why)) => {
                    return Err(Tamper::Unreadable { line: line_no, why })
                }
            }
            offset += raw.len() + usize::from(terminated);
        }
        self.consumed += offset as u64;
        Ok(Grown { records, torn_tail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::{Event, RunAborted};
    use crate::audit::record::{seal, Entry, Mode};
    use chrono::{TimeZone, Utc};

    fn line(seq: u64, prev: &str, reason: &str) -> (String, Record) {
        let entry = Entry {
            at: Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap(),
            step: None,
            event: Event::RunAborted(RunAborted {
                reason: reason.into(),
            }),
        };
        seal(seq, "zoë", "rb", Mode::Drill, &entry, prev).unwrap()
    }

    /// Two records, and the third as pilotlight would write it.
    fn journal() -> (String, String) {
        let (a, ra) = line(0, GENESIS, "first");
        let (b, rb) = line(1, &ra.hash, "second — ünïcode");
        let (c, _) = line(2, &rb.hash, "third — ünïcode");
        (format!("{a}{b}"), c)
    }

    #[test]
    fn a_journal_fed_in_any_pieces_verifies_as_a_whole() {
        let (intact, next) = journal();
        let whole = format!("{intact}{next}");
        let all = verify(whole.as_bytes()).unwrap().records;
        for cut in 0..whole.len() {
            let mut chain = Chain::default();
            let mut got = chain.feed(&whole.as_bytes()[..cut]).unwrap().records;
            let rest = &whole.as_bytes()[chain.consumed as usize..];
            got.extend(chain.feed(rest).unwrap().records);
            assert_eq!(got, all, "cut at {cut}");
            assert_eq!(chain.records(), 3);
            assert_eq!(chain.consumed as usize, whole.len());
        }
    }

    #[test]
    fn a_growing_journal_checks_only_what_was_appended_against_the_last_record() {
        let (intact, next) = journal();
        let mut chain = Chain::default();
        assert_eq!(chain.feed(intact.as_bytes()).unwrap().records.len(), 2);
        // Half of the next record: a write in progress, reported, not taken.
        let half = &next.as_bytes()[..next.len() / 2];
        let grown = chain.feed(half).unwrap();
        assert!(grown.records.is_empty());
        assert_eq!(grown.torn_tail.unwrap().offset, intact.len());
        assert_eq!(chain.consumed as usize, intact.len());
        // Finished: taken.
        assert_eq!(chain.feed(next.as_bytes()).unwrap().records.len(), 1);
        // Something appended that does not follow the chain is caught.
        let (stray, _) = line(3, GENESIS, "not chained");
        assert_eq!(
            chain.feed(stray.as_bytes()),
            Err(Tamper::BrokenChain { line: 4 })
        );
    }

    #[test]
    fn every_strict_prefix_of_the_next_record_is_a_torn_write() {
        let (intact, next) = journal();
        let next = next.trim_end_matches('\n').as_bytes();
        for cut in 1..next.len() {
            let mut bytes = intact.as_bytes().to_vec();
            bytes.extend_from_slice(&next[..cut]);
            let v = verify(&bytes).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(v.records.len(), 2, "cut at {cut}");
            assert!(v.torn_tail.is_some(), "cut at {cut}");
        }
    }

    #[test]
    fn an_edited_last_record_without_its_newline_is_tampering() {
        let (intact, _) = journal();
        let edited = intact.replace("second", "secund");
        let bytes = edited.trim_end_matches('\n');
        assert_eq!(verify(bytes.as_bytes()), Err(Tamper::Edited { line: 2 }));
    }

    #[test]
    fn anything_else_left_unfinished_is_tampering() {
        let (intact, next) = journal();
        let forged = [
            "garbage".to_string(),
            // The start of a record, but not the next one.
            "{\"seq\":7,\"at\":\"2026".to_string(),
            // The next record, chained to another.
            next.replace(
                &next[next.find("\"prev\":\"").unwrap() + 8..][..8],
                "00000000",
            )[..next.len() - 20]
                .to_string(),
            // The next record with bytes after its hash.
            format!("{}x", next.trim_end_matches("}\n")),
            // The start of the next record, then garbage.
            "{\"seq\":2,\"at\":\"2026-11-21T03:00:\"}}}]]] GARBAGE".to_string(),
            // The next record's start, of another runbook, mode, event or an earlier time.
            next.replace("\"runbook\":\"rb\"", "\"runbook\":\"other\"")[..120].to_string(),
            next.replace("\"mode\":\"drill\"", "\"mode\":\"live\"")[..120].to_string(),
            next.replace("run-aborted", "i-was-edited")[..120].to_string(),
            next.replace("2026-11-21", "1999-11-21")[..60].to_string(),
            // Control bytes serde never writes raw.
            "{\"seq\":2,\"at\":\"2026\u{1b}[6n\u{0}".to_string(),
        ];
        for tail in forged {
            let bytes = format!("{intact}{tail}");
            assert_eq!(
                verify(bytes.as_bytes()),
                Err(Tamper::ForgedTail { line: 3 }),
                "{tail}"
            );
        }
    }
}
