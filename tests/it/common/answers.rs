//! Answers shaped like the AWS API reference examples, for the services moto lacks, and the
//! CBOR the AWS Health API speaks.

use serde_json::{json, Value};

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
