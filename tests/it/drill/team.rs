//! Team mode over a folder state store (issue 15): one run per runbook across machines (two
//! operators with their own data directories, the second refused with who holds the run;
//! drills apart from live runs; a lease judged expired by the store's clock, taken over only on
//! purpose; a holder that lost its lease sends nothing), and the journal mirrored to the store
//! (catching up after an outage; a journal re-chained after it was mirrored is caught).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use pilotlight::cloud::leased::{LeaseHealth, Leased, NOT_HELD};
use pilotlight::cloud::Change;
use pilotlight::runtime::lease::{acquire, key, renew_once, Lease, LeaseError, Namespace};
use pilotlight::runtime::store::{Folder, Object, Store, StoreError};

use crate::common::{t0, temp_dir};

/// A folder store whose clock the test sets, and which can be made unreachable.
struct Clocked {
    folder: Folder,
    now: Mutex<DateTime<Utc>>,
    down: std::sync::atomic::AtomicBool,
}

impl Clocked {
    fn new(name: &str) -> Arc<Clocked> {
        Arc::new(Clocked {
            folder: Folder::open(&temp_dir(name).join("state")).unwrap(),
            now: Mutex::new(t0()),
            down: Default::default(),
        })
    }
    fn advance(&self, secs: i64) {
        *self.now.lock().unwrap() += TimeDelta::seconds(secs);
    }
}

impl Store for Clocked {
    fn describe(&self) -> String {
        self.folder.describe()
    }
    fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        self.folder.get(key)
    }
    fn create(&self, key: &str, body: &[u8]) -> Result<String, StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Io {
                what: key.into(),
                why: "unreachable".into(),
            });
        }
        self.folder.create(key, body)
    }
    fn replace(&self, key: &str, body: &[u8], tag: &str) -> Result<String, StoreError> {
        self.folder.replace(key, body, tag)
    }
    fn remove(&self, key: &str, tag: &str) -> Result<(), StoreError> {
        self.folder.remove(key, tag)
    }
    fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        Ok(*self.now.lock().unwrap())
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.folder.list(prefix)
    }
}

fn me(operator: &str, host: &str) -> Lease {
    Lease {
        operator: operator.into(),
        principal: Some(format!(
            "arn:aws:sts::123456789012:assumed-role/dr/{operator}"
        )),
        host: host.into(),
        pid: 4242,
        since: t0(),
        renewed_at: t0(),
        // Long: the background renewer does not run during the test.
        lease_secs: 300,
    }
}

