//! The real binary in a real pseudo-terminal, its output read into a terminal emulator.
//! Synchronisation is by what is on the screen: every wait reads the program's output until the
//! expected text appears, with an overall deadline.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

use super::root;

/// How long any one test may take in all, unless it says otherwise.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A program on the slave side of a pty, its output read into a vt100 screen.
pub struct Pty {
    pub master: Box<dyn MasterPty + Send>,
    pub writer: Box<dyn Write + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    pub output: Receiver<Vec<u8>>,
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
    pub eof: bool,
    pub deadline: Instant,
    /// Everything ever shown, screen by screen (for assertions about what was seen).
    pub seen: String,
}

impl Pty {
    pub fn spawn(args: &[&str], data: &Path, rows: u16, cols: u16) -> Pty {
        Pty::spawn_with(args, data, rows, cols, &[], DEADLINE)
    }

    /// As `spawn`, with more environment and its own deadline.
    pub fn spawn_with(
        args: &[&str],
        data: &Path,
        rows: u16,
        cols: u16,
        env: &[(&str, &str)],
        deadline: Duration,
    ) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pilotlight"));
        cmd.args(args);
        cmd.cwd(root());
        cmd.env("XDG_DATA_HOME", data.join("data"));
        cmd.env("XDG_STATE_HOME", data.join("state"));
        cmd.env("PILOTLIGHT_OPERATOR", "pty-test");
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Pty {
            master: pair.master,
            writer,
            child,
            output: rx,
            parser: vt100::Parser::new(nz(rows), nz(cols), 0),
            raw: Vec::new(),
            eof: false,
            deadline: Instant::now() + deadline,
            seen: String::new(),
        }
    }

    pub fn take(&mut self, bytes: Vec<u8>) {
        self.parser.process(&bytes);
        self.raw.extend_from_slice(&bytes);
    }

    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Reads output until `pred` holds for the screen; fails with the screen at the deadline.
    pub fn until(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        loop {
            let screen = self.screen();
            if pred(&screen) {
                self.seen.push_str(&screen);
                return;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if self.eof || left.is_zero() {
                panic!(
                    "waited for {what}{}; the screen:\n{screen}",
                    if self.eof {
                        " but the program ended"
                    } else {
                        " until the deadline"
                    }
                );
            }
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.take(bytes),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
            }
        }
    }

    pub fn until_text(&mut self, text: &str) {
        self.until(&format!("`{text}`"), |s| s.contains(text));
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Reads to the end of the output and waits for the program to exit.
    pub fn finish(&mut self) -> portable_pty::ExitStatus {
        while !self.eof {
            let left = self.deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the program did not end; the screen:\n{}",
                self.screen()
            );
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.take(bytes),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
            }
        }
        self.child.wait().unwrap()
    }

    /// The terminal as the program found it: main screen, cursor shown, and after the last
    /// `leave alternate screen` nothing but plain text.
    pub fn assert_restored(&self, cooked: u64) {
        let raw = String::from_utf8_lossy(&self.raw);
        let enter = raw
            .rfind("\x1b[?1049h")
            .expect("entered the alternate screen");
        let leave = raw.rfind("\x1b[?1049l").expect("left the alternate screen");
        assert!(
            leave > enter,
            "the alternate screen was left before it was entered"
        );
        let show = raw.rfind("\x1b[?25h").expect("showed the cursor");
        let hide = raw.rfind("\x1b[?25l").unwrap_or(0);
        assert!(show > hide && show > enter, "the cursor was left hidden");
        // Mouse reporting, if it was asked for, is off again.
        if let Some(on) = raw.rfind("\x1b[?1000h") {
            let off = raw
                .rfind("\x1b[?1000l")
                .expect("mouse reporting was turned off");
            assert!(off > on, "mouse reporting was left on");
        }
        let after = &raw[leave..];
        assert!(
            after.starts_with("\x1b[?1049l\x1b[?25h"),
            "{after:?}: leaving the alternate screen and showing the cursor come together"
        );
        // (ratatui's own drop may show the cursor once more; nothing else may follow.)
        let tail = after["\x1b[?1049l\x1b[?25h".len()..].replace("\x1b[?25h", "");
        assert!(
            !tail.contains('\x1b'),
            "escape sequences after restoring: {tail:?}"
        );
        let screen = self.parser.screen();
        assert!(!screen.alternate_screen());
        assert!(!screen.hide_cursor());
        // Raw mode is off again: the line discipline is as it was before the program started.
        assert_eq!(
            local_flags(self.master.as_ref()),
            cooked,
            "termios not restored"
        );
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // A failed test must not leave the program running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap()
}

pub fn local_flags(master: &dyn MasterPty) -> u64 {
    master
        .get_termios()
        .map(|t| t.local_flags.bits() as u64)
        .unwrap()
}

pub fn cooked_flags() -> u64 {
    let pair = native_pty_system().openpty(PtySize::default()).unwrap();
    local_flags(pair.master.as_ref())
}
