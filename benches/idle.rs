//! Idle CPU and resident memory of the real console (design section 9: ≤ 0.5 % of a core idle,
//! ≤ 30 MB resident with 1,000 resources).
//!
//! Runs the release binary in a pseudo-terminal (200×50) on a generated runbook with 1,000
//! resources and 100 steps, lets it settle, then reads the process's CPU time
//! (`/proc/PID/stat`: utime + stime) before and after a quiet period and its resident memory
//! (`/proc/PID/status`: VmRSS, VmHWM). Two consoles are measured:
//! - `watch RUNBOOK --sim`: read-only, the simulated world looked at every 5 s;
//! - `drill RUNBOOK --speed max`, waiting at its first gate (nothing to do but the clock);
//! - `watch RUNBOOK --follow LONG.jsonl`: a run 100,000 records long (`FOLLOW_RECORDS=N` for
//!   another length) still going on; ready once its last record is on screen;
//! - `watch RUNBOOK --follow s3://…/runs/RUNBOOK/RUN_ID`: the same run mirrored to S3 (moto on
//!   127.0.0.1, started by the tests' harness) in batches of 1,000 records.
//!
//! Run: `cargo build --release && cargo bench --bench idle`
//! (`cargo bench` builds `target/release/pilotlight` itself; `PILOTLIGHT_BIN=/path/to/pilotlight`
//! measures another build; `IDLE_SECONDS=10` shortens the quiet period, default 60.)
//! Linux only (it reads /proc).

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches may panic

mod support;

#[allow(dead_code)] // the tests use more of it
#[path = "../tests/it/common/moto.rs"]
mod moto;

/// The crate's root (moto's harness script lives under tests/support).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

