//! The command line as users meet it: bad input gets a clear error naming the file, field or
//! flag and the documented exit code; output formats and colour behave.

mod common;

use std::fs;

use common::{stderr, stdout, wi};

fn snap_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    for (p, text) in files {
        let path = d.path().join(p);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    d
}

/// `wi doctor ARGS… --snapshot D`.
fn doctor(d: &tempfile::TempDir, args: &[&str]) -> std::process::Output {
    let mut a = vec!["doctor"];
    a.extend_from_slice(args);
    a.push("--snapshot");
    a.push(d.path().to_str().expect("utf-8 temp path"));
    wi(&a)
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: nginx\n";

#[test]
fn demo_fails_the_federated_credential_link() {
    let out = wi(&["demo", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("WI303"), "{text}");
    assert!(text.contains("system:serviceaccount:inventroy:stock-api"));
    assert!(text.contains("az identity federated-credential update --name kubernetes-federated-credential"));
    insta::with_settings!({snapshot_path => "../snapshots/cli", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("demo-table", text);
    });
    let json = wi(&["demo", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["target"]["kind"], "Deployment");
    let links: Vec<&str> = v["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| l["link"].as_str().expect("l"))
        .collect();
    assert_eq!(
        links,
        ["service-account", "issuer", "federated-credential", "role-assignment"]
    );
}

#[test]
fn colour_follows_the_flag() {
    let always = stdout(&wi(&["demo", "--color", "always"]));
    assert!(always.contains("\u{1b}["), "no ANSI escapes with --color always");
    let never = stdout(&wi(&["demo", "--color", "never"]));
    assert!(!never.contains("\u{1b}["));
    // auto: stdout is a pipe here, so no colour.
    assert!(!stdout(&wi(&["demo"])).contains("\u{1b}["));
}

#[test]
fn report_on_stdout_diagnostics_on_stderr() {
    let s = &common::scenarios()[0];
    let out = s.run(&["-o", "json", "-v"]);
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("stdout is exactly the JSON report");
    assert!(stderr(&out).contains("read "), "-v lists the files on stderr");
}

#[test]
fn help_and_version_exit_zero() {
    assert_eq!(wi(&["--help"]).status.code(), Some(0));
    assert_eq!(wi(&["--version"]).status.code(), Some(0));
    assert!(stdout(&wi(&["doctor", "--help"])).contains("--snapshot"));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = wi(&["doctor", "pod/x", "--snapshott", "d"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--snapshott"), "{}", stderr(&out));
}

#[test]
fn unknown_target_type_is_a_usage_error() {
    let d = snap_dir(&[("pod.yaml", POD)]);
    let out = doctor(&d, &["svc/web", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown resource type \"svc\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_names_and_flags_are_named() {
    let d = snap_dir(&[("pod.yaml", POD)]);
    let p = d.path().to_str().expect("p");
    for (args, needle) in [
        (
            vec!["doctor", "pod/Web", "--snapshot", p],
            "not a valid Kubernetes object name",
        ),
        (
            vec!["doctor", "pod/web", "-n", "Shop", "--snapshot", p],
            "--namespace \"Shop\"",
        ),
        (
            vec!["doctor", "pod/web", "-n", "shop", "--at", "yesterday", "--snapshot", p],
            "--at \"yesterday\"",
        ),
        (
            vec![
                "doctor",
                "pod/web",
                "-n",
                "shop",
                "--scope",
                "kv-payments",
                "--snapshot",
                p,
            ],
            "--scope \"kv-payments\"",
        ),
        (
            vec![
                "doctor",
                "pod/web",
                "-n",
                "shop",
                "--data-action",
                "read",
                "--snapshot",
                p,
            ],
            "--data-action \"read\"",
        ),
        (
            vec![
                "doctor",
                "pod/web",
                "-n",
                "shop",
                "--kubeconfig",
                "/nonexistent/kubeconfig",
            ],
            "--kubeconfig /nonexistent/kubeconfig",
        ),
        (
            vec![
                "doctor",
                "pod/web",
                "-n",
                "shop",
                "--request-timeout",
                "soon",
                "--kubeconfig",
                "/nonexistent/kubeconfig",
            ],
            "--request-timeout \"soon\"",
        ),
        (vec!["explain", "WI999"], "no rule \"WI999\""),
    ] {
        let out = wi(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = stderr(&out);
        assert!(e.starts_with("wi: error: ") && e.contains(needle), "{args:?}: {e}");
    }
}

#[test]
fn target_not_found_exits_3_with_a_hint() {
    let d = snap_dir(&[("pod.yaml", POD)]);
    let out = doctor(&d, &["pod/web", "-n", "default"]);
    assert_eq!(out.status.code(), Some(3));
    let e = stderr(&out);
    assert!(
        e.contains("pod \"web\" not found in namespace \"default\"") && e.contains("pass -n shop"),
        "{e}"
    );
    let out = doctor(&d, &["deploy/web", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let d = snap_dir(&[(
        "k8s/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n   namespace: shop\n",
    )]);
    let out = doctor(&d, &["pod/web", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("k8s/pod.yaml:") && e.contains("malformed YAML"), "{e}");
}

#[test]
fn malformed_json_names_file_and_line() {
    let d = snap_dir(&[
        ("pod.yaml", POD),
        ("azure/identity.json", "{\n  \"clientId\": \"x\",\n  \"id\": \n}\n"),
    ]);
    let out = doctor(&d, &["pod/web", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("azure/identity.json:4: malformed JSON"), "{e}");
}

#[test]
fn a_kubernetes_object_of_the_wrong_shape_is_named() {
    let d = snap_dir(&[(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers: nope\n",
    )]);
    let out = doctor(&d, &["pod/web", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("pod.yaml: Pod \"web\" is malformed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_non_jwt_in_a_token_file_is_an_error_that_does_not_echo_it() {
    let d = snap_dir(&[
        ("pod.yaml", POD),
        (
            "token/azure-identity-token",
            "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2lnbmF0dXJl",
        ),
    ]);
    let out = doctor(&d, &["pod/web", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("token/azure-identity-token: JWT payload is not JSON"), "{e}");
    assert!(!e.contains("bm90IGpzb24"), "the error must not echo the token");
}

#[test]
fn an_empty_directory_is_an_error() {
    let d = tempfile::tempdir().expect("tmp");
    let out = wi(&["doctor", "pod/web", "--snapshot", d.path().to_str().expect("p")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the snapshot directory is empty"),
        "{}",
        stderr(&out)
    );
    let out = wi(&["doctor", "pod/web", "--snapshot", "/nonexistent/wi-snapshot"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/wi-snapshot: cannot read snapshot directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unrecognised_files_are_listed_not_fatal() {
    let d = snap_dir(&[
        ("pod.yaml", POD),
        ("notes.txt", "ticket 4711: pod cannot reach kv: 403 again"),
        ("blob.bin", "\u{0}\u{1}"),
    ]);
    let out = doctor(&d, &["pod/web", "-n", "shop", "-v", "-o", "json"]);
    assert!(
        matches!(out.status.code(), Some(1) | Some(4)),
        "{:?}",
        out.status.code()
    );
    let e = stderr(&out);
    assert!(e.contains("ignored") && e.contains("notes.txt"), "{e}");
    let only_noise = snap_dir(&[("notes.txt", "hello")]);
    let out = wi(&[
        "doctor",
        "pod/web",
        "--snapshot",
        only_noise.path().to_str().expect("p"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("none of the 1 file(s)"), "{}", stderr(&out));
}

#[test]
fn a_pod_without_azure_facts_is_incomplete_not_green() {
    let labelled = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  labels:\n    azure.workload.identity/use: \"true\"\nspec:\n  serviceAccountName: web\n  containers:\n  - name: app\n    image: nginx\n    env:\n    - name: AZURE_CLIENT_ID\n      value: 5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e\n    - name: AZURE_TENANT_ID\n      value: 2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f\n    - name: AZURE_FEDERATED_TOKEN_FILE\n      value: /var/run/secrets/azure/tokens/azure-identity-token\n    - name: AZURE_AUTHORITY_HOST\n      value: https://login.microsoftonline.com/\n    volumeMounts:\n    - name: azure-identity-token\n      mountPath: /var/run/secrets/azure/tokens\n  volumes:\n  - name: azure-identity-token\n    projected:\n      sources:\n      - serviceAccountToken:\n          audience: api://AzureADTokenExchange\n          path: azure-identity-token\n";
    let d = snap_dir(&[("pod.yaml", labelled)]);
    let out = doctor(&d, &["pod/web", "-n", "shop", "-o", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["verdict"], "unknown");
    // Each unknown names the command that would settle it.
    let unknown: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .filter(|f| f["status"] == "unknown")
        .collect();
    assert!(!unknown.is_empty());
    assert!(unknown.iter().any(|f| {
        f["fixes"]
            .to_string()
            .contains("kubectl get serviceaccount web -n shop -o yaml")
    }));
}

#[test]
fn rules_and_explain() {
    let out = wi(&["rules"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.trim_start().starts_with("WI")).count(),
        wi::rules::REGISTRY.len()
    );
    let json: serde_json::Value = serde_json::from_slice(&wi(&["rules", "--format", "json"]).stdout).expect("json");
    assert_eq!(json.as_array().expect("a").len(), wi::rules::REGISTRY.len());
    let page = stdout(&wi(&["explain", "wi303"]));
    assert!(page.starts_with("# WI303: "), "{page}");
    assert!(page.contains("## How to fix"));
}

#[test]
fn fail_on_warn_turns_warnings_into_exit_1() {
    let s = common::scenario("rbac-owner-at-subscription");
    assert_eq!(s.run(&[]).status.code(), Some(0));
    assert_eq!(s.run(&["--fail-on", "warn"]).status.code(), Some(1));
}

#[test]
fn table_renderings() {
    for name in [
        "healthy-aks-keyvault-rbac",
        "unknown-kubernetes-only",
        "sa-pods-predate-label",
        "rbac-control-plane-role-only",
        "fic-issuer-trailing-slash",
    ] {
        let s = common::scenarios()
            .into_iter()
            .find(|s| s.name == name)
            .expect("scenario");
        let out = s.run(&["--color", "never"]);
        let text = common::portable(&stdout(&out), &s.snapshot());
        insta::with_settings!({snapshot_path => "../snapshots/render", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, text);
        });
    }
}

#[test]
fn the_manifest_pins_time_and_makes_objects_absent() {
    let base = common::scenario("healthy-aks-keyvault-rbac");
    let d = tempfile::tempdir().expect("tmp");
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(base.snapshot())
        .arg(d.path().join("snap"))
        .status()
        .expect("cp");
    assert!(copy.success());
    let snap = d.path().join("snap");
    // The documented example, verbatim in spirit: collectedAt pins --at; notFound makes absent.
    fs::write(
        snap.join("wi-snapshot.yaml"),
        "apiVersion: wi/v1\nkind: SnapshotManifest\ncollectedAt: \"2026-03-10T09:20:00Z\"\nnotFound:\n- {kind: ServiceAccount, namespace: payments, name: checkout}\nunreadable:\n- {kind: Event, namespace: payments, reason: \"forbidden\", command: \"kubectl auth can-i list events -n payments\"}\n",
    )
    .expect("manifest");
    let s = snap.to_str().expect("utf-8");
    let run = || {
        let out = wi(&[
            "doctor",
            "deploy/checkout-api",
            "-n",
            "payments",
            "--snapshot",
            s,
            "-o",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (out, v)
    };
    let (out, v) = run();
    assert_eq!(
        v["evaluated_at"], "2026-03-10T09:20:00Z",
        "collectedAt is the default evaluation time"
    );
    // No --scope: the vault comes from the pod's SECRETS_VAULT_URI, and every check passes;
    // but a read the manifest records as refused (Events) keeps the verdict at unknown.
    assert_eq!(out.status.code(), Some(4), "{}", common::stdout(&out));
    assert_eq!(
        v["unreadable"][0]["command"],
        "kubectl auth can-i list events -n payments"
    );
    // A ServiceAccount the manifest says was looked for and not found is absent: WI106 fails.
    let patched = fs::read_to_string(snap.join("k8s/deployment.yaml"))
        .expect("yaml")
        .replace("serviceAccountName: checkout-api", "serviceAccountName: checkout");
    fs::write(snap.join("k8s/deployment.yaml"), patched).expect("write");
    fs::remove_file(snap.join("k8s/serviceaccount.yaml")).expect("rm");
    let (_, v) = run();
    let wi106 = v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["rule"] == "WI106")
        .expect("WI106");
    assert_eq!(wi106["status"], "fail", "{wi106}");
}

#[test]
fn without_at_a_snapshot_is_judged_as_of_when_it_was_taken() {
    // The scenario records its collection time: no --at needed for a healthy verdict.
    let s = common::healthy();
    let snap = s.snapshot();
    let out = wi(&[
        "doctor",
        "deploy/checkout-api",
        "-n",
        "payments",
        "--snapshot",
        snap.to_str().expect("p"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Without a recorded time, "now" is later than the token: still a failure, but WI205 says
    // why first and gives the --at to judge the snapshot as of then.
    let d = tempfile::tempdir().expect("tmp");
    let copy = d.path().join("s");
    assert!(
        std::process::Command::new("cp")
            .arg("-r")
            .arg(&snap)
            .arg(&copy)
            .status()
            .expect("cp")
            .success()
    );
    fs::remove_file(copy.join("wi-snapshot.yaml")).expect("rm");
    let out = wi(&[
        "doctor",
        "deploy/checkout-api",
        "-n",
        "payments",
        "--snapshot",
        copy.to_str().expect("p"),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["rule"] == "WI205")
        .expect("WI205")
        .clone();
    assert_eq!(f["status"], "fail");
    assert!(
        f["message"].as_str().expect("m").contains("records no collection time"),
        "{f}"
    );
    assert!(
        f["fixes"][0]["command"]
            .as_str()
            .expect("c")
            .contains("--at 2026-03-10T09:00:00Z"),
        "{f}"
    );
    // Paste-ready: the snapshot directory is the one just read, not a placeholder.
    assert!(
        f["fixes"][0]["command"]
            .as_str()
            .expect("c")
            .ends_with(&format!("--snapshot {}", copy.display())),
        "{f}"
    );
}

#[test]
fn the_readme_shows_what_wi_demo_prints() {
    // The README's first example is the demo's real output (lines elided with … excepted).
    let readme = fs::read_to_string(common::root().join("README.md")).expect("README");
    let block = readme
        .split("```text\n$ wi demo\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the README shows `$ wi demo`");
    let out = stdout(&wi(&["demo", "--color", "never"]));
    for line in block.lines().filter(|l| !l.contains('…') && !l.trim().is_empty()) {
        assert!(
            out.contains(line),
            "README line not in `wi demo` output:\n{line}\n---\n{out}"
        );
    }
}
