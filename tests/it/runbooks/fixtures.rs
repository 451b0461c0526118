//! Every invalid fixture fails with exactly its expected located message and hint; every valid
//! fixture and every shipped runbook loads.

use crate::common::root;

use std::fs;
use std::path::{Path, PathBuf};

use pilotlight::runbook;

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| !p.to_string_lossy().ends_with(".scenario.yaml"))
        .collect();
    files.sort();
    files
}

/// `# expect: LINE:COL: MESSAGE | HINT` on the fixture's first line.
fn expectation(text: &str, file: &Path) -> (String, String, String) {
    let first = text.lines().next().unwrap_or_default();
    let spec = first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: ...`", file.display()));
    let (pos_msg, hint) = spec.split_once(" | ").expect("expect line has ` | HINT`");
    let mut parts = pos_msg.splitn(3, ':');
    let line = parts.next().unwrap().to_string();
    let col = parts.next().unwrap().to_string();
    let msg = parts.next().unwrap().trim().to_string();
    (format!("{line}:{col}"), msg, hint.to_string())
}

#[test]
fn every_invalid_fixture_fails_with_its_located_message() {
    let files = yaml_files(&root().join("tests/fixtures/invalid"));
    assert!(
        files.len() >= 30,
        "expected a fixture per rule, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let (pos, msg, hint) = expectation(&text, file);
        let diags = match runbook::parse(text.as_bytes()) {
            Ok(_) => {
                failures.push(format!("{}: loaded, but should fail", file.display()));
                continue;
            }
            Err(e) => e.0,
        };
        let got: Vec<String> = diags.iter().map(|d| d.render("F")).collect();
        let d = &diags[0];
        let ok = diags.len() == 1
            && d.pos.to_string() == pos
            && d.message.contains(&msg)
            && d.hint.as_deref().unwrap_or_default().contains(&hint);
        if !ok {
            failures.push(format!(
                "{}: expected {pos}: {msg} | {hint}\n  got: {got:#?}",
                file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_valid_fixture_and_shipped_runbook_loads() {
    let mut files = yaml_files(&root().join("tests/fixtures/valid"));
    files.extend(yaml_files(&root().join("tests/fixtures/warn")));
    files.extend(yaml_files(&root().join("runbooks")));
    for file in &files {
        let bytes = fs::read(file).unwrap();
        if let Err(e) = runbook::parse(&bytes) {
            let shown: Vec<String> =
                e.0.iter()
                    .map(|d| d.render(&file.display().to_string()))
                    .collect();
            panic!("{}", shown.join("\n"));
        }
    }
}

#[test]
fn ships_a_runbook_per_seed_scenario_each_pointing_at_the_schema() {
    let files = yaml_files(&root().join("runbooks"));
    assert!(files.len() >= 7, "found {} shipped runbooks", files.len());
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("# yaml-language-server: $schema=../assets/runbook.schema.json"),
            "{}",
            file.display()
        );
    }
}

#[test]
fn refuses_files_over_one_mebibyte() {
    let mut text = String::from("runbook: big\ntitle: x\n");
    while text.len() <= 1024 * 1024 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let err = runbook::parse(text.as_bytes()).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(
        err.0[0].message.contains("limited to 1048576 bytes"),
        "{:?}",
        err.0
    );
}

#[test]
fn refuses_non_utf8_bytes_where_they_are() {
    let err = runbook::parse(b"runbook: x\ntitle: caf\xe9\n").unwrap_err();
    assert_eq!(err.0[0].pos.to_string(), "2:11");
    assert!(err.0[0].message.contains("not valid UTF-8"));
}

#[test]
fn refuses_nesting_thousands_deep_without_overflowing_the_stack() {
    let block: String = (0..100)
        .map(|i| format!("{}- \n", "  ".repeat(i)))
        .collect();
    for text in [
        format!("vars: {}x\n", "[".repeat(5000)),
        format!("vars: {}x\n", "{a: ".repeat(5000)),
        format!("vars:\n{block}"),
    ] {
        let open = &text[..12];
        let err = runbook::parse(text.as_bytes()).unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|d| d.message.contains("nesting is deeper than 64 levels")),
            "{open}: {:?}",
            err.0
        );
    }
}

#[test]
fn reports_several_problems_at_once_in_source_order() {
    let text = "runbook: x\ntitle: t\ntargets: { rto: 1 hour }\nsteps:\n  - { id: a, kind: manual }\n  - { id: a, kind: manual }\n";
    let err = runbook::parse(text.as_bytes()).unwrap_err();
    let positions: Vec<String> = err.0.iter().map(|d| d.pos.to_string()).collect();
    assert_eq!(positions, vec!["3:17", "6:11"], "{:?}", err.0);
}

#[test]
fn reports_every_independent_problem_in_one_pass() {
    // An unknown key and a step of an unknown kind stop serde; the rest is still read.
    let text = "runbook: X Y\ntitle: \"\"\ntargets: { rto: 1x }\nbogus: 1\nsteps:\n  - { id: \"A B\", kind: manual }\n  - { id: c, kind: nonsense }\n  - { id: d, kind: manual, expect_duraton: 5m }\n";
    let err = runbook::parse(text.as_bytes()).unwrap_err();
    let got: Vec<String> = err.0.iter().map(|d| d.render("F")).collect();
    let positions: Vec<String> = err.0.iter().map(|d| d.pos.to_string()).collect();
    assert_eq!(
        positions,
        ["1:10", "2:8", "3:17", "4:1", "6:11", "7:20", "8:28"],
        "{got:#?}"
    );
    assert!(
        got[6].contains("did you mean `expect_duration`"),
        "{got:#?}"
    );
}

#[test]
fn utf16_and_unknown_regions_are_named_for_what_they_are() {
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("runbook: x\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    let err = runbook::parse(&utf16).unwrap_err();
    assert!(err.0[0].message.contains("UTF-16"), "{:?}", err.0);
    let text = "runbook: x\ntitle: t\ntargets: { rto: 1h }\nresources:\n  db: { kind: rds-instance, region: us-east-99, id: orders }\nsteps:\n  - { id: a, kind: manual }\n";
    let book = runbook::parse(text.as_bytes()).expect("a well-shaped region loads");
    let w: Vec<String> = book.warnings.iter().map(|d| d.render("F")).collect();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].starts_with("F:5:37: warning: `us-east-99`"), "{w:#?}");
}

#[test]
fn a_broken_link_in_a_folder_is_that_entrys_problem_not_the_folders() {
    let dir = crate::common::temp_dir("dangling");
    std::os::unix::fs::symlink(dir.join("nowhere.yaml"), dir.join("broken.yaml")).unwrap();
    fs::copy(
        root().join("runbooks/pilot-light-failover.yaml"),
        dir.join("good.yaml"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["validate", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("broken.yaml: error: cannot read"), "{err}");
    assert!(err.contains("a symbolic link to nothing"), "{err}");
    // The rest of the folder is still checked.
    assert!(err.contains("checked 1 runbook(s): 1 valid"), "{err}");
}

#[test]
fn no_value_can_forge_a_line_of_validate_output() {
    let dir = crate::common::temp_dir("forge");
    let file = dir.join("forge.yaml");
    fs::write(
        &file,
        "runbook: fixture\ntitle: Fixture\ntargets: { rto: 1h }\nresources:\n  db: { kind: rds-instance, region: \"us-east-1\\nother.yaml:1:1: error: forged\\n  hint: \\u2028x\\ufeffy\", id: orders-prod }\nsteps:\n  - { id: a, kind: manual }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["validate", file.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 2, "one problem, one hint: {said}");
    assert!(
        lines[0].contains("forge.yaml:5:") && lines[0].contains("\\nother.yaml"),
        "{said}"
    );
    assert!(lines[0].contains("\\u{2028}x\\u{feff}y"), "{said}");
    assert!(lines[1].starts_with("  hint: "), "{said}");
}
