//! The console's screens as text, at fixed sizes and a fixed clock: `TestBackend` snapshots of
//! the main screen in each mode, a gate waiting, a blocked step, every popup, the filter being
//! typed, a breached RPO and a terminal that is too small. Snapshots are text only, so the
//! colours that carry meaning are asserted directly from the buffer.
//!
//! The views come from a real engine and the simulated world driven by a small deterministic
//! loop (simulated time only moves when this file moves it), so they look exactly like what a
//! drill shows, down to the journal tail.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test --test it console::snapshots` rewrites the files under
//! `tests/snapshots/`; review the diff before committing it.

use crate::common::{load_runbook, root, t0, temp_dir};

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pilotlight::audit::{Journal, Mode, Record};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::cloud::{Change, Gated, Mutate, Observe};
use pilotlight::engine::objectives::{estimate_rto, projected_recovery, RtoEstimate};
use pilotlight::engine::{Effect, Engine, GateDecision, Input, RunStatus, StepState};
use pilotlight::runbook::StepBody;
use pilotlight::runtime::session::Command;
use pilotlight::runtime::view::{RunView, ViewMode, TAIL};
use pilotlight::tui::app::{App, Popup};
use pilotlight::tui::screen;
use pilotlight::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";
const JOURNAL_SHOWN: &str =
    "/home/alice/.local/share/pilotlight/journals/pilot-light-failover-20261121T030000Z-drill.jsonl";

// ---------------------------------------------------------------------------------------------
// A deterministic drill: the engine, a journal and the simulated world, with simulated time that
// moves only when the test says so. It performs effects the way the console's session does for
// a person at the keyboard (gates and manual steps wait for commands).

struct Drive {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    journal: Journal,
    world: SimWorld,
    estimate: RtoEstimate,
    now: DateTime<Utc>,
    inputs: VecDeque<Input>,
    timers: BTreeMap<DateTime<Utc>, Vec<Input>>,
    next_status: DateTime<Utc>,
    tail: VecDeque<Record>,
    notice: Option<String>,
    version: u64,
    dir: PathBuf,
}

impl Drop for Drive {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drive {
    fn new(name: &str, scenario: Option<&str>) -> Drive {
        let runbook = load_runbook(RUNBOOK);
        let prepared = match scenario {
            None => sim::default_for(&runbook),
            Some(text) => sim::parse_scenario(text, &runbook).unwrap(),
        };
        let dir = temp_dir(name);
        let journal =
            Journal::create(&dir.join("j.jsonl"), "alice", &runbook.id, Mode::Drill).unwrap();
        let estimate = estimate_rto(&runbook, &BTreeMap::new());
        let world = SimWorld::new(runbook.clone(), prepared, t0());
        let engine = Engine::new(runbook, "pilot-light-failover-20261121T030000.000Z");
        let mut d = Drive {
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            engine,
            journal,
            world,
            estimate,
            now: t0(),
            inputs: VecDeque::from([Input::Start]),
            timers: BTreeMap::new(),
            next_status: t0(),
            tail: VecDeque::new(),
            notice: None,
            version: 0,
            dir,
        };
        d.settle();
        d
    }

