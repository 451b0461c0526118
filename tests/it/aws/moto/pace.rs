//! A refresh of many resources leans on AWS gently: at most `PER_SERVICE_REGION` requests in
//! flight per (service, region), throttled requests retried after a back-off, and slow facts
//! (PITR windows, backup lists) read on the slow tier only.

use super::*;
use crate::common::standin::StandIn;
use crate::common::strict::Throttle;

const TABLES: usize = 30;

#[tokio::test]
pub(crate) async fn a_refresh_of_many_tables_is_bounded_and_rides_out_throttling() {
    let m = Moto::new(REGION).await;
    let tag = unique("paced");
    let mut names = Vec::new();
    for i in 0..TABLES {
        let name = format!("{tag}-{i}");
        m.table(&name).await;
        names.push(name);
    }
    let proxy = StandIn::forwarding(crate::common::moto::url()).await;
    let throttle = Throttle::new("dynamodb", 40);
    proxy.strict(throttle.clone());
    let lines: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| res(&format!("t{i}"), "dynamodb-table", REGION, n))
        .collect();
    let runbook = watch_runbook(&lines, "t0");
    let aws = AwsCloud::new(
        Clients::new(
            sdk(REGION).await,
            Access::ReadOnly,
            Timeouts::default(),
            Endpoints::from([("dynamodb".to_string(), proxy.url().to_string())]),
        ),
        runbook.clone(),
    );
    let resources: Vec<_> = runbook.resources.values().cloned().collect();
    let t0 = Utc::now();
    let seen = by_name(observe_all(&aws, resources.clone(), t0).await);
    let failed: Vec<_> = seen.iter().filter(|(_, r)| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let (throttled, peak) = throttle.seen();
    let counts = aws.calls().take();
    print_counts(&format!("first refresh of {TABLES} tables"), &counts);
    println!("throttled {throttled}, at most {peak} in flight");
    assert!(throttled > 0, "the test must throttle something");
    assert!(peak <= PER_SERVICE_REGION, "{peak} in flight at once");
    // Each table was read (some more than once: the throttled ones were asked again).
    assert!(counts.operations["dynamodb:DescribeTable"] >= TABLES as u64);
    assert!(counts.operations["dynamodb:DescribeContinuousBackups"] >= TABLES as u64);
    assert!(counts.total_transmitted() as usize >= 2 * TABLES + 1 + throttled);

    // 30 s later: health only. Five minutes after the first: the slow facts again.
    let _ = by_name(observe_all(&aws, resources.clone(), t0 + chrono::Duration::seconds(30)).await);
    let counts = aws.calls().take();
    let asked: Vec<&String> = counts.operations.keys().collect();
    assert_eq!(asked, ["dynamodb:DescribeTable"]);
    // A step's check (which may gate a restore) reads the slow facts afresh.
    aws.observe(&resources[0], t0 + chrono::Duration::seconds(40))
        .await
        .unwrap();
    let counts = aws.calls().take();
    assert!(
        counts
            .operations
            .contains_key("dynamodb:DescribeContinuousBackups"),
        "{counts:?}"
    );
    let _ = by_name(observe_all(&aws, resources, t0 + SLOW_EVERY).await);
    let counts = aws.calls().take();
    // Every table's PITR window but the one the check read 40 s in (the region's backup list,
    // read afresh by that check too, is still young).
    assert!(counts.operations["dynamodb:DescribeContinuousBackups"] >= TABLES as u64 - 1);
}
