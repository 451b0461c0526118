//! The live-AWS backend over the wire, against moto on 127.0.0.1 (one server per test process,
//! see `crate::common::moto`). Each test seeds its own uniquely named resources with the AWS SDK,
//! drives pilotlight's `AwsCloud` (reads directly, changes through a real engine and its
//! approvals), and checks the result in moto with the SDK again. Nothing sleeps: moto makes
//! things available at once, and the drills' virtual clock only jumps between polls.
//!
//! What moto cannot show (said where it matters):
//! - RDS `LatestRestorableTime` is "now" on every describe, so a DB instance's newest recovery
//!   point is always its PITR time, never its newest snapshot's.
//! - DynamoDB `RestoreTableToPointInTime` ignores the restore time (it copies the table as it
//!   is now), so only that the restore is requested and lands is checked, not the time.
//! - moto ignores EC2 `ClientToken` (two CreateVolume calls with one token make two volumes),
//!   so a repeat is made safe only by pilotlight's own find-and-adopt, which the retry tests
//!   check by counting what was sent and what exists.
//! - moto reports EBS snapshot start times to the second, so the reads test takes one snapshot
//!   per volume (two in one second would tie).

use crate::common::detail;

use crate::common::engine::{plan_and_approval, Seen};

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, SubsecRound, Utc};
use pilotlight::audit::{EventKind, Journal, Mode, Record};
use pilotlight::cloud::aws::{
    Access, AwsCloud, CallCounts, Clients, Endpoints, Timeouts, PER_SERVICE_REGION, SLOW_EVERY,
};
use pilotlight::cloud::{observe_all, Change, Gated, Mutate, Observation, Observe};
use pilotlight::engine::{Effect, Engine, GateDecision, Input, RunStatus};
use pilotlight::model::{CloudError, RecoveryPointKind, ResourceStatus};
use pilotlight::runbook::{Health, Runbook};
use pilotlight::runtime::unattended::run_to_end;

mod actions;
mod copies;
mod once;
mod pace;
mod rds_params;
mod reads;
mod retries;
mod route53_details;
mod seed;
mod strict_reads;
mod terminal;

use seed::*;

const REGION: &str = "us-east-1";
const OTHER_REGION: &str = "us-west-2";
const AZ: &str = "us-east-1a";
const TOKEN_TAG: &str = "pilotlight:token";

// ---------------------------------------------------------------------------------------------
// Helpers

/// A name no other test in this process uses (moto is shared by all of them).
fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn sdk(region: &str) -> SdkConfig {
    crate::common::moto::sdk_config(crate::common::moto::url(), region).await
}

async fn backend(runbook: &Arc<Runbook>, access: Access) -> AwsCloud {
    let clients = Clients::new(
        sdk(REGION).await,
        access,
        Timeouts::default(),
        Endpoints::new(),
    );
    AwsCloud::new(clients, runbook.clone())
}

fn parse(yaml: &str) -> Arc<Runbook> {
    let runbook = pilotlight::runbook::parse(yaml.as_bytes())
        .unwrap_or_else(|e| panic!("test runbook is invalid: {e:?}\n{yaml}"));
    Arc::new(runbook)
}

/// A runbook watching `resources` (YAML mapping lines, indented by two), with one check step.
fn watch_runbook(resources: &[String], first: &str) -> Arc<Runbook> {
    let yaml = format!(
        "runbook: {}\ntitle: moto reads\ntargets: {{ rto: 1h }}\nresources:\n{}\nsteps:\n  - id: look\n    kind: check\n    expect: {{ resource: {first}, health: [ok] }}\n",
        unique("watch"),
        resources.join("\n")
    );
    parse(&yaml)
}

fn res(name: &str, kind: &str, region: &str, id: &str) -> String {
    format!("  {name}: {{ kind: {kind}, region: {region}, id: {id} }}")
}

fn by_name(obs: Vec<Observation>) -> BTreeMap<String, Result<ResourceStatus, CloudError>> {
    let n = obs.len();
    let map: BTreeMap<_, _> = obs.into_iter().collect();
    assert_eq!(map.len(), n, "each resource is observed once");
    map
}

fn ok<'a>(
    obs: &'a BTreeMap<String, Result<ResourceStatus, CloudError>>,
    name: &str,
) -> &'a ResourceStatus {
    match obs.get(name) {
        Some(Ok(s)) => s,
        other => panic!("{name}: expected an observation, got {other:?}"),
    }
}

fn sdk_time(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).expect("a valid time")
}

fn print_counts(label: &str, c: &CallCounts) {
    println!("{label}: {} operations", c.total_operations());
    for (op, n) in &c.operations {
        let sent = c.transmitted.get(op).copied().unwrap_or(0);
        println!("  {op:<32} {n} operation(s), {sent} request(s) sent");
    }
    for (op, n) in &c.refused {
        println!("  {op:<32} {n} refused before sending");
    }
}

/// Runs the whole runbook unattended (every gate confirmed, virtual clock at full speed)
/// against `aws`, as `drill --unattended` does against the simulated world.
async fn run_unattended(
    aws: &Arc<AwsCloud>,
    runbook: &Arc<Runbook>,
    run_id: &str,
) -> (RunStatus, Engine, Vec<Record>) {
    let dir = crate::common::temp_dir("aws-moto");
    let journal =
        Journal::create(&dir.join("run.jsonl"), "moto-test", &runbook.id, Mode::Live).unwrap();
    let engine = Engine::new(runbook.clone(), run_id);
    println!("run {run_id}:");
    let mut runner = crate::common::engine::unattended(
        engine,
        journal,
        aws.clone(),
        Utc::now().trunc_subsecs(3),
        Seen::default(),
        Input::Start,
        None,
    );
    let status = run_to_end(&mut runner).await;
    let seen = std::mem::take(runner.observer_mut());
    assert!(seen.refused.is_empty(), "refused: {:?}", seen.refused);
    (status, runner.into_engine(), seen.records)
}

/// A runbook whose only step is `action` on `resource`.
fn one_action(resources: &[String], resource: &str, action: &str, with: &str) -> Arc<Runbook> {
    parse(&format!(
        r#"runbook: {}
title: one action against moto
targets: {{ rto: 1h }}
resources:
{}
steps:
  - id: act
    kind: action
    action: {action}
    resource: {resource}
    with: {with}
    gate: {{ confirm: true }}
"#,
        unique("one"),
        resources.join("\n")
    ))
}
