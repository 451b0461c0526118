//! SNS notifications. A message once published cannot be taken back, and SNS cannot be asked
//! whether it was: a FIFO topic is sent the attempt's token as its deduplication id (SNS drops a
//! repeat within five minutes); for a standard topic, a publish whose answer was lost is the
//! operator's to judge (send again, or mark it sent).

use chrono::{DateTime, TimeDelta, Utc};

use super::{params, region, started};
use crate::cloud::aws::AwsCloud;
use crate::model::{ActionPlan, CloudError, Started};
use crate::runbook::Resource;

/// Whether the topic is a FIFO topic (its name ends in `.fifo`).
pub(super) fn is_fifo(topic: &str) -> bool {
    topic.ends_with(".fifo")
}

impl AwsCloud {
    pub(super) async fn publish(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let p = params!(plan, SnsPublish);
        let topic = &resource.id;
        let mut req = self
            .clients
            .change()
            .sns(region(plan)?)
            .publish()
            .topic_arn(topic)
            .message(&p.message)
            .set_subject(p.subject.clone());
        if is_fifo(topic) {
            let group = p.message_group_id.as_deref().unwrap_or("pilotlight");
            req = req
                .message_group_id(group)
                .message_deduplication_id(&plan.token);
        }
        let out = req.send().await.map_err(|e| {
            match self.fail("sns:Publish", e) {
                // Sent, maybe: SNS cannot be asked afterwards.
                CloudError::Api { code, message } if !is_fifo(topic) => CloudError::Api {
                    message: format!("{message}; SNS cannot say whether the message went out: ask a subscriber; retry (r) sends it again, skip (s) marks it sent"),
                    code,
                },
                other => other,
            }
        })?;
        let id = out.message_id().unwrap_or_default().to_string();
        Ok(started(&[("message_id", id)], false))
    }

    /// After a crash with the publish in flight.
    pub(super) fn find_published(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        // Publishing again is harmless while SNS still remembers the deduplication id (five
        // minutes; four, to leave room for clocks).
        let recent = plan
            .since
            .is_some_and(|since| now - since < TimeDelta::minutes(4));
        if is_fifo(&resource.id) && recent {
            return Ok(None);
        }
        Err(CloudError::Refused(format!(
            "SNS cannot say whether the message of step `{}` reached {}: ask a subscriber whether it arrived; retry (r) sends it again, skip (s) marks it sent",
            plan.step, resource.id
        )))
    }
}
