//! A command step's command, run for real on this machine (live runs; drills simulate it).

use crate::runbook::Duration;

/// Runs `command` with `sh -c` in a process group of its own, its standard output captured (at
/// most 64 KiB kept). When it outlives `limit`, or the run stops waiting for it (the future is
/// dropped: the console closed), the whole group is killed: nothing it started is left running.
pub async fn run_local(command: &str, limit: Duration) -> Result<(i32, String), String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `sh -c`: {e}"))?;
    let mut group = Group(child.id());
    let wait = std::time::Duration::from_secs(limit.as_secs());
    match tokio::time::timeout(wait, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "the command ran longer than {limit} and was stopped, with everything it started"
        )),
        Ok(Err(e)) => Err(format!("the command failed to run: {e}")),
        Ok(Ok(out)) => {
            group.0 = None;
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.len() > 64 * 1024 {
                let mut cut = 64 * 1024;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            Ok((out.status.code().unwrap_or(-1), text))
        }
    }
}

/// A running command's process group, killed when dropped before the command finished.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // The group may already be gone; there is nothing else to do about it here.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
