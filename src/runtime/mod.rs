//! The runtime: performs the engine's effects against the journal and a backend and feeds the
//! results back as inputs.

pub mod clock;
pub mod driver;
pub mod history;
pub mod paths;
pub mod resume;
