//! Snapshot tests of the views added for people under stress: `/` on every pane, the timeline,
//! the command line, `y` and the mouse, at 60×16, 80×24 and 200×50. Same harness as the rest
//! of the snapshots (`super`).

use super::*;
use pilotlight::engine::objectives::Verdict;
use pilotlight::tui::app::{Pane, Screen};

#[test]
fn filter_being_typed() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    // `/` filters the focused pane: here the resources.
    app.on_key(key(KeyCode::BackTab));
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "app");
    let screen = text(&snapshot("filter_typing", &app, 120, 36));
    assert!(screen.contains("Resources (2) /app"), "{screen}");
    assert!(
        screen.contains("/app▏  filters resources · Enter keeps"),
        "{screen}"
    );
    assert!(!screen.contains("shop-db-replica  "), "{screen}");
    assert!(
        screen.contains("┌ Steps 3/17 ─"),
        "the steps stay whole: {screen}"
    );
}

#[test]
fn slash_filters_the_steps_and_the_audit_pane_too() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    // The step list (focused at the start): by id, title or state.
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "start-app");
    app.on_key(key(KeyCode::Enter));
    let screen = text(&snapshot("filter_steps", &app, 80, 24));
    assert!(screen.contains("(2 shown) /start-app"), "{screen}");
    assert!(
        screen.contains("start-app-1") && screen.contains("start-app-2"),
        "{screen}"
    );
    assert!(!screen.contains("confirm-impact"), "{screen}");
    assert!(
        screen.contains("Resources (6)"),
        "resources stay whole: {screen}"
    );
    // Moving picks among the shown steps only.
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.view.runbook.steps[app.shown_step()].id, "start-app-2");
    // The audit pane: only the records that say it.
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "gate-shown");
    app.on_key(key(KeyCode::Enter));
    let screen = text(&snapshot("filter_audit", &app, 120, 36));
    assert!(screen.contains("shown) /gate-shown"), "{screen}");
    let audit: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Audit journal"))
        .skip(1)
        .take_while(|l| !l.contains('└'))
        .filter(|l| l.contains('#'))
        .collect();
    assert!(
        !audit.is_empty() && audit.iter().all(|l| l.contains("gate-shown")),
        "{screen}"
    );
    // A new filter on one pane clears the other's; Esc clears it.
    assert_eq!(app.visible_steps().len(), 17);
    app.on_key(key(KeyCode::Esc));
    assert!(app.filter.is_empty());
}

/// A drill some way in: the first steps done (one late), waiting at the gate of `resize-db`.
fn part_way() -> Drive {
    let mut d = Drive::new("part-way", None);
    d.until_gate_of("start-app-1");
    // The team takes its time over the first start: past its expected 3m.
    d.wait(240);
    d.until_gate_of("resize-db");
    d.wait(90);
    d
}

#[test]
fn the_timeline_draws_each_step_against_its_expectation_the_rto_and_the_projection() {
    let d = part_way();
    let mut app = d.app(ViewMode::Drill);
    assert_eq!(app.on_key(key(KeyCode::Char('t'))), None);
    for (w, h) in [(60, 16), (80, 24), (200, 50)] {
        let screen = text(&snapshot("timeline", &app, w, h));
        assert!(
            screen.contains("Timeline · RTO 1h · projected "),
            "{screen}"
        );
        // The current step is picked, and the lines are named in the legend.
        assert!(screen.contains("▶resize-db"), "{screen}");
        assert!(screen.contains("│ RTO 1h"), "{screen}");
        assert!(screen.contains("┆ proj"), "{screen}");
        assert!(screen.contains("T+"), "{screen}");
        // Bars: what was expected, and what it took.
        assert!(screen.contains('░') && screen.contains('█'), "{screen}");
    }
    let screen = text(&draw(&app, 200, 50, Theme { color: true }));
    for step in &app.view.runbook.steps {
        assert!(
            screen.contains(&format!(" {} ", step.id))
                || screen.contains(&format!("▶{} ", step.id)),
            "{} in {screen}",
            step.id
        );
    }
    // The late step's bar runs past its expectation in the warning colour.
    let buf = draw(&app, 200, 50, Theme { color: true });
    let (_, y) = find(&buf, " start-app-1 ");
    let warned = (0..200).any(|x| {
        let c = &buf[(x, y)];
        c.symbol() == "█" && c.style().fg == Theme { color: true }.verdict(Verdict::Warning).fg
    });
    assert!(warned, "{}", text(&buf));
    // Up and Down pick steps; Enter opens the picked one in the main screen's detail.
    app.on_key(key(KeyCode::Up));
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Main);
    assert_eq!(app.focus, Pane::Steps);
    assert_ne!(app.view.runbook.steps[app.shown_step()].id, "resize-db");
    // `t` or Esc go back; `:timeline` comes again.
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "timeline");
    assert_eq!(app.on_key(key(KeyCode::Enter)), None);
    assert_eq!(app.screen, Screen::Timeline);
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Main);
}

