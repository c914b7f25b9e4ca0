//! Live collection against the fake API server with injected latency per request: the wall
//! time divided by the latency is the number of round trips on the critical path. Prints the
//! request count per target kind. No assertion: numbers for the notes.
//!
//!     cargo bench --bench live_round_trips

#[path = "../tests/common/fake_kube.rs"]
mod fake_kube;

use std::path::Path;
use std::time::{Duration, Instant};

use fake_kube::{Behaviour, FakeKube, world_from};
use wi::collect::kube::{Collect, Connect, collect, connect};
use wi::facts::{TargetRef, WorkloadKind};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/scenarios");
    let latency = Duration::from_millis(100);
    let cases = [
        (
            "healthy-pod-target-inferred-vault",
            WorkloadKind::Pod,
            "checkout-api-7d9f8c6b5-x2k4q",
        ),
        ("healthy-aks-keyvault-rbac", WorkloadKind::Deployment, "checkout-api"),
        ("healthy-cronjob-v16", WorkloadKind::CronJob, "ledger-sync"),
        ("healthy-statefulset", WorkloadKind::StatefulSet, "ledger-db"),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    println!("latency {} ms per request", latency.as_millis());
    for (scenario, kind, name) in cases {
        let fake = FakeKube::start(
            world_from(&root.join(scenario).join("snapshot")),
            Behaviour {
                latency,
                ..Default::default()
            },
        );
        let tmp = tempfile::tempdir().expect("tmp");
        let kc = fake.kubeconfig(tmp.path(), "payments");
        let c = Connect {
            kubeconfig: Some(kc),
            ..Default::default()
        };
        let target = TargetRef {
            kind,
            namespace: "payments".into(),
            name: name.into(),
        };
        let (elapsed, stats) = rt.block_on(async {
            let (client, _) = connect(&c).await.expect("connect");
            let t0 = Instant::now();
            let (_inv, stats) = collect(
                client,
                &Collect {
                    target: target.clone(),
                    token_request: true,
                },
                Some(Duration::from_secs(10)),
            )
            .await;
            (t0.elapsed(), stats)
        });
        println!(
            "{:<14} {:>3} requests (fake saw {:>3}), wall {:>5} ms ≈ {:.1} round trips (collector counts {})",
            target.display(),
            stats.requests,
            fake.requests().len(),
            elapsed.as_millis(),
            elapsed.as_secs_f64() / latency.as_secs_f64(),
            stats.round_trips
        );
    }
}
