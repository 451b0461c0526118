//! moto's server for the AWS tests: installed with pip if missing, started once per test
//! process on a free port of 127.0.0.1, and gone when the process ends (the harness script
//! exits when its standard input closes).

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

pub struct Moto {
    pub url: String,
    _child: Child,
    _stdin: ChildStdin,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The shared server's URL (`http://127.0.0.1:PORT`).
pub fn url() -> &'static str {
    &MOTO.get_or_init(start).url
}

fn start() -> Moto {
    let script = super::root().join("tests/support/moto_harness.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3 {}: {e}", script.display()));
    let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("moto harness: {e}"));
    let port = line
        .trim()
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("moto harness did not start: {line:?}"));
    Moto {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
        _stdin: stdin,
    }
}

/// The CPU seconds moto's server process has used so far (user and system, from
/// `/proc/PID/stat`), to compare a client's wall time with the work of the stand-in it waits on.
pub fn cpu_seconds() -> Option<f64> {
    let pid = MOTO.get_or_init(start)._child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// SDK configuration pointing at `endpoint` with moto's dummy credentials.
pub async fn sdk_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_sts::config::Credentials::new("testing", "testing", None, None, "tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(creds)
        .endpoint_url(endpoint)
        .load()
        .await
}

/// The environment that points the binary at `endpoint` and nothing else: dummy credentials,
/// no instance metadata, no profile files, and its own XDG folders under `data`.
pub fn binary_env(data: &std::path::Path, endpoint: &str, region: &str) -> Vec<(String, String)> {
    let at = |name: &str| data.join(name).display().to_string();
    vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("AWS_REGION".into(), region.to_string()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("AWS_CONFIG_FILE".into(), at("no-aws-config")),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            at("no-aws-credentials"),
        ),
        ("XDG_DATA_HOME".into(), at("data")),
        ("XDG_STATE_HOME".into(), at("state")),
    ]
}