#[test]
fn a_finished_drill_on_the_timeline() {
    let mut d = Drive::new("timeline-finished", None);
    d.run_to_the_end();
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('t')));
    let screen = text(&snapshot("timeline_finished", &app, 120, 36));
    assert!(screen.contains("╎ now T+"), "{screen}");
}

#[test]
fn the_command_line_completes_and_jumps() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    assert_eq!(app.on_key(key(KeyCode::Char(':'))), None);
    type_text(&mut app, "s");
    app.on_key(key(KeyCode::Tab));
    // Several words fit: they are listed.
    for (w, h) in [(60, 16), (80, 24), (200, 50)] {
        let screen = text(&snapshot("command_choices", &app, w, h));
        assert!(screen.contains(":s▏"), "{screen}");
    }
    let line = app.command.clone().unwrap();
    assert_eq!(line.choices, ["skip", "step"]);
    // One fits: it is finished, with a space for the name.
    type_text(&mut app, "te");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.command.as_ref().unwrap().text, "step ");
    type_text(&mut app, "start");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.command.as_ref().unwrap().text, "step start-app-");
    type_text(&mut app, "2");
    assert_eq!(app.on_key(key(KeyCode::Enter)), None);
    assert!(app.command.is_none());
    assert_eq!(app.focus, Pane::Steps);
    assert_eq!(app.view.runbook.steps[app.shown_step()].id, "start-app-2");
    let screen = text(&snapshot("command_step_jump", &app, 80, 24));
    assert!(screen.contains("┌ Step start-app-2 "), "{screen}");
    // `:resource NAME` opens the resource's detail.
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "resource shop-db-r");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(
        app.command.as_ref().unwrap().text,
        "resource shop-db-replica"
    );
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.popup, Some(Popup::Resource("shop-db-replica".into())));
    assert_eq!(app.focus, Pane::Resources);
    for (w, h) in [(60, 16), (80, 24), (200, 50)] {
        let screen = text(&snapshot("command_resource", &app, w, h));
        assert!(
            screen.contains("shop-db-replica-usw2"),
            "the AWS id at {w}x{h}: {screen}"
        );
    }
    app.on_key(key(KeyCode::Esc));
    // A key's word does what the key does: `:gate` opens the gate.
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "gate");
    assert_eq!(app.on_key(key(KeyCode::Enter)), None);
    assert!(matches!(app.popup, Some(Popup::Gate(_))));
    app.on_key(key(KeyCode::Esc));
    // Unknown words and names say what to do; Esc drops the line.
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "stpe x");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(
        app.message.as_deref(),
        Some("no command `:stpe`; Tab after `:` lists them")
    );
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "step nope");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(
        app.message.as_deref(),
        Some("no step `nope`; Tab after `:step ` lists them")
    );
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "quit");
    app.on_key(key(KeyCode::Esc));
    assert!(app.command.is_none() && !app.quit);
}

#[test]
fn a_read_only_command_line_offers_nothing_that_changes_the_run() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::ReadOnly);
    app.on_key(key(KeyCode::Char(':')));
    app.on_key(key(KeyCode::Tab));
    let choices = app.command.as_ref().unwrap().choices.clone();
    for word in ["gate", "done", "retry", "skip", "abort", "rollback"] {
        assert!(!choices.iter().any(|c| c == word), "{word} in {choices:?}");
    }
    assert!(choices.iter().any(|c| c == "timeline"), "{choices:?}");
    type_text(&mut app, "gate");
    assert_eq!(app.on_key(key(KeyCode::Enter)), None);
    assert!(app.popup.is_none());
    assert_eq!(
        app.message.as_deref(),
        Some("`:gate` changes the run: not here (read-only)")
    );
}

#[test]
fn y_copies_the_focused_aws_id() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    // In the resource table: the selected resource's id.
    app.on_key(key(KeyCode::BackTab));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.on_key(key(KeyCode::Char('y'))), None);
    assert_eq!(
        app.clipboard.take().as_deref(),
        Some("shop-db-replica-usw2")
    );
    assert_eq!(
        app.message.as_deref(),
        Some("copied shop-db-replica's AWS id: shop-db-replica-usw2 (OSC 52)")
    );
    // In a resource's detail, the same.
    app.on_key(key(KeyCode::Enter));
    let screen = text(&snapshot("resource_detail", &app, 60, 16));
    assert!(screen.contains("y copies the AWS id"), "{screen}");
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.clipboard.take().as_deref(),
        Some("shop-db-replica-usw2")
    );
    assert!(app.popup.is_some(), "y does not close the detail");
    app.on_key(key(KeyCode::Esc));
    // In the steps: the step's resource (the step made nothing yet).
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "step start-app-1");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('y')));
    let app1 = app.view.runbook.resources["app-1"].id.clone();
    assert_eq!(app.clipboard.take(), Some(app1));
}

