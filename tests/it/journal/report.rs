//! `pilotlight audit report` on journals written by real drills of the shipped runbooks: the
//! Markdown timeline and the JSON document agree with what the drill itself printed, failures
//! and aborts are shown, a tampered journal gets no report, a torn tail is said so.

use crate::common::temp_dir;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pilotlight::runbook::Duration;
use serde_json::Value;

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";

fn pilotlight(dir: &Path, operator: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilotlight"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PILOTLIGHT_OPERATOR", operator)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Runs an unattended drill into `dir/journal.jsonl`; returns the journal and the drill's stdout.
fn drill(dir: &Path, scenario: Option<&str>, code: i32) -> (PathBuf, String) {
    let journal = dir.join("journal.jsonl");
    let mut args = vec![
        "drill",
        RUNBOOK,
        "--unattended",
        "--speed",
        "max",
        "--journal",
        journal.to_str().unwrap(),
    ];
    let scenario_path = dir.join("scenario.yaml");
    if let Some(s) = scenario {
        std::fs::write(&scenario_path, s).unwrap();
        args.extend(["--scenario", scenario_path.to_str().unwrap()]);
    }
    let out = pilotlight(dir, "ana", &args, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}{}",
        text(&out.stderr)
    );
    (journal, stdout)
}

fn report(dir: &Path, journal: &Path, format: Option<&str>) -> Output {
    let mut args = vec!["audit", "report", journal.to_str().unwrap()];
    if let Some(f) = format {
        args.extend(["--format", f]);
    }
    pilotlight(dir, "someone-else", &args, &[])
}

