//! Journals written by pilotlight 0.1.0 (before the journal was typed) still verify, report and
//! resume exactly as they did then: `tests/fixtures/journals/v0.1/` holds the journals as that
//! version wrote them, and `expected/` what that version printed for `audit verify`, `audit
//! report` (JSON and Markdown), and the journal a `drill --unattended --resume` of each
//! unfinished one left behind (see the folder's README).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{root, temp_dir};

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/journals/v0.1")
}

fn expected(name: &str) -> String {
    let path = fixtures().join("expected").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn journals() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".jsonl").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    names
}

fn pilotlight(dir: &Path, data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(dir)
        .env("PILOTLIGHT_OPERATOR", "fixture")
        .env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data)
        .output()
        .unwrap()
}

/// What a run printed, as the expected files hold it: the output, then `exit N`.
/// Where `got` first differs from `want`, for a readable failure.
fn same(what: &str, got: &str, want: &str) {
    if got == want {
        return;
    }
    let line = got
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
    panic!(
        "{what}: differs from what 0.1.0 printed at line {}\n  now: {:?}\n  was: {:?}",
        line + 1,
        got.lines().nth(line),
        want.lines().nth(line)
    );
}

fn printed(out: &Output, with_stderr: bool) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if with_stderr {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    format!("{text}exit {}\n", out.status.code().unwrap_or(-1))
}

#[test]
fn old_journals_verify_as_they_did() {
    let data = temp_dir("old-verify");
    for name in journals() {
        let out = pilotlight(
            &fixtures(),
            &data,
            &["audit", "verify", &format!("{name}.jsonl")],
        );
        same(
            &name,
            &printed(&out, true),
            &expected(&format!("{name}.verify.txt")),
        );
    }
}

#[test]
fn old_journals_report_as_they_did() {
    let data = temp_dir("old-report");
    for name in journals() {
        let file = format!("{name}.jsonl");
        let json = pilotlight(
            &fixtures(),
            &data,
            &["audit", "report", &file, "--format", "json"],
        );
        same(
            &format!("{name} (json)"),
            &String::from_utf8_lossy(&json.stdout),
            &expected(&format!("{name}.report.json")),
        );
        let md = pilotlight(&fixtures(), &data, &["audit", "report", &file]);
        same(
            &format!("{name} (markdown)"),
            &String::from_utf8_lossy(&md.stdout),
            &expected(&format!("{name}.report.md")),
        );
    }
}

#[test]
fn old_unfinished_journals_resume_as_they_did() {
    let mut resumed = 0;
    for name in journals() {
        let Ok(want) = std::fs::read(
            fixtures()
                .join("expected")
                .join(format!("{name}.resumed.jsonl")),
        ) else {
            continue;
        };
        let dir = temp_dir("old-resume");
        std::fs::copy(
            fixtures().join(format!("{name}.jsonl")),
            dir.join("j.jsonl"),
        )
        .unwrap();
        // The runbook exactly as the run began with it: a resume checks its digest.
        std::fs::copy(
            fixtures().join("pilot-light-failover.yaml"),
            dir.join("pilot-light-failover.yaml"),
        )
        .unwrap();
        let out = pilotlight(
            &dir,
            &dir.join("data"),
            &[
                "drill",
                "pilot-light-failover.yaml",
                "--unattended",
                "--speed",
                "max",
                "--resume",
                "j.jsonl",
            ],
        );
        same(
            &format!("{name} (resumed, output)"),
            &printed(&out, false),
            &expected(&format!("{name}.resumed.out")),
        );
        let got = std::fs::read(dir.join("j.jsonl")).unwrap();
        same(
            &format!("{name} (resumed, journal)"),
            &String::from_utf8_lossy(&got),
            &String::from_utf8_lossy(&want),
        );
        resumed += 1;
    }
    assert!(resumed >= 6, "{resumed}");
}
