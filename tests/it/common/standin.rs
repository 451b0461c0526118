//! One HTTP/1.1 stand-in for AWS on 127.0.0.1, for every test that talks to "AWS": it records
//! every request (method, path, headers, body, what answered it), answers by script where a
//! rule matches, and otherwise forwards to an upstream server (moto) or says no rule answered.
//! As a black hole it accepts connections and never answers (a dark region).
//!
//! - Scripted answers, for the services moto lacks (Global Accelerator, AWS Health, the AWS
//!   Backup restore API). Rules match on the `X-Amz-Target` header (awsJson), the RPC v2 CBOR
//!   path `/service/{Service}/operation/{Operation}` (AWS Health), or a method and path prefix
//!   (restJson). Each rule answers from a queue: replies are used in order and the last one
//!   repeats, so `[throttle, ok]` means "throttle once, then succeed".
//! - Forwarding, in front of moto: each request goes upstream on a connection of its own
//!   (`Connection: close`); the whole answer is read (by `Content-Length`, chunked, or to the
//!   end of the stream) and relayed with a `Content-Length`, on a client connection kept alive
//!   for as long as the client wants.
//!
//! [`Request::operation`] names the AWS operation of a request, whatever its protocol: the
//! `X-Amz-Target` of the JSON protocols, the RPC v2 CBOR path, the `Action` of the query
//! protocol (EC2, RDS, STS), or for REST (Route 53) the method and path.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The X-Amz-Target prefix of Global Accelerator.
pub const GA: &str = "GlobalAccelerator_V20180706";
/// The service shape name of AWS Health (RPC v2 CBOR path and X-Amz-Target prefix).
pub const HEALTH: &str = "AWSHealth_20160804";

/// Headers that belong to one connection (RFC 9110 §7.6.1), plus the framing redone here.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
];

/// One request as the client sent it, and what became of it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The request line's version (`HTTP/1.1`).
    version: String,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// Whether the client framed a body (Content-Length or chunked).
    has_body: bool,
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    /// Which client connection (in accept order) carried it.
    pub connection: usize,
    /// Whether a rule answered it.
    pub matched: bool,
    /// The upstream answer's status, when it was forwarded (`None`: no answer came; the client
    /// got a 502).
    pub status: Option<u16>,
    /// Why no upstream answer came, when none did.
    pub error: Option<String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A field of a query-protocol (EC2, RDS, STS) request body, percent-decoded.
    pub fn form(&self, key: &str) -> Option<String> {
        let body = String::from_utf8_lossy(&self.body);
        let raw = form_value(&body, key)?;
        let mut out = Vec::new();
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 3;
                            continue;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b'+' => out.push(b' '),
                b => out.push(b),
            }
            i += 1;
        }
        Some(String::from_utf8_lossy(&out).to_string())
    }

    /// The SigV4 credential scope: `(region, service)` of `Credential=KEY/DATE/REGION/SERVICE/…`.
    pub fn scope(&self) -> Option<(String, String)> {
        let auth = self.header("authorization")?;
        let cred = auth.split("Credential=").nth(1)?;
        let cred = cred.split([',', ' ']).next()?;
        let mut parts = cred.split('/').skip(2);
        let region = parts.next()?.to_string();
        let service = parts.next()?.to_string();
        Some((region, service))
    }

    /// The signing service (`ec2`, `rds`, `dynamodb`, `route53`, `health`, `sts`, …).
    pub fn service(&self) -> String {
        self.scope()
            .map_or_else(|| "unsigned".to_string(), |(_, service)| service)
    }

    /// The signing region.
    pub fn region(&self) -> String {
        self.scope()
            .map_or_else(|| "unsigned".to_string(), |(region, _)| region)
    }

    /// The body as JSON (awsJson, restJson).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as CBOR, read into JSON (timestamps become numbers).
    pub fn cbor(&self) -> Value {
        super::answers::cbor::decode(&self.body)
            .unwrap_or_else(|e| panic!("request body is not CBOR ({e}): {:02x?}", self.body))
    }

    /// The `X-Amz-Target` header.
    pub fn target(&self) -> Option<&str> {
        self.header("x-amz-target")
    }

    /// The path without its query.
    fn bare_path(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// The AWS operation: `X-Amz-Target`'s (awsJson), the RPC v2 CBOR path's, the query
    /// protocol's `Action` (form body, else query string), a Route 53 REST route by method and
    /// path, else `METHOD /path?query`.
    pub fn operation(&self) -> String {
        if let Some(t) = self.header("x-amz-target") {
            return t.rsplit('.').next().unwrap_or(t).to_string();
        }
        if let Some((_, op)) = self
            .bare_path()
            .strip_prefix("/service/")
            .and_then(|p| p.split_once("/operation/"))
        {
            return op.to_string();
        }
        let body = String::from_utf8_lossy(&self.body);
        let query = self.path.split_once('?').map_or("", |(_, q)| q);
        if let Some(action) = form_value(&body, "Action").or_else(|| form_value(query, "Action")) {
            return action;
        }
        if let Some(op) = route53_operation(&self.method, self.bare_path()) {
            return op.to_string();
        }
        format!("{} {}", self.method, self.path)
    }

    /// Whether it only reads: a `Describe*`, `List*` or `Get*` operation, IAM's policy
    /// simulator, or a REST `GET`/`HEAD` no route above names.
    pub fn is_read(&self) -> bool {
        let op = self.operation();
        ["Describe", "List", "Get"]
            .iter()
            .any(|p| op.starts_with(p))
            || op == "SimulatePrincipalPolicy"
            || op.starts_with("GET /")
            || op.starts_with("HEAD /")
    }

    /// `service:Operation`, for messages.
    pub fn name(&self) -> String {
        format!("{}:{}", self.service(), self.operation())
    }
}

