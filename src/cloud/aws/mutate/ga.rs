//! Global Accelerator cutovers: traffic dials and endpoint weights, the latter a read-modify-write
//! of the group's full endpoint list. The same reads say what a cutover will change.

use std::collections::BTreeMap;

use aws_sdk_globalaccelerator::types::{EndpointConfiguration, EndpointGroup};

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

impl AwsCloud {
    pub(super) async fn group_in(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<EndpointGroup, CloudError> {
        let region = match &plan.params {
            ActionParams::SetTrafficDial(p) => p.endpoint_group_region.clone(),
            ActionParams::SetEndpointWeights(p) => p.endpoint_group_region.clone(),
            _ => {
                return Err(CloudError::Refused(format!(
                    "step `{}` names no endpoint group region",
                    plan.step
                )))
            }
        };
        self.endpoint_groups(&resource.id)
            .await?
            .into_iter()
            .find(|g| g.endpoint_group_region() == Some(region.as_str()))
            .ok_or_else(|| {
                CloudError::NotFound(format!(
                    "accelerator {} has no endpoint group in {region}",
                    resource.id
                ))
            })
    }

    /// Whether the group already is as the plan wants it.
    fn ga_done(plan: &ActionPlan, g: &EndpointGroup) -> Result<bool, CloudError> {
        Ok(match plan.action {
            ActionKind::GaSetTrafficDial => {
                (g.traffic_dial_percentage().unwrap_or(100.0) - dial(plan)?).abs() < 0.5
            }
            _ => weights(plan)?.iter().all(|(id, w)| {
                g.endpoint_descriptions().iter().any(|e| {
                    e.endpoint_id() == Some(id.as_str())
                        && i64::from(e.weight().unwrap_or(128)) == *w
                })
            }),
        })
    }

    pub(super) async fn find_ga(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Option<Started>, CloudError> {
        let g = self.group_in(plan, resource).await?;
        Ok(AwsCloud::ga_done(plan, &g)?.then(|| {
            let key = if plan.action == ActionKind::GaSetTrafficDial {
                "previous_dial"
            } else {
                "previous_weights"
            };
            started(&[(key, "unchanged (already as planned)".to_string())], true)
        }))
    }

    pub(super) async fn ga_update(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let g = self.group_in(plan, resource).await?;
        let arn = g.endpoint_group_arn().unwrap_or_default().to_string();
        let client = self.clients.globalaccelerator(GLOBAL_ACCELERATOR_REGION);
        let mut req = client.update_endpoint_group().endpoint_group_arn(&arn);
        let previous = if plan.action == ActionKind::GaSetTrafficDial {
            req = req.traffic_dial_percentage(dial(plan)?);
            (
                "previous_dial",
                format!("{:.0}", g.traffic_dial_percentage().unwrap_or(100.0)),
            )
        } else {
            let want = weights(plan)?;
            let known: Vec<&str> = g
                .endpoint_descriptions()
                .iter()
                .filter_map(|e| e.endpoint_id())
                .collect();
            if let Some(missing) = want.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(CloudError::Refused(format!(
                    "endpoint {missing} is not in the group ({}); fix `weights:`",
                    known.join(", ")
                )));
            }
            // The update replaces the whole list: every endpoint goes back, changed or not.
            let list = g
                .endpoint_descriptions()
                .iter()
                .map(|e| {
                    let id = e.endpoint_id().unwrap_or_default();
                    let w = want
                        .get(id)
                        .map_or(e.weight().unwrap_or(128), |w| *w as i32);
                    EndpointConfiguration::builder()
                        .endpoint_id(id)
                        .weight(w)
                        .set_client_ip_preservation_enabled(e.client_ip_preservation_enabled())
                        .build()
                })
                .collect();
            req = req.set_endpoint_configurations(Some(list));
            ("previous_weights", current_weights(&g))
        };
        req.send()
            .await
            .map_err(|e| self.fail("globalaccelerator:UpdateEndpointGroup", e))?;
        Ok(started(&[previous], false))
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
