//! The live-AWS backend against replayed HTTP answers, for what moto lacks: Global Accelerator,
//! AWS Health and the AWS Backup restore API (see `crate::common::standin`). Each test scripts its
//! answers, drives `AwsCloud` (reads directly, changes with a plan and approval minted by a real
//! engine), and checks both what pilotlight made of the answers and what it sent. Where a test
//! also needs EC2 (EBS volumes), moto serves it. Nothing sleeps; the black-hole and timeout
//! tests measure how long the SDK's own timeouts take.

use crate::common::engine::{plan_and_approval, Seen};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SubsecRound, TimeDelta, Utc};
use futures_util::StreamExt;
use pilotlight::audit::{Journal, Mode};
use pilotlight::cloud::aws::{Access, AwsCloud, Clients, Endpoints, Timeouts};
use pilotlight::cloud::{observe_all, Change, Gated, Mutate, Observation, Observe};
use pilotlight::engine::{Engine, Input, RunStatus};
use pilotlight::model::ActionPlan;
use pilotlight::model::{CloudError, RecoveryPoint, RecoveryPointKind, ResourceStatus};
use pilotlight::runbook::params::Rendered;
use pilotlight::runbook::{ActionKind, Health, Runbook};
use pilotlight::runtime::unattended::run_to_end;
use serde_json::{json, Value};

use crate::common::answers;
use crate::common::standin::{Reply, StandIn};

const ACCEL: &str =
    "arn:aws:globalaccelerator::111122223333:accelerator/0abc1234-5678-90ab-cdef-111122223333";
const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole";

fn listener() -> String {
    format!("{ACCEL}/listener/0abc1234")
}

fn group_arn(region: &str) -> String {
    format!("{}/endpoint-group/{region}-0001", listener())
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Timeouts short enough for tests, long enough for a loaded machine.
fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        attempt: Duration::from_secs(5),
        operation: Duration::from_secs(10),
        max_attempts: 3,
    }
}

/// The backend with every service at `url`, but for `endpoints`.
async fn cloud_at(
    url: &str,
    runbook: &Arc<Runbook>,
    timeouts: Timeouts,
    endpoints: Endpoints,
) -> AwsCloud {
    let sdk = crate::common::moto::sdk_config(url, "us-east-1").await;
    let clients = Clients::new(sdk, Access::ReadWrite, timeouts, endpoints);
    AwsCloud::new(clients, runbook.clone())
}

/// The backend with every service at the replay server.
async fn cloud(server: &StandIn, runbook: &Arc<Runbook>) -> AwsCloud {
    cloud_at(server.url(), runbook, quick(), Endpoints::new()).await
}

fn parse(yaml: &str) -> Arc<Runbook> {
    let runbook = pilotlight::runbook::parse(yaml.as_bytes())
        .unwrap_or_else(|e| panic!("test runbook is invalid: {e:?}\n{yaml}"));
    Arc::new(runbook)
}

/// A runbook with `resources` (YAML mapping lines indented by two) and `steps` (YAML list
/// items indented by two), or one manual step when none are given.
fn runbook(resources: &str, steps: &str) -> Arc<Runbook> {
    let steps = if steps.is_empty() {
        "  - id: look\n    kind: manual\n    gate: { confirm: true }\n"
    } else {
        steps
    };
    parse(&format!(
        "runbook: replay-test\ntitle: replayed AWS answers\ntargets: {{ rto: 1h }}\nresources:\n{resources}\nsteps:\n{steps}"
    ))
}

const GA_RESOURCE: &str =
    "  edge: { kind: global-accelerator, arn: \"arn:aws:globalaccelerator::111122223333:accelerator/0abc1234-5678-90ab-cdef-111122223333\" }\n";

/// A runbook whose only step is `action` on the accelerator.
fn ga_action(action: &str, with: &str) -> Arc<Runbook> {
    runbook(
        GA_RESOURCE,
        &format!(
            "  - id: shift\n    kind: action\n    action: {action}\n    resource: edge\n    with: {with}\n    wait_until: deployed\n    timeout: 10m\n    gate: {{ confirm: true }}\n"
        ),
    )
}

fn by_name(obs: Vec<Observation>) -> BTreeMap<String, Result<ResourceStatus, CloudError>> {
    let n = obs.len();
    let map: BTreeMap<_, _> = obs.into_iter().collect();
    assert_eq!(map.len(), n, "each resource is observed once");
    map
}

/// The two endpoint groups of the accelerator: us-east-1 (serving) and us-west-2 (standby).
fn two_groups(east: Vec<Value>, west: Vec<Value>, east_dial: f64, west_dial: f64) -> Value {
    answers::ga_groups(vec![
        answers::ga_group(&group_arn("us-east-1"), "us-east-1", east_dial, east),
        answers::ga_group(&group_arn("us-west-2"), "us-west-2", west_dial, west),
    ])
}

fn healthy(id: &str) -> Value {
    answers::ga_endpoint(id, 128, "HEALTHY", true)
}

fn unhealthy(id: &str) -> Value {
    answers::ga_endpoint(id, 128, "UNHEALTHY", true)
}

// ---------------------------------------------------------------------------------------------
// Global Accelerator: reads

