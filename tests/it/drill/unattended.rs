//! `drill --unattended` end to end: every shipped runbook completes on its default scenario with
//! a journal that verifies, every shipped fault scenario ends as it says, and replaying a drill's
//! journal rebuilds the engine's state.

use crate::common::{root, temp_dir};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pilotlight::audit::{verify, Journal, Mode, Record};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::engine::{Engine, Input, RunStatus};
use pilotlight::runtime::runner::Observer;
use pilotlight::runtime::unattended::run_to_end;

fn pilotlight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(root())
        .env("PILOTLIGHT_OPERATOR", "drill-test")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn files(suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    out
}

fn runbooks() -> Vec<PathBuf> {
    files(".yaml")
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".scenario.yaml"))
        .collect()
}

#[test]
fn every_shipped_runbook_completes_its_default_drill_with_a_verifying_journal() {
    let dir = temp_dir("default");
    for rb in runbooks() {
        let journal = dir.join(format!(
            "{}.jsonl",
            rb.file_stem().unwrap().to_string_lossy()
        ));
        let out = pilotlight(&[
            "drill",
            rb.to_str().unwrap(),
            "--unattended",
            "--speed",
            "max",
            "--journal",
            journal.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}",
            rb.display(),
            text(&out)
        );
        let t = text(&out);
        assert!(
            t.contains("recovered in ") || t.contains("service restored at T+"),
            "{t}"
        );
        let verified = pilotlight(&["audit", "verify", journal.to_str().unwrap()]);
        assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    }
}

#[test]
fn every_shipped_fault_scenario_ends_as_it_describes() {
    let scenarios = files(".scenario.yaml");
    assert!(
        scenarios.len() >= 5,
        "ship fault scenarios next to the runbooks"
    );
    let dir = temp_dir("faults");
    for s in scenarios {
        let name = s.file_name().unwrap().to_string_lossy().to_string();
        let rb = root()
            .join("runbooks")
            .join(format!("{}.yaml", name.split('.').next().unwrap()));
        let journal = dir.join(format!("{name}.jsonl"));
        let out = pilotlight(&[
            "drill",
            rb.to_str().unwrap(),
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            s.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ]);
        let t = text(&out);
        // The verdict drives the exit code and comes last: an expected abort passes too.
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().last(),
            Some("scenario check: PASSED: the drill ended as the scenario expects"),
            "{name}:\n{t}"
        );
        assert_eq!(out.status.code(), Some(0), "{name}:\n{t}");
        let source = std::fs::read_to_string(&s).unwrap();
        let expects_abort = source.contains("outcome: aborted");
        if expects_abort {
            assert!(
                t.contains("ABORTED: unattended drill stopped: step `"),
                "{name}:\n{t}"
            );
        }
        // The same scenario expecting the opposite ending fails the drill.
        let flipped = if expects_abort {
            source.replace("outcome: aborted", "outcome: finished")
        } else {
            source.replace("outcome: finished", "outcome: aborted")
        };
        let copy = dir.join(format!("flipped-{name}"));
        std::fs::write(&copy, flipped).unwrap();
        let out = pilotlight(&[
            "drill",
            rb.to_str().unwrap(),
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            copy.to_str().unwrap(),
            "--journal",
            dir.join(format!("flipped-{name}.jsonl")).to_str().unwrap(),
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "flipped {name}:\n{t}");
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("scenario check: FAILED: ")),
            "flipped {name}:\n{t}"
        );
        assert_eq!(
            pilotlight(&["audit", "verify", journal.to_str().unwrap()])
                .status
                .code(),
            Some(0)
        );
    }
}