/// `pilotlight ARGS` as `operator` on their own machine (data folder `home`), with `env`.
fn as_operator(
    home: &std::path::Path,
    operator: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pilotlight"));
    cmd.args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("data"))
        .env("PILOTLIGHT_OPERATOR", operator)
        .env_remove("PILOTLIGHT_STATE")
        .current_dir(crate::common::root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// An unattended drill of the pilot-light runbook at full speed, then `extra`.
fn drill_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "drill",
        "runbooks/pilot-light-failover.yaml",
        "--unattended",
        "--speed",
        "max",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn a_second_operator_anywhere_is_refused_and_told_who_holds_the_run() {
    let store = Clocked::new("lease-held");
    let first = acquire(
        store.clone(),
        Namespace::Live,
        "rb",
        me("ana", "laptop-a"),
        false,
    )
    .unwrap();
    let second = acquire(
        store.clone(),
        Namespace::Live,
        "rb",
        me("bo", "laptop-b"),
        false,
    );
    let Err(e @ LeaseError::Held { .. }) = second else {
        panic!("{:?}", second.err());
    };
    let said = e.to_string();
    assert!(said.contains("already being run by ana"), "{said}");
    assert!(
        said.contains("assumed-role/dr/ana") && said.contains("laptop-a"),
        "{said}"
    );
    // Even when asked to take over: the lease is live.
    assert!(matches!(
        acquire(
            store.clone(),
            Namespace::Live,
            "rb",
            me("bo", "laptop-b"),
            true
        ),
        Err(LeaseError::Held { .. })
    ));
    // A drill of the same runbook is not blocked by the live run, nor blocks it.
    let drill = acquire(
        store.clone(),
        Namespace::Drill,
        "rb",
        me("cy", "laptop-c"),
        false,
    );
    assert!(drill.is_ok());
    // Released on the way out: the next operator need not wait for expiry.
    drop(first);
    assert!(store.get(&key(Namespace::Live, "rb")).unwrap().is_none());
    assert!(acquire(
        store.clone(),
        Namespace::Live,
        "rb",
        me("bo", "laptop-b"),
        false
    )
    .is_ok());
}

#[test]
fn an_expired_lease_is_taken_over_only_on_purpose_and_its_holder_then_sends_nothing() {
    let store = Clocked::new("lease-expired");
    let first = acquire(
        store.clone(),
        Namespace::Live,
        "rb",
        me("ana", "laptop-a"),
        false,
    )
    .unwrap();
    let k = key(Namespace::Live, "rb");
    let seen = store.get(&k).unwrap().unwrap();
    let held: Lease = serde_json::from_slice(&seen.body).unwrap();
    // Renewed by its holder: still live.
    store.advance(200);
    let (held, tag) = renew_once(&*store, &k, &held, &seen.tag).unwrap();
    store.advance(200);
    assert!(matches!(
        acquire(
            store.clone(),
            Namespace::Live,
            "rb",
            me("bo", "laptop-b"),
            false
        ),
        Err(LeaseError::Held { .. })
    ));
    // Not renewed for longer than the lease (by the store's clock): expired, but a second
    // operator still has to say they take over.
    store.advance(200);
    let refused = acquire(
        store.clone(),
        Namespace::Live,
        "rb",
        me("bo", "laptop-b"),
        false,
    );
    let Err(e @ LeaseError::Expired { .. }) = refused else {
        panic!("{:?}", refused.err());
    };
    assert!(e.to_string().contains("--take-over"), "{e}");
    let second = acquire(
        store.clone(),
        Namespace::Live,
        "rb",
        me("bo", "laptop-b"),
        true,
    )
    .unwrap();
    assert_eq!(second.took_over.as_ref().unwrap().operator, "ana");
    // The old holder cannot renew what it no longer holds.
    assert!(matches!(
        renew_once(&*store, &k, &held, &tag),
        Err(StoreError::Changed(_))
    ));
    // Its lease lost, a backend sends no change: a definite refusal that says why.
    let health = LeaseHealth::held_now();
    health.lost();
    let (runbook, plan, approval) = an_approved_change();
    let backend = Leased {
        inner: pilotlight::cloud::sim::SimWorld::new(
            runbook.clone(),
            pilotlight::cloud::sim::default_for(&runbook),
            t0(),
        ),
        lease: health,
    };
    let answer = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(backend.start(&plan, &approval, t0()));
    let Err(pilotlight::model::CloudError::Refused(why)) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(why, NOT_HELD);
    assert!(!pilotlight::model::CloudError::Refused(why).may_have_happened());
    drop(first);
    // The first holder's way out does not remove the lease it lost.
    assert!(store.get(&k).unwrap().is_some());
}

/// A change the engine approved (the only way to get an approval): a one-step runbook's action,
/// past its gate.
fn an_approved_change() -> (
    Arc<pilotlight::runbook::Runbook>,
    pilotlight::model::ActionPlan,
    pilotlight::engine::Approval,
) {
    use pilotlight::engine::{Effect, Engine, GateDecision, Input};
    let yaml = "runbook: lease-test
title: Start the standby
targets: { rto: 1h }
resources:
  app: { kind: ec2-instance, region: us-west-2, id: i-0abc1234def567801 }
steps:
  - id: start
    kind: action
    action: ec2.start-instances
    resource: app
    gate: { confirm: true }
";
    let runbook = Arc::new(pilotlight::runbook::parse(yaml.as_bytes()).unwrap());
    let mut engine = Engine::new(runbook.clone(), "lease-run");
    let mut pending = engine.handle(Input::Start, t0());
    pending.extend(engine.handle(
        Input::Gate(GateDecision {
            approve: true,
            typed: None,
            reason: None,
            unattended: false,
        }),
        t0(),
    ));
    for _ in 0..20 {
        let mut next = Vec::new();
        for fx in pending {
            match fx {
                Effect::Mutate { plan, approval } => return (runbook, plan, approval),
                Effect::Record(_) => next.extend(engine.handle(Input::Recorded, t0())),
                _ => {}
            }
        }
        pending = next;
    }
    panic!("the engine sent no change");
}

#[test]
fn two_machines_with_one_state_folder_run_one_drill_at_a_time() {
    use crate::common::pty::Pty;
    let (a, b) = (temp_dir("team-a"), temp_dir("team-b"));
    let state = temp_dir("team-state").join("store");
    let state = state.to_str().unwrap();
    // Ana's console drill, waiting at its first gate, on "her laptop" (her own data folder).
    let mut ana = Pty::spawn_with(
        &[
            "drill",
            "runbooks/pilot-light-failover.yaml",
            "--state",
            state,
            "--operator",
            "ana",
        ],
        &a,
        24,
        80,
        &[],
        crate::common::pty::DEADLINE,
    );
    ana.until_text("GATE waiting for you");
    // Bo, on another "laptop" (another data folder), same runbook, same state store: refused,
    // told who holds it.
    let bo = as_operator(&b, "bo", &drill_args(&[]), &[("PILOTLIGHT_STATE", state)]);
    let said = String::from_utf8_lossy(&bo.stderr);
    assert_eq!(bo.status.code(), Some(2), "{said}");
    assert!(said.contains("already being run by ana"), "{said}");
    assert!(
        said.contains(&format!("state store folder {state}")),
        "{said}"
    );
    // Ana leaves: the lock goes with her, and Bo's drill runs.
    ana.send(b"q");
    assert!(ana.finish().success());
    let bo = as_operator(&b, "bo", &drill_args(&["--state", state]), &[]);
    assert_eq!(
        bo.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bo.stderr)
    );
    // A store that cannot be one is refused, never run unlocked.
    let s3 = as_operator(&b, "bo", &drill_args(&["--state", "s3://b/p"]), &[]);
    assert_eq!(s3.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&s3.stderr).contains("is not an S3 bucket name"));
    let gs = as_operator(&b, "bo", &drill_args(&["--state", "gs://bucket/p"]), &[]);
    assert_eq!(gs.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&gs.stderr).contains("s3://BUCKET/PREFIX or a folder"));
}

