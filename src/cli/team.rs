//! `--state` and `--take-over` on `drill` and `run`: the team's state store, where one run per
//! runbook is locked whichever machine it runs on (`src/runtime/lease.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use crate::cloud::leased::LeaseHealth;
use crate::runtime::lease::{self, Held, Lease, LeaseError, Namespace};
use crate::runtime::mirror::Mirroring;
use crate::runtime::store::Folder;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct TeamArgs {
    /// The team's state store: a folder every operator's machine reaches. One run per runbook
    /// there, whichever machine it runs on; drills apart from live runs (default:
    /// $PILOTLIGHT_STATE).
    #[arg(long, value_name = "DIR")]
    pub state: Option<String>,
    /// Take over a run whose holder's lease in the state store has expired (the holder's
    /// machine is gone); resume its journal with --resume.
    #[arg(long)]
    pub take_over: bool,
}

/// A run's place in the team's state store: its lease, and the store its journal is mirrored to.
pub struct Team {
    /// Held for as long as the run is open here: dropping it releases the lock.
    pub held: Option<Held>,
    pub lease: LeaseHealth,
    pub store: Option<(String, Arc<Folder>)>,
}

impl Team {
    /// Whose expired lease this run took over, as the journal names them.
    pub fn took_over(&self) -> Option<String> {
        let old = self.held.as_ref()?.took_over.as_ref()?;
        Some(old.who())
    }

    /// Starts mirroring `journal` to the store (when there is one). A journal its mirror
    /// disagrees with (the run went on elsewhere, or this copy was changed) is not run on: the
    /// exit code after saying why.
    pub fn mirror(&self, journal: &std::path::Path) -> Result<Option<Mirroring>, ExitCode> {
        let Some((_, store)) = &self.store else {
            return Ok(None);
        };
        match Mirroring::start(store.clone(), journal, ANSWER_WITHIN) {
            Ok(m) => Ok(Some(m)),
            Err(e @ crate::runtime::mirror::MirrorError::Disagree(_)) => {
                tell!("error: {e}");
                Err(ExitCode::from(2))
            }
            Err(e) => {
                tell!("error: the state store: {e}");
                Err(ExitCode::from(2))
            }
        }
    }
}

/// How long the state store has to answer before a run starts.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

/// Says where the mirror ended (and what stopped it, if anything), as the run ends here.
pub fn mirrored(team: &Team, mirroring: Option<Mirroring>) {
    let (Some((root, _)), Some(m)) = (&team.store, mirroring) else {
        return;
    };
    let state = m.finish();
    if let Some(prefix) = &state.prefix {
        say!("mirror: {} records in {root}/{prefix}", state.mirrored);
    }
    if let Some(e) = state.error {
        tell!("warning: the journal's mirror in the state store: {e}");
    }
}

/// The run's lock in the state store, if there is one; `Err` is the exit code after saying why.
pub fn hold(
    team: &TeamArgs,
    ns: Namespace,
    runbook: &str,
    operator: &str,
    principal: Option<String>,
    resuming: bool,
) -> Result<Team, ExitCode> {
    let state = team
        .state
        .clone()
        .or_else(|| std::env::var("PILOTLIGHT_STATE").ok())
        .filter(|s| !s.trim().is_empty());
    if team.take_over && !resuming {
        tell!("error: a run is taken over by resuming its journal: --take-over --resume JOURNAL (the holder's records, from the state store's mirror)");
        return Err(ExitCode::from(2));
    }
    let Some(state) = state else {
        if team.take_over {
            tell!("error: --take-over takes over a run in a state store: give it with --state DIR");
            return Err(ExitCode::from(2));
        }
        return Ok(Team {
            held: None,
            lease: LeaseHealth::held_now(),
            store: None,
        });
    };
    if state.contains("://") {
        tell!(
            "error: `{}`: only a folder can be a state store in this version (--state DIR); S3 stores are not built yet",
            crate::safe::one_line(&state)
        );
        return Err(ExitCode::from(2));
    }
    let store = match Folder::open(std::path::Path::new(&state)) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tell!("error: the state store: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let me = Lease {
        operator: operator.to_string(),
        principal,
        host: crate::runtime::lock::this_host(),
        pid: std::process::id(),
        since: chrono::Utc::now(),
        renewed_at: chrono::Utc::now(),
        lease_secs: lease::lease_secs(),
    };
    match lease::acquire_within(
        store.clone(),
        ns,
        runbook,
        me,
        team.take_over,
        ANSWER_WITHIN,
    ) {
        Ok(held) => {
            if let Some(old) = &held.took_over {
                tell!(
                    "note: took the run over from {} (lease expired at {})",
                    old.who(),
                    old.expires_at().format("%H:%M:%S UTC")
                );
            }
            let lease = held.health();
            Ok(Team {
                held: Some(held),
                lease,
                store: Some((state.trim_end_matches('/').to_string(), store)),
            })
        }
        Err(e @ (LeaseError::Held { .. } | LeaseError::Expired { .. })) => {
            tell!("error: {e}");
            Err(ExitCode::from(2))
        }
        Err(e) => {
            tell!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}