    fn perform(&mut self, effect: Effect) {
        let now = self.now;
        match effect {
            Effect::Record(entry) => {
                let record = self.journal.append(&entry).unwrap();
                if self.tail.len() == TAIL {
                    self.tail.pop_front();
                }
                self.tail.push_back(record);
                self.inputs.push_back(Input::Recorded);
            }
            Effect::ShowGate { .. } | Effect::AwaitOperator { .. } | Effect::Finished(_) => {}
            Effect::DoneAtGate { .. } => self.inputs.push_back(Input::ManualDone),
            Effect::Observe { resource } => {
                let res = self.engine.runbook().resources[&resource].clone();
                let status = self.rt.block_on(self.world.observe(&res, now));
                self.inputs.push_back(Input::Observed { resource, status });
            }
            Effect::Mutate { plan, approval } => {
                let result = self
                    .rt
                    .block_on(Gated(&self.world).start(&plan, &approval, now));
                self.inputs.push_back(Input::Started {
                    step: plan.step.clone(),
                    attempt: plan.attempt,
                    result,
                });
            }
            Effect::Poll { plan } => {
                let result = self.rt.block_on(self.world.poll(&plan, now));
                self.inputs.push_back(Input::Progress {
                    step: plan.step.clone(),
                    attempt: plan.attempt,
                    result,
                });
            }
            Effect::Reconcile { plan } => {
                let result = self.rt.block_on(self.world.reconcile(&plan, now));
                self.inputs.push_back(Input::Reconciled {
                    step: plan.step.clone(),
                    attempt: plan.attempt,
                    result,
                });
            }
            Effect::RunCommand { step, attempt, .. } => {
                // As in a drill: commands are never run; they "succeed" after their expected time.
                let takes = self
                    .engine
                    .runbook()
                    .step(&step)
                    .and_then(|s| s.expect_duration)
                    .unwrap_or_default();
                let at = now + TimeDelta::seconds(takes.as_secs() as i64);
                self.timers.entry(at).or_default().push(Input::CommandDone {
                    result: Ok((0, format!("drill-{step}"))),
                    step,
                    attempt,
                });
            }
            Effect::Refused(message) => self.notice = Some(message),
        }
    }

    /// Handles every queued input (and what it causes) at the current time.
    fn drain(&mut self) {
        if self.now >= self.next_status
            && matches!(
                self.engine.status(),
                RunStatus::Running | RunStatus::Blocked(_)
            )
        {
            let resources: Vec<_> = self.engine.runbook().resources.values().cloned().collect();
            for res in resources {
                let status = self.rt.block_on(self.world.observe(&res, self.now));
                self.inputs.push_back(Input::Observed {
                    resource: res.name.clone(),
                    status,
                });
            }
            self.next_status = self.now + TimeDelta::minutes(1);
        }
        let due: Vec<_> = self.timers.range(..=self.now).map(|(t, _)| *t).collect();
        for t in due {
            let inputs = self.timers.remove(&t).unwrap_or_default();
            self.inputs.extend(inputs);
        }
        while let Some(input) = self.inputs.pop_front() {
            for effect in self.engine.handle(input, self.now) {
                self.perform(effect);
            }
        }
        self.version += 1;
    }

    fn operator_needed(&self) -> bool {
        let i = self.engine.current();
        match self.engine.status() {
            RunStatus::Blocked(_) => true,
            RunStatus::Running if self.engine.open_gate().is_some() => true,
            RunStatus::Running if self.engine.rolling_back() => false,
            RunStatus::Running => {
                let step = &self.engine.runbook().steps[i];
                let run = &self.engine.steps()[i];
                run.state == StepState::AwaitingGate
                    || (run.state == StepState::Running && matches!(step.body, StepBody::Manual))
            }
            _ => false,
        }
    }

