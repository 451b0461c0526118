//! The full-screen console (the only user of ratatui and crossterm). The UI task never awaits
//! I/O: it reads terminal input first, takes the latest view from the session, sends commands
//! without waiting, and redraws only when something changed, at most 30 times a second.

pub mod app;
pub mod keymap;
pub mod popups;
pub mod screen;
pub mod terminal;
pub mod theme;
pub mod widgets;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyEventKind};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::runtime::session::Command;
use crate::runtime::view::RunView;
use app::App;
use terminal::TerminalSession;
use theme::Theme;

/// The slowest the screen redraws while things change (30 fps).
const FRAME: Duration = Duration::from_millis(33);

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("cannot use the terminal: {0} (is this an interactive terminal? for scripts use `drill --unattended` or `status`)")]
    Terminal(#[from] std::io::Error),
}

/// Runs the console until the operator quits (or SIGTERM/SIGHUP). `commands` is `None` for
/// read-only consoles: then nothing typed here can reach a run.
pub async fn run(
    mut views: watch::Receiver<Arc<RunView>>,
    commands: Option<mpsc::Sender<Command>>,
) -> Result<(), TuiError> {
    let mut session = TerminalSession::enter()?;
    let theme = Theme::from_env();
    let mut app = App::new(views.borrow_and_update().clone());
    let (keys_tx, mut keys) = mpsc::channel::<Event>(256);
    std::thread::spawn(move || {
        while let Ok(ev) = crossterm::event::read() {
            if keys_tx.blocking_send(ev).is_err() {
                break;
            }
        }
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut dirty = true;
    let mut views_open = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            session.terminal.draw(|f| screen::render(f, &app, theme))?;
            dirty = false;
            last_draw = Instant::now();
        }
        let pace = FRAME.saturating_sub(last_draw.elapsed());
        tokio::select! {
            biased;
            ev = keys.recv() => match ev {
                Some(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    if let Some(cmd) = app.on_key(k) {
                        match &commands {
                            Some(tx) => match tx.try_send(cmd) {
                                Ok(()) => {}
                                Err(mpsc::error::TrySendError::Full(_)) => {
                                    app.message = Some("the run is busy; try again".into())
                                }
                                Err(mpsc::error::TrySendError::Closed(_)) => {
                                    app.message = Some("the run has ended; nothing more can change (q quits)".into())
                                }
                            },
                            None => app.message = Some("read-only: nothing here can change the run".into()),
                        }
                    }
                    dirty = true;
                }
                Some(Event::Mouse(m)) => {
                    let size = session.terminal.size()?;
                    app.on_mouse(m, ratatui::layout::Rect::new(0, 0, size.width, size.height));
                    dirty = true;
                }
                Some(Event::Resize(..)) => {
                    session.terminal.autoresize()?;
                    dirty = true;
                }
                Some(_) => {}
                None => break,
            },
            changed = views.changed(), if views_open => match changed {
                Ok(()) => {
                    app.set_view(views.borrow_and_update().clone());
                    dirty = true;
                }
                Err(_) => views_open = false,
            },
            () = tokio::time::sleep(pace), if dirty => {}
            _ = term.recv() => break,
            _ = hup.recv() => break,
        }
        if let Some(text) = app.clipboard.take() {
            if terminal::copy_to_clipboard(&text).is_err() {
                app.message = Some("this terminal did not take the copy (OSC 52)".into());
            }
        }
        if app.quit {
            break;
        }
    }
    drop(session);
    Ok(())
}
