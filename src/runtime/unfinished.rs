//! Finding a run to offer to resume: the journals of a runbook whose run neither finished nor
//! was aborted. Only journals that verify are offered; those that do not are listed apart, so the
//! console can warn about them instead of silently ignoring them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::audit::{first_line_claims, verify, Mode, Tamper};
use crate::runtime::lock::{self, Holder};

/// A run that can be resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub path: PathBuf,
    /// Who wrote the last record.
    pub operator: String,
    /// When the first record was written.
    pub started_at: DateTime<Utc>,
    /// When the last record was written.
    pub last_at: DateTime<Utc>,
    /// The step of the last record that names one.
    pub at_step: Option<String>,
    /// How many intact records the journal holds.
    pub records: usize,
    /// Whether a crash left a torn last line (set aside when the run resumes).
    pub torn_tail: bool,
    /// Who holds the run now, if a live (or unreadable) lock says so.
    pub locked_by: Option<Holder>,
}

/// A journal that claims to belong to the runbook but does not verify: never offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tampered {
    pub path: PathBuf,
    pub problem: Tamper,
}

/// What a scan of a journal folder found for one runbook and mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Unfinished runs, newest (last record) first.
    pub unfinished: Vec<Unfinished>,
    /// Journals of the runbook (as far as their first line tells) that failed verification.
    pub tampered: Vec<Tampered>,
}

/// The unfinished runs of `runbook_id` in `mode` among the `*.jsonl` journals in `dir`, newest
/// first. See [`scan`] for the journals that were passed over because they do not verify.
pub fn find(dir: &Path, runbook_id: &str, mode: Mode) -> Vec<Unfinished> {
    scan(dir, runbook_id, mode).unfinished
}

/// Scans `dir` (not recursively) for the unfinished runs of `runbook_id` in `mode`, and for the
/// journals that claim to be of that runbook and mode but do not verify. A missing or unreadable
/// folder, and unreadable files, yield nothing.
pub fn scan(dir: &Path, runbook_id: &str, mode: Mode) -> Scan {
    let mut out = Scan::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let verified = match verify(&bytes) {
            Ok(v) => v,
            Err(problem) => {
                if claims(&bytes, runbook_id, mode) {
                    out.tampered.push(Tampered { path, problem });
                }
                continue;
            }
        };
        let records = &verified.records;
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            continue;
        };
        if first.runbook != runbook_id || first.mode != mode {
            continue;
        }
        if last.event.ends_run() {
            continue;
        }
        let locked_by = lock::inspect(&path).live_holder();
        out.unfinished.push(Unfinished {
            operator: last.operator.clone(),
            started_at: first.at,
            last_at: last.at,
            at_step: records.iter().rev().find_map(|r| r.step.clone()),
            records: records.len(),
            torn_tail: verified.torn_tail.is_some(),
            locked_by,
            path,
        });
    }
    out.unfinished
        .sort_by(|a, b| b.last_at.cmp(&a.last_at).then_with(|| a.path.cmp(&b.path)));
    out
}

/// Whether an unverifiable journal's first line says it is of `runbook_id` in `mode`, or cannot
/// say at all (then it may be, and is worth a warning).
fn claims(bytes: &[u8], runbook_id: &str, mode: Mode) -> bool {
    let claim = first_line_claims(bytes);
    claim.runbook.is_none_or(|r| r == runbook_id) && claim.mode.is_none_or(|m| m == mode)
}
