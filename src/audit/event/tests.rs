//! Every shape of a record's detail reads back and writes out as it was.
use super::*;

/// Every shape 0.1.0 wrote reads back as the same event and writes out as the same bytes.
#[test]
fn details_keep_their_shape() {
    let lines = [
        (
            EventKind::StepStarted,
            r#"{"expected_secs":null,"kind":"check","title":"t"}"#,
        ),
        (
            EventKind::StepStarted,
            r#"{"attempt":2,"begin":true,"kind":"manual","retry":true,"title":"t"}"#,
        ),
        (
            EventKind::GateApproved,
            r#"{"reason":null,"typed":null,"unattended":true}"#,
        ),
        (
            EventKind::GateCancelled,
            r#"{"reason":"no","seen":"dial 0% -> 100%"}"#,
        ),
        (
            EventKind::Intent,
            r#"{"attempt":1,"command":"true","resend":false}"#,
        ),
        (
            EventKind::Outcome,
            r#"{"attempt":1,"error":"boom","ok":false}"#,
        ),
        (
            EventKind::Outcome,
            r#"{"attempt":1,"exit_code":0,"ok":true,"stdout":"x"}"#,
        ),
        (
            EventKind::Outcome,
            r#"{"adopted":false,"attempt":1,"ok":true,"outputs":{"a":"b"}}"#,
        ),
        (
            EventKind::StepSucceeded,
            r#"{"attempt":1,"duration_secs":3,"note":"marked done","outputs":null}"#,
        ),
        (
            EventKind::StepRetried,
            r#"{"after":"x","attempt":2,"auto":true,"backoff_secs":60}"#,
        ),
        (
            EventKind::StepRetried,
            r#"{"attempt":2,"auto":false,"reason":"why"}"#,
        ),
        (
            EventKind::Error,
            r#"{"error":"e","while":"polling progress"}"#,
        ),
        (
            EventKind::RunStarted,
            r#"{"context":{"pilotlight":"0.1.0","runbook_file":"r.yaml","runbook_sha256":"ab","scenario":"s","scenario_file":null,"seed":1,"speed":"max","unattended":true},"rto_target_secs":60,"run_id":"r","steps":[],"title":"t"}"#,
        ),
        (
            EventKind::RunStarted,
            r#"{"context":{"aws":{"account":"1","arn":"a","user_id":"u"},"pilotlight":"0.1.0","regions":["us-east-1"],"runbook_file":"r.yaml","runbook_sha256":"ab"},"rto_target_secs":60,"run_id":"r","steps":[],"title":"t"}"#,
        ),
        (
            EventKind::RollbackStarted,
            r#"{"reason":"failback","steps":["b","a"]}"#,
        ),
        (
            EventKind::StepRolledBack,
            r#"{"attempt":1,"duration_secs":60,"outputs":null,"state":"insync"}"#,
        ),
        (
            EventKind::RollbackFinished,
            r#"{"duration_secs":120,"rolled_back":["b"],"skipped":["a"]}"#,
        ),
        (EventKind::RollbackStopped, r#"{"reason":"not now"}"#),
    ];
    for (kind, text) in lines {
        let detail: serde_json::Value = serde_json::from_str(text).unwrap();
        let event = Event::from_detail(kind, detail.clone()).unwrap();
        assert_eq!(event.kind(), kind);
        assert_eq!(
            serde_json::to_string(&event.detail().unwrap()).unwrap(),
            text
        );
    }
}
