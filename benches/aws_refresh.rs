//! AWS calls and time per refresh of 1,000 resources (design section 9: one call per (service,
//! region, page), bounded concurrency per (service, region), slow facts on a slower tier), and
//! one `status` run's wall time against moto's own CPU time serving it.
//!
//! Seeds moto's server on 127.0.0.1 (started by the tests' harness, which installs
//! `moto[server]` with pip if missing) with 1,000 resources: 250 each of EC2 instances, EBS
//! volumes (one in five with a snapshot), RDS instances and DynamoDB tables, half in us-east-1
//! and half in us-west-2. Then:
//! - refreshes them all through the live backend with a driven clock, 30 s apart (the console's
//!   live refresh) for `MINUTES` minutes (default 10), and prints the operations of the first
//!   refresh, of a refresh inside the slow tier, and per minute;
//! - runs the release binary's `status --format json` on the same runbook and prints its wall
//!   time beside the CPU seconds moto spent meanwhile.
//!
//! Run: `cargo bench --bench aws_refresh` (`MINUTES=N`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches may panic

#[allow(dead_code)] // the tests use more of it
#[path = "../tests/it/common/moto.rs"]
mod moto;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use pilotlight::cloud::aws::{Access, AwsCloud, Clients, Endpoints, Timeouts};
use pilotlight::cloud::observe_all;

const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];
/// Of each kind, per region.
const EACH: usize = 125;

/// The crate's root (moto's harness script lives under tests/support).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("aws_refresh: measured only by `cargo bench --bench aws_refresh`");
        return;
    }
    let minutes: i64 = std::env::var("MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(minutes));
}

async fn seed(url: &str, region: &str, tag: &str, out: &mut Vec<String>) {
    let sdk = moto::sdk_config(url, region).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    for i in 0..EACH {
        let v = ec2
            .create_volume()
            .availability_zone(format!("{region}a"))
            .size(8)
            .send()
            .await
            .unwrap();
        let id = v.volume_id().unwrap().to_string();
        if i % 5 == 0 {
            ec2.create_snapshot().volume_id(&id).send().await.unwrap();
        }
        out.push(format!(
            "  vol-{region}-{i}: {{ kind: ebs-volume, region: {region}, id: {id} }}"
        ));
    }
    let ami = ec2.describe_images().send().await.unwrap();
    let ami = ami.images()[0].image_id().unwrap().to_string();
    let ran = ec2
        .run_instances()
        .image_id(ami)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(EACH as i32)
        .max_count(EACH as i32)
        .send()
        .await
        .unwrap();
    for (i, inst) in ran.instances().iter().enumerate() {
        out.push(format!(
            "  app-{region}-{i}: {{ kind: ec2-instance, region: {region}, id: {} }}",
            inst.instance_id().unwrap()
        ));
    }
    let rds = aws_sdk_rds::Client::new(&sdk);
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for i in 0..EACH {
        let id = format!("bench-{tag}-db-{i}");
        rds.create_db_instance()
            .db_instance_identifier(&id)
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("admin")
            .master_user_password("not-a-secret-1")
            .send()
            .await
            .unwrap();
        out.push(format!(
            "  db-{region}-{i}: {{ kind: rds-instance, region: {region}, id: {id} }}"
        ));
        let table = format!("bench-{tag}-table-{i}");
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        ddb.create_table()
            .table_name(&table)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        out.push(format!(
            "  table-{region}-{i}: {{ kind: dynamodb-table, region: {region}, id: {table} }}"
        ));
    }
}

async fn run(minutes: i64) {
    let url = moto::url().to_string();
    let started = Instant::now();
    let tag = std::process::id().to_string();
    let mut resources = Vec::new();
    for region in REGIONS {
        seed(&url, region, &tag, &mut resources).await;
    }
    let yaml = format!(
        "runbook: refresh-bench\ntitle: 1,000 resources\ntargets: {{ rto: 1h, rpo: 1d }}\nresources:\n{}\nsteps:\n  - id: look\n    kind: manual\n    title: look\n",
        resources.join("\n")
    );
    let runbook = Arc::new(pilotlight::runbook::parse(yaml.as_bytes()).unwrap());
    println!(
        "seeded {} resources in moto in {:.1?}",
        runbook.resources.len(),
        started.elapsed()
    );

    let sdk = moto::sdk_config(&url, "us-east-1").await;
    let aws = AwsCloud::new(
        Clients::new(sdk, Access::ReadOnly, Timeouts::default(), Endpoints::new()),
        runbook.clone(),
    );
    let all: Vec<_> = runbook.resources.values().cloned().collect();
    let t0 = Utc::now();
    let refreshes = minutes * 2;
    let mut total_ops = 0;
    let mut total_requests = 0;
    let mut most_ops = 0;
    for n in 0..refreshes {
        let t = Instant::now();
        let cpu = moto::cpu_seconds();
        let seen = observe_all(&aws, all.clone(), t0 + chrono::Duration::seconds(30 * n)).await;
        let wall = t.elapsed();
        let moto_cpu = moto::cpu_seconds().zip(cpu).map(|(b, a)| b - a);
        let failed: Vec<_> = seen.iter().filter(|(_, r)| r.is_err()).take(3).collect();
        assert!(failed.is_empty(), "every resource answers: {failed:?}");
        let counts = aws.calls().take();
        total_ops += counts.total_operations();
        total_requests += counts.total_transmitted();
        most_ops = most_ops.max(counts.total_operations());
        if n <= 1 {
            let which = if n == 0 {
                "first refresh (slow facts too)"
            } else {
                "refresh 30 s later (health only)"
            };
            println!(
                "{which} of {} resources: {} operations, {} requests, {wall:.1?} wall, moto CPU {}",
                seen.len(),
                counts.total_operations(),
                counts.total_transmitted(),
                moto_cpu.map_or("?".into(), |c| format!("{c:.2} s")),
            );
            for (op, k) in &counts.operations {
                println!("  {op:<40} {k}");
            }
        }
    }
    println!(
        "{refreshes} refreshes 30 s apart over {minutes} min: {total_ops} operations ({total_requests} requests), {:.0} per minute; at most {most_ops} in one refresh",
        total_ops as f64 / minutes as f64
    );

    // One `status` of the same runbook by the release binary.
    let dir = std::env::temp_dir().join(format!("pilotlight-bench-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("refresh-bench.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let cpu = moto::cpu_seconds();
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pilotlight"))
        .args(["status", path.to_str().unwrap(), "--format", "json"])
        .envs(moto::binary_env(&dir, &url, "us-east-1"))
        .output()
        .unwrap();
    let wall = t.elapsed();
    let moto_cpu = moto::cpu_seconds().zip(cpu).map(|(b, a)| b - a);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    println!(
        "status of {} resources: exit {:?} ({}, {} API calls), {wall:.2?} wall, moto CPU {} (ratio {})",
        runbook.resources.len(),
        out.status.code(),
        report["status"],
        report["api_calls"],
        moto_cpu.map_or("?".into(), |c| format!("{c:.2} s")),
        moto_cpu.map_or("?".into(), |c| format!("{:.2}", wall.as_secs_f64() / c)),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
