//! Runbook format v1: parse YAML text into a validated [`Runbook`], or say, line and column,
//! what is wrong and what to write instead. No I/O here: callers hand over the bytes.

mod call;
pub mod catalogue;
mod cfn_templates;
pub mod diagnostic;
pub mod duration;
pub mod iam;
pub mod model;
pub mod params;
pub mod raw;
pub mod schema;
pub mod source;
pub mod template;
mod validate;

pub use catalogue::{ActionKind, ActionSpec};
pub use cfn_templates::{TemplateFile, TEMPLATE_BODY_LIMIT};
pub use diagnostic::{Diagnostic, LoadError, Pos};
pub use duration::Duration;
pub use model::*;
pub use template::Template;
pub use validate::is_region;

/// Parses and validates a runbook from its bytes. All problems found are returned together,
/// in source order.
pub fn parse(bytes: &[u8]) -> Result<Runbook, LoadError> {
    validate::parse(bytes)
}
