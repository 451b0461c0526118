//! The journal mirrored to the team's state store (issue 15): the local journal stays the
//! write-ahead record, and what it gains is copied, in order, as batch objects each created
//! only if absent (`runs/RUNBOOK/RUN_ID/journal/SEQ.jsonl`, SEQ the batch's first record).
//! pilotlight never overwrites a batch, so the mirror cannot fork; its bytes are the journal's
//! own lines, chained as the file is. A store that cannot be reached never blocks the operator:
//! the mirror catches up on the next look. A local journal re-chained after the fact no longer
//! matches its mirror (`audit verify JOURNAL --against RUN`).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::store::{Store, StoreError};
use crate::audit::{Chain, Event};

/// How often the mirror looks at the local journal.
pub const EVERY: Duration = Duration::from_secs(2);

/// Where a run lives in a store.
pub fn run_prefix(runbook: &str, run_id: &str) -> String {
    format!("runs/{runbook}/{run_id}")
}

/// How far the mirror has come, for the screen and the exit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorState {
    /// Records the store holds.
    pub mirrored: u64,
    /// Why the last look did not finish (it is tried again), or why mirroring stopped.
    pub error: Option<String>,
    /// Mirroring stopped for good: the journal and its mirror disagree.
    pub stopped: bool,
    /// The run's place in the store (`runs/RUNBOOK/RUN_ID`), once known.
    pub prefix: Option<String>,
}

/// Copies a local journal's new records to a store.
pub struct Mirror<S: Store + ?Sized> {
    store: Arc<S>,
    journal: PathBuf,
    chain: Chain,
    /// The run's place in the store, once its first record is read.
    prefix: Option<String>,
}

impl<S: Store + ?Sized> Mirror<S> {
    pub fn new(store: Arc<S>, journal: &Path) -> Mirror<S> {
        Mirror {
            store,
            journal: journal.to_path_buf(),
            chain: Chain::default(),
            prefix: None,
        }
    }

