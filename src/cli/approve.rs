//! `pilotlight approve RUN_URL`: a second person approves the request waiting at a
//! two-approver gate, from their own machine. They see the same request the operator confirmed
//! (read from the run's mirror in the state store), type the gate's phrase and a reason, and
//! their approval is created in the store once, bound to that request's `gate-confirmed`
//! record (`src/runtime/approvals.rs`). The run takes it within seconds and journals it.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use tokio::runtime::Runtime;

use crate::audit::event::SecondApproval;
use crate::audit::{verify, Event, Mode, Record};
use crate::cloud::aws::clients::Access;
use crate::runtime::approvals::{self, Request};
use crate::runtime::store::StoreError;

#[derive(clap::Args, Debug, Clone)]
pub struct ApproveArgs {
    /// The run's URL in the team's state store, as `pilotlight runs` lists it
    /// (s3://BUCKET/PREFIX/runs/RUNBOOK/RUN_ID, or that folder).
    #[arg(value_name = "RUN_URL")]
    pub run: String,
    /// Who you are (default: $PILOTLIGHT_OPERATOR, else your login name). In a live run you are
    /// your AWS principal, whatever the name.
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
}

/// A run's URL as its store's root and the run's place in it (`runs/RUNBOOK/RUN_ID`).
fn split(url: &str) -> Option<(String, String)> {
    let url = url.trim_end_matches('/');
    let at = match url.starts_with("runs/") {
        true => 0,
        false => url.rfind("/runs/")? + 1,
    };
    let root = match url[..at].trim_end_matches('/') {
        "" => ".".to_string(),
        r => r.to_string(),
    };
    let prefix = &url[at..];
    (prefix.split('/').count() == 3).then(|| (root, prefix.to_string()))
}

pub fn run(rt: &Runtime, args: ApproveArgs) -> ExitCode {
    let Some((root, prefix)) = split(&args.run) else {
        tell!(
            "error: `{}` is not a run's URL: give it as `pilotlight runs RUNBOOK --state STORE` lists it (STORE/runs/RUNBOOK/RUN_ID)",
            crate::safe::one_line(&args.run)
        );
        return ExitCode::from(2);
    };
    let me = match super::operator_name(args.operator.as_deref()) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if !root.starts_with("s3://") && !std::path::Path::new(&root).is_dir() {
        tell!(
            "error: there is no state store at {}: check the run's URL",
            crate::safe::one_line(&root)
        );
        return ExitCode::from(2);
    }
    let store = match super::team::open_store(&root, None, Access::ReadWrite) {
        Ok(s) => s,
        Err(e) => {
            tell!("error: the state store: {e}");
            return ExitCode::from(2);
        }
    };
    let records = match crate::runtime::mirror::read_batches(&*store, &prefix)
        .map_err(|e| e.to_string())
        .and_then(|b| match b.is_empty() {
            true => Ok(Vec::new()),
            false => verify(&b)
                .map(|v| v.records)
                .map_err(|t| format!("the run's mirror is NOT INTACT: {t}")),
        }) {
        Ok(records) if !records.is_empty() => records,
        Ok(_) => {
            tell!(
                "error: {} holds no journal: is the run's URL right?",
                args.run
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            tell!("error: {}: {e}", args.run);
            return ExitCode::from(1);
        }
    };
    let Some(request) = approvals::waiting(&prefix, &records) else {
        tell!("nothing waits for a second approver in {}: its last gate record is not a confirmation (the mirror can be a few seconds behind the run: try again)", args.run);
        return ExitCode::from(1);
    };
    // In a live run a person is their AWS principal.
    let principal = match records[0].mode {
        Mode::Live => {
            let timeouts = crate::cloud::aws::clients::Timeouts::default();
            match rt.block_on(crate::cloud::aws::caller(timeouts)) {
                Ok(id) => Some(id.arn),
                Err(e) => {
                    tell!(
                        "error: who you are in AWS (a live run's approver is their principal): {e}"
                    );
                    return ExitCode::from(2);
                }
            }
        }
        _ => None,
    };
    if approvals::same_person(
        (&request.operator, request.principal.as_deref()),
        (&me, principal.as_deref()),
    ) {
        tell!(
            "refused: {} confirmed this request; the second approver must be another person ({})",
            request.operator,
            principal
                .as_deref()
                .unwrap_or("by operator name, in a drill")
        );
        return ExitCode::from(1);
    }
    let shown = show(&request, &records);
    approve(&*store, &request, &me, principal, &shown)
}

/// The gate as the operator saw it: (phrase, reason required).
struct Shown {
    typed: Option<String>,
    reason_required: bool,
}

/// Says what is asked: the step, the change, who confirmed it and why.
fn show(request: &Request, records: &[Record]) -> Shown {
    let mut shown = Shown {
        typed: None,
        reason_required: false,
    };
    let step = request.step.as_str();
    let run = records.first().map_or("-", |r| r.runbook.as_str());
    tell!("run of {run}: step {step} waits for a second approver");
    for r in records.iter().filter(|r| r.step.as_deref() == Some(step)) {
        match &r.event {
            Event::GateShown(g) => {
                shown.typed = g.typed.clone();
                shown.reason_required = g.reason == crate::runbook::ReasonPolicy::Required;
                if let Some(p) = &g.preview {
                    tell!("  change:  {}", crate::safe::one_line(p));
                }
            }
            Event::GateConfirmed(c) if r.hash == request.bound_to => {
                if let Some(seen) = &c.seen {
                    tell!("  AWS said: {}", crate::safe::one_line(seen));
                }
                tell!(
                    "  confirmed by {}{} at {}: {}",
                    r.operator,
                    request
                        .principal
                        .as_deref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default(),
                    crate::audit::format_time(r.at),
                    c.reason.as_deref().unwrap_or("(no reason)")
                );
            }
            _ => {}
        }
    }
    let short = request.bound_to.get(..12).unwrap_or(&request.bound_to);
    tell!("  request: record {short} (your approval approves this request and no other)");
    shown
}

fn ask(prompt: &str) -> Option<String> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
    }
}

