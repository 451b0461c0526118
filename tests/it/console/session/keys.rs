use super::*;
use pilotlight::engine::OpenGate;

// ---------------------------------------------------------------------------------------------
// Keys to commands.

pub(crate) fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// A view of the runbook with step `id` in `state` (built by hand: only what the keys look at).
pub(crate) fn view_at(mode: ViewMode, id: &str, st: StepState) -> Arc<RunView> {
    let runbook = load();
    let estimate = estimate_rto(&runbook, &BTreeMap::new());
    let mut v = RunView::new(runbook.clone(), mode, "alice", "x", estimate, t0());
    v.current = runbook.steps.iter().position(|s| s.id == id).unwrap();
    v.status = if st == StepState::Failed {
        RunStatus::Blocked(format!("step `{id}` failed"))
    } else {
        RunStatus::Running
    };
    v.started_at = Some(t0());
    for s in &mut v.steps[..v.current] {
        s.state = StepState::Done;
    }
    v.steps[v.current].state = st;
    // What the engine would say is open: this step's gate, while it waits at it.
    v.open_gate = runbook.steps[v.current]
        .gate
        .clone()
        .filter(|_| st == StepState::AwaitingGate)
        .map(|gate| OpenGate {
            step: v.current,
            rollback: false,
            gate,
        });
    Arc::new(v)
}

pub(crate) fn press(app: &mut App, keys: &[KeyCode]) -> Vec<Command> {
    keys.iter().filter_map(|k| app.on_key(key(*k))).collect()
}

pub(crate) fn chars(s: &str) -> Vec<KeyCode> {
    s.chars().map(KeyCode::Char).collect()
}

pub(crate) fn gate_field(app: &App) -> Field {
    match &app.popup {
        Some(Popup::Gate(g)) => {
            let gate = app.view.runbook.steps[g.step].gate.clone();
            g.field(gate.as_ref())
        }
        other => panic!("no gate open: {other:?}"),
    }
}

#[test]
pub(crate) fn gate_focus_never_starts_on_proceed_and_enter_alone_never_approves() {
    // Every gated step of the runbook: confirm, confirm + reason, typed + reason.
    for step in load().steps.iter().filter(|s| s.gate.is_some()) {
        let mut app = App::new(view_at(ViewMode::Drill, &step.id, StepState::AwaitingGate));
        assert!(press(&mut app, &[KeyCode::Char('g')]).is_empty());
        assert_ne!(gate_field(&app), Field::Proceed, "{}", step.id);
        // Enter, again and again, never approves: it walks the text fields and stays in the
        // last one (saying how to go on); a gate without fields starts on Cancel, so Enter
        // cancels it, and the cancel is a decision for the journal.
        let mut got = Vec::new();
        for _ in 0..10 {
            got.extend(press(&mut app, &[KeyCode::Enter]));
            if app.popup.is_none() {
                break;
            }
        }
        let approved = got
            .iter()
            .any(|c| matches!(c, Command::Gate(d) if d.approve));
        assert!(!approved, "{}: {got:?}", step.id);
        let has_fields = step
            .gate
            .as_ref()
            .is_some_and(|g| g.typed.is_some() || g.reason != ReasonPolicy::None);
        assert_eq!(app.popup.is_some(), has_fields, "{}", step.id);
    }
}

#[test]
pub(crate) fn esc_cancels_every_popup_without_a_command() {
    for (id, st, open) in [
        ("promote-replica", StepState::AwaitingGate, 'g'),
        ("decide", StepState::AwaitingGate, 's'),
        ("decide", StepState::AwaitingGate, 'A'),
        ("start-app-1", StepState::Failed, 'r'),
        ("decide", StepState::AwaitingGate, '?'),
    ] {
        let mut app = App::new(view_at(ViewMode::Drill, id, st));
        let mut keys = vec![KeyCode::Char(open)];
        keys.extend(chars("shop-db-replica-usw2"));
        keys.push(KeyCode::Tab);
        keys.extend(chars("a reason"));
        keys.push(KeyCode::Esc);
        let commands = press(&mut app, &keys);
        // Esc on a gate is a decision not to pass it (journaled as cancelled), never approval.
        let cancel_only = commands
            .iter()
            .all(|c| matches!(c, Command::Gate(d) if !d.approve));
        assert!(
            cancel_only && (open == 'g' || commands.is_empty()),
            "{open}: {commands:?}"
        );
        assert!(app.popup.is_none(), "{open}");
        assert!(!app.quit, "{open}: typing q in a popup must not quit");
    }
    // The filter too: Esc clears it.
    let mut app = App::new(view_at(ViewMode::Drill, "decide", StepState::AwaitingGate));
    press(
        &mut app,
        &[KeyCode::Char('/'), KeyCode::Char('a'), KeyCode::Esc],
    );
    assert!(app.filter.is_empty() && !app.filter_editing);
}