/// `key`'s value in an `application/x-www-form-urlencoded` text (the query protocol's names
/// need no decoding).
fn form_value(form: &str, key: &str) -> Option<String> {
    form.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

/// Route 53's REST routes (API version 2013-04-01) the console could use, by method and path.
fn route53_operation(method: &str, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/2013-04-01/")?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let get = method.eq_ignore_ascii_case("GET");
    let post = method.eq_ignore_ascii_case("POST");
    let delete = method.eq_ignore_ascii_case("DELETE");
    Some(match parts.as_slice() {
        ["hostedzone", _, "rrset"] if get => "ListResourceRecordSets",
        ["hostedzone", _, "rrset"] if post => "ChangeResourceRecordSets",
        ["hostedzone"] if get => "ListHostedZones",
        ["hostedzone"] if post => "CreateHostedZone",
        ["hostedzone", _] if get => "GetHostedZone",
        ["hostedzone", _] if delete => "DeleteHostedZone",
        ["healthcheck", _, "status"] if get => "GetHealthCheckStatus",
        ["healthcheck"] if get => "ListHealthChecks",
        ["healthcheck"] if post => "CreateHealthCheck",
        ["healthcheck", _] if get => "GetHealthCheck",
        ["healthcheck", _] if post => "UpdateHealthCheck",
        ["healthcheck", _] if delete => "DeleteHealthCheck",
        ["change", _] if get => "GetChange",
        _ => return None,
    })
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Never answer: read (and drop) whatever the client sends until it hangs up.
    pub hang: bool,
}

impl Reply {
    /// An awsJson 1.1 answer (Global Accelerator).
    pub fn json(value: Value) -> Reply {
        Reply::json_status(200, "application/x-amz-json-1.1", &value)
    }

    /// A restJson1 answer (AWS Backup).
    pub fn rest(value: Value) -> Reply {
        Reply::json_status(200, "application/json", &value)
    }

    fn json_status(status: u16, content_type: &str, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: value.to_string().into_bytes(),
            hang: false,
        }
    }

    /// An awsJson error: status 400 and `{"__type": ..., "message": ...}`.
    pub fn json_error(code: &str, message: &str) -> Reply {
        Reply::json_status(
            400,
            "application/x-amz-json-1.1",
            &json!({ "__type": code, "message": message }),
        )
    }

    /// A restJson1 error: the code in `x-amzn-ErrorType`, the message (and code) in the body.
    pub fn rest_error(status: u16, code: &str, message: &str) -> Reply {
        let mut r = Reply::json_status(
            status,
            "application/json",
            &json!({ "Code": code, "Message": message }),
        );
        r.headers.push(("x-amzn-ErrorType".into(), code.into()));
        r
    }

    /// An RPC v2 CBOR answer (AWS Health). `{"$timestamp": secs}` encodes a timestamp.
    pub fn cbor(value: Value) -> Reply {
        Reply::cbor_status(200, &value)
    }

    /// An RPC v2 CBOR error: status 400 and `{"__type": ..., "message": ...}`.
    pub fn cbor_error(code: &str, message: &str) -> Reply {
        Reply::cbor_status(400, &json!({ "__type": code, "message": message }))
    }

    fn cbor_status(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![
                ("content-type".into(), "application/cbor".into()),
                ("smithy-protocol".into(), "rpc-v2-cbor".into()),
            ],
            body: super::answers::cbor::encode(value),
            hang: false,
        }
    }

    /// No answer at all (the connection stays open until the client gives up).
    pub fn hang() -> Reply {
        Reply {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            hang: true,
        }
    }
}

