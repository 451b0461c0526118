//! pilotlight's integration tests, in one binary: every test binary links the whole AWS SDK,
//! so each one more costs CI a link of its own. Run one area with `cargo test --test it
//! engine::` (areas: `engine`, `journal`, `runbooks`, `drill`, `console`, `aws`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod common;

/// The step engine: its transitions, its safety and replay properties, the review's findings.
mod engine {
    mod property;
    mod review;
    mod transitions;
}

/// The audit journal: tamper evidence, the report, journals written by earlier versions.
mod journal {
    mod files;
    mod old;
    mod report;
    mod tamper;
}

/// Runbooks: the fixtures of every validation rule, the JSON Schema, the source tree's layers.
mod runbooks {
    mod fixtures;
    mod hostile;
    mod iam;
    mod layering;
    mod schema;
}

/// Drills against the simulated world: unattended drills, resume after a crash, a run's state as
/// the fold of its journal file, the one-operator lock, `status`, the command-line contract.
mod drill {
    mod alarms;
    mod approvers;
    mod before;
    mod cli;
    mod fold;
    mod lock;
    mod milestone;
    mod resume;
    mod rollback;
    mod status;
    mod team;
    mod timing;
    mod unattended;
}

/// The console: rendered snapshots, the session loop, work in flight, live commands, a real
/// pseudo-terminal.
mod console {
    mod follow;
    mod in_flight;
    mod live_commands;
    mod pty;
    mod pty_views;
    mod session;
    mod snapshots;
}

/// Live AWS over the wire: moto, replayed answers for what moto lacks, `watch`, the binary.
mod aws {
    mod accounts;
    mod alarms;
    mod cli;
    mod crash;
    mod moto;
    mod platform;
    mod preflight;
    mod replay;
    mod s3_state;
    mod status;
    mod watch;
}
