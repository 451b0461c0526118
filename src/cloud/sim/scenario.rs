//! Drill scenarios: the state of the simulated world at T+0 and what goes wrong on the way.

use indexmap::IndexMap;
use serde::Deserialize;

use crate::runbook::{ActionKind, Duration, Health, Runbook, StepBody};

pub use super::alarms::{AlarmChange, AlarmValue};

/// A scenario file (`*.scenario.yaml`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub scenario: String,
    pub description: Option<String>,
    /// Seeds the world's randomness (durations vary ±15 % around the catalogue's).
    #[serde(default = "one")]
    pub seed: u64,
    /// Health of whole regions at T+0; regions not named are healthy.
    #[serde(default)]
    pub regions: IndexMap<String, Health>,
    /// Later changes of region health.
    #[serde(default)]
    pub timeline: Vec<RegionChange>,
    /// Per-resource setup, by the runbook's resource names.
    #[serde(default)]
    pub resources: IndexMap<String, ResourceSetup>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// What command steps answer in the drill (which runs no command), by step id.
    #[serde(default)]
    pub commands: IndexMap<String, CommandSetup>,
    /// CloudWatch alarms changing state: `cloudwatch-alarm` resources and the `alarms:` of
    /// resources, by alarm name. An alarm no change names is OK.
    #[serde(default)]
    pub alarms: Vec<AlarmChange>,
    /// What the drill should end with, so a rehearsal can check its own result.
    pub expect: Option<Expectation>,
}

/// A command step's answer in a drill.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct CommandSetup {
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub exit_code: i32,
}

/// The result a scenario is written to produce.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub outcome: ExpectedOutcome,
    /// The step whose failure stops the run (with `outcome: aborted`).
    pub failed_step: Option<String>,
    /// A step that must have needed more than one attempt.
    pub retried_step: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedOutcome {
    Finished,
    Aborted,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegionChange {
    pub at: String,
    pub region: String,
    pub health: Health,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ResourceSetup {
    /// Overrides the health the resource's region gives it.
    pub health: Option<Health>,
    /// Age of the latest recovery point at T+0 (default 5m).
    pub recovery_point_age: Option<String>,
    /// The resource has no recovery point at all (restores from `latest` fail).
    #[serde(default)]
    pub no_recovery_point: bool,
    /// Health alternates between ok and impaired this often.
    pub flap_every: Option<String>,
    /// An EC2 instance's state at T+0: `stopped` (a standby that a step starts) or `running`.
    pub state: Option<InstanceState>,
    /// A Global Accelerator's traffic dials at T+0, by endpoint group region (0-100).
    pub dials: Option<IndexMap<String, u8>>,
    /// A Route 53 record's weights at T+0, by set identifier (0-255).
    pub weights: Option<IndexMap<String, u8>>,
}

/// An instance's state as a scenario sets it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Stopped,
    Running,
}

/// Something that goes wrong with actions, matched by step id and/or action.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub step: Option<String>,
    pub action: Option<ActionKind>,
    /// The first N requests fail with `error`.
    #[serde(default)]
    pub fail_times: u32,
    pub error: Option<String>,
    /// The change takes this many times longer than usual.
    pub slow_factor: Option<f64>,
}

/// A scenario with its durations parsed and names checked against the runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub name: String,
    pub seed: u64,
    pub regions: IndexMap<String, Health>,
    pub timeline: Vec<(Duration, String, Health)>,
    pub resources: IndexMap<String, PreparedSetup>,
    pub faults: Vec<Fault>,
    pub commands: IndexMap<String, CommandSetup>,
    pub expect: Option<Expectation>,
    /// Alarm changes in time order: (at, alarm, state, reason).
    pub alarms: Vec<(Duration, String, AlarmValue, String)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreparedSetup {
    pub health: Option<Health>,
    pub recovery_point_age: Option<Duration>,
    pub no_recovery_point: bool,
    pub flap_every: Option<Duration>,
    pub state: Option<InstanceState>,
    pub dials: Option<IndexMap<String, u8>>,
    pub weights: Option<IndexMap<String, u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("{0}")]
    Yaml(String),
    #[error("{0}")]
    Invalid(String),
}

