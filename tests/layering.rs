//! The layering rule of the design (section 3), checked over the source tree:
//! only `src/tui/` (and `main.rs`) uses ratatui/crossterm, only `src/cloud/aws/` uses the AWS SDK,
//! and `src/runbook/` and `src/engine/` do no I/O and use no tokio.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::fs;
use std::path::{Path, PathBuf};

struct Rule {
    /// Crate paths that are forbidden, e.g. `ratatui::`.
    forbidden: &'static [&'static str],
    /// Files under these prefixes (relative to the crate root) may use them.
    allowed_under: &'static [&'static str],
    /// If non-empty, the rule only applies to files under these prefixes.
    applies_under: &'static [&'static str],
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        forbidden: &["ratatui", "crossterm"],
        allowed_under: &["src/tui/", "src/main.rs"],
        applies_under: &[],
        why: "only src/tui/ may touch the terminal",
    },
    Rule {
        forbidden: &[
            "aws_sdk_",
            "aws_config",
            "aws_smithy_",
            "aws_types",
            "aws_credential_types",
        ],
        allowed_under: &["src/cloud/aws/"],
        applies_under: &[],
        why: "only src/cloud/aws/ may use the AWS SDK",
    },
    Rule {
        forbidden: &[
            "tokio",
            "std::fs",
            "std::net",
            "std::process",
            "std::io",
            "std::env",
            "std::thread",
            "std::time::SystemTime",
            "Utc::now",
            "Local::now",
        ],
        allowed_under: &[],
        applies_under: &["src/runbook/", "src/engine/"],
        why: "runbook/ and engine/ are pure: no I/O, no clocks, no tokio",
    },
];

/// Code with comments stripped (line comments and doc comments), so prose may name anything.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The violations in one file's text, as `path:line: what (why)`.
fn violations(rel: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for rule in RULES {
        if !rule.applies_under.is_empty() && !rule.applies_under.iter().any(|p| rel.starts_with(p))
        {
            continue;
        }
        if rule.allowed_under.iter().any(|p| rel.starts_with(p)) {
            continue;
        }
        for (n, line) in code_of(text).lines().enumerate() {
            for word in rule.forbidden {
                let hit = line.match_indices(word).any(|(i, _)| {
                    // Match whole path segments: `tokio` but not `mytokio`.
                    let before = line[..i].chars().next_back();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if hit {
                    out.push(format!("{rel}:{}: uses `{word}` ({})", n + 1, rule.why));
                }
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn source_tree_respects_the_layers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 5);
    let mut all = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        all.extend(violations(&rel, &fs::read_to_string(&f).unwrap()));
    }
    assert!(all.is_empty(), "layering violations:\n{}", all.join("\n"));
}

#[test]
fn the_checker_catches_each_kind_of_violation() {
    assert_eq!(
        violations("src/engine/mod.rs", "use tokio::sync::mpsc;").len(),
        1
    );
    assert_eq!(
        violations("src/runbook/x.rs", "let f = std::fs::read(p);").len(),
        1
    );
    assert_eq!(
        violations("src/runbook/x.rs", "let now = Utc::now();").len(),
        1
    );
    assert_eq!(
        violations("src/runtime/x.rs", "use ratatui::Frame;").len(),
        1
    );
    assert_eq!(
        violations("src/audit/x.rs", "let c = aws_sdk_rds::Client::new(&cfg);").len(),
        1
    );
    // Allowed places, comments and look-alike names pass.
    assert!(violations("src/tui/app.rs", "use ratatui::Frame;").is_empty());
    assert!(violations("src/cloud/aws/rds.rs", "use aws_sdk_rds::Client;").is_empty());
    assert!(violations("src/runtime/x.rs", "use tokio::sync::mpsc;").is_empty());
    assert!(violations("src/engine/x.rs", "// tokio is not used here").is_empty());
    assert!(violations("src/engine/x.rs", "let mytokio = 1;").is_empty());
}
