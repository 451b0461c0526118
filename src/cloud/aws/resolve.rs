//! Finding recovery points: the newest snapshot of each volume or DB instance, the newest
//! on-demand backup of each table, and AWS Backup recovery points by vault, each with one
//! (paginated) call for a whole group.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use super::pace::Look;
use super::AwsCloud;
use crate::model::CloudError;
use crate::runbook::{BackupSource, Resource, ResourceKind};

/// An SDK timestamp as a chrono one.
pub(super) fn time(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Newest (id, time) per owner id.
pub(super) type Newest = HashMap<String, (String, DateTime<Utc>)>;

pub(super) fn keep_newest(map: &mut Newest, owner: String, id: String, at: DateTime<Utc>) {
    let slot = map.entry(owner).or_insert_with(|| (id.clone(), at));
    if at > slot.1 {
        *slot = (id, at);
    }
}

/// The newest completed EBS snapshot of each volume (one DescribeSnapshots per page).
pub(super) async fn snapshots_of(
    aws: &AwsCloud,
    region: &str,
    volumes: &[String],
) -> Result<Newest, CloudError> {
    let filters = [
        aws_sdk_ec2::types::Filter::builder()
            .name("volume-id")
            .set_values(Some(volumes.to_vec()))
            .build(),
        aws_sdk_ec2::types::Filter::builder()
            .name("status")
            .values("completed")
            .build(),
    ];
    let pages = aws
        .clients
        .ec2(region)
        .describe_snapshots()
        .owner_ids("self")
        .set_filters(Some(filters.to_vec()))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws.fail("ec2:DescribeSnapshots", e))?;
    let mut out = Newest::new();
    for s in pages.iter().flat_map(|p| p.snapshots()) {
        if let (Some(vol), Some(id), Some(at)) = (
            s.volume_id(),
            s.snapshot_id(),
            s.start_time().and_then(time),
        ) {
            keep_newest(&mut out, vol.to_string(), id.to_string(), at);
        }
    }
    Ok(out)
}

/// The tag that names the volume a snapshot copied from another region was taken of: AWS gives
/// a copy an arbitrary volume id (`vol-ffffffff`), so `volume-id` cannot find it.
pub const SOURCE_VOLUME_TAG: &str = "pilotlight:source-volume";

/// The newest completed snapshot in `region` tagged as a copy of `volume`'s.
pub(super) async fn copies_of(
    aws: &AwsCloud,
    region: &str,
    volume: &str,
) -> Result<Option<(String, DateTime<Utc>)>, CloudError> {
    let filters = [
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{SOURCE_VOLUME_TAG}"))
            .values(volume)
            .build(),
        aws_sdk_ec2::types::Filter::builder()
            .name("status")
            .values("completed")
            .build(),
    ];
    let pages = aws
        .clients
        .ec2(region)
        .describe_snapshots()
        .owner_ids("self")
        .set_filters(Some(filters.to_vec()))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws.fail("ec2:DescribeSnapshots", e))?;
    let mut out = Newest::new();
    for s in pages.iter().flat_map(|p| p.snapshots()) {
        if let (Some(id), Some(at)) = (s.snapshot_id(), s.start_time().and_then(time)) {
            keep_newest(&mut out, volume.to_string(), id.to_string(), at);
        }
    }
    Ok(out.remove(volume))
}

/// The newest available DB snapshot of each instance (identifiers in lower case).
pub(super) async fn db_snapshots_of(
    aws: &AwsCloud,
    region: &str,
    instances: &[String],
) -> Result<Newest, CloudError> {
    let filter = aws_sdk_rds::types::Filter::builder()
        .name("db-instance-id")
        .set_values(Some(instances.to_vec()))
        .build();
    let pages = aws
        .clients
        .rds(region)
        .describe_db_snapshots()
        .filters(filter)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws.fail("rds:DescribeDBSnapshots", e))?;
    let mut out = Newest::new();
    for s in pages.iter().flat_map(|p| p.db_snapshots()) {
        if s.status().is_some_and(|st| st != "available") {
            continue;
        }
        if let (Some(db), Some(id), Some(at)) = (
            s.db_instance_identifier(),
            s.db_snapshot_identifier(),
            s.snapshot_create_time().and_then(time),
        ) {
            keep_newest(&mut out, db.to_lowercase(), id.to_string(), at);
        }
    }
    Ok(out)
}

