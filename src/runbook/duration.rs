//! Durations as runbooks write them: `90s`, `15m`, `1h30m`, `2d`.

use std::fmt;

/// The longest duration a runbook or scenario may give (365 days): anything longer is a typo,
/// and keeps every time calculation far from overflow.
pub const MAX_SECS: u64 = 365 * 86_400;

/// A whole number of seconds, written in runbooks as `1h30m` and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

/// What a duration may look like, for hints and the JSON Schema.
pub const DURATION_HINT: &str =
    "write a number and a unit, largest unit first: 30s, 15m, 1h30m, 2d";
pub const DURATION_PATTERN: &str = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$";

impl Duration {
    pub const fn from_secs(secs: u64) -> Duration {
        Duration(secs)
    }

    pub const fn from_mins(mins: u64) -> Duration {
        Duration(mins * 60)
    }

    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// Parses `1h30m`-style text; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty duration".into());
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut last_rank = usize::MAX;
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let (rank, unit) = match c {
                'd' => (3, 86_400),
                'h' => (2, 3_600),
                'm' => (1, 60),
                's' => (0, 1),
                _ => return Err(format!("`{text}` is not a duration (unexpected `{c}`)")),
            };
            if digits.is_empty() {
                return Err(format!("`{text}` is not a duration (`{c}` has no number)"));
            }
            if rank >= last_rank {
                return Err(format!(
                    "`{text}` is not a duration (units must go from largest to smallest, once each)"
                ));
            }
            last_rank = rank;
            let n: u64 = digits
                .parse()
                .map_err(|_| format!("`{text}` is too large a duration"))?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("`{text}` is too large a duration"))?;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(format!(
                "`{text}` is not a duration (the number needs a unit)"
            ));
        }
        if total > MAX_SECS {
            return Err(format!(
                "`{text}` is longer than a year; durations go up to 365d"
            ));
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    /// Formats back in the runbook syntax, e.g. `1h30m`; zero is `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return write!(f, "0s");
        }
        let mut rest = self.0;
        for (unit, secs) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= secs {
                write!(f, "{}{unit}", rest / secs)?;
                rest %= secs;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for (text, secs) in [("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172_800)] {
            let d = Duration::parse(text);
            assert_eq!(d.map(Duration::as_secs), Ok(secs), "{text}");
        }
        assert_eq!(Duration::from_secs(5400).to_string(), "1h30m");
        assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
        assert_eq!(Duration::from_secs(0).to_string(), "0s");
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in [
            "",
            "45",
            "m",
            "45 min",
            "1m1h",
            "1h1h",
            "-5m",
            "99999999999999999999d",
            "366d",
            "100000000d",
        ] {
            assert!(Duration::parse(text).is_err(), "{text:?} should be refused");
        }
    }
}
