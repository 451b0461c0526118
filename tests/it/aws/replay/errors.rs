use super::backup::{moto_volume, point_arn};
use super::*;

// ---------------------------------------------------------------------------------------------
// Error mapping

#[tokio::test]
pub(crate) async fn throttled_once_then_retried() {
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
pub(crate) async fn throttled_past_the_retries_says_so() {
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
pub(crate) async fn access_denied_names_the_iam_action() {
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
pub(crate) fn restore_runbook(recovery_point: &str) -> Arc<Runbook> {
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
pub(crate) async fn not_found_is_not_found() {
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
            "GET",
            "/backup-vaults/",
            vec![Reply::rest(json!({ "RestoreMetadata": {} }))],
        )
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
    // A named recovery point is used as is: no vault listing, only its restore metadata.
    let asked = server.requests_of("GET /backup-vaults/");
    assert!(
        asked.iter().all(|r| r.path.ends_with("/restore-metadata")),
        "{asked:?}"
    );
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
pub(crate) async fn a_replayed_call_without_an_answer_times_out() {
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
pub(crate) async fn a_black_holed_region_fails_alone_and_last() {
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
    // Each says which service in which region did not answer.
    for silent in ["east-web", "east-data"] {
        let err = obs[silent].as_ref().unwrap_err();
        assert!(err.is_no_answer(), "{silent}: {err:?}");
        assert!(
            err.to_string().contains("ec2 in us-east-1"),
            "{silent}: {err}"
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
