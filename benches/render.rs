//! Render and first-frame benchmarks (design section 9):
//! - the heaviest screen at 200×50 with 1,000 resources and 100 steps (target ≤ 1 ms median);
//! - time to first frame with 500 resources on the simulated world, from parsing the runbook
//!   through observing every resource and building the view to the first render (≤ 50 ms).
//!
//! Run: `cargo bench --bench render`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches may panic

mod support;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pilotlight::cloud::sim::{self, SimWorld};
use pilotlight::cloud::Observe;
use pilotlight::engine::objectives::estimate_rto;
use pilotlight::engine::Engine;
use pilotlight::runtime::view::{RunView, ViewMode};
use pilotlight::tui::app::{App, Pane};
use pilotlight::tui::screen;
use pilotlight::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const THEME: Theme = Theme { color: true };

fn heaviest_screen(c: &mut Criterion) {
    let runbook = support::parse(&support::runbook_yaml(1000, 100));
    assert_eq!(runbook.resources.len(), 1000);
    assert_eq!(runbook.steps.len(), 100);
    let view = Arc::new(support::busy_view(runbook, ViewMode::Drill));
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();

    // The main screen, the resource table focused and scrolled to the middle.
    let mut main = App::new(view.clone());
    main.focus = Pane::Resources;
    main.resource_row = 500;
    let mut group = c.benchmark_group("render 200x50, 1000 resources, 100 steps");
    group.bench_function("main screen", |b| {
        b.iter(|| {
            term.draw(|f| screen::render(f, black_box(&main), THEME))
                .unwrap();
        })
    });

    // Every frame different (the selection moves through the table): render, diff and the
    // backend's writes of the changed cells.
    let mut other = App::new(view.clone());
    other.focus = Pane::Resources;
    other.resource_row = 900;
    let mut flip = false;
    group.bench_function("main screen, every frame changed", |b| {
        b.iter(|| {
            flip = !flip;
            let app = if flip { &main } else { &other };
            term.draw(|f| screen::render(f, black_box(app), THEME))
                .unwrap();
        })
    });

    // The gate popup over it (its step's preview and typed fields).
    let mut gate = App::new(view.clone());
    gate.focus = Pane::Resources;
    gate.resource_row = 500;
    gate.on_key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE));
    assert!(gate.popup.is_some());
    group.bench_function("gate popup", |b| {
        b.iter(|| {
            term.draw(|f| screen::render(f, black_box(&gate), THEME))
                .unwrap();
        })
    });

    // A filter matching a quarter of the table (the filter runs over all 1,000 each frame).
    let mut filtered = App::new(view.clone());
    filtered.focus = Pane::Resources;
    for ch in "rds".chars() {
        filtered.on_key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE));
        filtered.on_key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
        filtered.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    }
    group.bench_function("filtered table", |b| {
        b.iter(|| {
            term.draw(|f| screen::render(f, black_box(&filtered), THEME))
                .unwrap();
        })
    });

    // The help overlay in read-only mode.
    let mut help = App::new(Arc::new(support::busy_view(
        view.runbook.clone(),
        ViewMode::ReadOnly,
    )));
    help.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    group.bench_function("help, read-only", |b| {
        b.iter(|| {
            term.draw(|f| screen::render(f, black_box(&help), THEME))
                .unwrap();
        })
    });
    group.finish();
}

fn first_frame(c: &mut Criterion) {
    let yaml = support::runbook_yaml(500, 100);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let t0 = support::t0();
    c.bench_function("first frame, 500 resources, simulated world, 120x36", |b| {
        b.iter(|| {
            let runbook = support::parse(black_box(&yaml));
            let engine = Engine::new(runbook.clone(), "bench");
            let world = SimWorld::new(runbook.clone(), sim::default_for(&runbook), t0);
            let estimate = estimate_rto(&runbook, &BTreeMap::new());
            let mut view = RunView::new(
                runbook.clone(),
                ViewMode::Drill,
                "alice",
                "simulated world",
                estimate,
                t0,
            );
            rt.block_on(async {
                for (name, res) in &runbook.resources {
                    if let Ok(s) = world.observe(res, t0).await {
                        view.observations.insert(name.clone(), s);
                    }
                }
            });
            let app = App::new(Arc::new(view));
            let mut term = Terminal::new(TestBackend::new(120, 36)).unwrap();
            term.draw(|f| screen::render(f, &app, THEME)).unwrap();
            drop(engine);
            term
        })
    });
}

criterion_group!(benches, heaviest_screen, first_frame);
criterion_main!(benches);
