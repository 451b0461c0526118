//! The layering rules of the design (section 3), checked over the source tree:
//! - only `src/tui/` (and `main.rs`) uses ratatui/crossterm, only `src/cloud/aws/` uses the AWS
//!   SDK, and `src/runbook/` and `src/engine/` do no I/O and use no tokio;
//! - dependencies point one way: `runbook` ← `model` ← `audit` ← `engine` ← `cloud`; nothing
//!   below imports what is above it (the engine and the backends do not import each other);
//! - a journal record's `detail` is read and written only by the journal's own
//!   (de)serialization (`src/audit/event/`, `src/audit/record.rs`): everyone else matches on
//!   typed events;
//! - a run's `State` changes only in the one transition, `src/engine/apply.rs`, which live
//!   handling and journal replay share.

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
            "crate::model",
            "crate::audit",
            "crate::engine",
            "crate::cloud",
            "crate::runtime",
            "crate::tui",
            "crate::cli",
        ],
        allowed_under: &[],
        applies_under: &["src/runbook/"],
        why: "the runbook format depends on nothing else of pilotlight",
    },
    Rule {
        forbidden: &[
            "crate::audit",
            "crate::engine",
            "crate::cloud",
            "crate::runtime",
            "crate::tui",
            "crate::cli",
        ],
        allowed_under: &[],
        applies_under: &["src/model.rs"],
        why: "what is known about the cloud sits below the journal, the engine and the backends",
    },
    Rule {
        forbidden: &[
            "crate::engine",
            "crate::cloud",
            "crate::runtime",
            "crate::tui",
            "crate::cli",
        ],
        allowed_under: &[],
        applies_under: &["src/audit/"],
        why: "the journal sits below the engine and the backends",
    },
    Rule {
        forbidden: &["crate::cloud", "crate::runtime", "crate::tui", "crate::cli"],
        allowed_under: &[],
        applies_under: &["src/engine/"],
        why: "the engine is pure: it talks to no backend, runtime or screen",
    },
    Rule {
        forbidden: &[".detail()", "from_detail("],
        // The report's unit tests write records in their on-disk form, as a journal holds them.
        allowed_under: &[
            "src/audit/event/",
            "src/audit/record.rs",
            "src/audit/report/tests.rs",
        ],
        applies_under: &[],
        why: "only the journal's own (de)serialization reads or writes a record's detail; match on typed events",
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

/// Whether a line of engine code changes the run's `State` (assigns to it, borrows it mutably,
/// or calls a mutating method on it).
fn changes_state(line: &str) -> bool {
    const MUTATORS: &[&str] = &[
        "insert",
        "push",
        "extend",
        "remove",
        "clear",
        "get_or_insert",
        "get_or_insert_with",
        "take",
        "retain",
        "entry",
        "get_mut",
        "iter_mut",
        "apply",
        "truncate",
    ];
    let mut from = 0;
    while let Some(i) = line[from..].find("self.state").map(|i| i + from) {
        from = i + "self.state".len();
        // `x[self.state.current]` only reads the state, to index something else.
        if line[..i].ends_with('[') {
            continue;
        }
        if line[..i].ends_with("&mut ") {
            return true;
        }
        // The place: `.field` and `[index]` parts after `self.state`.
        let rest = &line.as_bytes()[from..];
        let (mut j, mut depth) = (0, 0);
        let mut last_field = String::new();
        while j < rest.len() {
            let c = rest[j] as char;
            match c {
                '[' => depth += 1,
                ']' if depth > 0 => depth -= 1,
                '.' if depth == 0 => last_field.clear(),
                c if depth == 0 && (c.is_alphanumeric() || c == '_') => last_field.push(c),
                _ if depth > 0 => {}
                _ => break,
            }
            j += 1;
        }
        let after = line[from + j..].trim_start();
        let assigns = (after.starts_with('=') && !after.starts_with("=="))
            || after.starts_with("+=")
            || after.starts_with("-=");
        let calls_mutator = after.starts_with('(') && MUTATORS.contains(&last_field.as_str());
        if assigns || calls_mutator {
            return true;
        }
    }
    false
}

/// The violations in one file's text, as `path:line: what (why)`.
fn violations(rel: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let transition = ["src/engine/apply.rs", "src/engine/state.rs"];
    if rel.starts_with("src/engine/") && !transition.contains(&rel) {
        for (n, line) in code_of(text).lines().enumerate() {
            if changes_state(line) && !line.contains("apply_entry(") {
                out.push(format!(
                    "{rel}:{}: changes the run's state outside src/engine/apply.rs (emit an event instead)",
                    n + 1
                ));
            }
        }
    }
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
                    // Match whole path segments: `tokio` but not `mytokio` (a method, `.x(`,
                    // follows anything).
                    let before = line[..i].chars().next_back();
                    word.starts_with('.')
                        || !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
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
    assert_eq!(
        violations("src/engine/cloud.rs", "use crate::cloud::Mutate;").len(),
        1
    );
    assert_eq!(
        violations("src/audit/x.rs", "use crate::engine::Engine;").len(),
        1
    );
    assert_eq!(
        violations("src/runtime/x.rs", "let v = record.event.detail()?;").len(),
        1
    );
    assert_eq!(
        violations("src/engine/flow.rs", "self.state.steps[i].error = None;").len(),
        1
    );
    assert_eq!(
        violations("src/engine/flow.rs", "self.state.outputs.insert(k, v);").len(),
        1
    );
    assert_eq!(
        violations("src/engine/flow.rs", "let run = &mut self.state.steps[i];").len(),
        1
    );
    // Allowed places, comments and look-alike names pass.
    assert!(violations("src/audit/event/mod.rs", "let d = self.detail()?;").is_empty());
    assert!(violations("src/engine/apply.rs", "self.state.current = i;").is_empty());
    assert!(violations("src/engine/flow.rs", "if self.state.current == i {}").is_empty());
    assert!(violations("src/engine/flow.rs", "let i = self.state.current;").is_empty());
    assert!(violations(
        "src/engine/acks.rs",
        "self.live[self.state.current].awaiting = None;"
    )
    .is_empty());
    assert_eq!(
        violations(
            "src/engine/flow.rs",
            "self.state.steps[self.state.current].attempt += 1;"
        )
        .len(),
        1
    );
    assert!(violations("src/tui/app.rs", "use ratatui::Frame;").is_empty());
    assert!(violations("src/cloud/aws/rds.rs", "use aws_sdk_rds::Client;").is_empty());
    assert!(violations("src/runtime/x.rs", "use tokio::sync::mpsc;").is_empty());
    assert!(violations("src/engine/x.rs", "// tokio is not used here").is_empty());
    assert!(violations("src/engine/x.rs", "let mytokio = 1;").is_empty());
}
