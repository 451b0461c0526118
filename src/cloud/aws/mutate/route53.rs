//! Route 53 cutovers: weights and values by UPSERT, then GetChange until INSYNC; and the
//! before -> after of every cutover for the gate's preview.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::ga::{current_weights, dial, group_name, weights};
use super::{params, progress, started};
use crate::cloud::aws::clients::ROUTE53_REGION;
use crate::cloud::aws::observe_net::describe_set;
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::{ActionKind, RecordRef, Resource};

impl AwsCloud {
    /// The record sets the plan changes, each as it would be after the change.
    fn planned_sets(
        plan: &ActionPlan,
        record: &RecordRef,
        sets: &[ResourceRecordSet],
    ) -> Result<Vec<ResourceRecordSet>, CloudError> {
        // The set as read, with only the planned change: UPSERT replaces the whole set, so its
        // routing (failover, geolocation, latency region, multivalue, CIDR), alias and health
        // check all go back as they were.
        let rebuild = |s: &ResourceRecordSet,
                       weight: Option<i64>,
                       values: Option<Vec<String>>,
                       ttl: Option<i64>|
         -> Result<ResourceRecordSet, CloudError> {
            let mut set = s.clone();
            set.weight = weight.or(s.weight());
            set.ttl = ttl.or(s.ttl());
            if let Some(v) = values {
                let records: Vec<ResourceRecord> = v
                    .into_iter()
                    .filter_map(|x| ResourceRecord::builder().value(x).build().ok())
                    .collect();
                set.resource_records = Some(records).filter(|r| !r.is_empty());
            }
            Ok(set)
        };
        if plan.action == ActionKind::Route53SetWeights {
            let want = weights(plan)?;
            return want
                .iter()
                .map(|(id, w)| {
                    let s = sets
                        .iter()
                        .find(|s| s.set_identifier() == Some(id.as_str()))
                        .ok_or_else(|| {
                            CloudError::NotFound(format!(
                                "record set `{id}` of {} {}",
                                record.name, record.record_type
                            ))
                        })?;
                    rebuild(s, Some(*w), None, None)
                })
                .collect();
        }
        let p = params!(plan, UpsertRecord);
        let set_id = p
            .set_identifier
            .clone()
            .or_else(|| record.set_identifier.clone());
        let values: Vec<String> = p.values.clone();
        let ttl = p.ttl.map(i64::from);
        let weight = p.weight.map(i64::from);
        match sets
            .iter()
            .find(|s| s.set_identifier() == set_id.as_deref())
        {
            Some(s) => Ok(vec![rebuild(s, weight, Some(values), ttl)?]),
            None => ResourceRecordSet::builder()
                .name(&record.name)
                .r#type(RrType::from(record.record_type.as_str()))
                .set_set_identifier(set_id)
                .set_weight(weight)
                .ttl(ttl.unwrap_or(60))
                .set_resource_records(Some(
                    values
                        .into_iter()
                        .filter_map(|x| ResourceRecord::builder().value(x).build().ok())
                        .collect(),
                ))
                .build()
                .map(|s| vec![s])
                .map_err(|e| CloudError::Refused(e.to_string())),
        }
    }

