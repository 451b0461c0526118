//! Where journals and logs live by default (XDG base directories).

use std::path::PathBuf;

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

/// Who is at the keyboard, for the journal.
pub fn operator() -> String {
    ["PILOTLIGHT_OPERATOR", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}