#[test]
pub(crate) fn a_typed_gate_approves_only_the_exact_phrase_with_a_reason() {
    let mut app = App::new(view_at(
        ViewMode::Drill,
        "promote-replica",
        StepState::AwaitingGate,
    ));
    press(&mut app, &[KeyCode::Char('g')]);
    assert_eq!(gate_field(&app), Field::Typed);
    // Wrong phrase (a prefix, then different case), reason given: refused in the popup.
    for wrong in [
        "shop-db-replica",
        "SHOP-DB-REPLICA-USW2",
        "shop-db-replica-usw2 ",
    ] {
        let mut a = App::new(app.view.clone());
        let mut keys = vec![KeyCode::Char('g')];
        keys.extend(chars(wrong));
        keys.push(KeyCode::Tab);
        keys.extend(chars("IC approved"));
        keys.extend([KeyCode::Tab, KeyCode::Enter]);
        assert!(press(&mut a, &keys).is_empty(), "{wrong:?}");
        match &a.popup {
            Some(Popup::Gate(g)) => {
                assert!(g.error.as_deref().unwrap().contains("exactly"), "{wrong:?}");
                assert_eq!(g.focus, Some(Field::Typed));
            }
            other => panic!("{wrong:?}: {other:?}"),
        }
    }
    // Right phrase, no reason: refused, focus on the reason.
    let mut keys = chars("shop-db-replica-usw2");
    keys.extend([KeyCode::Tab, KeyCode::Tab, KeyCode::Enter]);
    assert!(press(&mut app, &keys).is_empty());
    assert_eq!(gate_field(&app), Field::Reason);
    // Backspace edits; Right in a text field is no shortcut; Tab from the reason reaches Proceed.
    let mut keys = chars("IC approvedX");
    keys.push(KeyCode::Backspace);
    keys.extend([KeyCode::Right, KeyCode::Tab, KeyCode::Enter]);
    let got = press(&mut app, &keys);
    assert_eq!(
        got,
        [Command::Gate(GateDecision {
            approve: true,
            typed: Some("shop-db-replica-usw2".into()),
            reason: Some("IC approved".into()),
            unattended: false,
        })]
    );
    assert!(app.popup.is_none());
}

#[test]
pub(crate) fn confirm_gate_tab_enter_approves() {
    let mut app = App::new(view_at(
        ViewMode::Drill,
        "start-app-1",
        StepState::AwaitingGate,
    ));
    let got = press(
        &mut app,
        &[KeyCode::Char('g'), KeyCode::Tab, KeyCode::Enter],
    );
    assert_eq!(
        got,
        [Command::Gate(GateDecision {
            approve: true,
            typed: None,
            reason: None,
            unattended: false,
        })]
    );
}