#[test]
fn the_mouse_focuses_picks_and_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    let size = ratatui::layout::Rect::new(0, 0, 80, 24);
    let buf = draw(&app, 80, 24, Theme { color: true });
    let click = |x: u16, y: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    // A click on a resource's row focuses the table and picks that row.
    let (x, y) = find(&buf, "app-2 ");
    app.on_mouse(click(x, y), size);
    assert_eq!(app.focus, Pane::Resources);
    assert_eq!(app.visible_resources()[app.resource_row], "app-2");
    // A click on a step picks it.
    let (x, y) = find(&buf, "decide");
    app.on_mouse(click(x, y), size);
    assert_eq!(app.focus, Pane::Steps);
    assert_eq!(app.view.runbook.steps[app.shown_step()].id, "decide");
    // The wheel over the audit pane focuses and scrolls it (it pauses).
    let (x, y) = find(&buf, "Audit journal");
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: x,
        row: y + 2,
        modifiers: KeyModifiers::NONE,
    };
    app.on_mouse(wheel, size);
    assert_eq!(app.focus, Pane::Audit);
    assert!(app.audit_at.is_some());
    let screen = text(&snapshot("mouse_audit_paused", &app, 80, 24));
    assert!(screen.contains("PAUSED (End follows)"), "{screen}");
    // Popups are modal: a click behind one does nothing.
    app.on_key(key(KeyCode::Char('?')));
    app.on_mouse(click(x, y), size);
    assert_eq!(app.focus, Pane::Audit);
    assert_eq!(app.popup, Some(Popup::Help));
}

#[test]
fn every_popup_and_mode_at_the_three_sizes() {
    let d = at_first_gate();
    let sizes = [(60, 16), (80, 24), (200, 50)];
    // Help, the gate and a reason prompt in a drill; the read-only console.
    let mut help = d.app(ViewMode::Drill);
    help.on_key(key(KeyCode::Char('?')));
    let mut gate = d.app(ViewMode::Drill);
    gate.on_key(key(KeyCode::Char('g')));
    let mut reason = d.app(ViewMode::Drill);
    reason.on_key(key(KeyCode::Char('s')));
    let read_only = d.app(ViewMode::ReadOnly);
    // Quitting a live run with a change request out.
    let mut out = (*d.app(ViewMode::Live).view).clone();
    out.change_out = Some("replica-lag".into());
    let mut quit = App::new(Arc::new(out));
    quit.on_key(key(KeyCode::Char('q')));
    assert_eq!(quit.popup, Some(Popup::ConfirmQuit));
    assert!(!quit.quit);
    for (name, app, must) in [
        ("every_help", &help, "Esc or ? closes"),
        ("every_gate", &gate, "GATE: replica-lag"),
        ("every_reason", &reason, "Skip step replica-lag"),
        ("every_read_only", &read_only, "READ-ONLY"),
        ("every_quit", &quit, "Quit with a request out?"),
    ] {
        for (w, h) in sizes {
            let screen = text(&snapshot(name, app, w, h));
            assert!(screen.contains(must), "{name} at {w}x{h}: {screen}");
        }
    }
}

#[test]
fn a_wide_window_shows_every_resources_aws_id() {
    let d = at_first_gate();
    let app = d.app(ViewMode::Drill);
    let screen = text(&draw(&app, 200, 50, Theme { color: true }));
    assert!(
        screen.contains("NAME") && screen.contains("AWS ID"),
        "{screen}"
    );
    for res in app.view.runbook.resources.values() {
        let row = screen
            .lines()
            .find(|l| l.starts_with(&format!("│{} ", res.name)))
            .unwrap_or_else(|| panic!("{} in {screen}", res.name));
        assert!(row.contains(&format!(" {} ", res.id)), "{row}");
    }
}

#[test]
fn a_gate_confirmed_waits_for_a_second_approver_and_says_how() {
    let mut d = Drive::new("second-approver", None);
    d.until_gate_of("promote-replica");
    // As the view is once the operator's half of a two-approver gate is journaled.
    let mut view = d.view(ViewMode::Drill);
    let i = view.current;
    view.steps[i].confirmed = Some(pilotlight::audit::event::GateApproved::default());
    view.open_gate = None;
    view.approve_url = Some("/srv/dr/runs/pilot-light-failover/r1".into());
    let app = App::new(Arc::new(view));
    let screen = text(&snapshot("drill_second_approver", &app, 120, 36));
    assert!(
        screen.contains("GATE confirmed: waiting for a second approver"),
        "{screen}"
    );
    assert!(
        screen.contains("pilotlight approve /srv/dr/runs/pilot-light-failover/r1"),
        "{screen}"
    );
    assert!(screen.contains("promote-replica 2nd approver"), "{screen}");
    assert!(
        !screen.contains("press g"),
        "not the operator's move: {screen}"
    );
    // `y` copies what the second approver needs.
    let mut app = app;
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(
        app.message.as_deref(),
        Some("copied the run's URL for `pilotlight approve`: /srv/dr/runs/pilot-light-failover/r1 (OSC 52)")
    );
}