/// The newest available on-demand backup of each table in a region (ARN and time), or of one
/// table.
pub(super) async fn table_backups(
    aws: &AwsCloud,
    region: &str,
    table: Option<&str>,
) -> Result<Newest, CloudError> {
    let client = aws.clients.dynamodb(region);
    let mut out = Newest::new();
    let mut start: Option<String> = None;
    // ListBackups pages by the last backup ARN; bounded so a looping answer cannot spin, and
    // past the bound it says so rather than answer from part of the list.
    for _ in 0..100 {
        let page = client
            .list_backups()
            .set_table_name(table.map(str::to_string))
            .set_exclusive_start_backup_arn(start.take())
            .send()
            .await
            .map_err(|e| aws.fail("dynamodb:ListBackups", e))?;
        for b in page.backup_summaries() {
            let available = b.backup_status().is_none_or(|s| s.as_str() == "AVAILABLE");
            if let (true, Some(t), Some(arn), Some(at)) = (
                available,
                b.table_name(),
                b.backup_arn(),
                b.backup_creation_date_time().and_then(time),
            ) {
                keep_newest(&mut out, t.to_string(), arn.to_string(), at);
            }
        }
        match page.last_evaluated_backup_arn() {
            Some(next) => start = Some(next.to_string()),
            None => return Ok(out),
        }
    }
    Err(CloudError::Api {
        code: "TooManyBackups".into(),
        message: format!(
            "more than 100 pages of DynamoDB backups in {region}; name the backup in the runbook"
        ),
    })
}

/// One AWS Backup recovery point.
#[derive(Debug, Clone)]
pub(super) struct BackupPoint {
    pub arn: String,
    pub resource_arn: String,
    pub created: DateTime<Utc>,
}

/// Recovery points per (vault, region), listed at most once per refresh however many resources
/// share the vault, and at most once per slow tier across refreshes.
#[derive(Default)]
pub(super) struct BackupMemo {
    cells: std::sync::Mutex<HashMap<(String, String), VaultCell>>,
}

type VaultCell = std::sync::Arc<OnceCell<VaultPoints>>;

type VaultPoints = Result<Vec<BackupPoint>, CloudError>;

impl BackupMemo {
    pub(super) async fn get(&self, aws: &AwsCloud, b: &BackupSource, look: Look) -> VaultPoints {
        let owner = b.account.clone().unwrap_or_default();
        let key = (b.vault.clone(), format!("{}/{owner}", b.region));
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells.entry(key.clone()).or_default().clone()
        };
        cell.get_or_init(|| {
            let fetch = vault_points(aws, &b.vault, &b.region, b.account.as_deref());
            aws.slow
                .vaults
                .get(format!("{}|{}", key.0, key.1), look, fetch)
        })
        .await
        .clone()
    }
}

/// Completed recovery points in a vault (one ListRecoveryPointsByBackupVault per page).
pub(super) async fn vault_points(
    aws: &AwsCloud,
    vault: &str,
    region: &str,
    account: Option<&str>,
) -> VaultPoints {
    let pages = aws
        .clients
        .backup(region)
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .set_backup_vault_account_id(account.map(str::to_string))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws.fail("backup:ListRecoveryPointsByBackupVault", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.recovery_points())
        .filter(|p| p.status().is_none_or(|s| s.as_str() == "COMPLETED"))
        .filter_map(|p| {
            Some(BackupPoint {
                arn: p.recovery_point_arn()?.to_string(),
                resource_arn: p.resource_arn()?.to_string(),
                created: p.creation_date().and_then(time)?,
            })
        })
        .collect())
}

/// Whether a recovery point's resource ARN is this resource (any account and region: copies in
/// the recovery region keep the source's ARN).
pub(super) fn backup_matches(r: &Resource, arn: &str) -> bool {
    let tail = match r.kind {
        ResourceKind::Ec2Instance => format!(":instance/{}", r.id),
        ResourceKind::EbsVolume => format!(":volume/{}", r.id),
        ResourceKind::RdsInstance => format!(":db:{}", r.id.to_lowercase()),
        ResourceKind::DynamodbTable => format!(":table/{}", r.id),
        ResourceKind::RedshiftCluster => format!(":cluster:{}", r.id.to_lowercase()),
        ResourceKind::GlobalAccelerator
        | ResourceKind::Route53Record
        | ResourceKind::CloudwatchAlarm
        | ResourceKind::CloudformationStack
        | ResourceKind::SnsTopic => return false,
    };
    let arn = if r.kind == ResourceKind::RdsInstance {
        arn.to_lowercase()
    } else {
        arn.to_string()
    };
    arn.ends_with(&tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(kind: ResourceKind, id: &str) -> Resource {
        Resource {
            name: "r".into(),
            kind,
            region: Some("us-east-1".into()),
            account: None,
            id: id.into(),
            record: None,
            health_check: None,
            rpo: None,
            backup: None,
            alarms: Vec::new(),
            role: None,
            description: None,
        }
    }

    #[test]
    fn recovery_points_match_their_resource_only() {
        let vol = res(ResourceKind::EbsVolume, "vol-1");
        assert!(backup_matches(
            &vol,
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-1"
        ));
        assert!(!backup_matches(
            &vol,
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-12"
        ));
        let db = res(ResourceKind::RdsInstance, "Orders-Prod");
        assert!(backup_matches(
            &db,
            "arn:aws:rds:us-east-1:111122223333:db:orders-prod"
        ));
        let t = res(ResourceKind::DynamodbTable, "orders");
        assert!(backup_matches(
            &t,
            "arn:aws:dynamodb:us-east-1:1:table/orders"
        ));
        assert!(!backup_matches(
            &t,
            "arn:aws:dynamodb:us-east-1:1:table/orders-dr"
        ));
    }
}
