//! AWS Health: open events for the runbook's regions and services, and global ones (Route 53,
//! Global Accelerator). The API needs a Business (or higher) support plan; without one the
//! console says so once instead of failing.
//!
//! The API is active in one of two regions at a time; `global.health.amazonaws.com` points at
//! the active one. A region that answers is not necessarily the active one, so the active region
//! is found by DNS (the global name's addresses are the active endpoint's) and asked first; the
//! other is asked only when the first does not answer.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;

use super::clients::HEALTH_REGIONS;
use super::resolve::time;
use super::AwsCloud;
use crate::model::CloudError;
use crate::runbook::ResourceKind;

/// One open AWS Health event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthEvent {
    pub service: String,
    pub region: String,
    pub event_type: String,
    pub status: String,
    pub started: Option<DateTime<Utc>>,
}

/// What AWS Health says, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub available: bool,
    /// Why the events are not known (no support plan, no permission, no answer).
    pub note: Option<String>,
    pub events: Vec<HealthEvent>,
}

impl HealthReport {
    /// One line for the console's notice, when there is something to say.
    pub fn summary(&self) -> Option<String> {
        if let Some(note) = &self.note {
            return Some(note.clone());
        }
        if self.events.is_empty() {
            return None;
        }
        let list = self
            .events
            .iter()
            .map(|e| format!("{} {} {}", e.service, e.region, e.event_type))
            .collect::<Vec<_>>()
            .join("; ");
        Some(format!(
            "AWS Health: {} open event(s): {list}",
            self.events.len()
        ))
    }
}

fn service_code(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Ec2Instance => "EC2",
        ResourceKind::EbsVolume => "EBS",
        ResourceKind::RdsInstance => "RDS",
        ResourceKind::DynamodbTable => "DYNAMODB",
        ResourceKind::GlobalAccelerator => "GLOBALACCELERATOR",
        ResourceKind::Route53Record => "ROUTE53",
        ResourceKind::CloudwatchAlarm => "CLOUDWATCH",
        ResourceKind::RedshiftCluster => "REDSHIFT",
        ResourceKind::CloudformationStack => "CLOUDFORMATION",
        ResourceKind::SnsTopic => "SNS",
    }
}

fn unavailable(note: String) -> HealthReport {
    HealthReport {
        available: false,
        note: Some(note),
        events: Vec::new(),
    }
}

/// Why one Health endpoint gave no events.
enum Unavailable {
    /// It never answered: the other endpoint may.
    Silent(CloudError),
    /// It answered "no" (no support plan, no permission): the other would say the same.
    Said(String),
}

/// The name that points at the active Health endpoint.
const GLOBAL_HEALTH: &str = "global.health.amazonaws.com";

/// Finds a host's addresses: the system resolver in use, a table in tests (which never look
/// beyond 127.0.0.1).
pub trait Lookup: Send + Sync {
    fn addresses<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Vec<IpAddr>>;
}

/// The system resolver.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn addresses<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Vec<IpAddr>> {
        Box::pin(async move {
            tokio::net::lookup_host((host, 443))
                .await
                .map(|found| found.map(|a| a.ip()).collect())
                .unwrap_or_default()
        })
    }
}

/// The Health regions, the active one first: the one whose endpoint shares an address with
/// the global name. In the usual order when DNS cannot tell (within 2 s).
pub(super) async fn active_first(lookup: &dyn Lookup) -> [&'static str; 2] {
    let [first, second] = HEALTH_REGIONS;
    let find = async {
        let global = lookup.addresses(GLOBAL_HEALTH).await;
        if global.is_empty() {
            return None;
        }
        for region in HEALTH_REGIONS {
            let host = format!("health.{region}.amazonaws.com");
            if lookup
                .addresses(&host)
                .await
                .iter()
                .any(|a| global.contains(a))
            {
                return Some(region);
            }
        }
        None
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), find).await {
        Ok(Some(active)) if active == second => [second, first],
        _ => [first, second],
    }
}

