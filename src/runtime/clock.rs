//! Time for a run: simulated time for drills, paced against real time, and the wall clock for
//! live runs.
//!
//! - [`VirtualClock`] (`drill --unattended`) moves only when told to, jumping to the next thing
//!   that happens (optionally sleeping the real time `--speed` asks for first).
//! - [`PacedClock`] (the console) flows at real speed while people are needed and `--speed`
//!   times faster while only the simulated cloud works; at speed 1 it is the wall clock.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

/// What a run reads the time from.
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;

    /// Moves simulated time on by `by` at once (a drill's step whose expected time stands in
    /// for the time it took). Real time cannot be moved: the wall clock ignores it.
    fn skip(&mut self, by: TimeDelta) {
        let _ = by;
    }
}

/// How fast simulated time runs against real time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Jump straight to the next event: a drill takes as long as the computer needs.
    Max,
    /// Simulated seconds per real second.
    Times(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Speed, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.trim_end_matches('x').parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Times(f)),
            _ => Err(format!("`{s}` is not a speed; use a factor such as 60 (one simulated minute per second) or `max`")),
        }
    }
}

/// A drill's clock: simulated time that only moves when told to.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now: DateTime<Utc>,
    speed: Speed,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>, speed: Speed) -> VirtualClock {
        VirtualClock { now: start, speed }
    }

    /// Moves to `t` (never backwards), first sleeping the real time `--speed` asks for.
    pub async fn advance_to(&mut self, t: DateTime<Utc>) {
        if t <= self.now {
            return;
        }
        if let Speed::Times(f) = self.speed {
            let sim = (t - self.now).num_milliseconds().max(0) as f64;
            let real = std::time::Duration::from_millis((sim / f) as u64);
            tokio::time::sleep(real).await;
        }
        self.now = t;
    }

    pub fn advance_by(&mut self, d: TimeDelta) -> DateTime<Utc> {
        self.now += d;
        self.now
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn skip(&mut self, by: TimeDelta) {
        self.now += by.max(TimeDelta::zero());
    }
}

/// Simulated time for a drill at the console. While the run waits for the operator it flows at
/// real speed (people take the time they take); while only the (simulated) cloud is working it
/// flows `speed` times faster, or jumps straight to the next event (`--speed max`). A live run
/// uses it at speed 1: the wall clock.
#[derive(Debug, Clone)]
pub struct PacedClock {
    base: DateTime<Utc>,
    started: Instant,
    /// The current rate: 1 while people are needed, else `fast`.
    speed: f64,
    fast: f64,
    jumped: TimeDelta,
    jump: bool,
}

impl PacedClock {
    /// `speed` simulated seconds per real second; `None` jumps from event to event while the run
    /// does not wait for the operator.
    pub fn new(base: DateTime<Utc>, speed: Option<f64>) -> PacedClock {
        PacedClock {
            base,
            started: Instant::now(),
            speed: 1.0,
            fast: speed.unwrap_or(1.0),
            jumped: TimeDelta::zero(),
            jump: speed.is_none(),
        }
    }

    /// Whether time jumps from event to event while nobody is needed (`--speed max`).
    pub fn jumps(&self) -> bool {
        self.jump
    }

    /// Real speed while the operator is needed, fast otherwise.
    pub fn pace(&mut self, operator_needed: bool) {
        let rate = if operator_needed || self.jump {
            1.0
        } else {
            self.fast
        };
        if (rate - self.speed).abs() > f64::EPSILON {
            self.base = self.now();
            self.jumped = TimeDelta::zero();
            self.started = Instant::now();
            self.speed = rate;
        }
    }

    /// How long to sleep, in real time, until simulated time `t`.
    pub fn real_until(&self, t: DateTime<Utc>, operator_needed: bool) -> std::time::Duration {
        if self.jump && !operator_needed {
            return std::time::Duration::ZERO;
        }
        let sim = (t - self.now()).num_milliseconds().max(0) as f64;
        std::time::Duration::from_millis((sim / self.speed) as u64)
    }

    /// After sleeping until `t`: when time jumps, it is `t` now.
    pub fn catch_up(&mut self, t: DateTime<Utc>, operator_needed: bool) {
        if self.jump && !operator_needed && t > self.now() {
            self.jumped += t - self.now();
        }
    }
}

impl Clock for PacedClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.started.elapsed().as_secs_f64() * self.speed;
        self.base + self.jumped + TimeDelta::milliseconds((real * 1000.0) as i64)
    }

    fn skip(&mut self, by: TimeDelta) {
        self.jumped += by.max(TimeDelta::zero());
    }
}
