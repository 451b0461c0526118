//! The state store (issue 15): a place every machine of a team reaches, holding one lock per
//! runbook and what goes with it. Two operations make it safe to share, the ones S3 offers as
//! conditional writes:
//! - **create** a key only if it is absent (`If-None-Match: *`): of any number of writers, one
//!   wins and the others learn who did;
//! - **replace** a key only if it still holds what the writer read (`If-Match: ETAG`): a lease
//!   is renewed only by its holder, and taken over only as it was seen expired.
//!
//! [`Folder`] is the store as a local (or shared) folder with the same layout, for rehearsals
//! without AWS: a key is a file, its tag the SHA-256 of its bytes; creation is a hard link of a
//! complete temporary file (atomic, and refused if the name exists), replacement happens under an
//! exclusive `flock` of a sidecar file. Times are judged by [`Store::now`], the store's clock.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// The store is shared by a team (one Unix group): folders and files are group-writable, as
/// the umask allows; nothing is for others.
const DIR_MODE: u32 = 0o770;
const FILE_MODE: u32 = 0o660;

/// What a key holds, and the tag that names this version of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    pub tag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `create`: the key is there already.
    #[error("{0} exists already")]
    Exists(String),
    /// `replace`: the key changed since it was read (or is gone).
    #[error("{0} changed since it was read")]
    Changed(String),
    #[error("{what}: {why} (check that the state store is reachable and writable)")]
    Io { what: String, why: String },
    #[error("`{0}` is not a key pilotlight writes (letters, digits, `-_.@/`, no `..`)")]
    BadKey(String),
}

/// A state store: a folder here, S3 elsewhere.
pub trait Store: Send + Sync {
    /// Where it is, for messages (`folder /srv/pilotlight`).
    fn describe(&self) -> String;
    fn get(&self, key: &str) -> Result<Option<Object>, StoreError>;
    /// Writes `key` only if it does not exist; returns its tag.
    fn create(&self, key: &str, body: &[u8]) -> Result<String, StoreError>;
    /// Writes `key` only if it still has `tag`; returns the new tag.
    fn replace(&self, key: &str, body: &[u8], tag: &str) -> Result<String, StoreError>;
    /// Removes `key` only if it still has `tag` (a lock released by its holder).
    fn remove(&self, key: &str, tag: &str) -> Result<(), StoreError>;
    /// The store's clock: leases are judged by it, never by a laptop's.
    fn now(&self) -> Result<DateTime<Utc>, StoreError>;
    /// The keys under `prefix` (a folder: `runs/RUNBOOK/`), in order.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// The keys under `prefix` that sort after `after`, in order: what a follower has not
    /// seen yet of a journal's batches.
    fn list_after(&self, prefix: &str, after: Option<&str>) -> Result<Vec<String>, StoreError> {
        let mut keys = self.list(prefix)?;
        if let Some(after) = after {
            keys.retain(|k| k.as_str() > after);
        }
        Ok(keys)
    }
    /// What the team should know about how safe the store is (an S3 bucket with neither
    /// versioning nor Object Lock), asked once as a run starts.
    fn warning(&self) -> Option<String> {
        None
    }
}

/// Refuses a key pilotlight never writes: one that could leave the store's folder or prefix.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@/".contains(c));
    match ok {
        true => Ok(()),
        false => Err(StoreError::BadKey(crate::safe::one_line(key))),
    }
}

