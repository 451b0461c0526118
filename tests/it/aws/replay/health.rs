use super::*;

// ---------------------------------------------------------------------------------------------
// AWS Health

pub(crate) const HEALTH_RESOURCES: &str = "  web: { kind: ec2-instance, region: us-east-1, id: i-0abc1234def567890 }
  data: { kind: ebs-volume, region: us-east-1, id: vol-0abc1234def567890, backup: { vault: billing-dr, region: us-west-2 } }
  edge: { kind: global-accelerator, arn: \"arn:aws:globalaccelerator::111122223333:accelerator/0abc1234-5678-90ab-cdef-111122223333\" }
";

#[tokio::test]
pub(crate) async fn health_events_are_listed_across_pages() {
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

    // The request: RPC v2 CBOR, filtered to the runbook's services and open events; not to
    // regions, which would hide global events (the regions are kept on this side).
    let sent = server.requests_of("DescribeEvents");
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].path,
        "/service/AWSHealth_20160804/operation/DescribeEvents"
    );
    assert_eq!(sent[0].header("smithy-protocol"), Some("rpc-v2-cbor"));
    let input = sent[0].cbor();
    let filter = &input["filter"];
    assert_eq!(filter.get("regions"), None, "{filter}");
    assert_eq!(
        filter["services"],
        json!(["BACKUP", "EBS", "EC2", "GLOBALACCELERATOR"])
    );
    assert_eq!(filter["eventStatusCodes"], json!(["open"]));
    assert_eq!(sent[1].cbor()["nextToken"], "events-2");
}

#[tokio::test]
pub(crate) async fn health_without_a_support_plan_says_so_once() {
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
pub(crate) async fn health_denied_or_silent_is_a_note_not_an_error() {
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
pub(crate) async fn health_answers_from_us_east_2_when_us_east_1_is_dark() {
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

#[tokio::test]
pub(crate) async fn global_events_are_kept_and_other_regions_left_out() {
    let server = StandIn::scripted().await;
    let t = crate::common::t0().timestamp();
    server.on_health(
        "DescribeEvents",
        vec![Reply::cbor(json!({
            "events": [
                answers::health_event("GLOBALACCELERATOR", "global", "AWS_GLOBALACCELERATOR_OPERATIONAL_ISSUE", t - 600),
                answers::health_event("EC2", "eu-west-1", "AWS_EC2_OPERATIONAL_ISSUE", t - 600),
                answers::health_event("EC2", "us-east-1", "AWS_EC2_OPERATIONAL_ISSUE", t - 300),
            ]
        }))],
    );
    let rb = runbook(HEALTH_RESOURCES, "");
    let aws = cloud(&server, &rb).await;
    let report = aws.health_events().await;
    let seen: Vec<(&str, &str)> = report
        .events
        .iter()
        .map(|e| (e.service.as_str(), e.region.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("GLOBALACCELERATOR", "global"), ("EC2", "us-east-1")],
        "{report:?}"
    );
}

/// Addresses by host name, as DNS would give them.
struct Table(Vec<(&'static str, &'static str)>);

impl pilotlight::cloud::aws::Lookup for Table {
    fn addresses<'a>(
        &'a self,
        host: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Vec<std::net::IpAddr>> {
        let found = self
            .0
            .iter()
            .filter(|(h, _)| *h == host)
            .map(|(_, ip)| ip.parse().unwrap())
            .collect();
        Box::pin(async move { found })
    }
}

#[tokio::test]
pub(crate) async fn health_asks_the_active_region_first_though_both_answer() {
    // AWS has made us-east-2 the active Health region; us-east-1 still answers (passive).
    let server = StandIn::scripted().await;
    server.on_health("DescribeEvents", vec![Reply::cbor(json!({ "events": [] }))]);
    let rb = runbook(HEALTH_RESOURCES, "");
    let dns = Table(vec![
        ("global.health.amazonaws.com", "192.0.2.20"),
        ("health.us-east-1.amazonaws.com", "192.0.2.10"),
        ("health.us-east-2.amazonaws.com", "192.0.2.20"),
    ]);
    let aws = cloud(&server, &rb)
        .await
        .with_lookup(Some(std::sync::Arc::new(dns)));
    let report = aws.health_events().await;
    assert!(report.available, "{report:?}");
    let sent = server.requests_of("DescribeEvents");
    assert_eq!(sent.len(), 1);
    let auth = sent[0].header("authorization").unwrap_or_default();
    assert!(
        auth.contains("/us-east-2/health/"),
        "signed for us-east-2: {auth}"
    );

    // DNS that says nothing useful: the usual order.
    let server = StandIn::scripted().await;
    server.on_health("DescribeEvents", vec![Reply::cbor(json!({ "events": [] }))]);
    let aws = cloud(&server, &rb)
        .await
        .with_lookup(Some(std::sync::Arc::new(Table(Vec::new()))));
    aws.health_events().await;
    let auth = server.requests_of("DescribeEvents")[0]
        .header("authorization")
        .unwrap_or_default()
        .to_string();
    assert!(auth.contains("/us-east-1/health/"), "{auth}");
}
