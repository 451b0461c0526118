//! Past runs of a runbook, read from journals: the data behind the RTO estimate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::audit::event::DurationSource;
use crate::audit::{verify, Event, Mode};

/// Step durations (seconds) observed in past journals of one runbook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub durations: BTreeMap<String, Vec<u64>>,
    /// Journals that were read and belonged to the runbook.
    pub runs: usize,
    /// Journals that could not be used, with why (unreadable, not intact).
    pub skipped: Vec<(PathBuf, String)>,
    /// Durations used, by where they came from: live runs, and people's work timed in drills.
    pub live_samples: usize,
    pub timed_samples: usize,
}

/// Reads every `*.jsonl` journal in `dir` that belongs to `runbook` (a missing folder is an empty
/// history). Journals that do not verify are skipped and listed, never trusted.
pub fn read(dir: &Path, runbook: &str) -> History {
    let mut h = History::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return h;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                h.skipped.push((path, e.to_string()));
                continue;
            }
        };
        let records = match verify(&bytes) {
            Ok(v) => v.records,
            Err(t) => {
                h.skipped.push((path, t.to_string()));
                continue;
            }
        };
        if records.first().is_none_or(|r| r.runbook != runbook) {
            continue;
        }
        h.runs += 1;
        // Only real time teaches the estimate: live runs, and people's work a drill timed.
        // Simulated times would feed the estimate its own numbers, and assumed ones its
        // expectations. A journal from before durations said where they came from counts only
        // when it is a live run's.
        let live_journal = records.first().is_some_and(|r| r.mode == Mode::Live);
        for r in &records {
            let (Some(step), Event::StepSucceeded(done)) = (&r.step, &r.event) else {
                continue;
            };
            // A negative duration (a clock stepped back) is no measurement.
            let Ok(secs) = u64::try_from(done.duration_secs) else {
                continue;
            };
            let source = match done.duration_source {
                // A drill's journal never holds live time, whatever a record says.
                Some(DurationSource::Live) if !live_journal => continue,
                Some(s) => s,
                None if live_journal => DurationSource::Live,
                None => continue,
            };
            match source {
                DurationSource::Live => h.live_samples += 1,
                DurationSource::Timed => h.timed_samples += 1,
                DurationSource::Assumed | DurationSource::Simulated => continue,
            }
            h.durations.entry(step.clone()).or_default().push(secs);
        }
    }
    h
}
