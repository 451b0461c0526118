//! One operator per run (design section 4): a lock file next to the journal that names its
//! holder, so a second console on the same run is refused with who holds it and what to do.
//!
//! The lock is `<journal>.lock`, created with `create_new` (mode 0600) and holding
//! `{"operator","pid","host","since"}`. A lock whose process is gone from this host is stale
//! and is taken over (and the caller is told, so it can journal the fact). A lock held on another
//! host cannot be checked from here and counts as held.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

/// The name a holder gets when the lock cannot be read.
pub const UNKNOWN: &str = "unknown";

/// Who holds a run: what the lock file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub operator: String,
    pub pid: u32,
    pub host: String,
    #[serde(with = "rfc3339")]
    pub since: DateTime<Utc>,
}

impl Holder {
    /// This process, on this host, from now.
    pub fn current(operator: impl Into<String>) -> Holder {
        Holder {
            operator: operator.into(),
            pid: std::process::id(),
            host: this_host(),
            since: Utc::now().trunc_subsecs(0),
        }
    }

    /// Whoever holds a lock that cannot be read.
    pub fn unknown(since: DateTime<Utc>) -> Holder {
        Holder {
            operator: UNKNOWN.into(),
            pid: 0,
            host: UNKNOWN.into(),
            since,
        }
    }

    /// Whether the holder may still be running: its process exists on this host, or it is on
    /// another (or an unknown) host, where nothing can be checked from here.
    pub fn is_alive(&self) -> bool {
        if self.host == UNKNOWN || self.host != this_host() {
            return true;
        }
        process_exists(self.pid)
    }

    fn on_this_host(&self) -> bool {
        self.host != UNKNOWN && self.host == this_host()
    }
}

/// This machine's name: `/etc/hostname`, else `$HOSTNAME`, else `unknown`.
pub fn this_host() -> String {
    fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| UNKNOWN.into())
}

/// Whether `pid` is a process on this host. Without `/proc` nothing can be told, so yes.
fn process_exists(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    pid != 0 && Path::new("/proc").join(pid.to_string()).exists()
}

/// `<journal>.lock`: the journal's full name with `.lock` added.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = OsString::from(journal.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// Why a run could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone (alive, or on another host) runs this journal.
    #[error(
        "{} has held this run since {} ({}); only one operator may run it at a time. \
         Ask {op} to quit, or if {op}'s session is gone, remove {}",
        holder.operator,
        format_since(holder.since),
        describe_process(holder),
        path.display(),
        op = holder.operator
    )]
    Held { holder: Holder, path: PathBuf },
    /// A lock file exists but does not say who holds it: treat the run as held by `unknown`.
    #[error(
        "{} exists but is not a lock pilotlight can read ({why}), so someone may be running \
         this journal. Check that no one is, then remove {}",
        path.display(),
        path.display()
    )]
    Garbled {
        path: PathBuf,
        why: String,
        since: DateTime<Utc>,
    },
    /// Other consoles kept taking the lock while this one tried.
    #[error("another pilotlight took {} at the same moment; try again", path.display())]
    Contended { path: PathBuf },
    #[error(
        "cannot create the run lock {}: {source}; check that its folder exists and is writable",
        path.display()
    )]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl LockError {
    /// Who holds the run, when it is held (`unknown` when the lock cannot be read).
    pub fn holder(&self) -> Option<Holder> {
        match self {
            LockError::Held { holder, .. } => Some(holder.clone()),
            LockError::Garbled { since, .. } => Some(Holder::unknown(*since)),
            LockError::Contended { .. } | LockError::Io { .. } => None,
        }
    }
}

fn format_since(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn describe_process(h: &Holder) -> String {
    if h.on_this_host() {
        format!("pid {} on this host, {}", h.pid, h.host)
    } else {
        format!("pid {} on host {}", h.pid, h.host)
    }
}

/// What a journal's lock file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    Free,
    /// Held by a live process (or one on another host).
    Held(Holder),
    /// Left behind by a process that is gone from this host.
    Stale(Holder),
    /// There, but unreadable: counts as held by `unknown`.
    Garbled {
        why: String,
        since: DateTime<Utc>,
    },
}

impl LockState {
    /// Who holds the run, if anyone does (`unknown` for an unreadable lock).
    pub fn live_holder(&self) -> Option<Holder> {
        match self {
            LockState::Held(h) => Some(h.clone()),
            LockState::Garbled { since, .. } => Some(Holder::unknown(*since)),
            LockState::Free | LockState::Stale(_) => None,
        }
    }
}

