//! `pilotlight iam RUNBOOK [--mode run|read]`: the least-privilege IAM policy of a runbook,
//! as a JSON policy document on stdout (from the catalogue in `runbook::iam`).

use std::path::Path;
use std::process::ExitCode;

use crate::runbook::iam::policy::{account_policy, policy, Mode};

/// Which commands the policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IamMode {
    /// `run`: every change the runbook's steps make, and everything `read` needs.
    Run,
    /// `watch`, `status` and `preflight`: reads only.
    Read,
}

/// The most a managed policy may hold (characters, whitespace not counted).
const MANAGED_POLICY_LIMIT: usize = 6144;

pub fn run(path: &Path, mode: IamMode, account: Option<&str>) -> ExitCode {
    let Some(runbook) = super::load_runbook(path) else {
        return ExitCode::from(2);
    };
    let mode = match mode {
        IamMode::Run => Mode::Run,
        IamMode::Read => Mode::Read,
    };
    let text = match account {
        None => policy(&runbook, mode).to_json_text(),
        Some(a) if runbook.accounts.contains_key(a) => {
            account_policy(&runbook, mode, a).to_json_text()
        }
        Some(a) => {
            tell!(
                "error: `{a}` is not one of the runbook's accounts ({}): see `accounts:` in {}",
                if runbook.accounts.is_empty() {
                    "it names none".to_string()
                } else {
                    runbook
                        .accounts
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                path.display()
            );
            return ExitCode::from(2);
        }
    };
    say!("{}", crate::safe::json(&text));
    let size = text.chars().filter(|c| !c.is_whitespace()).count();
    if size > MANAGED_POLICY_LIMIT {
        tell!(
            "note: the policy is {size} characters without whitespace, over the {MANAGED_POLICY_LIMIT} a managed policy may hold: attach it as an inline policy (up to 10240 for a role) or split its statements across two managed policies"
        );
    }
    if runbook
        .resources
        .values()
        .any(|r| r.account.is_none() && r.kind.is_regional())
    {
        tell!("note: resources without `account:` are scoped to any account (`*` in their ARNs); the region and name scope them");
    }
    if account.is_none() {
        for (id, a) in &runbook.accounts {
            tell!(
                "note: resources in account {id} are reached through {}: its policy is `pilotlight iam {} --account {id}`",
                a.role,
                path.display()
            );
        }
    }
    ExitCode::SUCCESS
}
