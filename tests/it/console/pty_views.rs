//! The console's ways of looking, in a real pseudo-terminal: the command line with completion,
//! the timeline, the mouse (SGR reports, as xterm sends them) and `y` putting an AWS id on the
//! clipboard with OSC 52.

use base64::Engine as _;

use crate::common::pty::{cooked_flags, Pty};
use crate::common::{root, temp_dir};

const RUNBOOK: &str = "runbooks/pilot-light-failover.yaml";

/// Where `needle` first shows on the screen (column, row), 0-based.
fn find(pty: &Pty, needle: &str) -> (u16, u16) {
    let screen = pty.screen();
    for (y, line) in screen.lines().enumerate() {
        if let Some(i) = line.find(needle) {
            return (line[..i].chars().count() as u16, y as u16);
        }
    }
    panic!("`{needle}` is not on screen:\n{screen}");
}

/// An SGR mouse report (1-based cells): `button` 0 is the left button, 64/65 the wheel.
fn mouse(button: u8, (x, y): (u16, u16)) -> Vec<u8> {
    format!("\x1b[<{button};{};{}M", x + 1, y + 1).into_bytes()
}

/// Every OSC 52 copy in what the program wrote, decoded.
fn clipboard(raw: &[u8]) -> Vec<String> {
    let raw = String::from_utf8_lossy(raw);
    raw.split("\x1b]52;c;")
        .skip(1)
        .filter_map(|rest| rest.split(['\x07', '\x1b']).next())
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

#[test]
fn the_command_line_timeline_mouse_and_copy_in_a_real_terminal() {
    let dir = temp_dir("pty-views");
    let cooked = cooked_flags();
    let runbook =
        pilotlight::runbook::parse(&std::fs::read(root().join(RUNBOOK)).unwrap()).unwrap();
    let journal = dir.join("drill.jsonl");
    let mut pty = Pty::spawn(
        &["drill", RUNBOOK, "--journal", journal.to_str().unwrap()],
        &dir,
        24,
        80,
    );
    pty.until_text("GATE waiting for you");
    // The mouse is asked for (button presses and the wheel, SGR coordinates).
    let raw = String::from_utf8_lossy(&pty.raw).into_owned();
    assert!(
        raw.contains("\x1b[?1000h") && raw.contains("\x1b[?1006h"),
        "{raw:?}"
    );

    // `:` with Tab completion jumps to a step.
    pty.send(b":step dec\t");
    pty.until_text(":step decide");
    pty.send(b"\r");
    pty.until_text("┌ Step decide ");

    // The timeline, and back.
    pty.send(b"t");
    pty.until_text("Timeline · RTO 1h");
    pty.until_text("│ RTO 1h");
    pty.send(b"\x1b");
    pty.until_text("┌ Resources (6)");

    // A click on a resource's row picks it; `y` copies its AWS id.
    let at = find(&pty, "app-2 ");
    pty.send(&mouse(0, at));
    pty.send(format!("\x1b[<0;{};{}m", at.0 + 1, at.1 + 1).as_bytes());
    pty.send(b"y");
    let id = &runbook.resources["app-2"].id;
    pty.until_text(&format!("copied app-2's AWS id: {id}"));
    assert_eq!(clipboard(&pty.raw).last(), Some(id));

    // Enter opens its detail, the id whole on one line.
    pty.send(b"\r");
    pty.until_text("┌ Resource app-2 ");
    assert!(pty.screen().contains(&format!("AWS id          {id}")));
    pty.send(b"\x1b");
    pty.until("the detail closed", |s| {
        !s.contains("┌ Resource app-2 ") && s.contains("┌ Audit journal")
    });

    // The wheel over the audit pane scrolls it back: it says it is paused.
    let audit = find(&pty, "Audit journal");
    pty.send(&mouse(64, (audit.0, audit.1 + 2)));
    pty.until_text("PAUSED (End follows)");
    pty.send(b"\x1b[F"); // End
    pty.until("the audit pane following again", |s| !s.contains("PAUSED"));

    pty.send(b"q");
    let status = pty.finish();
    assert!(status.success(), "{status:?}; screen:\n{}", pty.screen());
    pty.assert_restored(cooked);
}