    fn next_wake(&self) -> DateTime<Utc> {
        [
            self.engine.next_wake(),
            self.timers.keys().next().copied(),
            Some(self.next_status),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap()
    }

    /// Runs until the run needs the operator or ends, jumping simulated time between events.
    fn settle(&mut self) {
        for _ in 0..100_000 {
            self.drain();
            if self.operator_needed()
                || matches!(
                    self.engine.status(),
                    RunStatus::Finished | RunStatus::Aborted(_)
                )
            {
                return;
            }
            self.now = self.next_wake().max(self.now);
            self.inputs.push_back(Input::Tick);
        }
        panic!("the drill never settled");
    }

    /// Lets `secs` simulated seconds pass (status rounds and timers included).
    fn wait(&mut self, secs: i64) {
        let until = self.now + TimeDelta::seconds(secs);
        while self.now < until {
            self.now = self
                .next_wake()
                .clamp(self.now + TimeDelta::seconds(1), until);
            self.inputs.push_back(Input::Tick);
            self.drain();
        }
    }

    fn send(&mut self, command: Command) {
        self.notice = None;
        self.inputs.push_back(command.into());
        self.settle();
    }

    fn current_id(&self) -> String {
        self.engine.runbook().steps[self.engine.current()]
            .id
            .clone()
    }

    fn state(&self) -> StepState {
        self.engine
            .steps()
            .get(self.engine.current())
            .map_or(StepState::Done, |s| s.state)
    }

    /// Passes the current gate the way a person does (typed phrase, a reason).
    fn approve(&mut self) {
        let gate = self.engine.open_gate().unwrap().gate;
        self.send(Command::Gate(GateDecision {
            approve: true,
            typed: gate.typed,
            reason: Some("IC said go".into()),
            unattended: false,
        }));
    }

    /// Works through the runbook until step `id` waits for its gate (or the run stops).
    fn until_gate_of(&mut self, id: &str) {
        for _ in 0..100 {
            if self.current_id() == id && self.state() == StepState::AwaitingGate {
                return;
            }
            match (self.engine.status(), self.state()) {
                (RunStatus::Running, StepState::AwaitingGate) => self.approve(),
                (RunStatus::Running, StepState::Running) => self.send(Command::ManualDone),
                (status, state) => panic!("stopped at {} ({state:?}, {status:?})", id),
            }
        }
        panic!("never reached the gate of {id}");
    }

    /// Works through the whole runbook, every gate approved, to its end.
    fn run_to_the_end(&mut self) {
        for _ in 0..100 {
            match (self.engine.status(), self.state()) {
                (RunStatus::Finished, _) => return,
                (RunStatus::Running, StepState::AwaitingGate) => self.approve(),
                (RunStatus::Running, StepState::Running) => self.send(Command::ManualDone),
                (status, state) => panic!("{status:?} {state:?}"),
            }
        }
        panic!("the run never finished");
    }

    fn view(&self, mode: ViewMode) -> RunView {
        let e = &self.engine;
        let target = match mode {
            ViewMode::Drill => {
                "simulated world (default: primary region unavailable for 4h)".to_string()
            }
            ViewMode::Live => "aws 123456789012 us-east-1 → us-west-2".to_string(),
            ViewMode::ReadOnly => format!("following {JOURNAL_SHOWN}"),
        };
        let mut v = RunView::new(
            Arc::new(e.runbook().clone()),
            mode,
            "alice",
            &target,
            self.estimate.clone(),
            self.now,
        );
        v.set_run(e);
        v.observations = e
            .runbook()
            .resources
            .keys()
            .filter_map(|k| e.observation(k).map(|o| (k.clone(), o.clone())))
            .collect();
        v.projected = projected_recovery(e, &self.estimate, self.now, None);
        v.preview = e.gate_preview().or_else(|| {
            e.runbook()
                .steps
                .get(e.current())
                .and_then(|s| e.preview(s))
        });
        v.journal = Some(PathBuf::from(JOURNAL_SHOWN));
        v.tail = self.tail.clone();
        v.notice = self.notice.clone();
        v.version = self.version;
        v
    }

    fn app(&self, mode: ViewMode) -> App {
        let mut app = App::new(Arc::new(self.view(mode)));
        app.message = self.notice.clone();
        app
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering and snapshot files.

fn draw(app: &App, w: u16, h: u16, theme: Theme) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| screen::render(f, app, theme)).unwrap();
    term.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing blanks trimmed.
fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Compares `actual` with `tests/snapshots/NAME.txt`, or writes it when `UPDATE_SNAPSHOTS=1`.
fn check(name: &str, actual: &str) {
    let path = root().join("tests/snapshots").join(format!("{name}.txt"));
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}; create it with UPDATE_SNAPSHOTS=1 cargo test --test it console::snapshots\n\n{actual}",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    panic!(
        "snapshot {} differs (- expected, + actual); if the change is intended, rerun with UPDATE_SNAPSHOTS=1\n{}",
        path.display(),
        diff(&expected, actual)
    );
}

/// A line diff good enough for screens (same number of rows, lines changed in place).
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {i:>3} {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {i:>3} {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {i:>3} {y}\n"));
                }
            }
        }
    }
    out
}

