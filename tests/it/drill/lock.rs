//! One operator per run: the run lock next to a journal, and finding an unfinished run to resume
//! among real journals written by the real binary.

use crate::common::root;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use pilotlight::audit::{verify, EventKind, Mode, Record};
use pilotlight::runtime::lock::{self, Holder, LockError, LockState, RunLock};
use pilotlight::runtime::unfinished;

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";
const RUNBOOK_ID: &str = "pilot-light-failover";
const OTHER_RUNBOOK: &str = "runbooks/multi-site-dns-shift.yaml";

/// A fresh folder of its own, removed when the test passes (kept for a look when it fails).
struct TempDir(PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn temp_dir(name: &str) -> TempDir {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "pilotlight-run-lock-{name}-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn holder(operator: &str, pid: u32, host: &str) -> Holder {
    Holder {
        operator: operator.into(),
        pid,
        host: host.into(),
        since: Utc.with_ymd_and_hms(2026, 11, 21, 3, 4, 5).unwrap(),
    }
}

/// A pid no process can have (above Linux's largest `pid_max`).
const DEAD_PID: u32 = 999_999_999;

fn write_lock(journal: &Path, h: &Holder) {
    let text = format!(
        "{{\"operator\":\"{}\",\"pid\":{},\"host\":\"{}\",\"since\":\"{}\"}}\n",
        h.operator,
        h.pid,
        h.host,
        h.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    std::fs::write(lock::lock_path(journal), text).unwrap();
}

fn read_lock_json(journal: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(lock::lock_path(journal)).unwrap()).unwrap()
}

#[test]
fn the_lock_sits_next_to_the_journal() {
    assert_eq!(
        lock::lock_path(Path::new("/j/orders-20261121T030000Z-live.jsonl")),
        PathBuf::from("/j/orders-20261121T030000Z-live.jsonl.lock")
    );
}

#[test]
fn acquire_writes_who_holds_the_run_and_drop_removes_it() {
    let dir = temp_dir("acquire");
    let journal = dir.join("a.jsonl");
    let me = Holder::current("ana");
    assert_eq!(me.pid, std::process::id());
    assert_eq!(me.host, lock::this_host());

    let held = RunLock::acquire(&journal, &me).unwrap();
    let path = lock::lock_path(&journal);
    assert_eq!(held.path(), path);
    assert_eq!(held.holder(), &me);
    assert_eq!(held.stale_taken_over(), None);

    let json = read_lock_json(&journal);
    assert_eq!(json["operator"], "ana");
    assert_eq!(json["pid"], std::process::id());
    assert_eq!(json["host"], lock::this_host());
    let since = json["since"].as_str().unwrap();
    assert!(since.ends_with('Z'), "since is not UTC: {since}");
    let since = DateTime::parse_from_rfc3339(since).unwrap();
    assert!((Utc::now() - since.with_timezone(&Utc)).num_seconds().abs() < 60);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "lock mode is {:o}", mode & 0o777);
    }
    assert_eq!(lock::inspect(&journal), LockState::Held(me.clone()));

    drop(held);
    assert!(!path.exists(), "the lock outlived its holder");
    assert_eq!(lock::inspect(&journal), LockState::Free);

    // Released, the run can be locked again.
    let again = RunLock::acquire(&journal, &Holder::current("bob")).unwrap();
    assert_eq!(read_lock_json(&journal)["operator"], "bob");
    again.release();
    assert!(!path.exists());
}

#[test]
fn a_second_operator_is_refused_with_who_holds_the_run() {
    let dir = temp_dir("second");
    let journal = dir.join("a.jsonl");
    let ana = Holder::current("ana");
    let held = RunLock::acquire(&journal, &ana).unwrap();

    let err = RunLock::acquire(&journal, &Holder::current("bob")).unwrap_err();
    let LockError::Held { holder, path } = &err else {
        panic!("expected Held, got {err:?}");
    };
    assert_eq!(holder, &ana);
    assert_eq!(path, &lock::lock_path(&journal));
    assert_eq!(err.holder(), Some(ana.clone()));
    let message = err.to_string();
    let since = ana.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        message.starts_with("ana has held this run since "),
        "{message}"
    );
    assert!(message.contains(&since), "{message}");
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert!(
        message.ends_with(&format!(
            "Ask ana to quit, or if ana's session is gone, remove {}",
            path.display()
        )),
        "{message}"
    );

    // The refusal left ana's lock alone.
    assert_eq!(read_lock_json(&journal)["operator"], "ana");
    drop(held);
    assert!(!lock::lock_path(&journal).exists());
}