/// The store as a folder.
#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    /// The folder at `root` (made for the team's group, as the umask allows, if missing).
    pub fn open(root: &Path) -> Result<Folder, StoreError> {
        make_dir(root)?;
        Ok(Folder {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// A complete temporary file beside `path`, to be linked or renamed into place.
    fn staged(&self, path: &Path, body: &[u8]) -> Result<PathBuf, StoreError> {
        let dir = path.parent().unwrap_or(&self.root);
        make_dir(dir)?;
        // A name no other writer (another machine, the same pid in another container) can
        // have: this process's, a counter, and the time in nanoseconds; created new, never
        // opened over another's.
        static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let (mut f, tmp) = loop {
            let n = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
            let tmp = dir.join(format!(
                ".{}.{}.{}.{n}.{nanos}.tmp",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
                crate::runtime::lock::this_host().replace(['/', '.'], "_"),
                std::process::id(),
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(&tmp)
            {
                Ok(f) => break (f, tmp),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&tmp, e)),
            }
        };
        f.write_all(body).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
        Ok(tmp)
    }

    /// Runs `f` holding the exclusive lock of `path`'s sidecar (`.NAME.cas`).
    fn exclusively<T>(
        &self,
        path: &Path,
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let dir = path.parent().unwrap_or(&self.root);
        make_dir(dir)?;
        let side = dir.join(format!(
            ".{}.cas",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("key")
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(&side)
            .map_err(|e| io(&side, e))?;
        // flock: released when `file` closes, also if this process dies.
        file.lock().map_err(|e| io(&side, e))?;
        let out = f();
        drop(file);
        out
    }
}

/// Makes `dir` (and what leads to it) with the team's mode, if it is not there.
fn make_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| io(dir, e))
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io {
        what: path.display().to_string(),
        why: e.to_string(),
    }
}

fn tag_of(body: &[u8]) -> String {
    crate::audit::sha256_hex(body)
}

impl Store for Folder {
    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }

    fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        let path = self.path(key)?;
        match std::fs::read(&path) {
            Ok(body) => {
                let tag = tag_of(&body);
                Ok(Some(Object { body, tag }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    fn create(&self, key: &str, body: &[u8]) -> Result<String, StoreError> {
        let path = self.path(key)?;
        let tmp = self.staged(&path, body)?;
        // A hard link is made whole or not at all, and never over an existing name.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(tag_of(body)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(StoreError::Exists(key.to_string()))
            }
            Err(e) => Err(io(&path, e)),
        }
    }

    fn replace(&self, key: &str, body: &[u8], tag: &str) -> Result<String, StoreError> {
        let path = self.path(key)?;
        self.exclusively(&path, || {
            match self.get(key)? {
                Some(now) if now.tag == tag => {}
                _ => return Err(StoreError::Changed(key.to_string())),
            }
            let tmp = self.staged(&path, body)?;
            std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
            Ok(tag_of(body))
        })
    }

    fn remove(&self, key: &str, tag: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        self.exclusively(&path, || match self.get(key)? {
            Some(now) if now.tag == tag => std::fs::remove_file(&path).map_err(|e| io(&path, e)),
            _ => Err(StoreError::Changed(key.to_string())),
        })
    }

    /// The store's own clock: the time its file system gives a file touched now (on a network
    /// file system, the server's), not this machine's.
    fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        let clock = self.root.join(".clock");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(&clock)
            .map_err(|e| io(&clock, e))?;
        (&f).write_all(b"clock\n").map_err(|e| io(&clock, e))?;
        let at = f
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| io(&clock, e))?;
        Ok(DateTime::<Utc>::from(at))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let top = self.path(prefix.trim_end_matches('/'))?;
        let mut keys = Vec::new();
        let mut dirs = vec![top];
        while let Some(dir) = dirs.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io(&dir, e))?;
                let name = entry.file_name();
                // Staged and lock sidecars are not keys.
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                let path = entry.path();
                match entry.file_type().map_err(|e| io(&path, e))?.is_dir() {
                    true => dirs.push(path),
                    false => {
                        if let Ok(rel) = path.strip_prefix(&self.root) {
                            keys.push(rel.to_string_lossy().into_owned());
                        }
                    }
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> Folder {
        let dir =
            std::env::temp_dir().join(format!("pilotlight-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Folder::open(&dir).unwrap()
    }

    #[test]
    fn create_wins_once_and_replace_only_over_what_was_read() {
        let s = folder("cas");
        let t1 = s.create("locks/live/rb.json", b"one").unwrap();
        assert!(matches!(
            s.create("locks/live/rb.json", b"two"),
            Err(StoreError::Exists(_))
        ));
        assert_eq!(s.get("locks/live/rb.json").unwrap().unwrap().body, b"one");
        let t2 = s.replace("locks/live/rb.json", b"three", &t1).unwrap();
        // The first tag is stale now: a second writer that read "one" loses.
        assert!(matches!(
            s.replace("locks/live/rb.json", b"four", &t1),
            Err(StoreError::Changed(_))
        ));
        assert!(matches!(
            s.remove("locks/live/rb.json", &t1),
            Err(StoreError::Changed(_))
        ));
        s.remove("locks/live/rb.json", &t2).unwrap();
        assert_eq!(s.get("locks/live/rb.json").unwrap(), None);
    }

    #[test]
    fn of_many_racing_creators_exactly_one_wins() {
        let s = folder("race");
        let wins: usize = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let s = s.clone();
                    sc.spawn(move || {
                        s.create("locks/drill/rb.json", format!("{i}").as_bytes())
                            .is_ok()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(wins, 1);
    }

    #[test]
    fn keys_cannot_leave_the_store() {
        let s = folder("keys");
        for bad in [
            "../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "",
            "a b",
            "a\u{202e}b",
        ] {
            assert!(
                matches!(s.create(bad, b"x"), Err(StoreError::BadKey(_))),
                "{bad:?}"
            );
        }
    }
}
