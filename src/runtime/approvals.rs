//! Second approvers (issue 15): at a gate with `approvers: 2`, once the operator has confirmed,
//! the request waits for a second, different person. They run `pilotlight approve RUN_URL` on
//! their own machine, see the same request (from the run's mirror), type the phrase and a
//! reason, and their approval is created in the state store beside the run, once
//! (`runs/RUNBOOK/RUN_ID/approvals/HASH/WHO.json`), bound to the hash of the `gate-confirmed`
//! record it approves. The run looks for it while it waits, checks it again (the same request,
//! another person) and journals it in the gate's `gate-approved` record.
//!
//! A person is their AWS principal, role session name included, in a live run (two people
//! behind one role with one session name are one person to pilotlight), and the operator name
//! in a drill (which proves only that two names were typed).

use std::sync::Arc;

use super::store::{Store, StoreError};
use crate::audit::event::SecondApproval;
use crate::audit::{Event, Record};

/// The request waiting for a second approver, as the run and the approver both read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The run's place in the store (`runs/RUNBOOK/RUN_ID`).
    pub prefix: String,
    pub step: String,
    /// The hash of the `gate-confirmed` record: what is approved.
    pub bound_to: String,
    /// Who confirmed it (the first approver).
    pub operator: String,
    pub principal: Option<String>,
}

/// Where approvals of `bound_to` are created.
pub fn folder(prefix: &str, bound_to: &str) -> String {
    format!("{prefix}/approvals/{bound_to}")
}

/// The key of `operator`'s approval of `bound_to`: one per person, created once.
pub fn key(prefix: &str, bound_to: &str, operator: &str) -> String {
    let slug: String = operator
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "-_@".contains(c) {
            true => c,
            false => '_',
        })
        .take(40)
        .collect();
    // Two names that map to one slug still get two keys.
    let tag = &crate::audit::sha256_hex(operator.as_bytes())[..12];
    format!("{}/{slug}-{tag}.json", folder(prefix, bound_to))
}

/// Whether two approvers are one person: their principals when both are known (live runs),
/// else their operator names.
pub fn same_person(a: (&str, Option<&str>), b: (&str, Option<&str>)) -> bool {
    match (a.1, b.1) {
        (Some(pa), Some(pb)) => pa == pb,
        _ => a.0 == b.0,
    }
}

/// Why `approval` cannot pass `request`, if it cannot: another request's, or the same person's.
pub fn refusal(request: &Request, approval: &SecondApproval) -> Option<String> {
    if approval.bound_to != request.bound_to || approval.step != request.step {
        return Some(format!(
            "an approval by {} is for another request (step {}, record {}), not this one",
            approval.operator,
            approval.step,
            short(&approval.bound_to)
        ));
    }
    let first = (request.operator.as_str(), request.principal.as_deref());
    let second = (approval.operator.as_str(), approval.principal.as_deref());
    same_person(first, second).then(|| {
        format!(
            "an approval by {} was refused: the second approver must be another person than the one who confirmed",
            approval.operator
        )
    })
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Follows a run's records to the request waiting for a second approver, if one is: the last
/// gate record of the step in hand is a confirmation. Its first approver is the record's
/// operator, with the principal of the run's latest start or resume.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    prefix: String,
    principal: Option<String>,
    open: Option<Request>,
}

impl Tracker {
    pub fn new(prefix: &str) -> Tracker {
        Tracker {
            prefix: prefix.to_string(),
            ..Tracker::default()
        }
    }

    /// The request waiting now, if one is.
    pub fn open(&self) -> Option<&Request> {
        self.open.as_ref()
    }

    pub fn feed(&mut self, r: &Record) {
        match &r.event {
            Event::RunStarted(d) => {
                self.principal = d
                    .context
                    .as_ref()
                    .and_then(|c| c.live.as_ref())
                    .map(|l| l.aws.arn.clone())
            }
            Event::RunResumed(d) => {
                if let Some(aws) = &d.aws {
                    self.principal = Some(aws.arn.clone());
                }
            }
            Event::GateConfirmed(_) => {
                self.open = Some(Request {
                    prefix: self.prefix.clone(),
                    step: r.step.clone().unwrap_or_default(),
                    bound_to: r.hash.clone(),
                    operator: r.operator.clone(),
                    principal: self.principal.clone(),
                })
            }
            Event::GateShown(_)
            | Event::GateApproved(_)
            | Event::GateCancelled(_)
            | Event::StepSkipped(_)
            | Event::RunAborted(_)
            | Event::RunFinished(_) => self.open = None,
            _ => {}
        }
    }
}