#[test]
fn a_lock_held_on_another_host_counts_as_held() {
    let dir = temp_dir("other-host");
    let journal = dir.join("a.jsonl");
    // Its pid does not exist here, but that says nothing about another machine.
    let remote = holder("carol", DEAD_PID, "bastion-2.invalid");
    write_lock(&journal, &remote);
    assert!(remote.is_alive());
    assert_eq!(lock::inspect(&journal), LockState::Held(remote.clone()));

    let err = RunLock::acquire(&journal, &Holder::current("bob")).unwrap_err();
    assert!(
        matches!(&err, LockError::Held { holder, .. } if holder == &remote),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("since 2026-11-21T03:04:05Z"), "{message}");
    assert!(message.contains("on host bastion-2.invalid"), "{message}");
    assert!(message.contains("Ask carol to quit"), "{message}");
    assert_eq!(read_lock_json(&journal)["operator"], "carol");
}

#[test]
fn a_stale_lock_from_a_dead_process_on_this_host_is_taken_over() {
    let dir = temp_dir("stale");
    let journal = dir.join("a.jsonl");
    let dead = holder("zed", DEAD_PID, &lock::this_host());
    write_lock(&journal, &dead);
    assert!(!dead.is_alive());
    assert_eq!(lock::inspect(&journal), LockState::Stale(dead.clone()));
    assert_eq!(lock::inspect(&journal).live_holder(), None);

    let me = Holder::current("ana");
    let held = RunLock::acquire(&journal, &me).unwrap();
    assert_eq!(held.stale_taken_over(), Some(&dead));
    assert_eq!(held.holder(), &me);
    let json = read_lock_json(&journal);
    assert_eq!(json["operator"], "ana");
    assert_eq!(json["pid"], std::process::id());

    // Nothing but the lock is left in the folder (no file set aside during the takeover).
    let names: Vec<String> = std::fs::read_dir(&*dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["a.jsonl.lock".to_string()]);

    drop(held);
    assert!(!lock::lock_path(&journal).exists());
}

#[test]
fn a_garbled_lock_is_held_by_unknown_and_says_to_check_and_remove_it() {
    for (name, bytes) in [
        ("junk", &b"this is not a lock\n"[..]),
        ("partial", &b"{\"operator\":\"ana\",\"pid\":12"[..]),
        ("fields", &b"{\"operator\":\"ana\"}\n"[..]),
        ("empty", &b""[..]),
    ] {
        let dir = temp_dir(&format!("garbled-{name}"));
        let journal = dir.join("a.jsonl");
        let path = lock::lock_path(&journal);
        std::fs::write(&path, bytes).unwrap();

        let state = lock::inspect(&journal);
        assert!(
            matches!(state, LockState::Garbled { .. }),
            "{name}: {state:?}"
        );
        assert_eq!(state.live_holder().unwrap().operator, "unknown");

        let err = RunLock::acquire(&journal, &Holder::current("ana")).unwrap_err();
        assert!(
            matches!(&err, LockError::Garbled { path: p, .. } if p == &path),
            "{name}: {err:?}"
        );
        let who = err.holder().unwrap();
        assert_eq!(who.operator, "unknown");
        assert_eq!(who.host, "unknown");
        assert!(who.is_alive(), "an unknown holder must count as alive");
        let message = err.to_string();
        assert!(
            message.contains("not a lock pilotlight can read"),
            "{message}"
        );
        assert!(
            message.ends_with(&format!(
                "Check that no one is, then remove {}",
                path.display()
            )),
            "{message}"
        );
        // Left exactly as it was.
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}");
    }
}

