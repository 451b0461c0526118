//! One step's part of the report: its events applied in journal order, and the small readers
//! of untrusted journal values the report is built with.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    clean, ErrorNote, FailureReport, GateDecision, GateReport, RequestReport, RetryReport,
    StepReport, StepStatus,
};
use crate::audit::Event;

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

    pub(super) fn apply(&mut self, event: Event, at: DateTime<Utc>, d: &Value, operator: &str) {
        if self.started_at.is_none() {
            self.started_at = Some(at);
            self.status = StepStatus::InProgress;
        }
        let attempt = num(d, "attempt");
        match event {
            Event::StepStarted => {
                self.title = self.title.take().or_else(|| text(d, "title"));
                self.kind = self.kind.take().or_else(|| text(d, "kind"));
                self.expected_secs = self.expected_secs.or_else(|| num(d, "expected_secs"));
            }
            Event::GateShown => self.gates.push(GateReport {
                shown_at: Some(at),
                confirm: d.get("confirm").and_then(Value::as_bool).unwrap_or(false),
                typed_phrase: text(d, "typed"),
                reason_policy: text(d, "reason"),
                preview: text(d, "preview"),
                ..GateReport::default()
            }),
            Event::GateApproved | Event::GateCancelled => {
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
                    g.decision = match event {
                        Event::GateApproved => GateDecision::Approved,
                        _ => GateDecision::Cancelled,
                    };
                    g.decided_at = Some(at);
                    g.operator = Some(operator.to_string());
                    g.typed = text(d, "typed");
                    g.reason = text(d, "reason");
                    g.unattended = d.get("unattended").and_then(Value::as_bool);
                    g.seen = text(d, "seen");
                    g.waited_secs = since.map(|s| secs_between(s, at));
                }
            }
            Event::Intent => {
                self.saw_attempt(attempt);
                let plan = d.get("plan").unwrap_or(&Value::Null);
                self.requests.push(RequestReport {
                    at,
                    operator: operator.to_string(),
                    attempt,
                    action: text(plan, "action"),
                    target: text(plan, "target"),
                    region: text(plan, "region"),
                    token: text(plan, "token"),
                    command: text(d, "command"),
                    resend: d.get("resend").and_then(Value::as_bool).unwrap_or(false),
                    ..RequestReport::default()
                });
            }
            Event::Outcome => {
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
                q.ok = d.get("ok").and_then(Value::as_bool);
                q.adopted = d.get("adopted").and_then(Value::as_bool);
                q.exit_code = d.get("exit_code").and_then(Value::as_i64);
                q.error = text(d, "error");
                q.outputs = clean_value(d.get("outputs").or_else(|| d.get("stdout")));
            }
            Event::StepSucceeded => {
                self.saw_attempt(attempt);
                self.status = StepStatus::Done;
                self.ended_at = Some(at);
                self.result = ["observed", "state", "note"]
                    .iter()
                    .find_map(|k| text(d, k));
            }
            Event::StepFailed => {
                self.saw_attempt(attempt);
                self.status = StepStatus::Failed;
                self.ended_at = Some(at);
                let error = text(d, "error").unwrap_or_default();
                self.failures.push(FailureReport {
                    at,
                    attempt,
                    error,
                    last: true,
                });
            }
            Event::StepRetried => {
                let auto = d.get("auto").and_then(Value::as_bool).unwrap_or(false);
                // An automatic retry proves the attempt before it ran and failed; an operator's
                // retry begins its attempt at once.
                let begun = if auto {
                    attempt.map(|a| a.saturating_sub(1))
                } else {
                    attempt
                };
                self.saw_attempt(begun);
                self.status = StepStatus::InProgress;
                self.ended_at = None;
                if let (true, Some(after)) = (auto, text(d, "after")) {
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
                    auto,
                    after: text(d, "after"),
                    reason: text(d, "reason"),
                    backoff_secs: num(d, "backoff_secs"),
                    operator: operator.to_string(),
                });
            }
            Event::StepSkipped => {
                self.status = StepStatus::Skipped;
                self.ended_at = Some(at);
                self.skip_reason = text(d, "reason");
            }
            Event::Error => self.errors.push(ErrorNote {
                at,
                error: text(d, "error").unwrap_or_else(|| clean(&d.to_string())),
                context: text(d, "while"),
            }),
            _ => {}
        }
    }
}

pub(super) fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    u64::try_from((b - a).num_seconds()).unwrap_or(0)
}

pub(super) fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// A string field, cleaned; a non-string scalar is shown as JSON.
pub(super) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(clean(s)),
        other => Some(clean(&other.to_string())),
    }
}

pub(super) fn clean_value(v: Option<&Value>) -> Value {
    match v {
        None => Value::Null,
        Some(Value::String(s)) => Value::String(clean(s)),
        Some(Value::Array(a)) => a.iter().map(|x| clean_value(Some(x))).collect(),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, x)| (clean(k), clean_value(Some(x))))
            .collect(),
        Some(other) => other.clone(),
    }
}
