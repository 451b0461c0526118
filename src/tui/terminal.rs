//! One guard owns the terminal: raw mode, the alternate screen and mouse reporting on the way
//! in, and the terminal as it was on the way out, whether by return, panic or signal.

use std::io::{self, Stdout};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalSession {
    pub terminal: Term,
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    );
}

impl TerminalSession {
    pub fn enter() -> io::Result<TerminalSession> {
        // A panic anywhere restores the terminal before the message is printed.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        // The mouse focuses and scrolls panes (Shift+drag still selects text in most
        // terminals; `y` copies an id without selecting it).
        if let Err(e) = execute!(io::stdout(), EnterAlternateScreen, Hide, EnableMouseCapture) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(terminal) => Ok(TerminalSession { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts `text` on the terminal's clipboard (OSC 52: it reaches the operator's own machine over
/// ssh and through tmux with `set-clipboard on`).
pub fn copy_to_clipboard(text: &str) -> io::Result<()> {
    use crossterm::clipboard::CopyToClipboard;
    execute!(io::stdout(), CopyToClipboard::to_clipboard_from(text))
}