fn snapshot(name: &str, app: &App, w: u16, h: u16) -> Buffer {
    let buf = draw(app, w, h, Theme { color: true });
    check(&format!("{name}_{w}x{h}"), &text(&buf));
    buf
}

/// Where `needle` first appears on screen (every glyph used here is one column wide).
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let lines = text(buf);
    for (y, line) in lines.lines().enumerate() {
        if let Some(i) = line.find(needle) {
            let x = line[..i].chars().count();
            return (x as u16, y as u16);
        }
    }
    panic!("`{needle}` is not on screen:\n{lines}");
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        assert_eq!(app.on_key(key(KeyCode::Char(c))), None);
    }
}

/// A drill at the first gate (the replica-lag command), which has been waiting 45 s.
fn at_first_gate() -> Drive {
    let mut d = Drive::new("first-gate", None);
    assert_eq!(d.current_id(), "replica-lag");
    assert_eq!(d.state(), StepState::AwaitingGate);
    d.wait(45);
    d
}

// ---------------------------------------------------------------------------------------------
// The main screen.

#[test]
fn main_screen_in_a_drill_at_every_size() {
    let d = at_first_gate();
    let app = d.app(ViewMode::Drill);
    for (w, h) in [(60, 16), (80, 24), (120, 36), (200, 50)] {
        let buf = snapshot("drill_gate_waiting", &app, w, h);
        let screen = text(&buf);
        // What must be readable at every size: the mode, the clock, the RTO, the gate.
        assert!(screen.contains(" DRILL "), "{screen}");
        assert!(screen.contains("T+00:"), "{screen}");
        assert!(screen.contains("RTO "), "{screen}");
        assert!(screen.contains("replica-lag"), "{screen}");
        assert!(screen.contains("g gate"), "{screen}");
        // The standbys the runbook starts are healthy and stopped: the state shows it.
        let app1 = screen.lines().find(|l| l.contains("app-1 ")).unwrap();
        assert!(app1.contains("stopped"), "{screen}");
        // Every resource row keeps its name, however narrow.
        assert!(screen.contains("│shop-db "), "{screen}");
        assert!(screen.contains("│NAME "), "{screen}");
        // The projection the room steers by stays in the header, however narrow.
        let header = screen.lines().next().unwrap();
        assert!(
            header.contains("1h7m45s") && header.contains("OVER"),
            "{w}x{h}: {header}"
        );
    }
}

#[test]
fn main_screen_live_and_read_only() {
    let d = at_first_gate();
    let live = snapshot("live_gate_waiting", &d.app(ViewMode::Live), 120, 36);
    assert!(text(&live).contains("aws 123456789012"));
    let ro = snapshot("read_only", &d.app(ViewMode::ReadOnly), 120, 36);
    let ro_text = text(&ro);
    assert!(ro_text.contains(" READ-ONLY "));
    // Nothing that changes the run is offered, neither in the footer nor in the step detail.
    let footer = ro_text.lines().last().unwrap();
    for hint in ["gate", "done", "retry", "skip", "abort"] {
        assert!(!footer.contains(hint), "{footer}");
    }
    assert!(!ro_text.contains("press g"), "{ro_text}");
    snapshot("read_only", &d.app(ViewMode::ReadOnly), 80, 24);
}

#[test]
fn a_step_awaiting_a_typed_gate_shows_the_exact_request() {
    let mut d = Drive::new("typed-gate", None);
    d.until_gate_of("promote-replica");
    d.wait(20);
    let buf = snapshot("drill_typed_gate_waiting", &d.app(ViewMode::Drill), 120, 36);
    let screen = text(&buf);
    assert!(
        screen.contains("rds:PromoteReadReplica in us-west-2"),
        "{screen}"
    );
    assert!(screen.contains("type `shop-db-replica-usw2`"), "{screen}");
}

