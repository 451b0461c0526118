//! `pilotlight preflight` and `pilotlight iam` against moto over the wire, behind the stand-in
//! that records every request and plays IAM's policy simulator (which moto lacks): a restore
//! whose target name is taken is CRITICAL (exit 2) naming the step and the target, a denied
//! permission names the action, and nothing but reads leaves the process. The policies `iam`
//! prints for every shipped runbook are accepted by IAM's policy validator as moto runs it.

use std::process::Command;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::standin::{Reply, StandIn};
use crate::common::strict::Simulator;
use crate::common::{moto, root, temp_dir};

/// Runs `pilotlight preflight RUNBOOK --format json` against `server`: (exit code, report).
fn preflight(dir: &std::path::Path, runbook: &std::path::Path, server: &StandIn) -> (i32, Value) {
    let env = moto::binary_env(dir, server.url(), "us-east-1");
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["preflight", runbook.to_str().unwrap(), "--format", "json"])
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), doc)
}

/// The stand-in in front of moto, answering AWS Health (none open) and the policy simulator.
async fn server(sim: Arc<Simulator>) -> StandIn {
    let s = StandIn::forwarding(moto::url()).await;
    s.on_health("DescribeEvents", vec![Reply::cbor(json!({ "events": [] }))]);
    s.strict_shared(sim);
    s
}

fn findings<'a>(doc: &'a Value, step: &str, check: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["step"] == step && f["check"] == check)
        .collect()
}

fn assert_only_reads(server: &StandIn) {
    let changes: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| !r.is_read())
        .map(|r| r.name())
        .collect();
    assert!(changes.is_empty(), "preflight sent changes: {changes:?}");
}

// The stand-in serves from the runtime's other thread while the binary runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_whose_target_exists_is_critical_and_nothing_is_changed() {
    let dir = temp_dir("preflight-taken");
    let (text, _, _) = super::cli::seed("pft").await;
    // Someone made an instance with the restore's target name.
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    aws_sdk_rds::Client::new(&sdk)
        .create_db_instance()
        .db_instance_identifier("pft-orders-dr")
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-a-secret-1")
        .send()
        .await
        .unwrap();
    let runbook = dir.join("restore.yaml");
    std::fs::write(&runbook, &text).unwrap();
    let sim = Arc::new(Simulator::denying(&[]));
    let server = server(sim.clone()).await;

    let (code, doc) = preflight(&dir, &runbook, &server);
    assert_eq!(code, 2, "{doc:#}");
    assert_eq!(doc["status"], "critical");
    let target = findings(&doc, "restore-db", "restore target is free");
    assert_eq!(target.len(), 1, "{doc:#}");
    assert_eq!(target[0]["severity"], "critical");
    let detail = target[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("`pft-orders-dr`") && detail.contains("already exists"),
        "{detail}"
    );
    // The rest was looked at and is fine: the database, its snapshot, the permissions.
    assert_eq!(
        findings(&doc, "restore-db", "recovery point")[0]["severity"],
        "ok"
    );
    assert_eq!(
        findings(&doc, "restore-db", "permissions")[0]["severity"],
        "ok"
    );
    assert!(
        sim.asked()
            .iter()
            .any(|(a, res)| a == "rds:RestoreDBInstanceFromDBSnapshot"
                && res.iter().any(|r| r.ends_with(":db:pft-orders-dr"))),
        "{:?}",
        sim.asked()
    );
    assert_only_reads(&server);
    assert!(!server.requests_of("DescribeDBInstances").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_target_passes_and_a_denied_permission_is_named() {
    let dir = temp_dir("preflight-free");
    let (text, _, _) = super::cli::seed("pff").await;
    let runbook = dir.join("restore.yaml");
    std::fs::write(&runbook, &text).unwrap();

    let allowed = server(Arc::new(Simulator::denying(&[]))).await;
    let (code, doc) = preflight(&dir, &runbook, &allowed);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        findings(&doc, "restore-db", "restore target is free")[0]["severity"],
        "ok"
    );
    assert_only_reads(&allowed);

    let denying = server(Arc::new(Simulator::denying(&[
        "rds:RestoreDBInstanceFromDBSnapshot",
    ])))
    .await;
    let (code, doc) = preflight(&dir, &runbook, &denying);
    assert_eq!(code, 2, "{doc:#}");
    let denied = findings(&doc, "restore-db", "permissions");
    assert_eq!(denied.len(), 1, "{doc:#}");
    assert_eq!(denied[0]["severity"], "critical");
    let detail = denied[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("rds:RestoreDBInstanceFromDBSnapshot") && detail.contains("implicitDeny"),
        "{detail}"
    );
    assert_only_reads(&denying);
}

