//! Where journals and logs live by default (XDG base directories).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// `$XDG_DATA_HOME/pilotlight`, else `~/.local/share/pilotlight`, else `./.pilotlight`.
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("pilotlight");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/share/pilotlight"),
        None => PathBuf::from(".pilotlight"),
    }
}

/// A new journal's default path: `DATA/journals/RUNBOOK-20261121T030000Z-drill.jsonl`.
pub fn default_journal(runbook: &str, mode: &str, at: DateTime<Utc>) -> PathBuf {
    data_dir().join("journals").join(format!(
        "{runbook}-{}-{mode}.jsonl",
        at.format("%Y%m%dT%H%M%SZ")
    ))
}

/// Who is at the keyboard, for the journal: `$PILOTLIGHT_OPERATOR`, `$USER`, `$LOGNAME`, else
/// the login name of this process's user id from /etc/passwd.
pub fn operator() -> String {
    ["PILOTLIGHT_OPERATOR", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(login_of_uid)
        .unwrap_or_else(|| "unknown".into())
}

fn login_of_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid).then(|| name.to_string())
    })
}

/// Why pilotlight will not keep journals or locks in `dir`, if it will not: someone else could
/// swap a journal, plant a link or take a lock there. Only the folder itself is judged (its
/// parents are the system's business); a folder that does not exist yet is made owner-only.
pub fn unsafe_folder(dir: &Path) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(dir).ok()?;
    let shown = dir.display();
    if meta.file_type().is_symlink() {
        return Some(format!(
            "{shown} is a symbolic link; make it a real folder you own (mkdir -m 700 {shown})"
        ));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Some(format!(
            "{shown} belongs to user id {}, not to you ({me}); move it away and let pilotlight make its own",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "{shown} can be written by others (mode {mode:o}); make it yours alone: chmod 700 {shown}"
        ));
    }
    None
}
