//! `pilotlight run` killed (`kill -9`) while a DynamoDB restore request is out, then resumed:
//! the restore AWS made is found and adopted (by its provenance: the table cannot be tagged
//! before it is ACTIVE), never asked for again, and the step completes.

use std::time::Duration;

use crate::common::pty::Pty;
use crate::common::standin::StandIn;
use crate::common::strict::CreatingTables;
use crate::common::{moto, temp_dir};

const REGION: &str = "us-east-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_during_a_table_restore_resumes_by_adopting_the_table() {
    let dir = temp_dir("aws-crash");
    let tag = format!("crash-{}", std::process::id());
    let table = format!("{tag}-orders");
    let target = format!("{table}-dr");
    // The source table and its backup, in moto.
    let sdk = moto::sdk_config(moto::url(), REGION).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    ddb.create_backup()
        .table_name(&table)
        .backup_name(format!("{table}-bk"))
        .send()
        .await
        .unwrap();
    let runbook = dir.join("restore.yaml");
    std::fs::write(
        &runbook,
        format!(
            r#"runbook: {tag}-restore
title: Restore the orders table from its latest backup (moto)
targets: {{ rto: 1h }}
resources:
  orders: {{ kind: dynamodb-table, region: {REGION}, id: {table} }}
steps:
  - id: restore
    kind: action
    action: dynamodb.restore-backup
    resource: orders
    with: {{ backup: latest, target_table: {target} }}
    wait_until: active
    gate: {{ typed: {target}, reason: required }}
"#
        ),
    )
    .unwrap();
    let journal = dir.join("run.jsonl");
    let (runbook, journal) = (runbook.to_str().unwrap(), journal.to_str().unwrap());

    // The first run: AWS starts the restore, and its answer never comes back.
    let first = StandIn::forwarding(moto::url()).await;
    first.slow_answer("RestoreTableFromBackup", Duration::from_secs(3600));
    let env = moto::binary_env(&dir, first.url(), REGION);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let deadline = Duration::from_secs(90);
    let mut pty = Pty::spawn_with(
        &["run", runbook, "--journal", journal, "--operator", "ana"],
        &dir,
        36,
        120,
        &env,
        deadline,
    );
    pty.until("the gate of restore", |s| {
        s.contains("GATE waiting for you: press g")
    });
    pty.send(b"g");
    pty.until_text(&format!("type `{target}` to proceed:"));
    pty.send(format!("{target}\tcrash test\t\r").as_bytes());
    first
        .until(|rs| {
            rs.iter()
                .any(|r| r.operation() == "RestoreTableFromBackup" && r.status == Some(200))
        })
        .await;
    let pid = pty.child.process_id().unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let killed = pty.finish();
    assert!(!killed.success());

    // The resume: the table is there, CREATING, untagged; it is adopted, not restored again.
    let second = StandIn::forwarding(moto::url()).await;
    second.strict(CreatingTables::for_describes(1));
    let env = moto::binary_env(&dir, second.url(), REGION);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = Pty::spawn_with(
        &["run", runbook, "--resume", journal, "--operator", "carol"],
        &dir,
        36,
        120,
        &env,
        deadline,
    );
    pty.until_text("RECOVERED in");
    pty.send(b"q");
    let status = pty.finish();
    assert!(status.success(), "{status:?}; screen:\n{}", pty.screen());
    assert!(second.requests_of("RestoreTableFromBackup").is_empty());
    let tables = ddb.list_tables().send().await.unwrap();
    let restored: Vec<_> = tables
        .table_names()
        .iter()
        .filter(|t| t.starts_with(&target))
        .collect();
    assert_eq!(restored, [&target]);
    let records = pilotlight::audit::verify(&std::fs::read(journal).unwrap())
        .unwrap()
        .records;
    let adopted = records
        .iter()
        .filter(|r| r.kind() == pilotlight::audit::EventKind::Outcome)
        .filter_map(|r| r.event.detail().ok())
        .any(|d| d["adopted"] == true);
    assert!(adopted, "the outcome says the table was adopted");
    // Who acted, as whom: each person's name beside the AWS principal their changes were made
    // as, when the run began and when it was taken up again.
    let detail = |kind| {
        let r = records.iter().find(|r| r.kind() == kind).unwrap();
        (r.operator.clone(), r.event.detail().unwrap())
    };
    let (by, started) = detail(pilotlight::audit::EventKind::RunStarted);
    assert_eq!(by, "ana");
    let arn = started["context"]["aws"]["arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(arn.starts_with("arn:aws:"), "{started}");
    let (by, resumed) = detail(pilotlight::audit::EventKind::RunResumed);
    assert_eq!(by, "carol");
    assert_eq!(resumed["aws"]["arn"], arn.as_str(), "{resumed}");
    assert_eq!(
        resumed["aws"]["account"],
        started["context"]["aws"]["account"]
    );
    // And the after-action report says so.
    let report = pilotlight::audit::report::build(&records);
    assert_eq!(report.aws_principal.as_deref(), Some(arn.as_str()));
    assert_eq!(report.resumptions[0].operator, "carol");
    assert_eq!(
        report.resumptions[0].aws_principal.as_deref(),
        Some(arn.as_str())
    );
}