fn markdown_of(dir: &Path, journal: &Path) -> String {
    let out = report(dir, journal, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert_eq!(md, text(&report(dir, journal, Some("markdown")).stdout));
    assert!(!md.chars().any(|c| c.is_control() && c != '\n'), "{md}");
    md
}

fn json_of(dir: &Path, journal: &Path) -> Value {
    let out = report(dir, journal, Some("json"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The journal's own figures: (step id, `duration_secs` of its success) per step, and the run's.
fn journal_durations(journal: &Path) -> (Vec<(String, String)>, String) {
    let human = |v: &Value| Duration::from_secs(v["duration_secs"].as_u64().unwrap()).to_string();
    let records: Vec<Value> = std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps = records
        .iter()
        .filter(|r| r["event"] == "step-succeeded")
        .map(|r| (r["step"].as_str().unwrap().to_string(), human(&r["detail"])))
        .collect();
    let last = records.last().unwrap();
    assert_eq!(last["event"], "run-finished");
    (steps, human(&last["detail"]))
}

fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {report:#}"))
}

#[test]
fn a_finished_drill_reads_as_a_timeline_against_the_rto_target() {
    let dir = temp_dir("finished");
    let (journal, _) = drill(&dir, None, 0);
    let (rows, total) = journal_durations(&journal);
    assert_eq!(rows.len(), 17);
    let md = markdown_of(&dir, &journal);

    assert!(
        md.starts_with("# Post-incident report: `pilot-light-failover`\n"),
        "{md}"
    );
    assert!(md.contains("All times are simulated"), "{md}");
    assert!(md.contains("- **Journal:** intact: "), "{md}");
    assert!(md.contains("- **Operators:** `ana`\n"), "{md}");
    assert!(md.contains("- **Outcome:** finished\n"), "{md}");
    // The default scenario's drill takes longer than the runbook's 1h target.
    let verdict =
        format!("- **Total:** {total} against the RTO target of 1h: **OVER the target by ");
    assert!(md.contains(&verdict), "{md}");
    // Every step's row shows the same duration as the drill's own summary.
    for (i, (id, took)) in rows.iter().enumerate() {
        let row = format!("| {} | `{id}` | done | ana | ", i + 1);
        let line = md
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("{row} in {md}"));
        assert!(line.contains(&format!(" | {took} | ")), "{line} vs {took}");
        assert!(
            md.contains(&format!("\n### {}. `{id}`: ", i + 1)),
            "{id} in {md}"
        );
    }
    assert!(
        md.contains("| 9 | `resize-db` | done | ana | ")
            && md.contains("| 30m | 30m | on time | 1 |"),
        "{md}"
    );
    for want in [
        "gate shown (confirm, type `shop-db-replica-usw2`, reason required); preview: `rds:PromoteReadReplica in us-west-2",
        "gate approved by `ana` **unattended** (by the drill, not a person), typed `shop-db-replica-usw2`, reason: “unattended drill”, waited 0s",
        "gate shown (confirm, type `shop.example.com`, reason required)",
        "requested `route53.set-weights` on `shop.example.com`",
        "- result: `shop-db is unavailable`",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }

    let r = json_of(&dir, &journal);
    // The fields documented in `pilotlight::audit::report`, no more, no fewer.
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(keys(&r), "duration_seconds ended_at expected_total_seconds failback_seconds failback_target_seconds gate_wait_seconds journal mode notes operators outcome resumptions rto run_id runbook service_restored_by service_restored_seconds simulated_time started_at steps steps_without_expectation title");
    assert_eq!(keys(&r["steps"][6]), "attempts data_lost duration_seconds duration_source ended_at errors expected_seconds failures gates id kind operators over_expected_seconds requests result retries skip_reason start_offset_seconds started_at status title");
    assert_eq!(keys(&r["steps"][6]["gates"][0]), "confirm decided_at decision operator preview reason reason_policy seen shown_at typed typed_phrase unattended waited_seconds");
    assert_eq!(keys(&r["steps"][6]["requests"][0]), "action adopted answered_at attempt command error exit_code ok operator outputs region requested_at resend target token");
    // A cutover's gate records what the (simulated) cloud said it would change.
    assert_eq!(r["steps"][13]["id"], "shift-dns");
    assert_eq!(
        r["steps"][6]["gates"][0]["seen"],
        Value::Null,
        "not a cutover"
    );
    let seen = r["steps"][13]["gates"][0]["seen"].as_str().unwrap();
    assert_eq!(
        seen,
        r#"weights: {"pilot-light-usw2":0,"primary-use1":100} -> {"pilot-light-usw2":100,"primary-use1":0}"#
    );
    assert!(
        md.contains("typed `shop.example.com`, reason: “unattended drill”, waited 0s; it would change `weights: {"),
        "{md}"
    );
    assert_eq!(r["runbook"], "pilot-light-failover");
    assert_eq!(
        (r["mode"].as_str(), r["simulated_time"].as_bool()),
        (Some("drill"), Some(true))
    );
    assert_eq!(r["outcome"]["status"], "finished");
    assert_eq!(r["journal"]["verified"], true);
    assert_eq!(r["journal"]["torn_tail"], Value::Null);
    assert_eq!(r["operators"], serde_json::json!(["ana"]));
    let (took, target) = (
        r["duration_seconds"].as_i64().unwrap(),
        r["rto"]["target_seconds"].as_i64().unwrap(),
    );
    assert_eq!(target, 3600);
    assert_eq!(r["rto"]["verdict"], "over");
    assert_eq!(r["rto"]["margin_seconds"].as_i64(), Some(target - took));
    assert!(r["started_at"].as_str().unwrap().ends_with('Z'));
    let steps = r["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 17);
    let sum: i64 = steps
        .iter()
        .map(|s| s["duration_seconds"].as_i64().unwrap())
        .sum();
    assert_eq!(
        sum, took,
        "steps follow one another without gaps in a drill"
    );
    for s in steps {
        assert_eq!(
            (s["status"].as_str(), s["attempts"].as_u64()),
            (Some("done"), Some(1)),
            "{s:#}"
        );
        assert_eq!(s["operators"], serde_json::json!(["ana"]));
    }
    let promote = step(&r, "promote-replica");
    assert_eq!(promote["expected_seconds"], 600);
    assert_eq!(
        promote["over_expected_seconds"].as_i64(),
        Some(promote["duration_seconds"].as_i64().unwrap() - 600)
    );
    let gate = &promote["gates"][0];
    assert_eq!(gate["decision"], "approved");
    assert_eq!(gate["typed_phrase"], "shop-db-replica-usw2");
    assert_eq!(gate["typed"], "shop-db-replica-usw2");
    assert_eq!(gate["reason_policy"], "required");
    assert_eq!(gate["reason"], "unattended drill");
    assert_eq!(gate["unattended"], true);
    let request = &promote["requests"][0];
    assert_eq!(request["action"], "rds.promote-replica");
    assert_eq!(
        (request["ok"].as_bool(), request["attempt"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(request["token"].as_str().unwrap().starts_with("pl-"));
    assert_eq!(step(&r, "ttl-drain")["gates"], serde_json::json!([]));
}

#[test]
fn a_failed_step_and_the_abort_are_shown_with_their_errors_cleaned() {
    let dir = temp_dir("failed");
    let scenario = r#"
scenario: restore-fails
regions: { us-east-1: unavailable }
faults:
  - { step: start-app-1, fail_times: 5, error: "InsufficientInstanceCapacity: no capacity\u001b[31m in us-west-2a\u009b2J" }
"#;
    let (journal, _) = drill(&dir, Some(scenario), 1);
    let md = markdown_of(&dir, &journal);
    // Shown as written, never obeyed: the escape and the C1 control appear as text.
    let error = "InsufficientInstanceCapacity: no capacity\\x1b[31m in us-west-2a\\x9b2J";
    for want in [
        "- **Outcome:** **ABORTED** at step `start-app-1`: unattended drill stopped: step `start-app-1` failed: InsufficientInstanceCapacity: no capacity\\\\x1b\\[31m in us-west-2a\\\\x9b2J\n",
        "until the run was aborted, against the RTO target of 1h: **not recovered** by this run",
        "| 6 | `start-app-1` | **FAILED** | ana | ",
        "| 7 | `start-app-2` | not reached |  | - | - | 3m | - | 0 |",
        "action · **FAILED** after 3 attempts · ",
        "(attempt 1) → **failed**: `InsufficientInstanceCapacity: no capacity\\x1b[31m in us-west-2a\\x9b2J`",
        "automatic retry after 1m (attempt 2)",
        "automatic retry after 1m (attempt 3)",
        "**step failed** on attempt 3, no automatic retry left",
        "**run aborted** here: “unattended drill stopped:",
        "Not reached: `start-app-2`, `promote-replica`,",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    assert!(!md.contains("### 7."), "{md}");

    let r = json_of(&dir, &journal);
    assert_eq!(r["outcome"]["status"], "aborted");
    assert_eq!(r["outcome"]["step"], "start-app-1");
    assert!(r["outcome"]["reason"].as_str().unwrap().ends_with(error));
    assert_eq!(r["rto"]["verdict"], "not-recovered");
    assert_eq!(r["rto"]["margin_seconds"], Value::Null);
    let failed = step(&r, "start-app-1");
    assert_eq!(
        (failed["status"].as_str(), failed["attempts"].as_u64()),
        (Some("failed"), Some(3))
    );
    let failures = failed["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 3);
    assert!(failures.iter().all(|f| f["error"] == error));
    assert_eq!(failures[2]["last"], true);
    let retries = failed["retries"].as_array().unwrap();
    assert_eq!(retries.len(), 2);
    assert_eq!(
        (retries[0]["auto"].as_bool(), retries[0]["attempt"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(retries[0]["backoff_seconds"], 60);
    assert_eq!(failed["requests"].as_array().unwrap().len(), 3);
    assert_eq!(step(&r, "start-app-2")["status"], "not-started");
    assert_eq!(step(&r, "decide")["status"], "done");
}

#[test]
fn a_tampered_journal_gets_no_report() {
    let dir = temp_dir("tampered");
    let (journal, _) = drill(&dir, None, 0);
    let original = std::fs::read_to_string(&journal).unwrap();
    let edited = original.replacen(
        "\"reason\":\"unattended drill\"",
        "\"reason\":\"IC approved\"",
        1,
    );
    assert_ne!(original, edited);
    std::fs::write(&journal, edited).unwrap();
    let line = original
        .lines()
        .position(|l| l.contains("\"reason\":\"unattended drill\""))
        .unwrap()
        + 1;
    for format in [None, Some("json")] {
        let out = report(&dir, &journal, format);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("NOT INTACT: line {line}: the record was changed")),
            "{err}"
        );
    }
}

#[test]
fn a_torn_tail_is_left_out_and_said_so_and_a_resume_by_someone_else_shows() {
    let dir = temp_dir("torn");
    // Crash right after the intent of the first action, so a step is in progress.
    let (reference, _) = drill(&temp_dir("torn-ref"), None, 0);
    let k = std::fs::read_to_string(&reference)
        .unwrap()
        .lines()
        .position(|l| l.contains("\"event\":\"intent\"") && l.contains("\"plan\""))
        .unwrap()
        + 1;
    let journal = dir.join("journal.jsonl");
    let args = [
        "drill",
        RUNBOOK,
        "--unattended",
        "--speed",
        "max",
        "--journal",
        journal.to_str().unwrap(),
    ];
    let k_text = k.to_string();
    let crashed = pilotlight(
        &dir,
        "ana",
        &args,
        &[("PILOTLIGHT_FAULT_ABORT_AFTER_RECORDS", k_text.as_str())],
    );
    assert_ne!(crashed.status.code(), Some(0));
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(format!("{{\"seq\":{k},\"at\":\"2026-11-").as_bytes());
    std::fs::write(&journal, &bytes).unwrap();
    let torn_len = format!("{{\"seq\":{k},\"at\":\"2026-11-").len();

    let out = report(&dir, &journal, None);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains(&format!("line {} is torn ({torn_len} bytes", k + 1)),
        "{}",
        text(&out.stderr)
    );
    let md = text(&out.stdout);
    assert!(
        md.contains(&format!(
            "intact: {k} records, hash chain verified; **the last line ({}, {torn_len} bytes) is torn**",
            k + 1
        )),
        "{md}"
    );
    assert!(md.contains("- **Outcome:** **UNFINISHED**"), "{md}");
    assert!(
        md.contains("so far against the RTO target of 1h: unknown, the run has not ended"),
        "{md}"
    );
    let r = json_of(&dir, &journal);
    assert_eq!(
        r["journal"]["torn_tail"],
        serde_json::json!({"line": k + 1, "bytes": torn_len})
    );
    assert_eq!(r["outcome"]["status"], "unfinished");
    assert!(
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["status"] == "in-progress"),
        "{r:#}"
    );

    let resume = [
        "drill",
        RUNBOOK,
        "--unattended",
        "--speed",
        "max",
        "--resume",
        journal.to_str().unwrap(),
    ];
    let resumed = pilotlight(&dir, "bob", &resume, &[]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stdout));
    let md = markdown_of(&dir, &journal);
    assert!(md.contains("- **Operators:** `ana`, `bob`\n"), "{md}");
    assert!(
        md.contains(&format!(
            "a torn line (line {}) was set aside when the run resumed",
            k + 1
        )),
        "{md}"
    );
    assert!(
        md.contains("- **Resumed:** ") && md.contains(" by `bob` at step `"),
        "{md}"
    );
    assert!(md.contains("- **Outcome:** finished\n"), "{md}");
    let r = json_of(&dir, &journal);
    assert_eq!(r["operators"], serde_json::json!(["ana", "bob"]));
    assert_eq!(r["resumptions"][0]["operator"], "bob");
    assert_eq!(r["journal"]["set_aside"][0]["line"], k + 1);
    assert_eq!(r["journal"]["torn_tail"], Value::Null);
    let last = r["steps"].as_array().unwrap().last().unwrap();
    assert_eq!(last["operators"], serde_json::json!(["bob"]));
}

#[test]
fn an_unknown_format_is_refused() {
    let dir = temp_dir("format");
    let out = pilotlight(
        &dir,
        "ana",
        &["audit", "report", "x.jsonl", "--format", "pdf"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("markdown"),
        "{}",
        text(&out.stderr)
    );
}

/// Checks that `html` is well formed: every element opened is closed, in order (void elements
/// self-closed); returns the elements seen, in order.
fn elements(html: &str) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let body = html.trim_start_matches("<!DOCTYPE html>");
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        let close = rest[i..].find('>').expect("an unclosed tag") + i;
        let tag = &rest[i + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name),
                "</{name}> closes nothing open"
            );
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        seen.push(name.clone());
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "left open: {open:?}");
    seen
}

#[test]
fn the_html_report_is_one_self_contained_page_with_an_svg_timeline_of_every_step() {
    let dir = temp_dir("html");
    let scenario = "scenario: hostile\nregions: { us-east-1: unavailable }\nfaults:\n  - { step: start-app-1, fail_times: 1, error: \"InsufficientInstanceCapacity: <script>alert(1)</script> & 'x'\" }\n";
    let (journal, _) = drill(&dir, Some(scenario), 0);
    let out = report(&dir, &journal, Some("html"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = text(&out.stdout);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    let seen = elements(&html);
    for forbidden in ["script", "link", "img", "iframe", "object"] {
        assert!(
            !seen.iter().any(|e| e == forbidden),
            "<{forbidden}> in\n{html}"
        );
    }
    // No network: nothing is loaded from anywhere (URLs in the runbook's text stay text).
    for fetch in ["src=", "href=", "url(", "@import"] {
        assert!(!html.contains(fetch), "{fetch} in\n{html}");
    }
    assert_eq!(
        html.matches("=\"http").count(),
        1,
        "only the SVG namespace: {html}"
    );
    // Every journal string escaped: the fault's markup is text.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;x&#39;"),
        "{html}"
    );
    // The timeline names every step of the runbook.
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()];
    let r = json_of(&dir, &journal);
    for s in r["steps"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        assert!(
            svg.contains(&format!(">{id}</text>")),
            "{id} not in the timeline"
        );
    }
    assert!(svg.contains("RTO target 1h"), "{svg}");
}