fn main() {
    // `cargo test` runs bench targets with no `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("idle: measured only by `cargo bench --bench idle`");
        return;
    }
    let bin = std::env::var_os("PILOTLIGHT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pilotlight")));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first",
        bin.display()
    );
    let seconds: u64 = std::env::var("IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = std::env::temp_dir().join(format!("pilotlight-bench-idle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let runbook = dir.join("estate.yaml");
    std::fs::write(&runbook, support::runbook_yaml(1000, 100)).unwrap();
    let rb = runbook.to_str().unwrap();
    let journal = dir.join("drill.jsonl");
    println!(
        "binary {}; 1,000 resources, 100 steps; 200x50 pty; {seconds} s quiet period",
        bin.display()
    );
    measure(
        &bin,
        &dir,
        "watch --sim",
        &["watch", rb, "--sim"],
        &[],
        "Resources (1000)",
        seconds,
    );
    measure(
        &bin,
        &dir,
        "drill, waiting at a gate",
        &[
            "drill",
            rb,
            "--speed",
            "max",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &[],
        "press g",
        seconds,
    );
    // The war room following a long run: a 100,000-record journal (about 50 MB).
    let records: usize = std::env::var("FOLLOW_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let long = dir.join("long.jsonl");
    support::long_journal(
        &support::parse(&support::runbook_yaml(1000, 100)),
        records,
        &long,
    );
    println!(
        "long journal: {records} records, {:.1} MB",
        std::fs::metadata(&long).unwrap().len() as f64 / 1e6
    );
    measure(
        &bin,
        &dir,
        "watch --follow (long run)",
        &["watch", rb, "--follow", long.to_str().unwrap()],
        &[],
        &format!("#{}", records - 1),
        seconds,
    );
    // The same run followed from S3, as a war room on another network would.
    let url = mirror_to_s3(&long);
    let env = [
        ("AWS_ENDPOINT_URL", moto::url()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    measure(
        &bin,
        &dir,
        "watch --follow (S3)",
        &["watch", rb, "--follow", &url],
        &env,
        &format!("#{}", records - 1),
        seconds,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Puts `journal` in a bucket in moto as a run's mirror, in batches of 1,000 records; its URL.
fn mirror_to_s3(journal: &Path) -> String {
    use pilotlight::cloud::aws::clients::{Access, Timeouts};
    use pilotlight::cloud::aws::s3_store::S3Store;
    use pilotlight::runtime::store::Store;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bucket = format!("pl-bench-{}", std::process::id());
    let sdk = rt.block_on(moto::sdk_config(moto::url(), "us-east-1"));
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    rt.block_on(s3.create_bucket().bucket(&bucket).send())
        .unwrap();
    let root = format!("s3://{bucket}/team");
    let store = S3Store::open_with(
        &root,
        "us-east-1",
        Access::ReadWrite,
        Timeouts::default(),
        Some(sdk),
    )
    .unwrap();
    let text = std::fs::read_to_string(journal).unwrap();
    let first = pilotlight::audit::verify(text.split_inclusive('\n').next().unwrap().as_bytes())
        .unwrap()
        .records
        .remove(0);
    let run_id = match &first.event {
        pilotlight::audit::Event::RunStarted(s) => s.run_id.clone(),
        _ => panic!("the journal begins with its run's start"),
    };
    let prefix = pilotlight::runtime::mirror::run_prefix(&first.runbook, &run_id);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let started = Instant::now();
    for (i, chunk) in lines.chunks(1000).enumerate() {
        let key = format!("{prefix}/journal/{:012}.jsonl", i * 1000);
        store.create(&key, chunk.concat().as_bytes()).unwrap();
    }
    println!(
        "mirrored to S3 (moto) in {} batches in {:.1?}",
        lines.len().div_ceil(1000),
        started.elapsed()
    );
    format!("{root}/{prefix}")
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// A `/proc/PID/status` figure in kB.
fn status_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn measure(
    bin: &Path,
    dir: &Path,
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
    ready: &str,
    seconds: u64,
) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 50,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(bin);
    cmd.args(args);
    cmd.env("XDG_DATA_HOME", dir.join("data"));
    cmd.env("XDG_STATE_HOME", dir.join("state"));
    cmd.env("PILOTLIGHT_OPERATOR", "bench");
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let pid = child.process_id().unwrap();
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    // The reader keeps the pty drained for the whole run, and the screen up to date.
    let screen = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(50).unwrap(),
        std::num::NonZeroU16::new(200).unwrap(),
        0,
    )));
    let bytes = Arc::new(AtomicUsize::new(0));
    let (s, b) = (screen.clone(), bytes.clone());
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            b.fetch_add(n, Ordering::Relaxed);
            s.lock().unwrap().process(&buf[..n]);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let first_frame = loop {
        if screen.lock().unwrap().screen().contents().contains(ready) {
            break started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "{name}: never showed `{ready}`:\n{}",
            screen.lock().unwrap().screen().contents()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    // Let start-up work (first observations, first draws) finish before measuring.
    std::thread::sleep(Duration::from_secs(3));
    let (t0, b0, w0) = (
        cpu_ticks(pid),
        bytes.load(Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(seconds));
    let (t1, b1, elapsed) = (
        cpu_ticks(pid),
        bytes.load(Ordering::Relaxed),
        w0.elapsed().as_secs_f64(),
    );
    let rss = status_kb(pid, "VmRSS:");
    let hwm = status_kb(pid, "VmHWM:");
    let cpu = (t1 - t0) as f64 / clock_ticks() / elapsed * 100.0;
    println!(
        "{name:<26} ready in {:>6.1} ms | idle CPU {cpu:.3} % of a core over {elapsed:.0} s ({} ticks) | output {:.0} B/s | VmRSS {:.1} MB, peak {:.1} MB",
        first_frame.as_secs_f64() * 1000.0,
        t1 - t0,
        (b1 - b0) as f64 / elapsed,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
    );
    let _ = writer.write_all(b"q");
    let _ = writer.flush();
    let quit = Instant::now() + Duration::from_secs(10);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < quit {
        std::thread::sleep(Duration::from_millis(20));
    }
    if matches!(child.try_wait(), Ok(None)) {
        let _ = child.kill();
    }
    let _ = child.wait();
    drop(writer);
    drop(pair.master);
    let _ = drain.join();
}
