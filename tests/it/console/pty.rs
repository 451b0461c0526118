//! The real binary in a real pseudo-terminal: `pilotlight drill` driven key by key through
//! every gate (typed phrases included) and manual step to the end, then `q`; the screen, the
//! exit code, the terminal's restoration and the journal are checked. Also `watch` ended by
//! SIGTERM and SIGHUP, which must restore the terminal too.
//!
//! Synchronisation is by what is on the screen: every wait reads the program's output into a
//! terminal emulator until the expected text appears, with an overall deadline.

use crate::common::detail;

use crate::common::pty::{cooked_flags, local_flags, nz, Pty};
use crate::common::{root, temp_dir};

use pilotlight::audit::{verify, EventKind};
use pilotlight::runbook::{ReasonPolicy, StepBody};
use portable_pty::PtySize;

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";

#[test]
fn a_drill_driven_through_every_gate_in_a_real_terminal() {
    let dir = temp_dir("drill");
    let journal = dir.join("drill.jsonl");
    let cooked = cooked_flags();
    let runbook =
        pilotlight::runbook::parse(&std::fs::read(root().join(RUNBOOK)).unwrap()).unwrap();
    let mut pty = Pty::spawn(
        &[
            "drill",
            RUNBOOK,
            "--speed",
            "max",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &dir,
        36,
        120,
    );
    pty.until_text(" DRILL ");
    assert_ne!(
        local_flags(pty.master.as_ref()),
        cooked,
        "the console runs in raw mode"
    );
    let mut typed_gates = 0;
    let mut resized = false;
    for step in &runbook.steps {
        let pane = format!("┌ Step {} ", step.id);
        if let Some(gate) = &step.gate {
            pty.until(&format!("the gate of {}", step.id), |s| {
                s.contains(&pane)
                    && (s.contains("GATE waiting for you: press g")
                        || s.contains("then pass its GATE: press g"))
            });
            if !resized {
                // A resize redraws at the new size (80 columns: the narrow resource table).
                resized = true;
                pty.master
                    .resize(PtySize {
                        rows: 24,
                        cols: 80,
                        ..PtySize::default()
                    })
                    .unwrap();
                pty.parser.set_size(nz(24), nz(80));
                pty.until("the 80-column layout", |s| {
                    s.contains("HEALTH      RPO / TARGET") && s.contains(&pane)
                });
                pty.master
                    .resize(PtySize {
                        rows: 36,
                        cols: 120,
                        ..PtySize::default()
                    })
                    .unwrap();
                pty.parser.set_size(nz(36), nz(120));
                pty.until("the 120-column layout", |s| s.contains("RECOVERY POINT"));
            }
            pty.send(b"g");
            pty.until_text(&format!("GATE: {}", step.id));
            if let Some(phrase) = &gate.typed {
                typed_gates += 1;
                pty.until_text(&format!("type `{phrase}` to proceed:"));
                // A wrong phrase first: refused in the popup, nothing reaches the journal.
                pty.send(b"nope\t");
                if gate.reason != ReasonPolicy::None {
                    pty.send(b"typed in a pty\t");
                }
                // Tab from the last field reaches Proceed.
                pty.send(b"\r");
                pty.until_text(&format!("type `{phrase}` exactly to proceed"));
                // Focus went back to the phrase: clear it and type it right.
                pty.send(&[0x7f; 4]);
                pty.send(phrase.as_bytes());
                pty.send(b"\t");
                if gate.reason != ReasonPolicy::None {
                    pty.send(b"\t");
                }
                pty.send(b"\r");
            } else if gate.reason == ReasonPolicy::Required {
                pty.send(b"IC said go\t\r");
            } else if gate.reason == ReasonPolicy::Optional {
                pty.send(b"\t\r");
            } else {
                // Focus starts on Cancel: Tab to Proceed, Enter.
                pty.send(b"\t\r");
            }
        }
        // A manual step's gate is its one question; one without a gate waits for `d`.
        if matches!(step.body, StepBody::Manual) && step.gate.is_none() {
            pty.until(&format!("{} to be done by hand", step.id), |s| {
                s.contains(&pane) && s.contains("do this by hand, then press d")
            });
            pty.send(b"d");
        }
        // A drill runs no command: the operator does it and says so.
        if matches!(step.body, StepBody::Command { .. }) {
            pty.until(&format!("{} to be done by hand", step.id), |s| {
                s.contains(&pane) && s.contains("then press d")
            });
            pty.send(b"d");
        }
    }
    assert_eq!(typed_gates, 2);
    pty.until_text("RECOVERED in");
    let end = pty.screen();
    assert!(end.contains("Steps 17/17"), "{end}");
    pty.send(b"q");
    let status = pty.finish();
    assert!(status.success(), "{status:?}; screen:\n{}", pty.screen());
    pty.assert_restored(cooked);
    // Back on the main screen: the drill's summary, then where its journal is.
    let after = pty.screen();
    assert!(
        after.contains("STEP ") && after.contains("journal: "),
        "{after}"
    );
    for text in [
        "GATE: promote-replica",
        "type `shop-db-replica-usw2` to proceed:",
        "will call: rds:PromoteReadReplica in us-west-2",
        "GATE: shift-dns",
        "operator pty-test",
    ] {
        assert!(pty.seen.contains(text), "never saw {text}");
    }

    // The journal: intact, finished, every gate approved by a person, typed phrases as typed.
    let v = verify(&std::fs::read(&journal).unwrap()).expect("the journal verifies");
    assert!(v.torn_tail.is_none());
    assert_eq!(v.records.last().unwrap().kind(), EventKind::RunFinished);
    let approved: Vec<_> = v
        .records
        .iter()
        .filter(|r| r.kind() == EventKind::GateApproved)
        .collect();
    assert_eq!(
        approved.len(),
        runbook.steps.iter().filter(|s| s.gate.is_some()).count()
    );
    for r in &approved {
        assert_eq!(detail(&r)["unattended"], false, "{r:?}");
        assert_eq!(r.operator, "pty-test");
    }
    let typed = |id: &str| {
        approved
            .iter()
            .find(|r| r.step.as_deref() == Some(id))
            .map(|r| detail(&r)["typed"].clone())
            .unwrap()
    };
    assert_eq!(typed("promote-replica"), "shop-db-replica-usw2");
    assert_eq!(typed("shift-dns"), "shop.example.com");
    let decide = approved
        .iter()
        .find(|r| r.step.as_deref() == Some("decide"))
        .unwrap();
    assert_eq!(detail(&decide)["reason"], "IC said go");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn watch_restores_the_terminal_on_sigterm_and_sighup() {
    let cooked = cooked_flags();
    for signal in ["TERM", "HUP"] {
        let dir = temp_dir(&format!("watch-{signal}"));
        let mut pty = Pty::spawn(&["watch", RUNBOOK, "--sim"], &dir, 36, 120);
        pty.until_text(" READ-ONLY ");
        // Keys that would decide in a drill do nothing here.
        pty.send(b"g\t\rdsA");
        pty.until_text("read-only");
        let pid = pty.child.process_id().unwrap();
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = pty.finish();
        assert!(status.success(), "SIG{signal}: {status:?}");
        pty.assert_restored(cooked);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
