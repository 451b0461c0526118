//! Replayed AWS answers for the services moto lacks (Global Accelerator, AWS Health, the AWS
//! Backup restore API): a small HTTP/1.1 server on 127.0.0.1 that answers by script and records
//! every request, and a "black hole" that accepts connections and never answers.
//!
//! Rules match on the `X-Amz-Target` header (awsJson: Global Accelerator), on the RPC v2 CBOR
//! path `/service/{Service}/operation/{Operation}` (AWS Health in this SDK version), or on the
//! method and a path prefix (restJson: AWS Backup). Each rule answers from a queue: replies are
//! used in order and the last one repeats, so `[throttle, ok]` means "throttle once, then succeed".

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The X-Amz-Target prefix of Global Accelerator.
pub const GA: &str = "GlobalAccelerator_V20180706";
/// The service shape name of AWS Health (RPC v2 CBOR path and X-Amz-Target prefix).
pub const HEALTH: &str = "AWSHealth_20160804";

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
            body: cbor::encode(value),
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

/// What a rule answers.
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

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Which connection (in accept order) carried it.
    pub connection: usize,
    /// Whether a rule answered it.
    pub matched: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `X-Amz-Target` header.
    pub fn target(&self) -> Option<&str> {
        self.header("x-amz-target")
    }

    /// The operation: the target's or the CBOR path's operation name, else `METHOD /path`.
    pub fn operation(&self) -> String {
        if let Some(t) = self.target() {
            return t.rsplit('.').next().unwrap_or(t).to_string();
        }
        if let Some(op) = self
            .path
            .strip_prefix("/service/")
            .and_then(|p| p.split_once("/operation/"))
            .map(|(_, op)| op)
        {
            return op.to_string();
        }
        format!("{} {}", self.method, self.path)
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
        cbor::decode(&self.body)
            .unwrap_or_else(|e| panic!("request body is not CBOR ({e}): {:02x?}", self.body))
    }
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    requests: Vec<Request>,
    connections: usize,
}

/// The scripted server. Tasks run on the caller's tokio runtime and end with it.
#[derive(Clone)]
pub struct Replay {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Replay {
    pub async fn start() -> Replay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("replay: cannot bind 127.0.0.1:0: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("replay: no local address: {e}"))
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
                tokio::spawn(serve(stream, shared.clone(), conn));
            }
        });
        Replay {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Answers `X-Amz-Target: {target}` (e.g. `GlobalAccelerator_V20180706.ListListeners`), or
    /// the same operation over RPC v2 CBOR, with `replies` in order (the last repeats).
    pub fn on_target(&self, target: &str, replies: Vec<Reply>) -> &Replay {
        self.add(Matcher::Target(target.to_string()), replies)
    }

    /// A Global Accelerator operation (`ListListeners`, ...).
    pub fn on_ga(&self, operation: &str, replies: Vec<Reply>) -> &Replay {
        self.on_target(&format!("{GA}.{operation}"), replies)
    }

    /// An AWS Health operation (`DescribeEvents`, ...).
    pub fn on_health(&self, operation: &str, replies: Vec<Reply>) -> &Replay {
        self.on_target(&format!("{HEALTH}.{operation}"), replies)
    }

    /// Answers `method` on paths starting with `prefix` (restJson).
    pub fn on(&self, method: &str, prefix: &str, replies: Vec<Reply>) -> &Replay {
        self.add(
            Matcher::Route {
                method: method.to_string(),
                prefix: prefix.to_string(),
            },
            replies,
        )
    }

    fn add(&self, matcher: Matcher, replies: Vec<Reply>) -> &Replay {
        assert!(!replies.is_empty(), "a rule needs at least one reply");
        lock(&self.state).rules.push(Rule {
            matcher,
            replies: replies.into(),
        });
        self
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).requests.clone()
    }

    /// Requests of one operation (see [`Request::operation`]; for restJson, `GET /path...`
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

    /// Requests no rule answered (they got a 400 `UnknownOperationException`).
    pub fn unmatched(&self) -> Vec<Request> {
        self.requests().into_iter().filter(|r| !r.matched).collect()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }

    /// The answer to `r`, recording it.
    fn answer(&self, mut r: Request) -> Reply {
        let mut s = lock(&self.state);
        let reply = s
            .rules
            .iter_mut()
            .find(|rule| rule.matcher.matches(&r))
            .map(|rule| {
                if rule.replies.len() > 1 {
                    rule.replies.pop_front().unwrap_or_else(Reply::hang)
                } else {
                    rule.replies.front().cloned().unwrap_or_else(Reply::hang)
                }
            });
        r.matched = reply.is_some();
        let unknown = format!("no replay rule for {}", r.operation());
        s.requests.push(r);
        reply.unwrap_or_else(|| Reply::json_error("UnknownOperationException", &unknown))
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connection: requests one after another (keep-alive) until the client hangs up.
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>, conn: usize) {
    let replay = Replay {
        url: String::new(),
        state,
    };
    let mut stream = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut stream, conn).await else {
            return;
        };
        let close = request
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let reply = replay.answer(request);
        if reply.hang {
            // Swallow whatever comes until the client gives up and closes.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            return;
        }
        if write_reply(stream.get_mut(), &reply).await.is_err() || close {
            return;
        }
    }
}