#[test]
fn drop_removes_only_its_own_lock() {
    let dir = temp_dir("own");
    let journal = dir.join("a.jsonl");
    let held = RunLock::acquire(&journal, &Holder::current("ana")).unwrap();
    // Someone removed ana's lock by hand and took the run.
    let bob = holder("bob", std::process::id(), &lock::this_host());
    std::fs::remove_file(lock::lock_path(&journal)).unwrap();
    write_lock(&journal, &bob);

    drop(held);
    assert!(
        lock::lock_path(&journal).exists(),
        "ana's drop removed bob's lock"
    );
    assert_eq!(read_lock_json(&journal)["operator"], "bob");

    // And a lock already gone is no trouble.
    let held = RunLock::acquire(&dir.join("b.jsonl"), &Holder::current("ana")).unwrap();
    std::fs::remove_file(lock::lock_path(&dir.join("b.jsonl"))).unwrap();
    drop(held);
}

#[test]
fn a_lock_that_cannot_be_created_says_where_and_what_to_do() {
    let dir = temp_dir("io");
    let journal = dir.join("no-such-folder").join("a.jsonl");
    let err = RunLock::acquire(&journal, &Holder::current("ana")).unwrap_err();
    assert!(matches!(err, LockError::Io { .. }), "{err:?}");
    assert_eq!(err.holder(), None);
    let message = err.to_string();
    assert!(
        message.contains(&lock::lock_path(&journal).display().to_string()),
        "{message}"
    );
    assert!(message.contains("exists and is writable"), "{message}");
}

// ---- finding an unfinished run -------------------------------------------------------------

