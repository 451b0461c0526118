use super::*;

// ---------------------------------------------------------------------------------------------
// Global Accelerator: reads

#[tokio::test]
pub(crate) async fn ga_observe_maps_endpoint_health_over_serving_groups() {
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
pub(crate) async fn ga_observe_pages_through_listeners_and_groups() {
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
pub(crate) fn standby_endpoints() -> Vec<Value> {
    vec![
        answers::ga_endpoint("i-0ccc", 200, "HEALTHY", true),
        answers::ga_endpoint("eipalloc-0ddd", 50, "HEALTHY", false),
    ]
}

#[tokio::test]
pub(crate) async fn ga_set_traffic_dial_previews_sends_the_dial_and_reports_the_previous() {
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
            vec![Reply::json(json!({ "EndpointGroup": updated.clone() }))],
        )
        .on_ga(
            "DescribeEndpointGroup",
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
    assert_eq!(preview, "traffic dial of us-west-2 :443: 0% -> 100%");
    assert!(
        server.requests_of("UpdateEndpointGroup").is_empty(),
        "a preview changes nothing"
    );

    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!started.adopted);
    assert_eq!(started.outputs["previous_dial"], "us-west-2 :443: 0");
    let updates = server.requests_of("UpdateEndpointGroup");
    assert_eq!(updates.len(), 1, "one change request");
    let body = updates[0].json();
    assert_eq!(body["EndpointGroupArn"], group_arn("us-west-2").as_str());
    assert_eq!(body["TrafficDialPercentage"].as_f64(), Some(100.0));
    // The dial alone changes: everything else goes back exactly as read (an update replaces
    // the group's whole configuration).
    assert_eq!(
        body["EndpointConfigurations"],
        json!([
            { "EndpointId": "i-0ccc", "Weight": 200, "ClientIPPreservationEnabled": true },
            { "EndpointId": "eipalloc-0ddd", "Weight": 50, "ClientIPPreservationEnabled": false }
        ])
    );
    assert_eq!(body["HealthCheckPort"], 443);
    assert_eq!(body["HealthCheckProtocol"], "HTTPS");
    assert_eq!(body["HealthCheckPath"], "/healthz");
    assert_eq!(body["HealthCheckIntervalSeconds"], 30);
    assert_eq!(body["ThresholdCount"], 3);
    assert_eq!(body["PortOverrides"], json!([]));
    // And the group was read back.
    assert_eq!(server.requests_of("DescribeEndpointGroup").len(), 1);

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
pub(crate) async fn ga_set_traffic_dial_already_as_planned_is_adopted_without_a_change() {
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
pub(crate) async fn ga_set_endpoint_weights_sends_the_whole_list_read_modify_write() {
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
                "EndpointGroup": answers::ga_group(&group_arn("us-east-1"), "us-east-1", 100.0, after.clone())
            }))],
        )
        .on_ga(
            "DescribeEndpointGroup",
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
        format!(
            "weights of us-east-1 :443: {alb}=128,i-0bbb=200,eipalloc-0ccc=50 -> {alb}=0,i-0bbb=255"
        )
    );

    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    assert!(!started.adopted);
    assert_eq!(
        started.outputs["previous_weights"],
        format!("us-east-1 :443: {alb}=128,i-0bbb=200,eipalloc-0ccc=50")
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
    // The dial and health checks go back as read, not reset to their defaults.
    assert_eq!(
        body["TrafficDialPercentage"].as_f64(),
        Some(100.0),
        "{body}"
    );
    assert_eq!(body["HealthCheckPath"], "/healthz", "{body}");
}

