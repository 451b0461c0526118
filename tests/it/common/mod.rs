//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;

/// The crate's root (where runbooks/ and assets/ are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty folder unique to this test process and call.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pilotlight-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The fixed start of runs in tests: 2026-11-21 03:00 UTC.
pub fn t0() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 21, 3, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("a fixed, valid time"))
}

/// A runbook of the repository (path relative to the crate root), parsed.
pub fn load_runbook(path: &str) -> std::sync::Arc<pilotlight::runbook::Runbook> {
    let bytes = std::fs::read(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let runbook = pilotlight::runbook::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    std::sync::Arc::new(runbook)
}
pub mod answers;
pub mod cloudwatch;
pub mod engine;
pub mod moto;
pub mod pty;
pub mod session;
pub mod standin;
pub mod strict;

/// A record's (or entry's) detail as the journal holds it on disk, for asserting its shape.
pub fn detail(r: &impl Recorded) -> serde_json::Value {
    r.event()
        .detail()
        .unwrap_or_else(|e| panic!("{:?}: {e}", r.event()))
}

/// What carries a journal event: a record, or an entry the engine asks to write.
pub trait Recorded {
    fn event(&self) -> &pilotlight::audit::Event;
}

impl Recorded for pilotlight::audit::Record {
    fn event(&self) -> &pilotlight::audit::Event {
        &self.event
    }
}

impl<T: Recorded> Recorded for &T {
    fn event(&self) -> &pilotlight::audit::Event {
        (**self).event()
    }
}

impl Recorded for pilotlight::audit::Entry {
    fn event(&self) -> &pilotlight::audit::Event {
        &self.event
    }
}

/// An event as a journal line holds it: its name and its detail in JSON.
pub fn event(
    kind: pilotlight::audit::EventKind,
    detail: serde_json::Value,
) -> pilotlight::audit::Event {
    pilotlight::audit::Event::from_detail(kind, detail).unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

/// Re-chains the journal at `path` as someone with write access to the laptop would: another
/// name on every approval, every hash after it recomputed. The file alone still verifies.
pub fn rechain_with_another_approver(path: &std::path::Path) {
    let records = pilotlight::audit::verify(&std::fs::read(path).unwrap())
        .unwrap()
        .records;
    let mut prev = pilotlight::audit::GENESIS.to_string();
    let mut forged = String::new();
    for r in &records {
        let operator = match r.kind() {
            pilotlight::audit::EventKind::GateApproved => "someone-else",
            _ => r.operator.as_str(),
        };
        let entry = pilotlight::audit::Entry {
            at: r.at,
            step: r.step.clone(),
            event: r.event.clone(),
        };
        let (line, rec) =
            pilotlight::audit::seal(r.seq, operator, &r.runbook, r.mode, &entry, &prev).unwrap();
        forged.push_str(&line);
        prev = rec.hash;
    }
    std::fs::write(path, forged).unwrap();
}
