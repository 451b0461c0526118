//! What every request passes on its way out: the guard that counts each operation and each
//! request sent, and refuses before sending what this client may not send (any change from a
//! read-only console; a change through a client that retries); and the retry rule of the
//! clients that send changes, which re-sends only what provably did nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    InterceptorContext,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::ErrorKind;

use super::clients::Access;

/// Whether `op` (`service:Operation`) only reads: a read in the IAM catalogue
/// (`runbook::iam::APIS`). Everything else, an operation the catalogue does not name
/// included, is a change.
pub fn is_read(op: &str) -> bool {
    crate::runbook::iam::may_read_only(op)
}

/// What went out, for the calls-per-refresh count and the read-only proof.
#[derive(Debug, Default)]
pub struct CallLog {
    inner: Mutex<CallCounts>,
}

/// Calls by `service:Operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Operations started (each may take several attempts).
    pub operations: BTreeMap<String, u64>,
    /// HTTP requests that left the process (attempts).
    pub transmitted: BTreeMap<String, u64>,
    /// Operations the guard refused before they were sent.
    pub refused: BTreeMap<String, u64>,
}

impl CallCounts {
    pub fn total_operations(&self) -> u64 {
        self.operations.values().sum()
    }

    /// HTTP requests that left the process.
    pub fn total_transmitted(&self) -> u64 {
        self.transmitted.values().sum()
    }

    /// Requests that left the process and were not reads.
    pub fn transmitted_changes(&self) -> Vec<String> {
        self.transmitted
            .keys()
            .filter(|k| !is_read(k))
            .cloned()
            .collect()
    }
}

impl CallLog {
    fn lock(&self) -> MutexGuard<'_, CallCounts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn counts(&self) -> CallCounts {
        self.lock().clone()
    }

    /// The counts so far, and starts again from zero.
    pub fn take(&self) -> CallCounts {
        std::mem::take(&mut *self.lock())
    }
}

/// The refusal the guard raises; the error mapping recognises it.
#[derive(Debug, thiserror::Error)]
#[error("read-only console: {0} was refused before it was sent")]
pub struct WriteRefused(pub String);

/// The refusal of an operation the IAM catalogue does not name (a bug, caught before sending:
/// the least-privilege policy `pilotlight iam` prints would not allow it either).
#[derive(Debug, thiserror::Error)]
#[error("{0} was refused before it was sent: it is not in pilotlight's IAM catalogue (a pilotlight bug; please report it)")]
pub struct NotCatalogued(pub String);

/// The refusal of a change handed to a client that retries (a bug, caught before sending).
#[derive(Debug, thiserror::Error)]
#[error("{0} was refused before it was sent: a change must go through a client that sends it once (a pilotlight bug; please report it)")]
pub struct NotSendOnce(pub String);

#[derive(Debug, Clone)]
pub(super) struct Guard {
    pub(super) access: Access,
    /// Whether this client sends changes (once each); the other kind refuses them.
    pub(super) changes: bool,
    pub(super) log: Arc<CallLog>,
}

/// `service:Operation` with the IAM service prefix (`Global Accelerator` and `Route 53` are
/// the SDK's names of `globalaccelerator` and `route53`).
fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map_or_else(
        || "unknown:unknown".to_string(),
        |m| {
            let service: String = m
                .service()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            format!("{}:{}", service.to_lowercase(), m.name())
        },
    )
}

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "pilotlight-guard"
    }

    // The operation's name is in the bag only once its configuration is applied, which is after
    // `read_before_execution`: this is the first hook that can tell a read from a change.
    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.pass(cfg, |c| &mut c.operations, |c| &mut c.refused)
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Belt and braces: even if the first check were bypassed, nothing that changes leaves.
        self.pass(cfg, |c| &mut c.transmitted, |c| &mut c.refused)
    }
}

type Tally = fn(&mut CallCounts) -> &mut BTreeMap<String, u64>;

