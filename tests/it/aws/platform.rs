//! The data platform and the stacks over the wire: Redshift clusters, CloudFormation stacks and
//! SNS topics in moto (read by `status --format json`, restored, deployed through a change set,
//! published to), and what moto cannot play (a failed, rolled-back deployment; a change set that
//! replaces a resource) as replayed CloudFormation answers in the query protocol's XML.
//!
//! What moto cannot show (said where it matters):
//! - moto ignores SNS `MessageDeduplicationId` (two publishes with one id are both kept), so a
//!   FIFO repeat is checked by what was sent, not by what SNS kept.
//! - moto's change sets are worked out at once (never `CREATE_PENDING`), and its stacks are
//!   created at once, so only the end states are seen.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use pilotlight::cloud::aws::{Access, AwsCloud, Clients, Endpoints, Timeouts};
use pilotlight::cloud::{Gated, Mutate};
use pilotlight::model::{ActionPlan, CloudError};
use pilotlight::runbook::Runbook;

use crate::common::engine::plan_and_approval;
use crate::common::standin::{Reply, Request, StandIn, Strict};
use crate::common::{moto, root, temp_dir};

const REGION: &str = "us-east-1";

/// A one-queue template with its queue's name as a parameter.
const QUEUE_TEMPLATE: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": { "QueueName": { "Type": "String" } },
  "Resources": {
    "Queue": { "Type": "AWS::SQS::Queue", "Properties": { "QueueName": { "Ref": "QueueName" } } }
  }
}"#;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A name no other test in this process uses (moto is shared by all of them).
fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn sdk() -> aws_config::SdkConfig {
    moto::sdk_config(moto::url(), REGION).await
}

fn parse(yaml: &str) -> Runbook {
    pilotlight::runbook::parse(yaml.as_bytes())
        .unwrap_or_else(|e| panic!("test runbook is invalid: {e:?}\n{yaml}"))
}

/// A runbook whose only step is `action` (with `with`) on its only resource, `it`.
fn one_action(resource: &str, action: &str, with: &str, wait: &str) -> Runbook {
    parse(&format!(
        r#"runbook: {}
title: one platform action
targets: {{ rto: 1h }}
resources:
  it: {resource}
steps:
  - id: act
    kind: action
    action: {action}
    resource: it
    with: {with}
    wait_until: {wait}
    timeout: 1h
    gate: {{ confirm: true }}
"#,
        unique("platform")
    ))
}

/// The backend for `rb`, every service in moto but `through` (at `url`, a stand-in).
async fn backend(rb: &Arc<Runbook>, url: &str, through: &[&str], timeouts: Timeouts) -> AwsCloud {
    let endpoints: Endpoints = through
        .iter()
        .map(|s| (s.to_string(), url.to_string()))
        .collect();
    let clients = Clients::new(sdk().await, Access::ReadWrite, timeouts, endpoints);
    AwsCloud::new(clients, rb.clone())
}

fn sdk_time(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).expect("a valid time")
}

/// A Redshift cluster in moto, with one manual snapshot; the snapshot's id and time as moto
/// reports them.
async fn cluster_with_snapshot(rs: &aws_sdk_redshift::Client, id: &str) -> (String, DateTime<Utc>) {
    rs.create_cluster()
        .cluster_identifier(id)
        .node_type("dc2.large")
        .cluster_type("single-node")
        .master_username("admin")
        .master_user_password("Not-a-secret-1")
        .send()
        .await
        .unwrap();
    let snap = format!("{id}-manual-1");
    rs.create_cluster_snapshot()
        .cluster_identifier(id)
        .snapshot_identifier(&snap)
        .send()
        .await
        .unwrap();
    let out = rs
        .describe_cluster_snapshots()
        .snapshot_identifier(&snap)
        .send()
        .await
        .unwrap();
    let at = out.snapshots()[0]
        .snapshot_create_time()
        .map(sdk_time)
        .expect("moto reports the snapshot's time");
    (snap, at)
}

