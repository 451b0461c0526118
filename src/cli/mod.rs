//! The command line: `pilotlight validate`, `pilotlight schema`.

mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A disaster-recovery console for AWS: runbooks, recovery points, gated restores and cutovers.
#[derive(Debug, Parser)]
#[command(name = "pilotlight", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check runbooks (files, or folders searched for *.yaml / *.yml) and report every problem
    /// as FILE:LINE:COL: error: MESSAGE.
    Validate {
        /// Runbook files or folders.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<std::path::PathBuf>,
    },
    /// Print the runbook JSON Schema (the same as assets/runbook.schema.json).
    Schema,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { paths } => validate::run(&paths),
        Command::Schema => {
            print!("{}", crate::runbook::schema::runbook_schema_text());
            ExitCode::SUCCESS
        }
    }
}
