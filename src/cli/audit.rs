//! `pilotlight audit verify JOURNAL`: is the journal exactly as it was written?

use std::path::Path;
use std::process::ExitCode;

use crate::audit::{format_time, verify, Event};

pub fn verify_cmd(path: &Path) -> ExitCode {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{shown}: error: cannot read the journal: {e}");
            return ExitCode::from(1);
        }
    };
    match verify(&bytes) {
        Err(tamper) => {
            println!("{shown}: NOT INTACT: {tamper}");
            println!(
                "  keep this file as evidence; records after the first problem cannot be trusted"
            );
            ExitCode::from(1)
        }
        Ok(v) => {
            let n = v.records.len();
            if let Some(torn) = &v.torn_tail {
                println!(
                    "{shown}: line {}: torn last line ({} bytes): a crash during a write; the {n} records before it are intact",
                    torn.line,
                    torn.bytes.len()
                );
                println!(
                    "  resuming the run sets the torn line aside in a .torn file and records that"
                );
                return ExitCode::from(1);
            }
            let (first, last) = match (v.records.first(), v.records.last()) {
                (Some(f), Some(l)) => (f, l),
                _ => return ExitCode::from(1),
            };
            let end = match last.event {
                Event::RunFinished | Event::RunAborted => "the run ended",
                _ => "the run has no end record (still running, crashed, or cut short after its last record)",
            };
            println!(
                "{shown}: intact: {n} records of runbook `{}` from {} to {}; {end}",
                first.runbook,
                format_time(first.at),
                format_time(last.at)
            );
            ExitCode::SUCCESS
        }
    }
}
