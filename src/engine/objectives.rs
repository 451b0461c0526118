//! Recovery objectives (design section 6): RPO now per resource against its target, and the RTO
//! estimate from past runs, the runbook, or the catalogue, with where each number came from.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Engine, StepState};
use crate::model::ResourceStatus;
use crate::runbook::{Resource, Runbook, StepBody};

/// A figure against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The objective does not apply (no data to lose, e.g. a DNS record).
    NotApplicable,
    Ok,
    Unknown,
    /// Within 80–100 % of the target.
    Warning,
    Breach,
}

impl Verdict {
    /// Below 80 % of the target is ok, up to 100 % a warning, beyond a breach.
    pub fn of(value: u64, target: u64) -> Verdict {
        if value > target {
            Verdict::Breach
        } else if value.saturating_mul(5) >= target.saturating_mul(4) {
            Verdict::Warning
        } else {
            Verdict::Ok
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::NotApplicable => "not-applicable",
            Verdict::Ok => "ok",
            Verdict::Unknown => "unknown",
            Verdict::Warning => "warning",
            Verdict::Breach => "breach",
        }
    }
}

/// One resource's RPO now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rpo {
    /// Now − the latest recovery point, when there is one.
    pub seconds: Option<u64>,
    pub target_seconds: Option<u64>,
    pub verdict: Verdict,
}

/// RPO of `resource` given what was observed of it (None: not observed, or the observation
/// failed). Unknown stays unknown: no recovery point, no observation or no target is never "ok".
pub fn rpo(
    runbook: &Runbook,
    resource: &Resource,
    status: Option<&ResourceStatus>,
    now: DateTime<Utc>,
) -> Rpo {
    if !resource.kind.has_recovery_points() {
        return Rpo {
            seconds: None,
            target_seconds: None,
            verdict: Verdict::NotApplicable,
        };
    }
    let target = resource.rpo.or(runbook.targets.rpo).map(|d| d.as_secs());
    let seconds = status
        .and_then(|s| s.latest_recovery_point.as_ref())
        .map(|rp| (now - rp.at).num_seconds().max(0) as u64);
    let verdict = match (seconds, target) {
        (Some(s), Some(t)) => Verdict::of(s, t),
        _ => Verdict::Unknown,
    };
    Rpo {
        seconds,
        target_seconds: target,
        verdict,
    }
}

/// Where a step's expected duration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The median of this step's durations in past runs of the runbook.
    History,
    /// The step's `expect_duration`.
    Runbook,
    /// The action's default from the catalogue (or a wait step's fixed time).
    Catalogue,
    /// Nothing is known: the step counts as zero and the estimate is a lower bound.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepEstimate {
    pub step: String,
    pub seconds: Option<u64>,
    pub source: Source,
    /// How many past runs the median is taken over.
    pub samples: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RtoEstimate {
    pub target_seconds: u64,
    pub estimate_seconds: u64,
    /// Whether every step's duration is known (else the estimate is a lower bound).
    pub complete: bool,
    pub verdict: Verdict,
    pub steps: Vec<StepEstimate>,
}

/// The median of `values` (the lower middle for an even count, so it is an observed value).
pub fn median(values: &[u64]) -> Option<u64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied()
}

/// Estimated RTO: per step the median of past durations when there are any, else the runbook's
/// `expect_duration`, else the catalogue's default; summed along the runbook up to the step
/// that restores the service.
pub fn estimate_rto(runbook: &Runbook, history: &BTreeMap<String, Vec<u64>>) -> RtoEstimate {
    let steps: Vec<StepEstimate> = runbook
        .steps
        .iter()
        .map(|s| {
            let past = history.get(&s.id).map(Vec::as_slice).unwrap_or_default();
            let (seconds, source) = match (median(past), s.expect_duration, s.expected_duration()) {
                (Some(m), _, _) => (Some(m), Source::History),
                (None, Some(d), _) => (Some(d.as_secs()), Source::Runbook),
                (None, None, Some(d)) => (Some(d.as_secs()), Source::Catalogue),
                (None, None, None) if matches!(s.body, StepBody::Check { .. }) => {
                    (Some(0), Source::Catalogue)
                }
                _ => (None, Source::None),
            };
            StepEstimate {
                step: s.id.clone(),
                seconds,
                source,
                samples: past.len(),
            }
        })
        .collect();
    // Up to the step that restores the service: failback is not recovery.
    let upto = runbook.restored_by() + 1;
    let estimate_seconds = steps
        .iter()
        .take(upto)
        .filter_map(|s| s.seconds)
        .fold(0u64, u64::saturating_add);
    let complete = steps.iter().take(upto).all(|s| s.seconds.is_some());
    let target_seconds = runbook.targets.rto.as_secs();
    let verdict = match (Verdict::of(estimate_seconds, target_seconds), complete) {
        (Verdict::Ok, false) => Verdict::Unknown,
        (v, _) => v,
    };
    RtoEstimate {
        target_seconds,
        estimate_seconds,
        complete,
        verdict,
        steps,
    }
}

/// While a run is in progress: elapsed + what remains = projected recovery time (seconds since
/// the run started). The current step counts what remains of its estimate, or, when the provider
/// gave one (AWS Backup), its expected completion.
pub fn projected_recovery(
    engine: &Engine,
    estimate: &RtoEstimate,
    now: DateTime<Utc>,
    expected_done: Option<DateTime<Utc>>,
) -> Option<u64> {
    let started = engine.started_at()?;
    if let Some(restored) = engine.service_restored_secs() {
        return Some(restored);
    }
    let elapsed = (now - started).num_seconds().max(0) as u64;
    let mut remaining = 0u64;
    let upto = engine.runbook().restored_by() + 1;
    for (i, (run, est)) in engine
        .steps()
        .iter()
        .zip(&estimate.steps)
        .enumerate()
        .take(upto)
    {
        if run.state.is_final() {
            continue;
        }
        let full = est.seconds.unwrap_or(0);
        if i == engine.current() && !matches!(run.state, StepState::Pending) {
            let left = match expected_done {
                Some(done) => (done - now).num_seconds().max(0) as u64,
                None => {
                    let in_step = run
                        .started_at
                        .map_or(0, |s| (now - s).num_seconds().max(0) as u64);
                    full.saturating_sub(in_step)
                }
            };
            remaining = remaining.saturating_add(left);
        } else {
            remaining = remaining.saturating_add(full);
        }
    }
    Some(elapsed.saturating_add(remaining))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_80_and_100_percent_lines() {
        assert_eq!(Verdict::of(0, 100), Verdict::Ok);
        assert_eq!(Verdict::of(79, 100), Verdict::Ok);
        assert_eq!(Verdict::of(80, 100), Verdict::Warning);
        assert_eq!(Verdict::of(100, 100), Verdict::Warning);
        assert_eq!(Verdict::of(101, 100), Verdict::Breach);
    }

    #[test]
    fn median_is_an_observed_value() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
    }
}
