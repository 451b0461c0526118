//! Snapshot tests of what came later: a rollback at the console, a resource's detail, the audit
//! pane paused, a late step, an aborted run, a popup's keys in the footer. Same harness as the
//! rest of the snapshots (`super`).

use super::*;

#[test]
fn a_finished_drill_rolls_back_from_the_console_at_the_inverses_gate() {
    let mut d = Drive::new("rollback", None);
    d.run_to_the_end();
    // R asks why, then the rollback opens the inverse's gate.
    let mut app = d.app(ViewMode::Drill);
    assert_eq!(app.on_key(key(KeyCode::Char('R'))), None);
    assert!(matches!(app.popup, Some(Popup::Reason(_))));
    type_text(&mut app, "failback rehearsal");
    let cmd = app.on_key(key(KeyCode::Enter));
    assert_eq!(cmd, Some(Command::Rollback("failback rehearsal".into())));
    d.send(cmd.unwrap());
    let mut app = d.app(ViewMode::Drill);
    let buf = snapshot("rollback_gate_waiting", &app, 80, 24);
    assert!(text(&buf).contains("ROLLING BACK 0/1"), "{}", text(&buf));
    assert_eq!(app.on_key(key(KeyCode::Char('g'))), None);
    let buf = snapshot("rollback_gate_popup", &app, 120, 36);
    assert!(
        text(&buf).contains("ROLLBACK GATE: shift-dns"),
        "{}",
        text(&buf)
    );
    // The inverse's gate is the step's: the record name, and a reason.
    type_text(&mut app, "shop.example.com");
    app.on_key(key(KeyCode::Tab));
    type_text(&mut app, "back to the primary");
    app.on_key(key(KeyCode::Tab));
    let cmd = app.on_key(key(KeyCode::Enter)).expect("approved");
    d.send(cmd);
    let app = d.app(ViewMode::Drill);
    let buf = snapshot("rollback_done", &app, 60, 16);
    assert!(text(&buf).contains("ROLLED BACK 1/1"), "{}", text(&buf));
    // Nothing is undone twice.
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('R')));
    assert!(app.popup.is_none());
    assert_eq!(
        app.message.as_deref(),
        Some("this run has been rolled back already; nothing is undone twice")
    );
}

#[test]
fn a_scrolled_audit_pane_says_it_is_paused_and_end_follows_again() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    // Steps -> Detail -> Audit.
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    let newest = format!("#{:<4}", d.tail.back().unwrap().seq);
    let screen = text(&draw(&app, 120, 36, Theme { color: false }));
    assert!(!screen.contains("PAUSED"), "{screen}");
    assert!(screen.contains(&newest), "{screen}");
    app.on_key(key(KeyCode::Char('k')));
    let screen = text(&draw(&app, 120, 36, Theme { color: false }));
    assert!(screen.contains("PAUSED (End follows)"), "{screen}");
    // Home shows the first page, full, from the run's first record.
    app.on_key(key(KeyCode::Home));
    let screen = text(&draw(&app, 120, 36, Theme { color: false }));
    let audit: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Audit journal"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .collect();
    assert!(audit[0].contains("#0 "), "{screen}");
    assert!(
        audit.iter().all(|l| l.contains('#')),
        "a full page: {screen}"
    );
    app.on_key(key(KeyCode::End));
    let screen = text(&draw(&app, 120, 36, Theme { color: false }));
    assert!(!screen.contains("PAUSED"), "{screen}");
    assert!(screen.contains(&newest), "{screen}");
}

#[test]
fn enter_on_a_resource_shows_its_aws_id_and_what_is_known_of_it() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::BackTab));
    app.on_key(key(KeyCode::Char('j')));
    assert_eq!(app.on_key(key(KeyCode::Enter)), None);
    let id = &d.engine.runbook().resources["shop-db-replica"].id;
    for (w, h) in [(80, 24), (200, 50)] {
        let screen = text(&snapshot("resource_detail", &app, w, h));
        assert!(screen.contains("Resource shop-db-replica"), "{screen}");
        assert!(
            screen.contains(&format!("AWS id          {id}")),
            "{screen}"
        );
        assert!(screen.contains("recovery point"), "{screen}");
    }
    app.on_key(key(KeyCode::Esc));
    assert!(app.popup.is_none());
}

#[test]
fn a_late_step_is_yellow_and_an_aborted_run_says_so_in_the_header() {
    let mut d = at_first_gate();
    let mut v = d.view(ViewMode::Drill);
    // start-app-1 (expected 3m) running for 10 minutes: late.
    let i = v
        .runbook
        .steps
        .iter()
        .position(|s| s.id == "start-app-1")
        .unwrap();
    v.steps[i].started_at = Some(v.now - TimeDelta::minutes(10));
    v.steps[i].state = StepState::Running;
    v.current = i;
    let app = App::new(Arc::new(v));
    let buf = draw(&app, 120, 36, Theme { color: true });
    let (x, y) = find(&buf, "10m/3m");
    assert_eq!(buf[(x, y)].fg, Color::Yellow, "{}", text(&buf));
    let (x, y) = find(&buf, "/10m");
    assert_ne!(
        buf[(x, y)].fg,
        Color::Yellow,
        "a step not begun is not late"
    );
    // Aborted: the header says it, not a countdown.
    d.send(Command::Abort("tabletop over".into()));
    let screen = text(&draw(
        &d.app(ViewMode::Drill),
        120,
        36,
        Theme { color: false },
    ));
    let header = screen.lines().next().unwrap();
    assert!(header.contains("ABORTED at T+"), "{header}");
    assert!(!header.contains("left"), "{header}");
}