/// A plan whose dial or weights are not what the runbook types (a journal edited by hand, a
/// future format) is refused before anything is sent: never a guessed dial of 0, never
/// "nothing to change".
#[tokio::test]
pub(crate) async fn ga_plans_without_a_usable_dial_or_weights_are_refused() {
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
pub(crate) async fn ga_set_endpoint_weights_refuses_an_unknown_endpoint_before_sending() {
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
pub(crate) async fn ga_cutover_runs_unattended_through_the_engine() {
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
            "DescribeEndpointGroup",
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
    assert_eq!(
        engine.outputs()["shift"]["previous_dial"],
        "us-west-2 :443: 0"
    );
    // The approval records what AWS said the change would do.
    let approved: Vec<_> = seen
        .records
        .iter()
        .filter(|r| r.kind() == pilotlight::audit::EventKind::GateApproved)
        .collect();
    assert_eq!(
        approved[0].event.detail().unwrap()["seen"],
        "as AWS stands now: traffic dial of us-west-2 :443: 0% -> 100%"
    );
    assert_eq!(server.requests_of("UpdateEndpointGroup").len(), 1);
    assert_eq!(server.requests_of("DescribeAccelerator").len(), 3);
}

/// An accelerator with listeners on 80 and 443 has two endpoint groups in us-east-1: a dial
/// moves both unless the step names one listener, and a named listener that has no group there
/// is refused before anything is sent.
#[tokio::test]
pub(crate) async fn ga_cutover_acts_on_every_listener_group_in_the_region_or_the_named_one() {
    use crate::common::strict::RefuseWhen;
    let http = format!("{ACCEL}/listener/0http080");
    let https = listener();
    let mut http_listener = answers::ga_listener(&http);
    http_listener["PortRanges"] = json!([{ "FromPort": 80, "ToPort": 80 }]);
    let groups_of = |l: &str, east: f64, west: f64| {
        answers::ga_groups(vec![
            answers::ga_group(
                &format!("{l}/endpoint-group/use1"),
                "us-east-1",
                east,
                vec![healthy("i-0aaa")],
            ),
            answers::ga_group(
                &format!("{l}/endpoint-group/usw2"),
                "us-west-2",
                west,
                standby_endpoints(),
            ),
        ])
    };
    // Answers by what is asked for: each listener its groups, each group itself after the update.
    let serve = |server: &StandIn, after_dial: f64| {
        server
            .on_ga(
                "ListListeners",
                vec![Reply::json(json!({
                    "Listeners": [http_listener.clone(), answers::ga_listener(&https)]
                }))],
            )
            .on_ga(
                "UpdateEndpointGroup",
                vec![Reply::json(json!({ "EndpointGroup": {} }))],
            );
        for l in [http.clone(), https.clone()] {
            let of = l.clone();
            server.strict(RefuseWhen::new(
                "ListEndpointGroups",
                move |r| r.json()["ListenerArn"] == of.as_str(),
                Reply::json(groups_of(&l, 100.0, 0.0)),
            ));
            let group = format!("{l}/endpoint-group/use1");
            let of = group.clone();
            server.strict(RefuseWhen::new(
                "DescribeEndpointGroup",
                move |r| r.json()["EndpointGroupArn"] == of.as_str(),
                Reply::json(json!({ "EndpointGroup": answers::ga_group(&group, "us-east-1", after_dial, vec![healthy("i-0aaa")]) })),
            ));
        }
    };

    // Every group of the region: both listeners' us-east-1 groups are dialled down.
    let server = StandIn::scripted().await;
    serve(&server, 0.0);
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-east-1, dial: 0 }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-two-listeners");
    let preview = aws.cutover_preview(&plan).await.unwrap();
    assert_eq!(
        preview,
        "traffic dial of us-east-1 :80: 100% -> 0%; traffic dial of us-east-1 :443: 100% -> 0%"
    );
    let started = Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    let updated: Vec<String> = server
        .requests_of("UpdateEndpointGroup")
        .iter()
        .map(|r| r.json()["EndpointGroupArn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        updated,
        [
            format!("{http}/endpoint-group/use1"),
            format!("{https}/endpoint-group/use1")
        ]
    );
    assert_eq!(
        started.outputs["previous_dial"],
        "us-east-1 :80: 100; us-east-1 :443: 100"
    );

    // One listener, by port.
    let server = StandIn::scripted().await;
    serve(&server, 0.0);
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-east-1, dial: 0, listener: \"443\" }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-one-listener");
    Gated(&aws)
        .start(&plan, &approval, Utc::now())
        .await
        .unwrap();
    let updated = server.requests_of("UpdateEndpointGroup");
    assert_eq!(updated.len(), 1);
    assert_eq!(
        updated[0].json()["EndpointGroupArn"],
        format!("{https}/endpoint-group/use1").as_str()
    );

    // A listener the accelerator does not have: refused, nothing sent.
    let server = StandIn::scripted().await;
    serve(&server, 0.0);
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-east-1, dial: 0, listener: \"8443\" }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-no-listener");
    match Gated(&aws).start(&plan, &approval, Utc::now()).await {
        Err(CloudError::Refused(m)) => assert!(m.contains("no listener `8443`"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(server.requests_of("UpdateEndpointGroup").is_empty());
}

/// The group reads back different from what was sent (someone else changed it meanwhile, or
/// AWS dropped a field): the step says so instead of reporting success.
#[tokio::test]
pub(crate) async fn ga_update_whose_group_reads_back_different_fails_the_change() {
    let server = StandIn::scripted().await;
    let mut lost = answers::ga_group(
        &group_arn("us-west-2"),
        "us-west-2",
        100.0,
        standby_endpoints(),
    );
    lost["HealthCheckPath"] = json!("/");
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
        )
        .on_ga(
            "UpdateEndpointGroup",
            vec![Reply::json(json!({ "EndpointGroup": lost.clone() }))],
        )
        .on_ga(
            "DescribeEndpointGroup",
            vec![Reply::json(json!({ "EndpointGroup": lost }))],
        );
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-west-2, dial: 100 }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-read-back");
    match Gated(&aws).start(&plan, &approval, Utc::now()).await {
        Err(CloudError::Api { code, message }) => {
            assert_eq!(code, "ReadBackDiffers");
            assert!(message.contains("us-west-2 :443"), "{message}");
        }
        other => panic!("expected the read-back to fail, got {other:?}"),
    }
}

/// An endpoint in another account cannot be sent back as read (its update needs the
/// cross-account attachment, which the group's description does not carry): refused before
/// any group is changed.
#[tokio::test]
pub(crate) async fn ga_refuses_a_group_with_a_cross_account_endpoint_before_changing_anything() {
    let server = StandIn::scripted().await;
    let foreign = "arn:aws:elasticloadbalancing:us-west-2:444455556666:loadbalancer/app/partner/0123456789abcdef";
    server
        .on_ga(
            "ListListeners",
            vec![Reply::json(answers::ga_listeners(&[&listener()]))],
        )
        .on_ga(
            "ListEndpointGroups",
            vec![Reply::json(two_groups(
                vec![healthy("i-0aaa")],
                vec![answers::ga_endpoint(foreign, 128, "HEALTHY", true)],
                100.0,
                0.0,
            ))],
        );
    let rb = ga_action(
        "ga.set-traffic-dial",
        "{ endpoint_group_region: us-west-2, dial: 100 }",
    );
    let aws = cloud(&server, &rb).await;
    let (plan, approval) = plan_and_approval(&rb, "run-cross-account");
    match Gated(&aws).start(&plan, &approval, Utc::now()).await {
        Err(CloudError::Refused(m)) => {
            assert!(
                m.contains("444455556666") || m.contains("another account"),
                "{m}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(server.requests_of("UpdateEndpointGroup").is_empty());
}
