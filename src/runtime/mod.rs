//! The runtime: performs the engine's effects against the journal and a backend and feeds the
//! results back as inputs.

pub mod clock;
pub mod driver;
mod flight;
pub mod follow;
pub mod history;
pub mod lock;
mod look;
pub mod paths;
pub mod resume;
pub mod session;
pub mod unfinished;
pub mod view;