#[tokio::test(flavor = "current_thread")]
async fn every_shipped_runbooks_policy_is_a_valid_iam_policy_document() {
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("runbooks")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yaml") || name.ends_with(".scenario.yaml") {
            continue;
        }
        let rb = pilotlight::runbook::parse(&std::fs::read(&path).unwrap()).unwrap();
        // The caller's policy, and each other account's role's.
        let whose: Vec<Option<String>> = std::iter::once(None)
            .chain(rb.accounts.keys().cloned().map(Some))
            .collect();
        for (mode, account) in ["run", "read"]
            .into_iter()
            .flat_map(|m| whose.iter().map(move |a| (m, a.clone())))
        {
            let mut args = vec!["iam", path.to_str().unwrap(), "--mode", mode];
            if let Some(a) = &account {
                args.extend(["--account", a.as_str()]);
            }
            let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
                .args(&args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{name} {mode}");
            let doc = String::from_utf8(out.stdout).unwrap();
            // moto runs IAM's policy document validator on CreatePolicy.
            let made = iam
                .create_policy()
                .policy_name(format!(
                    "pilotlight-{}-{mode}-{n}",
                    name.trim_end_matches(".yaml")
                ))
                .policy_document(&doc)
                .send()
                .await;
            assert!(made.is_ok(), "{name} --mode {mode}: {made:?}\n{doc}");
            n += 1;
        }
    }
    assert!(n >= 16, "{n}");
}

/// Every kind of thing a step can name, looked for in moto over the wire: there, and not.
#[tokio::test(flavor = "current_thread")]
async fn preflight_finds_what_steps_name_and_what_is_missing() {
    use pilotlight::cloud::aws::{Access, AwsCloud, Clients, Endpoints, Timeouts};
    use pilotlight::cloud::Inspect;
    use pilotlight::engine::preflight::{Named, NamedKind};
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = Vec::new();
    for (az, cidr) in [("us-east-1a", "10.9.1.0/24"), ("us-east-1b", "10.9.2.0/24")] {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .availability_zone(az)
            .cidr_block(cidr)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let sg = ec2
        .create_security_group()
        .group_name("pf-db")
        .description("preflight")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let sg = sg.group_id().unwrap().to_string();
    aws_sdk_rds::Client::new(&sdk)
        .create_db_subnet_group()
        .db_subnet_group_name("pf-group")
        .db_subnet_group_description("preflight")
        .set_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .unwrap();
    aws_sdk_backup::Client::new(&sdk)
        .create_backup_vault()
        .backup_vault_name("pf-vault")
        .send()
        .await
        .unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws_sdk_iam::Client::new(&sdk)
        .create_role()
        .role_name("pf-restore")
        .path("/service-role/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let zone = aws_sdk_route53::Client::new(&sdk)
        .create_hosted_zone()
        .name("pf.example.com")
        .caller_reference("pf-preflight")
        .send()
        .await
        .unwrap();
    let zone = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    ddb.create_table()
        .table_name("pf-table")
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();

    let rb = pilotlight::runbook::parse(
        b"runbook: pf\ntitle: pf\ntargets: { rto: 1h }\nresources:\n  t: { kind: dynamodb-table, region: us-east-1, id: pf-table }\nsteps:\n  - { id: a, kind: manual, title: a }\n",
    )
    .unwrap();
    let aws = AwsCloud::new(
        Clients::new(sdk, Access::ReadOnly, Timeouts::default(), Endpoints::new()),
        Arc::new(rb),
    );
    let named = |kind, id: &str| Named {
        account: None,
        kind,
        region: "us-east-1".into(),
        id: id.into(),
    };
    use NamedKind as K;
    let role = "arn:aws:iam::123456789012:role/service-role/pf-restore";
    for (kind, there, missing) in [
        (K::Table, "pf-table", "pf-no-table"),
        (K::DbSubnetGroup, "pf-group", "pf-no-group"),
        (K::SecurityGroup, sg.as_str(), "sg-0000000000000000f"),
        (K::Subnet, subnets[0].as_str(), "subnet-0000000000000000f"),
        (K::AvailabilityZone, "us-east-1a", "us-east-1q"),
        (K::BackupVault, "pf-vault", "pf-no-vault"),
        (K::Role, role, "arn:aws:iam::123456789012:role/pf-no-role"),
        (K::HostedZone, zone.as_str(), "Z0000000000000000000F"),
    ] {
        assert_eq!(
            aws.exists(&named(kind, there)).await,
            Ok(true),
            "{kind:?} {there}"
        );
        assert_eq!(
            aws.exists(&named(kind, missing)).await,
            Ok(false),
            "{kind:?} {missing}"
        );
    }
    // Only reads, and each through the catalogue: the read-only guard refused nothing.
    assert!(
        aws.calls().counts().refused.is_empty(),
        "{:?}",
        aws.calls().counts()
    );
    assert!(aws.calls().counts().transmitted_changes().is_empty());
}