/// A scenario file that could not be read or does not fit its runbook.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", crate::safe::one_line(path), crate::safe::one_line(why))]
pub struct LoadError {
    pub path: String,
    pub why: String,
}

/// The scenario in `path`, or the runbook's default one when there is no file.
pub fn load(path: Option<&std::path::Path>, runbook: &Runbook) -> Result<Prepared, LoadError> {
    let Some(path) = path else {
        return Ok(default_for(runbook));
    };
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| parse(&t, runbook).map_err(|e| e.to_string()))
        .map_err(|why| LoadError {
            path: path.display().to_string(),
            why,
        })
}

/// Parses a scenario and checks it against the runbook it will drill.
pub fn parse(text: &str, runbook: &Runbook) -> Result<Prepared, ScenarioError> {
    let s: Scenario = serde_yaml::from_str(text).map_err(|e| ScenarioError::Yaml(e.to_string()))?;
    prepare(s, runbook)
}

pub(super) fn duration(text: &str, what: &str) -> Result<Duration, ScenarioError> {
    Duration::parse(text).map_err(|e| ScenarioError::Invalid(format!("{what}: {e}")))
}

pub fn prepare(s: Scenario, runbook: &Runbook) -> Result<Prepared, ScenarioError> {
    let mut resources = IndexMap::new();
    for (name, setup) in s.resources {
        if !runbook.resources.contains_key(&name) {
            return Err(ScenarioError::Invalid(format!(
                "resources: `{name}` is not a resource of runbook `{}`",
                runbook.id
            )));
        }
        let age = match &setup.recovery_point_age {
            Some(t) => Some(duration(
                t,
                &format!("resources.{name}.recovery_point_age"),
            )?),
            None => None,
        };
        let flap = match &setup.flap_every {
            Some(t) => Some(duration(t, &format!("resources.{name}.flap_every"))?),
            None => None,
        };
        if let Some(res) = runbook.resources.get(&name) {
            super::before::check(&name, &setup, res)?;
        }
        resources.insert(
            name,
            PreparedSetup {
                health: setup.health,
                recovery_point_age: age,
                no_recovery_point: setup.no_recovery_point,
                flap_every: flap.filter(|d| d.as_secs() > 0),
                state: setup.state,
                dials: setup.dials,
                weights: setup.weights,
            },
        );
    }
    // A region the runbook does not use is a typo: ignored, it would leave the world healthy
    // and the drill rehearsing something else than the scenario says.
    let used = runbook.regions();
    let named = s.regions.keys().map(|r| (format!("regions.{r}"), r)).chain(
        s.timeline
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("timeline[{i}].region"), &c.region)),
    );
    for (at, region) in named {
        if !used.contains(region) {
            return Err(ScenarioError::Invalid(format!(
                "{at}: `{}` is not a region of runbook `{}` (it uses {})",
                crate::safe::one_line(region),
                runbook.id,
                used.join(", ")
            )));
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        if f.step.is_none() && f.action.is_none() {
            return Err(ScenarioError::Invalid(format!(
                "faults[{i}]: name a `step` or an `action`"
            )));
        }
        if let Some(step) = &f.step {
            if runbook.step(step).is_none() {
                return Err(ScenarioError::Invalid(format!(
                    "faults[{i}]: `{step}` is not a step of runbook `{}`",
                    runbook.id
                )));
            }
        }
        if f.fail_times == 0 && f.slow_factor.is_none() {
            return Err(ScenarioError::Invalid(format!(
                "faults[{i}]: set `fail_times` or `slow_factor`"
            )));
        }
        if f.slow_factor.is_some_and(|x| !(0.01..=100.0).contains(&x)) {
            return Err(ScenarioError::Invalid(format!(
                "faults[{i}]: slow_factor must be from 0.01 to 100"
            )));
        }
    }
    for step in s.commands.keys() {
        if !runbook
            .step(step)
            .is_some_and(|st| matches!(st.body, StepBody::Command { .. }))
        {
            return Err(ScenarioError::Invalid(format!(
                "commands: `{step}` is not a command step of runbook `{}`",
                runbook.id
            )));
        }
    }
    if let Some(e) = &s.expect {
        for step in e.failed_step.iter().chain(&e.retried_step) {
            if runbook.step(step).is_none() {
                return Err(ScenarioError::Invalid(format!(
                    "expect: `{step}` is not a step of runbook `{}`",
                    runbook.id
                )));
            }
        }
    }
    let mut timeline = Vec::new();
    for (i, c) in s.timeline.iter().enumerate() {
        timeline.push((
            duration(&c.at, &format!("timeline[{i}].at"))?,
            c.region.clone(),
            c.health,
        ));
    }
    timeline.sort_by_key(|(at, _, _)| *at);
    let alarms = super::alarms::prepare(&s.alarms, runbook)?;
    Ok(Prepared {
        name: s.scenario,
        seed: s.seed,
        regions: s.regions,
        timeline,
        resources,
        faults: s.faults,
        commands: s.commands,
        expect: s.expect,
        alarms,
    })
}

