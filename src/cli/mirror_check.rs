//! `audit verify JOURNAL --against RUN`: a local journal against its mirror in the state store.
//! The hash chain shows a journal was changed only to someone who cannot rewrite it whole; the
//! mirror's batches, never overwritten, can. A local journal re-chained after the fact differs
//! from its mirror at the first record it changed.

use std::path::Path;
use std::process::ExitCode;

use crate::audit::verify;

pub fn against(local_path: &Path, local: &[u8], mirror_path: &Path) -> ExitCode {
    let (shown, there) = (local_path.display(), mirror_path.display());
    let mirror = match super::audit::read_journal(mirror_path) {
        Ok(b) => b,
        Err(e) => {
            tell!("{there}: error: cannot read the mirror: {e}");
            return ExitCode::from(1);
        }
    };
    let mirrored = match verify(&mirror) {
        Ok(v) => v.records,
        Err(e) => {
            say!("{there}: the mirror itself is NOT INTACT: {e}");
            return ExitCode::from(1);
        }
    };
    let (records, torn) = match verify(local) {
        Ok(v) => (v.records, v.torn_tail),
        Err(e) => {
            say!("{shown}: NOT INTACT: {e}");
            return ExitCode::from(1);
        }
    };
    for (i, m) in mirrored.iter().enumerate() {
        match records.get(i) {
            Some(r) if r.hash == m.hash => {}
            Some(_) => {
                say!(
                    "{shown}: DIFFERS FROM ITS MIRROR at record #{i} (line {}): it was changed after it was mirrored to {there}; the mirror is the record of what happened",
                    i + 1
                );
                return ExitCode::from(1);
            }
            None => {
                say!(
                    "{shown}: MISSING RECORDS: it ends at record #{} but its mirror {there} holds {}; records were removed after they were mirrored",
                    records.len(),
                    mirrored.len()
                );
                return ExitCode::from(1);
            }
        }
    }
    if let Some(t) = torn {
        say!(
            "{shown}: line {}: torn last line (a crash during a write); the {} records before it match the mirror {there}",
            t.line,
            records.len()
        );
        return ExitCode::from(1);
    }
    let later = records.len() - mirrored.len();
    say!(
        "{shown}: matches its mirror {there}: {} records{}",
        mirrored.len(),
        match later {
            0 => String::new(),
            n => format!(" (and {n} later ones not mirrored yet, intact)"),
        }
    );
    ExitCode::SUCCESS
}
