//! Rules AWS keeps and moto does not, for the stand-in in front of moto (see
//! [`super::standin::Strict`]).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use super::standin::{Reply, Request, Strict};

/// A restored DynamoDB table is CREATING for a while (moto makes it ACTIVE at once), and
/// DynamoDB refuses to tag a table that is not ACTIVE: the first `describes` DescribeTable
/// answers of each restored table say CREATING, and a TagResource of it before then is refused.
pub struct CreatingTables {
    describes: usize,
    /// Restored table name -> DescribeTable answers still to say CREATING.
    creating: Mutex<HashMap<String, usize>>,
}

impl CreatingTables {
    pub fn for_describes(describes: usize) -> CreatingTables {
        CreatingTables {
            describes,
            creating: Mutex::new(HashMap::new()),
        }
    }

    fn left(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.creating.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn creating(&self, table: &str) -> bool {
        self.left().get(table).is_some_and(|n| *n > 0)
    }
}

fn str_field(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

impl Strict for CreatingTables {
    fn before(&self, r: &Request) -> Option<Reply> {
        if r.operation() != "TagResource" {
            return None;
        }
        let arn = str_field(&r.json(), "ResourceArn")?;
        let table = arn.rsplit_once(":table/")?.1.to_string();
        self.creating(&table).then(|| {
            Reply::json_error(
                "ResourceInUseException",
                &format!("Attempt to change a resource which is still in use: Table is being created: {table}"),
            )
        })
    }

    fn after(&self, r: &Request, reply: &mut Reply) {
        let op = r.operation();
        if reply.status != 200 {
            return;
        }
        if op == "RestoreTableFromBackup" || op == "RestoreTableToPointInTime" {
            if let Some(t) = str_field(&r.json(), "TargetTableName") {
                self.left().insert(t, self.describes);
            }
            return;
        }
        if op != "DescribeTable" {
            return;
        }
        let Some(table) = str_field(&r.json(), "TableName") else {
            return;
        };
        let mut left = self.left();
        let Some(n) = left.get_mut(&table).filter(|n| **n > 0) else {
            return;
        };
        *n -= 1;
        let Ok(mut body) = serde_json::from_slice::<Value>(&reply.body) else {
            return;
        };
        body["Table"]["TableStatus"] = Value::from("CREATING");
        reply.body = body.to_string().into_bytes();
        // The checksum was of the body as upstream wrote it.
        reply
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("x-amz-crc32"));
    }
}

/// AWS answering `operation` differently from upstream: `amend` rewrites the answer's body (to
/// put a resource in a state moto never reaches, such as RDS `incompatible-parameters`).
pub struct Amend<F> {
    operation: &'static str,
    amend: F,
}

impl<F: Fn(&str) -> String + Send + Sync> Amend<F> {
    pub fn new(operation: &'static str, amend: F) -> Amend<F> {
        Amend { operation, amend }
    }
}

impl<F: Fn(&str) -> String + Send + Sync> Strict for Amend<F> {
    fn after(&self, r: &Request, reply: &mut Reply) {
        if r.operation() != self.operation || reply.status != 200 {
            return;
        }
        let body = String::from_utf8_lossy(&reply.body).to_string();
        reply.body = (self.amend)(&body).into_bytes();
        reply
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("x-amz-crc32"));
    }
}

/// AWS refusing `operation` requests that `when` picks, with `reply`, before upstream sees them
/// (an id AWS cannot parse, a throttled burst).
pub struct RefuseWhen<F> {
    operation: &'static str,
    when: F,
    reply: Reply,
}

impl<F: Fn(&Request) -> bool + Send + Sync> RefuseWhen<F> {
    pub fn new(operation: &'static str, when: F, reply: Reply) -> RefuseWhen<F> {
        RefuseWhen {
            operation,
            when,
            reply,
        }
    }
}

