//! SDK clients per (service, region), all built here from one configuration: explicit timeouts,
//! and the request guard that counts every call and, for read-only consoles, refuses any
//! operation that is not a read before it leaves the process.
//!
//! Two kinds of client. Reads go through `ec2(region)` and the like, which retry in the standard
//! mode. Changes go through `change().ec2(region)` and the like, which send each request once: a
//! change re-sent after a timeout or a lost answer may be made twice (a second volume, a second
//! restore). Only a request that provably never reached AWS (no connection was made) or that
//! AWS refused before doing anything (throttling) is sent again. The reads clients refuse any
//! change, so a change cannot slip through a retrying client.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use super::guard::{is_read, CallCounts, CallLog, NotCatalogued, NotSendOnce, WriteRefused};
use super::guard::{Guard, SendOnce};

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

/// The control-plane regions of the global services.
pub const GLOBAL_ACCELERATOR_REGION: &str = "us-west-2";
pub const ROUTE53_REGION: &str = "us-east-1";
/// AWS Health answers in us-east-1 and, when that region is impaired, in us-east-2 (the two
/// regions behind `global.health.amazonaws.com`): a DR console must not lose Health with the
/// region that failed.
pub const HEALTH_REGIONS: [&str; 2] = ["us-east-1", "us-east-2"];

macro_rules! client_cache {
    ($($field:ident, $change:ident: $krate:ident, $key:literal;)*) => {
        #[derive(Default)]
        struct Cache {
            $($field: HashMap<(String, bool), $krate::Client>,)*
        }

        impl Clients {
            $(
                #[doc = concat!("The ", $key, " client for reads in `region` (built once).")]
                pub fn $field(&self, region: &str) -> $krate::Client {
                    self.$change(region, false)
                }

                #[doc = concat!("The ", $key, " client for reads (`false`) or changes (`true`) in `region`.")]
                fn $change(&self, region: &str, changes: bool) -> $krate::Client {
                    let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                    let key = (region.to_string(), changes);
                    if let Some(c) = cache.$field.get(&key) {
                        return c.clone();
                    }
                    let t = self.timeouts_for($key);
                    let mut b = $krate::config::Builder::from(&self.sdk)
                        .region(Region::new(region.to_string()))
                        .timeout_config(timeout_config(t))
                        .retry_config(RetryConfig::standard().with_max_attempts(t.max_attempts))
                        .interceptor(Guard { changes, ..self.guard.clone() });
                    if changes {
                        b = b.retry_classifier(SendOnce);
                    }
                    if let Some(url) = self.endpoint($key, region) {
                        b = b.endpoint_url(url);
                    }
                    let client = $krate::Client::from_conf(b.build());
                    cache.$field.insert(key, client.clone());
                    client
                }
            )*
        }

        /// The clients that send changes, once each: `clients.change().ec2(region)`.
        pub struct ChangeClients<'a>(&'a Clients);

        impl ChangeClients<'_> {
            $(
                #[doc = concat!("The ", $key, " client for changes in `region`: each request is sent once.")]
                pub fn $field(&self, region: &str) -> $krate::Client {
                    self.0.$change(region, true)
                }
            )*
        }
    };
}

client_cache! {
    ec2, ec2_of: aws_sdk_ec2, "ec2";
    rds, rds_of: aws_sdk_rds, "rds";
    dynamodb, dynamodb_of: aws_sdk_dynamodb, "dynamodb";
    backup, backup_of: aws_sdk_backup, "backup";
    globalaccelerator, globalaccelerator_of: aws_sdk_globalaccelerator, "globalaccelerator";
    route53, route53_of: aws_sdk_route53, "route53";
    health, health_of: aws_sdk_health, "health";
    sts, sts_of: aws_sdk_sts, "sts";
    iam, iam_of: aws_sdk_iam, "iam";
    cloudwatch, cloudwatch_of: aws_sdk_cloudwatch, "cloudwatch";
    redshift, redshift_of: aws_sdk_redshift, "redshift";
    cloudformation, cloudformation_of: aws_sdk_cloudformation, "cloudformation";
    sns, sns_of: aws_sdk_sns, "sns";
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
                changes: false,
                log: Arc::new(CallLog::default()),
            },
            cache: Mutex::new(Cache::default()),
        }
    }

    pub fn access(&self) -> Access {
        self.guard.access
    }

    /// The same clients (access, timeouts, endpoints, and the one call log) with `credentials`:
    /// another account's, through a role assumed there.
    pub fn with_credentials(
        &self,
        credentials: aws_credential_types::provider::SharedCredentialsProvider,
    ) -> Clients {
        Clients {
            sdk: self
                .sdk
                .to_builder()
                .credentials_provider(credentials)
                .build(),
            timeouts: self.timeouts,
            endpoints: self.endpoints.clone(),
            guard: self.guard.clone(),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The standard chain's configuration these clients were built from.
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The clients for changes: each request is sent once (see the module's documentation).
    pub fn change(&self) -> ChangeClients<'_> {
        ChangeClients(self)
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

    /// Whether requests to `service` go to an endpoint set by hand (`AWS_ENDPOINT_URL`, a
    /// profile's, or pilotlight's own) rather than AWS's.
    pub fn endpoint_set(&self, service: &str) -> bool {
        self.sdk.endpoint_url().is_some()
            || self
                .endpoints
                .keys()
                .any(|k| k == service || k.starts_with(&format!("{service}@")))
    }

    /// The S3 client for the team's state store in `region`: reads (`false`) retry, writes
    /// (`true`) are sent once. Path-style addressing when the endpoint is set by hand (a local
    /// S3 such as moto has no per-bucket host names).
    pub fn s3(&self, region: &str, changes: bool) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.sdk)
            .region(Region::new(region.to_string()))
            .timeout_config(timeout_config(self.timeouts))
            .retry_config(RetryConfig::standard().with_max_attempts(self.timeouts.max_attempts))
            .interceptor(Guard {
                changes,
                ..self.guard.clone()
            });
        if changes {
            b = b.retry_classifier(SendOnce);
        }
        if let Some(url) = self.endpoint("s3", region) {
            b = b.endpoint_url(url);
        }
        if self.endpoint_set("s3") {
            b = b.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    fn endpoint(&self, service: &str, region: &str) -> Option<String> {
        self.endpoints
            .get(&format!("{service}@{region}"))
            .or_else(|| self.endpoints.get(service))
            .cloned()
    }
}
