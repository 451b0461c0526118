//! Shared by the benches: a generated runbook of any size, and a busy view of it.

#![allow(dead_code)] // each bench uses part of this

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use pilotlight::audit::{Event, EventKind, Mode, Record};
use pilotlight::engine::objectives::estimate_rto;
use pilotlight::engine::{RunStatus, StepState};
use pilotlight::model::{RecoveryPoint, RecoveryPointKind, ResourceStatus};
use pilotlight::runbook::{Health, Runbook};
use pilotlight::runtime::view::{RunView, ViewMode, TAIL};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap()
}

const KINDS: [&str; 4] = [
    "ec2-instance",
    "rds-instance",
    "ebs-volume",
    "dynamodb-table",
];
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// A valid runbook with `resources` resources (EC2, RDS, EBS, DynamoDB in turn, across three
/// regions) and `steps` steps (checks, gated manual steps, gated actions and waits in turn).
pub fn runbook_yaml(resources: usize, steps: usize) -> String {
    let mut y = String::new();
    let _ = writeln!(y, "runbook: bench-{resources}-{steps}");
    let _ = writeln!(
        y,
        "title: Fail over the whole estate ({resources} resources) to the recovery region"
    );
    y.push_str("targets: { rto: 4h, rpo: 15m }\nresources:\n");
    for i in 0..resources {
        let kind = KINDS[i % KINDS.len()];
        let region = REGIONS[i % REGIONS.len()];
        let id = match kind {
            "ec2-instance" => format!("i-0abc{i:013x}"),
            "ebs-volume" => format!("vol-0abc{i:013x}"),
            "rds-instance" => format!("orders-db-{i}"),
            _ => format!("orders-table-{i}"),
        };
        let _ = writeln!(y, "  res-{i:04}-{kind}:");
        let _ = writeln!(y, "    kind: {kind}");
        let _ = writeln!(y, "    region: {region}");
        let _ = writeln!(y, "    id: {id}");
        if i % 3 == 0 {
            y.push_str("    rpo: 10m\n");
        }
    }
    y.push_str("steps:\n");
    for s in 0..steps {
        // Resources the steps name: EC2 instances for actions, any resource for checks.
        let ec2 = (s * KINDS.len()) % resources.max(1);
        let any = (s * 7) % resources.max(1);
        let any_kind = KINDS[any % KINDS.len()];
        let ec2_kind = KINDS[ec2 % KINDS.len()];
        match s % 4 {
            0 => {
                let _ = writeln!(y, "  - id: check-{s:03}");
                y.push_str("    kind: check\n");
                let _ = writeln!(y, "    title: Resource {any} is reachable");
                let _ = writeln!(
                    y,
                    "    expect: {{ resource: res-{any:04}-{any_kind}, health: [ok, impaired, unavailable] }}"
                );
            }
            1 => {
                let _ = writeln!(y, "  - id: manual-{s:03}");
                y.push_str("    kind: manual\n");
                let _ = writeln!(y, "    title: Tell the incident channel about step {s}");
                y.push_str("    instructions: >\n      Post the current status in #incident with the RTO countdown and what comes\n      next; page the database on-call if the restore is slower than expected.\n");
                y.push_str(
                    "    expect_duration: 2m\n    gate: { confirm: true, reason: optional }\n",
                );
            }
            2 => {
                let _ = writeln!(y, "  - id: start-{s:03}");
                y.push_str("    kind: action\n");
                let _ = writeln!(y, "    title: Start standby server {ec2}");
                y.push_str("    action: ec2.start-instances\n");
                let _ = writeln!(y, "    resource: res-{ec2:04}-{ec2_kind}");
                y.push_str("    wait_until: running\n    expect_duration: 3m\n    timeout: 15m\n");
                y.push_str("    gate: { confirm: true }\n");
            }
            _ => {
                let _ = writeln!(y, "  - id: settle-{s:03}");
                y.push_str("    kind: wait\n");
                let _ = writeln!(y, "    title: Let the fleet settle after step {s}");
                y.push_str("    for: 1m\n");
            }
        }
    }
    y
}

pub fn parse(yaml: &str) -> Arc<Runbook> {
    match pilotlight::runbook::parse(yaml.as_bytes()) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            let msgs: Vec<String> = e.diagnostics().iter().map(|d| d.render("bench")).collect();
            panic!("the generated runbook is invalid:\n{}", msgs.join("\n"))
        }
    }
}