/// The request waiting at the end of `records`, if one is.
pub fn waiting(prefix: &str, records: &[Record]) -> Option<Request> {
    let mut t = Tracker::new(prefix);
    for r in records {
        t.feed(r);
    }
    t.open
}

/// What a look at the store found for `request`: an approval that passes, and why others
/// (not in `told`) do not.
#[derive(Debug, Default)]
pub struct Found {
    pub approval: Option<SecondApproval>,
    /// (key, why) of approvals that cannot pass.
    pub refused: Vec<(String, String)>,
}

/// Looks in `store` for approvals of `request`. In a live run (`live`) an approval must name the
/// AWS principal that made it, as `pilotlight approve` does.
pub fn look(
    store: &Arc<dyn Store>,
    request: &Request,
    told: &[String],
    live: bool,
) -> Result<Found, StoreError> {
    let mut found = Found::default();
    for k in store.list(&folder(&request.prefix, &request.bound_to))? {
        if told.contains(&k) {
            continue;
        }
        let Some(obj) = store.get(&k)? else { continue };
        match serde_json::from_slice::<SecondApproval>(&obj.body) {
            Ok(a) if live && a.principal.is_none() => found.refused.push((
                k.clone(),
                format!(
                    "an approval by {} names no AWS principal: in a live run the second approver approves with `pilotlight approve`, which says who they are in AWS",
                    a.operator
                ),
            )),
            Ok(a) => match refusal(request, &a) {
                None => {
                    found.approval = Some(a);
                    return Ok(found);
                }
                Some(why) => found.refused.push((k, why)),
            },
            Err(e) => found
                .refused
                .push((k.clone(), format!("{k} is not an approval: {e}"))),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_is_a_principal_when_known_else_a_name() {
        let role = "arn:aws:sts::1:assumed-role/dr/ana";
        assert!(same_person(("ana", Some(role)), ("ana-laptop", Some(role))));
        assert!(!same_person(
            ("ana", Some(role)),
            ("ana", Some("arn:aws:sts::1:assumed-role/dr/bo"))
        ));
        assert!(same_person(("ana", None), ("ana", None)));
        assert!(!same_person(("ana", None), ("bo", None)));
    }

    #[test]
    fn a_live_runs_approval_must_name_its_principal_and_be_for_this_request() {
        let dir = std::env::temp_dir().join(format!("pilotlight-appr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store: Arc<dyn Store> = Arc::new(crate::runtime::store::Folder::open(&dir).unwrap());
        let req = Request {
            prefix: "runs/rb/r1".into(),
            step: "restore".into(),
            bound_to: "h1".into(),
            operator: "ana".into(),
            principal: Some("arn:aws:sts::1:assumed-role/dr/ana".into()),
        };
        let write = |who: &str, a: &SecondApproval| {
            let k = key(&req.prefix, &req.bound_to, who);
            store.create(&k, &serde_json::to_vec(a).unwrap()).unwrap();
        };
        // Written by hand into the store, in another's name and without a principal.
        let forged = SecondApproval {
            step: "restore".into(),
            bound_to: "h1".into(),
            operator: "x".into(),
            ..SecondApproval::default()
        };
        write("x", &forged);
        let found = look(&store, &req, &[], true).unwrap();
        assert!(found.approval.is_none());
        assert!(
            found.refused[0].1.contains("names no AWS principal"),
            "{:?}",
            found.refused
        );
        // In a drill a name is all there is.
        assert!(look(&store, &req, &[], false).unwrap().approval.is_some());
        // Another request's approval does not pass this one.
        let other = Request {
            bound_to: "h2".into(),
            ..req.clone()
        };
        assert!(look(&store, &other, &[], false).unwrap().approval.is_none());
    }

    #[test]
    fn keys_stay_in_the_store_whatever_the_name() {
        let k = key("runs/rb/r1", "abc", "../ana b/..");
        assert!(k.starts_with("runs/rb/r1/approvals/abc/"), "{k}");
        assert!(crate::runtime::store::check_key(&k).is_ok(), "{k}");
        assert_ne!(key("p", "h", "a b"), key("p", "h", "a_b"));
    }
}
