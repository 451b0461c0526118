//! `pilotlight iam`: the least-privilege policy comes from the one IAM catalogue, and the
//! README's permissions are that catalogue, word for word.

use std::process::Command;

use pilotlight::runbook::iam::policy::{is_read_action, policy, Mode};
use pilotlight::runbook::iam::{permissions_markdown, APIS};
use serde_json::Value;

use crate::common::root;

fn shipped() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(root().join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".yaml") && !n.ends_with(".scenario.yaml")
        })
        .collect();
    out.sort();
    out
}

fn iam(path: &std::path::Path, mode: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["iam", path.to_str().unwrap(), "--mode", mode])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        other => panic!("not a string or a list: {other}"),
    }
}

/// The shape IAM requires of a policy document (the moto test also has IAM's validator
/// accept it).
fn assert_document(doc: &Value, what: &str) {
    assert_eq!(doc["Version"], "2012-10-17", "{what}");
    let mut sids = Vec::new();
    for s in doc["Statement"].as_array().unwrap() {
        let sid = s["Sid"].as_str().unwrap();
        assert!(
            !sid.is_empty() && sid.chars().all(|c| c.is_ascii_alphanumeric()),
            "{what}: Sid {sid}"
        );
        assert!(!sids.contains(&sid), "{what}: Sid {sid} twice");
        sids.push(sid);
        assert_eq!(s["Effect"], "Allow");
        for a in list(&s["Action"]) {
            let (svc, name) = a.split_once(':').unwrap();
            assert!(!svc.is_empty() && !name.is_empty(), "{what}: {a}");
            assert!(!a.contains('*'), "{what}: wildcard action {a}");
        }
        for r in list(&s["Resource"]) {
            assert!(r == "*" || r.starts_with("arn:aws:"), "{what}: {r}");
        }
    }
}

#[test]
fn read_policies_of_every_shipped_runbook_are_reads_only() {
    let runbooks = shipped();
    assert!(runbooks.len() >= 7);
    for path in runbooks {
        let what = path.display().to_string();
        let doc = iam(&path, "read");
        assert_document(&doc, &what);
        for s in doc["Statement"].as_array().unwrap() {
            for a in list(&s["Action"]) {
                assert!(is_read_action(&a), "{what}: {a} is not a read");
                // And a read the catalogue's reads need, nothing else.
                assert!(
                    APIS.iter()
                        .any(|api| api.read && api.iam.contains(&a.as_str())),
                    "{what}: {a}"
                );
            }
        }
        assert_document(&iam(&path, "run"), &what);
    }
}

#[test]
fn the_pilot_light_policy_promotes_the_replica_and_changes_only_its_hosted_zone() {
    let doc = iam(&root().join("runbooks/pilot-light-failover.yaml"), "run");
    let statements = doc["Statement"].as_array().unwrap();
    let with = |action: &str| -> Vec<&Value> {
        statements
            .iter()
            .filter(|s| list(&s["Action"]).iter().any(|a| a == action))
            .collect()
    };
    let promote = with("rds:PromoteReadReplica");
    assert_eq!(promote.len(), 1);
    assert_eq!(
        list(&promote[0]["Resource"]),
        ["arn:aws:rds:us-west-2:*:db:shop-db-replica-usw2"]
    );
    assert!(promote[0]["Sid"]
        .as_str()
        .unwrap()
        .contains("StepPromoteReplica"));
    let dns = with("route53:ChangeResourceRecordSets");
    assert_eq!(dns.len(), 1);
    assert_eq!(
        list(&dns[0]["Resource"]),
        ["arn:aws:route53:::hostedzone/Z0ABC1234DEF567890"]
    );
    assert_eq!(
        dns[0]["Condition"]["StringEquals"]["aws:RequestedRegion"],
        serde_json::json!(["us-east-1"])
    );
    // The read policy has neither.
    let read = iam(&root().join("runbooks/pilot-light-failover.yaml"), "read");
    let text = read.to_string();
    assert!(!text.contains("PromoteReadReplica") && !text.contains("ChangeResourceRecordSets"));
}