impl AwsCloud {
    /// Open events for the runbook's regions and services (one DescribeEvents per page), from
    /// the active Health region or, when that does not answer, the other; within the operation
    /// timeout in all.
    pub async fn health_events(&self) -> HealthReport {
        let bound = self.clients.timeouts().operation;
        match tokio::time::timeout(bound, self.ask_health()).await {
            Ok(report) => report,
            Err(_) => unavailable(format!(
                "Health API unavailable: no answer within {}s (tried {})",
                bound.as_secs_f64().ceil(),
                HEALTH_REGIONS.join(" and ")
            )),
        }
    }

    async fn ask_health(&self) -> HealthReport {
        let filter = self.health_filter();
        let order = match &self.lookup {
            Some(lookup) => active_first(lookup.as_ref()).await,
            None => HEALTH_REGIONS,
        };
        // Events of global services say `global`; a regions filter would hide them, so the
        // regions are kept here rather than in the request.
        let regions = self.runbook.regions();
        let ours = |e: &HealthEvent| e.region == "global" || regions.contains(&e.region);
        let mut silent = None;
        for region in order {
            match self.describe_events(region, filter.clone()).await {
                Ok(events) => {
                    return HealthReport {
                        available: true,
                        note: None,
                        events: events.into_iter().filter(ours).collect(),
                    }
                }
                Err(Unavailable::Said(note)) => return unavailable(note),
                Err(Unavailable::Silent(e)) => silent = Some(e),
            }
        }
        let why = silent.map_or_else(String::new, |e| format!("{e} "));
        unavailable(format!(
            "Health API unavailable: {why}(tried {})",
            HEALTH_REGIONS.join(" and ")
        ))
    }

    fn health_filter(&self) -> aws_sdk_health::types::EventFilter {
        let mut services: Vec<&str> = self
            .runbook
            .resources
            .values()
            .map(|r| service_code(r.kind))
            .collect();
        if self.runbook.resources.values().any(|r| r.backup.is_some()) {
            services.push("BACKUP");
        }
        services.sort_unstable();
        services.dedup();
        aws_sdk_health::types::EventFilter::builder()
            .set_services(Some(services.iter().map(|s| s.to_string()).collect()))
            .event_status_codes(aws_sdk_health::types::EventStatusCode::Open)
            .build()
    }

    async fn describe_events(
        &self,
        region: &str,
        filter: aws_sdk_health::types::EventFilter,
    ) -> Result<Vec<HealthEvent>, Unavailable> {
        let pages = self
            .clients
            .health(region)
            .describe_events()
            .filter(filter)
            .into_paginator()
            .send()
            .try_collect()
            .await;
        let e = match pages {
            Ok(pages) => {
                return Ok(pages
                    .iter()
                    .flat_map(|p| p.events())
                    .map(|e| HealthEvent {
                        service: e.service().unwrap_or("?").to_string(),
                        region: e.region().unwrap_or("global").to_string(),
                        event_type: e.event_type_code().unwrap_or("?").to_string(),
                        status: e.status_code().map_or("open", |s| s.as_str()).to_string(),
                        started: e.start_time().and_then(time),
                    })
                    .collect())
            }
            Err(e) => e,
        };
        let code = aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
            .unwrap_or_default()
            .to_string();
        if code == "SubscriptionRequiredException" {
            return Err(Unavailable::Said("Health API unavailable: it needs a Business, Enterprise On-Ramp or Enterprise support plan (open events are not shown)".to_string()));
        }
        Err(match self.fail("health:DescribeEvents", e) {
            CloudError::AccessDenied { action, .. } => Unavailable::Said(format!(
                "Health API unavailable: not permitted ({action}); grant it to see open AWS events"
            )),
            e if e.is_no_answer() => Unavailable::Silent(e),
            other => Unavailable::Said(format!("Health API unavailable: {other}")),
        })
    }
}