#[test]
fn the_same_drill_takes_the_same_simulated_time_every_time() {
    let dir = temp_dir("determinism");
    let rb = "runbooks/pilot-light-failover.yaml";
    let s = "runbooks/pilot-light-failover.capacity-shortage.scenario.yaml";
    let summary = |n: u32| {
        let j = dir.join(format!("{n}.jsonl"));
        let out = pilotlight(&[
            "drill",
            rb,
            "--unattended",
            "--speed",
            "max",
            "--scenario",
            s,
            "--journal",
            j.to_str().unwrap(),
        ]);
        let t = String::from_utf8_lossy(&out.stdout).to_string();
        t.lines()
            .filter(|l| !l.contains("journal"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(1), summary(2));
}

#[test]
fn unattended_is_refused_outside_drill_and_the_console_needs_a_terminal() {
    let out = pilotlight(&["validate", "--unattended", "runbooks"]);
    assert_eq!(out.status.code(), Some(2));
    let out = pilotlight(&["drill", "runbooks/pilot-light-failover.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--unattended"));
}

#[test]
fn a_bad_scenario_is_refused_with_what_is_wrong() {
    let dir = temp_dir("badscenario");
    let s = dir.join("bad.scenario.yaml");
    std::fs::write(
        &s,
        "scenario: x\nfaults:\n  - { step: no-such-step, fail_times: 1 }\n",
    )
    .unwrap();
    let out = pilotlight(&[
        "drill",
        "runbooks/pilot-light-failover.yaml",
        "--unattended",
        "--scenario",
        s.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("`no-such-step` is not a step of runbook `pilot-light-failover`"),
        "{}",
        text(&out)
    );
}

struct Quiet;
impl Observer for Quiet {
    fn recorded(&mut self, _: &Record) {}
    fn refused(&mut self, m: &str) {
        panic!("refused: {m}");
    }
}

/// Runs a drill in-process and returns the engine and the journal's records.
fn drill_in_process(
    rb_path: &Path,
    scenario: Option<&Path>,
    journal: &Path,
) -> (Engine, Vec<Record>) {
    let rb = Arc::new(pilotlight::runbook::parse(&std::fs::read(rb_path).unwrap()).unwrap());
    let prepared = match scenario {
        Some(s) => sim::parse_scenario(&std::fs::read_to_string(s).unwrap(), &rb).unwrap(),
        None => sim::default_for(&rb),
    };
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    let world = SimWorld::new(rb.clone(), prepared, t0);
    let j = Journal::create(journal, "ana", &rb.id, Mode::Drill).unwrap();
    let engine = Engine::new(rb.clone(), "run-test");
    let mut runner = crate::common::engine::unattended(
        engine,
        j,
        world,
        t0,
        Quiet,
        Input::Start,
        Some(chrono::TimeDelta::minutes(1)),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let status = rt.block_on(run_to_end(&mut runner));
    let engine = runner.into_engine();
    assert!(matches!(
        status,
        RunStatus::Finished | RunStatus::Aborted(_)
    ));
    let records = verify(&std::fs::read(journal).unwrap()).unwrap().records;
    (engine, records)
}

#[test]
fn replaying_a_drill_journal_rebuilds_the_engine_state() {
    let dir = temp_dir("replay");
    let mut cases: Vec<(PathBuf, Option<PathBuf>)> =
        runbooks().into_iter().map(|r| (r, None)).collect();
    for s in files(".scenario.yaml") {
        let name = s.file_name().unwrap().to_string_lossy().to_string();
        cases.push((
            root()
                .join("runbooks")
                .join(format!("{}.yaml", name.split('.').next().unwrap())),
            Some(s),
        ));
    }
    for (i, (rb, s)) in cases.iter().enumerate() {
        let journal = dir.join(format!("{i}.jsonl"));
        let (engine, records) = drill_in_process(rb, s.as_deref(), &journal);
        let rebuilt = Engine::from_records(Arc::new(engine.runbook().clone()), &records).unwrap();
        assert_eq!(
            rebuilt.state().clone(),
            engine.state().clone(),
            "{} {:?}",
            rb.display(),
            s
        );
    }
}
