//! The service-restored milestone: the RTO clock, verdict and estimate stop at the step marked
//! `restores_service`; the failback after it is timed apart.

use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{root, temp_dir};

const ANALYTICS: &str = "runbooks/analytics-global-accelerator-failover.yaml";

fn pilotlight(args: &[&str], data: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(root())
        .env("PILOTLIGHT_OPERATOR", "milestone-test")
        .env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data)
        .output()
        .unwrap()
}

/// `1h8m` -> seconds.
fn seconds(text: &str) -> u64 {
    let mut total = 0;
    let mut n = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => n = n * 10 + u64::from(c as u8 - b'0'),
            'd' => (total, n) = (total + n * 86_400, 0),
            'h' => (total, n) = (total + n * 3600, 0),
            'm' => (total, n) = (total + n * 60, 0),
            's' => (total, n) = (total + n, 0),
            _ => break,
        }
    }
    total
}

#[test]
fn a_drill_with_failback_is_judged_at_the_service_restored_step() {
    let dir = temp_dir("milestone");
    let journal = dir.join("analytics.jsonl");
    let out = pilotlight(
        &[
            "drill",
            ANALYTICS,
            "--unattended",
            "--speed",
            "max",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let total = lines
        .iter()
        .position(|l| l.starts_with("finished in "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let restored = lines
        .iter()
        .position(|l| l.starts_with("service restored at T+"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(restored > total, "below the total:\n{stdout}");
    assert!(
        lines[restored].contains("step `verify-failover`"),
        "{stdout}"
    );
    assert!(
        lines[restored + 1].starts_with("failback took "),
        "{stdout}"
    );
    let at = seconds(&lines[restored]["service restored at T+".len()..]);

    let report = pilotlight(
        &[
            "audit",
            "report",
            journal.to_str().unwrap(),
            "--format",
            "json",
        ],
        &dir,
    );
    let r: Value = serde_json::from_slice(&report.stdout).unwrap();
    let restored_s = r["service_restored_seconds"].as_u64().unwrap();
    let total_s = r["duration_seconds"].as_u64().unwrap();
    assert_eq!(restored_s, at);
    assert!(restored_s <= total_s, "{r}");
    assert_eq!(r["failback_seconds"].as_u64(), Some(total_s - restored_s));
    assert_eq!(r["service_restored_by"], "verify-failover");
    // The verdict is about the service restored, not the failback after it.
    let target = r["rto"]["target_seconds"].as_i64().unwrap();
    assert_eq!(
        r["rto"]["margin_seconds"].as_i64(),
        Some(target - restored_s as i64)
    );
    let md = pilotlight(&["audit", "report", journal.to_str().unwrap()], &dir);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("- **Recovery:** service restored at T+"),
        "{md}"
    );
    assert!(md.contains("- **Failback:** "), "{md}");
}

#[test]
fn the_rto_estimate_stops_at_the_service_restored_step() {
    let dir = temp_dir("milestone-status");
    let out = pilotlight(&["status", ANALYTICS, "--sim", "--format", "json"], &dir);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = r["rto_sources"].as_array().unwrap();
    let upto = steps
        .iter()
        .position(|s| s["step"] == "verify-failover")
        .unwrap();
    let sum = |it: &[Value]| -> u64 { it.iter().filter_map(|s| s["seconds"].as_u64()).sum() };
    assert_eq!(
        r["rto_estimate_seconds"].as_u64(),
        Some(sum(&steps[..=upto])),
        "{r}"
    );
    assert!(
        sum(&steps[upto + 1..]) > 0,
        "failback steps exist and are left out"
    );
}

#[test]
fn a_drills_cutover_gates_preview_the_real_before_state() {
    // Each dial's `inverse` says where it stood before: the drill starts there.
    let dir = temp_dir("before-states");
    let journal = dir.join("analytics.jsonl");
    let out = pilotlight(
        &[
            "drill",
            ANALYTICS,
            "--unattended",
            "--speed",
            "max",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0));
    let seen: Vec<String> = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records
        .iter()
        .filter_map(|r| match &r.event {
            pilotlight::audit::Event::GateApproved(g) => g.seen.clone(),
            _ => None,
        })
        .collect();
    // The stack's deployment first: a change set made up from its template.
    let change_set = &seen[0];
    assert!(
        change_set.starts_with("change set pl-")
            && change_set.contains("for stack analytics-processing-dr")
            && change_set.contains("~ Modify  PartitionLoader (AWS::Lambda::Function)"),
        "{change_set}"
    );
    assert_eq!(
        seen[1..],
        [
            "traffic dial of us-west-2: 0% -> 100%",
            "traffic dial of us-east-1: 100% -> 0%",
            "traffic dial of us-east-1: 0% -> 100%",
            "traffic dial of us-west-2: 100% -> 0%",
        ]
    );
}

#[test]
fn a_drills_command_steps_answer_what_the_scenario_says() {
    let dir = temp_dir("command-answers");
    let scenario = dir.join("lagging.scenario.yaml");
    std::fs::write(
        &scenario,
        "scenario: lagging\nregions: { us-east-1: unavailable }\ncommands:\n  replica-lag: { stdout: \"latest ReplicaLag: 912.0 s\", exit_code: 1 }\nexpect: { outcome: aborted, failed_step: replica-lag }\n",
    )
    .unwrap();
    let journal = dir.join("lagging.jsonl");
    let out = pilotlight(
        &[
            "drill",
            "runbooks/pilot-light-failover.yaml",
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            scenario.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records;
    let answered = records.iter().find_map(|r| match &r.event {
        pilotlight::audit::Event::Outcome(o) if r.step.as_deref() == Some("replica-lag") => {
            o.stdout.clone()
        }
        _ => None,
    });
    assert_eq!(answered.as_deref(), Some("latest ReplicaLag: 912.0 s"));

    // A step the runbook does not have, or that runs no command, is refused up front.
    std::fs::write(
        &scenario,
        "scenario: typo\ncommands:\n  replica-lagg: { exit_code: 1 }\n",
    )
    .unwrap();
    let out = pilotlight(
        &[
            "drill",
            "runbooks/pilot-light-failover.yaml",
            "--unattended",
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains(
            "commands: `replica-lagg` is not a command step of runbook `pilot-light-failover`"
        ),
        "{stderr}"
    );
}

#[test]
fn a_restore_records_the_window_of_data_it_lost() {
    let dir = temp_dir("data-lost");
    let journal = dir.join("backup.jsonl");
    let out = pilotlight(
        &[
            "drill",
            "runbooks/aws-backup-cross-region-restore.yaml",
            "--unattended",
            "--speed",
            "max",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
        .unwrap()
        .records;
    // The primary region is down from T+0; the newest copy the run saw is older than that.
    let first_unavailable = records.iter().find_map(|r| match &r.event {
        pilotlight::audit::Event::StatusSnapshot(s)
            if s.resource == "billing-data"
                && s.status.health == pilotlight::runbook::Health::Unavailable =>
        {
            Some(r.at)
        }
        _ => None,
    });
    let lost = records
        .iter()
        .find_map(|r| match &r.event {
            pilotlight::audit::Event::StepSucceeded(d)
                if r.step.as_deref() == Some("restore-volume") =>
            {
                d.data_lost.clone()
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("restore-volume recorded no data lost:\n{stdout}"));
    assert_eq!(lost.resource, "billing-data");
    assert_eq!(Some(lost.lost_at), first_unavailable);
    assert!(lost.recovery_point_at < lost.lost_at, "{lost:?}");
    assert_eq!(
        lost.seconds as i64,
        (lost.lost_at - lost.recovery_point_at).num_seconds()
    );
    assert!(
        stdout.contains("data lost with billing-data (step `restore-volume`): "),
        "{stdout}"
    );
    let report = pilotlight(
        &[
            "audit",
            "report",
            journal.to_str().unwrap(),
            "--format",
            "json",
        ],
        &dir,
    );
    let r: Value = serde_json::from_slice(&report.stdout).unwrap();
    let steps = r["steps"].as_array().unwrap();
    let restore = steps.iter().find(|s| s["id"] == "restore-volume").unwrap();
    assert_eq!(restore["data_lost"]["window_seconds"], lost.seconds);
    let launch = steps.iter().find(|s| s["id"] == "launch-app").unwrap();
    assert_eq!(launch["data_lost"], Value::Null, "not a restore");
}
