//! How hard a refresh leans on AWS: at most [`PER_SERVICE_REGION`] requests in flight per
//! (service, region), and facts that change slowly (snapshot and backup lists, PITR windows)
//! fetched at most once per [`SLOW_EVERY`] while health is read on every refresh.
//!
//! Throttling itself is answered by the read clients' standard retry mode, which backs off
//! exponentially with jitter; the bound keeps a refresh of a thousand resources from earning
//! that throttling in the first place.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::model::CloudError;

/// Requests in flight per (service, region): the AWS CLI's own default for parallel transfers,
/// well under the per-account request rates of the describe APIs.
pub const PER_SERVICE_REGION: usize = 10;

/// How long a slow fact is reused. A recovery point list older than this is read again; the RPO
/// shown from it only errs on the pessimistic side (a newer point may exist).
pub const SLOW_EVERY: chrono::Duration = chrono::Duration::minutes(5);

/// Throttled rounds a read sits out before it gives up (on top of the SDK's own retries).
const THROTTLED_ROUNDS: u32 = 4;

/// One semaphore per (service, region), and when that (service, region) may be asked again
/// after AWS throttled it.
#[derive(Default)]
pub(super) struct Limits {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

struct Gate {
    slots: Arc<Semaphore>,
    /// No new request before this instant (AWS said "slow down").
    quiet_until: Mutex<Option<tokio::time::Instant>>,
}

impl Limits {
    fn gate(&self, service: &str, region: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates
            .entry(format!("{service}@{region}"))
            .or_insert_with(|| {
                Arc::new(Gate {
                    slots: Arc::new(Semaphore::new(PER_SERVICE_REGION)),
                    quiet_until: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Waits out a throttling pause, then for a free slot of `service` in `region`; the slot is
    /// freed when the permit drops.
    pub(super) async fn permit(&self, service: &str, region: &str) -> Option<OwnedSemaphorePermit> {
        let gate = self.gate(service, region);
        let quiet = || *gate.quiet_until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = quiet() {
            tokio::time::sleep_until(until).await;
        }
        // The semaphores are never closed, so this is always a permit.
        let permit = gate.slots.clone().acquire_owned().await.ok();
        // A pause AWS asked for while this one queued holds it (and its slot) too.
        if let Some(until) = quiet().filter(|u| *u > tokio::time::Instant::now()) {
            tokio::time::sleep_until(until).await;
        }
        permit
    }

    /// Runs `call` in a slot of `service` in `region`.
    pub(super) async fn limited<T>(
        &self,
        service: &str,
        region: &str,
        call: impl Future<Output = T>,
    ) -> T {
        let _slot = self.permit(service, region).await;
        call.await
    }

    /// A read in a slot of `service` in `region`. When AWS still throttles it after the SDK's
    /// retries, the whole (service, region) goes quiet for a while (1 s, doubling, at most 8 s,
    /// with jitter) and the read is tried again, a few rounds at most: the look's own deadline
    /// ends it sooner when the region is simply overloaded.
    pub(super) async fn read<T, F: Future<Output = Result<T, CloudError>>>(
        &self,
        service: &str,
        region: &str,
        call: impl Fn() -> F,
    ) -> Result<T, CloudError> {
        let mut round = 0;
        loop {
            let answer = self.limited(service, region, call()).await;
            match answer {
                Err(e) if e.is_throttling() && round < THROTTLED_ROUNDS => {
                    round += 1;
                    let pause = quiet_for(round);
                    let until = tokio::time::Instant::now() + pause;
                    let gate = self.gate(service, region);
                    let mut quiet = gate.quiet_until.lock().unwrap_or_else(|e| e.into_inner());
                    *quiet = Some(quiet.map_or(until, |q| q.max(until)));
                }
                other => return other,
            }
        }
    }
}

/// 1 s doubling per round, at most 8 s, between half and all of it (so throttled reads do not
/// come back together).
fn quiet_for(round: u32) -> std::time::Duration {
    let full = std::time::Duration::from_secs(1u64 << round.saturating_sub(1).min(3));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    full.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
}

/// When a look happens, and whether it may use slow facts read earlier: a refresh may; a
/// step's check (which can gate a restore) reads everything afresh.
#[derive(Debug, Clone, Copy)]
pub(super) struct Look {
    pub now: DateTime<Utc>,
    pub fresh: bool,
}

/// Slow facts of one type, by key, with when they were read. Only answers are kept: an error is
/// asked again on the next refresh.
pub(super) struct Tier<T> {
    facts: Mutex<HashMap<String, (DateTime<Utc>, T)>>,
}

impl<T> Default for Tier<T> {
    fn default() -> Tier<T> {
        Tier {
            facts: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> Tier<T> {
    /// The fact under `key` read less than [`SLOW_EVERY`] before the look (unless it must be
    /// fresh), else `fetch`'s answer.
    pub(super) async fn get(
        &self,
        key: String,
        look: Look,
        fetch: impl Future<Output = Result<T, CloudError>>,
    ) -> Result<T, CloudError> {
        let now = look.now;
        if let Some((at, fact)) = self.lock().get(&key).filter(|_| !look.fresh) {
            if now >= *at && now - *at < SLOW_EVERY {
                return Ok(fact.clone());
            }
        }
        let fact = fetch.await?;
        self.lock().insert(key, (now, fact.clone()));
        Ok(fact)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (DateTime<Utc>, T)>> {
        self.facts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every slow fact the live backend keeps between refreshes.
#[derive(Default)]
pub(super) struct SlowFacts {
    /// Newest EBS snapshot per volume, by region and volume ids.
    pub snapshots: Tier<super::resolve::Newest>,
    /// Newest DB snapshot per instance, by region and instance ids.
    pub db_snapshots: Tier<super::resolve::Newest>,
    /// Newest on-demand backup per table, by region.
    pub table_backups: Tier<super::resolve::Newest>,
    /// A table's latest restorable time (`None`: PITR is off), by region and table.
    pub pitr: Tier<Option<DateTime<Utc>>>,
    /// Completed recovery points per vault, by vault, region and owner.
    pub vaults: Tier<Vec<super::resolve::BackupPoint>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_fact_is_read_again_once_it_is_old_and_errors_are_not_kept() {
        let tier: Tier<u32> = Tier::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let at = |m: i64| Look {
            now: t0 + chrono::Duration::minutes(m),
            fresh: false,
        };
        assert_eq!(tier.get("k".into(), at(0), async { Ok(1) }).await, Ok(1));
        assert_eq!(tier.get("k".into(), at(4), async { Ok(2) }).await, Ok(1));
        assert_eq!(tier.get("k".into(), at(5), async { Ok(3) }).await, Ok(3));
        let gone = CloudError::Timeout(1);
        assert!(tier
            .get("j".into(), at(5), async { Err(gone) })
            .await
            .is_err());
        assert_eq!(tier.get("j".into(), at(5), async { Ok(4) }).await, Ok(4));
        // A clock that went back reads again rather than trusting a fact from the future.
        assert_eq!(tier.get("k".into(), at(1), async { Ok(5) }).await, Ok(5));
        // A fresh look reads again, and what it read serves the next refresh.
        let fresh = Look {
            fresh: true,
            ..at(2)
        };
        assert_eq!(tier.get("k".into(), fresh, async { Ok(6) }).await, Ok(6));
        assert_eq!(tier.get("k".into(), at(3), async { Ok(7) }).await, Ok(6));
    }

    #[tokio::test]
    async fn no_more_than_the_bound_is_in_flight_per_service_and_region() {
        let limits = Arc::new(Limits::default());
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..3 * PER_SERVICE_REGION {
            let (limits, in_flight, peak, mut rx) =
                (limits.clone(), in_flight.clone(), peak.clone(), rx.clone());
            tasks.push(tokio::spawn(async move {
                limits
                    .limited("dynamodb", "us-east-1", async {
                        let n = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        peak.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                        let _ = rx.wait_for(|go| *go).await;
                        in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    })
                    .await
            }));
        }
        // Another (service, region) is not held up by this one.
        let other = limits.permit("dynamodb", "us-west-2").await;
        assert!(other.is_some());
        tokio::task::yield_now().await;
        let _ = tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        assert_eq!(
            peak.load(std::sync::atomic::Ordering::SeqCst),
            PER_SERVICE_REGION
        );
    }
}
