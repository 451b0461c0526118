//! The team's state store in S3, over the wire against moto (which enforces `If-None-Match`
//! and `If-Match` as S3 does): the store's conditional writes, one live run per runbook across
//! machines, a drill mirrored to the bucket and everything that reads a run by its URL.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use pilotlight::cloud::aws::clients::{Access, Timeouts};
use pilotlight::cloud::aws::s3_store::S3Store;
use pilotlight::runtime::store::{Store, StoreError};

use crate::common::pty::Pty;
use crate::common::{moto, root, temp_dir};

/// A new bucket in moto, named for the test.
async fn bucket(name: &str) -> String {
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("pl-{name}-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    bucket
}

async fn store(url: &str, access: Access) -> S3Store {
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let url = url.to_string();
    // Opened off the test's runtime, as the binary opens it before its own.
    tokio::task::spawn_blocking(move || {
        S3Store::open_with(&url, "us-east-1", access, Timeouts::default(), Some(sdk)).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_creates_once_and_replaces_or_removes_only_what_was_read() {
    let b = bucket("cas").await;
    let s = Arc::new(store(&format!("s3://{b}/team"), Access::ReadWrite).await);
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || {
        let s = s2;
        let t1 = s.create("locks/live/rb.json", b"one").unwrap();
        assert!(matches!(
            s.create("locks/live/rb.json", b"two"),
            Err(StoreError::Exists(_))
        ));
        let got = s.get("locks/live/rb.json").unwrap().unwrap();
        assert_eq!(
            (got.body.as_slice(), got.tag.as_str()),
            (&b"one"[..], t1.as_str())
        );
        let t2 = s.replace("locks/live/rb.json", b"three", &t1).unwrap();
        // The first tag is stale now: a second writer that read "one" loses.
        assert!(matches!(
            s.replace("locks/live/rb.json", b"four", &t1),
            Err(StoreError::Changed(_))
        ));
        assert!(matches!(
            s.remove("locks/live/rb.json", &t1),
            Err(StoreError::Changed(_))
        ));
        s.remove("locks/live/rb.json", &t2).unwrap();
        assert_eq!(s.get("locks/live/rb.json").unwrap(), None);
        // Keys come back relative to the prefix, in order; the clock's object is not one.
        for k in [
            "runs/rb/r1/journal/000000000001.jsonl",
            "runs/rb/r1/journal/000000000007.jsonl",
        ] {
            s.create(k, b"x\n").unwrap();
        }
        let at = s.now().unwrap();
        assert!((chrono::Utc::now() - at).num_seconds().abs() < 60, "{at}");
        assert_eq!(
            s.list("runs/rb").unwrap(),
            [
                "runs/rb/r1/journal/000000000001.jsonl",
                "runs/rb/r1/journal/000000000007.jsonl"
            ]
        );
        assert_eq!(
            s.list_after(
                "runs/rb/r1/journal",
                Some("runs/rb/r1/journal/000000000001.jsonl")
            )
            .unwrap(),
            ["runs/rb/r1/journal/000000000007.jsonl"]
        );
        // A bucket without versioning or Object Lock is said to be one.
        let w = s.warning().unwrap_or_default();
        assert!(w.contains("neither versioning nor Object Lock"), "{w}");
    })
    .await
    .unwrap();
    // A read-only store (a war room's) sends no write at all.
    let ro = store(&format!("s3://{b}/team"), Access::ReadOnly).await;
    tokio::task::spawn_blocking(move || {
        let e = ro.create("locks/live/other.json", b"x").unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
        assert_eq!(ro.get("locks/live/other.json").unwrap(), None);
        assert_eq!(ro.list("runs/rb").unwrap().len(), 2);
    })
    .await
    .unwrap();
}

/// `pilotlight ARGS` in a real terminal as `operator` on their machine (`home`), against moto.
fn console(home: &std::path::Path, operator: &str, args: &[&str], extra: &[(&str, &str)]) -> Pty {
    let env = moto::binary_env(home, moto::url(), "us-east-1");
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("PILOTLIGHT_OPERATOR", operator));
    env.extend_from_slice(extra);
    Pty::spawn_with(args, home, 36, 120, &env, Duration::from_secs(60))
}

/// The URL of the newest run of `rb` in `state`, as `pilotlight runs` lists it once the run's
/// mirror holds it (the mirror copies the journal every 2 s).
fn newest_run(home: &std::path::Path, rb: &str, state: &str) -> String {
    for _ in 0..100 {
        let runs = pilotlight(
            home,
            "room",
            &["runs", rb, "--state", state, "--format", "json"],
        );
        let listed: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap_or_default();
        if let Some(u) = listed[0]["url"].as_str() {
            return u.to_string();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("no run of {rb} was mirrored to {state}")
}

fn pilotlight(dir: &std::path::Path, operator: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(args)
        .current_dir(root())
        .envs(moto::binary_env(dir, moto::url(), "us-east-1"))
        .env("PILOTLIGHT_OPERATOR", operator)
        .env_remove("PILOTLIGHT_STATE")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_mirrored_to_s3_is_listed_verified_and_followed_from_another_machine() {
    let b = bucket("drill").await;
    let state = format!("s3://{b}/team");
    let (ana, room) = (temp_dir("s3-drill-ana"), temp_dir("s3-drill-room"));
    let journal = ana.join("drill.jsonl");
    let (state2, ana2, room2, journal2) =
        (state.clone(), ana.clone(), room.clone(), journal.clone());
    tokio::task::spawn_blocking(move || {
        let (state, ana, room, journal) = (state2, ana2, room2, journal2);
        let j = journal.to_str().unwrap();
        let out = pilotlight(
            &ana,
            "ana",
            &[
                "drill",
                "runbooks/pilot-light-failover.yaml",
                "--unattended",
                "--speed",
                "max",
                "--journal",
                j,
                "--state",
                &state,
            ],
        );
        let said = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{said}{err}");
        assert!(err.contains("neither versioning nor Object Lock"), "{err}");
        let line = said
            .lines()
            .find(|l| l.starts_with("mirror: "))
            .unwrap_or_else(|| panic!("{said}"));
        let url = line.split(" records in ").nth(1).unwrap().to_string();
        assert!(
            url.starts_with(&format!("{state}/runs/pilot-light-failover/")),
            "{url}"
        );
        // Listed, from another machine, with its url.
        let runs = pilotlight(
            &room,
            "room",
            &[
                "runs",
                "runbooks/pilot-light-failover.yaml",
                "--state",
                &state,
                "--format",
                "json",
            ],
        );
        let listed: serde_json::Value = serde_json::from_slice(&runs.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&runs.stderr)));
        assert_eq!(listed[0]["url"], url.as_str(), "{listed}");
        assert_eq!(listed[0]["status"], "finished", "{listed}");
        assert_eq!(listed[0]["operator"], "ana", "{listed}");
        // Verified and reported by its url.
        let verify = pilotlight(&room, "room", &["audit", "verify", &url]);
        let said = String::from_utf8_lossy(&verify.stdout);
        assert_eq!(verify.status.code(), Some(0), "{said}");
        assert!(said.contains("intact"), "{said}");
        let report = pilotlight(
            &room,
            "room",
            &["audit", "report", &url, "--format", "json"],
        );
        assert_eq!(
            report.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&report.stderr)
        );
        assert!(
            pilotlight(&ana, "ana", &["audit", "verify", j, "--against", &url])
                .status
                .success()
        );
        // The war room follows it by its url, in a real terminal, with its own data folder.
        let env = moto::binary_env(&room, moto::url(), "us-east-1");
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut pty = Pty::spawn_with(
            &[
                "watch",
                "runbooks/pilot-light-failover.yaml",
                "--follow",
                &url,
            ],
            &room,
            24,
            80,
            &env,
            Duration::from_secs(60),
        );
        pty.until_text("RECOVERED in");
        pty.until_text("Steps 17/17");
        pty.send(b"q");
        assert!(pty.finish().success());
        // Re-chained on the laptop after the run: caught against the bucket.
        crate::common::rechain_with_another_approver(&journal);
        assert!(pilotlight(&ana, "ana", &["audit", "verify", j])
            .status
            .success());
        let against = pilotlight(&ana, "ana", &["audit", "verify", j, "--against", &url]);
        let said = String::from_utf8_lossy(&against.stdout);
        assert_eq!(against.status.code(), Some(1), "{said}");
        assert!(said.contains("DIFFERS FROM ITS MIRROR"), "{said}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_live_run_anywhere_with_the_same_s3_store_is_refused_naming_the_holder() {
    let b = bucket("live").await;
    let state = format!("s3://{b}/team");
    let (text, _, _) = super::cli::seed("s3lock").await;
    let (ana, bo) = (temp_dir("s3-live-ana"), temp_dir("s3-live-bo"));
    let runbook = ana.join("restore.yaml");
    std::fs::write(&runbook, &text).unwrap();
    tokio::task::spawn_blocking(move || {
        let rb = runbook.to_str().unwrap();
        let mut first = console(&ana, "ana", &["run", rb, "--state", &state], &[]);
        first.until_text(" LIVE ");
        first.until_text("GATE waiting for you");
        // Bo, on another laptop (his own data folder), same runbook and bucket.
        let mut second = console(&bo, "bo", &["run", rb, "--state", &state], &[]);
        second.until_text("already being run by ana");
        assert_eq!(second.finish().exit_code(), 2, "{}", second.screen());
        first.send(b"q");
        assert!(first.finish().success(), "{}", first.screen());
    })
    .await
    .unwrap();
    // Released on the way out: the next operator need not wait for the lease to expire.
    let s = store(&format!("s3://{b}/team"), Access::ReadOnly).await;
    let locks = tokio::task::spawn_blocking(move || s.list("locks").unwrap())
        .await
        .unwrap();
    assert_eq!(locks, Vec::<String>::new());
}

/// `pilotlight approve URL` as `operator` with `env`, answering its prompts with `answers`.
fn approve(env: &[(String, String)], operator: &str, url: &str, answers: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["approve", url])
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PILOTLIGHT_OPERATOR", operator)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(answers.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), said)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_second_approval_is_another_principals_not_another_name() {
    let b = bucket("approve").await;
    let state = format!("s3://{b}/team");
    let (text, _, _) = super::cli::seed("s3appr").await;
    let gate = "gate: { typed: s3appr-orders-dr, reason: required }";
    assert!(text.contains(gate), "{text}");
    let text = text.replace(
        gate,
        "gate: { typed: s3appr-orders-dr, reason: required, approvers: 2 }",
    );
    // A second principal: a role the approver assumes (moto's STS gives it its own keys).
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let creds = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/dr-approver")
        .role_session_name("bo")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let (ana, bo) = (temp_dir("s3-appr-ana"), temp_dir("s3-appr-bo"));
    let runbook = ana.join("restore.yaml");
    std::fs::write(&runbook, &text).unwrap();
    let journal = ana.join("run.jsonl");
    tokio::task::spawn_blocking(move || {
        let rb = runbook.to_str().unwrap();
        let mut run = console(
            &ana,
            "ana",
            &[
                "run",
                rb,
                "--state",
                &state,
                "--journal",
                journal.to_str().unwrap(),
            ],
            &[],
        );
        run.until("the gate of restore-db", |s| {
            s.contains("Step restore-db") && s.contains("GATE waiting for you: press g")
        });
        run.send(b"g");
        run.until_text("two approvers: after you, another person approves");
        run.send(b"s3appr-orders-dr\tdb gone\t\r");
        run.until_text("GATE confirmed: waiting for a second approver");
        // Bo's machine, with ana's credentials: another name, the same principal.
        let same_creds = moto::binary_env(&bo, moto::url(), "us-east-1");
        // The run is listed, then its request is there to approve.
        let url = newest_run(&bo, rb, &state);
        let mut said = String::new();
        for _ in 0..100 {
            let (code, out) = approve(&same_creds, "bo", &url, "s3appr-orders-dr\nme\n");
            said = out;
            if !said.contains("nothing waits") {
                assert_eq!(code, 1, "{said}");
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(
            said.contains("refused: ana confirmed this request"),
            "{said}"
        );
        assert!(
            said.contains("arn:aws:sts::123456789012:user/moto"),
            "{said}"
        );
        // With the role bo assumed: another principal, approved.
        let mut theirs = same_creds.clone();
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", creds.access_key_id()),
            ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key()),
            ("AWS_SESSION_TOKEN", creds.session_token()),
        ] {
            theirs.retain(|(key, _)| key != k);
            theirs.push((k.to_string(), v.to_string()));
        }
        let (code, said) = approve(&theirs, "bo", &url, "s3appr-orders-dr\nIC approves\n");
        assert_eq!(code, 0, "{said}");
        run.until_text("RECOVERED in");
        run.send(b"q");
        assert!(run.finish().success(), "{}", run.screen());
        let records = pilotlight::audit::verify(&std::fs::read(&journal).unwrap())
            .unwrap()
            .records;
        let second = records
            .iter()
            .find_map(|r| match &r.event {
                pilotlight::audit::Event::GateApproved(g) => g.second.clone(),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            second.principal.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/dr-approver/bo")
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_killed_mid_run_is_taken_over_from_its_url_once_its_s3_lease_expired() {
    let b = bucket("takeover").await;
    let state = format!("s3://{b}/team");
    let (ana, bo) = (temp_dir("s3-take-ana"), temp_dir("s3-take-bo"));
    tokio::task::spawn_blocking(move || {
        let rb = "runbooks/pilot-light-failover.yaml";
        // Short leases, as tests run them.
        let mut first = console(
            &ana,
            "ana",
            &["drill", rb, "--speed", "max", "--state", &state],
            &[("PILOTLIGHT_LEASE_SECONDS", "3")],
        );
        first.until_text("press g");
        // Once its mirror holds the run, ana's machine is lost: kill -9, no goodbye.
        let url = newest_run(&bo, rb, &state);
        let pid = first.child.process_id().unwrap() as i32;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let _ = first.child.wait();
        // Bo, elsewhere: refused while ana's lease stands, then (by S3's clock) taken over.
        let take = |over: bool| {
            let mut a = vec![
                "drill",
                rb,
                "--unattended",
                "--speed",
                "max",
                "--state",
                &state,
            ];
            a.extend(["--resume", &url]);
            if over {
                a.push("--take-over");
            }
            pilotlight(&bo, "bo", &a)
        };
        let refused = take(false);
        let said = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{said}");
        assert!(said.contains("already being run by ana"), "{said}");
        let mut said = String::new();
        for _ in 0..100 {
            let out = take(true);
            said = String::from_utf8_lossy(&out.stderr).into_owned();
            if !said.contains("already being run by ana") {
                assert_eq!(out.status.code(), Some(0), "{said}");
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(said.contains("took the run over from ana"), "{said}");
        // The run went on from the mirror and ended; the store holds all of it.
        let runs = pilotlight(
            &bo,
            "bo",
            &["runs", rb, "--state", &state, "--format", "json"],
        );
        let listed: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
        assert_eq!(listed[0]["status"], "finished", "{listed}");
        let verify = pilotlight(&bo, "bo", &["audit", "verify", &url]);
        assert!(verify.status.success());
        let report = pilotlight(&bo, "bo", &["audit", "report", &url, "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
        assert_eq!(
            report["operators"],
            serde_json::json!(["ana", "bo"]),
            "{report}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_catches_up_once_s3_answers_again_and_the_journal_never_waited() {
    use pilotlight::runtime::mirror::{read_batches, run_prefix, Mirror, MirrorError};
    // A bucket that is not there yet: every write is refused, as while S3 is out of reach.
    let sdk = moto::sdk_config(moto::url(), "us-east-1").await;
    let name = format!("pl-outage-{}", std::process::id());
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let store = Arc::new(store(&format!("s3://{name}/team"), Access::ReadWrite).await);
    let dir = temp_dir("s3-outage");
    let all = std::fs::read_to_string(
        root().join("tests/fixtures/journals/v0.1/pilot-light-failover.crash-30.jsonl"),
    )
    .unwrap();
    let lines: Vec<String> = all.split_inclusive('\n').map(str::to_string).collect();
    let journal = dir.join("j.jsonl");
    let (s, j, l) = (store.clone(), journal.clone(), lines.clone());
    let mut mirror = tokio::task::spawn_blocking(move || {
        std::fs::write(&j, l[..10].concat()).unwrap();
        let mut mirror = Mirror::new(s, &j);
        let failed = mirror.sync();
        assert!(matches!(failed, Err(MirrorError::Store(_))), "{failed:?}");
        // The run goes on meanwhile: its journal is written whatever S3 says.
        std::fs::write(&j, l[..20].concat()).unwrap();
        assert!(matches!(mirror.sync(), Err(MirrorError::Store(_))));
        mirror
    })
    .await
    .unwrap();
    // S3 answers again: the mirror catches up, in order, with nothing twice.
    s3.create_bucket().bucket(&name).send().await.unwrap();
    let first = pilotlight::audit::verify(lines[0].as_bytes())
        .unwrap()
        .records[0]
        .clone();
    let pilotlight::audit::Event::RunStarted(started) = &first.event else {
        panic!("the fixture begins with its run's start")
    };
    let prefix = run_prefix(&first.runbook, &started.run_id);
    tokio::task::spawn_blocking(move || {
        assert_eq!(mirror.sync().unwrap(), 20);
        std::fs::write(&journal, lines.concat()).unwrap();
        assert_eq!(mirror.sync().unwrap(), lines.len() as u64);
        assert_eq!(read_batches(&*store, &prefix).unwrap(), all.as_bytes());
    })
    .await
    .unwrap();
}
