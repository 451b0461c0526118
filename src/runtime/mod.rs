//! The runtime: performs the engine's effects against the journal and a backend and feeds the
//! results back as inputs.

mod appended;
pub use appended::StoreRun;
pub mod approvals;
pub mod clock;
mod flight;
pub mod follow;
pub mod history;
pub mod launch;
pub mod lease;
pub mod lock;
mod look;
pub mod mirror;
pub mod paths;
pub mod preflight;
pub mod runner;
pub mod session;
pub mod store;
pub mod unattended;
pub mod unfinished;
pub mod view;
