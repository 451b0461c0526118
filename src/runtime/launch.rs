//! Starting and resuming a run: its journal (new, or verified and continued), its engine (new,
//! or rebuilt from the journal), and the one-operator lock. The command line picks the mode and
//! the backend and hands over to here; every way this can fail is a [`LaunchError`] that says
//! what to do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::lock::{Holder, LockError, RunLock};
use super::paths;
use crate::audit::event::{RunContext, TornTailSetAside};
use crate::audit::{Entry, Event, Journal, JournalError, Mode, Record, Tamper};
use crate::engine::{Engine, Input, ReplayError, RunStatus};
use crate::runbook::Runbook;

/// Why a run cannot start or resume.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not intact: {tamper}; keep it as evidence and start a new {word}", path.display())]
    NotIntact {
        path: PathBuf,
        tamper: Tamper,
        word: &'static str,
    },
    #[error("{} cannot be resumed by this pilotlight: {tamper}", path.display())]
    Unreadable { path: PathBuf, tamper: Tamper },
    #[error("{} holds no records; start a new {word}", path.display())]
    Empty { path: PathBuf, word: &'static str },
    #[error("{} is the journal of a {}; resume it with `pilotlight {} --resume`", path.display(), describe(*found), word_of(*found))]
    OtherMode { path: PathBuf, found: Mode },
    #[error("{}: the journal is of runbook `{found}`, not `{expected}`; give the runbook it was started with", path.display())]
    OtherRunbook {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the runbook changed since this {word} started (sha256 {then} then, {now} now); approvals given for the old one cannot carry over: resume with the runbook as it was, or start a new {word}")]
    RunbookChanged {
        word: &'static str,
        then: String,
        now: String,
    },
    #[error("{}: {source}", path.display())]
    Replay { path: PathBuf, source: ReplayError },
    #[error("the run in {} has already ended ({how}); start a new {word} instead, or undo its changes with `--resume {} --rollback`", path.display(), path.display())]
    Ended {
        path: PathBuf,
        how: String,
        word: &'static str,
    },
    #[error("{} is a symbolic link: resume the journal itself, by its own path ({})", path.display(), target.display())]
    Symlinked { path: PathBuf, target: PathBuf },
    #[error("{} has {links} names (hard links): a run must have one journal file under one name; resume a copy made with `cp`, or remove the other names", path.display())]
    HardLinked { path: PathBuf, links: u64 },
    #[error("will not keep journals or locks here: {0}")]
    UnsafeFolder(String),
    #[error("the run in {} has been rolled back already; nothing is undone twice", path.display())]
    RolledBack { path: PathBuf },
    #[error("the run in {} has not ended, so it cannot be rolled back yet: resume it without --rollback, then finish it or abort it (A) and press R to roll back", path.display())]
    NotEnded { path: PathBuf },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// `drill` or `run`, as the command line names a mode.
pub fn word_of(mode: Mode) -> &'static str {
    match mode {
        Mode::Drill => "drill",
        Mode::Live => "run",
    }
}

fn describe(mode: Mode) -> &'static str {
    match mode {
        Mode::Live => "live run",
        Mode::Drill => "drill",
    }
}

/// A run ready to go.
pub struct Launched {
    pub journal: Journal,
    pub engine: Engine,
    /// When the run began (its first record).
    pub t0: DateTime<Utc>,
    /// Where its time goes on: now for a new run, its last record for a resumed one (a drill's
    /// simulated time continues from there).
    pub resume_at: DateTime<Utc>,
    /// Start, or Resume.
    pub first: Input,
    /// The records of a resumed run (a drill's world is rebuilt from them).
    pub records: Vec<Record>,
    /// A torn last line was set aside (and that recorded).
    pub torn_set_aside: bool,
}