#[test]
fn a_drill_is_mirrored_to_the_store_and_a_journal_rechained_after_it_is_caught() {
    let dir = temp_dir("team-mirror");
    let state = dir.join("store");
    let run = |args: &[&str]| as_operator(&dir, "ana", args, &[]);
    let journal = dir.join("drill.jsonl");
    let out = run(&[
        "drill",
        "runbooks/pilot-light-failover.yaml",
        "--unattended",
        "--speed",
        "max",
        "--journal",
        journal.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    // Where the mirror is: printed, and every record is there.
    let line = said
        .lines()
        .find(|l| l.starts_with("mirror: "))
        .unwrap_or_else(|| panic!("{said}"));
    let url = line.split(" records in ").nth(1).unwrap().to_string();
    let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records;
    assert_eq!(line, format!("mirror: {} records in {url}", records.len()));
    let verify = run(&["audit", "verify", &url]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let against = run(&[
        "audit",
        "verify",
        journal.to_str().unwrap(),
        "--against",
        &url,
    ]);
    assert_eq!(
        against.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&against.stdout)
    );
    // The team's runs, with where each is.
    let runs = run(&[
        "runs",
        "runbooks/pilot-light-failover.yaml",
        "--state",
        state.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let listed: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(listed[0]["url"], url.as_str(), "{listed}");
    assert_eq!(listed[0]["status"], "finished");
    assert_eq!(listed[0]["operator"], "ana");
    assert_eq!(listed[0]["records"], records.len());
    // The war room, on another machine (its own data folder), follows the run by its url.
    let elsewhere = temp_dir("team-war-room");
    let mut room = crate::common::pty::Pty::spawn(
        &[
            "watch",
            "runbooks/pilot-light-failover.yaml",
            "--follow",
            &url,
        ],
        &elsewhere,
        24,
        80,
    );
    room.until_text("RECOVERED in");
    room.until_text("Steps 17/17");
    room.send(b"q");
    assert!(room.finish().success());
    // A stale copy of the journal (the run went on after it) is not resumed from.
    let stale = dir.join("stale.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let head: String = text.split_inclusive('\n').take(30).collect();
    std::fs::write(&stale, head).unwrap();
    let resumed = run(&[
        "drill",
        "runbooks/pilot-light-failover.yaml",
        "--unattended",
        "--speed",
        "max",
        "--resume",
        stale.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(2), "{said}");
    assert!(said.contains("records this journal lacks"), "{said}");
    assert_eq!(
        std::fs::read_to_string(&stale).unwrap().lines().count(),
        30,
        "nothing was written to the stale copy"
    );
    // Taking over is resuming: --take-over alone is refused.
    let alone = run(&[
        "drill",
        "runbooks/pilot-light-failover.yaml",
        "--unattended",
        "--take-over",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--take-over --resume JOURNAL"));
    // Someone with write access to the laptop re-chains the journal: another name on an
    // approval, every hash after it recomputed. The file alone verifies; against its mirror not.
    crate::common::rechain_with_another_approver(&journal);
    let alone = run(&["audit", "verify", journal.to_str().unwrap()]);
    assert_eq!(alone.status.code(), Some(0), "the chain alone cannot tell");
    let against = run(&[
        "audit",
        "verify",
        journal.to_str().unwrap(),
        "--against",
        &url,
    ]);
    let said = String::from_utf8_lossy(&against.stdout);
    assert_eq!(against.status.code(), Some(1), "{said}");
    assert!(
        said.contains("DIFFERS FROM ITS MIRROR at record #"),
        "{said}"
    );
}

#[test]
fn the_mirror_catches_up_after_the_store_was_unreachable_and_never_takes_half_a_record() {
    use pilotlight::runtime::mirror::{read_batches, Mirror, MirrorError};
    let store = Clocked::new("mirror-outage");
    let dir = temp_dir("mirror-outage");
    let (all, prefix) = unfinished_run();
    let lines: Vec<&str> = all.split_inclusive('\n').collect();
    let journal = dir.join("j.jsonl");
    std::fs::write(&journal, lines[..10].concat()).unwrap();
    let mut mirror = Mirror::new(store.clone(), &journal);
    assert_eq!(mirror.sync().unwrap(), 10);
    // The store goes away; the run goes on, the mirror falls behind.
    store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    std::fs::write(&journal, lines[..20].concat()).unwrap();
    assert!(matches!(mirror.sync(), Err(MirrorError::Store(_))));
    // Half a record being written: not taken.
    store.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let half = &lines[20][..lines[20].len() / 2];
    std::fs::write(&journal, format!("{}{half}", lines[..20].concat())).unwrap();
    assert_eq!(mirror.sync().unwrap(), 20);
    std::fs::write(&journal, lines.concat()).unwrap();
    assert_eq!(mirror.sync().unwrap(), lines.len() as u64);
    // The store holds the journal exactly, in batches created once each.
    assert_eq!(read_batches(&*store, &prefix).unwrap(), all.as_bytes());
    // A second mirror of the same journal (the run resumed on another machine) writes nothing
    // twice; one of a journal that differs from the mirror stops and says so.
    let mut again = Mirror::new(store.clone(), &journal);
    assert_eq!(again.sync().unwrap(), lines.len() as u64);
    let other = dir.join("other.jsonl");
    std::fs::write(&other, all.replacen("\"seed\":1", "\"seed\":2", 1)).unwrap();
    let mut forged = Mirror::new(store.clone(), &other);
    assert!(
        matches!(forged.sync(), Err(MirrorError::Disagree(_))),
        "a changed first record"
    );
}

#[test]
fn a_renewal_that_does_not_come_back_in_time_stops_changes_before_anyone_could_take_over() {
    // The health of a lease is a deadline, not the last answer: set when a renewal began, it
    // runs out a third of the lease before the lease itself would expire.
    let health = LeaseHealth::held_now();
    assert!(health.held(), "a run without a store is always held");
    let health = LeaseHealth::until(std::time::Instant::now() - std::time::Duration::from_secs(1));
    assert!(
        !health.held(),
        "past its deadline: not held, whatever the last answer said"
    );
    let start = std::time::Instant::now();
    health.renewed(start, 60);
    assert!(health.held());
    health.renewed(start - std::time::Duration::from_secs(41), 60);
    assert!(
        !health.held(),
        "a renewal begun 41 s ago covers 40 s of a 60 s lease"
    );
}

#[test]
fn a_lock_with_a_lease_length_out_of_bounds_is_unreadable_not_a_panic_or_free() {
    let store = Clocked::new("lease-bounds");
    let k = key(Namespace::Live, "rb");
    for secs in ["100000000000000000", "18446744073709551615", "0"] {
        let _ = std::fs::remove_dir_all(temp_dir("lease-bounds-x"));
        let body = format!(
            r#"{{"operator":"eve","host":"h","pid":1,"since":"2026-11-21T03:00:00Z","renewed_at":"2026-11-21T03:00:00Z","lease_secs":{secs}}}"#
        );
        if let Some(o) = store.get(&k).unwrap() {
            store.remove(&k, &o.tag).unwrap();
        }
        store.create(&k, body.as_bytes()).unwrap();
        let got = acquire(store.clone(), Namespace::Live, "rb", me("bo", "b"), true);
        assert!(
            matches!(got, Err(LeaseError::Unreadable(_))),
            "{secs}: {:?}",
            got.err()
        );
    }
}

#[test]
fn staged_files_of_two_writers_never_share_a_name() {
    // Two machines (same pid in two containers) racing for the same lock: each stages its own
    // file, so neither can change the other's lock through a shared inode.
    let store = Clocked::new("staging");
    let k = key(Namespace::Live, "rb");
    std::thread::scope(|sc| {
        for i in 0..8 {
            let store = store.clone();
            let k = k.clone();
            sc.spawn(move || {
                let _ = store.create(&k, format!("{{\"writer\":{i}}}").as_bytes());
            });
        }
    });
    let body = store.get(&k).unwrap().unwrap().body;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["writer"].is_u64(), "{}", String::from_utf8_lossy(&body));
}

#[test]
fn a_batch_written_but_whose_answer_was_lost_is_moved_past_not_a_disagreement() {
    use pilotlight::runtime::mirror::Mirror;
    let store = Clocked::new("mirror-lost-answer");
    let dir = temp_dir("mirror-lost-answer");
    let (all, prefix) = unfinished_run();
    let lines: Vec<&str> = all.split_inclusive('\n').collect();
    let journal = dir.join("j.jsonl");
    std::fs::write(&journal, lines[..10].concat()).unwrap();
    assert_eq!(Mirror::new(store.clone(), &journal).sync().unwrap(), 10);
    // A look wrote records 10..15 and crashed before it heard back.
    store
        .create(
            &format!("{prefix}/journal/{:012}.jsonl", 10),
            lines[10..15].concat().as_bytes(),
        )
        .unwrap();
    // A new look (a restarted process) with more records: it moves past what is there.
    std::fs::write(&journal, lines[..20].concat()).unwrap();
    let mut m = Mirror::new(store.clone(), &journal);
    assert_eq!(m.sync().unwrap(), 20);
    assert_eq!(
        pilotlight::runtime::mirror::read_batches(&*store, &prefix).unwrap(),
        lines[..20].concat().as_bytes()
    );
}

#[test]
fn a_journal_behind_its_mirror_is_refused_not_run_on() {
    use pilotlight::runtime::mirror::{Mirror, MirrorError};
    let store = Clocked::new("mirror-ahead");
    let dir = temp_dir("mirror-ahead");
    let (all, _) = unfinished_run();
    let lines: Vec<&str> = all.split_inclusive('\n').collect();
    // The run went on elsewhere: the mirror has 20 records.
    let ahead = dir.join("ahead.jsonl");
    std::fs::write(&ahead, lines[..20].concat()).unwrap();
    assert_eq!(Mirror::new(store.clone(), &ahead).sync().unwrap(), 20);
    // A stale copy with 12 is not the run: it must not go on from there.
    let stale = dir.join("stale.jsonl");
    std::fs::write(&stale, lines[..12].concat()).unwrap();
    let got = Mirror::new(store.clone(), &stale).sync();
    let Err(MirrorError::Disagree(why)) = got else {
        panic!("{got:?}");
    };
    assert!(why.contains("8 records this journal lacks"), "{why}");
}

#[test]
fn a_run_taken_over_after_its_holders_lease_expired_says_whose_in_its_journal() {
    let dir = temp_dir("team-takeover");
    let state = dir.join("store");
    let crash_after_25 = [("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS", "25")];
    let run = |args: &[&str]| as_operator(&dir, "bo", args, &crash_after_25);
    let journal = dir.join("drill.jsonl");
    let (j, s) = (journal.to_str().unwrap(), state.to_str().unwrap());
    // Ana's drill dies half-way (a crash after 25 records): her lock stays, her lease runs out.
    let first = run(&[
        "drill",
        "runbooks/pilot-light-failover.yaml",
        "--unattended",
        "--speed",
        "max",
        "--journal",
        j,
        "--state",
        s,
        "--operator",
        "ana",
    ]);
    assert_ne!(first.status.code(), Some(0));
    let lock = state.join("locks/drill/pilot-light-failover.json");
    let mut held: Lease = serde_json::from_slice(&std::fs::read(&lock).unwrap_or_else(|_| {
        // (a crash leaves the lock; a clean exit removes it: make it as a crash leaves it)
        let stale = Lease {
            operator: "ana".into(),
            principal: None,
            host: "laptop-a".into(),
            pid: 1,
            since: t0(),
            renewed_at: t0(),
            lease_secs: 60,
        };
        serde_json::to_vec(&stale).unwrap()
    }))
    .unwrap();
    held.renewed_at = t0();
    std::fs::write(&lock, serde_json::to_vec(&held).unwrap()).unwrap();
    // Bo takes over by resuming the journal.
    let out = as_operator(
        &dir,
        "bo",
        &drill_args(&["--resume", j, "--state", s, "--take-over"]),
        &[],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("took the run over from ana"), "{said}");
    let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records;
    let resumed = records
        .iter()
        .find(|r| r.kind() == pilotlight::audit::EventKind::RunResumed)
        .unwrap();
    assert_eq!(resumed.operator, "bo");
    let detail = resumed.event.detail().unwrap();
    assert!(
        detail["took_over_from"]
            .as_str()
            .unwrap_or("")
            .starts_with("ana"),
        "{detail}"
    );
}

/// An unfinished drill's journal (a v0.1 fixture), and where its run goes in a store.
fn unfinished_run() -> (String, String) {
    let all = std::fs::read_to_string(
        crate::common::root()
            .join("tests/fixtures/journals/v0.1/pilot-light-failover.crash-30.jsonl"),
    )
    .unwrap();
    let started = pilotlight::audit::verify(all.as_bytes()).unwrap().records[0].clone();
    let pilotlight::audit::Event::RunStarted(s) = &started.event else {
        panic!("the fixture begins with its run's start")
    };
    let prefix = pilotlight::runtime::mirror::run_prefix(&started.runbook, &s.run_id);
    (all, prefix)
}

#[test]
fn a_run_is_resumed_on_another_machine_from_its_url_in_the_store() {
    use pilotlight::runtime::mirror::{read_batches, Mirror};
    let dir = temp_dir("team-resume-url");
    let state = dir.join("store");
    let store = Arc::new(Folder::open(&state).unwrap());
    // Ana's machine mirrored 30 records of her drill, then was lost with its disk.
    let (all, prefix) = unfinished_run();
    let hers = dir.join("ana.jsonl");
    std::fs::write(&hers, &all).unwrap();
    Mirror::new(store.clone(), &hers).sync().unwrap();
    std::fs::remove_file(&hers).unwrap();
    // Bo, on his machine, goes on from the run's URL: a local copy, then the run to its end.
    let url = state.join(&prefix);
    let bo = dir.join("bo");
    // (the runbook as the fixture's run began with it)
    let runbook = "tests/fixtures/journals/v0.1/pilot-light-failover.yaml";
    let out = as_operator(
        &bo,
        "bo",
        &[
            "drill",
            runbook,
            "--unattended",
            "--speed",
            "max",
            "--resume",
            url.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        &[],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("30 records of"), "{said}");
    let copy = std::fs::read_dir(bo.join("data/pilotlight/journals"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".from-store.jsonl"))
        .unwrap();
    let records = pilotlight::audit::verify(&std::fs::read(&copy).unwrap())
        .unwrap()
        .records;
    let mirrored = pilotlight::audit::verify(all.as_bytes()).unwrap().records;
    assert_eq!(records[..30], mirrored[..]);
    assert_eq!(records[30].kind(), pilotlight::audit::EventKind::RunResumed);
    assert_eq!(records[30].operator, "bo");
    assert!(records.last().unwrap().event.ends_run());
    // The store's mirror went on with it: the same run, every record.
    let now = read_batches(&*store, &prefix).unwrap();
    assert_eq!(now, std::fs::read(&copy).unwrap());
    // An S3 URL that names no run is refused before anything is written.
    let none = as_operator(&bo, "bo", &drill_args(&["--resume", "s3://b/p"]), &[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("is not a run's URL"));
}

#[test]
fn a_runbook_names_its_teams_state_store_and_the_command_line_comes_first() {
    let dir = temp_dir("team-state-key");
    let (named, given) = (dir.join("named"), dir.join("given"));
    let text =
        std::fs::read_to_string(crate::common::root().join("runbooks/pilot-light-failover.yaml"))
            .unwrap();
    let text = text.replacen(
        "\nvars:",
        &format!("\nstate: {{ url: \"{}\" }}\nvars:", named.display()),
        1,
    );
    assert!(text.contains("\nstate: {"), "the runbook has vars");
    let runbook = dir.join("rb.yaml");
    std::fs::write(&runbook, text).unwrap();
    let rb = runbook.to_str().unwrap();
    let drill = |extra: &[&str]| {
        let mut a = vec!["drill", rb, "--unattended", "--speed", "max"];
        a.extend_from_slice(extra);
        as_operator(&dir, "ana", &a, &[])
    };
    let out = drill(&[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "records in {}/runs/pilot-light-failover/",
            named.display()
        )),
        "{said}"
    );
    let out = drill(&["--state", given.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "records in {}/runs/pilot-light-failover/",
            given.display()
        )),
        "{said}"
    );
}

#[test]
fn reading_a_store_that_is_not_there_says_so_and_makes_nothing() {
    let dir = temp_dir("team-no-store");
    let missing = dir.join("no-such-store");
    let m = missing.to_str().unwrap();
    let runs = as_operator(
        &dir,
        "ana",
        &["runs", "runbooks/pilot-light-failover.yaml", "--state", m],
        &[],
    );
    assert_eq!(runs.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&runs.stderr).contains("there is no state store at"));
    let url = missing.join("runs/pilot-light-failover/r1");
    let approve = as_operator(&dir, "bo", &["approve", url.to_str().unwrap()], &[]);
    assert_eq!(approve.status.code(), Some(2));
    assert!(!missing.exists(), "nothing was made by reading");
}