#[tokio::test]
async fn ga_observe_maps_endpoint_health_over_serving_groups() {
    let server = StandIn::scripted().await;
    server.on_ga(
        "ListListeners",
        vec![Reply::json(answers::ga_listeners(&[&listener()]))],
    );
    server.on_ga(
        "ListEndpointGroups",
        vec![
            // 1. Every endpoint of the serving group healthy; the standby (dial 0) unhealthy:
            //    what is not taking traffic does not count.
            Reply::json(two_groups(
                vec![healthy("i-0aaa"), healthy("i-0bbb")],
                vec![unhealthy("i-0ccc")],
                100.0,
                0.0,
            )),
            // 2. One of the serving endpoints unhealthy.
            Reply::json(two_groups(
                vec![healthy("i-0aaa"), unhealthy("i-0bbb")],
                vec![healthy("i-0ccc")],
                100.0,
                0.0,
            )),
            // 3. Both groups serving, every serving endpoint unhealthy.
            Reply::json(two_groups(
                vec![unhealthy("i-0aaa")],
                vec![unhealthy("i-0ccc")],
                60.0,
                40.0,
            )),
        ],
    );
    let rb = runbook(GA_RESOURCE, "");
    let aws = cloud(&server, &rb).await;
    let edge = &rb.resources["edge"];

    let first = aws.observe(edge, Utc::now()).await.unwrap();
    assert_eq!(first.health, Health::Ok, "{first:?}");
    assert_eq!(
        first.state,
        "us-east-1 dial 100% 2/2 healthy; us-west-2 dial 0% 0/1 healthy"
    );
    assert_eq!(first.latest_recovery_point, None);

    let second = aws.observe(edge, Utc::now()).await.unwrap();
    assert_eq!(second.health, Health::Impaired, "{second:?}");
    assert_eq!(
        second.state,
        "us-east-1 dial 100% 1/2 healthy; us-west-2 dial 0% 1/1 healthy"
    );

    let third = aws.observe(edge, Utc::now()).await.unwrap();
    assert_eq!(third.health, Health::Unavailable, "{third:?}");
    assert!(
        third.state.contains("us-east-1 dial 60% 0/1 healthy"),
        "{}",
        third.state
    );
    assert!(
        third.state.contains("us-west-2 dial 40% 0/1 healthy"),
        "{}",
        third.state
    );

    // What went out: awsJson 1.1 with the operation in X-Amz-Target, the ARNs in the body.
    let lists = server.requests_of("ListListeners");
    assert_eq!(lists.len(), 3);
    assert_eq!(lists[0].method, "POST");
    assert_eq!(
        lists[0].target(),
        Some("GlobalAccelerator_V20180706.ListListeners")
    );
    assert_eq!(
        lists[0].header("content-type"),
        Some("application/x-amz-json-1.1")
    );
    assert_eq!(lists[0].json()["AcceleratorArn"], ACCEL);
    let groups = server.requests_of("ListEndpointGroups");
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0].json()["ListenerArn"], listener().as_str());
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
    // Six requests, kept alive over fewer connections.
    assert!(
        server.connections() < server.requests().len(),
        "{} connections for {} requests",
        server.connections(),
        server.requests().len()
    );
    let counts = aws.calls().counts();
    assert_eq!(counts.operations["globalaccelerator:ListListeners"], 3);
    assert_eq!(
        counts.transmitted["globalaccelerator:ListEndpointGroups"],
        3
    );
}

#[tokio::test]
async fn ga_observe_pages_through_listeners_and_groups() {
    let server = StandIn::scripted().await;
    let second_listener = format!("{ACCEL}/listener/0def5678");
    let mut page1 = answers::ga_listeners(&[&listener()]);
    page1["NextToken"] = json!("listeners-2");
    server.on_ga(
        "ListListeners",
        vec![
            Reply::json(page1),
            Reply::json(answers::ga_listeners(&[&second_listener])),
        ],
    );
    server.on_ga(
        "ListEndpointGroups",
        vec![
            Reply::json(answers::ga_groups(vec![answers::ga_group(
                &group_arn("us-east-1"),
                "us-east-1",
                100.0,
                vec![healthy("i-0aaa")],
            )])),
            Reply::json(answers::ga_groups(vec![answers::ga_group(
                &format!("{second_listener}/endpoint-group/eu-west-1-0001"),
                "eu-west-1",
                100.0,
                vec![healthy("i-0eee")],
            )])),
        ],
    );
    let rb = runbook(GA_RESOURCE, "");
    let aws = cloud(&server, &rb).await;
    let status = aws
        .observe(&rb.resources["edge"], Utc::now())
        .await
        .unwrap();
    assert_eq!(status.health, Health::Ok);
    assert_eq!(
        status.state,
        "us-east-1 dial 100% 1/1 healthy; eu-west-1 dial 100% 1/1 healthy"
    );
    let lists = server.requests_of("ListListeners");
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[1].json()["NextToken"], "listeners-2");
    let groups = server.requests_of("ListEndpointGroups");
    assert_eq!(groups[1].json()["ListenerArn"], second_listener.as_str());
}

// ---------------------------------------------------------------------------------------------
// Global Accelerator: cutovers

/// A standby group with endpoints whose weights and client IP preservation must survive.
fn standby_endpoints() -> Vec<Value> {
    vec![
        answers::ga_endpoint("i-0ccc", 200, "HEALTHY", true),
        answers::ga_endpoint("eipalloc-0ddd", 50, "HEALTHY", false),
    ]
}

#[tokio::test]
async fn ga_set_traffic_dial_previews_sends_the_dial_and_reports_the_previous() {
    let server = StandIn::scripted().await;
    let groups = two_groups(
        vec![healthy("i-0aaa"), healthy("i-0bbb")],
        standby_endpoints(),
        100.0,
        0.0,
    );
    let updated = answers::ga_group(
        &group_arn("us-west-2"),
        "us-west-2",
        100.0,
        standby_endpoints(),
    );
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga("ListEndpointGroups", vec![Reply::json(groups)])
        .on_ga(
            "UpdateEndpointGroup",
            vec![Reply::json(json!({ "EndpointGroup": updated }))],
        )
        .on_ga(
            "DescribeAccelerator",
            vec![
                Reply::json(answers::ga_accelerator(ACCEL, "IN_PROGRESS")),
                Reply::json(answers::ga_accelerator(ACCEL, "DEPLOYED")),
            ],
        );
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-west-2, dial: 100 }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-dial");
    assert_eq!(plan.region.as_deref(), Some("us-west-2"));

    let preview = aws.cutover_preview(&plan).await.unwrap();
    assert_eq!(preview, "traffic dial of us-west-2: 0% -> 100%");
    assert!(
        server.requests_of("UpdateEndpointGroup").is_empty(),
        "a preview changes nothing"
    );

    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!started.adopted);
    assert_eq!(started.outputs["previous_dial"], "0");
    let updates = server.requests_of("UpdateEndpointGroup");
    assert_eq!(updates.len(), 1, "one change request");
    let body = updates[0].json();
    assert_eq!(body["EndpointGroupArn"], group_arn("us-west-2").as_str());
    assert_eq!(body["TrafficDialPercentage"].as_f64(), Some(100.0));
    // The dial alone changes: the endpoint list is not sent, so it cannot be replaced.
    assert!(body.get("EndpointConfigurations").is_none(), "{body}");

    // Follow it until the accelerator is deployed again.
    let plan = plan.with_made(Some(&started.outputs));
    assert_eq!(
        aws.poll(&plan, Utc::now()).await.unwrap().state,
        "in_progress"
    );
    assert_eq!(aws.poll(&plan, Utc::now()).await.unwrap().state, "deployed");
    assert_eq!(
        server.requests_of("DescribeAccelerator")[0].json()["AcceleratorArn"],
        ACCEL
    );
    let changes = aws.calls().counts().transmitted_changes();
    assert_eq!(
        changes,
        vec!["globalaccelerator:UpdateEndpointGroup".to_string()]
    );
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
}

#[tokio::test]
async fn ga_set_traffic_dial_already_as_planned_is_adopted_without_a_change() {
    let server = StandIn::scripted().await;
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                standby_endpoints(),
                100.0,
                100.0,
            ))],
        );
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-west-2, dial: 100 }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-dial-again");
    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(started.adopted, "{started:?}");
    assert_eq!(
        started.outputs["previous_dial"],
        "unchanged (already as planned)"
    );
    assert!(server.requests_of("UpdateEndpointGroup").is_empty());
    assert!(aws.calls().counts().transmitted_changes().is_empty());
}