/// `status --format json` of the runbook `text`, run against moto.
fn status_json(text: &str) -> serde_json::Value {
    let dir = temp_dir("aws-platform-status");
    let runbook = dir.join("platform.yaml");
    std::fs::write(&runbook, text).unwrap();
    let env = moto::binary_env(&dir, moto::url(), REGION);
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", runbook.to_str().unwrap(), "--format", "json"])
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn resource(doc: &serde_json::Value, name: &str) -> serde_json::Value {
    doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no resource {name} in {doc}"))
        .clone()
}

// ---------------------------------------------------------------------------------------------
// 1. status --format json

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_clusters_newest_snapshot_and_each_stacks_status() {
    let cfg = sdk().await;
    let rs = aws_sdk_redshift::Client::new(&cfg);
    let (snap, snap_at) = cluster_with_snapshot(&rs, "warehouse-prod").await;
    let cfn = aws_sdk_cloudformation::Client::new(&cfg);
    let stack = unique("processing");
    cfn.create_stack()
        .stack_name(&stack)
        .template_body(QUEUE_TEMPLATE)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("QueueName")
                .parameter_value(unique("status-queue"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let missing = unique("no-such-stack");
    let doc = status_json(&format!(
        r#"runbook: {rb}
title: The warehouse and its stacks (moto)
targets: {{ rto: 1h, rpo: 1d }}
resources:
  warehouse: {{ kind: redshift-cluster, region: {REGION}, id: warehouse-prod }}
  processing: {{ kind: cloudformation-stack, region: {REGION}, id: {stack} }}
  processing-dr: {{ kind: cloudformation-stack, region: {REGION}, id: {missing} }}
steps:
  - id: look
    kind: check
    expect: {{ resource: warehouse, health: [ok] }}
"#,
        rb = unique("warehouse")
    ));
    assert_eq!(doc["backend"], "aws", "{doc}");

    let wh = resource(&doc, "warehouse");
    assert_eq!(wh["kind"], "redshift-cluster", "{wh}");
    assert_eq!(wh["health"], "ok", "{wh}");
    assert_eq!(wh["state"], "available", "{wh}");
    assert_eq!(
        wh["latest_recovery_point"],
        snap_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "{wh}"
    );
    assert_eq!(wh["recovery_point_id"], snap, "{wh}");
    assert_eq!(wh["error"], serde_json::Value::Null, "{wh}");

    let st = resource(&doc, "processing");
    assert_eq!(st["kind"], "cloudformation-stack", "{st}");
    assert_eq!(st["health"], "ok", "{st}");
    assert_eq!(st["state"], "CREATE_COMPLETE", "{st}");
    assert_eq!(st["latest_recovery_point"], serde_json::Value::Null, "{st}");

    let gone = resource(&doc, "processing-dr");
    assert_eq!(gone["health"], "unavailable", "{gone}");
    assert!(
        gone["state"]
            .as_str()
            .unwrap_or_default()
            .contains(&missing),
        "{gone}"
    );
    assert_eq!(gone["error"], serde_json::Value::Null, "{gone}");
}

/// The same look at an SNS topic and a missing stack, checked against the published schema
/// of `status --format json` (assets/status.schema.json).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_of_the_new_kinds_matches_its_schema() {
    let sns = aws_sdk_sns::Client::new(&sdk().await);
    let topic = sns
        .create_topic()
        .name(unique("data-status"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let doc = status_json(&format!(
        r#"runbook: {rb}
title: A topic and a stack (moto)
targets: {{ rto: 1h }}
resources:
  data-status: {{ kind: sns-topic, region: {REGION}, id: "{topic}" }}
  processing-dr: {{ kind: cloudformation-stack, region: {REGION}, id: {missing} }}
steps:
  - id: look
    kind: check
    expect: {{ resource: data-status, health: [ok] }}
"#,
        rb = unique("topic"),
        missing = unique("no-such-stack")
    ));
    let t = resource(&doc, "data-status");
    assert_eq!(t["health"], "ok", "{t}");
    assert_eq!(t["state"], "exists; 0 confirmed subscription(s)", "{t}");

    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/status.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Redshift restore

#[tokio::test]
async fn a_redshift_restore_is_made_once_and_a_repeat_adopts_it() {
    let rs = aws_sdk_redshift::Client::new(&sdk().await);
    let source = unique("warehouse");
    let (snap, _) = cluster_with_snapshot(&rs, &source).await;
    let target = format!("{source}-dr");
    let rb = Arc::new(one_action(
        &format!("{{ kind: redshift-cluster, region: {REGION}, id: {source} }}"),
        "redshift.restore-snapshot",
        &format!("{{ snapshot: latest, target_id: {target}, node_type: dc2.large }}"),
        "available",
    ));
    let proxy = StandIn::forwarding(moto::url()).await;
    let aws = backend(&rb, proxy.url(), &["redshift"], Timeouts::default()).await;
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    assert!(plan.since.is_some(), "{plan:?}");

    let first = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!first.adopted, "{first:?}");
    assert_eq!(first.outputs["cluster_id"], target);
    assert_eq!(first.outputs["snapshot_id"], snap);
    let restores = proxy.requests_of("RestoreFromClusterSnapshot");
    assert_eq!(restores.len(), 1);
    assert_eq!(
        restores[0].form("SnapshotIdentifier").as_deref(),
        Some(snap.as_str())
    );
    assert_eq!(
        restores[0].form("SnapshotClusterIdentifier").as_deref(),
        Some(source.as_str())
    );
    assert_eq!(restores[0].form("NodeType").as_deref(), Some("dc2.large"));

    let plan = plan.with_made(Some(&first.outputs));
    let progress = Gated(&aws).poll(&plan, Utc::now()).await.unwrap();
    assert_eq!(progress.state, "available", "{progress:?}");
    assert_eq!(progress.failed, None);
    assert!(
        progress
            .outputs
            .get("endpoint")
            .is_some_and(|e| e.contains(&target)),
        "{progress:?}"
    );

    // A crash with the request out: the cluster is found, and a repeat adopts it.
    let found = Gated(&aws)
        .reconcile(&plan, Utc::now())
        .await
        .unwrap()
        .expect("the restored cluster is found");
    assert!(found.adopted, "{found:?}");
    assert_eq!(found.outputs["cluster_id"], target);
    let again = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(again.adopted, "{again:?}");
    assert_eq!(again.outputs["cluster_id"], target);
    assert_eq!(proxy.requests_of("RestoreFromClusterSnapshot").len(), 1);
    let clusters = rs.describe_clusters().send().await.unwrap();
    let named = clusters
        .clusters()
        .iter()
        .filter(|c| c.cluster_identifier() == Some(target.as_str()))
        .count();
    assert_eq!(named, 1);

    // A cluster of that name made before the step first asked is someone else's: refused.
    let later = ActionPlan {
        since: Some(Utc::now() + TimeDelta::hours(1)),
        ..plan.clone()
    };
    match Gated(&aws).start(&later, &approval, Utc::now()).await {
        Err(CloudError::Refused(why)) => {
            assert!(
                why.contains(&target) && why.contains("already exists"),
                "{why}"
            )
        }
        other => panic!("an older cluster must not be adopted: {other:?}"),
    }
    assert_eq!(proxy.requests_of("RestoreFromClusterSnapshot").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 3. CloudFormation deploy through a change set

#[tokio::test]
async fn a_deploy_previews_its_change_set_and_the_approval_executes_it() {
    let cfn = aws_sdk_cloudformation::Client::new(&sdk().await);
    let stack = unique("processing-dr");
    let queue = unique("batch-queue");
    let mut rb = one_action(
        &format!("{{ kind: cloudformation-stack, region: {REGION}, id: {stack} }}"),
        "cloudformation.deploy",
        &format!(
            "{{ template: templates/queue.json, parameters: {{ QueueName: {queue} }}, capabilities: [CAPABILITY_NAMED_IAM] }}"
        ),
        "complete",
    );
    let problems = rb.read_templates(|p| {
        assert_eq!(p, "templates/queue.json");
        Ok(QUEUE_TEMPLATE.to_string())
    });
    assert!(problems.is_empty(), "{problems:?}");
    let rb = Arc::new(rb);
    let proxy = StandIn::forwarding(moto::url()).await;
    let aws = backend(&rb, proxy.url(), &["cloudformation"], Timeouts::default()).await;
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    assert!(plan.token.starts_with("pl-"), "{}", plan.token);

    // Approved without a look (a retry, an approval before the look came back): nothing is
    // made and nothing runs, since nobody saw what would.
    match Gated(&aws).start(&plan, &approval, Utc::now()).await {
        Err(CloudError::Refused(why)) => assert!(why.contains("is not there"), "{why}"),
        other => panic!("a change set nobody saw must not run: {other:?}"),
    }
    assert!(proxy.requests_of("CreateChangeSet").is_empty());
    assert!(proxy.requests_of("ExecuteChangeSet").is_empty());

    // The gate's look creates the change set, named after the attempt, and lists it.
    let preview = Gated(&aws).preview(&plan).await.expect("a preview");
    assert!(preview.contains(&plan.token), "{preview}");
    assert!(
        preview.contains("  + Add     Queue (AWS::SQS::Queue)"),
        "{preview}"
    );
    let created = proxy.requests_of("CreateChangeSet");
    assert_eq!(created.len(), 1);
    let form = |k: &str| created[0].form(k);
    assert_eq!(form("ChangeSetType").as_deref(), Some("CREATE"));
    assert_eq!(form("ChangeSetName").as_deref(), Some(plan.token.as_str()));
    assert_eq!(
        form("Capabilities.member.1").as_deref(),
        Some("CAPABILITY_NAMED_IAM")
    );
    assert_eq!(
        form("Parameters.member.1.ParameterKey").as_deref(),
        Some("QueueName")
    );
    assert_eq!(
        form("Parameters.member.1.ParameterValue").as_deref(),
        Some(queue.as_str())
    );
    let cs = cfn
        .describe_change_set()
        .stack_name(&stack)
        .change_set_name(&plan.token)
        .send()
        .await
        .unwrap();
    assert_eq!(cs.execution_status().map(|s| s.as_str()), Some("AVAILABLE"));
    // A second look shows the same change set; nothing is executed before the approval.
    let again = Gated(&aws).preview(&plan).await.expect("a preview");
    assert_eq!(again, preview);
    assert_eq!(proxy.requests_of("CreateChangeSet").len(), 1);
    assert!(proxy.requests_of("ExecuteChangeSet").is_empty());

    // The approval executes exactly that change set.
    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!started.adopted, "{started:?}");
    assert_eq!(
        started.outputs.get("change_set_id").map(String::as_str),
        cs.change_set_id()
    );
    let executed = proxy.requests_of("ExecuteChangeSet");
    assert_eq!(executed.len(), 1);
    assert_eq!(
        executed[0].form("ChangeSetName").as_deref(),
        Some(plan.token.as_str())
    );
    assert_eq!(proxy.requests_of("CreateChangeSet").len(), 1);

    let stacks = cfn
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .unwrap();
    let s = &stacks.stacks()[0];
    assert_eq!(
        s.stack_status().map(|x| x.as_str()),
        Some("CREATE_COMPLETE")
    );
    assert!(s
        .parameters()
        .iter()
        .any(|p| p.parameter_key() == Some("QueueName")
            && p.parameter_value() == Some(queue.as_str())));
    let cs = cfn
        .describe_change_set()
        .stack_name(&stack)
        .change_set_name(&plan.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cs.execution_status().map(|s| s.as_str()),
        Some("EXECUTE_COMPLETE")
    );
    let plan = plan.with_made(Some(&started.outputs));
    let progress = Gated(&aws).poll(&plan, Utc::now()).await.unwrap();
    assert_eq!(progress.state, "complete", "{progress:?}");
    assert_eq!(progress.failed, None);

    // After a crash the executed change set is followed, never executed again.
    let found = Gated(&aws)
        .reconcile(&plan, Utc::now())
        .await
        .unwrap()
        .expect("the executed change set is found");
    assert!(found.adopted, "{found:?}");
    let repeat = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(repeat.adopted, "{repeat:?}");
    assert_eq!(proxy.requests_of("ExecuteChangeSet").len(), 1);
    assert_eq!(proxy.requests_of("CreateChangeSet").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 4. SNS publish

#[tokio::test]
async fn a_publish_reaches_the_topic_once_with_the_runs_facts() {
    let sns = aws_sdk_sns::Client::new(&sdk().await);
    let topic = sns
        .create_topic()
        .name(unique("data-status"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let rb = Arc::new(one_action(
        &format!("{{ kind: sns-topic, region: {REGION}, id: \"{topic}\" }}"),
        "sns.publish",
        "{ subject: \"warehouse: restore started\", message: \"restore started (run {{run.id}})\" }",
        "sent",
    ));
    let proxy = StandIn::forwarding(moto::url()).await;
    let aws = backend(&rb, proxy.url(), &["sns"], Timeouts::default()).await;
    let run = unique("run");
    let (plan, approval) = plan_and_approval(&rb, &run);
    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!started.adopted);
    assert!(!started.outputs["message_id"].is_empty(), "{started:?}");
    let progress = Gated(&aws).poll(&plan, Utc::now()).await.unwrap();
    assert_eq!(progress.state, "sent");
    let sent = proxy.requests_of("Publish");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].form("Subject").as_deref(),
        Some("warehouse: restore started")
    );
    // A standard topic takes no deduplication id (SNS refuses one).
    assert_eq!(sent[0].form("MessageDeduplicationId"), None);
    // What SNS was sent, with the run's facts filled in (moto's full-state dump, which would
    // show it from SNS's side, fails while other tests' state is in it).
    assert_eq!(
        sent[0].form("Message").as_deref(),
        Some(format!("restore started (run {run})").as_str())
    );

    // After a crash with the publish out, SNS cannot be asked: the operator is.
    match Gated(&aws).reconcile(&plan, Utc::now()).await {
        Err(CloudError::Refused(why)) => assert!(why.contains(&topic), "{why}"),
        other => panic!("a lost publish to a standard topic is the operator's: {other:?}"),
    }
    assert_eq!(proxy.requests_of("Publish").len(), 1);
}

#[tokio::test]
async fn a_fifo_publish_repeated_carries_the_attempts_token_as_its_deduplication_id() {
    let sns = aws_sdk_sns::Client::new(&sdk().await);
    let topic = sns
        .create_topic()
        .name(format!("{}.fifo", unique("data-status")))
        .attributes("FifoTopic", "true")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let rb = Arc::new(one_action(
        &format!("{{ kind: sns-topic, region: {REGION}, id: \"{topic}\" }}"),
        "sns.publish",
        "{ message: \"warehouse restored\" }",
        "sent",
    ));
    let proxy = StandIn::forwarding(moto::url()).await;
    let aws = backend(&rb, proxy.url(), &["sns"], Timeouts::default()).await;
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    // A crash with the publish out: publishing again is harmless, so nothing is asked.
    assert_eq!(
        Gated(&aws).reconcile(&plan, Utc::now()).await.unwrap(),
        None
    );
    // Unless SNS has forgotten the deduplication id (five minutes): then the operator is.
    let later = Utc::now() + chrono::TimeDelta::minutes(10);
    match Gated(&aws).reconcile(&plan, later).await {
        Err(CloudError::Refused(why)) => assert!(why.contains("ask a subscriber"), "{why}"),
        other => panic!("a FIFO publish older than SNS's memory is the operator's: {other:?}"),
    }
    for _ in 0..2 {
        let started = Gated(&aws)
            .start(&plan, &approval, Utc::now())
            .await
            .unwrap();
        assert!(!started.outputs["message_id"].is_empty(), "{started:?}");
    }
    let sent = proxy.requests_of("Publish");
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(r.status, Some(200));
        assert_eq!(
            r.form("MessageDeduplicationId").as_deref(),
            Some(plan.token.as_str())
        );
        assert_eq!(r.form("MessageGroupId").as_deref(), Some("pilotlight"));
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Replayed CloudFormation answers: a failed deployment, a replacement

const CFN_XMLNS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
const ACCOUNT: &str = "111122223333";
const LOADER: &str = "analytics-processing-dr";

fn stack_id() -> String {
    format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{LOADER}/5b9c6a10-0c4e-11ef-9a61-0a1b2c3d4e5f")
}

/// A query-protocol answer: `<{op}Response>` with `<{op}Result>` holding `result`.
fn cfn_xml(op: &str, result: &str) -> String {
    format!(
        r#"<{op}Response xmlns="{CFN_XMLNS}">
  <{op}Result>
{result}
  </{op}Result>
  <ResponseMetadata>
    <RequestId>7f0e6b1c-2b7d-4c51-9d3e-0123456789ab</RequestId>
  </ResponseMetadata>
</{op}Response>"#
    )
}

/// Answers CloudFormation's query-protocol operations by their `Action`, from a script.
struct Cfn(Vec<(&'static str, String)>);

impl Strict for Cfn {
    fn before(&self, r: &Request) -> Option<Reply> {
        // A later page (`NextToken` sent) is scripted as `OPERATION#next`.
        let op = match r.form("NextToken") {
            Some(_) => format!("{}#next", r.operation()),
            None => r.operation().to_string(),
        };
        self.0.iter().find(|(o, _)| *o == op).map(|(_, xml)| Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/xml".into())],
            body: xml.clone().into_bytes(),
            hang: false,
        })
    }
}

fn change_set(token: &str, execution: &str, changes: &str) -> String {
    cfn_xml(
        "DescribeChangeSet",
        &format!(
            r#"    <ChangeSetName>{token}</ChangeSetName>
    <ChangeSetId>arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{token}/9d2f4e3a-1b5c-4d6e-8f70-112233445566</ChangeSetId>
    <StackId>{stack}</StackId>
    <StackName>{LOADER}</StackName>
    <Description>pilotlight change set</Description>
    <CreationTime>2026-11-21T03:00:00.000Z</CreationTime>
    <ExecutionStatus>{execution}</ExecutionStatus>
    <Status>CREATE_COMPLETE</Status>
    <NotificationARNs/>
    <Capabilities>
      <member>CAPABILITY_NAMED_IAM</member>
    </Capabilities>
    <Changes>
{changes}
    </Changes>"#,
            stack = stack_id()
        ),
    )
}

fn resource_change(action: &str, logical: &str, kind: &str, replacement: &str) -> String {
    format!(
        r#"      <member>
        <Type>Resource</Type>
        <ResourceChange>
          <Action>{action}</Action>
          <LogicalResourceId>{logical}</LogicalResourceId>
          <PhysicalResourceId>{logical}-0a1b2c3d</PhysicalResourceId>
          <ResourceType>{kind}</ResourceType>
          <Replacement>{replacement}</Replacement>
          <Scope><member>Properties</member></Scope>
          <Details><member><Target><Attribute>Properties</Attribute><Name>Code</Name><RequiresRecreation>Always</RequiresRecreation></Target><Evaluation>Static</Evaluation><ChangeSource>DirectModification</ChangeSource></member></Details>
        </ResourceChange>
      </member>"#
    )
}

fn event(id: u32, logical: &str, kind: &str, status: &str, reason: &str, token: &str) -> String {
    format!(
        r#"      <member>
        <EventId>{logical}-{status}-{id}</EventId>
        <StackId>{stack}</StackId>
        <StackName>{LOADER}</StackName>
        <LogicalResourceId>{logical}</LogicalResourceId>
        <PhysicalResourceId>{logical}-0a1b2c3d</PhysicalResourceId>
        <ResourceType>{kind}</ResourceType>
        <Timestamp>2026-11-21T03:0{id}:00.000Z</Timestamp>
        <ResourceStatus>{status}</ResourceStatus>
        <ResourceStatusReason>{reason}</ResourceStatusReason>
        <ClientRequestToken>{token}</ClientRequestToken>
      </member>"#,
        stack = stack_id()
    )
}

/// A deploy step on the stack, its template read, behind a scripted stand-in.
async fn replayed_deploy(script: impl Fn(&str) -> Vec<(&'static str, String)>) -> Replayed {
    let mut rb = one_action(
        &format!("{{ kind: cloudformation-stack, region: {REGION}, id: {LOADER} }}"),
        "cloudformation.deploy",
        "{ template: templates/processing.json, capabilities: [CAPABILITY_NAMED_IAM] }",
        "complete",
    );
    assert!(rb
        .read_templates(|_| Ok(QUEUE_TEMPLATE.to_string()))
        .is_empty());
    let rb = Arc::new(rb);
    let (plan, _) = plan_and_approval(&rb, &unique("run"));
    let server = StandIn::scripted().await;
    server.strict(Cfn(script(&plan.token)));
    let quick = Timeouts {
        connect: Duration::from_secs(2),
        attempt: Duration::from_secs(5),
        operation: Duration::from_secs(10),
        max_attempts: 3,
    };
    let aws = backend(&rb, server.url(), &["cloudformation"], quick).await;
    Replayed { aws, plan, server }
}

struct Replayed {
    aws: AwsCloud,
    plan: ActionPlan,
    server: StandIn,
}

#[tokio::test]
async fn a_rolled_back_deploy_fails_naming_the_first_resource_that_failed_in_its_execution() {
    let r = replayed_deploy(|token| {
        let stacks = cfn_xml(
            "DescribeStacks",
            &format!(
                r#"    <Stacks>
      <member>
        <StackName>{LOADER}</StackName>
        <StackId>{stack}</StackId>
        <CreationTime>2026-10-01T09:00:00.000Z</CreationTime>
        <LastUpdatedTime>2026-11-21T03:01:00.000Z</LastUpdatedTime>
        <StackStatus>UPDATE_ROLLBACK_COMPLETE</StackStatus>
        <DisableRollback>false</DisableRollback>
        <Capabilities>
          <member>CAPABILITY_NAMED_IAM</member>
        </Capabilities>
      </member>
    </Stacks>"#,
                stack = stack_id()
            ),
        );
        // Newest first: the rollback, a resource cancelled after the first failure, the
        // first failure itself, and an older execution's failure (another token).
        let events = [
            event(
                6,
                LOADER,
                "AWS::CloudFormation::Stack",
                "UPDATE_ROLLBACK_COMPLETE",
                "",
                token,
            ),
            event(
                5,
                LOADER,
                "AWS::CloudFormation::Stack",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed to update: [LoaderRole, Queue].",
                token,
            ),
            event(
                4,
                "Queue",
                "AWS::SQS::Queue",
                "UPDATE_FAILED",
                "Resource update cancelled",
                token,
            ),
            event(
                3,
                "LoaderRole",
                "AWS::IAM::Role",
                "UPDATE_FAILED",
                "Role name already exists",
                token,
            ),
            event(
                2,
                LOADER,
                "AWS::CloudFormation::Stack",
                "UPDATE_IN_PROGRESS",
                "User Initiated",
                token,
            ),
            event(
                1,
                "OldBucket",
                "AWS::S3::Bucket",
                "UPDATE_FAILED",
                "Bucket already exists",
                "pl-0000000000000000",
            ),
        ];
        let events = cfn_xml(
            "DescribeStackEvents",
            &format!(
                "    <StackEvents>\n{}\n    </StackEvents>",
                events.join("\n")
            ),
        );
        let changes = resource_change("Modify", "LoaderRole", "AWS::IAM::Role", "False");
        vec![
            (
                "DescribeChangeSet",
                change_set(token, "EXECUTE_FAILED", &changes),
            ),
            ("DescribeStacks", stacks),
            ("DescribeStackEvents", events),
        ]
    })
    .await;
    let progress = Gated(&r.aws).poll(&r.plan, Utc::now()).await.unwrap();
    assert_eq!(progress.state, "UPDATE_ROLLBACK_COMPLETE");
    let failed = progress.failed.expect("a rolled-back deploy has failed");
    assert!(failed.contains("LoaderRole"), "{failed}");
    assert!(failed.contains("Role name already exists"), "{failed}");
    assert!(
        !failed.contains("OldBucket") && !failed.contains("cancelled"),
        "{failed}"
    );
    assert!(
        r.server.unmatched().is_empty(),
        "{:?}",
        r.server.unmatched()
    );
    let described = r.server.requests_of("DescribeChangeSet");
    assert_eq!(
        described[0].form("ChangeSetName").as_deref(),
        Some(r.plan.token.as_str())
    );
}

#[tokio::test]
async fn a_change_set_that_replaces_a_resource_says_so_in_the_preview() {
    let r = replayed_deploy(|token| {
        // The replacement is on the second page of changes: the gate must not stop at the first.
        let first = resource_change("Modify", "Queue", "AWS::SQS::Queue", "False");
        let second = resource_change("Modify", "LoaderFunction", "AWS::Lambda::Function", "True");
        vec![
            (
                "DescribeChangeSet",
                change_set(token, "AVAILABLE", &first).replace(
                    "</Changes>",
                    "</Changes>\n    <NextToken>page-2</NextToken>",
                ),
            ),
            (
                "DescribeChangeSet#next",
                change_set(token, "AVAILABLE", &second),
            ),
        ]
    })
    .await;
    let preview = Gated(&r.aws).preview(&r.plan).await.expect("a preview");
    assert!(preview.contains("2 change(s)"), "{preview}");
    assert!(
        preview.contains("! Modify  LoaderFunction (AWS::Lambda::Function) replacement: True"),
        "{preview}"
    );
    assert!(
        preview.contains("~ Modify  Queue (AWS::SQS::Queue) replacement: False"),
        "{preview}"
    );
    // The change set exists: the look reads it and creates nothing.
    assert!(r.server.requests_of("CreateChangeSet").is_empty());
    assert!(
        r.server.unmatched().is_empty(),
        "{:?}",
        r.server.unmatched()
    );
}