impl Guard {
    /// Counts the operation under `passed`, or refuses it (counted under `refused`) when this
    /// console is read-only and the operation is not a read.
    fn pass(&self, cfg: &ConfigBag, passed: Tally, refused: Tally) -> Result<(), BoxError> {
        let op = operation(cfg);
        let unknown = crate::runbook::iam::api(&op).is_none();
        let read_only = self.access == Access::ReadOnly && !is_read(&op);
        let retrying = !self.changes && !is_read(&op);
        let mut log = self.log.lock();
        let tally = if read_only || retrying || unknown {
            refused(&mut log)
        } else {
            passed(&mut log)
        };
        *tally.entry(op.clone()).or_default() += 1;
        if unknown {
            return Err(Box::new(NotCatalogued(op)));
        }
        if read_only {
            return Err(Box::new(WriteRefused(op)));
        }
        if retrying {
            return Err(Box::new(NotSendOnce(op)));
        }
        Ok(())
    }
}

/// The retry rule of the changes clients: the standard classifiers' verdict stands only when
/// the request provably did nothing (throttled, or no connection was made); any other failure
/// (a timeout, a reset connection, a 5xx) may have made the change, so it is not sent again.
#[derive(Debug)]
pub(super) struct SendOnce;

/// Whether `err` says no connection was ever made for the request (DNS, refused, connect
/// timeout): then the request provably never reached AWS.
pub(super) fn never_connected(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|h| h.is_connect())
        {
            return true;
        }
        next = e.source();
    }
    false
}

impl SendOnce {
    fn never_connected(ctx: &InterceptorContext) -> bool {
        let Some(Err(e)) = ctx.output_or_error() else {
            return false;
        };
        e.as_connector_error().is_some_and(|c| never_connected(c))
    }
}

impl ClassifyRetry for SendOnce {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        self.classify_retry_v2(ctx, &RetryAction::NoActionIndicated)
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let throttled = matches!(
            previous,
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                kind: ErrorKind::ThrottlingError,
                ..
            })
        );
        match previous {
            RetryAction::RetryIndicated(_) if throttled || Self::never_connected(ctx) => {
                RetryAction::NoActionIndicated
            }
            RetryAction::RetryIndicated(_) => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "pilotlight-send-once"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After every standard classifier, so it sees (and can forbid) their verdict.
        RetryClassifierPriority::run_after(RetryClassifierPriority::run_after(
            RetryClassifierPriority::transient_error_classifier(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_by_iam_service_prefix() {
        use aws_smithy_types::config_bag::Layer;
        for (service, want) in [
            ("Global Accelerator", "globalaccelerator:ListListeners"),
            ("GlobalAccelerator", "globalaccelerator:ListListeners"),
            ("Route 53", "route53:ListListeners"),
            ("EC2", "ec2:ListListeners"),
        ] {
            let mut layer = Layer::new("test");
            layer.store_put(Metadata::new("ListListeners", service));
            assert_eq!(operation(&ConfigBag::of_layers(vec![layer])), want);
        }
        assert_eq!(operation(&ConfigBag::base()), "unknown:unknown");
    }

    #[test]
    fn reads_are_the_catalogues_reads_only() {
        for op in [
            "ec2:DescribeInstances",
            "backup:ListRecoveryPointsByBackupVault",
            "route53:GetChange",
            "iam:SimulatePrincipalPolicy",
            "sts:AssumeRole",
            "s3:GetObject",
        ] {
            assert!(is_read(op), "{op}");
        }
        for op in [
            "ec2:StartInstances",
            "ec2:RunInstances",
            "ec2:CreateVolume",
            "globalaccelerator:UpdateEndpointGroup",
            "route53:ChangeResourceRecordSets",
            "backup:StartRestoreJob",
            "rds:RestoreDBInstanceFromDBSnapshot",
            "rds:PromoteReadReplica",
            "s3:PutObject",
            // A read by its name, but not one pilotlight sends: refused all the same.
            "ec2:GetPasswordData",
        ] {
            assert!(!is_read(op), "{op}");
        }
    }
}
