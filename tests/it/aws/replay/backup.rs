use super::*;

// ---------------------------------------------------------------------------------------------
// AWS Backup

pub(crate) fn volume_arn(region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}:111122223333:volume/{id}")
}

pub(crate) fn point_arn(n: u32) -> String {
    format!("arn:aws:ec2:us-west-2::snapshot/snap-0replay{n:04}")
}

pub(crate) async fn moto_volume(region: &str) -> String {
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
pub(crate) async fn a_vault_that_cannot_be_read_says_why_the_recovery_points_are_unknown() {
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
pub(crate) async fn backup_vault_gives_each_resource_its_newest_completed_point() {
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
pub(crate) async fn backup_restore_sends_the_token_and_follows_the_job() {
    let t = crate::common::t0().timestamp();
    let volume = "vol-0abc1234def567890";
    let server = StandIn::scripted().await;
    server
        // What AWS says a restore of the point needs (GetRecoveryPointRestoreMetadata).
        .on(
            "GET",
            "/backup-vaults/billing-dr/recovery-points/",
            vec![Reply::rest(json!({
                "BackupVaultArn": "arn:aws:backup:us-west-2:111122223333:backup-vault:billing-dr",
                "RecoveryPointArn": point_arn(2),
                "ResourceType": "EBS",
                "RestoreMetadata": {
                    "volumeId": volume,
                    "availabilityZone": "us-east-1a",
                    "volumeType": "gp2",
                    "volumeSize": "100",
                    "encrypted": "true",
                    "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/source-key"
                }
            }))],
        )
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

    // The gate shows the request merged: the point's own metadata, the runbook's over it.
    let preview = aws.preview(&plan).await.unwrap();
    assert_eq!(
        preview,
        format!(
            "as AWS stands now: restore {} with metadata: availabilityZone=us-west-2a (runbook), encrypted=true, volumeId={volume}, volumeSize=100, volumeType=gp3 (runbook); left out: kmsKeyId=arn:aws:kms:us-east-1:111122223333:key/source-key (of us-east-1)",
            point_arn(2)
        )
    );
    let asked = server.requests_of("GET /backup-vaults/billing-dr/recovery-points/");
    assert!(
        asked[0].path.ends_with("/restore-metadata"),
        "{}",
        asked[0].path
    );
    assert!(
        server.requests_of("PUT /restore-jobs").is_empty(),
        "a preview sends nothing"
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
        json!({
            "availabilityZone": "us-west-2a",
            "encrypted": "true",
            "volumeId": volume,
            "volumeSize": "100",
            "volumeType": "gp3"
        })
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
pub(crate) fn listed_job(
    id: &str,
    point: &str,
    role: &str,
    status: &str,
    created_secs: i64,
) -> Value {
    let mut job = answers::restore_job(id, status, "10.00%", created_secs, 40, None);
    job["RecoveryPointArn"] = json!(point);
    job["IamRoleArn"] = json!(role);
    job
}

#[tokio::test]
pub(crate) async fn a_backup_retry_follows_the_job_an_earlier_attempt_started() {
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
