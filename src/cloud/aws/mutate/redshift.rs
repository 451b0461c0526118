//! Redshift restores: a new cluster with the runbook's fixed name from a snapshot. Redshift's
//! restore takes no tags, so a cluster of that name is this step's to adopt only when it was
//! created after the step first asked for it; an older one is someone else's data.

use chrono::TimeDelta;

use super::rds::{set, target_of};
use super::{params, progress, region, started};
use crate::cloud::aws::resolve;
use crate::cloud::aws::AwsCloud;
use crate::model::{ActionPlan, CloudError, Progress, Started};
use crate::runbook::params::Source;
use crate::runbook::Resource;

/// How much earlier than the step's first request a cluster may seem to have been made (the
/// clocks of this machine and AWS differ a little).
const SKEW: TimeDelta = TimeDelta::seconds(120);

fn cluster_outputs(c: &aws_sdk_redshift::types::Cluster) -> Vec<(&'static str, String)> {
    let endpoint = c
        .endpoint()
        .and_then(|e| e.address())
        .unwrap_or_default()
        .to_string();
    vec![
        (
            "cluster_id",
            c.cluster_identifier().unwrap_or_default().to_string(),
        ),
        ("endpoint", endpoint),
    ]
}

impl AwsCloud {
    async fn cluster(
        &self,
        region: &str,
        id: &str,
    ) -> Result<Option<aws_sdk_redshift::types::Cluster>, CloudError> {
        let call = self
            .clients
            .redshift(region)
            .describe_clusters()
            .cluster_identifier(id)
            .send();
        match call.await {
            Ok(out) => Ok(out.clusters().first().cloned()),
            Err(e) => match self.fail("redshift:DescribeClusters", e) {
                CloudError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    pub(super) async fn find_cluster(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let target = target_of(plan)?;
        let Some(c) = self.cluster(region(plan)?, &target).await? else {
            return Ok(None);
        };
        let made = c.cluster_create_time().and_then(resolve::time);
        let ours = match (made, plan.since) {
            (Some(made), Some(since)) => made + SKEW >= since,
            _ => false,
        };
        if !ours {
            return Err(CloudError::Refused(format!(
                "Redshift cluster {target} already exists and was made before this step asked for it{}; rename or delete it, or choose another `target_id`, then retry",
                made.map(|t| format!(" (at {})", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            )));
        }
        Ok(Some(started(&cluster_outputs(&c), true)))
    }

    pub(super) async fn redshift_restore(
        &self,
        plan: &ActionPlan,
        resource: &Resource,
    ) -> Result<Started, CloudError> {
        let region = region(plan)?;
        let p = params!(plan, RedshiftRestoreSnapshot);
        // The source cluster is named only when it is known to be the snapshot's (a copy in
        // another region keeps it); a named snapshot may be of another cluster.
        let from_cluster = matches!(p.snapshot, Source::Latest).then(|| resource.id.clone());
        let snapshot = match &p.snapshot {
            Source::Latest => self
                .cluster_snapshots(region, Some(&resource.id))
                .await?
                .remove(&resource.id.to_lowercase())
                .map(|(s, _)| s)
                .ok_or_else(|| {
                    CloudError::NotFound(format!(
                        "no available snapshot of Redshift cluster {} in {region}; copy one to this region or name one with `snapshot:`",
                        resource.id
                    ))
                })?,
            Source::Named(s) => s.clone(),
        };
        let out = self
            .clients
            .change()
            .redshift(region)
            .restore_from_cluster_snapshot()
            .cluster_identifier(&p.target_id)
            .snapshot_identifier(&snapshot)
            .set_snapshot_cluster_identifier(from_cluster)
            .set_node_type(p.node_type.clone())
            .set_cluster_subnet_group_name(p.subnet_group.clone())
            .set_vpc_security_group_ids(Some(p.security_groups.clone()).filter(|g| !g.is_empty()))
            .set_availability_zone(p.availability_zone.clone())
            .set_kms_key_id(p.kms_key_id.clone())
            .send()
            .await
            .map_err(|e| self.fail("redshift:RestoreFromClusterSnapshot", e))?;
        let mut outs = out.cluster().map(cluster_outputs).unwrap_or_default();
        set(&mut outs, "cluster_id", p.target_id.clone());
        set(&mut outs, "snapshot_id", snapshot);
        outs.retain(|(_, v)| !v.is_empty());
        Ok(started(&outs, false))
    }

    pub(super) async fn poll_cluster(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let target = target_of(plan)?;
        let c = self
            .cluster(region(plan)?, &target)
            .await?
            .ok_or_else(|| CloudError::NotFound(format!("Redshift cluster {target}")))?;
        let status = c.cluster_status().unwrap_or("unknown");
        let restore = c.restore_status();
        let state = if status.starts_with("available") {
            "available"
        } else {
            status
        };
        let mut p = progress(state);
        p.failed = cluster_terminal(status).map(str::to_string);
        if restore.and_then(|r| r.status()) == Some("failed") {
            p.failed = Some(
                "the restore failed; delete the cluster and restore from another snapshot".into(),
            );
        }
        p.percent = restore.and_then(|r| {
            let (done, total) = (
                r.progress_in_mega_bytes()?,
                r.snapshot_size_in_mega_bytes()?,
            );
            (total > 0).then(|| (done.clamp(0, total) * 100 / total) as u8)
        });
        p.outputs = cluster_outputs(&c)
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok(p)
    }
}

/// Cluster states a restored cluster never leaves by itself, and what to do.
fn cluster_terminal(status: &str) -> Option<&'static str> {
    Some(match status {
        "incompatible-network" => {
            "its subnet group cannot host it; fix the network, delete the cluster, then retry"
        }
        "incompatible-parameters" => {
            "its parameter group does not fit; fix it, delete the cluster, then retry"
        }
        "incompatible-restore" => {
            "the restore cannot complete; delete the cluster and restore from another snapshot"
        }
        "incompatible-hsm" => {
            "it cannot reach its HSM; fix the HSM configuration, delete the cluster, then retry"
        }
        "hardware-failure" => "the cluster failed; see its events in the Redshift console",
        "deleting" | "final-snapshot" => "the cluster is being deleted",
        _ => return None,
    })
}
