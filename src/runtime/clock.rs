//! Time for a run: the wall clock for live runs, a virtual clock for drills that jumps to the
//! next thing that happens (optionally pacing itself against real time by `--speed`).

use chrono::{DateTime, TimeDelta, Utc};

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

    pub fn now(&self) -> DateTime<Utc> {
        self.now
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