/// What a rule matches.
#[derive(Debug, Clone)]
enum Matcher {
    /// `X-Amz-Target: {target}` (awsJson), or the RPC v2 CBOR path of the same operation.
    Target(String),
    /// Method and path prefix (restJson).
    Route { method: String, prefix: String },
}

impl Matcher {
    fn matches(&self, r: &Request) -> bool {
        match self {
            Matcher::Target(t) => {
                r.target().is_some_and(|x| x == t)
                    || t.split_once('.')
                        .is_some_and(|(svc, op)| r.path == format!("/service/{svc}/operation/{op}"))
            }
            Matcher::Route { method, prefix } => {
                r.method.eq_ignore_ascii_case(method) && r.path.starts_with(prefix.as_str())
            }
        }
    }
}

#[derive(Debug)]
struct Rule {
    matcher: Matcher,
    replies: VecDeque<Reply>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    requests: Vec<Request>,
    connections: usize,
    /// Operations whose forwarded answer is held back this long (AWS did the work; the answer
    /// is slow or lost).
    slow: Vec<(String, std::time::Duration)>,
    /// Where AWS is stricter than the upstream (see `strict.rs`).
    strict: Vec<Arc<dyn Strict>>,
    /// Told whenever a request arrives or its upstream answer comes.
    changed: Arc<tokio::sync::Notify>,
}

/// A rule AWS keeps and moto does not: it may answer a request itself (AWS refusing it) before
/// it is forwarded, and amend what upstream answered.
pub trait Strict: Send + Sync {
    fn before(&self, request: &Request) -> Option<Reply> {
        let _ = request;
        None
    }

    fn after(&self, request: &Request, reply: &mut Reply) {
        let _ = (request, reply);
    }
}

/// What the stand-in does with a request no rule answers.
#[derive(Debug, Clone)]
enum Otherwise {
    /// Says so: a 400 `UnknownOperationException`.
    Refuse,
    /// Forwards it to this upstream (`HOST:PORT`).
    Forward(String),
    /// Never answers (and never reads a request: a black-holed region).
    BlackHole,
}

/// The stand-in. Its tasks run on the caller's tokio runtime (use a multi-thread runtime when
/// the test thread blocks, e.g. on a pty) and end with it.
#[derive(Clone)]
pub struct StandIn {
    url: String,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl StandIn {
    /// Answers by script only (add rules with `on_*`).
    pub async fn scripted() -> StandIn {
        StandIn::listen(Otherwise::Refuse).await
    }

    /// Forwards to `upstream` (`http://HOST:PORT`) whatever no rule answers, recording it all.
    pub async fn forwarding(upstream: &str) -> StandIn {
        let upstream = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("stand-in: upstream {upstream} is not http://HOST:PORT"))
            .trim_end_matches('/')
            .to_string();
        StandIn::listen(Otherwise::Forward(upstream)).await
    }

    /// Accepts connections and never answers: a black-holed region.
    pub async fn black_hole() -> StandIn {
        StandIn::listen(Otherwise::BlackHole).await
    }