#[test]
fn a_blocked_step_says_what_failed_and_what_to_do() {
    let scenario = "scenario: no-capacity
regions: { us-east-1: unavailable }
faults:
  - step: start-app-1
    fail_times: 9
    error: \"InsufficientInstanceCapacity: We currently do not have sufficient m6i.xlarge capacity in us-west-2a.\"
";
    let mut d = Drive::new("blocked", Some(scenario));
    d.until_gate_of("start-app-1");
    d.approve();
    assert!(
        matches!(d.engine.status(), RunStatus::Blocked(_)),
        "{:?}",
        d.engine.status()
    );
    let app = d.app(ViewMode::Drill);
    let buf = snapshot("drill_blocked", &app, 120, 36);
    let screen = text(&buf);
    assert!(screen.contains("BLOCKED"), "{screen}");
    assert!(screen.contains("InsufficientInstanceCapacity"), "{screen}");
    assert!(screen.contains("failed"), "{screen}");
    snapshot("drill_blocked", &app, 80, 24);
    // The failed step is red and bold.
    let (x, y) = find(&buf, "failed ");
    let cell = &buf[(x, y)];
    assert_eq!(cell.fg, Color::Red);
    assert!(cell.modifier.contains(Modifier::BOLD));
}

#[test]
fn a_finished_drill_shows_the_recovery_time_against_the_rto() {
    let mut d = Drive::new("finished", None);
    d.run_to_the_end();
    assert_eq!(d.engine.status(), &RunStatus::Finished);
    let buf = snapshot("drill_finished", &d.app(ViewMode::Drill), 120, 36);
    assert!(text(&buf).contains("RECOVERED in "), "{}", text(&buf));
}

#[test]
fn a_breached_rpo_is_red_and_says_so() {
    let scenario = "scenario: stale-recovery-points
regions: { us-east-1: unavailable }
resources:
  shop-db: { recovery_point_age: 25m }
  shop-db-replica: { recovery_point_age: 4m10s }
";
    let d = Drive::new("rpo", Some(scenario));
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Tab)); // focus the resource table
    for (w, h) in [(80, 24), (120, 36)] {
        let buf = snapshot("rpo_breached", &app, w, h);
        let (x, y) = find(&buf, "BREACH");
        let cell = &buf[(x, y)];
        assert_eq!(cell.fg, Color::Red, "{w}x{h}");
        assert!(cell.modifier.contains(Modifier::BOLD | Modifier::REVERSED));
        // Within 80–100 % of the target: a warning, yellow.
        let (x, y) = find(&buf, "4m10s / 5m");
        assert_eq!(buf[(x, y)].fg, Color::Yellow, "{w}x{h}");
        // An unavailable resource is red.
        let (x, y) = find(&buf, "unavailable");
        assert_eq!(buf[(x, y)].fg, Color::Red, "{w}x{h}");
    }
}

// ---------------------------------------------------------------------------------------------
// Popups and the filter.

#[test]
fn help_popup_in_each_mode() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    assert_eq!(app.on_key(key(KeyCode::Char('?'))), None);
    assert_eq!(app.popup, Some(Popup::Help));
    for (w, h) in [(80, 24), (120, 36)] {
        let screen = text(&snapshot("help_drill", &app, w, h));
        for k in ["g  review", "d  mark", "A  abort", "Esc or ? closes"] {
            assert!(screen.contains(k), "{k}\n{screen}");
        }
    }
    let mut ro = d.app(ViewMode::ReadOnly);
    ro.on_key(key(KeyCode::Char('?')));
    let screen = text(&snapshot("help_read_only", &ro, 120, 36));
    assert!(screen.contains("Read-only: nothing here can change the run."));
    for k in ["g  review", "d  mark", "A  abort", "r  retry", "s  skip"] {
        assert!(!screen.contains(k), "{k}\n{screen}");
    }
}

