//! The CloudFormation templates a runbook's `cloudformation.deploy` steps name: where, and
//! their text once the loader has read it (the runbook itself does no I/O).

use super::model::Runbook;

/// A template file a `cloudformation.deploy` step names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    /// As written, relative to the runbook.
    pub path: String,
    /// Where the runbook names it.
    pub at: super::Pos,
    /// Its text, once read.
    pub body: Option<String>,
}

/// CloudFormation's limit for a template sent in the request (larger ones go through S3).
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

impl Runbook {
    /// The text of the template a step names, when it was read.
    pub fn template_body(&self, path: &str) -> Option<&str> {
        self.templates
            .iter()
            .find(|t| t.path == path.trim())
            .and_then(|t| t.body.as_deref())
    }

    /// Reads every template with `read` (the path as written, relative to the runbook); each
    /// one that cannot be read, or is too large to send, is an error where it is named.
    pub fn read_templates(
        &mut self,
        read: impl Fn(&str) -> Result<String, String>,
    ) -> Vec<super::Diagnostic> {
        let mut problems = Vec::new();
        for t in &mut self.templates {
            match read(&t.path) {
                Ok(body) if body.len() > TEMPLATE_BODY_LIMIT => problems.push(
                    super::Diagnostic::new(
                        t.at,
                        format!(
                            "template `{}` is {} bytes; CloudFormation takes at most {TEMPLATE_BODY_LIMIT} in a request",
                            t.path,
                            body.len()
                        ),
                    )
                    .hint("split the stack into nested stacks, or shorten the template"),
                ),
                Ok(body) => t.body = Some(body),
                Err(e) => problems.push(
                    super::Diagnostic::new(t.at, format!("cannot read template `{}`: {e}", t.path))
                        .hint("the path is relative to the runbook's folder"),
                ),
            }
        }
        problems
    }
}
