//! The journal's files cannot be turned on the operator: a symlinked journal is not resumed
//! (two paths, two locks, a forked journal), a torn line's copy never follows a planted link and
//! is owner-only, a journals folder others can write is refused, and only a crash's torn write
//! passes for one: an edited or appended last line is tampering.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{root, temp_dir};

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";

fn pilotlight(args: &[&str], dir: &Path, abort_after: Option<usize>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilotlight"));
    cmd.args(args)
        .current_dir(dir)
        .env("PILOTLIGHT_OPERATOR", "files-test")
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("data"));
    if let Some(n) = abort_after {
        cmd.env("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS", n.to_string());
    }
    cmd.output().unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A drill killed after 20 records, its journal at `dir/real.jsonl`.
fn crashed(dir: &Path) -> std::path::PathBuf {
    let runbook = root().join(RUNBOOK);
    let args = [
        "drill",
        runbook.to_str().unwrap(),
        "--unattended",
        "--speed",
        "max",
        "--journal",
        "real.jsonl",
    ];
    let out = pilotlight(&args, dir, Some(20));
    assert_ne!(out.status.code(), Some(0));
    dir.join("real.jsonl")
}

fn resume(dir: &Path, journal: &str) -> Output {
    let runbook = root().join(RUNBOOK);
    let args = [
        "drill",
        runbook.to_str().unwrap(),
        "--unattended",
        "--speed",
        "max",
        "--resume",
        journal,
    ];
    pilotlight(&args, dir, None)
}

#[test]
fn a_symlinked_journal_is_not_resumed() {
    let dir = temp_dir("symlinked");
    let real = crashed(&dir);
    symlink(&real, dir.join("alias.jsonl")).unwrap();
    let before = std::fs::read(&real).unwrap();
    let out = resume(&dir, "alias.jsonl");
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("is a symbolic link"), "{}", said(&out));
    assert!(
        said(&out).contains("real.jsonl"),
        "names the journal itself: {}",
        said(&out)
    );
    assert_eq!(
        std::fs::read(&real).unwrap(),
        before,
        "the journal is untouched"
    );
    // By its own path it resumes.
    let out = resume(&dir, "real.jsonl");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}

#[test]
fn a_torn_lines_copy_never_follows_a_planted_link_and_is_owner_only() {
    let dir = temp_dir("torn-link");
    let real = crashed(&dir);
    // Tear the last record as a crash would: its newline and a few bytes gone.
    let bytes = std::fs::read(&real).unwrap();
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    std::fs::write(&real, &bytes[..bytes.len() - 30]).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    symlink(&victim, dir.join(format!("real.torn-{lines}"))).unwrap();
    let out = resume(&dir, "real.jsonl");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    let aside = dir.join(format!("real.torn-{lines}.2"));
    let mode = std::fs::metadata(&aside).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", aside.display());
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        &bytes[bytes[..bytes.len() - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .unwrap()
            + 1..bytes.len() - 30]
    );
}

#[test]
fn a_journals_folder_others_can_write_is_refused() {
    let dir = temp_dir("open-folder");
    let journals = dir.join("data/pilotlight/journals");
    std::fs::create_dir_all(&journals).unwrap();
    std::fs::set_permissions(&journals, std::fs::Permissions::from_mode(0o777)).unwrap();
    let runbook = root().join(RUNBOOK);
    let args = [
        "drill",
        runbook.to_str().unwrap(),
        "--unattended",
        "--speed",
        "max",
    ];
    let out = pilotlight(&args, &dir, None);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        said(&out).contains("can be written by others (mode 777)"),
        "{}",
        said(&out)
    );
    assert!(said(&out).contains("chmod 700"), "{}", said(&out));
    assert_eq!(
        std::fs::read_dir(&journals).unwrap().count(),
        0,
        "nothing written"
    );
    std::fs::set_permissions(&journals, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = pilotlight(&args, &dir, None);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}

#[test]
fn an_edited_or_appended_last_line_is_tampering_not_a_crash() {
    let dir = temp_dir("tail-tamper");
    let real = crashed(&dir);
    let text = std::fs::read_to_string(&real).unwrap();
    let body = text.trim_end_matches('\n');
    let last = body.rfind('\n').unwrap() + 1;
    // The last record edited (its operator) and its newline removed.
    let edited = format!(
        "{}{}",
        &body[..last],
        body[last..].replace("files-test", "files-tesT")
    );
    // Garbage appended without a newline.
    let appended = format!("{text}garbage");
    for (what, bytes, words) in [
        ("edited", edited, "changed after it was written"),
        ("appended", appended, "added or edited after the fact"),
    ] {
        std::fs::write(&real, &bytes).unwrap();
        let out = pilotlight(&["audit", "verify", "real.jsonl"], &dir, None);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", said(&out));
        assert!(said(&out).contains(words), "{what}: {}", said(&out));
        assert!(!said(&out).contains("torn"), "{what}: {}", said(&out));
        // And resume refuses it, leaving it as evidence.
        let out = resume(&dir, "real.jsonl");
        assert_eq!(out.status.code(), Some(1), "{what}: {}", said(&out));
        assert_eq!(std::fs::read_to_string(&real).unwrap(), bytes, "{what}");
    }
}
