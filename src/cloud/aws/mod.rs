//! Live AWS behind the [`Observe`] and [`Mutate`] traits. The only module that uses the AWS SDK.
//!
//! Reads are batched: a refresh costs one call per (service, region, page) wherever AWS has a
//! batch read (EC2, EBS, RDS, Backup, Route 53 record sets); DynamoDB, Global Accelerator and
//! Route 53 health checks have none and cost one call per table, accelerator or check. Each
//! (service, region) answers on its own, so a silent region delays only its own resources.

pub mod clients;
mod errors;
mod guard;
mod health;
mod inspect;
mod mutate;
mod observe;
mod observe_alarms;
mod observe_compute;
mod observe_db;
mod observe_net;
mod observe_platform;
mod pace;
mod resolve;
mod route53_health;
pub mod s3_store;
mod s3_url;

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use futures_util::Stream;

pub use clients::{Access, CallCounts, CallLog, Clients, Endpoints, Timeouts};
pub use health::{HealthReport, Lookup};
pub use pace::{PER_SERVICE_REGION, SLOW_EVERY};

use super::{Change, Observation, Observe};
use crate::engine::Approval;
use crate::model::ActionPlan;
pub use crate::model::Identity;
use crate::model::{CloudError, Progress, ResourceStatus, Started};
use crate::runbook::{Resource, Runbook};

/// The AWS backend of one runbook.
pub struct AwsCloud {
    clients: Clients,
    runbook: Arc<Runbook>,
    /// Route 53 health check configurations read so far.
    checks: route53_health::CheckConfigs,
    /// Requests in flight per (service, region).
    limits: pace::Limits,
    /// Recovery point lists and PITR windows, read at most every five minutes.
    slow: pace::SlowFacts,
    /// How the active AWS Health region is found (none: in the usual order, as when Health's
    /// endpoint is set by hand).
    lookup: Option<Arc<dyn health::Lookup>>,
    /// The backends of the runbook's other accounts (`accounts:`), by account id: the same
    /// code through clients with the role assumed there.
    accounts: std::collections::HashMap<String, AwsCloud>,
    /// For another account's backend: (account, role), for its errors.
    assumed: Option<(String, String)>,
}

impl AwsCloud {
    pub fn new(clients: Clients, runbook: Arc<Runbook>) -> AwsCloud {
        AwsCloud {
            clients,
            runbook,
            checks: route53_health::CheckConfigs::default(),
            limits: pace::Limits::default(),
            slow: pace::SlowFacts::default(),
            lookup: None,
            accounts: std::collections::HashMap::new(),
            assumed: None,
        }
        .with_lookup(None)
    }

    /// With a backend for each of the runbook's `accounts:`: its role assumed through STS
    /// (made once per account, refreshed before it expires, by the SDK's credentials cache),
    /// the session named after `operator`, every call through the same guard and timeouts.
    pub async fn assume_roles(mut self, operator: &str) -> AwsCloud {
        let session: String = format!("pilotlight-{operator}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "=,.@-_".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        let home = self.clients.home_region();
        for (account, role) in self.runbook.accounts.clone() {
            let region = role
                .region
                .clone()
                .or_else(|| self.runbook.failover.as_ref().map(|f| f.recovery.clone()))
                .unwrap_or_else(|| home.clone());
            let mut b = aws_config::sts::AssumeRoleProvider::builder(role.role.clone())
                .session_name(session.clone())
                .region(aws_config::Region::new(region))
                .configure(self.clients.sdk());
            if let Some(id) = &role.external_id {
                b = b.external_id(id.clone());
            }
            let provider = b.build().await;
            let clients = self.clients.with_credentials(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            );
            let mut other = AwsCloud::new(clients, self.runbook.clone());
            other.assumed = Some((account.clone(), role.role.clone()));
            self.accounts.insert(account, other);
        }
        self
    }

    /// The backend for what `account` holds: another account's, or this one.
    pub(super) fn for_account(&self, account: Option<&str>) -> &AwsCloud {
        account.and_then(|a| self.accounts.get(a)).unwrap_or(self)
    }

    /// Finds the active AWS Health region with `lookup`; `None`: with the system resolver,
    /// unless Health's endpoint is set by hand (then DNS says nothing about it).
    pub fn with_lookup(mut self, lookup: Option<Arc<dyn health::Lookup>>) -> AwsCloud {
        self.lookup = match lookup {
            Some(l) => Some(l),
            None if self.clients.endpoint_set("health") => None,
            None => Some(Arc::new(health::SystemLookup)),
        };
        self
    }

    /// The backend for `runbook` from the standard AWS configuration chain.
    pub async fn from_env(runbook: Arc<Runbook>, access: Access, timeouts: Timeouts) -> AwsCloud {
        let sdk: SdkConfig = clients::load_config(timeouts).await;
        AwsCloud::new(
            Clients::new(sdk, access, timeouts, Endpoints::new()),
            runbook,
        )
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// Every call made so far, by operation.
    pub fn calls(&self) -> &CallLog {
        self.clients.log()
    }

    pub fn access(&self) -> Access {
        self.clients.access()
    }

    fn timeout_secs(&self) -> u64 {
        self.clients
            .timeouts()
            .operation
            .as_secs_f64()
            .ceil()
            .max(1.0) as u64
    }

    /// Maps a failed call of `action` (the IAM action name).
    fn fail<E>(
        &self,
        action: &str,
        err: aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> CloudError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let e = errors::cloud_error(action, self.timeout_secs(), err);
        match (&self.assumed, e) {
            // Credentials that could not be had here are the role that could not be assumed.
            (Some((account, role)), CloudError::Api { code, message }) if code == "NoCredentials" => {
                CloudError::Api {
                    code: "AssumeRoleFailed".into(),
                    message: format!(
                        "cannot assume {role} for account {account}, so {action} was not sent ({}); check that the role exists and its trust policy lets your principal assume it (with the external id, if it asks for one)",
                        message
                            .split_once("was not sent (")
                            .and_then(|(_, rest)| rest.rsplit_once("); run"))
                            .map_or(message.as_str(), |(why, _)| why)
                    ),
                }
            }
            (_, e) => e,
        }
    }

    /// STS GetCallerIdentity: the account and principal every change will be made as. Asked of
    /// the configured region first and, when that one does not answer (it may be the region
    /// that failed), of the runbook's regions in turn.
    pub async fn identity(&self) -> Result<Identity, CloudError> {
        let home = self.clients.home_region();
        let mut regions = vec![home.clone()];
        for r in self.runbook.regions() {
            if !regions.contains(&r) {
                regions.push(r);
            }
        }
        let mut silent = Vec::new();
        for region in &regions {
            match self.clients.sts(region).get_caller_identity().send().await {
                Ok(out) => {
                    return Ok(Identity {
                        account: out.account().unwrap_or_default().to_string(),
                        arn: out.arn().unwrap_or_default().to_string(),
                        user_id: out.user_id().unwrap_or_default().to_string(),
                    })
                }
                Err(e) => match self.fail("sts:GetCallerIdentity", e) {
                    e if e.is_no_answer() => silent.push((region, e)),
                    e => return Err(e),
                },
            }
        }
        let tried = silent.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>();
        Err(silent.pop().map_or_else(
            || CloudError::Refused("no region to ask STS in".into()),
            |(_, e)| match e {
                CloudError::Api { code, message } => CloudError::Api {
                    code,
                    message: format!("{message} (tried STS in {})", tried.join(", ")),
                },
                e => e,
            },
        ))
    }
}

/// Who the standard AWS configuration is (STS GetCallerIdentity in its region): for a second
/// approver, whose approval is their principal's.
pub async fn caller(timeouts: Timeouts) -> Result<Identity, CloudError> {
    let sdk = clients::load_config(timeouts).await;
    let clients = Clients::new(sdk, Access::ReadOnly, timeouts, Endpoints::new());
    let region = clients.home_region();
    match clients.sts(&region).get_caller_identity().send().await {
        Ok(out) => Ok(Identity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
        }),
        Err(e) => Err(errors::cloud_error(
            "sts:GetCallerIdentity",
            timeouts.operation.as_secs().max(1),
            e,
        )),
    }
}

impl Observe for AwsCloud {
    async fn observe(
        &self,
        resource: &Resource,
        now: DateTime<Utc>,
    ) -> Result<ResourceStatus, CloudError> {
        let mut all = self.observe_group(vec![resource.clone()], now).await;
        all.pop()
            .map(|(_, r)| r)
            .unwrap_or_else(|| Err(CloudError::NotFound(resource.name.clone())))
    }