#[tokio::test]
async fn ga_set_endpoint_weights_sends_the_whole_list_read_modify_write() {
    let server = StandIn::scripted().await;
    let alb = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/ingest-use1/50dc6c495c0c9188";
    let east = vec![
        answers::ga_endpoint(alb, 128, "HEALTHY", true),
        answers::ga_endpoint("i-0bbb", 200, "HEALTHY", false),
        answers::ga_endpoint("eipalloc-0ccc", 50, "UNHEALTHY", true),
    ];
    let after = vec![
        answers::ga_endpoint(alb, 0, "HEALTHY", true),
        answers::ga_endpoint("i-0bbb", 255, "HEALTHY", false),
        answers::ga_endpoint("eipalloc-0ccc", 50, "UNHEALTHY", true),
    ];
    server
        .on_ga("ListListeners", vec![Reply::json(answers::ga_listeners(&[&listener()]))])
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(east, standby_endpoints(), 100.0, 0.0))],
        )
        .on_ga(
            "UpdateEndpointGroup",
            vec![Reply::json(json!({
                "EndpointGroup": answers::ga_group(&group_arn("us-east-1"), "us-east-1", 100.0, after)
            }))],
        );
    let rb = ga_action(
        "ga.set-endpoint-weights",
        &format!(
            "{{ endpoint_group_region: us-east-1, weights: {{ \"{alb}\": 0, i-0bbb: 255 }} }}"
        ),
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-weights");

    let preview = aws.cutover_preview(&plan).await.unwrap();
    assert_eq!(
        preview,
        format!("weights: {alb}=128,i-0bbb=200,eipalloc-0ccc=50 -> {alb}=0,i-0bbb=255")
    );

    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!started.adopted);
    assert_eq!(
        started.outputs["previous_weights"],
        format!("{alb}=128,i-0bbb=200,eipalloc-0ccc=50")
    );
    let updates = server.requests_of("UpdateEndpointGroup");
    assert_eq!(updates.len(), 1);
    let body = updates[0].json();
    assert_eq!(body["EndpointGroupArn"], group_arn("us-east-1").as_str());
    // Every endpoint goes back, in order: the two changed, the untouched one as it was, and
    // each keeps its client IP preservation.
    assert_eq!(
        body["EndpointConfigurations"],
        json!([
            { "EndpointId": alb, "Weight": 0, "ClientIPPreservationEnabled": true },
            { "EndpointId": "i-0bbb", "Weight": 255, "ClientIPPreservationEnabled": false },
            { "EndpointId": "eipalloc-0ccc", "Weight": 50, "ClientIPPreservationEnabled": true }
        ])
    );
    assert!(body.get("TrafficDialPercentage").is_none(), "{body}");
}

/// A plan whose dial or weights are not what the runbook types (a journal edited by hand, a
/// future format) is refused before anything is sent: never a guessed dial of 0, never
/// "nothing to change".
#[tokio::test]
async fn ga_plans_without_a_usable_dial_or_weights_are_refused() {
    let server = StandIn::scripted().await;
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                standby_endpoints(),
                100.0,
                0.0,
            ))],
        );
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-east-1, dial: 100 }",
    );
    let aws = cloud(&server, &rb).await;
    let (mut plan, approval) = plan_and_approval(&rb, "run-no-dial");
    // A dial that is not a number cannot even be read into a plan; parameters of another
    // action are refused, not guessed at.
    assert!(Rendered::from_json(
        plan.action,
        json!({"endpoint_group_region": "us-east-1", "dial": "all of it"})
    )
    .is_err());
    for bad in [json!({ "weights": { "i-0ccc": 0 } })] {
        plan.params = Rendered::from_json(ActionKind::Route53SetWeights, bad).unwrap();
        let result = Gated(&aws).start(&plan, &approval, Utc::now()).await;
        assert!(matches!(result, Err(CloudError::Refused(_))), "{result:?}");
        let preview = aws.cutover_preview(&plan).await;
        assert!(
            matches!(preview, Err(CloudError::Refused(_))),
            "{preview:?}"
        );
    }

    let rb = ga_action(
        "ga.set-endpoint-weights",
        "{ endpoint_group_region: us-west-2, weights: { i-0ccc: 0 } }",
    );
    let aws = cloud(&server, &rb).await;
    let (mut plan, approval) = plan_and_approval(&rb, "run-no-weights");
    assert!(Rendered::from_json(
        plan.action,
        json!({"endpoint_group_region": "us-west-2", "weights": { "i-0ccc": "none" }})
    )
    .is_err());
    for bad in [json!({"endpoint_group_region": "us-west-2", "weights": {}})] {
        plan.params = Rendered::from_json(plan.action, bad).unwrap();
        let result = Gated(&aws).start(&plan, &approval, Utc::now()).await;
        assert!(matches!(result, Err(CloudError::Refused(_))), "{result:?}");
    }
    assert!(server.requests_of("UpdateEndpointGroup").is_empty());
}

#[tokio::test]
async fn ga_set_endpoint_weights_refuses_an_unknown_endpoint_before_sending() {
    let server = StandIn::scripted().await;
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                standby_endpoints(),
                100.0,
                0.0,
            ))],
        );
    let rb = ga_action(
        "ga.set-endpoint-weights",
        "{ endpoint_group_region: us-west-2, weights: { i-0nope: 10 } }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-bad-weights");
    match Gated(&aws).start(&plan, &approval, Utc::now()).await {
        Err(CloudError::Refused(m)) => {
            assert!(m.contains("i-0nope") && m.contains("i-0ccc"), "{m}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(server.requests_of("UpdateEndpointGroup").is_empty());
}

#[tokio::test]
async fn ga_cutover_runs_unattended_through_the_engine() {
    let server = StandIn::scripted().await;
    server
        .on_ga("ListListeners", vec![Reply::json(answers::ga_listeners(&[&listener()]))])
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                standby_endpoints(),
                100.0,
                0.0,
            ))],
        )
        .on_ga(
            "UpdateEndpointGroup",
            vec![Reply::json(json!({
                "EndpointGroup": answers::ga_group(&group_arn("us-west-2"), "us-west-2", 100.0, standby_endpoints())
            }))],
        )
        .on_ga(
            "DescribeAccelerator",
            vec![
                Reply::json(answers::ga_accelerator(ACCEL, "IN_PROGRESS")),
                Reply::json(answers::ga_accelerator(ACCEL, "IN_PROGRESS")),
                Reply::json(answers::ga_accelerator(ACCEL, "DEPLOYED")),
            ],
        );
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-west-2, dial: 100 }",
    );
    let aws = cloud(&server, &rb).await;
    let dir = crate::common::temp_dir("aws-replay");
    let journal =
        Journal::create(&dir.join("run.jsonl"), "replay-test", &rb.id, Mode::Live).unwrap();
    let engine = Engine::new(rb.clone(), "run-unattended");
    let mut runner = crate::common::engine::unattended(
        engine,
        journal,
        aws,
        Utc::now().trunc_subsecs(3),
        Seen::default(),
        Input::Start,
        None,
    );
    let status = run_to_end(&mut runner).await;
    let engine = runner.engine();
    let seen = runner.observer();
    assert_eq!(status, RunStatus::Finished, "{:#?}", seen.records);
    assert!(seen.refused.is_empty(), "{:?}", seen.refused);
    assert_eq!(engine.outputs()["shift"]["previous_dial"], "0");
    // The approval records what AWS said the change would do.
    let approved: Vec<_> = seen
        .records
        .iter()
        .filter(|r| r.kind() == pilotlight::audit::EventKind::GateApproved)
        .collect();
    assert_eq!(
        approved[0].event.detail().unwrap()["seen"],
        "as AWS stands now: traffic dial of us-west-2: 0% -> 100%"
    );
    assert_eq!(server.requests_of("UpdateEndpointGroup").len(), 1);
    assert_eq!(server.requests_of("DescribeAccelerator").len(), 3);
}

