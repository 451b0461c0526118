//! The data-platform and stack actions' parameters: a deployable template path, an SNS message
//! SNS would take.

use super::Checker;
use crate::runbook::params::ActionParams;
use crate::runbook::source::Seg;
use crate::runbook::template::Template;
use crate::runbook::TemplateFile;

/// A problem at a parameter: (its key, message, hint).
type Problem = (&'static str, String, String);

impl Checker<'_> {
    /// Checks what only these actions ask, and keeps where each template file is named so that
    /// the loader, which reads it, can say where.
    pub(super) fn platform_params(
        &mut self,
        params: &ActionParams,
        with: &[Seg<'_>],
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        match params {
            ActionParams::CloudformationDeploy(p) => {
                let path = p.template.trim();
                if path.is_empty() || path.starts_with('/') || path.contains('\0') {
                    problems.push((
                        "template",
                        format!("`{path}` is not a template path relative to the runbook"),
                        "write the template file's path from the runbook's folder, e.g. `templates/app.yaml`".into(),
                    ));
                } else {
                    let mut at = with.to_vec();
                    at.push(Seg::Key("template"));
                    let at = self.tree.locate(&at);
                    self.templates.push(TemplateFile {
                        path: path.to_string(),
                        at,
                        body: None,
                    });
                }
                if p.stack_name
                    .as_ref()
                    .is_some_and(|n| n.as_literal().is_none())
                {
                    problems.push((
                        "stack_name",
                        "the stack's name must be fixed before the run".into(),
                        "use a literal or a var, so that a resumed run follows the same stack"
                            .into(),
                    ));
                }
                for name in p.parameters.keys() {
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                        problems.push((
                            "parameters",
                            format!("`{name}` is not a template parameter name"),
                            "CloudFormation parameter names are letters and digits".into(),
                        ));
                    }
                }
            }
            ActionParams::SnsPublish(p) => {
                if let Some(subject) = p.subject.as_ref().and_then(Template::as_literal) {
                    if subject.chars().count() > 100 || subject.contains(['\n', '\r']) {
                        problems.push((
                            "subject",
                            "SNS takes a subject of at most 100 characters on one line".into(),
                            "shorten it; put the detail in `message`".into(),
                        ));
                    }
                }
                if p.message.as_literal().is_some_and(|m| m.trim().is_empty()) {
                    problems.push((
                        "message",
                        "the message is empty".into(),
                        "say what happened and what people should do".into(),
                    ));
                }
            }
            _ => {}
        }
        problems
    }
}
