use super::*;

/// Several actions (with and without `wait_until`) and commands, each behind a gate, with retries.
/// `# timeout:` lines become real timeouts in the `with_timeouts` variant.
pub(crate) const RUNBOOK: &str = r#"
runbook: safety-drill
title: Restore, attach, check, cut over
targets: { rto: 2h }
resources:
  data: { kind: ebs-volume, region: us-east-1, id: vol-0abc1234 }
  edge: { kind: global-accelerator, arn: "arn:aws:globalaccelerator::111122223333:accelerator/1234" }
  db: { kind: rds-instance, region: us-east-1, id: orders-prod }
steps:
  - id: impaired
    kind: check
    expect: { resource: db, health: [impaired, unavailable] }
    retry: { max_attempts: 2, backoff: 30s }
  - id: restore
    kind: action
    action: ebs.restore-volume
    resource: data
    with: { region: us-west-2, snapshot: latest, availability_zone: us-west-2a }
    wait_until: available
    retry: { max_attempts: 3, backoff: 1m }
    # timeout: 20m
    gate: { typed: vol-0abc1234, reason: required }
  - id: attach
    kind: action
    action: ebs.attach-volume
    resource: data
    with:
      region: us-west-2
      volume_id: "{{steps.restore.outputs.volume_id}}"
      instance_id: i-0123456789abcdef0
      device: /dev/sdf
    wait_until: in-use
    retry: { max_attempts: 2, backoff: 30s }
    # timeout: 10m
    gate: { confirm: true }
  - id: fsck
    kind: command
    run: "fsck -n {{steps.attach.outputs.volume_id}}"
    retry: { max_attempts: 2, backoff: 30s }
    # timeout: 5m
    gate: { confirm: true, reason: optional }
  - id: decide
    kind: manual
    gate: { confirm: true, reason: required }
  - id: dial
    kind: action
    action: ga.set-traffic-dial
    resource: edge
    with: { endpoint_group_region: us-west-2, dial: 100 }
    retry: { max_attempts: 2, backoff: 1m }
    # timeout: 5m
    gate: { typed: us-west-2, reason: required }
  - id: ttl
    kind: wait
    for: 1m
  - id: db-ok
    kind: wait
    until: { resource: db, health: [ok] }
    timeout: 15m
  - id: smoke
    kind: command
    run: "echo dial was {{steps.dial.outputs.previous_dial}}"
    gate: { confirm: true }
  - id: smoke-again
    kind: command
    run: "curl -fsS https://orders.example.com/health"
    # timeout: 2m
    retry: { max_attempts: 3, backoff: 10s }
    gate: { confirm: true }
"#;

pub(crate) fn runbook(with_timeouts: bool) -> Arc<Runbook> {
    let text = if with_timeouts {
        RUNBOOK.replace("# timeout:", "timeout:")
    } else {
        RUNBOOK.to_string()
    };
    Arc::new(pilotlight::runbook::parse(text.as_bytes()).expect("the test runbook is valid"))
}

/// Whether no action or command has a timeout (nothing else abandons a change in flight).
pub(crate) fn changes_have_no_timeouts(runbook: &Runbook) -> bool {
    runbook.steps.iter().all(|s| {
        s.timeout.is_none() || !matches!(s.body, StepBody::Action { .. } | StepBody::Command { .. })
    })
}

