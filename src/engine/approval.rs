//! The capability to change things. Only the engine's gate logic creates an [`Approval`], and
//! only once the gate's decision is durably in the journal; every mutating call requires one.

/// Proof that a gate for `step` was passed and journaled (record `journal_seq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    step: String,
    journal_seq: u64,
    unattended: bool,
}

impl Approval {
    /// Only the engine mints approvals.
    pub(in crate::engine) fn mint(step: &str, journal_seq: u64, unattended: bool) -> Approval {
        Approval {
            step: step.to_string(),
            journal_seq,
            unattended,
        }
    }

    pub fn step(&self) -> &str {
        &self.step
    }

    /// The journal record of the gate decision this approval rests on.
    pub fn journal_seq(&self) -> u64 {
        self.journal_seq
    }

    pub fn unattended(&self) -> bool {
        self.unattended
    }
}