#[test]
fn a_runbooks_state_store_is_covered_and_read_mode_only_reads_it() {
    let yaml = r#"runbook: team
title: Team
targets: { rto: 1h }
regions: { primary: us-east-1, recovery: us-west-2 }
state: { url: "s3://dr-state/pilotlight" }
resources:
  db: { kind: rds-instance, region: us-west-2, id: orders }
steps:
  - id: look
    kind: check
    title: Look
    expect: { resource: db, health: [ok] }
"#;
    let rb = pilotlight::runbook::parse(yaml.as_bytes()).unwrap();
    let run = policy(&rb, Mode::Run);
    let store: Vec<_> = run
        .statements
        .iter()
        .filter(|s| s.sid.starts_with("StateStore"))
        .collect();
    assert!(store
        .iter()
        .any(|s| s.actions.contains(&"s3:PutObject".to_string())
            && s.resources == ["arn:aws:s3:::dr-state/pilotlight/*"]));
    assert!(store
        .iter()
        .any(|s| s.actions.contains(&"s3:ListBucket".to_string())
            && s.resources.contains(&"arn:aws:s3:::dr-state".to_string())));
    let read = policy(&rb, Mode::Read);
    assert!(read.actions().contains(&"s3:GetObject"));
    assert!(!read.actions().contains(&"s3:PutObject"));
    assert!(!read.actions().contains(&"s3:DeleteObject"));
}

#[test]
fn the_readme_lists_the_catalogues_permissions() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let begin = "<!-- permissions: generated from src/runbook/iam (a test holds them equal) -->\n";
    let end = "<!-- /permissions -->";
    let from = readme.find(begin).expect("the README's permissions block") + begin.len();
    let to = readme[from..].find(end).expect("its end") + from;
    let want = permissions_markdown();
    assert_eq!(
        &readme[from..to],
        want,
        "README.md's permissions differ from the catalogue; put this between the markers:\n{want}"
    );
}

#[test]
fn preflight_looks_only_through_operations_the_read_policy_allows() {
    use pilotlight::engine::preflight::wants;
    use pilotlight::runbook::iam::{api, preflight_ops};
    use pilotlight::runbook::StepBody;
    let mut looked = 0;
    for path in shipped() {
        let rb = pilotlight::runbook::parse(&std::fs::read(&path).unwrap()).unwrap();
        let read = policy(&rb, Mode::Read);
        for step in &rb.steps {
            let StepBody::Action { resource, call, .. } = &step.body else {
                continue;
            };
            let res = rb.resources.get(resource);
            // A resource in another account is looked at as the role assumed there.
            let read = match res.and_then(|r| r.role.as_ref().and(r.account.as_deref())) {
                Some(account) => {
                    pilotlight::runbook::iam::policy::account_policy(&rb, Mode::Read, account)
                }
                None => read.clone(),
            };
            for (named, _) in wants(step, res) {
                let op = named.kind.op();
                assert!(
                    preflight_ops(call).contains(&op),
                    "{}: step {} looks for {named:?} with {op}",
                    path.display(),
                    step.id
                );
                for action in api(op).unwrap().iam {
                    assert!(
                        read.actions().contains(action),
                        "{}: {action}",
                        path.display()
                    );
                }
                looked += 1;
            }
        }
    }
    assert!(looked >= 8, "{looked}");
}

fn one_step(resource: &str, step: &str) -> pilotlight::runbook::Runbook {
    let yaml = format!(
        "runbook: one\ntitle: One\ntargets: {{ rto: 1h }}\nresources:\n  {resource}\nsteps:\n{step}"
    );
    pilotlight::runbook::parse(yaml.as_bytes()).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"))
}

#[test]
fn a_role_is_passed_only_where_a_step_names_one_and_only_to_its_service() {
    let launch = |profile: &str| {
        one_step(
            "app: { kind: ec2-instance, region: us-west-2, id: i-0abc1234 }",
            &format!(
                "  - id: launch\n    kind: action\n    title: Launch\n    action: ec2.launch-from-ami\n    resource: app\n    with: {{ ami: ami-0abc1234, instance_type: m6i.large, subnet_id: subnet-0abc1234{profile} }}\n    gate: {{ confirm: true }}\n"
            ),
        )
    };
    let bare = policy(&launch(""), Mode::Run);
    assert!(!bare.actions().contains(&"iam:PassRole"), "{bare:?}");
    let with = policy(&launch(", iam_instance_profile: app"), Mode::Run);
    let pass = with
        .statements
        .iter()
        .find(|s| s.actions.contains(&"iam:PassRole".to_string()))
        .expect("PassRole for the instance profile's role");
    assert_eq!(
        pass.condition["StringEquals"]["iam:PassedToService"],
        ["ec2.amazonaws.com"]
    );
}

