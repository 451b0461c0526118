//! Resources in other accounts, against moto over the wire: a resource whose `account:` has a
//! role in `accounts:` is observed with that role's credentials (STS AssumeRole, which moto
//! serves: what an assumed role makes lives in the role's account), `status` names the
//! account, and a role that cannot be assumed is a clear error for its account's resources
//! while the others' still update.

use std::process::Command;

use serde_json::Value;

use crate::common::standin::{Reply, StandIn};
use crate::common::strict::RefuseWhen;
use crate::common::{moto, root, temp_dir};

const OTHER: &str = "111111111111";

/// An EBS volume made in account `OTHER` (with a role assumed there), and one in the caller's.
async fn seed() -> (String, String) {
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let sts = aws_sdk_sts::Client::new(&sdk);
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{OTHER}:role/seed"))
        .role_session_name("seed")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let creds = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "seed",
    );
    let other = sdk
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .build();
    let theirs = aws_sdk_ec2::Client::new(&other)
        .create_volume()
        .availability_zone("us-east-1a")
        .size(8)
        .send()
        .await
        .unwrap();
    let ours = aws_sdk_ec2::Client::new(&sdk)
        .create_volume()
        .availability_zone("us-east-1a")
        .size(8)
        .send()
        .await
        .unwrap();
    (
        theirs.volume_id().unwrap().to_string(),
        ours.volume_id().unwrap().to_string(),
    )
}

fn status(dir: &std::path::Path, runbook: &std::path::Path, server: &StandIn) -> Value {
    let env = moto::binary_env(dir, server.url(), "us-east-1");
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", runbook.to_str().unwrap(), "--format", "json"])
        .current_dir(root())
        .env("PILOTLIGHT_OPERATOR", "ana")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn resource<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {doc:#}"))
}

/// The access key a request was signed with.
fn key_of(r: &crate::common::standin::Request) -> String {
    r.header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_resource_is_observed_through_the_role_assumed_there() {
    let dir = temp_dir("accounts");
    let (theirs, ours) = seed().await;
    let runbook = dir.join("accounts.yaml");
    std::fs::write(
        &runbook,
        format!(
            r#"runbook: accounts
title: Two accounts
targets: {{ rto: 1h, rpo: 1d }}
accounts:
  "{OTHER}": {{ role: "arn:aws:iam::{OTHER}:role/pilotlight-dr", region: us-east-1 }}
resources:
  dr-data: {{ kind: ebs-volume, region: us-east-1, id: {theirs}, account: "{OTHER}" }}
  app-data: {{ kind: ebs-volume, region: us-east-1, id: {ours} }}
steps:
  - {{ id: look, kind: check, title: Look, expect: {{ resource: dr-data, health: [ok] }} }}
"#
        ),
    )
    .unwrap();
    let server = StandIn::forwarding(moto::url()).await;
    let doc = status(&dir, &runbook, &server);
    let dr = resource(&doc, "dr-data");
    assert_eq!(dr["health"], "ok", "{dr}");
    assert_eq!(dr["account"], OTHER);
    assert_eq!(resource(&doc, "app-data")["health"], "ok");
    assert!(resource(&doc, "app-data")["account"].is_null());
    // The role was assumed once, in the operator's name.
    let assumed = server.requests_of("AssumeRole");
    assert_eq!(
        assumed.len(),
        1,
        "{:?}",
        assumed.iter().map(|r| r.path.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        assumed[0].form("RoleArn").as_deref(),
        Some(&*format!("arn:aws:iam::{OTHER}:role/pilotlight-dr"))
    );
    assert_eq!(
        assumed[0].form("RoleSessionName").as_deref(),
        Some("pilotlight-ana")
    );
    // The other account's volume was asked for with the assumed credentials, ours with ours.
    let volumes = server.requests_of("DescribeVolumes");
    let asked = |id: &str| {
        volumes
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(id))
            .map(key_of)
            .collect::<Vec<_>>()
    };
    assert!(
        !asked(&theirs).is_empty() && asked(&theirs).iter().all(|k| k != "testing"),
        "{:?}",
        asked(&theirs)
    );
    assert!(!asked(&ours).is_empty() && asked(&ours).iter().all(|k| k == "testing"));

    // A role that cannot be assumed: its account's resources say so; the others still update.
    let refusing = StandIn::forwarding(moto::url()).await;
    refusing.strict(RefuseWhen::new(
        "AssumeRole",
        |_| true,
        Reply {
            status: 403,
            headers: vec![("content-type".into(), "text/xml".into())],
            body: format!("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/moto is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{OTHER}:role/pilotlight-dr</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>").into_bytes(),
            hang: false,
        },
    ));
    let doc = status(&dir, &runbook, &refusing);
    let dr = resource(&doc, "dr-data");
    assert_eq!(dr["health"], "unknown", "{dr}");
    let error = dr["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "cannot assume arn:aws:iam::{OTHER}:role/pilotlight-dr for account {OTHER}"
        )) && error.contains("not authorized to perform: sts:AssumeRole"),
        "{error}"
    );
    assert!(!error.contains("aws sso login"), "{error}");
    assert_eq!(resource(&doc, "app-data")["health"], "ok");
}
