//! One SDK client per (service, region), all built here from one configuration: explicit
//! timeouts, the standard retry mode, and the request guard that counts every call and, for
//! read-only consoles, refuses any operation that is not a read before it leaves the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as StdDuration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Whether the backend may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `watch` and `status`: only reads leave the process.
    ReadOnly,
    /// `run`: changes too, each behind an approval.
    ReadWrite,
}

/// How long to wait for AWS. A black-holed region fails within `operation` and alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: StdDuration,
    /// One HTTP attempt.
    pub attempt: StdDuration,
    /// The whole call, retries included.
    pub operation: StdDuration,
    /// Attempts in all (the standard retry mode backs off between them).
    pub max_attempts: u32,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: StdDuration::from_secs(3),
            attempt: StdDuration::from_secs(8),
            operation: StdDuration::from_secs(20),
            max_attempts: 3,
        }
    }
}

impl Timeouts {
    /// The defaults, or `PILOTLIGHT_AWS_TIMEOUT` seconds per call (retries included; each
    /// attempt gets two fifths of it, the connection at most 3 s).
    pub fn from_env() -> Result<Timeouts, String> {
        let Ok(text) = std::env::var("PILOTLIGHT_AWS_TIMEOUT") else {
            return Ok(Timeouts::default());
        };
        let secs: f64 = text
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.5 && *s <= 600.0)
            .ok_or_else(|| {
                format!("PILOTLIGHT_AWS_TIMEOUT=`{text}` is not a number of seconds between 0.5 and 600")
            })?;
        let total = StdDuration::from_secs_f64(secs);
        Ok(Timeouts {
            connect: total.min(StdDuration::from_secs(3)),
            attempt: total.mul_f64(0.4),
            operation: total,
            ..Timeouts::default()
        })
    }
}

/// Where to send requests, beyond the standard chain (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`, profiles): by `service` or by `service@region`.
pub type Endpoints = BTreeMap<String, String>;

/// Loads the standard AWS configuration (profiles, SSO, environment, `AWS_ENDPOINT_URL`) with
/// pilotlight's timeouts and retry mode.
pub async fn load_config(timeouts: Timeouts) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config(timeouts))
        .retry_config(RetryConfig::standard().with_max_attempts(timeouts.max_attempts))
        .load()
        .await
}

pub(crate) fn timeout_config(t: Timeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(t.connect)
        .operation_attempt_timeout(t.attempt)
        .operation_timeout(t.operation)
        .build()
}

/// Operation names that only read. Everything else is a change.
pub fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|p| operation.starts_with(p))
}

/// What went out, for the calls-per-refresh count and the read-only proof.
#[derive(Debug, Default)]
pub struct CallLog {
    inner: Mutex<CallCounts>,
}

/// Calls by `service:Operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Operations started (each may take several attempts).
    pub operations: BTreeMap<String, u64>,
    /// HTTP requests that left the process (attempts).
    pub transmitted: BTreeMap<String, u64>,
    /// Operations the guard refused before they were sent.
    pub refused: BTreeMap<String, u64>,
}

impl CallCounts {
    pub fn total_operations(&self) -> u64 {
        self.operations.values().sum()
    }

    /// Requests that left the process and were not reads.
    pub fn transmitted_changes(&self) -> Vec<String> {
        self.transmitted
            .keys()
            .filter(|k| !is_read(k.split(':').nth(1).unwrap_or(k)))
            .cloned()
            .collect()
    }
}

impl CallLog {
    fn lock(&self) -> MutexGuard<'_, CallCounts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn counts(&self) -> CallCounts {
        self.lock().clone()
    }

    /// The counts so far, and starts again from zero.
    pub fn take(&self) -> CallCounts {
        std::mem::take(&mut *self.lock())
    }
}

/// The refusal the guard raises; the error mapping recognises it.
#[derive(Debug, thiserror::Error)]
#[error("read-only console: {0} was refused before it was sent")]
pub struct WriteRefused(pub String);

#[derive(Debug, Clone)]
struct Guard {
    access: Access,
    log: Arc<CallLog>,
}

/// `service:Operation` with the IAM service prefix (`Global Accelerator` and `Route 53` are
/// the SDK's names of `globalaccelerator` and `route53`).
fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map_or_else(
        || "unknown:unknown".to_string(),
        |m| {
            let service: String = m
                .service()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            format!("{}:{}", service.to_lowercase(), m.name())
        },
    )
}

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "pilotlight-guard"
    }

    // The operation's name is in the bag only once its configuration is applied, which is after
    // `read_before_execution`: this is the first hook that can tell a read from a change.
    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.pass(cfg, |c| &mut c.operations, |c| &mut c.refused)
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Belt and braces: even if the first check were bypassed, nothing that changes leaves.
        self.pass(cfg, |c| &mut c.transmitted, |c| &mut c.refused)
    }
}

type Tally = fn(&mut CallCounts) -> &mut BTreeMap<String, u64>;

