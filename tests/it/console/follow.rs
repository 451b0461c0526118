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

/// A follower of `journal` (read-only, as `watch --follow`), its views and its task.
fn start(
    rb: Arc<pilotlight::runbook::Runbook>,
    journal: std::path::PathBuf,
) -> (watch::Receiver<Arc<RunView>>, tokio::task::JoinHandle<()>) {
    let estimate = estimate_rto(&rb, &Default::default());
    let view = RunView::new(
        rb.clone(),
        ViewMode::ReadOnly,
        "ana",
        "following",
        estimate.clone(),
        t0(),
    );
    let (tx, rx) = watch::channel(Arc::new(view.clone()));
    (
        rx,
        tokio::spawn(follow(rb, journal, None, estimate, view, tx)),
    )
}

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
    let (mut rx, task) = start(rb, journal);
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

/// Something done to a followed journal's file.
type Change = Box<dyn Fn(&std::path::Path)>;

/// Follows a journal that is written while it is followed: `steps` says what to do to the file
/// before each look, and the views seen after each are returned.
async fn follow_while(lines: &[&str], steps: Vec<Change>) -> Vec<Arc<RunView>> {
    let dir = temp_dir("follow-grow");
    let journal = dir.join("j.jsonl");
    std::fs::write(&journal, lines.concat()).unwrap();
    let rb = load_runbook(&format!("{FIXTURES}/pilot-light-failover.yaml"));
    let (mut rx, task) = start(rb, journal.clone());
    rx.changed().await.unwrap();
    let mut seen = vec![rx.borrow_and_update().clone()];
    for step in steps {
        step(&journal);
        // Two looks' worth of time: the change is taken in by then.
        tokio::time::sleep(Duration::from_secs(1)).await;
        seen.push(rx.borrow_and_update().clone());
    }
    drop(rx);
    task.await.unwrap();
    seen
}

fn fixture_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(root().join(FIXTURES).join(format!("{name}.jsonl")))
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_string)
        .collect()
}

fn append(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[tokio::test(start_paused = true)]
async fn records_appended_while_following_are_read_and_checked_as_they_come() {
    let all = fixture_lines("pilot-light-failover.crash-30");
    let first: Vec<&str> = all[..12].iter().map(String::as_str).collect();
    let (a, b, c) = (all[12..20].concat(), all[20..].concat(), all[20].clone());
    let half = c[..c.len() / 2].to_string();
    let seen = follow_while(
        &first,
        vec![
            Box::new(move |p| append(p, &a)),
            // Half a record (a write in progress): said, nothing lost.
            Box::new({
                let half = half.clone();
                move |p| append(p, &half)
            }),
            Box::new(move |p| append(p, &b[half.len()..])),
        ],
    )
    .await;
    assert_eq!(seen[0].tail.len(), 12);
    assert_eq!(seen[1].tail.len(), 20);
    assert!(
        seen[2].notice.as_deref().unwrap_or("").contains("is torn"),
        "{:?}",
        seen[2].notice
    );
    assert_eq!(seen[2].tail.len(), 20);
    assert_eq!(seen[3].tail.len(), all.len());
    assert_eq!(seen[3].notice, None);
    assert_eq!(seen[3].tail.back().unwrap().seq, all.len() as u64 - 1);
    // The fold is the same as reading the whole journal at once.
    let whole = pilotlight::audit::verify(all.concat().as_bytes()).unwrap();
    let rb = load_runbook(&format!("{FIXTURES}/pilot-light-failover.yaml"));
    let engine = pilotlight::engine::Engine::from_records(rb, &whole.records).unwrap();
    assert_eq!(seen[3].current, engine.current());
    assert_eq!(
        seen[3].steps.iter().map(|s| s.state).collect::<Vec<_>>(),
        engine.steps().iter().map(|s| s.state).collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn a_followed_journal_edited_or_cut_is_said_and_not_read_further() {
    let all = fixture_lines("pilot-light-failover.crash-30");
    let lines: Vec<&str> = all.iter().map(String::as_str).collect();
    // A record that does not follow the chain, appended by someone else.
    let forged = all[5].clone();
    let seen = follow_while(&lines, vec![Box::new(move |p| append(p, &forged))]).await;
    let notice = seen[1].notice.clone().unwrap_or_default();
    assert!(
        notice.contains("cannot follow") && notice.contains("audit verify"),
        "{notice}"
    );
    assert_eq!(
        seen[1].tail.len(),
        all.len(),
        "what was read stays on screen"
    );
    // A journal replaced by a shorter one.
    let seen = follow_while(&lines, vec![Box::new(|p| std::fs::write(p, "").unwrap())]).await;
    let notice = seen[1].notice.clone().unwrap_or_default();
    assert!(notice.contains("replaced or cut"), "{notice}");
}

#[path = "../../../benches/support/mod.rs"]
mod bench_support;

#[tokio::test(start_paused = true)]
async fn a_journal_longer_than_one_read_is_followed_to_its_last_record() {
    // About 12 MB: three of the follower's reads.
    let dir = temp_dir("follow-long");
    let rb = bench_support::parse(&bench_support::runbook_yaml(50, 10));
    let journal = dir.join("long.jsonl");
    bench_support::long_journal(&rb, 25_000, &journal);
    assert!(std::fs::metadata(&journal).unwrap().len() > 8 << 20);
    let (mut rx, task) = start(rb, journal);
    rx.changed().await.unwrap();
    let v = rx.borrow_and_update().clone();
    assert_eq!(v.notice, None);
    assert_eq!(
        v.tail.back().unwrap().seq,
        24_999,
        "published once, caught up"
    );
    assert_eq!(v.tail.len(), pilotlight::runtime::view::TAIL);
    drop(rx);
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_long_journal_of_another_runbook_is_said_even_while_catching_up() {
    let dir = temp_dir("follow-other");
    let other = bench_support::parse(&bench_support::runbook_yaml(50, 10));
    let journal = dir.join("long.jsonl");
    bench_support::long_journal(&other, 25_000, &journal);
    // Followed with the wrong runbook.
    let rb = load_runbook(&format!("{FIXTURES}/pilot-light-failover.yaml"));
    let (mut rx, task) = start(rb, journal);
    tokio::time::timeout(Duration::from_secs(60), rx.changed())
        .await
        .expect("the follower said nothing")
        .unwrap();
    let notice = rx.borrow_and_update().notice.clone().unwrap_or_default();
    assert!(notice.contains("cannot follow"), "{notice}");
    drop(rx);
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_journal_that_comes_back_is_followed_again() {
    let all = fixture_lines("pilot-light-failover.crash-30");
    let lines: Vec<&str> = all.iter().map(String::as_str).collect();
    let seen = follow_while(
        &lines,
        vec![
            Box::new(|p| std::fs::rename(p, p.with_extension("away")).unwrap()),
            Box::new(|p| std::fs::rename(p.with_extension("away"), p).unwrap()),
        ],
    )
    .await;
    assert!(seen[1]
        .notice
        .as_deref()
        .unwrap_or("")
        .contains("cannot follow"));
    assert_eq!(seen[2].notice, None, "back: the error is gone");
    assert!(seen[2].now > seen[0].now, "and the clock runs again");
}
