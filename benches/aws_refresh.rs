//! AWS calls and time per refresh (design section 9: one call per (service, region, page)).
//!
//! Seeds moto's server on 127.0.0.1 (started by the tests' harness, which installs
//! `moto[server]` with pip if missing) with 200 resources across 3 services and 2 regions
//! (110 EBS volumes in us-east-1 and 10 in us-west-2, each with a snapshot; 40 EC2 instances;
//! 40 RDS instances), then refreshes them all through the live backend several times and prints
//! the operations per refresh, by API, and the wall time of a refresh. For comparison it also
//! times one refresh done resource by resource (what an unbatched console would do).
//!
//! Run: `cargo bench --bench aws_refresh` (`REFRESHES=N`, default 5).

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches may panic

#[allow(dead_code)] // the tests use more of it
#[path = "../tests/it/common/moto.rs"]
mod moto;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pilotlight::cloud::aws::{Access, AwsCloud, Clients, Endpoints, Timeouts};
use pilotlight::cloud::{observe_all, Observe};

/// The crate's root (moto's harness script lives under tests/support).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("aws_refresh: measured only by `cargo bench --bench aws_refresh`");
        return;
    }
    let refreshes: usize = std::env::var("REFRESHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(refreshes));
}

async fn run(refreshes: usize) {
    let url = moto::url().to_string();
    let started = Instant::now();
    let mut resources = Vec::new();
    for (region, volumes) in [("us-east-1", 110), ("us-west-2", 10)] {
        let ec2 = aws_sdk_ec2::Client::new(&moto::sdk_config(&url, region).await);
        for i in 0..volumes {
            let v = ec2
                .create_volume()
                .availability_zone(format!("{region}a"))
                .size(8)
                .send()
                .await
                .unwrap();
            let id = v.volume_id().unwrap().to_string();
            ec2.create_snapshot().volume_id(&id).send().await.unwrap();
            resources.push(format!(
                "  vol-{region}-{i}: {{ kind: ebs-volume, region: {region}, id: {id} }}"
            ));
        }
    }
    let sdk = moto::sdk_config(&url, "us-east-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let ami = ec2.describe_images().send().await.unwrap();
    let ami = ami.images()[0].image_id().unwrap().to_string();
    let out = ec2
        .run_instances()
        .image_id(ami)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(40)
        .max_count(40)
        .send()
        .await
        .unwrap();
    for (i, inst) in out.instances().iter().enumerate() {
        resources.push(format!(
            "  app-{i}: {{ kind: ec2-instance, region: us-east-1, id: {} }}",
            inst.instance_id().unwrap()
        ));
    }
    let rds = aws_sdk_rds::Client::new(&sdk);
    let tag = std::process::id();
    for i in 0..40 {
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
        resources.push(format!(
            "  db-{i}: {{ kind: rds-instance, region: us-east-1, id: {id} }}"
        ));
    }
    let yaml = format!(
        "runbook: refresh-bench\ntitle: 200 resources\ntargets: {{ rto: 1h, rpo: 1d }}\nresources:\n{}\nsteps:\n  - id: look\n    kind: manual\n    title: look\n",
        resources.join("\n")
    );
    let runbook = Arc::new(pilotlight::runbook::parse(yaml.as_bytes()).unwrap());
    println!(
        "seeded {} resources in moto in {:.1?}",
        runbook.resources.len(),
        started.elapsed()
    );

    let aws = AwsCloud::new(
        Clients::new(sdk, Access::ReadOnly, Timeouts::default(), Endpoints::new()),
        runbook.clone(),
    );
    let all: Vec<_> = runbook.resources.values().cloned().collect();
    let mut times = Vec::new();
    for n in 0..refreshes {
        let t = Instant::now();
        let seen = observe_all(&aws, all.clone(), chrono::Utc::now()).await;
        times.push(t.elapsed());
        let failed = seen.iter().filter(|(_, r)| r.is_err()).count();
        assert_eq!(failed, 0, "every resource answers");
        let counts = aws.calls().take();
        if n == 0 {
            println!(
                "one refresh of {} resources: {} operations ({} requests)",
                seen.len(),
                counts.total_operations(),
                counts.transmitted.values().sum::<u64>()
            );
            for (op, k) in &counts.operations {
                println!("  {op:<32} {k}");
            }
        }
    }
    times.sort();
    println!(
        "batched refresh: median {:.1?}, min {:.1?}, max {:.1?} over {refreshes}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    // The same resources one call at a time, for comparison.
    let t = Instant::now();
    for r in &all {
        aws.observe(r, chrono::Utc::now()).await.unwrap();
    }
    let single: Duration = t.elapsed();
    let counts = aws.calls().take();
    println!(
        "resource by resource: {:.1?}, {} operations",
        single,
        counts.total_operations()
    );
}
