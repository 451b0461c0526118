//! The journal file: append-only, one fsync per record, owner-only permissions, and once a
//! write fails, no further writes (so no change can happen unrecorded).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::record::{seal, Entry, Mode, Record, GENESIS};
use super::verify::{verify, Tamper, TornTail};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "cannot create the journal {path}: {source}; choose another place with --journal FILE"
    )]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the journal {path}: {source}; no further change will be made until it is writable")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the journal {path} is not intact: {tamper}; run `pilotlight audit verify {path}` and keep it as evidence")]
    Tampered { path: PathBuf, tamper: Tamper },
    #[error("an earlier write to the journal {path} failed; every further change is blocked")]
    Poisoned { path: PathBuf },
    #[error("cannot encode a journal record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// An open journal that appends sealed records.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    next_seq: u64,
    last_hash: String,
    operator: String,
    runbook: String,
    mode: Mode,
    poisoned: bool,
}

impl Journal {
    /// Creates a new journal file (never overwrites), its folder owner-only if it makes it.
    pub fn create(
        path: &Path,
        operator: &str,
        runbook: &str,
        mode: Mode,
    ) -> Result<Journal, JournalError> {
        let err = |source| JournalError::Create {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(err)?;
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            next_seq: 0,
            last_hash: GENESIS.to_string(),
            operator: operator.to_string(),
            runbook: runbook.to_string(),
            mode,
            poisoned: false,
        })
    }

    /// Reopens a journal to continue it. Verifies it first; a torn last line (crash mid-write) is
    /// moved to `JOURNAL.torn-LINE` and cut off, and reported back so the caller records that.
    pub fn resume(
        path: &Path,
        operator: &str,
    ) -> Result<(Journal, Vec<Record>, Option<TornTail>), JournalError> {
        let read_err = |source| JournalError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = fs::read(path).map_err(read_err)?;
        let verified = verify(&bytes).map_err(|tamper| JournalError::Tampered {
            path: path.to_path_buf(),
            tamper,
        })?;
        let write_err = |source| JournalError::Write {
            path: path.to_path_buf(),
            source,
        };
        // The journal itself, never what a link planted at its name points to.
        let mut file = OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(write_err)?;
        if let Some(torn) = &verified.torn_tail {
            set_aside(path, torn.line, &torn.bytes).map_err(write_err)?;
            file.set_len(torn.offset as u64).map_err(write_err)?;
        }
        if verified.needs_newline {
            file.write_all(b"\n").map_err(write_err)?;
        }
        file.sync_all().map_err(write_err)?;
        let Some(first) = verified.records.first() else {
            return Err(JournalError::Tampered {
                path: path.to_path_buf(),
                tamper: Tamper::Empty,
            });
        };
        let journal = Journal {
            path: path.to_path_buf(),
            next_seq: verified.records.len() as u64,
            last_hash: verified
                .records
                .last()
                .map_or(GENESIS.to_string(), |r| r.hash.clone()),
            operator: operator.to_string(),
            runbook: first.runbook.clone(),
            mode: first.mode,
            poisoned: false,
            file,
        };
        Ok((journal, verified.records, verified.torn_tail))
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, entry: &Entry) -> Result<Record, JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
        let (line, record) = seal(
            self.next_seq,
            &self.operator,
            &self.runbook,
            self.mode,
            entry,
            &self.last_hash,
        )?;
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            self.poisoned = true;
            return Err(JournalError::Write {
                path: self.path.clone(),
                source,
            });
        }
        self.next_seq += 1;
        self.last_hash = record.hash.clone();
        Ok(record)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn runbook(&self) -> &str {
        &self.runbook
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }
}

/// Keeps a torn last line in a new file beside the journal, `JOURNAL.torn-LINE` (or `.torn-LINE.N`
/// when that name is taken): created new, owner-only like the journal, never through a link.
fn set_aside(journal: &Path, line: usize, bytes: &[u8]) -> std::io::Result<PathBuf> {
    for n in 1..100 {
        let aside = match n {
            1 => journal.with_extension(format!("torn-{line}")),
            n => journal.with_extension(format!("torn-{line}.{n}")),
        };
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&aside);
        match created {
            Ok(mut f) => {
                f.write_all(bytes)?;
                f.sync_all()?;
                return Ok(aside);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "every name for the torn line's copy is taken; move the old .torn files away",
    ))
}
