//! The `pilotlight` binary's command-line contract for `validate`, `schema`, and the errors of
//! a drill's and a status look's scenario file.

use std::path::PathBuf;
use std::process::{Command, Output};

fn pilotlight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn validate_accepts_the_shipped_runbooks() {
    let out = pilotlight(&["validate", "runbooks/"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    // Two runbooks shift Route 53 weights away from us-east-1, where Route 53's control plane
    // lives, and two restore DynamoDB tables across regions from backups in the region that
    // fails: they load, and `validate` says so without failing.
    let text = stdout(&out);
    let warned: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with("  hint: "))
        .map(|l| {
            let (file, rest) = l.split_once(':').unwrap();
            let what = rest.split_once(": warning: ").unwrap().1;
            (file, &what[..what.find(' ').unwrap()])
        })
        .collect();
    assert_eq!(
        warned,
        [
            ("runbooks/analytics-global-accelerator-failover.yaml", "a"),
            ("runbooks/analytics-global-accelerator-failover.yaml", "a"),
            (
                "runbooks/aws-backup-cross-region-restore.yaml",
                "`route53.set-weights`"
            ),
            ("runbooks/dynamodb-pitr-recovery-region.yaml", "a"),
            (
                "runbooks/pilot-light-failover.yaml",
                "`route53.set-weights`"
            ),
        ],
        "{text}"
    );
    assert_eq!(
        text.matches("a point-in-time restore into").count(),
        3,
        "{text}"
    );
}

#[test]
fn validate_warns_with_file_line_col_and_exits_zero() {
    let out = pilotlight(&[
        "validate",
        "tests/fixtures/warn/control-plane-and-default-vpc.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let file = "tests/fixtures/warn/control-plane-and-default-vpc.yaml";
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with(&format!("{file}:14:11: warning: without `subnet_group`")),
        "{text}"
    );
    assert!(
        lines[1].starts_with("  hint: name the DB subnet group"),
        "{text}"
    );
    // Route 53's control plane is in the primary region; Global Accelerator's (us-west-2) is not.
    assert!(
        lines[2].starts_with(&format!(
            "{file}:18:13: warning: `route53.set-weights` goes through Route 53's control plane in us-east-1"
        )),
        "{text}"
    );
    assert!(lines[3].contains("ARC routing controls"), "{text}");
}

#[test]
fn validate_reports_every_invalid_fixture_as_file_line_col_error_with_a_hint() {
    let out = pilotlight(&["validate", "tests/fixtures/invalid"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("  hint: "))
        .collect();
    let hints = text.lines().filter(|l| l.starts_with("  hint: ")).count();
    let fixtures =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid"))
            .unwrap()
            .count();
    assert_eq!(errors.len(), fixtures, "{text}");
    assert_eq!(hints, fixtures, "{text}");
    for line in errors {
        let mut parts = line.splitn(4, ':');
        let file = parts.next().unwrap_or_default();
        let l: Option<u32> = parts.next().and_then(|p| p.parse().ok());
        let c: Option<u32> = parts.next().and_then(|p| p.parse().ok());
        let rest = parts.next().unwrap_or_default();
        assert!(
            file.ends_with(".yaml") && l.is_some() && c.is_some(),
            "{line}"
        );
        assert!(rest.starts_with(" error: "), "{line}");
    }
}

#[test]
fn validate_mixes_files_and_folders_and_fails_on_a_missing_path() {
    let out = pilotlight(&[
        "validate",
        "tests/fixtures/valid/design-sketch.yaml",
        "runbooks",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = pilotlight(&["validate", "no/such/runbook.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no/such/runbook.yaml: error: cannot read")
    );
}

#[test]
fn validate_refuses_a_huge_file_without_reading_it_all() {
    let dir = std::env::temp_dir().join(format!("pilotlight-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.yaml");
    std::fs::write(&big, vec![b'#'; 8 * 1024 * 1024]).unwrap();
    let out = pilotlight(&["validate", big.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(":1:1: error: file is 1048577 bytes"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_scenario_file_is_named_as_an_error_by_drill_and_status() {
    let dir = std::env::temp_dir().join(format!("pilotlight-scn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.scenario.yaml");
    std::fs::write(&bad, "faults: [ {bogus: 1} ]\n").unwrap();
    let bad = bad.to_str().unwrap();
    let runbook = "runbooks/data-integration-server.yaml";
    let drill = pilotlight(&["drill", runbook, "--scenario", bad, "--unattended"]);
    let status = pilotlight(&["status", runbook, "--scenario", bad]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(drill.status.code(), Some(1));
    let said = String::from_utf8_lossy(&drill.stderr);
    assert!(
        said.starts_with(&format!("{bad}: error: faults[0]: unknown field `bogus`")),
        "{said}"
    );
    assert_eq!(status.status.code(), Some(3));
    let said = String::from_utf8_lossy(&status.stderr);
    assert!(
        said.starts_with(&format!("UNKNOWN: {bad}: faults[0]: unknown field `bogus`")),
        "{said}"
    );
}

#[test]
fn schema_prints_the_asset() {
    let out = pilotlight(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let asset = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/runbook.schema.json"),
    )
    .unwrap();
    assert_eq!(stdout(&out), asset);
}

#[test]
fn operator_names_who_is_at_the_keyboard_in_every_record() {
    let dir = crate::common::temp_dir("operator");
    let journal = dir.join("j.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args([
            "drill",
            "runbooks/multi-site-dns-shift.yaml",
            "--unattended",
            "--speed",
            "max",
            "--operator",
            "Ana Lima",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .current_dir(crate::common::root())
        .env("PILOTLIGHT_OPERATOR", "someone-else")
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_STATE_HOME", &dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        text.lines()
            .all(|l| l.contains("\"operator\":\"Ana Lima\"")),
        "{text}"
    );
}

#[test]
fn a_deploy_whose_template_cannot_be_read_is_an_error_where_the_runbook_names_it() {
    let dir = crate::common::temp_dir("template-missing");
    let runbook = dir.join("deploy.yaml");
    let text = std::fs::read_to_string("tests/fixtures/valid/platform-actions.yaml").unwrap();
    std::fs::write(
        &runbook,
        text.replace("app.template", "missing/app.template"),
    )
    .unwrap();
    let out = pilotlight(&["validate", runbook.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(":20:23: error: cannot read template `missing/app.template`"),
        "{}",
        stdout(&out)
    );
    // Beside the runbook, as the step names it, it is read and the runbook is valid.
    std::fs::create_dir_all(dir.join("missing")).unwrap();
    std::fs::copy(
        "tests/fixtures/valid/app.template",
        dir.join("missing/app.template"),
    )
    .unwrap();
    let out = pilotlight(&["validate", runbook.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