    fn observe_batches<'a>(
        &'a self,
        resources: Vec<Resource>,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Vec<Observation>> + Send + 'a {
        self.batches(resources, now)
    }
}

impl Change for AwsCloud {
    async fn start(
        &self,
        plan: &ActionPlan,
        _: &Approval,
        now: DateTime<Utc>,
    ) -> Result<Started, CloudError> {
        if self.access() == Access::ReadOnly {
            return Err(CloudError::Refused(format!(
                "read-only: {} was not sent",
                plan.action.spec().api
            )));
        }
        let resource = self.resource(&plan.resource)?;
        self.for_account(resource.account.as_deref())
            .start_action(plan, resource, now)
            .await
    }

    async fn poll(&self, plan: &ActionPlan, _now: DateTime<Utc>) -> Result<Progress, CloudError> {
        let resource = self.resource(&plan.resource)?;
        self.for_account(resource.account.as_deref())
            .poll_action(plan, resource)
            .await
    }

    async fn reconcile(
        &self,
        plan: &ActionPlan,
        now: DateTime<Utc>,
    ) -> Result<Option<Started>, CloudError> {
        let resource = self.resource(&plan.resource)?;
        self.for_account(resource.account.as_deref())
            .reconcile_action(plan, resource, now)
            .await
    }

    async fn preview(&self, plan: &ActionPlan) -> Option<String> {
        let account = self
            .resource(&plan.resource)
            .ok()
            .and_then(|r| r.account.as_deref());
        self.for_account(account).preview_here(plan).await
    }
}

impl AwsCloud {
    /// What the change would do as AWS stands now, asked of this backend's account.
    async fn preview_here(&self, plan: &ActionPlan) -> Option<String> {
        let change = if plan.action == crate::runbook::ActionKind::CloudformationDeploy {
            return Some(match self.change_set_preview(plan).await {
                Ok(text) => text,
                // The look is asked once per attempt: without its change set this gate cannot
                // be passed, and says so.
                Err(e) => format!("cannot show the change set: {e}. This attempt cannot be approved: skip the step (s) and deploy by hand, or abort (A)"),
            });
        } else if plan.action == crate::runbook::ActionKind::BackupStartRestore {
            self.restore_preview(plan).await
        } else if plan.action.spec().cutover {
            self.cutover_preview(plan).await
        } else {
            return None;
        };
        Some(match change {
            Ok(change) => format!("as AWS stands now: {change}"),
            Err(e) => format!("cannot read the current state: {e}"),
        })
    }
}

impl AwsCloud {
    fn resource(&self, name: &str) -> Result<&Resource, CloudError> {
        self.runbook
            .resources
            .get(name)
            .ok_or_else(|| CloudError::NotFound(format!("resource `{name}` is not in the runbook")))
    }
}