#[test]
fn rds_arns_are_lower_case_and_a_rollback_is_covered() {
    let rb = one_step(
        "db: { kind: rds-instance, region: us-west-2, id: Shop-DB-Replica }",
        "  - id: promote\n    kind: action\n    title: Promote\n    action: rds.promote-replica\n    resource: db\n    with: { replica_id: Shop-DB-Replica }\n    gate: { confirm: true }\n",
    );
    let p = policy(&rb, Mode::Run);
    let promote = p
        .statements
        .iter()
        .find(|s| s.actions.contains(&"rds:PromoteReadReplica".to_string()))
        .unwrap();
    assert_eq!(
        promote.resources,
        ["arn:aws:rds:us-west-2:*:db:shop-db-replica"]
    );
    // The analytics runbook's traffic dial is undone by its inverse: covered under its own Sid.
    let rb = pilotlight::runbook::parse(
        &std::fs::read(root().join("runbooks/analytics-global-accelerator-failover.yaml")).unwrap(),
    )
    .unwrap();
    let p = policy(&rb, Mode::Run);
    assert!(
        p.statements.iter().any(|s| s.sid.contains("Rollback")
            && s.actions
                .contains(&"globalaccelerator:UpdateEndpointGroup".to_string())),
        "{p:?}"
    );
}

#[test]
fn a_data_plane_write_is_not_a_read() {
    assert!(!is_read_action("dynamodb:GetItem"));
    assert!(!is_read_action("dynamodb:PutItem"));
    assert!(is_read_action("dynamodb:DescribeTable"));
    assert!(is_read_action("iam:SimulatePrincipalPolicy"));
}

#[test]
fn a_change_in_another_account_names_its_principal_and_the_caller_may_assume_the_role() {
    let yaml = r#"runbook: other
title: Promote in the DR account
targets: { rto: 1h }
accounts:
  "111111111111": { role: "arn:aws:iam::111111111111:role/pilotlight-dr", external_id: dr-2026 }
resources:
  replica: { kind: rds-instance, region: us-west-2, id: orders-replica, account: "111111111111" }
  primary: { kind: rds-instance, region: us-east-1, id: orders }
steps:
  - id: promote
    kind: action
    title: Promote the replica
    action: rds.promote-replica
    resource: replica
    with: { replica_id: orders-replica }
    gate: { confirm: true }
"#;
    let rb = pilotlight::runbook::parse(yaml.as_bytes()).unwrap();
    let pilotlight::runbook::StepBody::Action { call, .. } = &rb.steps[0].body else {
        panic!()
    };
    let plan = pilotlight::engine::render(
        call,
        &rb.resources["replica"],
        "promote",
        1,
        "run-1",
        &Default::default(),
    )
    .unwrap();
    // The intent record holds who the change is made as.
    assert_eq!(
        plan.principal.as_deref(),
        Some("arn:aws:iam::111111111111:role/pilotlight-dr")
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json["principal"],
        "arn:aws:iam::111111111111:role/pilotlight-dr"
    );
    assert!(rb.resources["primary"].role.is_none());
    let assume = policy(&rb, Mode::Read)
        .statements
        .into_iter()
        .find(|s| s.actions == ["sts:AssumeRole"])
        .expect("the caller may assume the role");
    assert_eq!(
        assume.resources,
        ["arn:aws:iam::111111111111:role/pilotlight-dr"]
    );
}

#[test]
fn each_other_account_has_its_roles_policy_and_the_caller_holds_none_of_it() {
    let dir = crate::common::temp_dir("iam-accounts");
    let rb = dir.join("other.yaml");
    std::fs::write(
        &rb,
        r#"runbook: other
title: Promote in the DR account
targets: { rto: 1h }
accounts:
  "111111111111": { role: "arn:aws:iam::111111111111:role/pilotlight-dr" }
resources:
  replica: { kind: rds-instance, region: us-west-2, id: orders-replica, account: "111111111111" }
  primary: { kind: rds-instance, region: us-east-1, id: orders }
steps:
  - id: promote
    kind: action
    title: Promote the replica
    action: rds.promote-replica
    resource: replica
    with: { replica_id: orders-replica }
    gate: { confirm: true }
"#,
    )
    .unwrap();
    let caller = iam(&rb, "run");
    assert_document(&caller, "caller");
    let text = caller.to_string();
    assert!(
        !text.contains("PromoteReadReplica") && !text.contains("111111111111:db"),
        "{text}"
    );
    assert!(text.contains("sts:AssumeRole"));
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["iam", rb.to_str().unwrap(), "--account", "111111111111"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let role: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_document(&role, "role");
    let promote = role["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| list(&s["Action"]).contains(&"rds:PromoteReadReplica".to_string()))
        .unwrap();
    assert_eq!(
        list(&promote["Resource"]),
        ["arn:aws:rds:us-west-2:111111111111:db:orders-replica"]
    );
    let out = Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["iam", rb.to_str().unwrap(), "--account", "222222222222"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not one of the runbook's accounts"));
}