// ---------------------------------------------------------------------------------------------
// AWS Health

const HEALTH_RESOURCES: &str = "  web: { kind: ec2-instance, region: us-east-1, id: i-0abc1234def567890 }
  data: { kind: ebs-volume, region: us-east-1, id: vol-0abc1234def567890, backup: { vault: billing-dr, region: us-west-2 } }
  edge: { kind: global-accelerator, arn: \"arn:aws:globalaccelerator::111122223333:accelerator/0abc1234-5678-90ab-cdef-111122223333\" }
";

#[tokio::test]
async fn health_events_are_listed_across_pages() {
    let server = StandIn::scripted().await;
    let t = crate::common::t0().timestamp();
    server.on_health(
        "DescribeEvents",
        vec![
            Reply::cbor(json!({
                "events": [answers::health_event("EC2", "us-east-1", "AWS_EC2_OPERATIONAL_ISSUE", t - 3600)],
                "nextToken": "events-2"
            })),
            Reply::cbor(json!({
                "events": [answers::health_event("EBS", "us-east-1", "AWS_EBS_VOLUME_LOST", t - 1800)]
            })),
        ],
    );
    let rb = runbook(HEALTH_RESOURCES, "");
    let aws = cloud(&server, &rb).await;
    let report = aws.health_events().await;
    assert!(report.available, "{report:?}");
    assert_eq!(report.note, None);
    let seen: Vec<(&str, &str, &str, &str)> = report
        .events
        .iter()
        .map(|e| {
            (
                e.service.as_str(),
                e.region.as_str(),
                e.event_type.as_str(),
                e.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("EC2", "us-east-1", "AWS_EC2_OPERATIONAL_ISSUE", "open"),
            ("EBS", "us-east-1", "AWS_EBS_VOLUME_LOST", "open"),
        ]
    );
    assert_eq!(
        report.events[0].started,
        Some(crate::common::t0() - TimeDelta::hours(1))
    );
    let summary = report.summary().unwrap();
    assert!(summary.contains("2 open event(s)"), "{summary}");

    // The request: RPC v2 CBOR, filtered to the runbook's regions and services, open events.
    let sent = server.requests_of("DescribeEvents");
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].path,
        "/service/AWSHealth_20160804/operation/DescribeEvents"
    );
    assert_eq!(sent[0].header("smithy-protocol"), Some("rpc-v2-cbor"));
    let input = sent[0].cbor();
    let filter = &input["filter"];
    let mut regions: Vec<&str> = filter["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    regions.sort_unstable();
    assert_eq!(regions, ["us-east-1", "us-west-2"]);
    assert_eq!(
        filter["services"],
        json!(["BACKUP", "EBS", "EC2", "GLOBALACCELERATOR"])
    );
    assert_eq!(filter["eventStatusCodes"], json!(["open"]));
    assert_eq!(sent[1].cbor()["nextToken"], "events-2");
}

#[tokio::test]
async fn health_without_a_support_plan_says_so_once() {
    let server = StandIn::scripted().await;
    server.on_health(
        "DescribeEvents",
        vec![Reply::cbor_error(
            "SubscriptionRequiredException",
            "The AWS Health API requires a Business, Enterprise On-Ramp, or Enterprise Support plan.",
        )],
    );
    let rb = runbook(HEALTH_RESOURCES, "");
    let aws = cloud(&server, &rb).await;
    let report = aws.health_events().await;
    assert!(!report.available);
    assert!(report.events.is_empty());
    let note = report.note.clone().unwrap();
    assert!(note.contains("Health API unavailable"), "{note}");
    assert!(note.contains("support plan"), "{note}");
    assert_eq!(report.summary(), Some(note));
    // Not an error storm: one request, not retried.
    assert_eq!(server.requests_of("DescribeEvents").len(), 1);
    let counts = aws.calls().counts();
    assert_eq!(counts.transmitted["health:DescribeEvents"], 1);
}

#[tokio::test]
async fn health_denied_or_silent_is_a_note_not_an_error() {
    let server = StandIn::scripted().await;
    server.on_health(
        "DescribeEvents",
        vec![Reply::cbor_error(
            "AccessDeniedException",
            "User is not authorized to perform: health:DescribeEvents",
        )],
    );
    let rb = runbook(HEALTH_RESOURCES, "");
    let aws = cloud(&server, &rb).await;
    let report = aws.health_events().await;
    assert!(!report.available);
    let note = report.note.unwrap();
    assert!(note.contains("Health API unavailable"), "{note}");
    assert!(note.contains("health:DescribeEvents"), "{note}");
    assert_eq!(server.requests_of("DescribeEvents").len(), 1);

    // No answer at all: the note says so within the operation timeout.
    let silent = StandIn::scripted().await;
    silent.on_health("DescribeEvents", vec![Reply::hang()]);
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        attempt: Duration::from_millis(300),
        operation: Duration::from_millis(900),
        max_attempts: 2,
    };
    let aws = cloud_at(silent.url(), &rb, timeouts, Endpoints::new()).await;
    let t = Instant::now();
    let report = aws.health_events().await;
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(!report.available);
    let note = report.note.unwrap();
    assert!(
        note.contains("Health API unavailable: no answer within"),
        "{note}"
    );
}