#[test]
fn an_open_gate_puts_its_own_keys_in_the_footer() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('g')));
    let screen = text(&draw(&app, 120, 36, Theme { color: false }));
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("Tab moves"), "{footer}");
    assert!(!footer.contains("d done"), "{footer}");
}

#[test]
fn a_live_runs_header_shows_preflights_verdict_and_the_gate_its_steps_problems() {
    use pilotlight::engine::preflight::{Finding, Report, Severity};
    use pilotlight::runtime::view::Preflight;
    let mut d = Drive::new("preflight", None);
    d.until_gate_of("promote-replica");
    let with = |p: Option<Preflight>| {
        let mut v = d.view(ViewMode::Live);
        v.preflight = p;
        let mut app = App::new(Arc::new(v));
        app.on_key(key(KeyCode::Char('g')));
        app
    };
    // Still checking: said, and nothing claimed.
    let app = with(Some(Preflight::Checking));
    let screen = text(&draw(&app, 120, 36, Theme { color: false }));
    assert!(
        screen.lines().next().unwrap().contains("preflight…"),
        "{screen}"
    );
    assert!(screen.contains("preflight: still checking"), "{screen}");
    // Done: the worst kind counted in the header, the step's own problems at its gate.
    let report = Report {
        findings: vec![
            Finding {
                step: None,
                check: "credentials".into(),
                severity: Severity::Ok,
                detail: "credentials work in us-west-2".into(),
            },
            Finding {
                step: Some("promote-replica".into()),
                check: "permissions".into(),
                severity: Severity::Critical,
                detail: "the caller may not call rds:PromoteReadReplica on arn:aws:rds:us-west-2:123456789012:db:shop-db-replica-usw2 (implicitDeny)".into(),
            },
            Finding {
                step: Some("shift-dns".into()),
                check: "hosted zone exists".into(),
                severity: Severity::Critical,
                detail: "hosted zone `Z0ABC1234DEF567890` does not exist".into(),
            },
        ],
    };
    let app = with(Some(Preflight::Done(Arc::new(report))));
    let buf = snapshot("live_preflight_gate", &app, 120, 36);
    let screen = text(&buf);
    assert!(
        screen.lines().next().unwrap().contains("preflight 2 CRIT"),
        "{screen}"
    );
    let (x, y) = find(
        &buf,
        "preflight CRITICAL: the caller may not call rds:PromoteReadReplica",
    );
    assert_eq!(buf[(x, y)].fg, Color::Red);
    // Another step's problem is not this gate's.
    assert!(
        !screen.contains("Z0ABC1234DEF567890` does not exist"),
        "{screen}"
    );
    // The header with the gate closed, as narrow as the console goes; the step's detail has
    // its problems too, to read ahead of its gate.
    let mut v = d.view(ViewMode::Live);
    v.preflight = app.view.preflight.clone();
    let closed = App::new(Arc::new(v));
    let wide = text(&draw(&closed, 200, 50, Theme { color: false }));
    assert!(
        wide.contains("preflight CRITICAL: the caller may not call"),
        "{wide}"
    );
    for (w, h) in [(80, 24), (60, 16)] {
        let header = text(&draw(&closed, w, h, Theme { color: false }));
        assert!(
            header.lines().next().unwrap().contains("pf 2 CRIT"),
            "{w}x{h}: {header}"
        );
    }
    // A drill has no preflight: its header says nothing of one.
    let drill = text(&draw(
        &d.app(ViewMode::Drill),
        120,
        36,
        Theme { color: false },
    ));
    assert!(!drill.contains("preflight"), "{drill}");
}

#[test]
fn a_gate_in_another_account_names_the_account_and_the_role_assumed_there() {
    let yaml = r#"runbook: other
title: Promote in the DR account
targets: { rto: 1h }
accounts:
  "111111111111": { role: "arn:aws:iam::111111111111:role/pilotlight-dr" }
resources:
  replica: { kind: rds-instance, region: us-west-2, id: orders-replica, account: "111111111111" }
steps:
  - id: promote
    kind: action
    title: Promote the replica
    action: rds.promote-replica
    resource: replica
    with: { replica_id: orders-replica }
    gate: { confirm: true }
"#;
    let rb = Arc::new(pilotlight::runbook::parse(yaml.as_bytes()).unwrap());
    let estimate = estimate_rto(&rb, &BTreeMap::new());
    let mut v = RunView::new(
        rb,
        ViewMode::Live,
        "ana",
        "aws 123456789012",
        estimate,
        t0(),
    );
    v.status = RunStatus::Running;
    v.steps[0].state = StepState::AwaitingGate;
    v.open_gate = Some(pilotlight::engine::OpenGate {
        step: 0,
        rollback: false,
        gate: v.runbook.steps[0].gate.clone().unwrap(),
    });
    let mut app = App::new(Arc::new(v));
    app.on_key(key(KeyCode::Char('g')));
    for (w, h) in [(120, 36), (80, 24)] {
        let buf = draw(&app, w, h, Theme { color: true });
        let screen = text(&buf);
        assert!(
            screen.contains("in account 111111111111 as"),
            "{w}x{h}: {screen}"
        );
        if w == 120 {
            assert!(
                screen.contains("arn:aws:iam::111111111111:role/pilotlight-dr (assumed)"),
                "{screen}"
            );
            let (x, y) = find(&buf, "in account 111111111111");
            assert_eq!(buf[(x, y)].fg, Color::Red);
        }
    }
}