impl<F: Fn(&Request) -> bool + Send + Sync> Strict for RefuseWhen<F> {
    fn before(&self, r: &Request) -> Option<Reply> {
        (r.operation() == self.operation && (self.when)(r)).then(|| self.reply.clone())
    }
}

/// AWS's request-rate limit on one service: requests beyond `per_second` admitted in the last
/// second get `ThrottlingException`; it also counts how many of the service's requests were in
/// flight upstream at once (clones share the counts).
#[derive(Clone)]
pub struct Throttle {
    service: &'static str,
    per_second: usize,
    state: std::sync::Arc<Mutex<ThrottleState>>,
}

#[derive(Default)]
struct ThrottleState {
    admitted: std::collections::VecDeque<std::time::Instant>,
    throttled: usize,
    in_flight: usize,
    peak: usize,
}

impl Throttle {
    pub fn new(service: &'static str, per_second: usize) -> Throttle {
        Throttle {
            service,
            per_second,
            state: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ThrottleState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// (requests throttled, most in flight at once).
    pub fn seen(&self) -> (usize, usize) {
        let s = self.lock();
        (s.throttled, s.peak)
    }
}

impl Strict for Throttle {
    fn before(&self, r: &Request) -> Option<Reply> {
        if r.service() != self.service {
            return None;
        }
        let mut s = self.lock();
        let now = std::time::Instant::now();
        while s
            .admitted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= std::time::Duration::from_secs(1))
        {
            s.admitted.pop_front();
        }
        if s.admitted.len() >= self.per_second {
            s.throttled += 1;
            return Some(Reply::json_error(
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ));
        }
        s.admitted.push_back(now);
        s.in_flight += 1;
        s.peak = s.peak.max(s.in_flight);
        None
    }

    fn after(&self, r: &Request, _reply: &mut Reply) {
        if r.service() == self.service {
            let mut s = self.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
        }
    }
}

/// IAM's policy simulator, which moto lacks: `SimulatePrincipalPolicy` answered in the shape of
/// the IAM API reference (query protocol, XML), `allowed` for every action asked about but
/// those in `deny` (`implicitDeny`, per resource). Remembers every action it was asked about.
pub struct Simulator {
    deny: Vec<String>,
    pub asked: Mutex<Vec<(String, Vec<String>)>>,
}

impl Simulator {
    pub fn denying(deny: &[&str]) -> Simulator {
        Simulator {
            deny: deny.iter().map(|s| s.to_string()).collect(),
            asked: Mutex::new(Vec::new()),
        }
    }

    /// Every (action, resources) the simulator was asked about.
    pub fn asked(&self) -> Vec<(String, Vec<String>)> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The `Name.member.N` values of a query-protocol request, in order.
fn members(r: &Request, name: &str) -> Vec<String> {
    (1..)
        .map_while(|n| r.form(&format!("{name}.member.{n}")))
        .collect()
}

impl Strict for Simulator {
    fn before(&self, r: &Request) -> Option<Reply> {
        if r.operation() != "SimulatePrincipalPolicy" {
            return None;
        }
        let actions = members(r, "ActionNames");
        let resources = members(r, "ResourceArns");
        let mut results = String::new();
        for action in &actions {
            self.asked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((action.clone(), resources.clone()));
            let decision = if self.deny.contains(action) {
                "implicitDeny"
            } else {
                "allowed"
            };
            let mut per_resource = String::new();
            for res in &resources {
                per_resource += &format!(
                    "<member><EvalResourceName>{res}</EvalResourceName><EvalResourceDecision>{decision}</EvalResourceDecision><MatchedStatements/><MissingContextValues/></member>"
                );
            }
            results += &format!(
                "<member><EvalActionName>{action}</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>{decision}</EvalDecision><MatchedStatements/><MissingContextValues/><ResourceSpecificResults>{per_resource}</ResourceSpecificResults></member>"
            );
        }
        let body = format!(
            "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
        );
        Some(Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/xml".into())],
            body: body.into_bytes(),
            hang: false,
        })
    }
}