#[test]
pub(crate) fn reasons_manual_done_and_their_refusals() {
    let at_gate = view_at(ViewMode::Drill, "decide", StepState::AwaitingGate);
    // Skip and abort ask why; an empty answer is not one.
    for (k, want) in [
        ('s', Command::Skip("not needed".into())),
        ('A', Command::Abort("not needed".into())),
    ] {
        let mut app = App::new(at_gate.clone());
        assert!(press(&mut app, &[KeyCode::Char(k), KeyCode::Enter]).is_empty());
        assert!(matches!(app.popup, Some(Popup::Reason(_))));
        let mut keys = chars("  not needed ");
        keys.push(KeyCode::Enter);
        assert_eq!(press(&mut app, &keys), [want]);
    }
    // Retry only a failed step.
    let mut app = App::new(at_gate.clone());
    assert!(press(&mut app, &[KeyCode::Char('r')]).is_empty());
    assert!(app.popup.is_none() && app.message.is_some());
    let mut app = App::new(view_at(ViewMode::Drill, "start-app-1", StepState::Failed));
    let mut keys = vec![KeyCode::Char('r')];
    keys.extend(chars("capacity back"));
    keys.push(KeyCode::Enter);
    assert_eq!(
        press(&mut app, &keys),
        [Command::Retry("capacity back".into())]
    );
    // Done only for a manual step in progress.
    let mut app = App::new(at_gate.clone());
    assert!(press(&mut app, &[KeyCode::Char('d')]).is_empty());
    assert!(app.message.is_some());
    let mut app = App::new(view_at(ViewMode::Drill, "decide", StepState::Running));
    assert_eq!(
        press(&mut app, &[KeyCode::Char('d')]),
        [Command::ManualDone]
    );
    let mut app = App::new(view_at(ViewMode::Drill, "start-app-1", StepState::Running));
    assert!(press(&mut app, &[KeyCode::Char('d')]).is_empty());
    // No gate waiting: g says so.
    let mut app = App::new(view_at(ViewMode::Drill, "decide", StepState::Running));
    assert!(press(&mut app, &[KeyCode::Char('g')]).is_empty());
    assert!(app.popup.is_none());
    assert_eq!(app.message.as_deref(), Some("no gate is waiting for you"));
}

/// Every key a terminal can send that matters here: printable characters (with and without
/// modifiers) and the special keys.
pub(crate) fn every_key() -> Vec<KeyEvent> {
    let mut codes: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
    codes.extend("éßЖ→✓€\u{7f}\u{1b}\t\r\n\u{0}".chars().map(KeyCode::Char));
    codes.extend([
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Insert,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Null,
        KeyCode::CapsLock,
        KeyCode::Menu,
    ]);
    codes.extend((1..=24).map(KeyCode::F));
    let mut keys = Vec::new();
    for m in [
        KeyModifiers::NONE,
        KeyModifiers::SHIFT,
        KeyModifiers::CONTROL,
        KeyModifiers::ALT,
        KeyModifiers::SUPER,
        KeyModifiers::CONTROL | KeyModifiers::SHIFT,
    ] {
        for c in &codes {
            keys.push(KeyEvent::new(*c, m));
        }
    }
    keys
}

#[test]
pub(crate) fn read_only_console_makes_no_command_whatever_key_is_pressed() {
    for (id, st) in [
        ("replica-lag", StepState::AwaitingGate),
        ("promote-replica", StepState::AwaitingGate),
        ("decide", StepState::Running),
        ("start-app-1", StepState::Failed),
    ] {
        let view = view_at(ViewMode::ReadOnly, id, st);
        // Each key alone, on a fresh console...
        for k in every_key() {
            let mut app = App::new(view.clone());
            assert_eq!(app.on_key(k), None, "{id}: {k:?}");
            assert!(
                !matches!(app.popup, Some(Popup::Gate(_) | Popup::Reason(_))),
                "{id}: {k:?} opened {:?}",
                app.popup
            );
        }
        // ...and all of them in a row on one console (whatever state the keys lead to), and the
        // sequences that would decide in a drill.
        let mut app = App::new(view.clone());
        for k in every_key() {
            assert_eq!(app.on_key(k), None, "{id}: {k:?}");
            assert!(!matches!(
                app.popup,
                Some(Popup::Gate(_) | Popup::Reason(_))
            ));
        }
        let mut app = App::new(view.clone());
        let mut keys = vec![KeyCode::Char('g'), KeyCode::Tab, KeyCode::Enter];
        keys.extend(chars("gshop-db-replica-usw2"));
        keys.extend([
            KeyCode::Tab,
            KeyCode::Char('x'),
            KeyCode::Tab,
            KeyCode::Tab,
            KeyCode::Enter,
        ]);
        keys.extend(chars("dsA"));
        keys.push(KeyCode::Enter);
        keys.extend(chars("r because"));
        keys.push(KeyCode::Enter);
        assert!(press(&mut app, &keys).is_empty(), "{id}");
    }
}

