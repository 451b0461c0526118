//! The data a restore loses: from the recovery point it restored to the moment the primary was
//! lost (the first look that found the source unavailable in this run, else the run's start).

use crate::runbook::catalogue::RESTORED_TO;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Engine;
use crate::audit::event::DataLost;
use crate::runbook::params::{ActionParams, Source};
use crate::runbook::StepBody;

impl Engine {
    /// For a restore step that just succeeded with `outputs`: the window it lost, when its
    /// recovery point is known (a point-in-time restore says it; a restore of `latest` used the
    /// newest point the run had seen of its resource).
    pub(super) fn data_lost(
        &self,
        i: usize,
        outputs: Option<&BTreeMap<String, String>>,
    ) -> Option<DataLost> {
        let StepBody::Action { call, resource, .. } = &self.runbook.steps.get(i)?.body else {
            return None;
        };
        let latest = match &call.params {
            ActionParams::RestoreVolume(p) => matches!(p.snapshot, Source::Latest),
            ActionParams::RdsRestoreSnapshot(p) => matches!(p.snapshot, Source::Latest),
            ActionParams::DynamodbRestoreBackup(p) => matches!(p.backup, Source::Latest),
            ActionParams::BackupStartRestore(p) => matches!(p.recovery_point, Source::Latest),
            ActionParams::RdsRestorePointInTime(_)
            | ActionParams::DynamodbRestorePointInTime(_) => false,
            _ => return None,
        };
        let restored_to = outputs
            .and_then(|o| o.get(RESTORED_TO))
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let newest_seen = self
            .state
            .snapshots
            .get(resource)
            .and_then(|s| s.latest_recovery_point.as_ref())
            .map(|p| p.at)
            .filter(|_| latest);
        let recovery_point_at = restored_to.or(newest_seen)?;
        let lost_at = self
            .state
            .lost_at
            .get(resource)
            .copied()
            .or(self.state.started_at)?;
        Some(DataLost {
            lost_at,
            recovery_point_at,
            resource: resource.clone(),
            seconds: (lost_at - recovery_point_at).num_seconds().max(0) as u64,
        })
    }
}
