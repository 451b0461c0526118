//! `y`: the focused AWS id or ARN onto the clipboard (OSC 52, so it works over ssh and tmux).
//! In the resource table or a resource's detail, the resource's id; in the steps, what the
//! step made (a restored volume's id, a new instance's ARN), else its resource's id; in the
//! audit pane, the journal's path (for `audit report`).

use super::{App, Pane, Screen};

impl App {
    pub(super) fn copy_focused(&mut self) {
        let focus = match self.screen {
            Screen::Timeline => Pane::Steps,
            Screen::Main => self.focus,
        };
        match focus {
            Pane::Resources => {
                match self.visible_resources().get(self.resource_row) {
                    Some(name) => {
                        let name = name.to_string();
                        self.copy_resource(&name)
                    }
                    None => self.message = Some(
                        "no resource here to copy: move to one (Up/Down) or clear the filter (Esc)"
                            .into(),
                    ),
                }
            }
            Pane::Steps | Pane::Detail => self.copy_step(),
            Pane::Audit => match &self.view.journal {
                Some(path) => {
                    let path = path.display().to_string();
                    self.copied("the journal's path", path)
                }
                None => self.message = Some("this run has no journal file to copy".into()),
            },
        }
    }

    /// The resource's AWS id or ARN.
    pub(super) fn copy_resource(&mut self, name: &str) {
        match self.view.runbook.resources.get(name) {
            Some(res) => {
                let what = format!("{name}'s AWS id");
                self.copied(&what, res.id.clone())
            }
            None => {
                self.message = Some(
                    "no resource here to copy: move to one (Up/Down) or clear the filter (Esc)"
                        .into(),
                )
            }
        }
    }

    /// What the shown step made (an output naming an id or ARN), else its resource's id.
    fn copy_step(&mut self) {
        let v = &self.view;
        let Some(step) = v.runbook.steps.get(self.shown_step()) else {
            return;
        };
        // Waiting for a second approver: what they need is the run's URL.
        let waits = v.steps.get(self.shown_step()).is_some_and(|r| {
            r.state == crate::engine::StepState::AwaitingGate && r.confirmed.is_some()
        });
        if let (true, Some(url)) = (waits, v.approve_url.clone()) {
            return self.copied("the run's URL for `pilotlight approve`", url);
        }
        let made = v.outputs.get(&step.id).and_then(|outs| {
            outs.iter()
                .find(|(k, val)| (k.ends_with("_id") || k.ends_with("arn")) && !val.is_empty())
                .map(|(k, val)| (format!("{} {k}", step.id), val.clone()))
        });
        let resource = match &step.body {
            crate::runbook::StepBody::Action { resource, .. } => Some(resource),
            crate::runbook::StepBody::Check { expect } => Some(&expect.resource),
            crate::runbook::StepBody::Wait { until: Some(c), .. } => Some(&c.resource),
            _ => None,
        };
        let resource = resource
            .and_then(|r| v.runbook.resources.get(r))
            .map(|r| (format!("{}'s AWS id", r.name), r.id.clone()));
        match made.or(resource) {
            Some((what, value)) => self.copied(&what, value),
            None => {
                self.message = Some(format!(
                    "step {} names no AWS id to copy",
                    crate::safe::one_line(&step.id)
                ))
            }
        }
    }

    fn copied(&mut self, what: &str, value: String) {
        self.message = Some(format!(
            "copied {}: {} (OSC 52)",
            crate::safe::one_line(what),
            crate::safe::one_line(&value)
        ));
        self.clipboard = Some(value);
    }
}
