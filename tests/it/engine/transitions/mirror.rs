//! A run taken up from its mirror in the state store, which may lack the last seconds of the
//! machine that ran it: a change that machine may have sent is looked for in the cloud before
//! it is sent again, and a command is not run again without a person.

use super::*;

/// The engine rebuilt from the first `n` records `run` wrote, as a mirror holding them would.
fn from_mirror(run: &Run, n: usize) -> Run {
    let mut prev = pilotlight::audit::GENESIS.to_string();
    let mut records = Vec::new();
    for (seq, entry) in run.records[..n].iter().enumerate() {
        let (_, rec) = pilotlight::audit::seal(
            seq as u64,
            "ana",
            &run.engine.runbook().id,
            pilotlight::audit::Mode::Live,
            entry,
            &prev,
        )
        .unwrap();
        prev = rec.hash.clone();
        records.push(rec);
    }
    let runbook = Arc::new(run.engine.runbook().clone());
    Run {
        engine: Engine::from_records(runbook, &records).unwrap(),
        now: run.now,
        records: Vec::new(),
        acked: 0,
    }
}

/// Ana approved the restore; her machine wrote the intent and sent the change, then was lost
/// before its mirror got more than the approval.
fn lost_after_the_approval() -> Run {
    let mut run = started_run(ACTIONS);
    run.send(approve(Some("vol-0abc1234"), Some("go")));
    let approved = run.records.len();
    let sent = run.ack_all();
    assert!(
        d(&sent).iter().any(|e| e == "mutate restore#1"),
        "{:?}",
        d(&sent)
    );
    from_mirror(&run, approved)
}

#[test]
fn from_a_local_journal_an_approved_change_not_begun_is_sent() {
    // (what a journal file says is all there was: nothing was sent after it)
    let mut bo = lost_after_the_approval();
    bo.send(Input::Resume);
    let fx = bo.ack_all();
    assert!(
        d(&fx).iter().any(|e| e == "mutate restore#1"),
        "{:?}",
        d(&fx)
    );
}

#[test]
fn from_a_mirror_a_change_the_lost_machine_may_have_sent_is_looked_for_first() {
    let mut bo = lost_after_the_approval();
    bo.engine.tail_may_be_lost();
    let mut fx = bo.send(Input::Resume);
    fx.extend(bo.ack_all());
    assert_eq!(
        d(&fx),
        [
            "record run-resumed",
            "record intent restore",
            "reconcile restore#1"
        ],
        "nothing is sent before the cloud is asked"
    );
    // The cloud has it (ana's request arrived): adopted, not made again.
    let fx = bo.send(Input::Reconciled {
        step: "restore".into(),
        attempt: 1,
        result: Ok(Some(Started {
            outputs: [("volume_id".to_string(), "vol-ana".to_string())].into(),
            adopted: false,
        })),
    });
    assert!(
        !d(&fx).iter().any(|e| e.starts_with("mutate")),
        "{:?}",
        d(&fx)
    );
    bo.ack_all();
    assert_eq!(
        bo.engine.outputs()["restore"]["volume_id"],
        "vol-ana",
        "the volume ana's machine made"
    );
}

#[test]
fn from_a_mirror_a_change_not_found_in_the_cloud_is_sent_and_the_doubt_ends() {
    let mut bo = lost_after_the_approval();
    bo.engine.tail_may_be_lost();
    bo.send(Input::Resume);
    bo.ack_all();
    let fx = bo.send(Input::Reconciled {
        step: "restore".into(),
        attempt: 1,
        result: Ok(None),
    });
    assert_eq!(d(&fx), ["record intent restore"]);
    assert_eq!(d(&bo.ack_all()), ["mutate restore#1"]);
}