#[tokio::test]
async fn health_answers_from_us_east_2_when_us_east_1_is_dark() {
    let hole = StandIn::black_hole().await;
    let server = StandIn::scripted().await;
    let t = crate::common::t0().timestamp();
    server.on_health(
        "DescribeEvents",
        vec![Reply::cbor(json!({
            "events": [answers::health_event("EC2", "us-east-1", "AWS_EC2_OPERATIONAL_ISSUE", t - 600)]
        }))],
    );
    let rb = runbook(HEALTH_RESOURCES, "");
    let endpoints = Endpoints::from([("health@us-east-1".to_string(), hole.url().to_string())]);
    let aws = cloud_at(server.url(), &rb, quick(), endpoints).await;
    let report = aws.health_events().await;
    assert!(report.available, "{report:?}");
    assert_eq!(report.events.len(), 1, "{report:?}");
    assert_eq!(report.events[0].event_type, "AWS_EC2_OPERATIONAL_ISSUE");
    assert!(hole.connections() >= 1, "us-east-1 was asked first");
    let sent = server.requests_of("DescribeEvents");
    assert_eq!(sent.len(), 1);
    let auth = sent[0].header("authorization").unwrap_or_default();
    assert!(
        auth.contains("/us-east-2/health/"),
        "signed for us-east-2: {auth}"
    );

    // An HTTP 503 page that names no AWS error is no answer either.
    let broken = StandIn::scripted().await;
    broken.on_health(
        "DescribeEvents",
        vec![Reply {
            status: 503,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html><body>Service Unavailable</body></html>".to_vec(),
            hang: false,
        }],
    );
    let endpoints = Endpoints::from([("health@us-east-1".to_string(), broken.url().to_string())]);
    let aws = cloud_at(server.url(), &rb, quick(), endpoints).await;
    let report = aws.health_events().await;
    assert!(report.available, "{report:?}");
    assert_eq!(broken.requests_of("DescribeEvents").len(), 1);
    assert_eq!(server.requests_of("DescribeEvents").len(), 2);

    // Both dark: one note naming both regions, not an error.
    let endpoints = Endpoints::from([("health".to_string(), hole.url().to_string())]);
    let aws = cloud_at(server.url(), &rb, quick(), endpoints).await;
    let report = aws.health_events().await;
    assert!(!report.available);
    let note = report.note.unwrap();
    assert!(
        note.starts_with("Health API unavailable: no answer within"),
        "{note}"
    );
    assert!(note.contains("us-east-1 and us-east-2"), "{note}");
}

// ---------------------------------------------------------------------------------------------
// AWS Backup

fn volume_arn(region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}:111122223333:volume/{id}")
}

fn point_arn(n: u32) -> String {
    format!("arn:aws:ec2:us-west-2::snapshot/snap-0replay{n:04}")
}

async fn moto_volume(region: &str) -> String {
    let sdk = crate::common::moto::sdk_config(crate::common::moto::url(), region).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let out = ec2
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(8)
        .send()
        .await
        .unwrap();
    out.volume_id().unwrap().to_string()
}

#[tokio::test]
async fn a_vault_that_cannot_be_read_says_why_the_recovery_points_are_unknown() {
    let a = moto_volume("us-east-1").await;
    let server = StandIn::scripted().await;
    server.on(
        "GET",
        "/backup-vaults/billing-dr/recovery-points",
        vec![Reply::rest_error(403, "AccessDeniedException", "no")],
    );
    let rb = runbook(
        &format!(
            "  a: {{ kind: ebs-volume, region: us-east-1, id: {a}, backup: {{ vault: billing-dr, region: us-west-2 }} }}\n"
        ),
        "",
    );
    let endpoints = Endpoints::from([("backup".to_string(), server.url().to_string())]);
    let aws = cloud_at(crate::common::moto::url(), &rb, quick(), endpoints).await;
    let obs =
        by_name(observe_all(&aws, rb.resources.values().cloned().collect(), Utc::now()).await);
    // The volume itself answered; what is missing, and why, is in its state, not silence.
    let a = obs["a"].as_ref().unwrap();
    assert_eq!(a.health, Health::Ok);
    assert_eq!(a.latest_recovery_point, None);
    assert!(
        a.state.contains("recovery points unknown")
            && a.state.contains("backup:ListRecoveryPointsByBackupVault"),
        "{}",
        a.state
    );
}

#[tokio::test]
async fn backup_vault_gives_each_resource_its_newest_completed_point() {
    // EBS volumes from moto (EC2), their recovery points from the replayed Backup vault.
    let a = moto_volume("us-east-1").await;
    let b = moto_volume("us-east-1").await;
    let c = moto_volume("us-west-2").await;
    let t = crate::common::t0().timestamp();
    let server = StandIn::scripted().await;
    let page1 = json!({
        "RecoveryPoints": [
            answers::backup_point(&point_arn(1), &volume_arn("us-east-1", &a), "COMPLETED", t - 7200),
            // Newer, but not usable.
            answers::backup_point(&point_arn(2), &volume_arn("us-east-1", &a), "PARTIAL", t - 600),
            answers::backup_point(&point_arn(3), &volume_arn("us-east-1", &a), "EXPIRED", t - 300),
            // Another volume whose id starts with `a`'s.
            answers::backup_point(&point_arn(4), &volume_arn("us-east-1", &format!("{a}9")), "COMPLETED", t - 60),
            answers::backup_point(&point_arn(5), &volume_arn("us-west-2", &c), "COMPLETED", t - 900),
        ],
        "NextToken": "points-2"
    });
    let page2 = json!({
        "RecoveryPoints": [
            answers::backup_point(&point_arn(6), &volume_arn("us-east-1", &a), "COMPLETED", t - 1800),
            answers::backup_point(&point_arn(7), &volume_arn("us-east-1", &a), "COMPLETED", t - 3600),
        ]
    });
    server.on(
        "GET",
        "/backup-vaults/billing-dr/recovery-points",
        vec![Reply::rest(page1), Reply::rest(page2)],
    );
    let rb = runbook(
        &format!(
            "  a: {{ kind: ebs-volume, region: us-east-1, id: {a}, backup: {{ vault: billing-dr, region: us-west-2 }} }}
  b: {{ kind: ebs-volume, region: us-east-1, id: {b}, backup: {{ vault: billing-dr, region: us-west-2 }} }}
  c: {{ kind: ebs-volume, region: us-west-2, id: {c}, backup: {{ vault: billing-dr, region: us-west-2 }} }}
"
        ),
        "",
    );
    let endpoints = Endpoints::from([("backup".to_string(), server.url().to_string())]);
    let aws = cloud_at(crate::common::moto::url(), &rb, quick(), endpoints).await;
    let obs =
        by_name(observe_all(&aws, rb.resources.values().cloned().collect(), Utc::now()).await);

    let status = |n: &str| obs[n].as_ref().unwrap_or_else(|e| panic!("{n}: {e}"));
    // The newest COMPLETED point of `a`, found on the second page; a copy in another region.
    assert_eq!(
        status("a").latest_recovery_point,
        Some(RecoveryPoint {
            id: point_arn(6),
            at: crate::common::t0() - TimeDelta::minutes(30),
            kind: RecoveryPointKind::BackupCopy,
        })
    );
    // `b` has none.
    assert_eq!(status("b").latest_recovery_point, None);
    // `c` lives in the vault's region: a plain backup.
    assert_eq!(
        status("c").latest_recovery_point,
        Some(RecoveryPoint {
            id: point_arn(5),
            at: crate::common::t0() - TimeDelta::minutes(15),
            kind: RecoveryPointKind::Backup,
        })
    );
    assert_eq!(status("a").health, Health::Ok);

    // One listing of the vault (two pages) for all three resources, in the vault's region.
    let sent = server.requests_of("GET /backup-vaults/billing-dr/recovery-points");
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert!(
        sent[1].path.contains("nextToken=points-2"),
        "{}",
        sent[1].path
    );
    assert!(
        sent[0]
            .header("authorization")
            .is_some_and(|a| a.contains("/us-west-2/backup/")),
        "{:?}",
        sent[0].header("authorization")
    );
}

