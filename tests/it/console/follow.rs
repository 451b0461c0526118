//! `watch --follow`: the war room's copy of someone else's run. Its clock runs between journal
//! records as the run's does, and stops where the run ended.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use pilotlight::engine::objectives::estimate_rto;
use pilotlight::runtime::follow::follow;
use pilotlight::runtime::view::{RunView, ViewMode};
use tokio::sync::watch;

use crate::common::{load_runbook, root, t0, temp_dir};

const FIXTURES: &str = "tests/fixtures/journals/v0.1";

/// Follows fixture journal `name` and returns the views it published after each of `waits`.
async fn watch_for(name: &str, waits: &[u64]) -> Vec<Arc<RunView>> {
    let dir = temp_dir("follow-clock");
    let journal = dir.join("j.jsonl");
    std::fs::copy(
        root().join(FIXTURES).join(format!("{name}.jsonl")),
        &journal,
    )
    .unwrap();
    let rb = load_runbook(&format!("{FIXTURES}/pilot-light-failover.yaml"));
    let estimate = estimate_rto(&rb, &Default::default());
    let view = RunView::new(
        rb.clone(),
        ViewMode::ReadOnly,
        "ana",
        "following",
        estimate.clone(),
        t0(),
    );
    let (tx, mut rx) = watch::channel(Arc::new(view.clone()));
    let task = tokio::spawn(follow(rb, journal, estimate, view, tx));
    rx.changed().await.unwrap();
    let mut seen = vec![rx.borrow_and_update().clone()];
    for secs in waits {
        tokio::time::sleep(Duration::from_secs(*secs)).await;
        seen.push(rx.borrow_and_update().clone());
    }
    drop(rx);
    task.await.unwrap();
    seen
}

#[tokio::test(start_paused = true)]
async fn the_war_room_clock_runs_between_records_of_a_run_going_on() {
    // The drill waits at a gate: nothing is written while people decide.
    let seen = watch_for("pilot-light-failover.crash-30", &[5, 60, 600]).await;
    let last = seen[0].tail.back().unwrap().at;
    assert_eq!(
        seen[0].now, last,
        "the first look is the last record's time"
    );
    // The shown time runs on at (at least) real speed, in whole seconds.
    let after_5 = seen[1].now - last;
    assert!(
        after_5 >= TimeDelta::seconds(4) && after_5 <= TimeDelta::seconds(6),
        "{after_5}"
    );
    let after_65 = seen[2].now - last;
    assert!(
        after_65 >= TimeDelta::seconds(64) && after_65 <= TimeDelta::seconds(66),
        "{after_65}"
    );
    // The projection moves with it: a gate left waiting past its step's expected time makes
    // the recovery later.
    assert!(
        seen[3].projected > seen[0].projected,
        "{:?} then {:?}",
        seen[0].projected,
        seen[3].projected
    );
}

#[tokio::test(start_paused = true)]
async fn the_war_room_clock_stops_where_the_run_ended() {
    let seen = watch_for("pilot-light-failover.console", &[5, 60]).await;
    let last = seen[0].tail.back().unwrap().at;
    for v in &seen {
        assert_eq!(v.now, last, "an aborted run's time does not run on");
    }
}
