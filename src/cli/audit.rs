//! `pilotlight audit verify JOURNAL`: is the journal exactly as it was written?
//! `pilotlight audit report JOURNAL`: what happened, step by step, against the RTO target.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::audit::{format_time, verify, Event, Tamper};

/// A journal's bytes: a file, or a run in a state store (its folder, or its `s3://` URL: its
/// mirrored batches in order).
pub fn read_journal(path: &Path) -> std::io::Result<Vec<u8>> {
    if let Some(url) = path.to_str().filter(|p| p.starts_with("s3://")) {
        return super::team::read_s3_run(url).map_err(std::io::Error::other);
    }
    if !path.is_dir() {
        return std::fs::read(path);
    }
    let mut batches: Vec<_> = std::fs::read_dir(path.join("journal"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "jsonl")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    batches.sort();
    let mut out = Vec::new();
    for b in batches {
        out.extend(std::fs::read(b)?);
    }
    Ok(out)
}

pub fn verify_cmd(path: &Path, against: Option<&Path>) -> ExitCode {
    let shown = path.display();
    let bytes = match read_journal(path) {
        Ok(b) => b,
        Err(e) => {
            tell!("{shown}: error: cannot read the journal: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(mirror) = against {
        return super::mirror_check::against(path, &bytes, mirror);
    }
    match verify(&bytes) {
        Err(unreadable @ Tamper::Unreadable { .. }) => {
            say!("{shown}: CANNOT READ: {unreadable}");
            ExitCode::from(1)
        }
        Err(tamper) => {
            say!("{shown}: NOT INTACT: {tamper}");
            say!("  keep this file as evidence; records after the first problem cannot be trusted");
            ExitCode::from(1)
        }
        Ok(v) => {
            let n = v.records.len();
            if let Some(torn) = &v.torn_tail {
                say!(
                    "{shown}: line {}: torn last line ({} bytes): a crash during a write; the {n} records before it are intact",
                    torn.line,
                    torn.bytes.len()
                );
                say!(
                    "  resuming the run sets the torn line aside in a .torn file and records that"
                );
                return ExitCode::from(1);
            }
            let (first, last) = match (v.records.first(), v.records.last()) {
                (Some(f), Some(l)) => (f, l),
                _ => return ExitCode::from(1),
            };
            let end = match last.event {
                Event::RollbackFinished(_) => "the run ended and was rolled back",
                Event::RollbackStopped(_) => "the run ended; its rollback was stopped",
                _ if last.event.ends_run() => "the run ended",
                _ => "the run has no end record (still running, crashed, or cut short after its last record)",
            };
            say!(
                "{shown}: intact: {n} records of runbook `{}` from {} to {}; {end}",
                first.runbook,
                format_time(first.at),
                format_time(last.at)
            );
            ExitCode::SUCCESS
        }
    }
}

/// How `audit report` prints the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A header with the verdicts, a timeline table and each step's events.
    Markdown,
    /// The report as one JSON document (shape: `pilotlight::audit::report`).
    Json,
    /// One self-contained HTML page with an SVG timeline, for the post-incident review.
    Html,
}

/// `pilotlight audit report JOURNAL`: the post-incident timeline of an intact journal.
///
/// A tampered journal gets no timeline (exit 1, naming the first bad line). A torn last line
/// (a crash during a write) is left out and said so, on stderr and in the report (exit 0).
pub fn report_cmd(path: &Path, format: ReportFormat) -> ExitCode {
    let shown = path.display();
    let bytes = match read_journal(path) {
        Ok(b) => b,
        Err(e) => {
            tell!("{shown}: error: cannot read the journal: {e}");
            return ExitCode::from(1);
        }
    };
    let verified = match verify(&bytes) {
        Ok(v) => v,
        Err(unreadable @ Tamper::Unreadable { .. }) => {
            tell!("{shown}: CANNOT READ: {unreadable}");
            return ExitCode::from(1);
        }
        Err(tamper) => {
            tell!("{shown}: NOT INTACT: {tamper}");
            tell!("  no report from a journal that was changed after it was written; keep the file as evidence and run `pilotlight audit verify {shown}`");
            return ExitCode::from(1);
        }
    };
    if let Some(torn) = &verified.torn_tail {
        tell!(
            "{shown}: note: line {} is torn ({} bytes, a crash during a write); the report covers the {} intact records before it",
            torn.line,
            torn.bytes.len(),
            verified.records.len()
        );
    }
    let report = crate::audit::report::from_verified(&verified);
    let text = match format {
        ReportFormat::Markdown => crate::audit::report::markdown(&report),
        ReportFormat::Html => crate::audit::report::html(&report),
        ReportFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(j) => crate::safe::json(&j) + "\n",
            Err(e) => {
                tell!("{shown}: error: cannot write the report as JSON: {e}");
                return ExitCode::from(1);
            }
        },
    };
    // Cleaned as it was built; shown, not obeyed, whatever slipped through.
    let text = crate::safe::terminal(&text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            tell!("error: cannot print the report: {e}");
            ExitCode::from(1)
        }
    }
}