#[tokio::test]
async fn backup_restore_sends_the_token_and_follows_the_job() {
    let t = crate::common::t0().timestamp();
    let volume = "vol-0abc1234def567890";
    let server = StandIn::scripted().await;
    server
        .on(
            "GET",
            "/backup-vaults/billing-dr/recovery-points",
            vec![Reply::rest(json!({
                "RecoveryPoints": [
                    answers::backup_point(&point_arn(1), &volume_arn("us-east-1", volume), "COMPLETED", t - 7200),
                    answers::backup_point(&point_arn(2), &volume_arn("us-east-1", volume), "COMPLETED", t - 1200),
                    answers::backup_point(&point_arn(3), &volume_arn("us-east-1", volume), "RUNNING", t - 60),
                ]
            }))],
        )
        .on(
            "PUT",
            "/restore-jobs",
            vec![Reply::rest(json!({ "RestoreJobId": "restore-0001" }))],
        )
        .on(
            "GET",
            "/restore-jobs/restore-0001",
            vec![
                // Throttled once (restJson: the code in x-amzn-ErrorType), then answered.
                Reply::rest_error(400, "ThrottlingException", "Rate exceeded"),
                Reply::rest(answers::restore_job("restore-0001", "RUNNING", "12.50%", t, 40, None)),
                Reply::rest(answers::restore_job("restore-0001", "RUNNING", "80.00%", t, 40, None)),
                Reply::rest(answers::restore_job(
                    "restore-0001",
                    "COMPLETED",
                    "100.00%",
                    t,
                    40,
                    Some("arn:aws:ec2:us-west-2:111122223333:volume/vol-0restored"),
                )),
            ],
        );
    let rb = runbook(
        &format!("  data: {{ kind: ebs-volume, region: us-east-1, id: {volume}, backup: {{ vault: billing-dr, region: us-west-2 }} }}\n"),
        &format!(
            "  - id: restore
    kind: action
    action: backup.start-restore
    resource: data
    with:
      recovery_point: latest
      iam_role_arn: {ROLE}
      metadata: {{ availabilityZone: us-west-2a, volumeType: gp3 }}
    wait_until: completed
    timeout: 2h
    gate: {{ confirm: true }}
"
        ),
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-restore");
    assert_eq!(
        plan.region.as_deref(),
        Some("us-west-2"),
        "the vault's region"
    );

    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!started.adopted);
    assert_eq!(started.outputs["restore_job_id"], "restore-0001");
    assert_eq!(started.outputs["recovery_point_arn"], point_arn(2));
    let sent = server.requests_of("PUT /restore-jobs");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    assert_eq!(body["IdempotencyToken"], plan.token.as_str());
    assert_eq!(body["RecoveryPointArn"], point_arn(2).as_str());
    assert_eq!(body["IamRoleArn"], ROLE);
    assert_eq!(
        body["Metadata"],
        json!({ "availabilityZone": "us-west-2a", "volumeType": "gp3" })
    );

    let plan = plan.with_made(Some(&started.outputs));
    let expected_done = Some(crate::common::t0() + TimeDelta::minutes(40));
    let first = aws.poll(&plan, Utc::now()).await.unwrap();
    assert_eq!(first.state, "running");
    assert_eq!(first.percent, Some(12));
    assert_eq!(first.expected_done, expected_done);
    assert!(first.outputs.is_empty(), "{first:?}");
    // The throttled answer was retried inside the one poll.
    assert_eq!(
        server.requests_of("GET /restore-jobs/restore-0001").len(),
        2
    );

    let second = aws.poll(&plan, Utc::now()).await.unwrap();
    assert_eq!(
        (second.state.as_str(), second.percent),
        ("running", Some(80))
    );
    let done = aws.poll(&plan, Utc::now()).await.unwrap();
    assert_eq!(done.state, "completed");
    assert_eq!(done.percent, Some(100));
    assert_eq!(
        done.outputs["created_resource_arn"],
        "arn:aws:ec2:us-west-2:111122223333:volume/vol-0restored"
    );
    let counts = aws.calls().counts();
    assert_eq!(counts.operations["backup:DescribeRestoreJob"], 3);
    assert_eq!(counts.transmitted["backup:DescribeRestoreJob"], 4);
    assert_eq!(counts.transmitted["backup:StartRestoreJob"], 1);
    assert!(server.unmatched().is_empty(), "{:?}", server.unmatched());
}

/// A restore job as ListRestoreJobs lists it.
fn listed_job(id: &str, point: &str, role: &str, status: &str, created_secs: i64) -> Value {
    let mut job = answers::restore_job(id, status, "10.00%", created_secs, 40, None);
    job["RecoveryPointArn"] = json!(point);
    job["IamRoleArn"] = json!(role);
    job
}

