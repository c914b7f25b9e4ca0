//! `wi doctor` and `wi collect` against a fake Kubernetes API server on 127.0.0.1: the real
//! `kube` client, real response shapes, no cluster. For every corpus scenario the live findings
//! equal the snapshot findings; refused reads become unknown facts naming the permission; wi
//! sends only GET/LIST and the TokenRequest POST.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use common::fake_kube::{Behaviour, FakeKube, world_from};
use common::{Scenario, scenarios, stdout, wi};
use serde_json::Value;

/// The case's arguments without the snapshot (live runs read the fake).
fn live_args(s: &Scenario, kubeconfig: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = s.case_args();
    a.push("--kubeconfig".into());
    a.push(kubeconfig.display().to_string());
    // These tests cover the Kubernetes half; tests/azure.rs covers Azure.
    a.push("--no-azure".into());
    a.extend(extra.iter().map(|e| e.to_string()));
    a
}

fn run(args: &[String]) -> (Option<i32>, Value) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wi(&refs);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: no JSON ({e}): {}", common::stderr(&out)));
    (out.status.code(), v)
}

/// A copy of the scenario's snapshot with only what a Kubernetes API server knows.
fn kubernetes_only(s: &Scenario, into: &Path) -> std::path::PathBuf {
    let dst = into.join("k8s-only");
    let st = std::process::Command::new("cp")
        .arg("-r")
        .arg(s.snapshot())
        .arg(&dst)
        .status()
        .expect("cp");
    assert!(st.success());
    for d in ["azure", "arm", "graph"] {
        let _ = fs::remove_dir_all(dst.join(d));
    }
    let _ = fs::remove_file(dst.join("wi-snapshot.yaml"));
    dst
}

/// The findings as a comparable shape: verdict, link statuses, and per rule its status,
/// what blocked it, its evidence values and fixes (messages and evidence sources name where a
/// fact came from — the API server or a file — and may differ).
fn shape(r: &Value) -> Value {
    let findings: Vec<Value> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let ev: Vec<Value> = f["evidence"]
                .as_array()
                .expect("ev")
                .iter()
                .map(|e| serde_json::json!([e["observed"], e["expected"], e["difference"]]))
                .collect();
            let fixes: Vec<Value> = f["fixes"]
                .as_array()
                .expect("fixes")
                .iter()
                .map(|x| x["command"].clone())
                .collect();
            let unknown = f["status"] == "unknown" || f["blocked_by"].is_string();
            serde_json::json!({"rule": f["rule"], "status": f["status"], "blocked_by": f["blocked_by"],
                "evidence": if unknown { Value::Null } else { Value::Array(ev) },
                "fixes": if unknown { Value::Null } else { Value::Array(fixes) }})
        })
        .collect();
    serde_json::json!({"verdict": r["verdict"], "links": r["links"], "findings": findings})
}

#[test]
fn live_findings_equal_snapshot_findings_for_the_whole_corpus() {
    let mut problems = Vec::new();
    for s in scenarios() {
        let (fake, tmp, kc) = start(&s, Behaviour::default());
        let (live_code, live) = run(&live_args(&s, &kc, &["-o", "json"]));
        let k8s = kubernetes_only(&s, tmp.path());
        let mut snap_args: Vec<String> = live_args(&s, &kc, &["-o", "json"]);
        snap_args.truncate(snap_args.len() - 5);
        snap_args.extend([
            "--snapshot".into(),
            k8s.display().to_string(),
            "-o".into(),
            "json".into(),
        ]);
        let (snap_code, snap) = run(&snap_args);
        if live_code != snap_code {
            problems.push(format!("{}: exit live {live_code:?} vs snapshot {snap_code:?}", s.name));
        }
        let (a, b) = (shape(&live), shape(&snap));
        if a != b {
            let fa = a["findings"].as_array().expect("f");
            let fb = b["findings"].as_array().expect("f");
            let diff: Vec<String> = fa
                .iter()
                .zip(fb)
                .filter(|(x, y)| x != y)
                .map(|(x, y)| format!("{x} | {y}"))
                .take(3)
                .collect();
            problems.push(format!(
                "{}: live {} vs snapshot {}: {diff:?}",
                s.name, a["links"], b["links"]
            ));
        }
        // Read-only: GETs (and LISTs), plus the TokenRequest POST.
        for (method, path) in fake.requests() {
            let path = path.split('?').next().unwrap_or_default();
            let ok = method == "GET" || (method == "POST" && path.ends_with("/token"));
            if !ok {
                problems.push(format!("{}: wi sent {method} {path}", s.name));
            }
        }
    }
    common::assert_no_problems(&problems);
}

