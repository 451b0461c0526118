//! Reads of the traffic resources: Global Accelerator endpoint groups and Route 53 record sets
//! with their health checks. The same reads give the "before" of a cutover's preview.

use aws_sdk_globalaccelerator::types::{EndpointGroup, Listener};
use aws_sdk_route53::types::{ResourceRecordSet, RrType};

use super::AwsCloud;
use crate::cloud::Observation;
use crate::model::{CloudError, ResourceStatus};
use crate::runbook::{Health, RecordRef, Resource};

use super::clients::{GLOBAL_ACCELERATOR_REGION, ROUTE53_REGION};

impl AwsCloud {
    /// Every endpoint group of an accelerator.
    pub(super) async fn endpoint_groups(
        &self,
        accelerator: &str,
    ) -> Result<Vec<EndpointGroup>, CloudError> {
        Ok(self
            .listener_groups(accelerator)
            .await?
            .into_iter()
            .map(|(_, g)| g)
            .collect())
    }

    /// Every endpoint group of an accelerator with its listener (ListListeners, then
    /// ListEndpointGroups per listener: Global Accelerator has no batch read).
    pub(super) async fn listener_groups(
        &self,
        accelerator: &str,
    ) -> Result<Vec<(Listener, EndpointGroup)>, CloudError> {
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
                    .flat_map(|p| p.endpoint_groups.unwrap_or_default())
                    .map(|g| (l.clone(), g)),
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

    /// The record sets with this name and type: ListResourceRecordSets from the name, page
    /// after page while Route 53 says there are more of them (weighted, latency or geo sets of
    /// one name are listed together, and may fill more than a page).
    pub(super) async fn record_sets(
        &self,
        record: &RecordRef,
    ) -> Result<Vec<ResourceRecordSet>, CloudError> {
        let name = normalise(&record.name);
        let rtype = RrType::from(record.record_type.as_str());
        let mut sets = Vec::new();
        let mut next: Option<(String, RrType, Option<String>)> = Some((name.clone(), rtype, None));
        // A bound on pages, so a zone that keeps answering "more" cannot hold a look forever.
        for _ in 0..100 {
            let Some((start, start_type, identifier)) = next.take() else {
                break;
            };
            let out = self
                .clients
                .route53(ROUTE53_REGION)
                .list_resource_record_sets()
                .hosted_zone_id(&record.zone)
                .start_record_name(&start)
                .start_record_type(start_type)
                .set_start_record_identifier(identifier)
                .max_items(300)
                .send()
                .await
                .map_err(|e| self.fail("route53:ListResourceRecordSets", e))?;
            let mut past = false;
            for s in out.resource_record_sets() {
                if normalise(s.name()) == name && s.r#type().as_str() == record.record_type {
                    sets.push(s.clone());
                } else if !sets.is_empty() {
                    past = true;
                }
            }
            if out.is_truncated() && !past {
                next = out.next_record_name().map(|n| {
                    (
                        n.to_string(),
                        out.next_record_type().cloned().unwrap_or(RrType::A),
                        out.next_record_identifier().map(str::to_string),
                    )
                });
                // Only while the next page still starts at this name and type.
                next = next.filter(|(n, t, _)| {
                    normalise(n) == name && *t == RrType::from(record.record_type.as_str())
                });
            }
        }
        Ok(sets)
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
}

/// `api.example.com.` in lower case with its trailing dot, Route 53's octal escapes decoded
/// (it lists `*.example.com` as `\052.example.com`).
pub(super) fn normalise(name: &str) -> String {
    let mut n = String::with_capacity(name.len() + 1);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            if digits.len() == 3 && digits.chars().all(|d| ('0'..='7').contains(&d)) {
                if let Some(decoded) = u8::from_str_radix(&digits, 8).ok().map(char::from) {
                    n.push(decoded);
                    chars.nth(2);
                    continue;
                }
            }
        }
        n.push(c);
    }
    let n = n.to_lowercase();
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
