//! `assets/runbook.schema.json` is exactly what `pilotlight schema` prints, and it accepts every
//! runbook pilotlight accepts (so editors never flag a valid runbook) and flags typical mistakes.

use crate::common::root;

use std::fs;
use std::path::PathBuf;

use pilotlight::runbook::schema::{runbook_schema, runbook_schema_text};

#[test]
fn asset_matches_the_generated_schema() {
    let asset = fs::read_to_string(root().join("assets/runbook.schema.json")).unwrap_or_default();
    assert!(
        asset == runbook_schema_text(),
        "assets/runbook.schema.json is stale: run `cargo run -- schema > assets/runbook.schema.json`"
    );
}

fn yaml_as_json(path: &std::path::Path) -> serde_json::Value {
    let text = fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn schema_accepts_every_valid_runbook() {
    let validator = jsonschema::validator_for(&runbook_schema()).unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["runbooks", "tests/fixtures/valid"] {
        for e in fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.to_string_lossy().to_string();
            if name.ends_with(".yaml") && !name.ends_with(".scenario.yaml") {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty());
    for f in files {
        let doc = yaml_as_json(&f);
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
}

#[test]
fn schema_flags_unknown_keys_and_wrong_action_parameters() {
    let validator = jsonschema::validator_for(&runbook_schema()).unwrap();
    let bad = [
        "runbook: x\ntitle: t\ntittle: t\ntargets: { rto: 1h }\nsteps: []\n",
        "runbook: x\ntitle: t\ntargets: { rto: 1 hour }\nsteps: []\n",
        "runbook: x\ntitle: t\ntargets: { rto: 1h }\nsteps:\n  - { id: a, kind: action, action: ga.set-traffic-dial, resource: e, with: { dial: 5 } }\n",
    ];
    for text in bad {
        let doc: serde_json::Value = serde_yaml::from_str(text).unwrap();
        assert!(!validator.is_valid(&doc), "schema accepted:\n{text}");
    }
}
