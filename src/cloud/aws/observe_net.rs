//! Reads of the traffic resources: Global Accelerator endpoint groups and Route 53 record sets
//! with their health checks. The same reads give the "before" of a cutover's preview.

use aws_sdk_globalaccelerator::types::EndpointGroup;
use aws_sdk_route53::types::{ResourceRecordSet, RrType};

use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, ResourceStatus};
use crate::runbook::{Health, RecordRef, Resource};

use super::clients::{GLOBAL_ACCELERATOR_REGION, ROUTE53_REGION};

impl AwsCloud {
    /// Every endpoint group of an accelerator (ListListeners, then ListEndpointGroups per
    /// listener: Global Accelerator has no batch read).
    pub(super) async fn endpoint_groups(
        &self,
        accelerator: &str,
    ) -> Result<Vec<EndpointGroup>, CloudError> {
        let client = self.clients.globalaccelerator(GLOBAL_ACCELERATOR_REGION);
        let listeners = client
            .list_listeners()
            .accelerator_arn(accelerator)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.fail("globalaccelerator:ListListeners", e))?;
        let mut groups = Vec::new();
        for l in listeners.iter().flat_map(|p| p.listeners()) {
            let Some(arn) = l.listener_arn() else {
                continue;
            };
            let pages = client
                .list_endpoint_groups()
                .listener_arn(arn)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| self.fail("globalaccelerator:ListEndpointGroups", e))?;
            groups.extend(
                pages
                    .into_iter()
                    .flat_map(|p| p.endpoint_groups.unwrap_or_default()),
            );
        }
        Ok(groups)
    }

    pub(super) async fn accelerators(&self, group: &[Resource]) -> Vec<Observation> {
        let Some(first) = group.first() else {
            return Vec::new();
        };
        let result = self
            .endpoint_groups(&first.id)
            .await
            .map(|groups| accelerator_status(&groups));
        group
            .iter()
            .map(|r| (r.name.clone(), result.clone()))
            .collect()
    }

    /// The record sets with this name and type (one ListResourceRecordSets call; weighted sets
    /// of one name are listed together).
    pub(super) async fn record_sets(
        &self,
        record: &RecordRef,
    ) -> Result<Vec<ResourceRecordSet>, CloudError> {
        let name = normalise(&record.name);
        let out = self
            .clients
            .route53(ROUTE53_REGION)
            .list_resource_record_sets()
            .hosted_zone_id(&record.zone)
            .start_record_name(&name)
            .start_record_type(RrType::from(record.record_type.as_str()))
            .max_items(100)
            .send()
            .await
            .map_err(|e| self.fail("route53:ListResourceRecordSets", e))?;
        Ok(out
            .resource_record_sets()
            .iter()
            .filter(|s| normalise(s.name()) == name && s.r#type().as_str() == record.record_type)
            .cloned()
            .collect())
    }

    pub(super) async fn records(&self, group: &[Resource]) -> Vec<Observation> {
        let mut out = Vec::new();
        let Some(record) = group.first().and_then(|r| r.record.clone()) else {
            return group
                .iter()
                .map(|r| {
                    let e = CloudError::NotFound(format!("{} names no record", r.name));
                    (r.name.clone(), Err(e))
                })
                .collect();
        };
        let sets = self.record_sets(&record).await;
        for r in group {
            let result = match &sets {
                Err(e) => Err(e.clone()),
                Ok(sets) => self.record_status(r, sets).await,
            };
            out.push((r.name.clone(), result));
        }
        out
    }

    async fn record_status(
        &self,
        r: &Resource,
        sets: &[ResourceRecordSet],
    ) -> Result<ResourceStatus, CloudError> {
        let want = r.record.as_ref().and_then(|x| x.set_identifier.as_deref());
        let mine: Vec<&ResourceRecordSet> = sets
            .iter()
            .filter(|s| want.is_none() || s.set_identifier() == want)
            .collect();
        if mine.is_empty() {
            return Err(CloudError::NotFound(format!(
                "Route 53 record {} {}{} in zone {}",
                r.id,
                r.record.as_ref().map_or("", |x| x.record_type.as_str()),
                want.map(|w| format!(" (set {w})")).unwrap_or_default(),
                r.record.as_ref().map_or("", |x| x.zone.as_str())
            )));
        }
        let state = mine
            .iter()
            .map(|s| describe_set(s))
            .collect::<Vec<_>>()
            .join("; ");
        let health = match &r.health_check {
            None => Health::Ok,
            Some(id) => self.health_check(id).await?,
        };
        Ok(ResourceStatus {
            health,
            state,
            latest_recovery_point: None,
        })
    }

    /// What Route 53's checkers say: all healthy, some, or none.
    async fn health_check(&self, id: &str) -> Result<Health, CloudError> {
        let out = self
            .clients
            .route53(ROUTE53_REGION)
            .get_health_check_status()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| self.fail("route53:GetHealthCheckStatus", e))?;
        let seen = out.health_check_observations();
        let ok = seen
            .iter()
            .filter(|o| {
                o.status_report()
                    .and_then(|s| s.status())
                    .is_some_and(|s| s.starts_with("Success"))
            })
            .count();
        Ok(match (ok, seen.len()) {
            (_, 0) => Health::Unknown,
            (0, _) => Health::Unavailable,
            (a, b) if a == b => Health::Ok,
            _ => Health::Impaired,
        })
    }
}

/// `api.example.com.` in lower case with its trailing dot.
pub(super) fn normalise(name: &str) -> String {
    let n = name.to_lowercase();
    if n.ends_with('.') {
        n
    } else {
        format!("{n}.")
    }
}

/// `blue weight 100 → 10.0.0.1` or `10.0.0.1, 10.0.0.2`.
pub(super) fn describe_set(s: &ResourceRecordSet) -> String {
    let values = s
        .resource_records()
        .iter()
        .map(|v| v.value().to_string())
        .chain(s.alias_target().map(|a| format!("alias {}", a.dns_name())))
        .collect::<Vec<_>>()
        .join(", ");
    match (s.set_identifier(), s.weight()) {
        (Some(id), Some(w)) => format!("{id} weight {w} -> {values}"),
        (Some(id), None) => format!("{id} -> {values}"),
        _ => values,
    }
}

/// Health over the endpoints that take traffic (dial above zero), and a one-line state.
fn accelerator_status(groups: &[EndpointGroup]) -> ResourceStatus {
    let mut serving = (0, 0);
    let mut parts = Vec::new();
    for g in groups {
        let dial = g.traffic_dial_percentage().unwrap_or(100.0);
        let eps = g.endpoint_descriptions();
        let healthy = eps
            .iter()
            .filter(|e| e.health_state().is_some_and(|h| h.as_str() == "HEALTHY"))
            .count();
        if dial > 0.0 {
            serving.0 += healthy;
            serving.1 += eps.len();
        }
        parts.push(format!(
            "{} dial {dial:.0}% {healthy}/{} healthy",
            g.endpoint_group_region().unwrap_or("?"),
            eps.len()
        ));
    }
    let health = match serving {
        (_, 0) => Health::Unavailable,
        (0, _) => Health::Unavailable,
        (a, b) if a == b => Health::Ok,
        _ => Health::Impaired,
    };
    ResourceStatus {
        health,
        state: if parts.is_empty() {
            "no endpoint groups".into()
        } else {
            parts.join("; ")
        },
        latest_recovery_point: None,
    }
}
