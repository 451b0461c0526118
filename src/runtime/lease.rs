//! One live run per runbook and state store, whichever machine it runs on (issue 15): a lock
//! object in the store (`locks/live/RUNBOOK.json`; drills in `locks/drill/`, so a rehearsal never
//! blocks a live run) naming its holder, created only if absent and renewed only by its holder,
//! as a lease. A second operator is refused with who holds the run. A lease not renewed within
//! its length has expired (by the store's clock, not a laptop's); taking it over is a decision
//! (`--take-over`), and replaces exactly the expired lease that was read.
//!
//! The holder renews every third of the lease. While a renewal fails, [`LeaseHealth`] says so
//! and no new change request leaves ([`crate::cloud::leased::Leased`] refuses it, definitely: nothing
//! was sent, the step's retry tries again once the lease is renewed). So an expired lease never
//! means two operators changing the same estate.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::store::{Store, StoreError};
pub use crate::cloud::leased::LeaseHealth;

/// How long a lease lasts without renewal, unless `PILOTLIGHT_LEASE_SECONDS` says otherwise.
pub const LEASE_SECS: u64 = 60;

/// Who holds a runbook's run in a state store, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub operator: String,
    /// The AWS principal of a live run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    pub host: String,
    pub pid: u32,
    pub since: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    pub lease_secs: u64,
}

/// The shortest and longest lease a lock may name.
pub const LEASE_BOUNDS: std::ops::RangeInclusive<u64> = 3..=86_400;

impl Lease {
    pub fn expires_at(&self) -> DateTime<Utc> {
        let secs = self
            .lease_secs
            .clamp(*LEASE_BOUNDS.start(), *LEASE_BOUNDS.end());
        self.renewed_at + TimeDelta::seconds(secs as i64)
    }

