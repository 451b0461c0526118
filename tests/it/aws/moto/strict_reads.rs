//! Reads where AWS is stricter than moto (the strict stand-in in front of it): an id AWS will
//! not answer for blinds only itself, and errors are one line.

use super::*;
use crate::common::standin::{Reply, StandIn};
use crate::common::strict::RefuseWhen;

#[tokio::test]
pub(crate) async fn one_id_aws_will_not_answer_for_does_not_blind_its_region() {
    let m = Moto::new(REGION).await;
    let servers = m.run_instances(5, &unique("split")).await;
    let bad = "i-0bad0bad0bad0bad0";
    // AWS chokes on any batch holding the bad id, with an answer the SDK cannot read.
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    proxy.strict(RefuseWhen::new(
        "DescribeInstanceStatus",
        move |r| String::from_utf8_lossy(&r.body).contains(bad),
        Reply {
            status: 400,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html>\n<body>\n\x1b[31mBad Request\x1b[0m\n</body>\n</html>\n".to_vec(),
            hang: false,
        },
    ));
    let mut lines: Vec<String> = servers
        .iter()
        .enumerate()
        .map(|(i, id)| res(&format!("web-{i}"), "ec2-instance", REGION, id))
        .collect();
    lines.insert(2, res("odd", "ec2-instance", REGION, bad));
    let runbook = watch_runbook(&lines, "web-0");
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadOnly,
            Timeouts::default(),
            Endpoints::from([("ec2".to_string(), proxy.url().to_string())]),
        ),
        runbook.clone(),
    );
    let resources = runbook.resources.values().cloned().collect();
    let seen = by_name(observe_all(&aws, resources, Utc::now()).await);
    for i in 0..servers.len() {
        let web = ok(&seen, &format!("web-{i}"));
        assert_eq!(web.state, "running", "web-{i}: {web:?}");
    }
    let err = seen["odd"].as_ref().unwrap_err().to_string();
    println!("odd: {err}");
    assert!(!err.contains('\n') && !err.contains('\x1b'), "{err:?}");
    assert!(err.len() < 400, "{} bytes: {err}", err.len());
    // Splitting costs a few calls, not one per instance.
    let calls = aws.calls().counts();
    print_counts("one bad id among six", &calls);
    assert!(
        calls.operations["ec2:DescribeInstanceStatus"] <= 7,
        "{calls:?}"
    );
}

/// A GetHealthCheckStatus answer: `success` of `checkers` report "Success".
fn checkers(success: usize, checkers: usize) -> Reply {
    let regions = [
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "sa-east-1",
    ];
    let observations: String = (0..checkers)
        .map(|i| {
            let status = if i < success {
                "Success: HTTP Status Code 200, OK"
            } else {
                "Failure: Connection timed out. The endpoint or the internet connection is down."
            };
            format!(
                "<HealthCheckObservation><Region>{}</Region><IPAddress>15.177.{i}.1</IPAddress><StatusReport><Status>{status}</Status><CheckedTime>2026-11-28T10:00:00Z</CheckedTime></StatusReport></HealthCheckObservation>",
                regions[i % regions.len()]
            )
        })
        .collect();
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<GetHealthCheckStatusResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><HealthCheckObservations>{observations}</HealthCheckObservations></GetHealthCheckStatusResponse>").into_bytes(),
        hang: false,
    }
}

