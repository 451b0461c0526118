//! What a fresh-eyes review of the console found, each pinned by a test: a notice there before
//! the console started, a selection that follows its resource (not its row), the detail of the
//! step picked, messages that come and go with their cause, a paused audit pane that stays put.

use super::*;
use pilotlight::tui::app::Pane;

#[test]
fn a_notice_there_before_the_console_started_is_shown() {
    let d = at_first_gate();
    let mut view = (*d.app(ViewMode::ReadOnly).view).clone();
    view.notice = Some("cannot follow /tmp/typo.jsonl: No such file".into());
    let app = App::new(Arc::new(view));
    let screen = text(&draw(&app, 80, 24, Theme { color: true }));
    assert!(screen.contains("cannot follow /tmp/typo.jsonl"), "{screen}");
}

#[test]
fn a_notice_gone_takes_its_message_with_it_and_does_not_come_back_over_others() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::ReadOnly);
    let mut torn = (*app.view).clone();
    torn.notice = Some("the journal's last line (16) is torn".into());
    torn.version += 1;
    app.set_view(Arc::new(torn.clone()));
    assert_eq!(app.message.as_deref(), torn.notice.as_deref());
    // The same notice again (the clock ticking) does not overwrite what the operator did.
    app.on_key(key(KeyCode::BackTab));
    app.on_key(key(KeyCode::Char('y')));
    let copied = app.message.clone();
    assert!(
        copied.as_deref().unwrap_or("").starts_with("copied "),
        "{copied:?}"
    );
    torn.version += 1;
    app.set_view(Arc::new(torn.clone()));
    assert_eq!(app.message, copied);
    // Esc clears it, and it stays cleared while the notice stands.
    app.on_key(key(KeyCode::Esc));
    torn.version += 1;
    app.set_view(Arc::new(torn.clone()));
    assert_eq!(app.message, None);
    // A new notice shows; once its cause is gone, so is it.
    torn.notice = Some("cannot follow j.jsonl: No such file".into());
    app.set_view(Arc::new(torn.clone()));
    assert!(app.message.is_some());
    torn.notice = None;
    app.set_view(Arc::new(torn));
    assert_eq!(app.message, None);
}

#[test]
fn the_selected_resource_stays_selected_when_the_filtered_rows_change() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::BackTab));
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "ok");
    app.on_key(key(KeyCode::Enter));
    let shown = app
        .visible_resources()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    let pick = shown.iter().position(|n| n == "app-2").unwrap();
    for _ in 0..pick {
        app.on_key(key(KeyCode::Down));
    }
    assert_eq!(app.visible_resources()[app.resource_row], "app-2");
    // shop-db recovers: it now passes the filter, ahead of app-2.
    let mut view = (*app.view).clone();
    view.observations.get_mut("shop-db").unwrap().health = pilotlight::runbook::Health::Ok;
    view.version += 1;
    app.set_view(Arc::new(view));
    assert_eq!(app.visible_resources()[app.resource_row], "app-2");
    app.on_key(key(KeyCode::Char('y')));
    assert_eq!(app.clipboard.as_deref(), Some("i-0abc1234def567802"));
    // A selection whose resource no longer passes the filter stays on a row that exists.
    let mut view = (*app.view).clone();
    for o in view.observations.values_mut() {
        o.health = pilotlight::runbook::Health::Unavailable;
    }
    view.observations.get_mut("app-1").unwrap().health = pilotlight::runbook::Health::Ok;
    view.version += 1;
    app.set_view(Arc::new(view));
    assert_eq!(app.visible_resources(), ["app-1"]);
    assert_eq!(app.resource_row, 0);
}

#[test]
fn the_detail_pane_keeps_the_step_picked_in_the_list() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    let picked = app.view.runbook.steps[app.shown_step()].id.clone();
    assert_ne!(picked, "replica-lag");
    // Enter opens it in the detail pane (the focus moves there): still the picked step.
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.focus, Pane::Detail);
    assert_eq!(app.view.runbook.steps[app.shown_step()].id, picked);
    let screen = text(&draw(&app, 80, 24, Theme { color: true }));
    assert!(screen.contains(&format!("┌ Step {picked} ")), "{screen}");
    // Elsewhere (the audit pane), the detail follows the run again.
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.view.runbook.steps[app.shown_step()].id, "replica-lag");
}

#[test]
fn a_paused_audit_pane_stays_on_its_records_as_new_ones_arrive() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    app.focus = Pane::Audit;
    app.on_key(key(KeyCode::Up));
    app.on_key(key(KeyCode::Up));
    let before = text(&draw(&app, 80, 24, Theme { color: true }));
    let shown = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with('│') && l.contains(" #"))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    // A full tail moves on by a record: the oldest leaves, a newer one comes.
    let mut view = (*app.view).clone();
    let mut newest = view.tail.back().unwrap().clone();
    for _ in 0..3 {
        newest.seq += 1;
        view.tail.push_back(newest.clone());
        view.tail.pop_front();
    }
    view.version += 1;
    app.set_view(Arc::new(view));
    let after = text(&draw(&app, 80, 24, Theme { color: true }));
    assert!(after.contains("PAUSED"), "{after}");
    assert_eq!(shown(&before), shown(&after), "{before}\n{after}");
}

#[test]
fn the_header_says_how_far_behind_the_journals_mirror_is() {
    let d = at_first_gate();
    let mut view = (*d.app(ViewMode::Drill).view).clone();
    let app = App::new(Arc::new(view.clone()));
    let screen = text(&draw(&app, 80, 24, Theme { color: true }));
    assert!(
        !screen.contains("mirror"),
        "no store, no word of it: {screen}"
    );
    view.mirror_behind = Some(12);
    let app = App::new(Arc::new(view.clone()));
    for (w, h) in [(60, 16), (80, 24), (200, 50)] {
        let screen = text(&draw(&app, w, h, Theme { color: true }));
        let header = screen.lines().next().unwrap_or_default();
        assert!(header.contains("mirror -12"), "{w}x{h}: {header}");
        assert!(header.contains("T+00:"), "the clock stays: {header}");
    }
}