/// Reads the lock of `journal` without taking it.
pub fn inspect(journal: &Path) -> LockState {
    let path = lock_path(journal);
    match read_lock(&path) {
        Read::Missing => LockState::Free,
        Read::Garbled { why, since } => LockState::Garbled { why, since },
        Read::Holder(h, _) if h.is_alive() => LockState::Held(h),
        Read::Holder(h, _) => LockState::Stale(h),
    }
}

enum Read {
    Missing,
    Holder(Holder, Vec<u8>),
    Garbled { why: String, since: DateTime<Utc> },
}

fn read_lock(path: &Path) -> Read {
    // A lock is written in one call right after it is created; an empty one is most likely being
    // written at this very moment, so look again once before calling it garbled.
    for attempt in 0..2 {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Read::Missing,
            Err(e) => {
                return Read::Garbled {
                    why: format!("cannot read it: {e}"),
                    since: modified(path),
                }
            }
        };
        if bytes.is_empty() && attempt == 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            continue;
        }
        return match serde_json::from_slice::<Holder>(&bytes) {
            Ok(h) => Read::Holder(h, bytes),
            Err(e) => Read::Garbled {
                why: if bytes.is_empty() {
                    "it is empty".into()
                } else {
                    format!("not a lock: {e}")
                },
                since: modified(path),
            },
        };
    }
    Read::Garbled {
        why: "it is empty".into(),
        since: modified(path),
    }
}

fn modified(path: &Path) -> DateTime<Utc> {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(|_| Utc::now())
}

/// A held run lock; dropping it removes the lock file if it is still this one's.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    holder: Holder,
    contents: Vec<u8>,
    stale: Option<Holder>,
}

impl RunLock {
    /// Locks the run of `journal` for `holder`, taking over a stale lock left by a process that is
    /// gone from this host.
    pub fn acquire(journal: &Path, holder: &Holder) -> Result<RunLock, LockError> {
        let path = lock_path(journal);
        // The file keeps whole seconds; so does the holder this lock reports.
        let holder = Holder {
            since: holder.since.trunc_subsecs(0),
            ..holder.clone()
        };
        let mut contents = serde_json::to_vec(&holder).map_err(|e| LockError::Io {
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        contents.push(b'\n');
        let mut stale = None;
        for _ in 0..4 {
            match create_new(&path, &contents) {
                Ok(()) => {
                    return Ok(RunLock {
                        path,
                        holder,
                        contents,
                        stale,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(LockError::Io { path, source }),
            }
            match read_lock(&path) {
                Read::Missing => continue,
                Read::Garbled { why, since } => {
                    return Err(LockError::Garbled { path, why, since })
                }
                Read::Holder(h, _) if h.is_alive() => {
                    return Err(LockError::Held { holder: h, path })
                }
                Read::Holder(h, bytes) => {
                    if take_over(&path, &bytes).map_err(|source| LockError::Io {
                        path: path.clone(),
                        source,
                    })? {
                        stale = Some(h);
                    }
                }
            }
        }
        Err(LockError::Contended { path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who this lock names.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// The holder of a stale lock this one replaced, for the journal.
    pub fn stale_taken_over(&self) -> Option<&Holder> {
        self.stale.as_ref()
    }

    /// Releases the lock now (the same as dropping it).
    pub fn release(self) {}
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Only if it is still ours: someone may have removed it and taken the run since.
        if fs::read(&self.path).is_ok_and(|b| b == self.contents) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn create_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(())
}

/// Removes the stale lock whose bytes are `stale`, unless another console replaced it in the
/// meantime. The lock is first moved aside (an atomic rename), so that of several consoles taking
/// over at once only one removes it; one that moved a fresh lock by mistake puts it back.
/// Returns whether the stale lock was the one removed.
fn take_over(path: &Path, stale: &[u8]) -> io::Result<bool> {
    let mut aside = OsString::from(path.as_os_str());
    aside.push(format!(
        ".stale.{}.{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let aside = PathBuf::from(aside);
    match fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    let moved = fs::read(&aside)?;
    if moved == stale {
        fs::remove_file(&aside)?;
        return Ok(true);
    }
    // Someone else's fresh lock: put it back (a hard link never replaces an existing file).
    let restored = fs::hard_link(&aside, path);
    let _ = fs::remove_file(&aside);
    match restored {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}
