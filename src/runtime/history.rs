//! Past runs of a runbook, read from journals: the data behind the RTO estimate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::audit::{verify, Event};
use crate::runbook::StepKind;

/// Step durations (seconds) observed in past journals of one runbook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub durations: BTreeMap<String, Vec<u64>>,
    /// Journals that were read and belonged to the runbook.
    pub runs: usize,
    /// Journals that could not be used, with why (unreadable, not intact).
    pub skipped: Vec<(PathBuf, String)>,
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
        // An unattended drill invents the time people take (manual steps, commands); only what
        // the (simulated) cloud took is a measurement.
        let unattended = records
            .iter()
            .any(|r| matches!(&r.event, Event::GateApproved(g) if g.unattended));
        let mut kinds: BTreeMap<&str, StepKind> = BTreeMap::new();
        for r in &records {
            let kind = match &r.event {
                Event::StepStarted(s) => s.kind,
                Event::AttemptBegun(s) => s.kind,
                _ => None,
            };
            if let (Some(step), Some(kind)) = (&r.step, kind) {
                kinds.insert(step, kind);
            }
        }
        for r in &records {
            let (Some(step), Event::StepSucceeded(done)) = (&r.step, &r.event) else {
                continue;
            };
            // A negative duration (a clock stepped back) is no measurement.
            let Ok(secs) = u64::try_from(done.duration_secs) else {
                continue;
            };
            let by_people = matches!(
                kinds.get(step.as_str()),
                Some(StepKind::Manual | StepKind::Command)
            );
            if unattended && by_people {
                continue;
            }
            h.durations.entry(step.clone()).or_default().push(secs);
        }
    }
    h
}
