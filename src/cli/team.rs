//! `--state` and `--take-over` on `drill` and `run`: the team's state store, where one run per
//! runbook is locked whichever machine it runs on (`src/runtime/lease.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use crate::cloud::aws::clients::Access;
use crate::cloud::aws::s3_store::S3Store;
use crate::cloud::leased::LeaseHealth;
use crate::runtime::lease::{self, Held, Lease, LeaseError, Namespace};
use crate::runtime::mirror::Mirroring;
use crate::runtime::runner::Approvals;
use crate::runtime::store::{Folder, Store};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct TeamArgs {
    /// The team's state store: s3://BUCKET/PREFIX (in a region that survives the incident), or
    /// a folder every operator's machine reaches. One run per runbook there, whichever machine
    /// it runs on; drills apart from live runs (default: $PILOTLIGHT_STATE, else the runbook's
    /// `state.url`).
    #[arg(long, value_name = "STORE")]
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
    pub store: Option<(String, Arc<dyn Store>)>,
}

impl Team {
    /// Whose expired lease this run took over, as the journal names them.
    pub fn took_over(&self) -> Option<String> {
        let old = self.held.as_ref()?.took_over.as_ref()?;
        Some(old.who())
    }

    /// Where second approvers' approvals of this run come from: beside its mirror in the store.
    pub fn approvals(&self, engine: &crate::engine::Engine, live: bool) -> Option<Approvals> {
        let (root, store) = self.store.as_ref()?;
        let prefix = crate::runtime::mirror::run_prefix(&engine.runbook().id, engine.run_id());
        Some(Approvals {
            store: store.clone(),
            url: format!("{root}/{prefix}"),
            prefix,
            live,
        })
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
    runbook: &crate::runbook::Runbook,
    operator: &str,
    principal: Option<String>,
    resuming: bool,
) -> Result<Team, ExitCode> {
    let state = state_of(team.state.clone(), runbook);
    if team.take_over && !resuming {
        tell!("error: a run is taken over by resuming its journal: --take-over --resume JOURNAL (the holder's records, from the state store's mirror)");
        return Err(ExitCode::from(2));
    }
    let Some(state) = state else {
        if let Some(step) = runbook
            .steps
            .iter()
            .find(|s| s.gate.as_ref().is_some_and(|g| g.approvers > 1))
        {
            tell!("error: step {}'s gate needs a second approver, who approves through the team's state store: give one with --state STORE (or PILOTLIGHT_STATE)", step.id);
            return Err(ExitCode::from(2));
        }
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
    let store = match open_store(&state, Some(runbook), Access::ReadWrite) {
        Ok(s) => s,
        Err(e) => {
            tell!("error: the state store: {e}");
            return Err(ExitCode::from(2));
        }
    };
    if let Some(w) = store.warning() {
        tell!("warning: {w}");
    }
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
        &runbook.id,
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

/// The state store: `--state`, else `$PILOTLIGHT_STATE`, else the runbook's `state.url`.
pub fn state_of(given: Option<String>, runbook: &crate::runbook::Runbook) -> Option<String> {
    given
        .or_else(|| std::env::var("PILOTLIGHT_STATE").ok())
        .filter(|s| !s.trim().is_empty())
        .or_else(|| runbook.state.as_ref().map(|s| s.url.clone()))
}

/// The region of a runbook's state store in S3: the runbook's `state.region`, else its
/// recovery region (which survives the incident), else the standard chain's, else us-east-1.
fn store_region(runbook: Option<&crate::runbook::Runbook>) -> String {
    runbook
        .and_then(|r| r.state_region())
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// The state store `state` names: `s3://BUCKET/PREFIX` or a folder. A read-only store
/// (`watch`, `runs`, `audit`) can send no write.
pub fn open_store(
    state: &str,
    runbook: Option<&crate::runbook::Runbook>,
    access: Access,
) -> Result<Arc<dyn Store>, String> {
    if state.starts_with("s3://") {
        let timeouts = crate::cloud::aws::clients::Timeouts::from_env()?;
        let region = store_region(runbook);
        let store = S3Store::open(state, &region, access, timeouts).map_err(|e| e.to_string())?;
        // Without a runbook to say where the bucket is (a run's URL alone), S3 says: its SDK
        // does not follow a bucket to its region.
        if runbook.is_none() {
            if let Some(there) = store.bucket_region().filter(|r| *r != region) {
                let store =
                    S3Store::open(state, &there, access, timeouts).map_err(|e| e.to_string())?;
                return Ok(Arc::new(store));
            }
        }
        return Ok(Arc::new(store));
    }
    if state.contains("://") {
        return Err(format!(
            "`{}`: a state store is s3://BUCKET/PREFIX or a folder",
            crate::safe::one_line(state)
        ));
    }
    // Only a run makes a new folder store: a reader (or an approver) of one that is not there
    // has the path wrong.
    if access == Access::ReadOnly && !std::path::Path::new(state).is_dir() {
        return Err(format!(
            "there is no state store at {}: check the path",
            crate::safe::one_line(state)
        ));
    }
    let folder = Folder::open(std::path::Path::new(state)).map_err(|e| e.to_string())?;
    Ok(Arc::new(folder))
}

/// A run's URL in an S3 store (`s3://BUCKET/PREFIX/runs/RUNBOOK/RUN_ID`) as its store's URL and
/// the run's place in it (`runs/RUNBOOK/RUN_ID`).
pub fn split_run_url(url: &str) -> Option<(&str, &str)> {
    let url = url.trim_end_matches('/');
    let i = url.strip_prefix("s3://")?.rfind("/runs/")? + "s3://".len();
    Some((&url[..i], &url[i + 1..]))
}

/// The journal of the run at `url` in an S3 store (its mirrored batches in order), read with
/// reads only.
pub fn read_s3_run(url: &str) -> Result<Vec<u8>, String> {
    let (root, prefix) = split_run_url(url).ok_or_else(|| {
        format!(
            "`{}` is not a run's URL (s3://BUCKET/PREFIX/runs/RUNBOOK/RUN_ID, as `pilotlight runs` lists them)",
            crate::safe::one_line(url)
        )
    })?;
    let store = open_store(root, None, Access::ReadOnly)?;
    let bytes = crate::runtime::mirror::read_batches(&*store, prefix).map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        return Err(format!(
            "{url} holds no journal batches: is the run's URL right?"
        ));
    }
    Ok(bytes)
}

/// `--resume` as a journal here: a run's URL is replaced by its local copy. Whether it was a
/// URL (the run then goes on from a mirror, which may lack its last seconds); `Err` is the
/// exit code after saying why not.
pub fn resume_here(resume: &mut Option<std::path::PathBuf>) -> Result<bool, ExitCode> {
    let Some(given) = resume.take() else {
        return Ok(false);
    };
    match resume_from(given.clone()) {
        Ok(local) => {
            let from_mirror = local != given;
            *resume = Some(local);
            Ok(from_mirror)
        }
        Err(e) => {
            tell!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// `--resume` given a run's URL in a state store (`s3://…/runs/RUNBOOK/RUN_ID` or that folder):
/// the run goes on here from its mirror, copied to a local journal first (the write-ahead record
/// from now on), `journals/RUN_ID.from-store.jsonl` in this machine's data folder. A copy made
/// before is used again only if the mirror is where it begins; otherwise nothing is touched.
/// Anything else is a journal file, as it was.
pub fn resume_from(resume: std::path::PathBuf) -> Result<std::path::PathBuf, String> {
    let shown = resume.display().to_string();
    let in_store = shown.starts_with("s3://") || resume.join("journal").is_dir();
    if !in_store {
        return Ok(resume);
    }
    let mirror = super::audit::read_journal(&resume).map_err(|e| format!("{shown}: {e}"))?;
    let verified = crate::audit::verify(&mirror)
        .map_err(|t| format!("{shown}: the run's mirror is NOT INTACT: {t}"))?;
    if verified.records.is_empty() {
        return Err(format!("{shown} holds no journal: is the run's URL right?"));
    }
    let run_id = shown
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("run");
    if crate::runtime::store::check_key(run_id).is_err() || run_id.contains('/') {
        return Err(format!("{shown}: `{run_id}` is not a run id"));
    }
    let dir = crate::runtime::paths::data_dir().join("journals");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let local = dir.join(format!("{run_id}.from-store.jsonl"));
    match std::fs::read(&local) {
        Ok(mine) if mine.starts_with(&mirror) => {
            tell!("note: resuming from {} (a copy of {shown} made before)", local.display());
            return Ok(local);
        }
        Ok(_) => {
            return Err(format!(
                "{} is a copy of {shown} that no longer matches it: move it away and resume from the URL again",
                local.display()
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", local.display())),
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&local)
        .map_err(|e| format!("{}: {e}", local.display()))?;
    std::io::Write::write_all(&mut f, &mirror)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", local.display()))?;
    tell!(
        "note: {} records of {shown} copied to {}; the run goes on from there",
        verified.records.len(),
        local.display()
    );
    // The mirror trails the machine that ran by up to one look: what it wrote last (an intent
    // whose change it then sent) may never have reached the store.
    if let Some(last) = verified.records.last() {
        tell!(
            "note: the mirror ends at record #{} ({}); a machine lost mid-run may have written up to {} s more that never reached the store: if its own journal survives, resume from that instead",
            last.seq,
            crate::audit::format_time(last.at),
            crate::runtime::mirror::EVERY.as_secs()
        );
    }
    Ok(local)
}