/// Runs an unattended drill of `runbook` as `operator`, killed after `abort_after` records if set.
fn drill(runbook: &str, journal: &Path, operator: &str, abort_after: Option<usize>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilotlight"));
    cmd.args([
        "drill",
        runbook,
        "--unattended",
        "--speed",
        "max",
        "--journal",
    ])
    .arg(journal)
    .current_dir(root())
    .env("PILOTLIGHT_OPERATOR", operator)
    .env_remove("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS");
    if let Some(n) = abort_after {
        cmd.env("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS", n.to_string());
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.success(),
        abort_after.is_none(),
        "drill {runbook} (abort after {abort_after:?}): {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(journal.exists());
}

fn records(journal: &Path) -> Vec<Record> {
    verify(&std::fs::read(journal).unwrap()).unwrap().records
}

/// The step named by the last record that names one, read independently of the code under test.
fn last_step(records: &[Record]) -> Option<String> {
    let mut step = None;
    for r in records {
        if r.step.is_some() {
            step = r.step.clone();
        }
    }
    step
}

#[test]
fn only_the_unfinished_intact_journal_of_the_runbook_is_offered() {
    let dir = temp_dir("find");
    let finished = dir.join("a.jsonl");
    let unfinished_path = dir.join("b.jsonl");
    let tampered = dir.join("c.jsonl");
    let other = dir.join("d.jsonl");

    drill(RUNBOOK, &finished, "bob", None);
    drill(RUNBOOK, &unfinished_path, "ana", Some(12));
    drill(OTHER_RUNBOOK, &other, "dan", Some(12));
    // A copy of the unfinished run with one record edited: it must never be offered.
    let text = std::fs::read_to_string(&unfinished_path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines[4].contains("\"operator\":\"ana\""));
    lines[4] = lines[4].replace("\"operator\":\"ana\"", "\"operator\":\"eve\"");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    // Not journals.
    std::fs::write(dir.join("notes.txt"), "not a journal").unwrap();
    std::fs::create_dir(dir.join("sub.jsonl")).unwrap();

    let finished_records = records(&finished);
    assert_eq!(
        finished_records.last().unwrap().kind(),
        EventKind::RunFinished,
        "the unattended drill did not finish"
    );
    let rs = records(&unfinished_path);
    assert_eq!(rs.len(), 12);
    assert!(!matches!(
        rs.last().unwrap().kind(),
        EventKind::RunFinished | EventKind::RunAborted
    ));
    let expected_step = last_step(&rs);
    assert!(expected_step.is_some(), "12 records in, no step has begun");

    let found = unfinished::find(&dir, RUNBOOK_ID, Mode::Drill);
    assert_eq!(found.len(), 1, "{found:#?}");
    let run = &found[0];
    assert_eq!(run.path, unfinished_path);
    assert_eq!(run.operator, "ana");
    assert_eq!(run.at_step, expected_step);
    assert_eq!(run.records, 12);
    assert_eq!(run.started_at, rs[0].at);
    assert_eq!(run.last_at, rs[11].at);
    assert!(!run.torn_tail);
    assert_eq!(run.locked_by, None);

    let scan = unfinished::scan(&dir, RUNBOOK_ID, Mode::Drill);
    assert_eq!(scan.unfinished, found);
    assert_eq!(scan.tampered.len(), 1, "{:#?}", scan.tampered);
    assert_eq!(scan.tampered[0].path, tampered);
    assert_eq!(scan.tampered[0].problem.line(), Some(5));

    // The other runbook's unfinished run is its own; nothing is offered for a live run.
    let others = unfinished::find(&dir, "multi-site-dns-shift", Mode::Drill);
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].path, other);
    assert_eq!(others[0].operator, "dan");
    assert_eq!(
        unfinished::scan(&dir, "multi-site-dns-shift", Mode::Drill).tampered,
        vec![],
        "a tampered journal of another runbook is none of its business"
    );
    assert!(unfinished::find(&dir, RUNBOOK_ID, Mode::Live).is_empty());
    assert!(unfinished::scan(&dir, RUNBOOK_ID, Mode::Live)
        .tampered
        .is_empty());
    assert!(unfinished::find(&dir.join("missing"), RUNBOOK_ID, Mode::Drill).is_empty());

    // A run someone is on says who; a stale lock does not count.
    let held = RunLock::acquire(&unfinished_path, &Holder::current("ana")).unwrap();
    let found = unfinished::find(&dir, RUNBOOK_ID, Mode::Drill);
    assert_eq!(found[0].locked_by.as_ref(), Some(held.holder()));
    drop(held);
    write_lock(
        &unfinished_path,
        &holder("zed", DEAD_PID, &lock::this_host()),
    );
    assert_eq!(
        unfinished::find(&dir, RUNBOOK_ID, Mode::Drill)[0].locked_by,
        None
    );
    std::fs::write(lock::lock_path(&unfinished_path), "garbage").unwrap();
    assert_eq!(
        unfinished::find(&dir, RUNBOOK_ID, Mode::Drill)[0]
            .locked_by
            .as_ref()
            .map(|h| h.operator.as_str()),
        Some("unknown")
    );
}

#[test]
fn unfinished_runs_come_newest_first_and_a_torn_tail_is_still_offered() {
    let dir = temp_dir("order");
    let older = dir.join("z-older.jsonl");
    let newer = dir.join("a-newer.jsonl");
    drill(RUNBOOK, &older, "ana", Some(12));
    drill(RUNBOOK, &newer, "cy", Some(16));
    // A crash in the middle of a write leaves a torn last line.
    let mut bytes = std::fs::read(&newer).unwrap();
    bytes.extend_from_slice(b"{\"seq\":16,\"at\":\"20");
    std::fs::write(&newer, bytes).unwrap();

    let newer_records = records(&newer);
    let older_records = records(&older);
    assert!(newer_records.last().unwrap().at > older_records.last().unwrap().at);

    let found = unfinished::find(&dir, RUNBOOK_ID, Mode::Drill);
    let paths: Vec<&Path> = found.iter().map(|u| u.path.as_path()).collect();
    assert_eq!(paths, vec![newer.as_path(), older.as_path()]);
    assert_eq!(found[0].operator, "cy");
    assert_eq!(found[0].records, 16);
    assert!(found[0].torn_tail);
    assert_eq!(found[0].at_step, last_step(&newer_records));
    assert_eq!(found[1].operator, "ana");
    assert!(!found[1].torn_tail);
}