impl Guard {
    /// Counts the operation under `passed`, or refuses it (counted under `refused`) when this
    /// console is read-only and the operation is not a read.
    fn pass(&self, cfg: &ConfigBag, passed: Tally, refused: Tally) -> Result<(), BoxError> {
        let op = operation(cfg);
        let name = op.split(':').nth(1).unwrap_or_default();
        let refuse = self.access == Access::ReadOnly && !is_read(name);
        let mut log = self.log.lock();
        let tally = if refuse {
            refused(&mut log)
        } else {
            passed(&mut log)
        };
        *tally.entry(op.clone()).or_default() += 1;
        if refuse {
            return Err(Box::new(WriteRefused(op)));
        }
        Ok(())
    }
}

/// The control-plane regions of the global services.
pub const GLOBAL_ACCELERATOR_REGION: &str = "us-west-2";
pub const ROUTE53_REGION: &str = "us-east-1";
/// AWS Health answers in us-east-1 and, when that region is impaired, in us-east-2 (the two
/// regions behind `global.health.amazonaws.com`): a DR console must not lose Health with the
/// region that failed.
pub const HEALTH_REGIONS: [&str; 2] = ["us-east-1", "us-east-2"];

macro_rules! client_cache {
    ($($field:ident: $krate:ident, $key:literal;)*) => {
        #[derive(Default)]
        struct Cache {
            $($field: HashMap<String, $krate::Client>,)*
        }

        impl Clients {
            $(
                #[doc = concat!("The ", $key, " client for `region` (built once).")]
                pub fn $field(&self, region: &str) -> $krate::Client {
                    let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(c) = cache.$field.get(region) {
                        return c.clone();
                    }
                    let t = self.timeouts_for($key);
                    let mut b = $krate::config::Builder::from(&self.sdk)
                        .region(Region::new(region.to_string()))
                        .timeout_config(timeout_config(t))
                        .retry_config(RetryConfig::standard().with_max_attempts(t.max_attempts))
                        .interceptor(self.guard.clone());
                    if let Some(url) = self.endpoint($key, region) {
                        b = b.endpoint_url(url);
                    }
                    let client = $krate::Client::from_conf(b.build());
                    cache.$field.insert(region.to_string(), client.clone());
                    client
                }
            )*
        }
    };
}

client_cache! {
    ec2: aws_sdk_ec2, "ec2";
    rds: aws_sdk_rds, "rds";
    dynamodb: aws_sdk_dynamodb, "dynamodb";
    backup: aws_sdk_backup, "backup";
    globalaccelerator: aws_sdk_globalaccelerator, "globalaccelerator";
    route53: aws_sdk_route53, "route53";
    health: aws_sdk_health, "health";
    sts: aws_sdk_sts, "sts";
}

/// Every client the backend uses, built in one place.
pub struct Clients {
    sdk: SdkConfig,
    timeouts: Timeouts,
    endpoints: Endpoints,
    guard: Guard,
    cache: Mutex<Cache>,
}

impl Clients {
    pub fn new(
        sdk: SdkConfig,
        access: Access,
        timeouts: Timeouts,
        endpoints: Endpoints,
    ) -> Clients {
        Clients {
            sdk,
            timeouts,
            endpoints,
            guard: Guard {
                access,
                log: Arc::new(CallLog::default()),
            },
            cache: Mutex::new(Cache::default()),
        }
    }

    pub fn access(&self) -> Access {
        self.guard.access
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    pub fn log(&self) -> &CallLog {
        &self.guard.log
    }

    /// The region of the standard chain (for STS), else us-east-1.
    pub fn home_region(&self) -> String {
        self.sdk
            .region()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string())
    }

    /// AWS Health is advice, not a step: it gets one short attempt, so a missing or broken
    /// Health endpoint never holds up the console.
    fn timeouts_for(&self, service: &str) -> Timeouts {
        if service == "health" {
            let short = StdDuration::from_secs(3).min(self.timeouts.operation);
            return Timeouts {
                attempt: short,
                operation: short,
                max_attempts: 1,
                ..self.timeouts
            };
        }
        self.timeouts
    }

    fn endpoint(&self, service: &str, region: &str) -> Option<String> {
        self.endpoints
            .get(&format!("{service}@{region}"))
            .or_else(|| self.endpoints.get(service))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_by_iam_service_prefix() {
        use aws_smithy_types::config_bag::Layer;
        for (service, want) in [
            ("Global Accelerator", "globalaccelerator:ListListeners"),
            ("GlobalAccelerator", "globalaccelerator:ListListeners"),
            ("Route 53", "route53:ListListeners"),
            ("EC2", "ec2:ListListeners"),
        ] {
            let mut layer = Layer::new("test");
            layer.store_put(Metadata::new("ListListeners", service));
            assert_eq!(operation(&ConfigBag::of_layers(vec![layer])), want);
        }
        assert_eq!(operation(&ConfigBag::base()), "unknown:unknown");
    }

    #[test]
    fn reads_are_describe_list_get_only() {
        for op in [
            "DescribeInstances",
            "ListRecoveryPointsByBackupVault",
            "GetChange",
        ] {
            assert!(is_read(op), "{op}");
        }
        for op in [
            "StartInstances",
            "RunInstances",
            "CreateVolume",
            "UpdateEndpointGroup",
            "ChangeResourceRecordSets",
            "StartRestoreJob",
            "RestoreDBInstanceFromDBSnapshot",
            "PromoteReadReplica",
        ] {
            assert!(!is_read(op), "{op}");
        }
    }
}