    /// One look: what the journal gained since the last is written as one batch. Returns how
    /// many records the store holds.
    pub fn sync(&mut self) -> Result<u64, MirrorError> {
        use std::io::{Read, Seek};
        let local = |e: std::io::Error| MirrorError::Local(e.to_string());
        let mut file = std::fs::File::open(&self.journal).map_err(local)?;
        let len = file.metadata().map_err(local)?.len();
        if len < self.chain.consumed {
            return Err(MirrorError::Disagree(
                "the local journal is shorter than what was mirrored".into(),
            ));
        }
        // Only what was added since the last look is read.
        file.seek(std::io::SeekFrom::Start(self.chain.consumed))
            .map_err(local)?;
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).map_err(local)?;
        // Whole lines only: a record being written is taken on the next look.
        let Some(end) = rest.iter().rposition(|b| *b == b'\n').map(|i| i + 1) else {
            return Ok(self.chain.records());
        };
        let piece = &rest[..end];
        if self.prefix.is_none() {
            return self.first_look(piece);
        }
        let first = self.chain.records();
        let mut probe = self.chain.clone();
        let grown = probe
            .feed(piece)
            .map_err(|t| MirrorError::Disagree(format!("the local journal: {t}")))?;
        if grown.records.is_empty() {
            return Ok(first);
        }
        let taken = (probe.consumed - self.chain.consumed) as usize;
        self.put(first, &piece[..taken])?;
        self.chain = probe;
        Ok(self.chain.records())
    }

    /// The first look: where the run goes in the store, and what is there already (a run
    /// resumed here or elsewhere): the local journal must begin with exactly those bytes.
    fn first_look(&mut self, piece: &[u8]) -> Result<u64, MirrorError> {
        let mut probe = Chain::default();
        let grown = probe
            .feed(piece)
            .map_err(|t| MirrorError::Disagree(format!("the local journal: {t}")))?;
        let Some(first) = grown.records.first() else {
            return Ok(0);
        };
        let Event::RunStarted(started) = &first.event else {
            return Err(MirrorError::Disagree(
                "the local journal does not begin with its run's start".into(),
            ));
        };
        let prefix = run_prefix(&first.runbook, &started.run_id);
        let there = read_batches(&*self.store, &prefix)?;
        if !piece.starts_with(&there) {
            // The run went on elsewhere (a takeover from a stale copy) or this copy was changed.
            let lacks = match there.starts_with(piece) {
                true => {
                    let extra = &there[piece.len()..];
                    let n = extra.iter().filter(|b| **b == b'\n').count();
                    format!("its mirror {prefix} holds {n} records this journal lacks (the run went on elsewhere): resume from the mirror's records, not this copy")
                }
                false => format!("the local journal differs from its mirror {prefix} (changed after it was mirrored?)"),
            };
            return Err(MirrorError::Disagree(lacks));
        }
        // What is there already is not written again.
        let mut chain = Chain::default();
        chain
            .feed(&there)
            .map_err(|t| MirrorError::Disagree(format!("the mirror {prefix}: {t}")))?;
        self.chain = chain;
        self.prefix = Some(prefix);
        self.sync()
    }

    fn put(&self, first: u64, body: &[u8]) -> Result<(), MirrorError> {
        let prefix = self.prefix.as_deref().unwrap_or_default();
        let key = format!("{prefix}/journal/{first:012}.jsonl");
        match self.store.create(&key, body) {
            Ok(_) => Ok(()),
            // Written by an earlier look whose answer was lost: the same records (or the first
            // of them) are fine; what follows them goes in the next batch.
            Err(StoreError::Exists(_)) => match self.store.get(&key)? {
                Some(o) if o.body == body => Ok(()),
                Some(o)
                    if !o.body.is_empty()
                        && body.starts_with(&o.body)
                        && o.body.ends_with(b"\n") =>
                {
                    let taken = o.body.iter().filter(|b| **b == b'\n').count() as u64;
                    self.put(first + taken, &body[o.body.len()..])
                }
                _ => Err(MirrorError::Disagree(format!(
                    "{key} holds other records than the local journal's"
                ))),
            },
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("cannot read the local journal: {0}")]
    Local(String),
    /// The journal and its mirror disagree: mirroring stops, the operator is told.
    #[error("{0}")]
    Disagree(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A run's mirrored journal: its batches in order, as one byte string.
pub fn read_batches<S: Store + ?Sized>(store: &S, prefix: &str) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    for key in store.list(&format!("{prefix}/journal"))? {
        if let Some(o) = store.get(&key)? {
            out.extend_from_slice(&o.body);
        }
    }
    Ok(out)
}

/// The mirror at work in the background, for as long as the run is open here.
pub struct Mirroring {
    pub state: Arc<Mutex<MirrorState>>,
    stop: Option<mpsc::Sender<()>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Mirroring {
    /// Takes a first look at once (within `limit`): a journal its mirror disagrees with (the run
    /// went on elsewhere) is not run on. A store that does not answer only delays the mirror.
    pub fn start<S: Store + ?Sized + 'static>(
        store: Arc<S>,
        journal: &Path,
        limit: Duration,
    ) -> Result<Mirroring, MirrorError> {
        let (tx, rx) = mpsc::channel();
        let journal = journal.to_path_buf();
        std::thread::spawn(move || {
            let mut mirror = Mirror::new(store, &journal);
            let first = mirror.sync();
            let _ = tx.send((mirror, first));
        });
        match rx.recv_timeout(limit) {
            Ok((_, Err(e @ MirrorError::Disagree(_)))) => Err(e),
            Ok((mirror, first)) => {
                let state = MirrorState {
                    mirrored: first.as_ref().map_or(0, |n| *n),
                    error: first.err().map(|e| e.to_string()),
                    stopped: false,
                    prefix: mirror.prefix.clone(),
                };
                Ok(Mirroring::keep(mirror, state))
            }
            Err(_) => Err(MirrorError::Store(StoreError::Io {
                what: "the state store".into(),
                why: format!("no answer within {} s", limit.as_secs()),
            })),
        }
    }

    /// Keeps `mirror` going in the background.
    fn keep<S: Store + ?Sized + 'static>(mut mirror: Mirror<S>, first: MirrorState) -> Mirroring {
        let state = Arc::new(Mutex::new(first));
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = state.clone();
        let worker = std::thread::spawn(move || loop {
            let last = !matches!(stopped.recv_timeout(EVERY), Err(RecvTimeoutError::Timeout));
            let result = mirror.sync();
            if let Ok(mut s) = shared.lock() {
                match result {
                    Ok(n) => {
                        s.mirrored = n;
                        s.error = None;
                        s.prefix = mirror.prefix.clone();
                    }
                    Err(e @ MirrorError::Disagree(_)) => {
                        s.error = Some(e.to_string());
                        s.stopped = true;
                    }
                    Err(e) => s.error = Some(e.to_string()),
                }
                if s.stopped {
                    return;
                }
            }
            if last {
                return;
            }
        });
        Mirroring {
            state,
            stop: Some(stop),
            worker: Some(worker),
        }
    }

    /// Stops after one last look; what the mirror holds then.
    pub fn finish(mut self) -> MirrorState {
        self.halt();
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        // One last look, if the store answers in time; the operator is not held up longer.
        if let Some(w) = self.worker.take() {
            super::lease::join_within(w, Duration::from_secs(10));
        }
    }
}

impl Drop for Mirroring {
    fn drop(&mut self) {
        self.halt();
    }
}
