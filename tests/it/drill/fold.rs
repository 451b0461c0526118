//! A run's state is the fold of the journal it wrote, read back from the file: for every shipped
//! runbook under scenarios drawn at random (regions down or flapping, faults, slow or missing
//! recovery points), run through the real runner, then killed after a random number of records
//! and resumed from what the file holds, as `drill --resume` does.

use std::path::Path;
use std::sync::Arc;

use chrono::TimeDelta;
use indexmap::IndexMap;
use pilotlight::audit::event::{DrillContext, RunContext};
use pilotlight::audit::{verify, Mode, Record};
use pilotlight::cloud::sim::scenario::{self, Fault, RegionChange, ResourceSetup, Scenario};
use pilotlight::cloud::sim::SimWorld;
use pilotlight::engine::{RunStatus, State};
use pilotlight::runbook::{Health, Runbook, StepBody};
use pilotlight::runtime::launch;
use pilotlight::runtime::unattended::run_to_end;

use crate::common::engine::{unattended, Seen};
use crate::common::{root, t0, temp_dir};

/// xorshift64*: small and seeded.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A scenario drawn at random for `runbook`.
fn random_scenario(runbook: &Runbook, rng: &mut Rng, seed: u64) -> Scenario {
    let healths = [Health::Ok, Health::Impaired, Health::Unavailable];
    // Mostly the incident the runbooks are written for (the first region down, the others up),
    // sometimes not.
    let mut regions = IndexMap::new();
    for (i, region) in runbook.regions().into_iter().enumerate() {
        let usual = if i == 0 {
            Health::Unavailable
        } else {
            Health::Ok
        };
        let health = if rng.below(4) == 0 {
            *rng.pick(&healths)
        } else {
            usual
        };
        regions.insert(region, health);
    }
    let mut timeline = Vec::new();
    for region in runbook.regions() {
        if rng.below(3) == 0 {
            timeline.push(RegionChange {
                at: format!("{}m", 1 + rng.below(90)),
                region,
                health: *rng.pick(&healths),
            });
        }
    }
    let mut resources = IndexMap::new();
    for name in runbook.resources.keys() {
        let setup = ResourceSetup {
            health: (rng.below(10) == 0).then(|| *rng.pick(&healths)),
            recovery_point_age: (rng.below(3) == 0).then(|| format!("{}m", 1 + rng.below(120))),
            no_recovery_point: rng.below(15) == 0,
            flap_every: (rng.below(12) == 0).then(|| format!("{}m", 1 + rng.below(10))),
            ..ResourceSetup::default()
        };
        resources.insert(name.clone(), setup);
    }
    let mut faults = Vec::new();
    for s in &runbook.steps {
        if matches!(s.body, StepBody::Action { .. }) && rng.below(4) == 0 {
            faults.push(Fault {
                step: Some(s.id.clone()),
                action: None,
                fail_times: 1 + rng.below(3) as u32,
                error: Some("InternalFailure: the simulated cloud had a bad moment".into()),
                slow_factor: (rng.below(3) == 0).then(|| 1.0 + rng.below(4) as f64),
            });
        }
    }
    // Some command steps answer a failing exit code, as a scenario may make them.
    let commands = runbook
        .steps
        .iter()
        .filter(|s| matches!(s.body, StepBody::Command { .. }))
        .filter(|_| rng.below(25) == 0)
        .map(|s| {
            let answer = scenario::CommandSetup {
                stdout: format!("random answer of {}", s.id),
                exit_code: 1,
            };
            (s.id.clone(), answer)
        })
        .collect();
    Scenario {
        scenario: format!("random-{seed}"),
        description: None,
        seed,
        regions,
        timeline,
        resources,
        faults,
        commands,
        alarms: Vec::new(),
        expect: None,
    }
}

fn records(path: &Path) -> Vec<Record> {
    verify(&std::fs::read(path).unwrap()).unwrap().records
}

/// Runs (or resumes) the drill recorded in `journal` to its end, and checks that the state it
/// ended with is the fold of the file it wrote. Returns how it ended.
fn run(
    runbook: &Arc<Runbook>,
    digest: &str,
    scenario: &Scenario,
    journal: &Path,
    resume: bool,
) -> RunStatus {
    let prepared = scenario::prepare(scenario.clone(), runbook).unwrap();
    let launched = if resume {
        launch::resume(runbook, Mode::Drill, "fold-test", journal, digest, false).unwrap()
    } else {
        let context = RunContext {
            pilotlight: "test".into(),
            runbook_file: "runbook.yaml".into(),
            runbook_sha256: digest.into(),
            drill: Some(DrillContext {
                scenario: scenario.scenario.clone(),
                scenario_file: None,
                seed: scenario.seed,
                speed: "max".into(),
                unattended: true,
            }),
            live: None,
        };
        launch::start(
            runbook,
            Mode::Drill,
            "fold-test",
            Some(journal),
            context,
            t0(),
        )
        .unwrap()
    };
    let world = SimWorld::new(runbook.clone(), prepared, launched.t0);
    world.replay(&launched.records);
    let mut engine = launched.engine;
    engine.rerun_interrupted_commands(true);
    let mut runner = unattended(
        engine,
        launched.journal,
        world,
        launched.resume_at,
        Seen::default(),
        launched.first,
        Some(TimeDelta::minutes(1)),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let status = rt.block_on(run_to_end(&mut runner));
    let folded = State::from_records(runbook, &records(journal)).unwrap();
    assert!(
        runner.engine().state() == &folded,
        "{}: the state the run ended with is not the fold of its journal\nlive:   {:?}\nfolded: {:?}",
        journal.display(),
        runner.engine().state(),
        folded
    );
    status
}

#[test]
fn drills_under_random_scenarios_fold_back_to_their_state_and_resume_anywhere() {
    let mut files: Vec<_> = std::fs::read_dir(root().join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".yaml") && !name.ends_with(".scenario.yaml")
        })
        .collect();
    files.sort();
    let dir = temp_dir("fold");
    let (mut finished, mut aborted, mut resumed) = (0, 0, 0);
    // Enough drills that, whatever the shipped runbooks, some finish and some abort.
    const SEEDS: u64 = 126;
    for seed in 0..SEEDS {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let file = &files[seed as usize % files.len()];
        let bytes = std::fs::read(file).unwrap();
        let runbook = Arc::new(pilotlight::runbook::parse(&bytes).unwrap());
        let digest = pilotlight::audit::sha256_hex(&bytes);
        let scenario = random_scenario(&runbook, &mut rng, seed);
        let journal = dir.join(format!("{seed}.jsonl"));
        match run(&runbook, &digest, &scenario, &journal, false) {
            RunStatus::Finished => finished += 1,
            _ => aborted += 1,
        }
        // Killed after some record, the run resumes from what the file holds.
        let text = std::fs::read_to_string(&journal).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let keep = 1 + rng.below(lines.len() as u64 - 1) as usize;
        let cut = dir.join(format!("{seed}-cut.jsonl"));
        std::fs::write(&cut, lines[..keep].join("\n") + "\n").unwrap();
        run(&runbook, &digest, &scenario, &cut, true);
        resumed += 1;
    }
    assert!(
        finished >= 5 && aborted >= 5,
        "{finished} finished, {aborted} aborted"
    );
    assert_eq!(resumed, SEEDS);
}
