//! CloudWatch as moto plays it. The SDK speaks RPC v2 CBOR to CloudWatch, which moto does not
//! (it answers the query protocol): [`CborToQuery`], in the stand-in in front of moto, asks
//! moto each DescribeAlarms in the query protocol and answers the SDK in CBOR, so what
//! pilotlight reads is moto's own alarms, flipped by `SetAlarmState` ([`query`]).

use std::io::{Read, Write};

use serde_json::{json, Value};

use super::standin::{Reply, Request, Strict};

/// One query-protocol CloudWatch call to `upstream` (moto): the answer's XML. Blocking: a
/// local call of a few milliseconds.
pub fn query(upstream: &str, region: &str, action: &str, params: &[(String, String)]) -> String {
    let host = upstream.trim_start_matches("http://").trim_end_matches('/');
    let mut body = format!("Action={action}&Version=2010-08-01");
    for (k, v) in params {
        body.push_str(&format!("&{k}={}", encode(v)));
    }
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20261129/{region}/monitoring/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{action}: {answer}");
    answer
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A metric alarm in moto, set to `state` with `reason`.
pub fn alarm(upstream: &str, region: &str, name: &str, state: &str, reason: &str) {
    let p = |k: &str, v: &str| (k.to_string(), v.to_string());
    query(
        upstream,
        region,
        "PutMetricAlarm",
        &[
            p("AlarmName", name),
            p("Namespace", "AWS/ApplicationELB"),
            p("MetricName", "HTTPCode_Target_5XX_Count"),
            p("Statistic", "Sum"),
            p("Period", "60"),
            p("EvaluationPeriods", "1"),
            p("Threshold", "5"),
            p("ComparisonOperator", "GreaterThanThreshold"),
        ],
    );
    query(
        upstream,
        region,
        "SetAlarmState",
        &[
            p("AlarmName", name),
            p("StateValue", state),
            p("StateReason", reason),
        ],
    );
}

/// The text between `<tag>` and `</tag>` in `xml`, from `from`.
fn field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// DescribeAlarms in CBOR, answered from moto in the query protocol.
pub struct CborToQuery {
    pub upstream: String,
}

impl Strict for CborToQuery {
    fn before(&self, r: &Request) -> Option<Reply> {
        if r.path != "/service/GraniteServiceVersion20100801/operation/DescribeAlarms" {
            return None;
        }
        let asked = r.cbor();
        let names: Vec<(String, String)> = asked["AlarmNames"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, n)| {
                (
                    format!("AlarmNames.member.{}", i + 1),
                    n.as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let xml = query(&self.upstream, &r.region(), "DescribeAlarms", &names);
        let metric = xml
            .split("<MetricAlarms>")
            .nth(1)
            .and_then(|x| x.split("</MetricAlarms>").next())
            .unwrap_or_default();
        let alarms: Vec<Value> = metric
            .split("<AlarmName>")
            .skip(1)
            .map(|chunk| {
                let chunk = format!("<AlarmName>{chunk}");
                let at = field(&chunk, "StateUpdatedTimestamp")
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                    .map_or(0, |t| t.timestamp());
                json!({
                    "AlarmName": field(&chunk, "AlarmName"),
                    "StateValue": field(&chunk, "StateValue"),
                    "StateReason": field(&chunk, "StateReason"),
                    "StateUpdatedTimestamp": { "$timestamp": at },
                })
            })
            .collect();
        Some(Reply::cbor(
            json!({ "MetricAlarms": alarms, "CompositeAlarms": [] }),
        ))
    }
}