#[tokio::test]
pub(crate) async fn route53_health_follows_the_18_percent_rule_and_calculated_checks() {
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};
    let m = Moto::new(REGION).await;
    let zone_name = format!("{}.test", unique("hc-zone"));
    let record = format!("app.{zone_name}");
    let zone = m.weighted_zone(&zone_name, &record).await;
    let other_name = format!("{}.test", unique("hc-zone"));
    let other_record = format!("app.{other_name}");
    let other_zone = m.weighted_zone(&other_name, &other_record).await;
    let r53 = aws_sdk_route53::Client::new(&sdk(REGION).await);
    let check = |config: HealthCheckConfig| {
        let r53 = r53.clone();
        async move {
            r53.create_health_check()
                .caller_reference(unique("hc"))
                .health_check_config(config)
                .send()
                .await
                .unwrap()
                .health_check()
                .unwrap()
                .id()
                .to_string()
        }
    };
    let http = |ip: &str| {
        HealthCheckConfig::builder()
            .r#type(HealthCheckType::Http)
            .ip_address(ip)
            .port(80)
            .resource_path("/health")
            .build()
            .unwrap()
    };
    let blue = check(http("10.0.0.1")).await;
    let green = check(http("10.0.0.2")).await;
    let either = check(
        HealthCheckConfig::builder()
            .r#type(HealthCheckType::Calculated)
            .child_health_checks(&blue)
            .child_health_checks(&green)
            .health_threshold(1)
            .build()
            .unwrap(),
    )
    .await;

    // Healthy when its checkers say it is not (a check that watches for an outage page).
    let inverted = check(
        HealthCheckConfig::builder()
            .r#type(HealthCheckType::Http)
            .ip_address("10.0.0.3")
            .port(80)
            .inverted(true)
            .build()
            .unwrap(),
    )
    .await;

    // Checkers in the impaired region fail: 2 of 8 still succeed for blue (25 %), 1 of 8 for
    // green (12.5 %); AWS does not serve the status of a calculated check.
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    let status = |id: &str| format!("/2013-04-01/healthcheck/{id}/status");
    proxy.on("GET", &status(&blue), vec![checkers(2, 8)]);
    proxy.on("GET", &status(&green), vec![checkers(1, 8)]);
    proxy.on("GET", &status(&inverted), vec![checkers(0, 8)]);
    let calculated = either.clone();
    proxy.strict(RefuseWhen::new(
        "GetHealthCheckStatus",
        move |r| r.path.contains(&calculated),
        Reply {
            status: 400,
            headers: vec![("content-type".into(), "text/xml".into())],
            body: b"<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>InvalidInput</Code><Message>A health check of type CALCULATED has no status of its own</Message></Error><RequestId>r-1</RequestId></ErrorResponse>".to_vec(),
            hang: false,
        },
    ));
    let dns = |name: &str, set: &str, check: &str| {
        format!("  {name}: {{ kind: route53-record, zone: {zone}, name: {record}, type: A, set_identifier: {set}, health_check: {check} }}")
    };
    let runbook = watch_runbook(
        &[
            dns("dns-blue", "blue", &blue),
            dns("dns-green", "green", &green),
            format!("  dns-either: {{ kind: route53-record, zone: {other_zone}, name: {other_record}, type: A, set_identifier: blue, health_check: {either} }}"),
            format!("  dns-inverted: {{ kind: route53-record, zone: {other_zone}, name: {other_record}, type: A, set_identifier: green, health_check: {inverted} }}"),
        ],
        "dns-blue",
    );
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadOnly,
            Timeouts::default(),
            Endpoints::from([("route53".to_string(), proxy.url().to_string())]),
        ),
        runbook.clone(),
    );
    let resources: Vec<_> = runbook.resources.values().cloned().collect();
    let seen = by_name(observe_all(&aws, resources.clone(), Utc::now()).await);
    assert_eq!(ok(&seen, "dns-blue").health, Health::Ok, "{seen:?}");
    assert_eq!(
        ok(&seen, "dns-green").health,
        Health::Unavailable,
        "{seen:?}"
    );
    assert_eq!(ok(&seen, "dns-either").health, Health::Ok, "{seen:?}");
    assert_eq!(ok(&seen, "dns-inverted").health, Health::Ok, "{seen:?}");
    // A second look reads each check's configuration no more.
    aws.calls().take();
    observe_all(&aws, resources, Utc::now()).await;
    let calls = aws.calls().take();
    assert!(
        !calls.operations.contains_key("route53:GetHealthCheck"),
        "{calls:?}"
    );
}
