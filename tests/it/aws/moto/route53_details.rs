//! Route 53 details the first version missed: an UPSERT keeps the set's routing (failover,
//! health check) and changes only what the step says; record sets are paged while Route 53
//! says there are more of them; `\052` in a listed name is `*`.

use super::*;
use crate::common::standin::{Reply, StandIn};

#[tokio::test]
pub(crate) async fn an_upsert_keeps_the_failover_routing_and_health_check_of_its_set() {
    use aws_sdk_route53::types::{
        Change as R53Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType,
        ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType,
    };
    let r53 = aws_sdk_route53::Client::new(&sdk(REGION).await);
    let zone_name = format!("{}.test", unique("failover"));
    let record = format!("api.{zone_name}");
    let zone = r53
        .create_hosted_zone()
        .name(&zone_name)
        .caller_reference(unique("ref"))
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let check = r53
        .create_health_check()
        .caller_reference(unique("hc"))
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Http)
                .ip_address("10.0.0.1")
                .port(80)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .health_check()
        .unwrap()
        .id()
        .to_string();
    let primary = ResourceRecordSet::builder()
        .name(&record)
        .r#type(RrType::A)
        .set_identifier("primary")
        .failover(ResourceRecordSetFailover::Primary)
        .health_check_id(&check)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value("10.0.0.1").build().unwrap())
        .build()
        .unwrap();
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    R53Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(primary)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let rb = one_action(
        &[format!("  api: {{ kind: route53-record, zone: {zone}, name: {record}, type: A, set_identifier: primary }}")],
        "api",
        "route53.upsert-record",
        "{ values: [10.9.9.9] }",
    );
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadWrite,
            Timeouts::default(),
            Endpoints::from([("route53".to_string(), proxy.url().to_string())]),
        ),
        rb.clone(),
    );
    let (plan, approval) = plan_and_approval(&rb, &unique("run"));
    Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    let sent = proxy.requests_of("ChangeResourceRecordSets");
    assert_eq!(sent.len(), 1);
    let body = String::from_utf8_lossy(&sent[0].body).to_string();
    assert!(body.contains("<Failover>PRIMARY</Failover>"), "{body}");
    assert!(
        body.contains(&format!("<HealthCheckId>{check}</HealthCheckId>")),
        "{body}"
    );
    assert!(body.contains("<Value>10.9.9.9</Value>"), "{body}");
    assert!(!body.contains("10.0.0.1"), "{body}");
}

/// A ListResourceRecordSets answer: the sets given, and where the next page starts.
fn record_page(name: &str, sets: &[(&str, &str)], next: Option<&str>) -> Reply {
    let sets: String = sets
        .iter()
        .map(|(id, ip)| format!("<ResourceRecordSet><Name>{name}</Name><Type>A</Type><SetIdentifier>{id}</SetIdentifier><Weight>10</Weight><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>{ip}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"))
        .collect();
    let more = match next {
        Some(id) => format!("<IsTruncated>true</IsTruncated><NextRecordName>{name}</NextRecordName><NextRecordType>A</NextRecordType><NextRecordIdentifier>{id}</NextRecordIdentifier>"),
        None => "<IsTruncated>false</IsTruncated>".to_string(),
    };
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: format!("<?xml version=\"1.0\"?>\n<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ResourceRecordSets>{sets}</ResourceRecordSets>{more}<MaxItems>300</MaxItems></ListResourceRecordSetsResponse>").into_bytes(),
        hang: false,
    }
}

#[tokio::test]
pub(crate) async fn record_sets_are_paged_and_wildcards_read_as_written() {
    let server = StandIn::scripted().await;
    // Route 53 lists `*.app.example.test.` as `\052.app.example.test.`, over two pages.
    let listed = "\\052.app.example.test.";
    server.on(
        "GET",
        "/2013-04-01/hostedzone/Z0WILD/rrset",
        vec![
            record_page(listed, &[("blue", "10.0.0.1")], Some("green")),
            record_page(listed, &[("green", "10.0.0.2")], None),
        ],
    );
    let rb = watch_runbook(
        &[
            "  blue: { kind: route53-record, zone: Z0WILD, name: \"*.app.example.test\", type: A, set_identifier: blue }".to_string(),
            "  green: { kind: route53-record, zone: Z0WILD, name: \"*.app.example.test\", type: A, set_identifier: green }".to_string(),
        ],
        "blue",
    );
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadOnly,
            Timeouts::default(),
            Endpoints::from([("route53".to_string(), server.url().to_string())]),
        ),
        rb.clone(),
    );
    let seen =
        by_name(observe_all(&aws, rb.resources.values().cloned().collect(), Utc::now()).await);
    assert_eq!(ok(&seen, "blue").state, "blue weight 10 -> 10.0.0.1");
    assert_eq!(ok(&seen, "green").state, "green weight 10 -> 10.0.0.2");
    let pages = server.requests_of("ListResourceRecordSets");
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(
        pages[1].path.contains("identifier=green"),
        "{}",
        pages[1].path
    );
}

#[tokio::test]
pub(crate) async fn a_weight_shift_preview_names_the_sets_of_other_types_it_leaves_behind() {
    use aws_sdk_route53::types::{
        Change as R53Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let m = Moto::new(REGION).await;
    let zone_name = format!("{}.test", unique("dual-stack"));
    let record = format!("www.{zone_name}");
    let zone = m.weighted_zone(&zone_name, &record).await;
    let rb = one_action(
        &[format!(
            "  www: {{ kind: route53-record, zone: {zone}, name: {record}, type: A }}"
        )],
        "www",
        "route53.set-weights",
        "{ weights: { blue: 0, green: 100 } }",
    );
    let aws = backend(&rb, Access::ReadWrite).await;
    let (plan, _) = plan_and_approval(&rb, &unique("run"));
    let alone = aws.preview(&plan).await.unwrap();
    assert!(!alone.contains("WARNING"), "{alone}");

    // The same name also has weighted AAAA sets with the same identifiers.
    let aaaa = |sid: &str, weight: i64, ip: &str| {
        R53Change::builder()
            .action(ChangeAction::Create)
            .resource_record_set(
                ResourceRecordSet::builder()
                    .name(&record)
                    .r#type(RrType::Aaaa)
                    .set_identifier(sid)
                    .weight(weight)
                    .ttl(60)
                    .resource_records(ResourceRecord::builder().value(ip).build().unwrap())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    m.r53
        .change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(aaaa("blue", 100, "2001:db8::1"))
                .changes(aaaa("green", 0, "2001:db8::2"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let preview = aws.preview(&plan).await.unwrap();
    println!("{preview}");
    assert!(
        preview.contains(&format!(
            "WARNING: AAAA record sets blue, green of {record} are not changed by this step"
        )),
        "{preview}"
    );
}
