use std::process::ExitCode;

fn main() -> ExitCode {
    pilotlight::cli::main()
}
