//! The audit journal (design section 5): JSONL, append-only, SHA-256 hash chain, fsync per
//! record. `verify` detects any edit, deletion, insertion or reordering, and tells a torn last
//! line (a crash mid-write) apart from tampering.

pub mod event;
mod journal;
mod record;
pub mod report;
mod torn;
mod verify;

pub use event::{Event, EventKind};
pub use journal::{Journal, JournalError};
pub use record::{
    first_line_claims, format_time, seal, sha256_hex, Claim, Entry, LineProblem, Mode, Record,
    GENESIS,
};
pub use verify::{verify, Chain, Grown, Tamper, TornTail, Verified};