#[test]
fn gate_popup_with_typed_phrase_and_reason() {
    let mut d = Drive::new("gate-popup", None);
    d.until_gate_of("promote-replica");
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('g')));
    assert!(matches!(app.popup, Some(Popup::Gate(_))));
    let buf = snapshot("gate_typed_empty", &app, 120, 36);
    // The popup is framed in the alert colour.
    let (x, y) = find(&buf, "GATE: promote-replica");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    type_text(&mut app, "shop-db-replica-usw2");
    app.on_key(key(KeyCode::Tab));
    type_text(&mut app, "IC approved at 03:20, lag 2s");
    for (w, h) in [(80, 24), (120, 36)] {
        snapshot("gate_typed_filled", &app, w, h);
    }
    // A wrong phrase is refused in the popup itself.
    let mut wrong = d.app(ViewMode::Drill);
    wrong.on_key(key(KeyCode::Char('g')));
    type_text(&mut wrong, "shop-db-replica");
    for k in [KeyCode::Tab, KeyCode::Char('x'), KeyCode::Tab] {
        wrong.on_key(key(k));
    }
    assert_eq!(wrong.on_key(key(KeyCode::Enter)), None);
    let screen = text(&snapshot("gate_typed_wrong", &wrong, 120, 36));
    assert!(screen.contains("type `shop-db-replica-usw2` exactly to proceed"));
}

#[test]
fn gate_popup_warns_of_a_cutover_through_the_failed_regions_control_plane() {
    // pilot-light fails away from us-east-1, where Route 53's control plane lives.
    let mut d = Drive::new("control-plane", None);
    d.until_gate_of("shift-dns");
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('g')));
    let buf = snapshot("gate_control_plane", &app, 120, 36);
    let (x, y) = find(
        &buf,
        "warning: `route53.set-weights` goes through Route 53's control",
    );
    assert_eq!(buf[(x, y)].fg, Color::Red);
    // A gate whose change needs no global control plane says nothing of it.
    let mut other = Drive::new("no-control-plane", None);
    other.until_gate_of("promote-replica");
    let mut app = other.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('g')));
    assert!(!text(&draw(&app, 120, 36, Theme { color: true })).contains("control plane"));
}

#[test]
fn once_the_service_is_restored_the_header_says_so_and_stops_the_rto_clock() {
    let rb = load_runbook("runbooks/analytics-global-accelerator-failover.yaml");
    let estimate = estimate_rto(&rb, &BTreeMap::new());
    let mut v = RunView::new(rb, ViewMode::Drill, "ana", "sim", estimate, t0());
    v.status = RunStatus::Running; // failback still going
    v.now = t0() + TimeDelta::hours(3);
    v.restored = Some(43 * 60 + 52);
    v.projected = Some(43 * 60 + 52);
    let app = App::new(Arc::new(v));
    for (w, h) in [(80, 24), (200, 50)] {
        let screen = text(&draw(&app, w, h, Theme { color: true }));
        let header = screen.lines().next().unwrap();
        assert!(header.contains("RESTORED"), "{header}");
        assert!(header.contains("43m52s"), "{header}");
        assert!(!header.contains("left"), "the RTO clock stopped: {header}");
    }
}

#[test]
fn gate_popup_of_a_confirm_gate() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('g')));
    for (w, h) in [(80, 24), (120, 36)] {
        let screen = text(&snapshot("gate_confirm", &app, w, h));
        assert!(screen.contains("Cancel"), "{screen}");
        assert!(screen.contains("Proceed"), "{screen}");
    }
}

#[test]
fn reason_prompt() {
    let d = at_first_gate();
    let mut app = d.app(ViewMode::Drill);
    app.on_key(key(KeyCode::Char('s')));
    type_text(&mut app, "lag is reported by the on-call DBA");
    let screen = text(&snapshot("reason_skip", &app, 120, 36));
    assert!(screen.contains("Skip step replica-lag"), "{screen}");
    let mut abort = d.app(ViewMode::Drill);
    abort.on_key(key(KeyCode::Char('A')));
    abort.on_key(key(KeyCode::Enter)); // no reason yet: asks for one
    let screen = text(&snapshot("reason_abort_empty", &abort, 80, 24));
    assert!(screen.contains("say why before you go on"), "{screen}");
}

// ---------------------------------------------------------------------------------------------
// Sizes and colours.

#[test]
fn a_terminal_too_small_says_so() {
    let d = at_first_gate();
    let app = d.app(ViewMode::Drill);
    let screen = text(&snapshot("too_small", &app, 59, 15));
    assert!(screen.contains("needs at least 60×16"), "{screen}");
    snapshot("too_small", &app, 20, 4);
}