#[test]
fn collect_then_doctor_snapshot_equals_live() {
    for s in scenarios() {
        let (_fake, tmp, kc) = start(&s, Behaviour::default());
        let args: Vec<String> = live_args(&s, &kc, &[]);
        let target = args[1].clone();
        let ns = args[3].clone();
        let out_dir = tmp.path().join("collected");
        let o = wi(&[
            "collect",
            &target,
            "-n",
            &ns,
            "--output-dir",
            out_dir.to_str().expect("p"),
            "--kubeconfig",
            kc.to_str().expect("p"),
            "--no-azure",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}: {}", s.name, common::stderr(&o));
        // The snapshot never holds the token itself, only its claims.
        if let Some(token) = &world_from(&s.snapshot()).token {
            let sig = token.rsplit('.').next().expect("sig");
            for f in walk(&out_dir) {
                assert!(
                    !fs::read_to_string(&f).unwrap_or_default().contains(sig),
                    "{}: {} holds the token",
                    s.name,
                    f.display()
                );
            }
        }
        let (live_code, live) = run(&live_args(&s, &kc, &["-o", "json"]));
        let mut snap_args = live_args(&s, &kc, &[]);
        snap_args.truncate(snap_args.len() - 3);
        snap_args.extend([
            "--snapshot".into(),
            out_dir.display().to_string(),
            "-o".into(),
            "json".into(),
        ]);
        let (snap_code, snap) = run(&snap_args);
        assert_eq!(live_code, snap_code, "{}", s.name);
        assert_eq!(shape(&live), shape(&snap), "{}", s.name);
        // The same report, word for word: only where the input came from differs.
        let strip = |mut r: Value| {
            r["input"] = Value::Null;
            r
        };
        assert_eq!(strip(live.clone()), strip(snap.clone()), "{}", s.name);
        assert_eq!(
            live["unreadable"], snap["unreadable"],
            "{}: the manifest carries the refusals",
            s.name
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// A fake API server serving the scenario, a temp dir, and a kubeconfig for it.
fn start(s: &Scenario, b: Behaviour) -> (FakeKube, tempfile::TempDir, std::path::PathBuf) {
    let fake = FakeKube::start(world_from(&s.snapshot()), b);
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = fake.kubeconfig(tmp.path(), "default");
    (fake, tmp, kc)
}

#[test]
fn every_refused_read_is_unknown_and_names_the_permission() {
    let s = common::healthy();
    // (resource, verb, exit code, the can-i the report must name)
    let cases: &[(&str, &str, i32, &str)] = &[
        (
            "deployments",
            "get",
            4,
            "kubectl auth can-i get deployments/checkout-api -n payments",
        ),
        ("pods", "list", 4, "kubectl auth can-i list pods -n payments"),
        (
            "replicasets",
            "list",
            4,
            "kubectl auth can-i list replicasets -n payments",
        ),
        (
            "serviceaccounts",
            "list",
            4,
            "kubectl auth can-i list serviceaccounts -n payments",
        ),
        ("namespaces", "get", 4, "kubectl auth can-i get namespaces/payments"),
        (
            "mutatingwebhookconfigurations",
            "list",
            4,
            "kubectl auth can-i list mutatingwebhookconfigurations",
        ),
        ("events", "list", 4, "kubectl auth can-i list events -n payments"),
        (
            "deployments",
            "get",
            4,
            "kubectl auth can-i get deployments/checkout-api -n payments",
        ),
        (
            "nodes",
            "get",
            4,
            "kubectl auth can-i get nodes/aks-system-28514963-vmss000001",
        ),
        (
            "serviceaccounts/token",
            "create",
            4,
            "kubectl auth can-i create serviceaccounts/token -n payments",
        ),
        ("/openid/v1/jwks", "get", 4, "kubectl auth can-i get /openid/v1/jwks"),
        (
            "/.well-known/openid-configuration",
            "get",
            4,
            "kubectl auth can-i get /.well-known/openid-configuration",
        ),
    ];
    for (resource, verb, code, can_i) in cases {
        let b = Behaviour {
            forbid: BTreeSet::from([(resource.to_string(), verb.to_string())]),
            ..Default::default()
        };
        let (_fake, _tmp, kc) = start(&s, b);
        let (exit, report) = run(&live_args(&s, &kc, &["-o", "json"]));
        // Live runs have no Azure facts yet (exit 4 at best); what matters: never a false
        // failure, never a pass, and the permission named.
        assert_eq!(exit, Some(*code), "403 on {verb} {resource}: {}", report["links"]);
        assert_ne!(
            report["verdict"], "fail",
            "403 on {verb} {resource}: a refused read must not produce a failure"
        );
        let text = report.to_string();
        assert!(
            text.contains(can_i),
            "403 on {verb} {resource}: the report does not name {can_i:?}"
        );
        assert!(
            report["unreadable"].as_array().is_some_and(|u| !u.is_empty()),
            "403 on {verb} {resource}: not listed as unreadable"
        );
        assert_ne!(
            report["verdict"], "pass",
            "403 on {verb} {resource}: a refused read must not be a clean pass"
        );
    }
}

#[test]
fn a_missing_target_exits_3_and_a_forbidden_one_4() {
    let s = common::healthy();
    let (_fake, _tmp, kc) = start(&s, Behaviour::default());
    let out = wi(&[
        "doctor",
        "deploy/nope",
        "-n",
        "payments",
        "--kubeconfig",
        kc.to_str().expect("p"),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("deployment \"nope\" not found"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn namespace_defaults_to_the_context() {
    let s = common::healthy();
    let fake = FakeKube::start(world_from(&s.snapshot()), Behaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = fake.kubeconfig(tmp.path(), "payments");
    let out = wi(&[
        "doctor",
        "deploy/checkout-api",
        "--at",
        "2026-03-10T09:20:00Z",
        "--kubeconfig",
        kc.to_str().expect("p"),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["target"]["namespace"], "payments");
    // Kubernetes links pass; the Azure side is unknown live until it is collected (exit 4).
    assert_eq!(v["links"][0]["status"], "pass", "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
}

#[test]
fn lists_are_paged_with_continue() {
    let s = common::healthy();
    let (fake, _tmp, kc) = start(
        &s,
        Behaviour {
            page: Some(1),
            ..Default::default()
        },
    );
    let (exit, report) = run(&live_args(&s, &kc, &["-o", "json"]));
    assert_eq!(exit, Some(4), "{}", report["links"]);
    assert_eq!(
        report["links"][0]["status"], "pass",
        "every page was read: {}",
        report["links"]
    );
    assert!(
        fake.requests().iter().any(|(_, p)| p.contains("continue=")),
        "no paged request"
    );
}

#[test]
fn a_slow_server_still_finishes_within_the_request_timeout() {
    let s = common::healthy();
    let b = Behaviour {
        latency: Duration::from_millis(2000),
        ..Default::default()
    };
    let (_fake, _tmp, kc) = start(&s, b);
    let (exit, report) = run(&live_args(&s, &kc, &["-o", "json", "--request-timeout", "200ms"]));
    assert_eq!(
        exit,
        Some(4),
        "every read timed out: incomplete, not failed: {}",
        report["links"]
    );
    assert!(
        report["unreadable"].to_string().contains("timed out after 200ms"),
        "{}",
        report["unreadable"]
    );
}

#[test]
fn no_token_request_skips_the_post() {
    let s = common::healthy();
    let (fake, _tmp, kc) = start(&s, Behaviour::default());
    let (exit, report) = run(&live_args(&s, &kc, &["-o", "json", "--no-token-request"]));
    assert!(fake.requests().iter().all(|(m, _)| m == "GET"), "{:?}", fake.requests());
    assert_eq!(exit, Some(4), "{}", report["links"]);
    assert!(report.to_string().contains("--no-token-request"));
}

#[test]
fn redacted_collections_hide_names_and_diagnose_the_same() {
    for name in [
        "healthy-aks-keyvault-rbac",
        "fic-subject-case",
        "sa-pods-predate-label",
        "healthy-cronjob-v16",
    ] {
        let s = scenarios().into_iter().find(|s| s.name == name).expect("scenario");
        let (_fake, tmp, kc) = start(&s, Behaviour::default());
        let args = live_args(&s, &kc, &[]);
        let (target, ns) = (args[1].clone(), args[3].clone());
        let plain = tmp.path().join("plain");
        let red = tmp.path().join("redacted");
        for (dir, extra) in [(&plain, None), (&red, Some("--redact"))] {
            let mut a = vec![
                "collect",
                &target,
                "-n",
                &ns,
                "--output-dir",
                dir.to_str().expect("p"),
                "--kubeconfig",
                kc.to_str().expect("p"),
                "--no-azure",
            ];
            a.extend(extra);
            let o = wi(&a);
            assert_eq!(o.status.code(), Some(0), "{name}: {}", common::stderr(&o));
        }
        // Nothing that names the workload, its namespace, or a GUID of the estate survives.
        let text: String = walk(&red)
            .iter()
            .map(|f| fs::read_to_string(f).unwrap_or_default())
            .collect();
        for secret in [
            "payments",
            "checkout-api",
            "ledger-sync",
            "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e",
            "2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f",
            "4c5d6e7f-8091-4a2b-b3c4-d5e6f7a8b9c0",
            "contosoacr", // the private registry in every image reference
        ] {
            assert!(!text.contains(secret), "{name}: {secret:?} survives redaction");
        }
        // The pseudonymised target, from the manifest.
        let manifest: Value =
            serde_yaml_ng::from_str(&fs::read_to_string(red.join("wi-snapshot.yaml")).expect("manifest"))
                .expect("yaml");
        let rt = manifest["target"].clone();
        let short = target.split('/').next().expect("kind");
        let rtarget = format!("{short}/{}", rt["name"].as_str().expect("name"));
        let rns = rt["namespace"].as_str().expect("ns").to_string();
        assert_ne!(rns, ns);
        let doctor = |dir: &Path, t: &str, n: &str| {
            run(&[
                "doctor".into(),
                t.into(),
                "-n".into(),
                n.into(),
                "--at".into(),
                "2026-03-10T09:20:00Z".into(),
                "--snapshot".into(),
                dir.display().to_string(),
                "-o".into(),
                "json".into(),
            ])
        };
        let (c1, r1) = doctor(&plain, &target, &ns);
        let (c2, r2) = doctor(&red, &rtarget, &rns);
        assert_eq!(c1, c2, "{name}");
        let statuses = |r: &Value| -> Vec<(Value, Value)> {
            r["findings"]
                .as_array()
                .expect("f")
                .iter()
                .map(|f| (f["rule"].clone(), f["status"].clone()))
                .collect()
        };
        assert_eq!(r1["links"], r2["links"], "{name}");
        assert_eq!(statuses(&r1), statuses(&r2), "{name}");
    }
}

#[test]
fn impersonation_and_exec_credential_plugins_work_as_for_kubectl() {
    let s = common::healthy();
    let (fake, tmp, kc) = start(&s, Behaviour::default());
    let (_, report) = run(&live_args(
        &s,
        &kc,
        &["-o", "json", "--as", "oncall@contoso.com", "--as-group", "sre"],
    ));
    assert_eq!(report["links"][0]["status"], "pass", "{}", report["links"]);
    let all = fake.seen_headers();
    assert!(!all.is_empty());
    for h in &all {
        assert!(
            h.contains(&("impersonate-user".into(), "oncall@contoso.com".into())),
            "{h:?}"
        );
        assert!(h.contains(&("impersonate-group".into(), "sre".into())), "{h:?}");
    }

    let fake = FakeKube::start(world_from(&s.snapshot()), Behaviour::default());
    let kc = fake.exec_kubeconfig(tmp.path(), "from-the-plugin");
    let (_, report) = run(&live_args(&s, &kc, &["-o", "json"]));
    assert_eq!(report["links"][0]["status"], "pass", "{}", report["links"]);
    assert!(
        fake.seen_headers()
            .iter()
            .all(|h| h.contains(&("authorization".into(), "Bearer from-the-plugin".into())))
    );
}

#[test]
fn refused_reads_of_other_workload_kinds() {
    // (scenario, resource, verb): the target's own kind, and the lists that attribute its pods.
    let cases = [
        ("healthy-cronjob-v16", "cronjobs", "get"),
        ("healthy-cronjob-v16", "jobs", "list"),
        ("healthy-statefulset", "statefulsets", "get"),
        ("healthy-daemonset", "daemonsets", "get"),
        ("healthy-job", "jobs", "get"),
        ("healthy-replicaset-target", "replicasets", "get"),
        ("healthy-pod-target-inferred-vault", "pods", "get"),
    ];
    for (name, resource, verb) in cases {
        let s = scenarios().into_iter().find(|s| s.name == name).expect("scenario");
        let b = Behaviour {
            forbid: BTreeSet::from([(resource.to_string(), verb.to_string())]),
            ..Default::default()
        };
        let (_fake, _tmp, kc) = start(&s, b);
        let (exit, report) = run(&live_args(&s, &kc, &["-o", "json"]));
        assert_eq!(exit, Some(4), "{name}: 403 on {verb} {resource}: {}", report["links"]);
        assert_ne!(report["verdict"], "fail", "{name}: 403 on {verb} {resource}");
        let can_i = format!("kubectl auth can-i {verb} {resource}");
        assert!(
            report["unreadable"].to_string().contains(&can_i),
            "{name}: {can_i:?} not named: {}",
            report["unreadable"]
        );
    }
}

#[test]
fn a_webhook_installed_in_its_own_namespace_is_found_through_its_configuration() {
    // A Helm release in namespace "azwi": the MutatingWebhookConfiguration's service names it.
    let s = common::scenario("sa-webhook-no-ready-replicas");
    let mut world = world_from(&s.snapshot());
    for o in world.objects.iter_mut() {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        if kind == "MutatingWebhookConfiguration" {
            for w in o["webhooks"].as_array_mut().into_iter().flatten() {
                w["clientConfig"]["service"]["namespace"] = "azwi".into();
            }
        }
        if kind == "Deployment" && o["metadata"]["name"] == "azure-wi-webhook-controller-manager" {
            o["metadata"]["namespace"] = "azwi".into();
        }
    }
    let fake = FakeKube::start(world, Behaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = fake.kubeconfig(tmp.path(), "default");
    let (code, r) = run(&live_args(&s, &kc, &["-o", "json"]));
    let f = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "WI104")
        .expect("WI104")
        .clone();
    // The same verdict as with the webhook in kube-system: found, and not ready.
    assert_eq!(f["status"], "fail", "{f}");
    assert!(f.to_string().contains("azwi"), "{f}");
    assert_eq!(code, Some(1));
    assert!(
        fake.requests()
            .iter()
            .any(|(_, p)| p == "/apis/apps/v1/namespaces/azwi/deployments/azure-wi-webhook-controller-manager"),
        "{:?}",
        fake.requests()
    );
}