/// Reads one request (Content-Length or chunked body); `None` at end of stream or on garbage.
async fn read_request(stream: &mut BufReader<TcpStream>, conn: usize) -> Option<Request> {
    let mut line = String::new();
    // Skip blank lines between requests (allowed by RFC 9112).
    loop {
        line.clear();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
        loop {
            line.clear();
            stream.read_line(&mut line).await.ok()?;
            let size = line.trim().split(';').next()?;
            let n = usize::from_str_radix(size, 16).ok()?;
            if n == 0 {
                // Trailers, then the blank line.
                loop {
                    line.clear();
                    if stream.read_line(&mut line).await.ok()? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0u8; n];
            stream.read_exact(&mut chunk).await.ok()?;
            body.extend_from_slice(&chunk);
            line.clear();
            stream.read_line(&mut line).await.ok()?;
        }
    } else if let Some(n) = get("content-length").and_then(|n| n.parse::<usize>().ok()) {
        body = vec![0u8; n];
        stream.read_exact(&mut body).await.ok()?;
    }
    Some(Request {
        method,
        path,
        headers,
        body,
        connection: conn,
        matched: false,
    })
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("x-amzn-requestid: replay-0000\r\n");
    head.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&reply.body).await?;
    stream.flush().await
}

/// A listener that accepts connections and never answers (a black-holed region).
pub struct BlackHole {
    url: String,
    accepted: Arc<Mutex<usize>>,
}

