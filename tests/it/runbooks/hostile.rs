//! Hostile text never reaches a terminal or a monitor raw: every human-facing output of
//! `validate`, `status` (table and JSON), `drill --unattended`, `audit verify` and `audit report`
//! (Markdown and JSON) is driven with control sequences, C1 controls and bidi overrides in file
//! names, scenario names, fault errors, command answers and the operator's name, and no such byte
//! comes out (newline and tab aside).

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{root, temp_dir};

/// Every hostile code point the outputs could carry: ESC sequences (CSI, OSC 8 links, a cursor
/// report request), a bare C1 CSI, a bell, DEL, and a right-to-left override.
const HOSTILE: &str =
    "\u{1b}[6n\u{1b}]8;;http://evil.example\u{7}link\u{1b}]8;;\u{7}\u{9b}2J\u{7f}\u{202e}gnp.exe";

/// The raw control bytes in `bytes`, as (offset, what).
fn raw_controls(bytes: &[u8]) -> Vec<(usize, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut found = Vec::new();
    for (i, c) in text.char_indices() {
        if c == '\n' || c == '\t' {
            continue;
        }
        if pilotlight::safe::is_hidden(c) {
            found.push((i, format!("U+{:04X}", c as u32)));
        }
    }
    found
}

fn assert_clean(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let raw = raw_controls(bytes);
        assert!(
            raw.is_empty(),
            "{what} {stream} emits raw controls {raw:?}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn run(args: &[&str], dir: &Path) -> Output {
    run_as("mallory", args, dir)
}

fn run_as(operator: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(dir)
        .env("PILOTLIGHT_OPERATOR", operator)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("data"))
        .output()
        .unwrap()
}

#[test]
fn hostile_text_is_shown_never_obeyed_in_every_output() {
    let dir = temp_dir("hostile");
    // A runbook under a hostile file name, with a hostile key `validate` rejects.
    let runbook =
        std::fs::read_to_string(root().join("runbooks/pilot-light-failover.yaml")).unwrap();
    let in_name = HOSTILE.replace('/', "_");
    let name = format!("evil{in_name}.yaml");
    std::fs::write(dir.join(&name), &runbook).unwrap();
    let bad = format!(
        "{runbook}\nnote{}: here\n",
        HOSTILE.replace('\u{1b}', "\\e")
    );
    let bad = bad.replace("note", "\"note").replace(": here", "\": here");
    std::fs::write(dir.join(format!("bad{in_name}.yaml")), bad).unwrap();
    let out = run(&["validate", "."], &dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean("validate", &out);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("\\x1b[6n"), "shown as written: {said}");

    // A scenario whose every text is hostile.
    let yaml_hostile = HOSTILE
        .replace('\u{1b}', "\\e")
        .replace('\u{7}', "\\a")
        .replace('\u{9b}', "\\x9b")
        .replace('\u{7f}', "\\x7f")
        .replace('\u{202e}', "\\u202e");
    let scenario = format!(
        "scenario: \"storm{yaml_hostile}\"\n\
         regions: {{ us-east-1: unavailable }}\n\
         faults:\n  - {{ step: start-app-1, fail_times: 1, error: \"Throttling{yaml_hostile}\" }}\n\
         commands:\n  replica-lag: {{ stdout: \"lag{yaml_hostile}\", exit_code: 0 }}\n"
    );
    std::fs::write(dir.join("s.scenario.yaml"), scenario).unwrap();
    for format in ["table", "json"] {
        let out = run(
            &[
                "status",
                &name,
                "--scenario",
                "s.scenario.yaml",
                "--format",
                format,
            ],
            &dir,
        );
        assert_clean(&format!("status --format {format}"), &out);
    }
    let out = run(
        &[
            "drill",
            &name,
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            "s.scenario.yaml",
            "--journal",
            "j.jsonl",
        ],
        &dir,
    );
    assert_clean("drill --unattended", &out);
    assert!(
        dir.join("j.jsonl").exists(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [
        vec!["audit", "verify", "j.jsonl"],
        vec!["audit", "report", "j.jsonl"],
        vec!["audit", "report", "j.jsonl", "--format", "json"],
    ] {
        let out = run(&args, &dir);
        assert_clean(&args.join(" "), &out);
    }
    // A lock held by an operator with a hostile name: the refusal names them, shown as written.
    let holder = pilotlight::runtime::lock::Holder::current(format!("eve{HOSTILE}"));
    std::fs::write(
        dir.join("j.jsonl.lock"),
        serde_json::to_vec(&holder).unwrap(),
    )
    .unwrap();
    let out = run(
        &[
            "drill",
            &name,
            "--unattended",
            "--speed",
            "max",
            "--resume",
            "j.jsonl",
        ],
        &dir,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("eve\\x1b"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean("the lock refusal", &out);
    std::fs::remove_file(dir.join("j.jsonl.lock")).unwrap();
    // An operator name the journal could not show as written is refused, shown as written.
    let out = run_as(
        &format!("mallory{HOSTILE}"),
        &[
            "drill",
            &name,
            "--unattended",
            "--speed",
            "max",
            "--journal",
            "k.jsonl",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_clean("a hostile operator name", &out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("mallory\\x1b[6n"));
    assert!(!dir.join("k.jsonl").exists());
    // The JSON still says exactly what was there.
    let out = run(&["audit", "report", "j.jsonl", "--format", "json"], &dir);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["operators"][0]
        .as_str()
        .unwrap()
        .starts_with("mallory"));
}