/// The heaviest picture a console shows: every resource observed with a recovery point (some
/// stale), half the steps done with their timings, the next one at its gate, a full audit tail.
pub fn busy_view(runbook: Arc<Runbook>, mode: ViewMode) -> RunView {
    let now = t0() + TimeDelta::minutes(95);
    let estimate = estimate_rto(&runbook, &Default::default());
    let mut v = RunView::new(
        runbook.clone(),
        mode,
        "alice",
        "simulated world (default: primary region unavailable for 4h)",
        estimate,
        now,
    );
    v.started_at = Some(t0());
    v.status = RunStatus::Running;
    let healths = [
        Health::Ok,
        Health::Impaired,
        Health::Unavailable,
        Health::Ok,
    ];
    for (i, name) in runbook.resources.keys().enumerate() {
        v.observations.insert(
            name.clone(),
            ResourceStatus {
                health: healths[i % healths.len()],
                state: "available".into(),
                latest_recovery_point: (i % 17 != 0).then(|| RecoveryPoint {
                    id: format!("snap-{i:08x}"),
                    at: now - TimeDelta::seconds((i as i64 * 37) % 3600),
                    kind: RecoveryPointKind::Snapshot,
                }),
            },
        );
    }
    let half = runbook.steps.len() / 2;
    for (i, s) in v.steps.iter_mut().enumerate().take(half) {
        s.state = StepState::Done;
        s.attempt = 1;
        s.started_at = Some(t0() + TimeDelta::seconds(i as i64 * 60));
        s.finished_at = Some(t0() + TimeDelta::seconds(i as i64 * 60 + 50));
    }
    // The current step: the first gated action from the middle on.
    let current = (half..runbook.steps.len())
        .find(|&i| runbook.steps[i].id.starts_with("start-"))
        .unwrap_or(half);
    for s in &mut v.steps[half..current] {
        s.state = StepState::Done;
    }
    v.current = current;
    v.steps[current].state = StepState::AwaitingGate;
    v.steps[current].started_at = Some(now - TimeDelta::seconds(42));
    // What the engine would say is open: the current step's gate.
    v.open_gate = runbook.steps[current]
        .gate
        .clone()
        .map(|gate| pilotlight::engine::OpenGate {
            step: current,
            rollback: false,
            gate,
        });
    v.projected = Some(3 * 3600 + 120);
    v.preview = Some(
        "ec2:StartInstances in us-east-1 on i-0abc0000000000008 (ec2.start-instances) with {}"
            .into(),
    );
    v.journal = Some("/home/alice/.local/share/pilotlight/journals/bench-drill.jsonl".into());
    v.tail = tail(&runbook, now);
    v.version = 1;
    v
}

fn tail(runbook: &Runbook, now: DateTime<Utc>) -> VecDeque<Record> {
    let events = [
        EventKind::StepStarted,
        EventKind::GateShown,
        EventKind::GateApproved,
        EventKind::Intent,
        EventKind::Outcome,
        EventKind::StepSucceeded,
        EventKind::StatusSnapshot,
    ];
    let plan = serde_json::json!({"step": "s", "attempt": 1, "action": "ec2.start-instances",
        "resource": "r", "target": "i-0abc", "region": "us-east-1", "params": {}, "token": "pl-1"});
    (0..TAIL)
        .map(|i| {
            let step = &runbook.steps[i % runbook.steps.len()].id;
            let kind = events[i % events.len()];
            let detail = match kind {
                EventKind::GateShown => serde_json::json!({"confirm": true, "typed": null, "reason": "optional"}),
                EventKind::GateApproved => serde_json::json!({"typed": null, "reason": "IC said go", "unattended": false}),
                EventKind::Intent => serde_json::json!({"plan": plan}),
                EventKind::StatusSnapshot => serde_json::json!({"resource": "res-0001-rds-instance", "status": {"health": "ok", "state": "available", "latest_recovery_point": null}}),
                _ => serde_json::json!({}),
            };
            let event = Event::from_detail(kind, detail)
                .unwrap_or_else(|e| panic!("a bench record: {e}"));
            Record {
                seq: i as u64 + 1,
                at: now - TimeDelta::seconds((TAIL - i) as i64 * 20),
                operator: "alice".into(),
                runbook: runbook.id.clone(),
                mode: Mode::Drill,
                step: (kind != EventKind::StatusSnapshot).then(|| step.clone()),
                event,
                prev: "0".repeat(64),
                hash: "f".repeat(64),
            }
        })
        .collect()
}

/// A valid journal of `runbook`'s drill at its first step, `records` records long (all but the
/// first few status snapshots, one resource after another), as `watch --follow` meets a long
/// run. Written without fsync: it is a fixture, not a run.
pub fn long_journal(runbook: &Arc<Runbook>, records: usize, path: &std::path::Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write_records(runbook, records, &mut out);
    std::io::Write::flush(&mut out).unwrap();
}

fn write_records(runbook: &Arc<Runbook>, records: usize, out: &mut impl std::io::Write) {
    use pilotlight::audit::{event::StatusSnapshot, seal, Entry, GENESIS};
    use pilotlight::engine::{Effect, Engine, Input};
    let mut prev = GENESIS.to_string();
    let mut seq = 0u64;
    let mut write = |entry: &Entry| {
        let (line, rec) = seal(seq, "bench", &runbook.id, Mode::Drill, entry, &prev).unwrap();
        out.write_all(line.as_bytes()).unwrap();
        prev = rec.hash;
        seq += 1;
        seq as usize
    };
    // The run's start as the engine writes it.
    let mut engine = Engine::new(runbook.clone(), "bench-run");
    let mut written = 0;
    for e in engine.handle(Input::Start, t0()) {
        if let Effect::Record(entry) = e {
            written = write(&entry);
        }
    }
    let names: Vec<&String> = runbook.resources.keys().collect();
    let mut i = 0;
    while written < records {
        let entry = Entry {
            at: t0() + TimeDelta::milliseconds(i as i64),
            step: None,
            event: Event::StatusSnapshot(StatusSnapshot {
                resource: names[i % names.len()].clone(),
                status: ResourceStatus {
                    health: Health::Ok,
                    state: "available".into(),
                    latest_recovery_point: None,
                },
            }),
        };
        written = write(&entry);
        i += 1;
    }
}
