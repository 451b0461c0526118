//! Recovery points in the recovery region: EBS snapshot copies, which AWS gives another volume
//! id (moto keeps the source's; the strict stand-in answers as AWS does).

use super::*;
use crate::common::standin::StandIn;
use crate::common::strict::Amend;

#[tokio::test]
pub(crate) async fn a_restore_in_another_region_finds_the_copy_by_its_tag() {
    let east = Moto::new(REGION).await;
    let west = Moto::new(OTHER_REGION).await;
    let volume = east.volume().await;
    let (snap, _) = east.snapshot(&volume).await;
    // An untagged copy (what a plain copy-snapshot makes) and a tagged one.
    for tags in [None, Some(volume.clone())] {
        let mut copy = west
            .ec2
            .copy_snapshot()
            .source_snapshot_id(&snap)
            .source_region(REGION);
        if let Some(v) = tags {
            copy = copy.tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot)
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("pilotlight:source-volume")
                            .value(v)
                            .build(),
                    )
                    .build(),
            );
        }
        copy.send().await.unwrap();
    }
    let tagged = west
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:pilotlight:source-volume")
                .values(&volume)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .snapshots()[0]
        .snapshot_id()
        .unwrap()
        .to_string();
    // AWS: "Snapshots created by the CopySnapshot action have an arbitrary volume ID".
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    let source = volume.clone();
    proxy.strict(Amend::new("DescribeSnapshots", move |body: &str| {
        body.replace(
            &format!("<volumeId>{source}</volumeId>"),
            "<volumeId>vol-ffffffff</volumeId>",
        )
    }));
    let restore = |rb: &str, volume: &str| {
        parse(&format!(
            "runbook: {rb}
title: restore a copy
targets: {{ rto: 1h, rpo: 1d }}
resources:
  data: {{ kind: ebs-volume, region: {REGION}, id: {volume} }}
steps:
  - id: restore
    kind: action
    action: ebs.restore-volume
    resource: data
    with: {{ snapshot: latest, availability_zone: {OTHER_REGION}a, region: {OTHER_REGION} }}
    gate: {{ confirm: true }}
"
        ))
    };
    let runbook = restore(&unique("copies"), &volume);
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadWrite,
            Timeouts::default(),
            Endpoints::from([(format!("ec2@{OTHER_REGION}"), proxy.url().to_string())]),
        ),
        runbook.clone(),
    );
    let (plan, approval) = plan_and_approval(&runbook, &unique("run"));
    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert_eq!(started.outputs["snapshot_id"], tagged);
    let made = west.volumes_where("snapshot-id", &tagged).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].availability_zone(), Some("us-west-2a"));

    // Only the untagged copy exists: says what to do, and sends no CreateVolume.
    let runbook = restore(&unique("no-copy"), &east.volume().await);
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadWrite,
            Timeouts::default(),
            Endpoints::from([(format!("ec2@{OTHER_REGION}"), proxy.url().to_string())]),
        ),
        runbook.clone(),
    );
    let (plan, approval) = plan_and_approval(&runbook, &unique("run"));
    let err = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("tagged pilotlight:source-volume="), "{err}");
    assert!(err.contains("copy-snapshot --tag-specifications"), "{err}");
    assert_eq!(
        proxy.requests_of("CreateVolume").len(),
        1,
        "only the first restore's"
    );
}