#[test]
pub(crate) fn keymap_drives_the_footer_and_the_help() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    for mode in [ViewMode::Drill, ViewMode::Live, ViewMode::ReadOnly] {
        let mut app = App::new(view_at(mode, "decide", StepState::AwaitingGate));
        let mut term = Terminal::new(TestBackend::new(120, 36)).unwrap();
        term.draw(|f| screen::render(f, &app, Theme { color: true }))
            .unwrap();
        let footer: String = {
            let buf = term.backend().buffer();
            (0..120)
                .map(|x| buf[(x, 35)].symbol().to_string())
                .collect()
        };
        for b in bindings(mode).filter(|b| b.in_footer) {
            let hint = format!("{} {}", key_name(b.key), b.label);
            assert!(footer.contains(&hint), "{mode:?}: {hint} not in {footer}");
        }
        app.on_key(key(KeyCode::Char('?')));
        term.draw(|f| screen::render(f, &app, Theme { color: true }))
            .unwrap();
        let buf = term.backend().buffer();
        let screen: String = (0..36)
            .map(|y| {
                (0..120)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        // Every key of this mode is explained, and nothing that changes the run in read-only.
        for b in BINDINGS {
            // One help line per action, listing every key bound to it.
            let first = BINDINGS.iter().find(|x| x.action == b.action).unwrap_or(b);
            // A read-only console's q resumes nothing: its help says so.
            let help = match (mode, b.action) {
                (ViewMode::ReadOnly, pilotlight::tui::keymap::Action::Quit) => {
                    "quit (the run goes on)"
                }
                _ => first.help,
            };
            let shown = screen
                .lines()
                .any(|l| l.contains(help) && l.contains(&key_name(b.key)));
            let bound = mode != ViewMode::ReadOnly || !b.changes_run;
            assert_eq!(shown, bound, "{mode:?}: {:?} {}", b.key, first.help);
        }
    }
}

#[test]
pub(crate) fn a_refusing_mutator_refuses_every_change() {
    let rt = paused_runtime();
    let runbook = load();
    let world = ReadOnly(SimWorld::new(
        runbook.clone(),
        sim::default_for(&runbook),
        t0(),
    ));
    // `start` needs an approval, which only the engine mints: the drill above covers it. Here
    // the other two calls, with a plan rendered from the runbook.
    let step = runbook.step("start-app-1").unwrap();
    let StepBody::Action { call, resource, .. } = &step.body else {
        panic!()
    };
    let res = &runbook.resources[resource];
    let plan = pilotlight::engine::render(
        call,
        res,
        &step.id,
        1,
        "run",
        &pilotlight::model::Outputs::default(),
    )
    .unwrap();
    rt.block_on(async {
        assert!(matches!(
            world.poll(&plan, t0()).await,
            Err(CloudError::Refused(_))
        ));
        assert!(matches!(
            world.reconcile(&plan, t0()).await,
            Err(CloudError::Refused(_))
        ));
    });
}

#[test]
fn a_gate_forgets_its_complaint_once_the_operator_types_again() {
    let step = load()
        .steps
        .iter()
        .find(|s| s.gate.as_ref().is_some_and(|g| g.typed.is_some()))
        .unwrap()
        .clone();
    let mut app = App::new(view_at(ViewMode::Drill, &step.id, StepState::AwaitingGate));
    press(&mut app, &[KeyCode::Char('g')]);
    press(&mut app, &chars("nope"));
    // To Proceed (past the reason field), Enter: refused, and said.
    press(&mut app, &[KeyCode::Tab, KeyCode::Tab, KeyCode::Enter]);
    let error = |app: &App| match &app.popup {
        Some(Popup::Gate(g)) => g.error.clone(),
        other => panic!("{other:?}"),
    };
    assert!(error(&app).is_some_and(|e| e.contains("exactly")));
    // Focus went back to the phrase; the first key typed clears the complaint.
    press(&mut app, &[KeyCode::Backspace]);
    assert_eq!(error(&app), None);
}
