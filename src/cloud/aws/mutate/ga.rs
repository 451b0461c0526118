//! Global Accelerator cutovers: traffic dials and endpoint weights. An accelerator has an
//! endpoint group per listener in a region (ports 80 and 443 are two groups in us-east-1), so a
//! cutover acts on every group of the accelerator in its region, or on one listener's when the
//! step names it. UpdateEndpointGroup replaces a group's whole configuration, so every update
//! sends back everything read (endpoints, dial, health checks, port overrides) with only the
//! planned change, and the group is read back afterwards and compared with what was intended.

use std::collections::BTreeMap;

use aws_sdk_globalaccelerator::types::{EndpointConfiguration, EndpointGroup, Listener};

use super::{progress, started};
use crate::cloud::aws::clients::GLOBAL_ACCELERATOR_REGION;
use crate::cloud::aws::AwsCloud;
use crate::model::ActionPlan;
use crate::model::{CloudError, Progress, Started};
use crate::runbook::params::ActionParams;
use crate::runbook::{ActionKind, Resource};

/// The weights the plan sets, by endpoint id or set identifier. Never empty: a plan whose
/// weights are missing or not numbers is refused rather than taken as "nothing to change".
pub(super) fn weights(plan: &ActionPlan) -> Result<BTreeMap<String, i64>, CloudError> {
    let given = match &plan.params {
        ActionParams::SetEndpointWeights(p) => Some(&p.weights),
        ActionParams::SetRecordWeights(p) => Some(&p.weights),
        _ => None,
    };
    let want: BTreeMap<String, i64> = given
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), i64::from(*v)))
        .collect();
    if want.is_empty() {
        return Err(CloudError::Refused(format!(
            "step `{}` sets no weights",
            plan.step
        )));
    }
    Ok(want)
}

/// The traffic dial the plan sets (0–100). Refused rather than guessed when it is missing.
pub(super) fn dial(plan: &ActionPlan) -> Result<f32, CloudError> {
    match &plan.params {
        ActionParams::SetTrafficDial(p) => Ok(f32::from(p.dial)),
        _ => Err(CloudError::Refused(format!(
            "step `{}` sets no traffic dial",
            plan.step
        ))),
    }
}

