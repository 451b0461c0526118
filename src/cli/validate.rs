//! `pilotlight validate PATH...`: every problem in every runbook, located, with a hint.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::runbook::source::MAX_BYTES;

/// Scenario files live beside runbooks but are not runbooks.
const SCENARIO_SUFFIXES: [&str; 2] = [".scenario.yaml", ".scenario.yml"];

pub fn run(paths: &[PathBuf]) -> ExitCode {
    let mut files = Vec::new();
    let mut failed = 0usize;
    let mut unreadable = 0usize;
    for p in paths {
        let mut problems = Vec::new();
        collect(p, true, &mut files, &mut problems);
        for (path, message) in problems {
            tell!("{}: error: {message}", path.display());
            unreadable += 1;
        }
    }
    for file in &files {
        let shown = file.display().to_string();
        match read_limited(file) {
            Err(e) => {
                tell!("{shown}:1:1: error: cannot read the file: {e}");
                failed += 1;
            }
            Ok(bytes) => match super::common::parse_with_templates(file, &bytes) {
                // Warnings are printed but never change the exit code.
                Ok(book) => {
                    for w in &book.warnings {
                        say!("{}", w.render(&shown));
                    }
                }
                Err(err) => {
                    for d in err.diagnostics() {
                        say!("{}", d.render(&shown));
                    }
                    failed += 1;
                }
            },
        }
    }
    let valid = files.len().saturating_sub(failed);
    let cannot = match unreadable {
        0 => String::new(),
        n => format!("; {n} path(s) could not be read"),
    };
    tell!(
        "checked {} runbook(s): {valid} valid, {failed} with problems{cannot}",
        files.len()
    );
    if failed == 0 && unreadable == 0 && !files.is_empty() {
        ExitCode::SUCCESS
    } else {
        if files.is_empty() && failed == 0 && unreadable == 0 {
            tell!("no runbooks found: give .yaml files or folders that contain them");
        }
        ExitCode::from(1)
    }
}

/// Reads at most one byte more than the runbook limit, so a huge file is refused cheaply.
pub(crate) fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Adds `path` (a file) or the runbooks below it (a folder), sorted for stable output. What
/// cannot be read is noted by its own name (a broken link in a folder is that entry's problem,
/// not the folder's), and the rest is still collected.
fn collect(
    path: &Path,
    explicit: bool,
    out: &mut Vec<PathBuf>,
    problems: &mut Vec<(PathBuf, String)>,
) {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            if explicit || is_runbook_name(path) {
                let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
                let why = if link {
                    format!("cannot read the runbook: {e} (a symbolic link to nothing)")
                } else {
                    format!("cannot read the runbook: {e}")
                };
                problems.push((path.to_path_buf(), why));
            }
            return;
        }
    };
    if meta.is_file() {
        if explicit || is_runbook_name(path) {
            out.push(path.to_path_buf());
        }
        return;
    }
    let mut entries: Vec<PathBuf> = match fs::read_dir(path) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            problems.push((path.to_path_buf(), format!("cannot list the folder: {e}")));
            return;
        }
    };
    entries.sort();
    for entry in entries {
        let is_hidden = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !is_hidden {
            collect(&entry, false, out, problems);
        }
    }
}

fn is_runbook_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    (name.ends_with(".yaml") || name.ends_with(".yml"))
        && !SCENARIO_SUFFIXES.iter().any(|s| name.ends_with(s))
}