    async fn listen(otherwise: Otherwise) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("stand-in: cannot bind 127.0.0.1:0: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("stand-in: no local address: {e}"))
            .port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let conn = {
                    let mut s = lock(&shared);
                    s.connections += 1;
                    s.connections - 1
                };
                let stand_in = StandIn {
                    url: String::new(),
                    state: shared.clone(),
                };
                tokio::spawn(stand_in.serve(stream, otherwise.clone(), conn));
            }
        });
        StandIn {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Answers `X-Amz-Target: {target}` (e.g. `GlobalAccelerator_V20180706.ListListeners`), or
    /// the same operation over RPC v2 CBOR, with `replies` in order (the last repeats).
    pub fn on_target(&self, target: &str, replies: Vec<Reply>) -> &StandIn {
        self.add(Matcher::Target(target.to_string()), replies)
    }

    /// A Global Accelerator operation (`ListListeners`, ...).
    pub fn on_ga(&self, operation: &str, replies: Vec<Reply>) -> &StandIn {
        self.on_target(&format!("{GA}.{operation}"), replies)
    }

    /// An AWS Health operation (`DescribeEvents`, ...).
    pub fn on_health(&self, operation: &str, replies: Vec<Reply>) -> &StandIn {
        self.on_target(&format!("{HEALTH}.{operation}"), replies)
    }

    /// Answers `method` on paths starting with `prefix` (restJson).
    pub fn on(&self, method: &str, prefix: &str, replies: Vec<Reply>) -> &StandIn {
        self.add(
            Matcher::Route {
                method: method.to_string(),
                prefix: prefix.to_string(),
            },
            replies,
        )
    }

    fn add(&self, matcher: Matcher, replies: Vec<Reply>) -> &StandIn {
        assert!(!replies.is_empty(), "a rule needs at least one reply");
        lock(&self.state).rules.push(Rule {
            matcher,
            replies: replies.into(),
        });
        self
    }

    /// Holds back the answer to `operation` (see [`Request::operation`]) for `delay` after
    /// forwarding it: upstream has done the work by the time the client gives up waiting.
    pub fn slow_answer(&self, operation: &str, delay: std::time::Duration) -> &StandIn {
        lock(&self.state).slow.push((operation.to_string(), delay));
        self
    }

    /// Keeps a rule of AWS's that the upstream does not.
    pub fn strict(&self, rule: impl Strict + 'static) -> &StandIn {
        self.strict_shared(Arc::new(rule))
    }

    /// The same, for a rule the test keeps a handle on (to read what it saw).
    pub fn strict_shared(&self, rule: Arc<dyn Strict>) -> &StandIn {
        lock(&self.state).strict.push(rule);
        self
    }

    /// Waits until the requests so far satisfy `what` (no polling: woken by each new request
    /// and each upstream answer).
    pub async fn until(&self, what: impl Fn(&[Request]) -> bool) {
        loop {
            let changed = lock(&self.state).changed.clone();
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if what(&lock(&self.state).requests) {
                return;
            }
            notified.await;
        }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).requests.clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        lock(&self.state).requests.len()
    }

    /// Requests of one operation (see [`Request::operation`]; for REST, `GET /path...`
    /// prefixes match too).
    pub fn requests_of(&self, operation: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| {
                let op = r.operation();
                op == operation || op.starts_with(operation)
            })
            .collect()
    }

    /// Requests no rule answered.
    pub fn unmatched(&self) -> Vec<Request> {
        self.requests().into_iter().filter(|r| !r.matched).collect()
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }

    /// The scripted answer to `r`, if a rule matches.
    fn scripted_reply(&self, r: &Request) -> Option<Reply> {
        let mut s = lock(&self.state);
        s.rules
            .iter_mut()
            .find(|rule| rule.matcher.matches(r))
            .map(|rule| {
                if rule.replies.len() > 1 {
                    rule.replies.pop_front().unwrap_or_else(Reply::hang)
                } else {
                    rule.replies.front().cloned().unwrap_or_else(Reply::hang)
                }
            })
    }

    /// One client connection: requests one after another (keep-alive) until the client hangs
    /// up or asks to close.
    async fn serve(self, stream: TcpStream, otherwise: Otherwise, conn: usize) {
        let mut client = BufReader::new(stream);
        if matches!(otherwise, Otherwise::BlackHole) {
            return sink(&mut client).await;
        }
        loop {
            let Some(mut request) = read_request(&mut client, conn).await else {
                return;
            };
            let close = request
                .header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"));
            let strict = lock(&self.state).strict.clone();
            let scripted = self
                .scripted_reply(&request)
                .or_else(|| strict.iter().find_map(|s| s.before(&request)));
            request.matched = scripted.is_some();
            let index = {
                let mut s = lock(&self.state);
                s.requests.push(request.clone());
                s.changed.notify_waiters();
                s.requests.len() - 1
            };
            let reply = match (scripted, &otherwise) {
                (Some(reply), _) => reply,
                (None, Otherwise::Forward(upstream)) => {
                    let forwarded = forward(upstream, &request).await;
                    let held = {
                        let mut s = lock(&self.state);
                        if let Some(r) = s.requests.get_mut(index) {
                            match &forwarded {
                                Ok(a) => r.status = Some(a.status),
                                Err(e) => r.error = Some(e.to_string()),
                            }
                        }
                        s.changed.notify_waiters();
                        let op = request.operation();
                        s.slow.iter().find(|(o, _)| *o == op).map(|(_, d)| *d)
                    };
                    if let Some(delay) = held {
                        tokio::time::sleep(delay).await;
                    }
                    let forwarded = forwarded.map(|mut reply| {
                        strict.iter().for_each(|s| s.after(&request, &mut reply));
                        reply
                    });
                    forwarded.unwrap_or_else(|e| Reply {
                        status: 502,
                        headers: vec![("content-type".into(), "text/plain".into())],
                        body: format!("stand-in: upstream {upstream}: {e}").into_bytes(),
                        hang: false,
                    })
                }
                (None, _) => Reply::json_error(
                    "UnknownOperationException",
                    &format!("no rule for {}", request.operation()),
                ),
            };
            if reply.hang {
                return sink(&mut client).await;
            }
            if write_reply(client.get_mut(), &reply, close).await.is_err() || close {
                return;
            }
        }
    }
}

