//! One step's events as Markdown lines with their times: gates, requests and their answers,
//! retries, failures, errors, a skip, the abort.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::text::{code, cut, dur, esc, opt, quote};
use super::{GateDecision, GateReport, Report, RequestReport, RunOutcome, StepReport, StepStatus};

/// The step's events, in the order they happened.
pub(super) fn of_step(r: &Report, s: &StepReport) -> Vec<(DateTime<Utc>, String)> {
    let mut events: Vec<(DateTime<Utc>, String)> = Vec::new();
    for g in &s.gates {
        events.extend(gate(g));
    }
    let many = r.operators.len() > 1;
    for q in &s.requests {
        let by = opt(many.then_some(&q.operator), |o| format!(" by {}", code(o)));
        events.push((q.at, request(q, &by)));
    }
    // An error already shown as a request's answer is not repeated.
    let answered = |attempt: Option<u64>, error: &str| {
        s.requests
            .iter()
            .any(|q| q.attempt == attempt && q.error.as_deref() == Some(error))
    };
    for x in &s.retries {
        let next = opt(x.attempt, |a| format!(" (attempt {a})"));
        let line = if x.auto {
            let backoff = opt(x.backoff_secs, |b| format!(" after {}", dur(b)));
            let failed = x.attempt.map(|a| a.saturating_sub(1));
            let why = match &x.after {
                Some(e) if !answered(failed, e) => format!("attempt failed: {}; ", code(e)),
                _ => String::new(),
            };
            format!("{why}automatic retry{backoff}{next}")
        } else {
            let reason = quote(x.reason.as_deref());
            format!("retried by {}{next}, reason: {reason}", code(&x.operator))
        };
        events.push((x.at, line));
    }
    for f in s.failures.iter().filter(|f| f.last) {
        let n = opt(f.attempt, |a| format!(" on attempt {a}"));
        let why = match answered(f.attempt, &f.error) {
            true => String::new(),
            false => format!(": {}", code(&f.error)),
        };
        events.push((
            f.at,
            format!("**step failed**{n}, no automatic retry left{why}"),
        ));
    }
    for e in &s.errors {
        let ctx = opt(e.context.as_ref(), |c| format!(" while {}", esc(c)));
        events.push((e.at, format!("error{ctx}: {}", code(&e.error))));
    }
    if let (StepStatus::Skipped, Some(at)) = (s.status, s.ended_at) {
        let line = format!("**skipped**, reason: {}", quote(s.skip_reason.as_deref()));
        events.push((at, line));
    }
    if let (RunOutcome::Aborted { reason, step }, Some(at)) = (&r.outcome, r.ended_at) {
        if step.as_ref() == Some(&s.id) {
            events.push((at, format!("**run aborted** here: {}", quote(Some(reason)))));
        }
    }
    events.sort_by_key(|(at, _)| *at);
    events
}

fn gate(g: &GateReport) -> Vec<(DateTime<Utc>, String)> {
    let mut needs = Vec::new();
    if g.confirm {
        needs.push("confirm".to_string());
    }
    if let Some(p) = &g.typed_phrase {
        needs.push(format!("type {}", code(p)));
    }
    match g.reason_policy.as_deref() {
        None | Some("none") => {}
        Some(p) => needs.push(format!("reason {}", esc(p))),
    }
    let mut out = Vec::new();
    if let Some(at) = g.shown_at {
        let preview = opt(g.preview.as_ref(), |p| {
            format!("; preview: {}", code(&cut(p)))
        });
        out.push((at, format!("gate shown ({}){preview}", needs.join(", "))));
    }
    let Some(at) = g.decided_at else {
        return out;
    };
    let by = opt(g.operator.as_ref(), |o| format!(" by {}", code(o)));
    let line = match g.decision {
        GateDecision::Approved => {
            let mode = match g.unattended {
                Some(true) => " **unattended** (by the drill, not a person)",
                _ => "",
            };
            let typed = opt(g.typed.as_ref(), |t| format!(", typed {}", code(t)));
            let reason = opt(g.reason.as_deref(), |r| {
                format!(", reason: {}", quote(Some(r)))
            });
            let waited = opt(g.waited_secs, |w| format!(", waited {}", dur(w)));
            let seen = opt(g.seen.as_ref(), |p| {
                format!("; it would change {}", code(&cut(p)))
            });
            format!("gate approved{by}{mode}{typed}{reason}{waited}{seen}")
        }
        GateDecision::Cancelled => {
            let seen = opt(g.seen.as_ref(), |p| {
                format!("; it would have changed {}", code(&cut(p)))
            });
            format!(
                "gate cancelled{by}, reason: {}{seen}",
                quote(g.reason.as_deref())
            )
        }
        GateDecision::Open => return out,
    };
    out.push((at, line));
    out
}

fn request(q: &RequestReport, by: &str) -> String {
    let attempt = opt(q.attempt, |a| format!(" (attempt {a})"));
    let what = match (&q.action, &q.command) {
        (Some(action), _) => {
            let target = opt(q.target.as_ref(), |t| format!(" on {}", code(t)));
            let region = opt(q.region.as_ref(), |r| format!(" in {}", code(r)));
            let token = opt(q.token.as_ref(), |t| format!(", token {}", code(t)));
            format!("requested {}{target}{region}{token}", code(action))
        }
        (None, Some(command)) => format!("ran {}", code(command)),
        (None, None) => "answer without a recorded request".into(),
    };
    let again = match q.resend {
        true => " (sent again after a restart)",
        false => "",
    };
    let scalar = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let outputs = match &q.outputs {
        Value::Null => String::new(),
        Value::Object(o) if o.is_empty() => String::new(),
        Value::Object(o) => {
            let kv: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect();
            format!("; outputs {}", code(&cut(&kv.join(" "))))
        }
        other => format!("; output {}", code(&cut(&scalar(other)))),
    };
    let exit = opt(q.exit_code, |c| format!(", exit {c}"));
    let answer = match (q.ok, &q.error) {
        (_, Some(e)) => format!(" → **failed**{exit}: {}", code(e)),
        (Some(true), _) if q.adopted == Some(true) => {
            format!(" → adopted the change already made before a restart{outputs}")
        }
        (Some(true), _) => format!(" → ok{exit}{outputs}"),
        (Some(false), _) => format!(" → **failed**{exit}{outputs}"),
        (None, _) => " → no answer recorded (the run was interrupted)".into(),
    };
    format!("{what}{attempt}{by}{again}{answer}")
}