fn approve(
    store: &dyn crate::runtime::store::Store,
    request: &Request,
    me: &str,
    principal: Option<String>,
    shown: &Shown,
) -> ExitCode {
    let typed = match &shown.typed {
        Some(phrase) => match ask(&format!("type `{phrase}` to approve: ")) {
            Some(t) if t == *phrase => Some(t),
            _ => {
                tell!("not approved: the phrase was not typed exactly");
                return ExitCode::from(1);
            }
        },
        None => match ask("approve this change? type yes: ").as_deref() {
            Some("yes") => None,
            _ => {
                tell!("not approved");
                return ExitCode::from(1);
            }
        },
    };
    let reason = ask("reason: ").filter(|r| !r.trim().is_empty());
    if shown.reason_required && reason.is_none() {
        tell!("not approved: this gate needs a reason");
        return ExitCode::from(1);
    }
    let approval = SecondApproval {
        step: request.step.clone(),
        bound_to: request.bound_to.clone(),
        operator: me.to_string(),
        principal,
        typed,
        reason,
        at: crate::audit::format_time(chrono::Utc::now()),
        host: crate::runtime::lock::this_host(),
    };
    let body = match serde_json::to_vec_pretty(&approval) {
        Ok(b) => b,
        Err(e) => {
            tell!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let key = approvals::key(&request.prefix, &request.bound_to, me);
    match store.create(&key, &body) {
        Ok(_) => {
            say!(
                "approved: step {} (request {}); the run takes it within seconds",
                request.step,
                request.bound_to.get(..12).unwrap_or(&request.bound_to)
            );
            ExitCode::SUCCESS
        }
        Err(StoreError::Exists(_)) => {
            tell!("you have approved this request already");
            ExitCode::from(1)
        }
        Err(e) => {
            tell!("error: the state store: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_urls_split_into_store_and_run() {
        let s = |u: &str| super::split(u);
        assert_eq!(
            s("s3://b/team/runs/rb/r1"),
            Some(("s3://b/team".into(), "runs/rb/r1".into()))
        );
        assert_eq!(
            s("/srv/state/runs/rb/r1/"),
            Some(("/srv/state".into(), "runs/rb/r1".into()))
        );
        assert_eq!(s("runs/rb/r1"), Some((".".into(), "runs/rb/r1".into())));
        assert_eq!(s("/srv/state/runs/rb"), None);
        // As the run's own split does, a trailing slash changes nothing.
        assert_eq!(
            crate::cli::team::split_run_url("s3://b/team/runs/rb/r1/"),
            Some(("s3://b/team", "runs/rb/r1"))
        );
    }
}