/// Swallows whatever the client sends until it gives up and closes.
async fn sink(client: &mut BufReader<TcpStream>) {
    let mut buf = [0u8; 1024];
    while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// The header lines up to the blank line, names in lower case.
async fn read_headers<R: AsyncBufRead + Unpin>(r: &mut R) -> Option<Vec<(String, String)>> {
    let mut headers = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            return Some(headers);
        }
        let (k, v) = l.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
}

fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    get(headers, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
}

/// A chunked body, decoded (trailers dropped).
async fn read_chunked<R: AsyncBufRead + Unpin>(r: &mut R) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let size = line.trim().split(';').next()?.trim();
        let n = usize::from_str_radix(size, 16).ok()?;
        if n == 0 {
            // Trailers, then the blank line.
            read_headers(r).await?;
            return Some(body);
        }
        let start = body.len();
        body.resize(start + n, 0);
        r.read_exact(&mut body[start..]).await.ok()?;
        line.clear();
        r.read_line(&mut line).await.ok()?;
    }
}

/// Reads one request (Content-Length or chunked body); `None` at end of stream or on garbage.
async fn read_request<R: AsyncBufRead + Unpin>(r: &mut R, conn: usize) -> Option<Request> {
    let mut line = String::new();
    // Tolerate blank lines between requests (RFC 9112 §2.2).
    while line.trim().is_empty() {
        line.clear();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    let headers = read_headers(r).await?;
    let (has_body, body) = if is_chunked(&headers) {
        (true, read_chunked(r).await?)
    } else if let Some(n) = get(&headers, "content-length") {
        let n: usize = n.parse().ok()?;
        let mut body = vec![0u8; n];
        r.read_exact(&mut body).await.ok()?;
        (true, body)
    } else {
        (false, Vec::new())
    };
    Some(Request {
        method,
        path,
        version,
        headers,
        has_body,
        body,
        at: Instant::now(),
        connection: conn,
        matched: false,
        status: None,
        error: None,
    })
}

/// Sends `request` upstream on a connection of its own and reads the whole answer.
async fn forward(upstream: &str, request: &Request) -> std::io::Result<Reply> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let stream = TcpStream::connect(upstream).await?;
    let mut stream = BufReader::new(stream);
    let mut head = format!(
        "{} {} {}\r\n",
        request.method, request.path, request.version
    );
    for (k, v) in &request.headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if request.has_body {
        head.push_str(&format!("content-length: {}\r\n", request.body.len()));
    }
    head.push_str("connection: close\r\n\r\n");
    // Head and body in one write: a server that answers without reading the body (moto does,
    // for a service it lacks) then closes with nothing unread, rather than resetting the
    // connection under its own answer.
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    let w = stream.get_mut();
    w.write_all(&bytes).await?;
    w.flush().await?;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Err(bad("upstream closed before answering"));
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let _version = parts.next();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let headers = read_headers(&mut stream)
            .await
            .ok_or_else(|| bad("truncated headers"))?;
        if (100..200).contains(&status) {
            // An interim answer (100 Continue): the real one follows.
            continue;
        }
        let no_body = request.method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304;
        let body = if no_body {
            Vec::new()
        } else if is_chunked(&headers) {
            read_chunked(&mut stream)
                .await
                .ok_or_else(|| bad("truncated chunked body"))?
        } else if let Some(n) = get(&headers, "content-length") {
            let n: usize = n.parse().map_err(|_| bad("bad content-length"))?;
            let mut body = vec![0u8; n];
            stream.read_exact(&mut body).await?;
            body
        } else {
            // Delimited by the end of the connection (we asked for `Connection: close`).
            let mut body = Vec::new();
            stream.read_to_end(&mut body).await?;
            body
        };
        return Ok(Reply {
            status,
            headers,
            body,
            hang: false,
        });
    }
}

async fn write_reply(client: &mut TcpStream, reply: &Reply, close: bool) -> std::io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
    for (k, v) in &reply.headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !reply
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("x-amzn-requestid"))
    {
        head.push_str("x-amzn-requestid: stand-in-0000\r\n");
    }
    head.push_str(&format!("content-length: {}\r\n", reply.body.len()));
    head.push_str(if close {
        "connection: close\r\n\r\n"
    } else {
        "connection: keep-alive\r\n\r\n"
    });
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&reply.body);
    client.write_all(&bytes).await?;
    client.flush().await
}
