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

mod backup;
mod errors;
mod ga;
mod health;

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
