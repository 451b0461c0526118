//! Which automated backup a point-in-time restore starts from, when it is not the live
//! instance: a backup replicated to the recovery region.

/// The replicated automated backup to restore from: one whose window holds the restore time
/// (when one is asked for), still replicating rather than retained from a deleted instance,
/// with the newest restorable time.
pub(super) fn pick_backup(
    backups: &[aws_sdk_rds::types::DbInstanceAutomatedBackup],
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<&str> {
    let window = |b: &aws_sdk_rds::types::DbInstanceAutomatedBackup| {
        let w = b.restore_window();
        (
            w.and_then(|w| w.earliest_time()).map(|t| t.secs()),
            w.and_then(|w| w.latest_time()).map(|t| t.secs()),
        )
    };
    backups
        .iter()
        .filter(|b| b.db_instance_automated_backups_arn().is_some())
        .max_by_key(|b| {
            let (from, to) = window(b);
            let holds = at.is_none_or(|t| {
                from.is_some_and(|f| f <= t.timestamp()) && to.is_some_and(|l| t.timestamp() <= l)
            });
            let live = matches!(b.status(), Some("replicating" | "active"));
            (holds, live, to)
        })
        .and_then(|b| b.db_instance_automated_backups_arn())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aws_sdk_rds::types::{DbInstanceAutomatedBackup, RestoreWindow};
    use aws_smithy_types::DateTime as SdkTime;
    use chrono::{TimeZone, Utc};

    use super::pick_backup;

    fn backup(arn: &str, status: &str, from: i64, to: i64) -> DbInstanceAutomatedBackup {
        DbInstanceAutomatedBackup::builder()
            .db_instance_automated_backups_arn(arn)
            .status(status)
            .restore_window(
                RestoreWindow::builder()
                    .earliest_time(SdkTime::from_secs(from))
                    .latest_time(SdkTime::from_secs(to))
                    .build(),
            )
            .build()
    }

    #[test]
    fn the_replicating_backup_whose_window_holds_the_time_is_chosen() {
        let t = |h: i64| 1_800_000_000 + h * 3600;
        let backups = [
            // Retained from an instance deleted earlier, with a newer window than it deserves.
            backup("arn:retained", "retained", t(0), t(30)),
            backup("arn:old-live", "replicating", t(0), t(10)),
            backup("arn:live", "replicating", t(5), t(20)),
            DbInstanceAutomatedBackup::builder()
                .status("replicating")
                .build(),
        ];
        assert_eq!(pick_backup(&backups, None), Some("arn:live"));
        let at = |h: i64| Some(Utc.timestamp_opt(t(h), 0).unwrap());
        // Only the older live backup still holds hour 2.
        assert_eq!(pick_backup(&backups, at(2)), Some("arn:old-live"));
        // Only the retained one reaches hour 25: better that than a time no backup holds.
        assert_eq!(pick_backup(&backups, at(25)), Some("arn:retained"));
        assert_eq!(pick_backup(&backups[3..], None), None);
    }
}
