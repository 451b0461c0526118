//! `pilotlight runs RUNBOOK --state STORE [--format table|json]`: the runs of a runbook its team's
//! state store holds (their mirrored journals), newest first: id, operator, when it began, how
//! it stands, and where it is (`url`, for `watch --follow`, `audit verify` and `audit report`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;

use crate::audit::{format_time, verify, Event};
use crate::cloud::aws::clients::Access;
use crate::engine::{Engine, RunStatus};
use crate::runtime::mirror::read_batches;
use crate::runtime::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunsFormat {
    Table,
    Json,
}

#[derive(Debug, Serialize)]
struct RunRow {
    id: String,
    operator: String,
    started_at: Option<String>,
    status: String,
    records: usize,
    url: String,
}

pub fn run(runbook_file: &Path, state: Option<String>, format: RunsFormat) -> ExitCode {
    let Some(runbook) = super::load_runbook(runbook_file) else {
        return ExitCode::from(1);
    };
    let Some(state) = super::team::state_of(state, &runbook) else {
        tell!("error: which state store? give it with --state s3://BUCKET/PREFIX or --state DIR (or PILOTLIGHT_STATE, or the runbook's state.url)");
        return ExitCode::from(2);
    };
    let root = state.trim_end_matches('/').to_string();
    let store = match super::team::open_store(&root, Some(&runbook), Access::ReadOnly) {
        Ok(s) => s,
        Err(e) => {
            tell!("error: the state store: {e}");
            return ExitCode::from(2);
        }
    };
    let keys = match store.list(&format!("runs/{}", runbook.id)) {
        Ok(k) => k,
        Err(e) => {
            tell!("error: the state store: {e}");
            return ExitCode::from(2);
        }
    };
    // runs/RUNBOOK/RUN_ID/journal/SEQ.jsonl: each run once.
    let mut ids: Vec<String> = keys
        .iter()
        .filter_map(|k| k.split('/').nth(2).map(str::to_string))
        .collect();
    ids.dedup();
    let runbook = Arc::new(runbook);
    let mut rows: Vec<RunRow> = ids
        .iter()
        .map(|id| row(&*store, &runbook, id, &root))
        .collect();
    rows.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    match format {
        RunsFormat::Json => match serde_json::to_string_pretty(&rows) {
            Ok(j) => say!("{}", crate::safe::json(&j)),
            Err(e) => {
                tell!("error: {e}");
                return ExitCode::from(1);
            }
        },
        RunsFormat::Table => {
            if rows.is_empty() {
                say!("no runs of {} in {}", runbook.id, store.describe());
            } else {
                say!(
                    "{:<44} {:<12} {:<25} {:<12} URL",
                    "ID",
                    "OPERATOR",
                    "STARTED",
                    "STATUS"
                );
            }
            for r in &rows {
                say!(
                    "{:<44} {:<12} {:<25} {:<12} {}",
                    r.id,
                    r.operator,
                    r.started_at.as_deref().unwrap_or("-"),
                    r.status,
                    r.url
                );
            }
        }
    }
    ExitCode::SUCCESS
}

/// One run as its mirror tells it.
fn row(store: &dyn Store, runbook: &Arc<crate::runbook::Runbook>, id: &str, root: &str) -> RunRow {
    let prefix = format!("runs/{}/{id}", runbook.id);
    let url = format!("{root}/{prefix}");
    let mut row = RunRow {
        id: id.to_string(),
        operator: "-".into(),
        started_at: None,
        status: "unreadable".into(),
        records: 0,
        url,
    };
    let Ok(bytes) = read_batches(store, &prefix) else {
        return row;
    };
    let Ok(v) = verify(&bytes) else {
        row.status = "NOT INTACT".into();
        return row;
    };
    row.records = v.records.len();
    if let Some(first) = v.records.first() {
        row.operator = first.operator.clone();
        row.started_at = Some(format_time(first.at));
        if !matches!(first.event, Event::RunStarted(_)) {
            return row;
        }
    }
    row.status = match Engine::from_records(runbook.clone(), &v.records).map(|e| e.status().clone())
    {
        Ok(RunStatus::Finished) => "finished".into(),
        Ok(RunStatus::Aborted(_)) => "aborted".into(),
        Ok(RunStatus::Blocked(_)) => "blocked".into(),
        Ok(RunStatus::Running)
            if v.records
                .last()
                .is_some_and(|r| r.kind() == crate::audit::EventKind::RunPaused) =>
        {
            "paused".into()
        }
        Ok(RunStatus::Running) => "running".into(),
        Ok(RunStatus::NotStarted) => "not started".into(),
        Err(_) => "unreadable".into(),
    };
    row
}