/// A runbook drawn at random: 2 to 9 steps of every kind, gates of every sort, retries and
/// timeouts, actions with and without `wait_until`, and later steps using earlier steps' outputs.
/// Generated as YAML and loaded like any runbook, so it is always a valid one.
pub(crate) fn random_runbook(rng: &mut Rng) -> Arc<Runbook> {
    let mut steps = String::new();
    let mut restored = None;
    let mut commands: Vec<String> = Vec::new();
    let n = 2 + rng.below(8);
    let pick =
        |rng: &mut Rng, choices: &[&'static str]| choices[rng.below(choices.len() as u64) as usize];
    for i in 0..n {
        let retry = format!(
            "    retry: {{ max_attempts: {}, backoff: {}s }}\n",
            1 + rng.below(3),
            10 * (1 + rng.below(6))
        );
        let timeout = if rng.chance(40) {
            format!("    timeout: {}m\n", 1 + rng.below(20))
        } else {
            String::new()
        };
        let gate = pick(
            rng,
            &[
                "{ confirm: true }",
                "{ confirm: true, reason: optional }",
                "{ confirm: true, reason: required }",
                "{ typed: go-ahead }",
                "{ typed: go-ahead, reason: required }",
            ],
        );
        let optional_gate = if rng.chance(50) {
            format!("    gate: {gate}\n")
        } else {
            String::new()
        };
        let id = format!("s{i}");
        let body = match rng.below(9) {
            0 => format!(
                "    kind: check\n    expect: {{ resource: {}, health: [{}] }}\n{retry}{timeout}",
                pick(rng, &["db", "data"]),
                pick(rng, &["ok", "impaired, unavailable", "ok, impaired"])
            ),
            1 => format!("    kind: manual\n{optional_gate}{retry}"),
            2 => format!("    kind: wait\n    for: {}s\n", 30 * rng.below(5)),
            3 => format!(
                "    kind: wait\n    until: {{ resource: db, health: [ok] }}\n    timeout: {}m\n{optional_gate}",
                5 + rng.below(30)
            ),
            4 => {
                let uses = match (commands.last(), rng.chance(50)) {
                    (Some(c), true) => format!(" {{{{steps.{c}.outputs.stdout}}}}"),
                    _ => String::new(),
                };
                commands.push(id.clone());
                format!(
                    "    kind: command\n    run: \"echo{uses}\"\n    gate: {gate}\n{retry}{timeout}"
                )
            }
            5 | 6 if restored.is_none() => {
                restored = Some(id.clone());
                let wait = if rng.chance(70) { "    wait_until: available\n" } else { "" };
                format!(
                    "    kind: action\n    action: ebs.restore-volume\n    resource: data\n    with: {{ region: us-west-2, snapshot: latest, availability_zone: us-west-2a }}\n{wait}    gate: {gate}\n{retry}{timeout}"
                )
            }
            5 | 6 => {
                let from = restored.clone().unwrap_or_default();
                let wait = if rng.chance(70) { "    wait_until: in-use\n" } else { "" };
                format!(
                    "    kind: action\n    action: ebs.attach-volume\n    resource: data\n    with: {{ region: us-west-2, volume_id: \"{{{{steps.{from}.outputs.volume_id}}}}\", instance_id: i-0123456789abcdef0, device: /dev/sdf }}\n{wait}    gate: {gate}\n{retry}{timeout}"
                )
            }
            _ => format!(
                "    kind: action\n    action: ga.set-traffic-dial\n    resource: edge\n    with: {{ endpoint_group_region: us-west-2, dial: {} }}\n    gate: {gate}\n{retry}{timeout}",
                rng.below(101)
            ),
        };
        steps.push_str(&format!("  - id: {id}\n{body}"));
    }
    let yaml = format!(
        r#"
runbook: random-drill
title: A runbook drawn at random
targets: {{ rto: 2h }}
resources:
  data: {{ kind: ebs-volume, region: us-east-1, id: vol-0abc1234 }}
  edge: {{ kind: global-accelerator, arn: "arn:aws:globalaccelerator::111122223333:accelerator/1234" }}
  db: {{ kind: rds-instance, region: us-east-1, id: orders-prod }}
steps:
{steps}"#
    );
    match pilotlight::runbook::parse(yaml.as_bytes()) {
        Ok(rb) => Arc::new(rb),
        Err(e) => panic!("the generated runbook is invalid: {e:?}\n{yaml}"),
    }
}
