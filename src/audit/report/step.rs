//! One step's part of the report: its events applied in journal order, and the small readers
//! of untrusted journal values the report is built with.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    clean, DataLostReport, ErrorNote, FailureReport, GateDecision, GateReport, RequestReport,
    RetryReport, StepReport, StepStatus,
};
use crate::audit::Event;
use crate::runbook::{ReasonPolicy, StepKind};

impl StepReport {
    pub(super) fn operators_add(&mut self, who: &str) {
        if !self.operators.iter().any(|o| o == who) {
            self.operators.push(who.to_string());
        }
    }

    pub(super) fn saw_attempt(&mut self, n: Option<u64>) {
        let n = n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        self.attempts = self.attempts.max(n);
    }

    pub(super) fn apply(&mut self, event: &Event, at: DateTime<Utc>, operator: &str) {
        if self.started_at.is_none() {
            self.started_at = Some(at);
            self.status = StepStatus::InProgress;
        }
        let attempt = event.attempt().map(u64::from);
        match event {
            Event::StepStarted(d) => {
                self.title = self.title.take().or_else(|| Some(clean(&d.title)));
                self.kind = self.kind.take().or_else(|| kind_name(d.kind));
                self.expected_secs = self.expected_secs.or(d.expected_secs);
            }
            Event::AttemptBegun(d) => {
                self.title = self.title.take().or_else(|| Some(clean(&d.title)));
                self.kind = self.kind.take().or_else(|| kind_name(d.kind));
            }
            Event::GateShown(d) => self.gates.push(GateReport {
                shown_at: Some(at),
                confirm: d.confirm,
                typed_phrase: text(&d.typed),
                reason_policy: Some(policy_name(d.reason).to_string()),
                preview: text(&d.preview),
                ..GateReport::default()
            }),
            Event::GateApproved(_) | Event::GateCancelled(_) => {
                // A decision closes the open gate. A cancelled gate stays open without being
                // shown again: the next decision gets an entry of its own, waiting since then.
                let mut since = self.gates.last().and_then(|g| g.shown_at);
                if let Some(prev) = self
                    .gates
                    .last()
                    .filter(|g| g.decision != GateDecision::Open)
                {
                    since = prev.decided_at;
                    let again = GateReport {
                        shown_at: None,
                        ..prev.clone()
                    };
                    self.gates.push(again);
                } else if self.gates.is_empty() {
                    self.gates.push(GateReport::default());
                }
                if let Some(g) = self.gates.last_mut() {
                    g.decided_at = Some(at);
                    g.operator = Some(operator.to_string());
                    g.waited_secs = since.map(|s| secs_between(s, at));
                    match event {
                        Event::GateApproved(d) => {
                            g.decision = GateDecision::Approved;
                            g.typed = text(&d.typed);
                            g.reason = text(&d.reason);
                            g.unattended = Some(d.unattended);
                            g.seen = text(&d.seen);
                            if let Some(second) = &d.second {
                                g.second_approver = Some(clean(
                                    second.principal.as_deref().unwrap_or(&second.operator),
                                ));
                                g.second_reason = text(&second.reason);
                            }
                        }
                        Event::GateCancelled(d) => {
                            g.decision = GateDecision::Cancelled;
                            g.typed = None;
                            g.reason = text(&d.reason);
                            g.unattended = None;
                            g.seen = text(&d.seen);
                        }
                        _ => {}
                    }
                }
            }
            Event::Intent(d) => {
                self.saw_attempt(attempt);
                let plan = d.plan.as_ref();
                self.requests.push(RequestReport {
                    at,
                    operator: operator.to_string(),
                    attempt,
                    action: plan.map(|p| clean(p.action.name())),
                    target: plan.map(|p| clean(&p.target)),
                    region: plan.and_then(|p| text(&p.region)),
                    token: plan.map(|p| clean(&p.token)),
                    command: text(&d.command),
                    resend: d.resend,
                    ..RequestReport::default()
                });
            }
            Event::Outcome(d) => {
                self.saw_attempt(attempt);
                let open = self
                    .requests
                    .iter()
                    .rposition(|q| q.answered_at.is_none() && q.attempt == attempt);
                let i = open.unwrap_or_else(|| {
                    self.requests.push(RequestReport {
                        at,
                        operator: operator.to_string(),
                        attempt,
                        ..RequestReport::default()
                    });
                    self.requests.len() - 1
                });
                let q = &mut self.requests[i];
                q.answered_at = Some(at);
                q.ok = Some(d.ok);
                q.adopted = d.adopted;
                q.exit_code = d.exit_code.map(i64::from);
                q.error = text(&d.error);
                q.outputs = match (&d.outputs, &d.stdout) {
                    (Some(outputs), _) => outputs
                        .iter()
                        .map(|(k, v)| (clean(k), Value::String(clean(v))))
                        .collect(),
                    (None, Some(stdout)) => Value::String(clean(stdout)),
                    (None, None) => Value::Null,
                };
            }
            Event::StepSucceeded(d) => {
                self.saw_attempt(attempt);
                self.status = StepStatus::Done;
                self.ended_at = Some(at);
                self.result = [&d.observed, &d.state, &d.note].into_iter().find_map(text);
                self.duration_source = d.duration_source.map(|s| s.name().to_string());
                self.data_lost = d.data_lost.as_ref().map(|l| DataLostReport {
                    resource: clean(&l.resource),
                    recovery_point_at: l.recovery_point_at,
                    lost_at: l.lost_at,
                    seconds: l.seconds,
                });
            }
            Event::StepFailed(d) => {
                self.saw_attempt(attempt);
                self.status = StepStatus::Failed;
                self.ended_at = Some(at);
                self.failures.push(FailureReport {
                    at,
                    attempt,
                    error: clean(&d.error),
                    last: true,
                });
            }
            Event::StepRetried(d) => {
                // An automatic retry proves the attempt before it ran and failed; an operator's
                // retry begins its attempt at once.
                let begun = if d.auto {
                    attempt.map(|a| a.saturating_sub(1))
                } else {
                    attempt
                };
                self.saw_attempt(begun);
                self.status = StepStatus::InProgress;
                self.ended_at = None;
                if let (true, Some(after)) = (d.auto, text(&d.after)) {
                    self.failures.push(FailureReport {
                        at,
                        attempt: begun,
                        error: after,
                        last: false,
                    });
                }
                self.retries.push(RetryReport {
                    at,
                    attempt,
                    auto: d.auto,
                    after: text(&d.after),
                    reason: text(&d.reason),
                    backoff_secs: d.backoff_secs,
                    operator: operator.to_string(),
                });
            }
            Event::StepSkipped(d) => {
                self.status = StepStatus::Skipped;
                self.ended_at = Some(at);
                self.skip_reason = Some(clean(&d.reason));
            }
            Event::Error(d) => self.errors.push(ErrorNote {
                at,
                error: clean(&d.error),
                context: text(&d.during),
            }),
            _ => {}
        }
    }
}

pub(super) fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    u64::try_from((b - a).num_seconds()).unwrap_or(0)
}

/// An optional text from the journal, cleaned.
pub(super) fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(clean)
}

fn kind_name(kind: Option<StepKind>) -> Option<String> {
    kind.map(|k| k.name().to_string())
}

fn policy_name(p: ReasonPolicy) -> &'static str {
    match p {
        ReasonPolicy::None => "none",
        ReasonPolicy::Optional => "optional",
        ReasonPolicy::Required => "required",
    }
}
