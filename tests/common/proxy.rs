//! A recording HTTP/1.1 forwarding proxy on 127.0.0.1, put in front of moto: every request the
//! binary sends is recorded (method, path, headers, body, the answer's status) and forwarded to
//! the upstream server on a connection of its own (`Connection: close`); the whole answer is
//! read (by `Content-Length`, chunked, or to the end of the stream) and relayed to the client
//! with a `Content-Length`, on a client connection kept alive for as long as the client wants.
//!
//! [`Recorded::operation`] names the AWS operation of a request, whatever its protocol: the
//! `Action` of the query protocol (EC2, RDS, STS), the `X-Amz-Target` of the JSON protocols
//! (DynamoDB), the RPC v2 CBOR path (AWS Health), or for REST (Route 53) the method and path.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Headers that belong to one connection (RFC 9110 §7.6.1), plus the framing the proxy redoes.
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
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The upstream answer's status (`None`: no answer came; the client got a 502).
    pub status: Option<u16>,
    /// Why no answer came, when none did.
    pub error: Option<String>,
    /// When it arrived.
    pub at: Instant,
    /// Which client connection (in accept order) carried it.
    pub connection: usize,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

    /// The path without its query.
    fn bare_path(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// The AWS operation: `X-Amz-Target`'s (awsJson), the RPC v2 CBOR path's, the query
    /// protocol's `Action` (form body, else query string), a Route 53 REST route by method and
    /// path, else `METHOD /path`.
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
        format!("{} {}", self.method, self.bare_path())
    }

    /// Whether it only reads: a `Describe*`, `List*` or `Get*` operation, or a REST `GET`/`HEAD`
    /// no route above names.
    pub fn is_read(&self) -> bool {
        let op = self.operation();
        ["Describe", "List", "Get"]
            .iter()
            .any(|p| op.starts_with(p))
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

#[derive(Debug, Default)]
struct State {
    requests: Vec<Recorded>,
    connections: usize,
}

/// The proxy. Its tasks run on the caller's tokio runtime (use a multi-thread runtime when the
/// test thread blocks, e.g. on a pty) and end with it.
#[derive(Clone)]
pub struct Proxy {
    url: String,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` (`http://HOST:PORT`).
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("proxy: upstream {upstream} is not http://HOST:PORT"))
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("proxy: cannot bind 127.0.0.1:0: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy: no local address: {e}"))
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
                tokio::spawn(serve(stream, upstream.clone(), shared.clone(), conn));
            }
        });
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).requests.clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        lock(&self.state).requests.len()
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }
}

/// One client connection: requests one after another (keep-alive) until the client hangs up
/// or asks to close.
async fn serve(stream: TcpStream, upstream: String, state: Arc<Mutex<State>>, conn: usize) {
    let mut client = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut client).await else {
            return;
        };
        let close = request
            .headers
            .iter()
            .any(|(k, v)| k == "connection" && v.eq_ignore_ascii_case("close"));
        let index = {
            let mut s = lock(&state);
            s.requests.push(Recorded {
                method: request.method.clone(),
                path: request.path.clone(),
                headers: request.headers.clone(),
                body: request.body.clone(),
                status: None,
                error: None,
                at: Instant::now(),
                connection: conn,
            });
            s.requests.len() - 1
        };
        let forwarded = forward(&upstream, &request).await;
        if let Some(r) = lock(&state).requests.get_mut(index) {
            match &forwarded {
                Ok(a) => r.status = Some(a.status),
                Err(e) => r.error = Some(e.to_string()),
            }
        }
        let answer = forwarded.unwrap_or_else(|e| Response {
            status: 502,
            reason: "Bad Gateway".into(),
            headers: vec![("content-type".into(), "text/plain".into())],
            body: format!("proxy: upstream {upstream}: {e}").into_bytes(),
        });
        if write_response(client.get_mut(), &answer, close)
            .await
            .is_err()
            || close
        {
            return;
        }
    }
}

struct Request {
    method: String,
    path: String,
    /// The request line's version (`HTTP/1.1`).
    version: String,
    headers: Vec<(String, String)>,
    /// Whether the client framed a body (Content-Length or chunked).
    has_body: bool,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
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

async fn read_request<R: AsyncBufRead + Unpin>(r: &mut R) -> Option<Request> {
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
    })
}

/// Sends `request` upstream on a connection of its own and reads the whole answer.
async fn forward(upstream: &str, request: &Request) -> std::io::Result<Response> {
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
        let reason = parts.next().unwrap_or("").to_string();
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
        return Ok(Response {
            status,
            reason,
            headers,
            body,
        });
    }
}

async fn write_response(
    client: &mut TcpStream,
    response: &Response,
    close: bool,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, response.reason);
    for (k, v) in &response.headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\n", response.body.len()));
    head.push_str(if close {
        "connection: close\r\n\r\n"
    } else {
        "connection: keep-alive\r\n\r\n"
    });
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&response.body);
    client.write_all(&bytes).await?;
    client.flush().await
}