#[tokio::test]
async fn a_backup_retry_follows_the_job_an_earlier_attempt_started() {
    let t = crate::common::t0().timestamp();
    let volume = "vol-0abc1234def567890";
    let other_role = "arn:aws:iam::111122223333:role/someone-else";
    let rb = runbook(
        &format!("  data: {{ kind: ebs-volume, region: us-east-1, id: {volume}, backup: {{ vault: billing-dr, region: us-west-2 }} }}\n"),
        &format!(
            "  - id: restore
    kind: action
    action: backup.start-restore
    resource: data
    with: {{ recovery_point: latest, iam_role_arn: {ROLE} }}
    wait_until: completed
    gate: {{ confirm: true }}
"
        ),
    );
    let (first, approval) = plan_and_approval(&rb, "run-retry");
    // The engine stamps when the step first asked for its change; the retry keeps it.
    let since = first
        .since
        .expect("the engine says when the step first asked");
    let s = since.timestamp();
    let retry = ActionPlan {
        attempt: 2,
        token: pilotlight::model::token("run-retry", "restore", 2),
        ..first
    };
    let server = StandIn::scripted().await;
    server
        .on(
            "GET",
            "/backup-vaults/billing-dr/recovery-points",
            vec![Reply::rest(json!({
                "RecoveryPoints": [
                    answers::backup_point(&point_arn(1), &volume_arn("us-east-1", volume), "COMPLETED", t - 7200),
                    answers::backup_point(&point_arn(2), &volume_arn("us-east-1", volume), "COMPLETED", t - 1200),
                    answers::backup_point(&point_arn(9), &volume_arn("us-east-1", "vol-0other"), "COMPLETED", t - 60),
                ]
            }))],
        )
        .on(
            "GET",
            "/restore-jobs?",
            vec![
                // 1. The first attempt's request timed out, but its job is running.
                Reply::rest(json!({
                    "RestoreJobs": [
                        listed_job("restore-0005", &point_arn(2), ROLE, "FAILED", s + 60),
                        listed_job("restore-0006", &point_arn(2), other_role, "RUNNING", s + 90),
                        listed_job("restore-0007", &point_arn(1), ROLE, "RUNNING", s + 120),
                        listed_job("restore-0008", &point_arn(9), ROLE, "RUNNING", s + 150),
                    ]
                })),
                // 2. Every job of the step failed; a live one from before the step asked is
                //    somebody else's: a retry starts a new one.
                Reply::rest(json!({
                    "RestoreJobs": [
                        listed_job("restore-0004", &point_arn(2), ROLE, "RUNNING", s - 3600),
                        listed_job("restore-0005", &point_arn(2), ROLE, "FAILED", s + 60),
                    ]
                })),
            ],
        )
        .on(
            "PUT",
            "/restore-jobs",
            vec![Reply::rest(json!({ "RestoreJobId": "restore-0009" }))],
        );
    let aws = cloud(&server, &rb).await;

    let adopted = Gated(&aws)
        .start(&retry, &approval, Utc::now())
        .await
        .unwrap();
    assert!(adopted.adopted, "{adopted:?}");
    // The newest live job of one of this volume's points, with the step's role.
    assert_eq!(adopted.outputs["restore_job_id"], "restore-0007");
    assert_eq!(adopted.outputs["recovery_point_arn"], point_arn(1));
    assert!(server.requests_of("PUT /restore-jobs").is_empty());
    let listed = server.requests_of("GET /restore-jobs?");
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].path.contains("createdAfter="),
        "only jobs since the step asked: {}",
        listed[0].path
    );

    let fresh = Gated(&aws)
        .start(&retry, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!fresh.adopted, "{fresh:?}");
    assert_eq!(fresh.outputs["restore_job_id"], "restore-0009");
    let sent = server.requests_of("PUT /restore-jobs");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["IdempotencyToken"], retry.token.as_str());
    assert_eq!(sent[0].json()["RecoveryPointArn"], point_arn(2).as_str());

    // The first attempt itself never lists: its IdempotencyToken is enough.
    let mut once = retry.clone();
    once.attempt = 1;
    Gated(&aws)
        .start(&once, &approval, Utc::now())
        .await
        .unwrap();
    assert_eq!(server.requests_of("GET /restore-jobs?").len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Error mapping

#[tokio::test]
async fn throttled_once_then_retried() {
    let server = StandIn::scripted().await;
    server
        .on_ga(
            "ListListeners",
            vec![
                Reply::json_error("ThrottlingException", "Rate exceeded"),
                Reply::json(answers::ga_listeners(&[&listener()])),
            ],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                vec![],
                100.0,
                0.0,
            ))],
        );
    let rb = runbook(GA_RESOURCE, "");
    let aws = cloud(&server, &rb).await;
    let status = aws
        .observe(&rb.resources["edge"], Utc::now())
        .await
        .unwrap();
    assert_eq!(status.health, Health::Ok);
    assert_eq!(server.requests_of("ListListeners").len(), 2);
    let counts = aws.calls().counts();
    assert_eq!(counts.operations["globalaccelerator:ListListeners"], 1);
    assert_eq!(counts.transmitted["globalaccelerator:ListListeners"], 2);
}

#[tokio::test]
async fn throttled_past_the_retries_says_so() {
    let server = StandIn::scripted().await;
    server.on_ga(
        "ListListeners",
        vec![Reply::json_error("ThrottlingException", "Rate exceeded")],
    );
    let rb = runbook(GA_RESOURCE, "");
    let timeouts = Timeouts {
        max_attempts: 2,
        ..quick()
    };
    let aws = cloud_at(server.url(), &rb, timeouts, Endpoints::new()).await;
    match aws.observe(&rb.resources["edge"], Utc::now()).await {
        Err(CloudError::Api { code, message }) => {
            assert_eq!(code, "ThrottlingException");
            assert!(
                message.contains("globalaccelerator:ListListeners"),
                "{message}"
            );
        }
        other => panic!("expected throttling, got {other:?}"),
    }
    assert_eq!(server.requests_of("ListListeners").len(), 2, "max_attempts");
}

#[tokio::test]
async fn access_denied_names_the_iam_action() {
    let server = StandIn::scripted().await;
    server.on_ga(
        "ListListeners",
        vec![Reply::json_error(
            "AccessDeniedException",
            "User: arn:aws:sts::111122223333:assumed-role/dr/ops is not authorized to perform: globalaccelerator:ListListeners",
        )],
    );
    let rb = runbook(GA_RESOURCE, "");
    let aws = cloud(&server, &rb).await;
    let err = aws
        .observe(&rb.resources["edge"], Utc::now())
        .await
        .unwrap_err();
    match &err {
        CloudError::AccessDenied { action, message } => {
            assert_eq!(action, "globalaccelerator:ListListeners");
            assert!(message.contains("not authorized"), "{message}");
        }
        other => panic!("expected AccessDenied, got {other:?}"),
    }
    assert!(
        err.to_string().contains("globalaccelerator:ListListeners"),
        "{err}"
    );
    assert_eq!(server.requests_of("ListListeners").len(), 1, "not retried");

    // The second read of the chain names its own action.
    let server = StandIn::scripted().await;
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json_error("AccessDeniedException", "denied")],
        );
    let aws = cloud(&server, &rb).await;
    match aws.observe(&rb.resources["edge"], Utc::now()).await {
        Err(CloudError::AccessDenied { action, .. }) => {
            assert_eq!(action, "globalaccelerator:ListEndpointGroups");
        }
        other => panic!("expected AccessDenied, got {other:?}"),
    }

    // restJson (AWS Backup): 403 with the code in x-amzn-ErrorType.
    let server = StandIn::scripted().await;
    server.on(
        "GET",
        "/backup-vaults/billing-dr/recovery-points",
        vec![Reply::rest_error(403, "AccessDeniedException", "no")],
    );
    let rb = restore_runbook("latest");
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-denied");
    match Gated(&aws).start(&plan, &approval, Utc::now()).await {
        Err(CloudError::AccessDenied { action, .. }) => {
            assert_eq!(action, "backup:ListRecoveryPointsByBackupVault");
        }
        other => panic!("expected AccessDenied, got {other:?}"),
    }
    assert!(server.requests_of("PUT /restore-jobs").is_empty());
}

