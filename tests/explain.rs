//! `wi explain "<error text>"`: every signature of the catalog recognises its own example,
//! values embedded in messages are extracted, unknown text is an honest "not recognised", and
//! `--logs` reads a pod's logs through the API server.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use common::fake_kube::{Behaviour, FakeKube, world_from};
use serde_json::Value;

fn explain_json(text: &str) -> Value {
    let out = common::wi(&["explain", text, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn every_signature_recognises_its_example() {
    let catalog = wi::explain::catalog();
    assert!(catalog.len() >= 25, "catalog has {} entries", catalog.len());
    let mut ids = BTreeSet::new();
    let links = [
        "service-account",
        "issuer",
        "federated-credential",
        "role-assignment",
        "none",
    ];
    for s in &catalog {
        assert!(ids.insert(s.id.clone()), "duplicate id {}", s.id);
        assert!(links.contains(&s.link.as_str()), "{}: link {}", s.id, s.link);
        assert_eq!(
            s.causes.len(),
            s.confirm.len(),
            "{}: every cause needs its confirming fact",
            s.id
        );
        assert!(!s.causes.is_empty(), "{}", s.id);
        let e = wi::explain::explain(&s.example);
        assert!(
            e.matches.iter().any(|m| m.signature == s.id),
            "{}: its example is not recognised: {:?}",
            s.id,
            e.matches.iter().map(|m| &m.signature).collect::<Vec<_>>()
        );
        if let Some(code) = &s.code {
            assert!(e.matches.iter().any(|m| m.code.as_deref() == Some(code)), "{}", s.id);
        }
    }
    // The codes the issue names are all there.
    for code in [
        "AADSTS70021",
        "AADSTS700211",
        "AADSTS700212",
        "AADSTS700213",
        "AADSTS7002138",
        "AADSTS700016",
        "AADSTS700024",
        "AADSTS70023",
        "AADSTS50166",
        "AADSTS501661",
        "AADSTS90061",
        "AADSTS90002",
        "AADSTS900023",
        "AADSTS7000229",
        "AADSTS700223",
        "AADSTS700231",
    ] {
        assert!(
            catalog.iter().any(|s| s.code.as_deref() == Some(code)),
            "{code} missing"
        );
    }
}

#[test]
fn the_longer_code_wins() {
    let v = explain_json(
        "AADSTS7002138: No matching federated identity record found for presented assertion subject 'system:serviceaccount:payments:Checkout-API'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison.",
    );
    let codes: Vec<&str> = v["matches"]
        .as_array()
        .expect("m")
        .iter()
        .filter_map(|m| m["code"].as_str())
        .collect();
    assert!(codes.contains(&"AADSTS7002138"), "{codes:?}");
    assert!(
        !codes.contains(&"AADSTS700213"),
        "the shorter code must not match inside the longer: {codes:?}"
    );
}

#[test]
fn values_in_the_message_are_extracted() {
    let v = explain_json(
        "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://westeurope.oic.prod-aks.azure.com/2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f/4c5d6e7f-8091-4a2b-b3c4-d5e6f7a8b9c0'. Assertion Subject: 'system:serviceaccount:payments:checkout-api'. Assertion Audience: 'api://AzureADTokenExchange'.",
    );
    let m = &v["matches"][0];
    assert_eq!(m["code"], "AADSTS70021");
    assert_eq!(m["link"], "federated-credential");
    assert_eq!(m["extracted"]["subject"], "system:serviceaccount:payments:checkout-api");
    assert_eq!(m["extracted"]["audience"], "api://AzureADTokenExchange");
    assert!(
        m["extracted"]["issuer"]
            .as_str()
            .expect("issuer")
            .ends_with("d5e6f7a8b9c0")
    );
    assert!(m["extracted"].get("scope").is_none(), "only present keys");
    assert!(m["next"].as_str().expect("next").starts_with("wi doctor "));
    assert!(m["causes"][0]["cause"].is_string() && m["causes"][0]["confirm"].is_string());
}

#[test]
fn unrecognised_text_is_said_so_with_exit_0() {
    let v = explain_json("panic: runtime error: index out of range [3] with length 3");
    assert_eq!(v["matches"], serde_json::json!([]));
    let out = common::wi(&["explain", "connection reset by peer"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        common::stdout(&out).contains("not recognised"),
        "{}",
        common::stdout(&out)
    );
    assert!(common::stdout(&out).contains("wi doctor"));
}

#[test]
fn text_from_stdin() {
    let mut child = common::sealed(&mut Command::new(env!("CARGO_BIN_EXE_wi")))
        .args(["explain", "-", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"2026/03/10 09:20:01 DefaultAzureCredential: failed to acquire a token.\nWorkloadIdentityCredential: no client ID specified. Check pod configuration or set ClientID in the options\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["matches"][0]["link"], "service-account", "{v}");
}

#[test]
fn bad_explain_usage_is_named() {
    let out = common::wi(&["explain"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("wi explain needs"),
        "{}",
        common::stderr(&out)
    );
    let out = common::wi(&["explain", "  "]);
    assert_eq!(out.status.code(), Some(2));
    let out = common::wi(&["explain", "WI999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn logs_of_a_pod_are_read_through_the_api_server() {
    let s = common::healthy();
    let mut world = world_from(&s.snapshot());
    world.logs = Some("info: starting\nerror: ManagedIdentityCredential: Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request\n".into());
    let fake = FakeKube::start(world, Behaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = fake.kubeconfig(tmp.path(), "payments");
    let out = common::wi(&[
        "explain",
        "--logs",
        "pod/checkout-api-7d9f8c6b5-x2k4q",
        "--kubeconfig",
        kc.to_str().expect("p"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(!v["matches"].as_array().expect("m").is_empty(), "{v}");
    assert!(
        fake.requests()
            .iter()
            .any(|(_, p)| p.contains("/pods/checkout-api-7d9f8c6b5-x2k4q/log")),
        "{:?}",
        fake.requests()
    );
}

#[test]
fn doctor_logs_attach_matches_to_the_links_they_implicate_and_scrub_tokens() {
    let s = common::healthy();
    let mut world = world_from(&s.snapshot());
    let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cGF5bWVudHM6Y2hlY2tvdXQtYXBpIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    world.logs = Some(format!(
        "info: starting\n\
         error: AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://a/'. Assertion Subject: 'system:serviceaccount:payments:checkout-api'. Assertion Audience: 'api://AzureADTokenExchange'.\n\
         debug: client_assertion={jwt}\n\
         error: AADSTS70021: No matching federated identity record found for presented assertion (retry 2) token={jwt}\n\
         error: Key Vault returned 403 ForbiddenByRbac: Caller is not authorized to perform action on resource.\n"
    ));
    let fake = FakeKube::start(world, Behaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = fake.kubeconfig(tmp.path(), "payments");
    let args = [
        "doctor",
        "deploy/checkout-api",
        "-n",
        "payments",
        "--at",
        "2026-03-10T09:20:00Z",
        "--no-azure",
        "--logs",
        "--kubeconfig",
        kc.to_str().expect("p"),
    ];
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json"]);
    let out = common::wi(&json_args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::stderr(&out)));
    let link = |name: &str| {
        v["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["link"] == name)
            .expect("link")
            .clone()
    };
    let fic = link("federated-credential");
    let ev = fic["log_evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("no log evidence: {} {}", v["logs"], common::stderr(&out)));
    assert_eq!(ev.len(), 1, "{fic}");
    assert!(
        ev[0]["source"].as_str().expect("s").contains("AADSTS70021 ×2"),
        "{ev:?}"
    );
    assert!(
        ev[0]["observed"].as_str().expect("o").contains("<token redacted>"),
        "{ev:?}"
    );
    let rbac = link("role-assignment");
    assert!(
        rbac["log_evidence"][0]["source"]
            .as_str()
            .expect("s")
            .contains("ForbiddenByRbac"),
        "{rbac}"
    );
    assert!(link("issuer").get("log_evidence").is_none());
    assert_eq!(v["logs"][0]["pod"], "checkout-api-7d9f8c6b5-x2k4q");
    let table = common::wi(&args);
    for o in [&out, &table] {
        let all = format!("{}{}", common::stdout(o), common::stderr(o));
        assert!(!all.contains("eyJhbGci"), "a token from the logs reached the output");
    }
    assert!(
        common::stdout(&table).contains("AADSTS70021 ×2 → federated-credential link"),
        "{}",
        common::stdout(&table)
    );
}

#[test]
fn doctor_logs_needs_a_cluster() {
    let s = common::healthy();
    let args = s.args(&["--logs"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::wi(&refs);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("--logs"), "{}", common::stderr(&out));
}

#[test]
fn a_restarted_container_is_read_from_its_previous_instance_too() {
    // In a crash loop the error is in the container that died.
    let s = common::healthy();
    let mut world = world_from(&s.snapshot());
    for o in world.objects.iter_mut().filter(|o| o["kind"] == "Pod") {
        o["status"]["containerStatuses"] = serde_json::json!([
            {"name": o["spec"]["containers"][0]["name"], "restartCount": 4, "ready": false, "image": "x", "imageID": "", "started": false}
        ]);
    }
    world.logs =
        Some("error: AADSTS70021: No matching federated identity record found for presented assertion.\n".into());
    let fake = FakeKube::start(world, Behaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = fake.kubeconfig(tmp.path(), "payments");
    let out = common::wi(&[
        "explain",
        "--logs",
        "pod/checkout-api-7d9f8c6b5-x2k4q",
        "--kubeconfig",
        kc.to_str().expect("p"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let logs: Vec<String> = fake
        .requests()
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| p.contains("/pods/checkout-api-7d9f8c6b5-x2k4q/log"))
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(logs.iter().any(|p| p.contains("previous=true")), "{logs:?}");
}
