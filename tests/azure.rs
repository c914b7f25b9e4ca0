//! `wi doctor` with live Azure: the real HTTP client against in-process fake ARM and Graph
//! servers (and the fake Kubernetes API server), for the whole corpus and under refusals,
//! paging and throttling.

mod common;

use std::path::Path;
use std::process::Command;

use common::fake_azure::{AzureBehaviour, FakeAzure, cluster_id};
use common::fake_kube::{Behaviour, FakeKube, world_from};
use common::{Scenario, scenarios};
use serde_json::Value;

struct Live {
    _kube: FakeKube,
    azure: FakeAzure,
    _tmp: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

fn start(s: &Scenario, b: AzureBehaviour) -> Live {
    let kube = FakeKube::start(world_from(&s.snapshot()), Behaviour::default());
    let azure = FakeAzure::start(&s.snapshot(), b);
    let tmp = tempfile::tempdir().expect("tmp");
    let kubeconfig = kube.kubeconfig(tmp.path(), "default");
    Live {
        _kube: kube,
        azure,
        _tmp: tmp,
        kubeconfig,
    }
}

/// `wi ARGS` against the fakes: the kubeconfig, the scenario's cluster, the Azure endpoints.
fn wi_live(live: &Live, s: &Scenario, mut args: Vec<String>) -> std::process::Output {
    args.extend(["--kubeconfig".into(), live.kubeconfig.display().to_string()]);
    if let Some(c) = cluster_id(&s.snapshot()) {
        args.extend(["--cluster".into(), c]);
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    cmd.args(&args).env_remove("AZURE_SUBSCRIPTION_ID");
    for (k, v) in live.azure.env() {
        cmd.env(k, v);
    }
    cmd.output().expect("run wi")
}

fn run(live: &Live, s: &Scenario, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = s.case_args();
    args.extend(["-o".into(), "json".into()]);
    args.extend(extra.iter().map(|e| e.to_string()));
    let out = wi_live(live, s, args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: no JSON ({e}): {}", s.name, String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

fn snapshot_run(s: &Scenario) -> (Option<i32>, Value) {
    let out = s.run(&["-o", "json"]);
    (out.status.code(), serde_json::from_slice(&out.stdout).expect("json"))
}

fn statuses(r: &Value) -> Value {
    let f: Vec<Value> = r["findings"]
        .as_array()
        .expect("f")
        .iter()
        .map(|f| serde_json::json!([f["rule"], f["status"]]))
        .collect();
    serde_json::json!({"verdict": r["verdict"], "links": r["links"].as_array().expect("l").iter().map(|l| l["status"].clone()).collect::<Vec<_>>(), "findings": f})
}

#[test]
fn live_azure_equals_the_snapshot_for_the_whole_corpus() {
    let mut problems = Vec::new();
    for s in scenarios() {
        let live = start(&s, AzureBehaviour::default());
        let (lc, l) = run(&live, &s, &[]);
        let (sc, r) = snapshot_run(&s);
        let (a, b) = (statuses(&l), statuses(&r));
        if lc != sc || a != b {
            let diff: Vec<String> = a["findings"]
                .as_array()
                .expect("f")
                .iter()
                .zip(b["findings"].as_array().expect("f"))
                .filter(|(x, y)| x != y)
                .map(|(x, y)| format!("live {x} snapshot {y}"))
                .collect();
            problems.push(format!(
                "{}: exit {lc:?}/{sc:?} links {} vs {}; {diff:?}; unreadable {}",
                s.name, a["links"], b["links"], l["unreadable"]
            ));
        }
        // Read-only, and each object fetched once.
        let reqs = live.azure.requests();
        let mut seen = std::collections::BTreeSet::new();
        for (m, u) in &reqs {
            if m != "GET" {
                problems.push(format!("{}: wi sent {m} {u}", s.name));
            }
            if !seen.insert(u.clone()) {
                problems.push(format!("{}: fetched twice: {u}", s.name));
            }
        }
    }
    common::assert_no_problems(&problems);
}

#[test]
fn graph_forbidden_falls_back_to_listing_managed_identities() {
    let s = common::healthy();
    let live = start(
        &s,
        AzureBehaviour {
            forbid_graph: true,
            ..Default::default()
        },
    );
    let (code, r) = run(&live, &s, &[]);
    assert_eq!(r["links"][2]["status"], "pass", "{}", r["links"]);
    assert_eq!(r["links"][3]["status"], "pass", "{}", r["links"]);
    // The ARM listing answered what Graph would have: the chain is fully checked.
    assert_eq!(code, Some(0), "{}", r["unreadable"]);
    assert!(
        live.azure
            .requests()
            .iter()
            .any(|(_, u)| u.contains("userAssignedIdentities?")),
        "no ARM fallback"
    );
}

#[test]
fn role_assignments_are_paged() {
    let s = common::scenario("rbac-owner-at-subscription");
    let live = start(
        &s,
        AzureBehaviour {
            page: Some(1),
            ..Default::default()
        },
    );
    let (_, r) = run(&live, &s, &[]);
    let (_, snap) = snapshot_run(&s);
    assert_eq!(statuses(&r), statuses(&snap));
    assert!(
        live.azure.requests().iter().any(|(_, u)| u.contains("skiptoken")),
        "no second page"
    );
}

#[test]
fn throttling_that_recovers_is_invisible() {
    let s = common::healthy();
    let live = start(
        &s,
        AzureBehaviour {
            throttle_first: 3,
            retry_after: 0.2,
            ..Default::default()
        },
    );
    let (_, r) = run(&live, &s, &[]);
    let (_, snap) = snapshot_run(&s);
    assert_eq!(statuses(&r), statuses(&snap));
}

#[test]
fn throttling_that_exhausts_the_deadline_is_unknown() {
    let s = common::healthy();
    let live = start(
        &s,
        AzureBehaviour {
            throttle_always: true,
            retry_after: 0.3,
            ..Default::default()
        },
    );
    let (code, r) = run(&live, &s, &["--request-timeout", "200ms"]);
    assert_eq!(code, Some(4), "{}", r["links"]);
    assert!(r["unreadable"].to_string().contains("throttled"), "{}", r["unreadable"]);
    assert_ne!(r["verdict"], "fail");
}

#[test]
fn no_credentials_is_unknown_not_a_crash() {
    let s = common::healthy();
    let kube = FakeKube::start(world_from(&s.snapshot()), Behaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = kube.kubeconfig(tmp.path(), "default");
    let out = common::sealed(&mut Command::new(env!("CARGO_BIN_EXE_wi")))
        .args([
            "doctor",
            "deploy/checkout-api",
            "-n",
            "payments",
            "--at",
            "2026-03-10T09:20:00Z",
            "--kubeconfig",
            kc.to_str().expect("p"),
            "-o",
            "json",
        ])
        .env_remove("WI_ARM_TOKEN")
        .env_remove("WI_GRAPH_TOKEN")
        .env("WI_ARM_ENDPOINT", "http://127.0.0.1:9")
        .env("WI_GRAPH_ENDPOINT", "http://127.0.0.1:9")
        .env("PATH", "/nonexistent")
        .env("AZURE_CONFIG_DIR", tmp.path())
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let failing: Vec<&Value> = v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .filter(|f| f["status"] == "fail")
        .collect();
    assert_eq!(out.status.code(), Some(4), "{failing:?}");
    assert!(v["unreadable"].to_string().contains("az login"), "{}", v["unreadable"]);
}

#[allow(dead_code)]
fn unused(_: &Path) {}

/// `wi collect` with Azure; returns the directory written.
fn collect(live: &Live, s: &Scenario, dir: &Path, redact: bool) {
    let args = s.case_args();
    let mut a: Vec<String> = vec![
        "collect".into(),
        args[1].clone(),
        "-n".into(),
        args[3].clone(),
        "--output-dir".into(),
        dir.display().to_string(),
    ];
    if let Some(i) = args.iter().position(|x| x == "--scope") {
        a.extend(["--scope".into(), args[i + 1].clone()]);
    }
    if redact {
        a.push("--redact".into());
    }
    let out = wi_live(live, s, a);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        s.name,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn collect_with_azure_then_doctor_snapshot_equals_live() {
    for name in [
        "healthy-aks-keyvault-rbac",
        "healthy-app-registration",
        "healthy-keyvault-access-policy",
        "fic-subject-case",
        "rbac-control-plane-role-only",
        "healthy-arc-storage",
    ] {
        let s = common::scenario(name);
        let live = start(&s, AzureBehaviour::default());
        let (lc, l) = run(&live, &s, &[]);
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("snap");
        collect(&live, &s, &dir, false);
        let mut args: Vec<String> = s.case_args();
        args.extend([
            "--snapshot".into(),
            dir.display().to_string(),
            "-o".into(),
            "json".into(),
        ]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::wi(&refs);
        let r: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(lc, out.status.code(), "{name}");
        assert_eq!(statuses(&l), statuses(&r), "{name}");
    }
}

#[test]
fn redacted_collections_hide_azure_names_too() {
    let s = common::healthy();
    let live = start(&s, AzureBehaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("red");
    collect(&live, &s, &dir, true);
    let mut text = String::new();
    for e in walkdir(&dir) {
        text.push_str(&std::fs::read_to_string(e).unwrap_or_default());
    }
    for secret in [
        "id-payments-checkout",
        "rg-payments-identity",
        "kv-payments-weu",
        "aks-payments-weu",
        "rg-payments-prod",
        "checkout-api-aks-weu",
        "6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f",
        "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
    ] {
        assert!(!text.contains(secret), "{secret:?} survives redaction");
    }
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn subscription_from_the_az_cli_and_cluster_from_the_nodes() {
    // No --cluster, no --scope, no AZURE_SUBSCRIPTION_ID: the subscription comes from `az account
    // show`, the cluster from the nodes' providerID and their resource group's managedBy.
    let s = common::scenario("healthy-pod-target-inferred-vault");
    let mut world = world_from(&s.snapshot());
    world.objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "aks-system-28514963-vmss000001", "labels": {"kubernetes.io/os": "linux"}},
        "spec": {"providerID": "azure:///subscriptions/6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f/resourceGroups/MC_rg-payments-aks_aks-payments-weu_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-system-28514963-vmss/virtualMachines/1"}}));
    let kube = FakeKube::start(world, Behaviour::default());
    let azure = FakeAzure::start(&s.snapshot(), AzureBehaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = kube.kubeconfig(tmp.path(), "default");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let az = bin.join("az");
    std::fs::write(&az, "#!/bin/sh\necho 6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f\n").expect("az");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&az)
        .status()
        .expect("chmod");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    cmd.args([
        "doctor",
        &format!("pod/{}", "checkout-api-7d9f8c6b5-x2k4q"),
        "-n",
        "payments",
        "--at",
        "2026-03-10T09:20:00Z",
        "--kubeconfig",
        kc.to_str().expect("p"),
        "-o",
        "json",
    ])
    .env_remove("AZURE_SUBSCRIPTION_ID")
    .env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
    );
    for (k, v) in azure.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(out.status.code(), Some(0), "{} {}", r["links"], r["unreadable"]);
    let reqs: Vec<String> = azure.requests().into_iter().map(|(_, u)| u).collect();
    assert!(
        reqs.iter().any(|u| u.contains("/resourceGroups/MC_")),
        "no node resource group read: {reqs:?}"
    );
    assert!(
        reqs.iter().any(|u| u.contains("/providers/Microsoft.KeyVault/vaults?")),
        "the vault was not found by name: {reqs:?}"
    );
}

#[test]
fn a_refused_role_assignment_read_is_unknown_and_names_reader() {
    let s = common::healthy();
    let live = start(
        &s,
        AzureBehaviour {
            forbid_arm: Some("roleAssignments"),
            ..Default::default()
        },
    );
    let (code, r) = run(&live, &s, &[]);
    assert_eq!(code, Some(4), "{}", r["links"]);
    assert_eq!(r["links"][3]["status"], "unknown", "{}", r["links"]);
    assert!(r.to_string().contains("az role assignment create --assignee <you> --role Reader --scope /subscriptions/6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f"), "{}", r["unreadable"]);
    assert!(
        r["unreadable"].to_string().contains("AuthorizationFailed"),
        "{}",
        r["unreadable"]
    );
}