/// A runbook restoring one volume from `recovery_point` in the billing-dr vault.
fn restore_runbook(recovery_point: &str) -> Arc<Runbook> {
    runbook(
        "  data: { kind: ebs-volume, region: us-east-1, id: vol-0abc1234def567890, backup: { vault: billing-dr, region: us-west-2 } }\n",
        &format!(
            "  - id: restore
    kind: action
    action: backup.start-restore
    resource: data
    with: {{ recovery_point: \"{recovery_point}\", iam_role_arn: {ROLE} }}
    wait_until: completed
    gate: {{ confirm: true }}
"
        ),
    )
}

#[tokio::test]
async fn not_found_is_not_found() {
    // awsJson: the accelerator is gone.
    let server = StandIn::scripted().await;
    server.on_ga(
        "ListListeners",
        vec![Reply::json_error(
            "AcceleratorNotFoundException",
            "Accelerator not found",
        )],
    );
    let rb = runbook(GA_RESOURCE, "");
    let aws = cloud(&server, &rb).await;
    match aws.observe(&rb.resources["edge"], Utc::now()).await {
        Err(CloudError::NotFound(m)) => assert!(m.contains("AcceleratorNotFoundException"), "{m}"),
        other => panic!("expected NotFound, got {other:?}"),
    }

    // The endpoint group the step names does not exist.
    let server = StandIn::scripted().await;
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                vec![],
                100.0,
                0.0,
            ))],
        );
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: eu-west-1, dial: 100 }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-no-group");
    match Gated(&aws).start(&plan, &approval, Utc::now()).await {
        Err(CloudError::NotFound(m)) => assert!(m.contains("eu-west-1"), "{m}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(server.requests_of("UpdateEndpointGroup").is_empty());

    // restJson: the restore job is unknown (404, code in x-amzn-ErrorType).
    let server = StandIn::scripted().await;
    server
        .on(
            "PUT",
            "/restore-jobs",
            vec![Reply::rest(json!({ "RestoreJobId": "restore-gone" }))],
        )
        .on(
            "GET",
            "/restore-jobs/",
            vec![Reply::rest_error(
                404,
                "ResourceNotFoundException",
                "Restore job restore-gone not found",
            )],
        );
    let rb = restore_runbook(&point_arn(1));
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-gone");
    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    // A named recovery point is used as is: no vault listing.
    assert!(server.requests_of("GET /backup-vaults/").is_empty());
    assert_eq!(
        server.requests_of("PUT /restore-jobs")[0].json()["RecoveryPointArn"],
        point_arn(1).as_str()
    );
    let plan = plan.with_made(Some(&started.outputs));
    match aws.poll(&plan, Utc::now()).await {
        Err(CloudError::NotFound(m)) => assert!(m.contains("restore-gone"), "{m}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Timeouts

#[tokio::test]
async fn a_replayed_call_without_an_answer_times_out() {
    let server = StandIn::scripted().await;
    server.on_ga("ListListeners", vec![Reply::hang()]);
    let rb = runbook(GA_RESOURCE, "");
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        attempt: Duration::from_millis(300),
        operation: Duration::from_millis(900),
        max_attempts: 2,
    };
    let aws = cloud_at(server.url(), &rb, timeouts, Endpoints::new()).await;
    let t = Instant::now();
    let result = aws.observe(&rb.resources["edge"], Utc::now()).await;
    let took = t.elapsed();
    assert!(matches!(result, Err(CloudError::Timeout(_))), "{result:?}");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!server.requests_of("ListListeners").is_empty());
}

#[tokio::test]
async fn a_black_holed_region_fails_alone_and_last() {
    // EC2 in us-east-1 never answers; EC2 in us-west-2 is moto; Global Accelerator is replayed.
    let hole = StandIn::black_hole().await;
    let server = StandIn::scripted().await;
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                vec![],
                100.0,
                0.0,
            ))],
        );
    let west = moto_volume("us-west-2").await;
    let rb = runbook(
        &format!(
            "{GA_RESOURCE}  west-data: {{ kind: ebs-volume, region: us-west-2, id: {west} }}
  east-web: {{ kind: ec2-instance, region: us-east-1, id: i-0abc1234def567890 }}
  east-data: {{ kind: ebs-volume, region: us-east-1, id: vol-0abc1234def567890 }}
"
        ),
        "",
    );
    let endpoints = Endpoints::from([
        ("globalaccelerator".to_string(), server.url().to_string()),
        ("ec2@us-east-1".to_string(), hole.url().to_string()),
    ]);
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        attempt: Duration::from_millis(500),
        operation: Duration::from_millis(1500),
        max_attempts: 2,
    };
    let aws = cloud_at(crate::common::moto::url(), &rb, timeouts, endpoints).await;
    // Warm moto up outside the measurement (its first answer can be slow).
    let _ = aws.observe(&rb.resources["west-data"], Utc::now()).await;

    let t = Instant::now();
    let mut batches: Vec<(Duration, Vec<Observation>)> = Vec::new();
    let mut stream =
        Box::pin(aws.observe_batches(rb.resources.values().cloned().collect(), Utc::now()));
    while let Some(batch) = stream.next().await {
        batches.push((t.elapsed(), batch));
    }
    let order: Vec<(Duration, Vec<String>)> = batches
        .iter()
        .map(|(at, b)| (*at, b.iter().map(|(n, _)| n.clone()).collect()))
        .collect();
    println!("batches: {order:?}");
    let index_of = |name: &str| {
        order
            .iter()
            .position(|(_, names)| names.iter().any(|n| n == name))
            .unwrap_or_else(|| panic!("{name} was not observed: {order:?}"))
    };
    for healthy in ["edge", "west-data"] {
        for silent in ["east-web", "east-data"] {
            assert!(
                index_of(healthy) < index_of(silent),
                "{healthy} must arrive before {silent}: {order:?}"
            );
        }
    }
    let obs = by_name(batches.into_iter().flat_map(|(_, b)| b).collect());
    assert_eq!(obs["edge"].as_ref().unwrap().health, Health::Ok);
    assert_eq!(obs["west-data"].as_ref().unwrap().state, "available");
    for silent in ["east-web", "east-data"] {
        assert!(
            matches!(obs[silent], Err(CloudError::Timeout(_))),
            "{silent}: {:?}",
            obs[silent]
        );
    }
    // Bounded: each silent call gives up within the operation timeout.
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        hole.connections() > 0,
        "the requests went to the black hole"
    );
}
