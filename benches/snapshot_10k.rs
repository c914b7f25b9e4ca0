//! Load and evaluate a snapshot of 10,000 pods owned by one Deployment, in three layouts:
//! one `kubectl get pods -o json` List, one multi-document YAML file, and 10,000 YAML files.
//! Prints wall time per phase and the peak resident set. No assertion: numbers for the notes.
//!
//!     cargo bench --bench snapshot_10k

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wi::facts::resolve::{Request, resolve};
use wi::facts::{TargetRef, WorkloadKind};

const N: usize = 10_000;

// The allocator the `wi` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn base_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/scenarios/healthy-aks-keyvault-rbac/snapshot")
}

fn pods() -> Vec<Value> {
    let text = fs::read_to_string(base_dir().join("k8s/pod.yaml")).expect("pod.yaml");
    let first: Value = serde_yaml_ng::from_str(text.split("---\n").next().expect("doc")).expect("yaml");
    (0..N)
        .map(|i| {
            let mut p = first.clone();
            p["metadata"]["name"] = json!(format!("checkout-api-7d9f8c6b5-{i:05}"));
            p["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
            p
        })
        .collect()
}

fn copy_rest(dst: &Path) {
    for sub in ["azure", "oidc", "token"] {
        fs::create_dir_all(dst.join(sub)).expect("mkdir");
        for e in fs::read_dir(base_dir().join(sub)).expect("dir") {
            let p = e.expect("e").path();
            fs::copy(&p, dst.join(sub).join(p.file_name().expect("n"))).expect("copy");
        }
    }
    fs::create_dir_all(dst.join("k8s")).expect("mkdir");
    for f in [
        "deployment.yaml",
        "replicaset.yaml",
        "serviceaccount.yaml",
        "namespace.yaml",
        "mutatingwebhookconfiguration.yaml",
    ] {
        fs::copy(base_dir().join("k8s").join(f), dst.join("k8s").join(f)).expect("copy");
    }
}

fn peak_rss_kib() -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn run(label: &str, dir: &Path) {
    let req = Request {
        target: TargetRef { kind: WorkloadKind::Deployment, namespace: "payments".into(), name: "checkout-api".into() },
        at: "2026-03-10T09:20:00Z".parse().ok(),
        now: jiff::Timestamp::now(),
        scopes: vec!["/subscriptions/6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f/resourceGroups/rg-payments-prod/providers/Microsoft.KeyVault/vaults/kv-payments-weu".into()],
        data_action: None,
    };
    let mut best = [Duration::MAX; 3];
    for _ in 0..5 {
        let t0 = Instant::now();
        let inv = wi::collect::snapshot::read_dir(dir).expect("read");
        let t1 = Instant::now();
        let facts = resolve(&inv, &req).expect("resolve");
        let t2 = Instant::now();
        let report = wi::doctor::report(
            &facts,
            wi::report::Input {
                kind: "snapshot".into(),
                path: None,
            },
        );
        let t3 = Instant::now();
        assert_eq!(facts.pods.len(), N);
        assert_eq!(report.verdict, wi::report::Status::Pass);
        for (b, d) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
            *b = (*b).min(d);
        }
    }
    let total: Duration = best.iter().sum();
    println!(
        "{label:<28} load {:>7.1} ms  resolve {:>6.1} ms  rules {:>6.1} ms  total {:>7.1} ms (best of 5)",
        best[0].as_secs_f64() * 1e3,
        best[1].as_secs_f64() * 1e3,
        best[2].as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3
    );
}

fn main() {
    let pods = pods();
    let tmp = tempfile::tempdir().expect("tmp");

    let list = tmp.path().join("list-json");
    copy_rest(&list);
    let doc = json!({"apiVersion": "v1", "kind": "List", "items": pods, "metadata": {"resourceVersion": ""}});
    fs::write(
        list.join("k8s/pods.json"),
        serde_json::to_string_pretty(&doc).expect("json"),
    )
    .expect("write");

    let multi = tmp.path().join("multi-doc-yaml");
    copy_rest(&multi);
    let yaml: Vec<String> = pods
        .iter()
        .map(|p| serde_yaml_ng::to_string(p).expect("yaml"))
        .collect();
    fs::write(multi.join("k8s/pods.yaml"), yaml.join("---\n")).expect("write");

    let list_yaml = tmp.path().join("list-yaml");
    copy_rest(&list_yaml);
    fs::write(
        list_yaml.join("k8s/pods.yaml"),
        serde_yaml_ng::to_string(&doc).expect("yaml"),
    )
    .expect("write");

    let many = tmp.path().join("one-file-per-pod");
    copy_rest(&many);
    fs::create_dir_all(many.join("k8s/pods")).expect("mkdir");
    for (i, y) in yaml.iter().enumerate() {
        fs::write(many.join(format!("k8s/pods/pod-{i:05}.yaml")), y).expect("write");
    }
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    println!(
        "{N} pods; List JSON {:.1} MiB, YAML {:.1} MiB",
        size(&list.join("k8s/pods.json")),
        size(&multi.join("k8s/pods.yaml"))
    );
    run("kubectl -o json List", &list);
    run("kubectl -o yaml List", &list_yaml);
    run("multi-document YAML", &multi);
    run("10,000 YAML files", &many);
    if let Ok(keep) = std::env::var("WI_BENCH_KEEP") {
        for d in [&list, &list_yaml, &multi, &many] {
            let to = Path::new(&keep).join(d.file_name().expect("name"));
            let _ = std::process::Command::new("cp").arg("-r").arg(d).arg(&to).status();
        }
    }
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS {:.0} MiB (includes building the inputs)", kib as f64 / 1024.0);
    }
}
