//! pilotlight: a disaster-recovery console for AWS.
//!
//! Layers, each depending only on those below it (enforced by `tests/it/runbooks/layering.rs`):
//! - [`runbook`]: the runbook format, parsed and validated; pure, no I/O.
//! - [`cli`]: the command line, which reads files and prints results.

pub mod audit;
pub mod cli;
pub mod cloud;
pub mod engine;
pub mod model;
pub mod runbook;
pub mod runtime;
pub mod safe;
pub mod tui;