pub(super) fn current_weights(g: &EndpointGroup) -> String {
    g.endpoint_descriptions()
        .iter()
        .map(|e| {
            format!(
                "{}={}",
                e.endpoint_id().unwrap_or("?"),
                e.weight().unwrap_or(128)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `us-east-1 :443` for a group and its listener, in previews and errors.
pub(super) fn group_name(l: &Listener, g: &EndpointGroup) -> String {
    let ports = l
        .port_ranges()
        .iter()
        .map(|p| match (p.from_port(), p.to_port()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "?".to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    format!("{} :{ports}", g.endpoint_group_region().unwrap_or("?"))
}

/// Whether listener `l` is the one `wanted` names: its ARN, or a port it listens on.
fn is_listener(l: &Listener, wanted: &str) -> bool {
    if l.listener_arn() == Some(wanted) {
        return true;
    }
    let Ok(port) = wanted.parse::<i32>() else {
        return false;
    };
    l.port_ranges()
        .iter()
        .any(|r| r.from_port().is_some_and(|a| a <= port) && r.to_port().is_some_and(|b| port <= b))
}

/// The 12-digit account in an ARN (`arn:aws:elasticloadbalancing:us-east-1:111122223333:...`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// What the plan wants a group to be: its dial, and its endpoints' weights.
fn intended(plan: &ActionPlan, g: &EndpointGroup) -> Result<(f32, Vec<(String, i32)>), CloudError> {
    let mut dial_now = g.traffic_dial_percentage().unwrap_or(100.0);
    let mut endpoints: Vec<(String, i32)> = g
        .endpoint_descriptions()
        .iter()
        .map(|e| {
            (
                e.endpoint_id().unwrap_or_default().to_string(),
                e.weight().unwrap_or(128),
            )
        })
        .collect();
    if plan.action == ActionKind::GaSetTrafficDial {
        dial_now = dial(plan)?;
    } else {
        let want = weights(plan)?;
        for (id, w) in &mut endpoints {
            if let Some(x) = want.get(id.as_str()) {
                *w = *x as i32;
            }
        }
    }
    Ok((dial_now, endpoints))
}

/// Whether group `g` is as the plan wants it.
fn is_done(plan: &ActionPlan, g: &EndpointGroup) -> Result<bool, CloudError> {
    let (want_dial, want) = intended(plan, g)?;
    let dial_ok = (g.traffic_dial_percentage().unwrap_or(100.0) - want_dial).abs() < 0.5;
    let weights_ok = want.iter().all(|(id, w)| {
        g.endpoint_descriptions()
            .iter()
            .any(|e| e.endpoint_id() == Some(id.as_str()) && e.weight().unwrap_or(128) == *w)
    });
    Ok(dial_ok && weights_ok)
}

impl AwsCloud {
    /// The endpoint groups the plan acts on: every group of the accelerator in the plan's
    /// region, or the named listener's; for weights, those holding a named endpoint. Refused
    /// when a named listener or endpoint matches no group.
    pub(super) async fn groups_in(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Vec<(Listener, EndpointGroup)>, CloudError> {
        let (region, listener) = match &plan.params {
            ActionParams::SetTrafficDial(p) => (&p.endpoint_group_region, &p.listener),
            ActionParams::SetEndpointWeights(p) => (&p.endpoint_group_region, &p.listener),
            _ => {
                return Err(CloudError::Refused(format!(
                    "step `{}` names no endpoint group region",
                    plan.step
                )))
            }
        };
        let mut groups: Vec<(Listener, EndpointGroup)> = self
            .listener_groups(&resource.id)
            .await?
            .into_iter()
            .filter(|(_, g)| g.endpoint_group_region() == Some(region.as_str()))
            .collect();
        if groups.is_empty() {
            return Err(CloudError::NotFound(format!(
                "accelerator {} has no endpoint group in {region}",
                resource.id
            )));
        }
        if let Some(wanted) = listener {
            groups.retain(|(l, _)| is_listener(l, wanted));
            if groups.is_empty() {
                return Err(CloudError::Refused(format!(
                    "accelerator {} has no listener `{wanted}` with an endpoint group in {region}; fix `listener:` (a port or a listener ARN)",
                    resource.id
                )));
            }
        }
        if plan.action == ActionKind::GaSetEndpointWeights {
            let want = weights(plan)?;
            let holds = |g: &EndpointGroup, id: &str| {
                g.endpoint_descriptions()
                    .iter()
                    .any(|e| e.endpoint_id() == Some(id))
            };
            if let Some(missing) = want
                .keys()
                .find(|id| !groups.iter().any(|(_, g)| holds(g, id)))
            {
                let known: Vec<String> = groups.iter().map(|(_, g)| current_weights(g)).collect();
                return Err(CloudError::Refused(format!(
                    "endpoint {missing} is in no endpoint group of {region} ({}); fix `weights:`",
                    known.join("; ")
                )));
            }
            groups.retain(|(_, g)| want.keys().any(|id| holds(g, id)));
        }
        Ok(groups)
    }

    pub(super) async fn find_ga(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Option<Started>, CloudError> {
        let groups = self.groups_in(plan, resource).await?;
        for (_, g) in &groups {
            if !is_done(plan, g)? {
                return Ok(None);
            }
        }
        let key = if plan.action == ActionKind::GaSetTrafficDial {
            "previous_dial"
        } else {
            "previous_weights"
        };
        Ok(Some(started(
            &[(key, "unchanged (already as planned)".to_string())],
            true,
        )))
    }

    pub(super) async fn ga_update(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let groups = self.groups_in(plan, resource).await?;
        // Refuse before changing anything: a group that cannot be sent back as read.
        let owner = account_of(&resource.id);
        for (l, g) in &groups {
            for e in g.endpoint_descriptions() {
                let id = e.endpoint_id().unwrap_or_default();
                if id.is_empty() {
                    return Err(CloudError::Refused(format!(
                        "endpoint group {} lists an endpoint without an id; change it in the AWS console",
                        group_name(l, g)
                    )));
                }
                if account_of(id).is_some_and(|a| Some(a) != owner) {
                    return Err(CloudError::Refused(format!(
                        "endpoint {id} in group {} is in another account: its update needs the cross-account attachment, which the group's description does not return; change it in the AWS console",
                        group_name(l, g)
                    )));
                }
            }
        }
        let mut previous = Vec::new();
        for (l, g) in &groups {
            previous.push(format!(
                "{}: {}",
                group_name(l, g),
                if plan.action == ActionKind::GaSetTrafficDial {
                    format!("{:.0}", g.traffic_dial_percentage().unwrap_or(100.0))
                } else {
                    current_weights(g)
                }
            ));
            self.update_group(plan, l, g).await?;
        }
        let key = if plan.action == ActionKind::GaSetTrafficDial {
            "previous_dial"
        } else {
            "previous_weights"
        };
        Ok(started(&[(key, previous.join("; "))], false))
    }

    /// One UpdateEndpointGroup: everything read goes back, with the plan's change; then the
    /// group is read back and must be as intended.
    async fn update_group(
        &self,
        plan: &ActionPlan,
        l: &Listener,
        g: &EndpointGroup,
    ) -> Result<(), CloudError> {
        let arn = g.endpoint_group_arn().unwrap_or_default().to_string();
        let (dial_to, endpoints) = intended(plan, g)?;
        let list = g
            .endpoint_descriptions()
            .iter()
            .zip(&endpoints)
            .map(|(e, (id, w))| {
                EndpointConfiguration::builder()
                    .endpoint_id(id)
                    .weight(*w)
                    .set_client_ip_preservation_enabled(e.client_ip_preservation_enabled())
                    .build()
            })
            .collect();
        self.clients
            .change()
            .globalaccelerator(GLOBAL_ACCELERATOR_REGION)
            .update_endpoint_group()
            .endpoint_group_arn(&arn)
            .set_endpoint_configurations(Some(list))
            .traffic_dial_percentage(dial_to)
            .set_health_check_port(g.health_check_port())
            .set_health_check_protocol(g.health_check_protocol().cloned())
            .set_health_check_path(g.health_check_path().map(str::to_string))
            .set_health_check_interval_seconds(g.health_check_interval_seconds())
            .set_threshold_count(g.threshold_count())
            .set_port_overrides(Some(g.port_overrides().to_vec()))
            .send()
            .await
            .map_err(|e| self.fail("globalaccelerator:UpdateEndpointGroup", e))?;
        let after = self
            .clients
            .globalaccelerator(GLOBAL_ACCELERATOR_REGION)
            .describe_endpoint_group()
            .endpoint_group_arn(&arn)
            .send()
            .await
            .map_err(|e| self.fail("globalaccelerator:DescribeEndpointGroup", e))?;
        let after = after.endpoint_group().ok_or_else(|| CloudError::Api {
            code: "NoEndpointGroup".into(),
            message: format!("DescribeEndpointGroup of {arn} answered without the group"),
        })?;
        let kept = after.health_check_port() == g.health_check_port()
            && after.health_check_protocol() == g.health_check_protocol()
            && after.health_check_path() == g.health_check_path()
            && after.health_check_interval_seconds() == g.health_check_interval_seconds()
            && after.threshold_count() == g.threshold_count()
            && after.port_overrides() == g.port_overrides()
            && after.endpoint_descriptions().len() == g.endpoint_descriptions().len();
        if !kept || !is_done(plan, after)? {
            return Err(CloudError::Api {
                code: "ReadBackDiffers".into(),
                message: format!(
                    "endpoint group {} reads back different from what was sent (dial {:.0}%, weights {}); check it in the AWS console before going on",
                    group_name(l, g),
                    after.traffic_dial_percentage().unwrap_or(100.0),
                    current_weights(after)
                ),
            });
        }
        Ok(())
    }

    pub(super) async fn poll_ga(&self, resource: &Resource) -> Result<Progress, CloudError> {
        let out = self
            .clients
            .globalaccelerator(GLOBAL_ACCELERATOR_REGION)
            .describe_accelerator()
            .accelerator_arn(&resource.id)
            .send()
            .await
            .map_err(|e| self.fail("globalaccelerator:DescribeAccelerator", e))?;
        let status = out
            .accelerator()
            .and_then(|a| a.status())
            .map_or("unknown", |s| s.as_str())
            .to_lowercase();
        Ok(progress(status))
    }
}
