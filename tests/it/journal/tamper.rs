//! The journal detects every edit, deletion, insertion, reordering and torn write, at the line
//! where it happened. Mutations are drawn from a seeded generator, so failures reproduce.

use crate::common::temp_dir;

use chrono::{Duration, TimeZone, Utc};
use pilotlight::audit::{verify, Entry, EventKind, Journal, Mode, Tamper};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A journal of `n` records, as bytes.
fn journal_bytes(n: usize) -> Vec<u8> {
    let dir = temp_dir("tamper");
    let path = dir.join("journals/run.jsonl");
    let mut j = Journal::create(&path, "ana", "orders-failover", Mode::Drill).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    for i in 0..n {
        let event = [
            EventKind::StepStarted,
            EventKind::GateShown,
            EventKind::Intent,
            EventKind::Outcome,
        ][i % 4];
        j.append(&Entry {
            at: t0 + Duration::milliseconds(1234 * i as i64),
            step: Some(format!("step-{}", i / 4)),
            event: crate::common::event(
                event,
                serde_json::json!({ "i": i, "note": "restore orders-prod-dr" }),
            ),
        })
        .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

#[test]
fn an_untouched_journal_verifies() {
    let bytes = journal_bytes(24);
    let v = verify(&bytes).unwrap();
    assert_eq!(v.records.len(), 24);
    assert!(v.torn_tail.is_none());
}

#[test]
fn every_random_mutation_is_detected_at_its_line() {
    let original = lines(&journal_bytes(24));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for trial in 0..2000 {
        let mut ls = original.clone();
        let (expect_line, what) = match trial % 4 {
            0 => {
                // Edit one byte of one record.
                let i = rng.below(ls.len());
                let j = rng.below(ls[i].len());
                let old = ls[i][j];
                let mut new = old;
                while new == old || new == b'\n' {
                    new = (rng.next() % 256) as u8;
                }
                ls[i][j] = new;
                (i + 1, "edit")
            }
            1 => {
                // Delete a record that is not the last.
                let i = rng.below(ls.len() - 1);
                ls.remove(i);
                (i + 1, "delete")
            }
            2 => {
                // Swap two different records.
                let i = rng.below(ls.len());
                let mut k = rng.below(ls.len());
                while k == i {
                    k = rng.below(ls.len());
                }
                ls.swap(i, k);
                (i.min(k) + 1, "swap")
            }
            _ => {
                // Insert a copy of a record somewhere else.
                let from = rng.below(ls.len());
                let at = rng.below(ls.len() + 1);
                let copy = ls[from].clone();
                ls.insert(at, copy);
                // Inserted just before its original, the copy reads as the original and the
                // duplicate is the line after it.
                let line = if at == from { at + 2 } else { at + 1 };
                (line, "insert")
            }
        };
        let bytes = join(&ls);
        match verify(&bytes) {
            Ok(v) => panic!(
                "trial {trial}: {what} at line {expect_line} went unnoticed ({} records)",
                v.records.len()
            ),
            Err(t) => {
                let got = t.line().unwrap();
                assert_eq!(got, expect_line, "trial {trial}: {what}, reported {t}");
            }
        }
    }
}

#[test]
fn a_torn_last_line_is_reported_as_such_and_not_as_tampering() {
    let bytes = journal_bytes(10);
    let ls = lines(&bytes);
    let intact: usize = ls[..9].iter().map(|l| l.len() + 1).sum();
    let mut rng = Rng(42);
    for _ in 0..200 {
        let cut = intact + 1 + rng.below(ls[9].len() - 1);
        let v = verify(&bytes[..cut]).unwrap();
        assert_eq!(v.records.len(), 9);
        let torn = v.torn_tail.unwrap();
        assert_eq!((torn.line, torn.offset), (10, intact));
    }
    // A torn line in the middle is not a crash artefact: it is tampering.
    let mut ls2 = ls.clone();
    ls2[4].truncate(20);
    assert!(matches!(
        verify(&join(&ls2)),
        Err(Tamper::Malformed { line: 5, .. })
    ));
}

#[test]
fn resume_sets_a_torn_tail_aside_and_continues_the_chain() {
    let dir = temp_dir("resume");
    // pilotlight makes the journal folder itself, owner-only.
    let path = dir.join("journals/run.jsonl");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    let entry = |kind| Entry {
        at: t0,
        step: None,
        event: crate::common::event(kind, serde_json::Value::Null),
    };
    {
        let mut j = Journal::create(&path, "ana", "rb", Mode::Drill).unwrap();
        j.append(&entry(EventKind::RunStarted)).unwrap();
        j.append(&entry(EventKind::StepStarted)).unwrap();
    }
    // A crash mid-write leaves half a record.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":2,\"at\":\"2026-11-");
    std::fs::write(&path, &bytes).unwrap();

    let (mut j, records, torn) = Journal::resume(&path, "ben").unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(torn.as_ref().map(|t| t.line), Some(3));
    assert_eq!(
        std::fs::read(path.with_extension("torn-3")).unwrap(),
        b"{\"seq\":2,\"at\":\"2026-11-"
    );
    let rec = j.append(&entry(EventKind::TornTailSetAside)).unwrap();
    assert_eq!(
        (rec.seq, rec.operator.as_str(), rec.prev.as_str()),
        (2, "ben", records[1].hash.as_str())
    );
    let v = verify(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v.records.len(), 3);
    assert!(v.torn_tail.is_none());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(dir.join("journals"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn create_never_overwrites_an_existing_journal() {
    let dir = temp_dir("nooverwrite");
    let path = dir.join("run.jsonl");
    Journal::create(&path, "ana", "rb", Mode::Drill).unwrap();
    let err = Journal::create(&path, "ana", "rb", Mode::Drill).unwrap_err();
    assert!(err.to_string().contains("--journal"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn pilotlight_verify(path: &std::path::Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["audit", "verify"])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn audit_verify_exits_0_when_intact_and_1_naming_the_bad_line() {
    let dir = temp_dir("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.jsonl");
    let bytes = journal_bytes(8);
    std::fs::write(&path, &bytes).unwrap();
    let (code, out) = pilotlight_verify(&path);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("intact: 8 records"), "{out}");

    let mut ls = lines(&bytes);
    ls.remove(3);
    std::fs::write(&path, join(&ls)).unwrap();
    let (code, out) = pilotlight_verify(&path);
    assert_eq!(code, Some(1));
    assert!(out.contains("NOT INTACT: line 4:"), "{out}");

    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let (code, out) = pilotlight_verify(&path);
    assert_eq!(code, Some(1));
    assert!(out.contains("line 8: torn last line"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The line with its `hash` field made right again for what it now says (what a pilotlight
/// of another version would have written).
fn reseal(line: &str) -> String {
    use sha2::Digest;
    let i = line.rfind(",\"hash\":\"").unwrap();
    let unsealed = format!("{}}}", &line[..i]);
    let hash: String = sha2::Sha256::digest(unsealed.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{},\"hash\":\"{hash}\"}}", &line[..i])
}

#[test]
fn a_sealed_record_this_version_cannot_read_is_not_called_tampering() {
    let dir = temp_dir("unreadable");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.jsonl");
    let mut ls = lines(&journal_bytes(4));
    // The last record's detail as a newer pilotlight might write it: a field of another type.
    let last = String::from_utf8(ls.pop().unwrap()).unwrap();
    let d = last.find("\"detail\":").unwrap();
    let end = last.find(",\"prev\":").unwrap();
    let newer = format!("{}\"detail\":\"a newer shape\"{}", &last[..d], &last[end..]);
    ls.push(reseal(&newer).into_bytes());
    std::fs::write(&path, join(&ls)).unwrap();
    let (code, out) = pilotlight_verify(&path);
    assert_eq!(code, Some(1));
    assert!(!out.contains("NOT INTACT"), "{out}");
    assert!(out.contains("CANNOT READ: line 4:"), "{out}");
    assert!(out.contains("newer pilotlight"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
