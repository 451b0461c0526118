//! What a change made reaching one of AWS's terminal states (moto never shows them; the strict
//! stand-in in front of it does): the step ends at the first poll that sees it, with AWS's state
//! in the error, instead of waiting out its timeout.

use super::*;
use crate::common::standin::StandIn;
use crate::common::strict::Amend;

/// Runs `steps` (one action step with `wait_until`) on `resources` through a proxy whose
/// `operation` answers are amended, and returns why the run stopped and the simulated minutes
/// it took.
async fn ends_with(
    resources: &[String],
    step: &str,
    amend: Amend<impl Fn(&str) -> String + Send + Sync + 'static>,
) -> (String, i64) {
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    proxy.strict(amend);
    let runbook = parse(&format!(
        "runbook: {}\ntitle: terminal state\ntargets: {{ rto: 4h }}\nresources:\n{}\nsteps:\n{step}",
        unique("terminal"),
        resources.join("\n")
    ));
    let endpoints = ["ec2", "rds", "dynamodb"]
        .into_iter()
        .map(|s| (s.to_string(), proxy.url().to_string()))
        .collect();
    let aws = Arc::new(AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadWrite,
            Timeouts::default(),
            endpoints,
        ),
        runbook.clone(),
    ));
    let (status, engine, records) = run_unattended(&aws, &runbook, &unique("run")).await;
    let took = records.last().unwrap().at - records.first().unwrap().at;
    let RunStatus::Aborted(why) = status else {
        panic!(
            "the run should stop at the terminal state: {status:?}; {:?}",
            engine.steps()
        );
    };
    (why, took.num_minutes())
}

#[tokio::test]
pub(crate) async fn each_terminal_state_ends_its_step_at_the_first_poll() {
    let m = Moto::new(REGION).await;

    // RDS: a restore whose parameter group does not fit.
    let db = unique("pl-term-db");
    m.db(&db).await;
    m.db_snapshot(&db, &format!("{db}-manual")).await;
    let (why, minutes) = ends_with(
        &[res("db", "rds-instance", REGION, &db)],
        &format!(
            "  - id: act\n    kind: action\n    action: rds.restore-snapshot\n    resource: db\n    with: {{ snapshot: latest, target_id: {db}-dr }}\n    wait_until: available\n    timeout: 2h\n    gate: {{ confirm: true }}\n"
        ),
        Amend::new("DescribeDBInstances", |b: &str| {
            b.replace(
                "<DBInstanceStatus>available</DBInstanceStatus>",
                "<DBInstanceStatus>incompatible-parameters</DBInstanceStatus>",
            )
        }),
    )
    .await;
    assert!(why.contains("AWS says `incompatible-parameters`"), "{why}");
    assert!(minutes < 2, "{minutes} min");

    // EBS: a volume that goes to `error` (a snapshot whose key cannot be used).
    let volume = m.volume().await;
    m.snapshot(&volume).await;
    let (why, minutes) = ends_with(
        &[res("data", "ebs-volume", REGION, &volume)],
        &format!(
            "  - id: act\n    kind: action\n    action: ebs.restore-volume\n    resource: data\n    with: {{ snapshot: latest, availability_zone: {AZ} }}\n    wait_until: available\n    timeout: 2h\n    gate: {{ confirm: true }}\n"
        ),
        Amend::new("DescribeVolumes", |b: &str| {
            b.replace("<status>available</status>", "<status>error</status>")
                .replace("<status>creating</status>", "<status>error</status>")
        }),
    )
    .await;
    assert!(why.contains("AWS says `error`"), "{why}");
    assert!(minutes < 2, "{minutes} min");

    // EC2: an instance that goes from pending back to stopped.
    let ids = m.run_instances(1, &unique("pl-term-ec2")).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk(REGION).await);
    ec2.stop_instances()
        .set_instance_ids(Some(ids.clone()))
        .send()
        .await
        .unwrap();
    let (why, minutes) = ends_with(
        &[res("web", "ec2-instance", REGION, &ids[0])],
        "  - id: act\n    kind: action\n    action: ec2.start-instances\n    resource: web\n    wait_until: running\n    timeout: 2h\n    gate: { confirm: true }\n",
        Amend::new("DescribeInstances", |b: &str| {
            b.replace("<name>running</name>", "<name>stopped</name>")
                .replace("<name>pending</name>", "<name>stopped</name>")
        }),
    )
    .await;
    assert!(why.contains("AWS says `stopped`"), "{why}");
    assert!(minutes < 2, "{minutes} min");

    // DynamoDB: a restored table that cannot use its KMS key.
    let table = unique("pl-term-tbl");
    m.table(&table).await;
    m.backup(&table).await;
    let (why, minutes) = ends_with(
        &[res("orders", "dynamodb-table", REGION, &table)],
        &format!(
            "  - id: act\n    kind: action\n    action: dynamodb.restore-backup\n    resource: orders\n    with: {{ backup: latest, target_table: {table}-dr }}\n    wait_until: active\n    timeout: 2h\n    gate: {{ confirm: true }}\n"
        ),
        Amend::new("DescribeTable", |b: &str| {
            b.replace("\"ACTIVE\"", "\"INACCESSIBLE_ENCRYPTION_CREDENTIALS\"")
        }),
    )
    .await;
    assert!(
        why.contains("AWS says `inaccessible_encryption_credentials`"),
        "{why}"
    );
    assert!(minutes < 2, "{minutes} min");
}