    /// "ana (arn:…) on laptop-7, pid 4242, since …"
    pub fn who(&self) -> String {
        let principal = self
            .principal
            .as_deref()
            .map(|p| format!(" ({})", crate::safe::one_line(p)))
            .unwrap_or_default();
        format!(
            "{}{principal} on {} (pid {}) since {}",
            crate::safe::one_line(&self.operator),
            crate::safe::one_line(&self.host),
            self.pid,
            self.since.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Which runs a lock is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Live,
    Drill,
}

/// The lock's key in the store.
pub fn key(ns: Namespace, runbook: &str) -> String {
    let ns = match ns {
        Namespace::Live => "live",
        Namespace::Drill => "drill",
    };
    format!("locks/{ns}/{runbook}.json")
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("{runbook} is already being run by {} (state store {store}; lease until {}); only one operator at a time", .holder.who(), .holder.expires_at().format("%H:%M:%S UTC"))]
    Held {
        runbook: String,
        store: String,
        holder: Box<Lease>,
    },
    #[error("{runbook} was being run by {}, whose lease expired at {} (state store {store}): if they are gone, take the run over with --take-over (and --resume its journal)", .holder.who(), .holder.expires_at().format("%H:%M:%S UTC"))]
    Expired {
        runbook: String,
        store: String,
        holder: Box<Lease>,
    },
    #[error("the lock in the state store cannot be read ({0}); look at it, or remove it if no run holds it")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lease held in a store: renewed in the background, released when dropped.
pub struct Held {
    health: LeaseHealth,
    /// The lease this one took over (the operator is told).
    pub took_over: Option<Lease>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

impl Held {
    pub fn health(&self) -> LeaseHealth {
        self.health.clone()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // The renewer releases the lock as it stops; a store that does not answer does not
        // hold the operator up (the lease then expires on its own).
        drop(self.stop.take());
        if let Some(r) = self.renewer.take() {
            join_within(r, Duration::from_secs(5));
        }
    }
}

/// Waits for `worker` to end, at most `limit`; after that it is left to end on its own.
pub fn join_within(worker: std::thread::JoinHandle<()>, limit: Duration) {
    let until = std::time::Instant::now() + limit;
    while !worker.is_finished() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    if worker.is_finished() {
        let _ = worker.join();
    }
}

/// [`acquire`], given at most `limit` to get an answer from the store.
pub fn acquire_within<S: Store + ?Sized + 'static>(
    store: Arc<S>,
    ns: Namespace,
    runbook: &str,
    me: Lease,
    take_over: bool,
    limit: Duration,
) -> Result<Held, LeaseError> {
    let (tx, rx) = mpsc::channel();
    let (runbook, what) = (runbook.to_string(), store.describe());
    std::thread::spawn(move || {
        let _ = tx.send(acquire(store, ns, &runbook, me, take_over));
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        Err(LeaseError::Store(StoreError::Io {
            what,
            why: format!("no answer within {} s", limit.as_secs()),
        }))
    })
}

/// Takes the run's lock in `store`, or says who holds it. `take_over` replaces an expired lease
/// (never a live one).
pub fn acquire<S: Store + ?Sized + 'static>(
    store: Arc<S>,
    ns: Namespace,
    runbook: &str,
    mut me: Lease,
    take_over: bool,
) -> Result<Held, LeaseError> {
    let key = key(ns, runbook);
    // The lease counts from before the store was asked (its answer may be slow).
    let began = std::time::Instant::now();
    let now = store.now()?;
    me.since = now;
    me.renewed_at = now;
    let body = serde_json::to_vec(&me).map_err(|e| LeaseError::Unreadable(e.to_string()))?;
    let (tag, took_over) = match store.create(&key, &body) {
        Ok(tag) => (tag, None),
        Err(StoreError::Exists(_)) => {
            let Some(current) = store.get(&key)? else {
                // Released between the two calls: try once more.
                return acquire(store, ns, runbook, me, take_over);
            };
            let holder: Lease = serde_json::from_slice(&current.body)
                .map_err(|e| LeaseError::Unreadable(format!("{key}: {e}")))?;
            if !LEASE_BOUNDS.contains(&holder.lease_secs) {
                return Err(LeaseError::Unreadable(format!(
                    "{key}: a lease of {} s is not one pilotlight writes ({}-{} s)",
                    holder.lease_secs,
                    LEASE_BOUNDS.start(),
                    LEASE_BOUNDS.end()
                )));
            }
            let (store_name, runbook) = (store.describe(), runbook.to_string());
            if holder.expires_at() > now {
                return Err(LeaseError::Held {
                    runbook,
                    store: store_name,
                    holder: Box::new(holder),
                });
            }
            if !take_over {
                return Err(LeaseError::Expired {
                    runbook,
                    store: store_name,
                    holder: Box::new(holder),
                });
            }
            // Exactly the expired lease that was read: if its holder renewed meanwhile, no.
            let tag = match store.replace(&key, &body, &current.tag) {
                Ok(tag) => tag,
                Err(StoreError::Changed(_)) => {
                    return acquire(store, ns, &runbook, me, false);
                }
                Err(e) => return Err(e.into()),
            };
            (tag, Some(holder))
        }
        Err(e) => return Err(e.into()),
    };
    let health = LeaseHealth::until(began);
    health.renewed(began, me.lease_secs);
    let (stop, stopped) = mpsc::channel::<()>();
    let renewer = {
        let health = health.clone();
        std::thread::spawn(move || renew(&*store, &key, me, tag, &health, &stopped))
    };
    Ok(Held {
        health,
        took_over,
        stop: Some(stop),
        renewer: Some(renewer),
    })
}

/// Renews the lease every third of its length until told to stop, then releases it.
fn renew<S: Store + ?Sized>(
    store: &S,
    key: &str,
    mut lease: Lease,
    mut tag: String,
    health: &LeaseHealth,
    stopped: &mpsc::Receiver<()>,
) {
    let every = Duration::from_secs((lease.lease_secs / 3).max(1));
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            // Stopped: the run is over here; the next operator need not wait for expiry.
            _ => {
                let _ = store.remove(key, &tag);
                return;
            }
        }
        let began = std::time::Instant::now();
        match renew_once(store, key, &lease, &tag) {
            Ok((next, t)) => {
                lease = next;
                tag = t;
                health.renewed(began, lease.lease_secs);
            }
            // Taken over (after expiry): not ours any more.
            Err(StoreError::Changed(_)) => health.lost(),
            // Unreachable: the deadline runs out on its own; tried again next time.
            Err(_) => {}
        }
    }
}

/// One renewal: the lease as of the store's now, written over exactly the version `tag`.
pub fn renew_once<S: Store + ?Sized>(
    store: &S,
    key: &str,
    lease: &Lease,
    tag: &str,
) -> Result<(Lease, String), StoreError> {
    let mut next = lease.clone();
    next.renewed_at = store.now()?;
    let body = serde_json::to_vec(&next).map_err(|e| StoreError::Io {
        what: key.to_string(),
        why: e.to_string(),
    })?;
    let tag = store.replace(key, &body, tag)?;
    Ok((next, tag))
}

/// The lease length: `PILOTLIGHT_LEASE_SECONDS` (tests run it short), else [`LEASE_SECS`].
pub fn lease_secs() -> u64 {
    std::env::var("PILOTLIGHT_LEASE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| LEASE_BOUNDS.contains(s))
        .unwrap_or(LEASE_SECS)
}
