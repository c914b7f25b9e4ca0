//! Live Azure collection against the fake ARM/Graph server with latency per request: requests
//! sent and round trips on the critical path (wall time / latency), for one pod's identity, an
//! identity with 20 federated credentials, and a subscription with 500 role assignments.
//! No assertion: numbers for the notes.
//!
//!     cargo bench --bench azure_requests

#[path = "../tests/common/fake_azure.rs"]
mod fake_azure;

use std::path::Path;
use std::time::{Duration, Instant};

use fake_azure::{AzureBehaviour, FakeAzure};
use serde_json::json;
use wi::collect::azure_live::{Azure, AzureOptions, collect};
use wi::facts::resolve::{Request, resolve};
use wi::facts::{TargetRef, WorkloadKind};

const SUB: &str = "6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f";
const PRINCIPAL: &str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";

fn copy(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success());
}

/// 500 role assignments in the subscription: `own` of them the workload's, over 4 roles.
fn many_assignments(dir: &Path, own: usize) {
    let roles = [
        "4633458b-17de-408a-b874-0445c86b69e6",
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
    ];
    let items: Vec<_> = (0..500)
        .map(|i| {
            let principal = if i * own / 500 != (i + 1) * own / 500 { PRINCIPAL.to_string() } else { format!("00000000-1111-4222-8333-{i:012}") };
            let scope = format!("/subscriptions/{SUB}/resourceGroups/rg-{:03}", i % 37);
            json!({"id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/00000000-2222-4333-8444-{i:012}"),
                "principalId": principal, "principalType": "ServicePrincipal",
                "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{}", roles[(i / 7) % 4]),
                "scope": scope, "type": "Microsoft.Authorization/roleAssignments", "createdOn": "2025-01-01T00:00:00+00:00"})
        })
        .collect();
    std::fs::write(
        dir.join("azure/role-assignment-list.json"),
        serde_json::to_string(&items).expect("json"),
    )
    .expect("write");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/scenarios");
    let latency = Duration::from_millis(100);
    let tmp = tempfile::tempdir().expect("tmp");
    let big = tmp.path().join("many-assignments");
    copy(&root.join("healthy-aks-keyvault-rbac/snapshot"), &big);
    many_assignments(&big, 40);
    let all = tmp.path().join("all-own");
    copy(&root.join("healthy-aks-keyvault-rbac/snapshot"), &all);
    many_assignments(&all, 500);
    let cases = [
        (
            "one identity, 1 credential, 1 assignment",
            root.join("healthy-aks-keyvault-rbac/snapshot"),
            None,
        ),
        ("20 federated credentials", root.join("fic-at-limit/snapshot"), None),
        ("500 assignments, 40 its own (4 roles)", big.clone(), Some(100)),
        ("500 assignments, all its own, pages of 100", all.clone(), Some(100)),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    println!("latency {} ms per request", latency.as_millis());
    for (label, dir, page) in cases {
        let fake = FakeAzure::start(
            &dir,
            AzureBehaviour {
                latency,
                page,
                ..Default::default()
            },
        );
        // SAFETY: set before any thread of this process reads the environment.
        unsafe {
            for (k, v) in fake.env() {
                std::env::set_var(k, v);
            }
        }
        let inv = wi::collect::snapshot::read_dir(&dir).expect("snapshot");
        let mut k8s_only = wi::collect::Inventory {
            pods: inv.pods.clone(),
            service_accounts: inv.service_accounts.clone(),
            deployments: inv.deployments.clone(),
            replica_sets: inv.replica_sets.clone(),
            ..Default::default()
        };
        let target = TargetRef {
            kind: WorkloadKind::Deployment,
            namespace: "payments".into(),
            name: "checkout-api".into(),
        };
        let req = Request {
            target,
            at: None,
            now: jiff::Timestamp::now(),
            scopes: vec![],
            data_action: None,
        };
        let cid = resolve(&k8s_only, &req).expect("facts").client_id;
        let scope = format!(
            "/subscriptions/{SUB}/resourceGroups/rg-payments-prod/providers/Microsoft.KeyVault/vaults/kv-payments-weu"
        );
        let opts = AzureOptions {
            cloud: "AzureCloud".into(),
            subscription: Some(SUB.into()),
            cluster: inv.clusters.first().map(|c| c.id.clone()),
            cluster_name: None,
            timeout: Some(Duration::from_secs(10)),
        };
        let az = Azure::new(&opts).expect("azure");
        let t0 = Instant::now();
        rt.block_on(collect(&az, &mut k8s_only, &opts, cid.as_deref(), &[scope], &[]));
        let wall = t0.elapsed();
        println!(
            "{label:<44} {:>3} requests, wall {:>5} ms ≈ {:.1} round trips",
            fake.requests().len(),
            wall.as_millis(),
            wall.as_secs_f64() / latency.as_secs_f64()
        );
    }
}