/// How long the default scenario's regional outage lasts.
pub const DEFAULT_OUTAGE: Duration = Duration::from_mins(240);

/// The scenario a drill uses without `--scenario`, derived from the runbook. What the runbook's
/// checks expect to be broken (health `impaired`/`unavailable`) is broken. When the runbook spans
/// regions, that is a regional outage of the primary region (`vars.primary`, else the broken
/// resources' region, else the first region), which heals after [`DEFAULT_OUTAGE`]; the other
/// regions stay healthy. In a single region, only those resources fail. Recovery points are recent.
pub fn default_for(runbook: &Runbook) -> Prepared {
    let broken: Vec<&str> = runbook
        .steps
        .iter()
        .filter_map(|s| match &s.body {
            StepBody::Check { expect }
                if !expect.health.is_empty() && !expect.health.contains(&Health::Ok) =>
            {
                Some(expect.resource.as_str())
            }
            _ => None,
        })
        .collect();
    let regions = runbook.regions();
    let mut down = IndexMap::new();
    let mut timeline = Vec::new();
    let mut resources = IndexMap::new();
    if regions.len() >= 2 {
        let broken_region = broken
            .iter()
            .find_map(|name| runbook.resources.get(*name).and_then(|r| r.region.clone()));
        let primary = runbook
            .failover
            .as_ref()
            .map(|f| &f.primary)
            .or_else(|| runbook.vars.get("primary"))
            .filter(|r| regions.contains(r))
            .cloned()
            .or(broken_region)
            .or_else(|| regions.first().cloned());
        if let Some(p) = primary {
            down.insert(p.clone(), Health::Unavailable);
            timeline.push((DEFAULT_OUTAGE, p, Health::Ok));
        }
    }
    for name in broken {
        let in_down_region = runbook
            .resources
            .get(name)
            .and_then(|r| r.region.as_ref())
            .is_some_and(|r| down.contains_key(r));
        if !in_down_region {
            let setup = PreparedSetup {
                health: Some(Health::Unavailable),
                ..PreparedSetup::default()
            };
            resources.insert(name.to_string(), setup);
        }
    }
    let name = if down.is_empty() {
        "default: the checked resources have failed".to_string()
    } else {
        "default: primary region unavailable for 4h".to_string()
    };
    Prepared {
        name,
        seed: 1,
        regions: down,
        timeline,
        resources,
        faults: Vec::new(),
        commands: IndexMap::new(),
        alarms: Vec::new(),
        expect: Some(Expectation {
            outcome: ExpectedOutcome::Finished,
            failed_step: None,
            retried_step: None,
        }),
    }
}