/// The SHA-256 of the runbook file's exact bytes: a resume refuses a runbook edited since.
pub fn runbook_digest(path: &Path) -> Result<String, LaunchError> {
    std::fs::read(path)
        .map(|b| crate::audit::sha256_hex(&b))
        .map_err(|source| LaunchError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// A new run of `runbook`: its journal at `journal` (else the default place), and its engine.
pub fn start(
    runbook: &Arc<Runbook>,
    mode: Mode,
    operator: &str,
    journal: Option<&Path>,
    context: RunContext,
    now: DateTime<Utc>,
) -> Result<Launched, LaunchError> {
    let journal = match journal {
        Some(path) => Journal::create(path, operator, &runbook.id, mode)?,
        None => {
            private(&paths::data_dir().join("journals"))?;
            create_default(&runbook.id, operator, now, mode)?
        }
    };
    let run_id = format!("{}-{}", runbook.id, now.format("%Y%m%dT%H%M%S%.3fZ"));
    let mut engine = Engine::new(runbook.clone(), &run_id);
    engine.set_context(context);
    Ok(Launched {
        journal,
        engine,
        t0: now,
        resume_at: now,
        first: Input::Start,
        records: Vec::new(),
        torn_set_aside: false,
    })
}

/// Continues the run of `mode` recorded in `path`: checks it read-only first (a refused resume
/// leaves the journal untouched), then reopens it, sets a torn last line aside (and records
/// that), and rebuilds the engine from every record. With `rollback`, a run that has ended is
/// reopened to roll it back (its first input begins the rollback).
pub fn resume(
    runbook: &Arc<Runbook>,
    mode: Mode,
    operator: &str,
    path: &Path,
    digest: &str,
    rollback: bool,
) -> Result<Launched, LaunchError> {
    let word = word_of(mode);
    // Refused when reached through a link or another name (it is still opened by the path
    // given, shown as given, never following a link at its own name).
    let real = journal_itself(path)?;
    // A journal in pilotlight's own folder is only as safe as that folder.
    let journals = std::fs::canonicalize(paths::data_dir().join("journals")).ok();
    if let (Some(dir), Some(journals)) = (real.parent(), journals) {
        if dir == journals {
            private(dir)?;
        }
    }
    let bytes = std::fs::read(path).map_err(|source| LaunchError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let verified = crate::audit::verify(&bytes).map_err(|tamper| match tamper {
        Tamper::Unreadable { .. } => LaunchError::Unreadable {
            path: path.to_path_buf(),
            tamper,
        },
        tamper => LaunchError::NotIntact {
            path: path.to_path_buf(),
            tamper,
            word,
        },
    })?;
    let first = verified.records.first().ok_or_else(|| LaunchError::Empty {
        path: path.to_path_buf(),
        word,
    })?;
    if first.mode != mode {
        return Err(LaunchError::OtherMode {
            path: path.to_path_buf(),
            found: first.mode,
        });
    }
    if first.runbook != runbook.id {
        return Err(LaunchError::OtherRunbook {
            path: path.to_path_buf(),
            found: first.runbook.clone(),
            expected: runbook.id.clone(),
        });
    }
    // Approvals in the journal were given for the runbook as it was: an edited runbook must not
    // inherit them.
    if let Some(then) = began_with(first).filter(|d| !d.is_empty() && *d != digest) {
        return Err(LaunchError::RunbookChanged {
            word,
            then: then.chars().take(12).collect(),
            now: digest.chars().take(12).collect(),
        });
    }
    let replay = |records: &[Record]| {
        Engine::from_records(runbook.clone(), records).map_err(|source| LaunchError::Replay {
            path: path.to_path_buf(),
            source,
        })
    };
    let preview = replay(&verified.records)?;
    let ended = matches!(
        preview.status(),
        RunStatus::Finished | RunStatus::Aborted(_)
    );
    if ended && preview.state().rollback.is_some() {
        return Err(LaunchError::RolledBack {
            path: path.to_path_buf(),
        });
    }
    if ended && !rollback {
        let how = match preview.status() {
            RunStatus::Aborted(why) => format!("aborted: {why}"),
            _ => "finished".to_string(),
        };
        return Err(LaunchError::Ended {
            path: path.to_path_buf(),
            how,
            word,
        });
    }
    // Now the journal may change: a torn last line is set aside and that is recorded, and the
    // engine is rebuilt from every record (so its sequence numbers match the file's).
    let (mut journal, mut records, torn) = Journal::resume(path, operator)?;
    let t0 = records.first().map_or_else(Utc::now, |r| r.at);
    let last = records.last().map_or(t0, |r| r.at);
    let torn_set_aside = torn.is_some();
    if let Some(torn) = torn {
        let entry = Entry {
            at: last,
            step: None,
            event: Event::TornTailSetAside(TornTailSetAside {
                bytes: torn.bytes.len() as u64,
                line: torn.line as u64,
            }),
        };
        records.push(journal.append(&entry)?);
    }
    let engine = replay(&records)?;
    Ok(Launched {
        journal,
        engine,
        t0,
        resume_at: last,
        first: if ended {
            Input::Rollback { reason: None }
        } else {
            Input::Resume
        },
        records,
        torn_set_aside,
    })
}

/// The journal a resume may continue, by the one path that names it: not a symbolic link (two
/// paths to one file would take two locks and fork the journal), not hard-linked, its folders
/// resolved. The lock is taken on the path this returns.
pub fn journal_itself(path: &Path) -> Result<PathBuf, LaunchError> {
    use std::os::unix::fs::MetadataExt;
    let read = |source| LaunchError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(read)?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).unwrap_or_default();
        return Err(LaunchError::Symlinked {
            path: path.to_path_buf(),
            target,
        });
    }
    if meta.nlink() > 1 {
        return Err(LaunchError::HardLinked {
            path: path.to_path_buf(),
            links: meta.nlink(),
        });
    }
    std::fs::canonicalize(path).map_err(read)
}

/// Refuses a journals or locks folder that others can write or that is not the operator's.
pub fn private(dir: &Path) -> Result<(), LaunchError> {
    match paths::unsafe_folder(dir) {
        Some(why) => Err(LaunchError::UnsafeFolder(why)),
        None => Ok(()),
    }
}

/// At the console, `--rollback` undoes a run that has ended (or picks up its rollback); a run
/// still going on is resumed without it.
pub fn rollback_needs_an_end(
    launched: &Launched,
    path: &Path,
    rollback: bool,
) -> Result<(), LaunchError> {
    let ongoing = launched.first == Input::Resume && !launched.engine.rolling_back();
    if rollback && ongoing {
        return Err(LaunchError::NotEnded {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// The runbook digest a run began with, as its first record says.
fn began_with(first: &Record) -> Option<&str> {
    match &first.event {
        Event::RunStarted(started) => started.context.as_ref().map(|c| c.runbook_sha256.as_str()),
        _ => None,
    }
}

/// The run-started context of a journal's first record, if it can be read.
pub fn context_of(journal: &Path) -> Option<RunContext> {
    let bytes = std::fs::read(journal).ok()?;
    let verified = crate::audit::verify(&bytes).ok()?;
    match verified.records.into_iter().next()?.event {
        Event::RunStarted(started) => started.context,
        _ => None,
    }
}

/// Takes the one-operator lock of a run: `key` names it (the journal, or for live runs the
/// runbook and account).
pub fn lock(key: &Path, operator: &str) -> Result<RunLock, LaunchError> {
    Ok(RunLock::acquire(key, &Holder::current(operator))?)
}

/// A new journal at the default place; two runs started in the same second get `.2`, `.3`...
fn create_default(
    runbook: &str,
    operator: &str,
    t0: DateTime<Utc>,
    mode: Mode,
) -> Result<Journal, JournalError> {
    let base = paths::default_journal(runbook, word_of(mode), t0);
    let mut n = 1;
    loop {
        let path = if n == 1 {
            base.clone()
        } else {
            base.with_extension(format!("{n}.jsonl"))
        };
        match Journal::create(&path, operator, runbook, mode) {
            Err(JournalError::Create { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists && n < 100 =>
            {
                n += 1;
            }
            other => return other,
        }
    }
}