impl BlackHole {
    pub async fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("black hole: cannot bind 127.0.0.1:0: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("black hole: no local address: {e}"))
            .port();
        let accepted = Arc::new(Mutex::new(0usize));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                tokio::spawn(async move {
                    let mut sink = [0u8; 1024];
                    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                });
            }
        });
        BlackHole {
            url: format!("http://127.0.0.1:{port}"),
            accepted,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ------------------------------------------------------------------------------------------
// Answers shaped like the AWS API reference examples.

/// A Global Accelerator listener (ListListeners' `Listeners` member).
pub fn ga_listener(arn: &str) -> Value {
    json!({
        "ListenerArn": arn,
        "PortRanges": [{ "FromPort": 443, "ToPort": 443 }],
        "Protocol": "TCP",
        "ClientAffinity": "NONE"
    })
}

/// ListListeners' answer.
pub fn ga_listeners(arns: &[&str]) -> Value {
    json!({ "Listeners": arns.iter().map(|a| ga_listener(a)).collect::<Vec<_>>() })
}

/// One endpoint of an endpoint group: (id, weight, health, client IP preservation).
pub fn ga_endpoint(id: &str, weight: i64, health: &str, preserve_ip: bool) -> Value {
    json!({
        "EndpointId": id,
        "Weight": weight,
        "HealthState": health,
        "ClientIPPreservationEnabled": preserve_ip
    })
}

/// An endpoint group as ListEndpointGroups and UpdateEndpointGroup return it.
pub fn ga_group(arn: &str, region: &str, dial: f64, endpoints: Vec<Value>) -> Value {
    json!({
        "EndpointGroupArn": arn,
        "EndpointGroupRegion": region,
        "EndpointDescriptions": endpoints,
        "TrafficDialPercentage": dial,
        "HealthCheckPort": 443,
        "HealthCheckProtocol": "HTTPS",
        "HealthCheckPath": "/healthz",
        "HealthCheckIntervalSeconds": 30,
        "ThresholdCount": 3,
        "PortOverrides": []
    })
}

/// ListEndpointGroups' answer.
pub fn ga_groups(groups: Vec<Value>) -> Value {
    json!({ "EndpointGroups": groups })
}

/// DescribeAccelerator's answer.
pub fn ga_accelerator(arn: &str, status: &str) -> Value {
    json!({
        "Accelerator": {
            "AcceleratorArn": arn,
            "Name": "replayed",
            "IpAddressType": "IPV4",
            "Enabled": true,
            "IpSets": [{ "IpFamily": "IPv4", "IpAddresses": ["192.0.2.250", "198.51.100.52"] }],
            "DnsName": "a1234567890abcdef.awsglobalaccelerator.com",
            "Status": status,
            "CreatedTime": 1_763_600_000.0,
            "LastModifiedTime": 1_763_690_000.0
        }
    })
}

/// One AWS Health event (camelCase members, as the Health API names them).
pub fn health_event(service: &str, region: &str, code: &str, start_secs: i64) -> Value {
    json!({
        "arn": format!("arn:aws:health:{region}::event/{service}/{code}/{code}_REPLAY"),
        "service": service,
        "eventTypeCode": code,
        "eventTypeCategory": "issue",
        "region": region,
        "startTime": { "$timestamp": start_secs },
        "lastUpdatedTime": { "$timestamp": start_secs + 600 },
        "statusCode": "open",
        "eventScopeCode": "PUBLIC"
    })
}

/// One AWS Backup recovery point (ListRecoveryPointsByBackupVault's `RecoveryPoints` member).
pub fn backup_point(arn: &str, resource_arn: &str, status: &str, created_secs: i64) -> Value {
    json!({
        "RecoveryPointArn": arn,
        "BackupVaultName": "billing-dr",
        "BackupVaultArn": "arn:aws:backup:us-west-2:111122223333:backup-vault:billing-dr",
        "SourceBackupVaultArn": "arn:aws:backup:us-east-1:111122223333:backup-vault:Default",
        "ResourceArn": resource_arn,
        "ResourceType": "EBS",
        "IamRoleArn": "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole",
        "Status": status,
        "CreationDate": created_secs,
        "CompletionDate": created_secs + 300,
        "BackupSizeInBytes": 107_374_182_400_i64,
        "IsEncrypted": true
    })
}

/// DescribeRestoreJob's answer.
pub fn restore_job(
    id: &str,
    status: &str,
    percent: &str,
    created_secs: i64,
    expected_minutes: i64,
    created_resource: Option<&str>,
) -> Value {
    let mut v = json!({
        "AccountId": "111122223333",
        "RestoreJobId": id,
        "RecoveryPointArn": "arn:aws:ec2:us-west-2::snapshot/snap-0abc",
        "CreationDate": created_secs,
        "Status": status,
        "PercentDone": percent,
        "BackupSizeInBytes": 107_374_182_400_i64,
        "IamRoleArn": "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole",
        "ExpectedCompletionTimeMinutes": expected_minutes,
        "ResourceType": "EBS"
    });
    if let (Some(arn), Some(m)) = (created_resource, v.as_object_mut()) {
        m.insert("CreatedResourceArn".into(), json!(arn));
        m.insert("CompletionDate".into(), json!(created_secs + 1200));
    }
    v
}

/// Just enough CBOR (RFC 8949) for RPC v2 CBOR answers and reading requests.
pub mod cbor {
    use serde_json::{Map, Number, Value};

    fn head(out: &mut Vec<u8>, major: u8, n: u64) {
        let m = major << 5;
        if n < 24 {
            out.push(m | n as u8);
        } else if n <= u64::from(u8::MAX) {
            out.extend([m | 24, n as u8]);
        } else if n <= u64::from(u16::MAX) {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        } else if n <= u64::from(u32::MAX) {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        } else {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }

    fn number(out: &mut Vec<u8>, n: &Number) {
        if let Some(u) = n.as_u64() {
            head(out, 0, u);
        } else if let Some(i) = n.as_i64() {
            head(out, 1, (-1 - i) as u64);
        } else {
            out.push(0xfb);
            out.extend(n.as_f64().unwrap_or(0.0).to_be_bytes());
        }
    }

    /// JSON as CBOR; an object `{"$timestamp": n}` becomes tag 1 (epoch seconds).
    pub fn encode(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        put(&mut out, v);
        out
    }

    fn put(out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::Null => out.push(0xf6),
            Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
            Value::Number(n) => number(out, n),
            Value::String(s) => {
                head(out, 3, s.len() as u64);
                out.extend(s.as_bytes());
            }
            Value::Array(a) => {
                head(out, 4, a.len() as u64);
                for x in a {
                    put(out, x);
                }
            }
            Value::Object(m) => {
                if let (1, Some(Value::Number(n))) = (m.len(), m.get("$timestamp")) {
                    head(out, 6, 1);
                    number(out, n);
                    return;
                }
                head(out, 5, m.len() as u64);
                for (k, x) in m {
                    head(out, 3, k.len() as u64);
                    out.extend(k.as_bytes());
                    put(out, x);
                }
            }
        }
    }

    /// CBOR as JSON (definite and indefinite lengths; tags are dropped, byte strings become
    /// lists of numbers).
    pub fn decode(bytes: &[u8]) -> Result<Value, String> {
        let mut at = 0;
        let v = item(bytes, &mut at)?.ok_or("a break where a value belongs")?;
        if at != bytes.len() {
            return Err(format!("{} bytes left over", bytes.len() - at));
        }
        Ok(v)
    }

    fn take<'a>(b: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], String> {
        let s = b.get(*at..*at + n).ok_or("truncated")?;
        *at += n;
        Ok(s)
    }

    fn arg(b: &[u8], at: &mut usize, info: u8) -> Result<Option<u64>, String> {
        let be = |s: &[u8]| s.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        Ok(match info {
            0..=23 => Some(u64::from(info)),
            24 => Some(be(take(b, at, 1)?)),
            25 => Some(be(take(b, at, 2)?)),
            26 => Some(be(take(b, at, 4)?)),
            27 => Some(be(take(b, at, 8)?)),
            31 => None,
            _ => return Err(format!("reserved additional info {info}")),
        })
    }

    /// One item, or `None` for a break (0xff).
    fn item(b: &[u8], at: &mut usize) -> Result<Option<Value>, String> {
        let first = *take(b, at, 1)?.first().ok_or("truncated")?;
        let (major, info) = (first >> 5, first & 0x1f);
        if first == 0xff {
            return Ok(None);
        }
        let n = arg(b, at, info)?;
        let v = match (major, n) {
            (0, Some(n)) => Value::from(n),
            (1, Some(n)) => Value::from(-1 - n as i64),
            (2 | 3, Some(n)) => bytes_or_text(major, take(b, at, n as usize)?.to_vec())?,
            (2 | 3, None) => {
                let mut all = Vec::new();
                while let Some(chunk) = item(b, at)? {
                    match chunk {
                        Value::String(s) => all.extend(s.into_bytes()),
                        Value::Array(a) => {
                            all.extend(a.iter().filter_map(|x| x.as_u64()).map(|x| x as u8))
                        }
                        _ => return Err("bad chunk".into()),
                    }
                }
                bytes_or_text(major, all)?
            }
            (4, n) => {
                let mut a = Vec::new();
                match n {
                    Some(n) => {
                        for _ in 0..n {
                            a.push(item(b, at)?.ok_or("break in array")?);
                        }
                    }
                    None => {
                        while let Some(x) = item(b, at)? {
                            a.push(x);
                        }
                    }
                }
                Value::Array(a)
            }
            (5, n) => {
                let mut m = Map::new();
                let mut pair = |b: &[u8], at: &mut usize, k: Value| -> Result<(), String> {
                    let key = match k {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    m.insert(key, item(b, at)?.ok_or("break in map")?);
                    Ok(())
                };
                match n {
                    Some(n) => {
                        for _ in 0..n {
                            let k = item(b, at)?.ok_or("break in map")?;
                            pair(b, at, k)?;
                        }
                    }
                    None => {
                        while let Some(k) = item(b, at)? {
                            pair(b, at, k)?;
                        }
                    }
                }
                Value::Object(m)
            }
            (6, Some(_)) => item(b, at)?.ok_or("break after tag")?,
            (7, _) => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                25 => {
                    let h = n.unwrap_or(0) as u16;
                    Value::from(half(h))
                }
                26 => Value::from(f64::from(f32::from_bits(n.unwrap_or(0) as u32))),
                27 => Value::from(f64::from_bits(n.unwrap_or(0))),
                _ => Value::Null,
            },
            _ => return Err(format!("unexpected major type {major}")),
        };
        Ok(Some(v))
    }

    fn bytes_or_text(major: u8, bytes: Vec<u8>) -> Result<Value, String> {
        if major == 3 {
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|e| e.to_string())
        } else {
            Ok(Value::Array(bytes.into_iter().map(Value::from).collect()))
        }
    }

    fn half(h: u16) -> f64 {
        let exp = (h >> 10) & 0x1f;
        let mant = f64::from(h & 0x3ff);
        let v = match exp {
            0 => mant * 2f64.powi(-24),
            31 => f64::INFINITY,
            e => (1.0 + mant / 1024.0) * 2f64.powi(i32::from(e) - 15),
        };
        if h & 0x8000 != 0 {
            -v
        } else {
            v
        }
    }
}