#[test]
fn degenerate_sizes_do_not_panic() {
    let d = at_first_gate();
    let mut apps = vec![d.app(ViewMode::Drill), d.app(ViewMode::ReadOnly)];
    let mut gate = d.app(ViewMode::Drill);
    gate.on_key(key(KeyCode::Char('g')));
    apps.push(gate);
    let mut help = d.app(ViewMode::Drill);
    help.on_key(key(KeyCode::Char('?')));
    apps.push(help);
    let mut reason = d.app(ViewMode::Drill);
    reason.on_key(key(KeyCode::Char('A')));
    apps.push(reason);
    for app in &apps {
        for (w, h) in [
            (0, 0),
            (1, 1),
            (0, 24),
            (80, 0),
            (1, 40),
            (60, 16),
            (61, 17),
        ] {
            for color in [true, false] {
                draw(app, w, h, Theme { color });
            }
        }
    }
    // An empty runbook view (nothing observed, nothing started) too.
    let empty = RunView::new(
        load_runbook(RUNBOOK),
        ViewMode::Drill,
        "",
        "",
        estimate_rto(&load_runbook(RUNBOOK), &BTreeMap::new()),
        t0(),
    );
    let app = App::new(Arc::new(empty));
    for (w, h) in [(0, 0), (1, 1), (80, 24)] {
        draw(&app, w, h, Theme { color: true });
    }
}

#[test]
fn mode_banner_colours() {
    let d = at_first_gate();
    for (mode, word, colour) in [
        (ViewMode::Drill, "DRILL", Color::Blue),
        (ViewMode::Live, "LIVE", Color::Red),
        (ViewMode::ReadOnly, "READ-ONLY", Color::Gray),
    ] {
        let buf = draw(&d.app(mode), 120, 36, Theme { color: true });
        let (x, y) = find(&buf, word);
        assert_eq!((x, y), (1, 0), "{word}");
        for cell in [&buf[(0, 0)], &buf[(x, y)]] {
            assert_eq!(cell.fg, colour, "{word}");
            assert!(cell.modifier.contains(Modifier::REVERSED | Modifier::BOLD));
        }
        // The step waiting for its gate is yellow.
        let (x, y) = find(&buf, "awaiting gate");
        assert_eq!(buf[(x, y)].fg, Color::Yellow);
    }
}

#[test]
fn no_color_keeps_the_banner_reversed_and_uses_no_colour_at_all() {
    let d = at_first_gate();
    let mut gate = d.app(ViewMode::Live);
    gate.on_key(key(KeyCode::Char('g')));
    for app in [d.app(ViewMode::Live), d.app(ViewMode::Drill), gate] {
        let buf = draw(&app, 120, 36, Theme { color: false });
        let banner = &buf[(1, 0)];
        assert!(banner.modifier.contains(Modifier::REVERSED));
        assert!(banner.modifier.contains(Modifier::BOLD));
        for cell in buf.content() {
            assert_eq!(cell.fg, Color::Reset, "{cell:?}");
            assert_eq!(cell.bg, Color::Reset, "{cell:?}");
        }
    }
    // The same screen without colour reads the same as with it.
    let app = d.app(ViewMode::Drill);
    assert_eq!(
        text(&draw(&app, 120, 36, Theme { color: false })),
        text(&draw(&app, 120, 36, Theme { color: true }))
    );
}

#[test]
fn untrusted_strings_never_reach_the_terminal_raw() {
    let mut d = at_first_gate();
    d.notice = Some("evil \u{1b}[2J\u{1b}]0;pwned\u{7} \u{202e}reversed \u{9b}31m".into());
    let app = d.app(ViewMode::Drill);
    let buf = draw(&app, 120, 36, Theme { color: true });
    for cell in buf.content() {
        for c in cell.symbol().chars() {
            assert!(
                !c.is_control() && !('\u{202a}'..='\u{202e}').contains(&c),
                "{c:?} reached the screen"
            );
        }
    }
    assert!(text(&buf).contains("evil"));
}

// What came with rollback and the console's later views, in a file of their own.
mod later;
mod review;
mod strays;
mod views;