    async fn route53_plan(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<(Vec<ResourceRecordSet>, Vec<ResourceRecordSet>), CloudError> {
        let record = resource.record.as_ref().ok_or_else(|| {
            CloudError::Refused(format!("resource `{}` names no record", resource.name))
        })?;
        let sets = self.record_sets(record).await?;
        let after = AwsCloud::planned_sets(plan, record, &sets)?;
        let before = after
            .iter()
            .filter_map(|a| {
                sets.iter()
                    .find(|s| s.set_identifier() == a.set_identifier())
                    .cloned()
            })
            .collect();
        Ok((before, after))
    }

    /// Address record sets of the other family at the same name (an AAAA beside the A the
    /// runbook shifts, weighted or not): the change leaves them as they are, so clients that
    /// resolve through them stay where they were. One page from the name; `None` when there are
    /// none or they cannot be read (the preview is advice; the change does not depend on it).
    async fn left_behind(&self, resource: &Resource) -> Option<String> {
        let record = resource.record.as_ref()?;
        let other = match record.record_type.as_str() {
            "A" => "AAAA",
            "AAAA" => "A",
            _ => return None,
        };
        let name = crate::cloud::aws::observe_net::normalise(&record.name);
        let out = self
            .clients
            .route53(ROUTE53_REGION)
            .list_resource_record_sets()
            .hosted_zone_id(&record.zone)
            .start_record_name(&name)
            .start_record_type(RrType::from(other))
            .max_items(300)
            .send()
            .await
            .ok()?;
        let mut sets: Vec<String> = out
            .resource_record_sets()
            .iter()
            .filter(|s| crate::cloud::aws::observe_net::normalise(s.name()) == name)
            .filter(|s| s.r#type().as_str() == other)
            .map(|s| s.set_identifier().unwrap_or("(simple)").to_string())
            .collect();
        if sets.is_empty() {
            return None;
        }
        if out.is_truncated() {
            sets.push("and more".into());
        }
        Some(format!(
            "WARNING: {other} record sets {} of {} are not changed by this step (the resource covers {} only): declare a route53-record resource for {other} and shift it too",
            sets.join(", "),
            record.name,
            record.record_type
        ))
    }

    pub(super) async fn find_route53(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Option<Started>, CloudError> {
        let (before, after) = self.route53_plan(plan, resource).await?;
        let same = before.len() == after.len()
            && before.iter().zip(&after).all(|(b, a)| {
                // Values and weight, and what the description leaves out: a TTL-only
                // change (lowered before a failover) is a change too.
                describe_set(b) == describe_set(a)
                    && b.ttl() == a.ttl()
                    && b.health_check_id() == a.health_check_id()
            });
        let key = if plan.action == ActionKind::Route53SetWeights {
            "previous_weights"
        } else {
            "previous_values"
        };
        Ok(same.then(|| {
            started(
                &[
                    ("change_id", String::new()),
                    (key, "unchanged (already as planned)".into()),
                ],
                true,
            )
        }))
    }

    pub(super) async fn route53_change(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let (before, after) = self.route53_plan(plan, resource).await?;
        let zone = resource
            .record
            .as_ref()
            .map(|r| r.zone.clone())
            .unwrap_or_default();
        let changes = after
            .into_iter()
            .map(|s| {
                Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(s)
                    .build()
                    .map_err(|e| CloudError::Refused(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let batch = ChangeBatch::builder()
            .comment(format!("pilotlight {} {}", plan.step, plan.token))
            .set_changes(Some(changes))
            .build()
            .map_err(|e| CloudError::Refused(e.to_string()))?;
        let out = self
            .clients
            .change()
            .route53(ROUTE53_REGION)
            .change_resource_record_sets()
            .hosted_zone_id(&zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| self.fail("route53:ChangeResourceRecordSets", e))?;
        let key = if plan.action == ActionKind::Route53SetWeights {
            "previous_weights"
        } else {
            "previous_values"
        };
        let previous = before
            .iter()
            .map(describe_set)
            .collect::<Vec<_>>()
            .join("; ");
        Ok(started(
            &[
                (
                    "change_id",
                    out.change_info()
                        .map(|c| c.id().to_string())
                        .unwrap_or_default(),
                ),
                (key, previous),
            ],
            false,
        ))
    }

    pub(super) async fn poll_change(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let Some(id) = plan.made.get("change_id").filter(|c| !c.is_empty()) else {
            // Nothing was sent (the record already was as planned).
            return Ok(progress("insync"));
        };
        let out = self
            .clients
            .route53(ROUTE53_REGION)
            .get_change()
            .id(id.trim_start_matches("/change/"))
            .send()
            .await
            .map_err(|e| self.fail("route53:GetChange", e))?;
        Ok(progress(
            out.change_info()
                .map_or("unknown", |c| c.status().as_str())
                .to_lowercase(),
        ))
    }

    /// What a cutover will change, before → after, for the gate's preview.
    pub async fn cutover_preview(&self, plan: &ActionPlan) -> Result<String, CloudError> {
        let resource = self.resource(&plan.resource)?;
        match plan.action {
            ActionKind::GaSetTrafficDial | ActionKind::GaSetEndpointWeights => {
                // Every group the change acts on, one line each.
                let groups = self.groups_in(plan, resource).await?;
                let mut lines = Vec::new();
                for (l, g) in &groups {
                    lines.push(if plan.action == ActionKind::GaSetTrafficDial {
                        format!(
                            "traffic dial of {}: {:.0}% -> {}%",
                            group_name(l, g),
                            g.traffic_dial_percentage().unwrap_or(100.0),
                            dial(plan)?
                        )
                    } else {
                        let after: Vec<String> = weights(plan)?
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect();
                        format!(
                            "weights of {}: {} -> {}",
                            group_name(l, g),
                            current_weights(g),
                            after.join(",")
                        )
                    });
                }
                Ok(lines.join("; "))
            }
            ActionKind::Route53SetWeights | ActionKind::Route53UpsertRecord => {
                let (before, after) = self.route53_plan(plan, resource).await?;
                let show = |v: &[ResourceRecordSet]| {
                    if v.is_empty() {
                        "(none)".to_string()
                    } else {
                        v.iter().map(describe_set).collect::<Vec<_>>().join("; ")
                    }
                };
                let mut change = format!("{} -> {}", show(&before), show(&after));
                if let Some(note) = self.left_behind(resource).await {
                    change.push_str("; ");
                    change.push_str(&note);
                }
                Ok(change)
            }
            _ => Err(CloudError::Refused(format!(
                "{} is not a cutover",
                plan.action.name()
            ))),
        }
    }
}
