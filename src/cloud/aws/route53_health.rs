//! Route 53 health checks as Route 53 itself judges them: a check is healthy when more than 18 %
//! of its checkers say so (checkers in an impaired region must not flip a surviving site), a
//! calculated check is healthy when enough of its children are (GetHealthCheckStatus does not
//! serve calculated checks), an inverted check says the opposite, and a disabled one is healthy.
//! A check's configuration is read once per console; its status on every look.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_route53::types::HealthCheckType;

use super::clients::ROUTE53_REGION;
use super::AwsCloud;
use crate::model::CloudError;
use crate::runbook::Health;

/// How deep calculated checks may nest before pilotlight stops following them.
const MAX_DEPTH: usize = 3;

/// What decides a check's health, from GetHealthCheck (it rarely changes).
#[derive(Debug, Clone)]
pub(super) struct CheckConfig {
    calculated: bool,
    children: Vec<String>,
    threshold: usize,
    inverted: bool,
    disabled: bool,
}

/// Check configurations read so far, by health check id.
#[derive(Debug, Default)]
pub(super) struct CheckConfigs(Mutex<HashMap<String, CheckConfig>>);

/// Route 53's rule: healthy when more than 18 % of the checkers that reported say "Success".
pub(super) fn judged_healthy(success: usize, reported: usize) -> Option<bool> {
    (reported > 0).then(|| success * 100 > reported * 18)
}

impl AwsCloud {
    /// The health of check `id` as Route 53 routes by it.
    pub(super) async fn health_check(&self, id: &str) -> Result<Health, CloudError> {
        Ok(match self.check_healthy(id.to_string(), 0).await? {
            Some(true) => Health::Ok,
            Some(false) => Health::Unavailable,
            None => Health::Unknown,
        })
    }

    fn check_healthy(
        &self,
        id: String,
        depth: usize,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Option<bool>, CloudError>> + Send + '_>,
    > {
        Box::pin(async move {
            let config = self.check_config(&id).await?;
            if config.disabled {
                return Ok(Some(true));
            }
            let healthy = if config.calculated {
                if depth >= MAX_DEPTH {
                    return Err(CloudError::Refused(format!(
                        "health check {id}: calculated checks nest deeper than {MAX_DEPTH}"
                    )));
                }
                let mut ok = 0;
                for child in &config.children {
                    if self.check_healthy(child.clone(), depth + 1).await? == Some(true) {
                        ok += 1;
                    }
                }
                Some(ok >= config.threshold)
            } else {
                self.checkers_say(&id).await?
            };
            Ok(healthy.map(|h| h != config.inverted))
        })
    }

    /// GetHealthCheckStatus: what the checkers report, judged by the 18 % rule.
    async fn checkers_say(&self, id: &str) -> Result<Option<bool>, CloudError> {
        let out = self
            .clients
            .route53(ROUTE53_REGION)
            .get_health_check_status()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| self.fail("route53:GetHealthCheckStatus", e))?;
        let seen = out.health_check_observations();
        let success = seen
            .iter()
            .filter(|o| {
                o.status_report()
                    .and_then(|s| s.status())
                    .is_some_and(|s| s.starts_with("Success"))
            })
            .count();
        Ok(judged_healthy(success, seen.len()))
    }

    async fn check_config(&self, id: &str) -> Result<CheckConfig, CloudError> {
        if let Some(c) = self
            .checks
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return Ok(c.clone());
        }
        let out = self
            .clients
            .route53(ROUTE53_REGION)
            .get_health_check()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| self.fail("route53:GetHealthCheck", e))?;
        let c = out
            .health_check()
            .and_then(|h| h.health_check_config())
            .ok_or_else(|| CloudError::NotFound(format!("Route 53 health check {id}")))?;
        let config = CheckConfig {
            calculated: *c.r#type() == HealthCheckType::Calculated,
            children: c.child_health_checks().to_vec(),
            threshold: c.health_threshold().map_or(0, |t| t.max(0) as usize),
            inverted: c.inverted().unwrap_or(false),
            disabled: c.disabled().unwrap_or(false),
        };
        self.checks
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), config.clone());
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::judged_healthy;

    #[test]
    fn more_than_18_percent_of_checkers_is_healthy() {
        assert_eq!(judged_healthy(0, 0), None);
        assert_eq!(judged_healthy(1, 8), Some(false)); // 12.5 %
        assert_eq!(judged_healthy(2, 8), Some(true)); // 25 %
        assert_eq!(judged_healthy(3, 16), Some(true)); // 18.75 %
        assert_eq!(judged_healthy(9, 50), Some(false)); // exactly 18 %: not more
        assert_eq!(judged_healthy(8, 8), Some(true));
    }
}
