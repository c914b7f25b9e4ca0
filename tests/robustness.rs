//! Bad input never panics: every file of several scenarios is truncated and corrupted in turn,
//! and the whole pipeline (read, resolve, rules, both renderers) must return — an error or a
//! report — without panicking.

mod common;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};

use wi::facts::resolve::{Request, resolve};
use wi::facts::{TargetRef, WorkloadKind};

fn pipeline(dir: &std::path::Path) {
    let Ok(inv) = wi::collect::snapshot::read_dir(dir) else {
        return;
    };
    let req = Request {
        target: TargetRef {
            kind: WorkloadKind::Deployment,
            namespace: "payments".into(),
            name: "checkout-api".into(),
        },
        at: "2026-03-10T09:20:00Z".parse().ok(),
        now: jiff::Timestamp::now(),
        scopes: vec![],
        data_action: None,
    };
    let Ok(facts) = resolve(&inv, &req) else { return };
    let report = wi::doctor::report(
        &facts,
        wi::report::Input {
            kind: "snapshot".into(),
            path: None,
        },
    );
    let _ = wi::render::json::render(&report);
    let _ = wi::render::table::render(
        &report,
        &wi::render::Style {
            color: true,
            width: Some(80),
            verbose: true,
        },
    );
}

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() { files(&p, out) } else { out.push(p) }
    }
}

#[test]
fn corrupted_snapshots_never_panic() {
    let picks = [
        "healthy-aks-keyvault-rbac",
        "healthy-arc-storage",
        "healthy-app-registration",
        "fic-on-other-identity",
    ];
    let mut runs = 0;
    for s in common::scenarios()
        .into_iter()
        .filter(|s| picks.contains(&s.name.as_str()))
    {
        let mut all = Vec::new();
        files(&s.snapshot(), &mut all);
        for victim in &all {
            let original = fs::read(victim).expect("read");
            let n = original.len();
            let mut variants: Vec<Vec<u8>> = [n / 3, n / 2, n.saturating_sub(2)]
                .iter()
                .map(|&k| original[..k].to_vec())
                .collect();
            for (at, byte) in [(n / 4, b'"'), (n / 2, b':'), (n / 3, b'\n'), (n / 5, 0xff)] {
                let mut v = original.clone();
                if at < v.len() {
                    v[at] = byte;
                }
                variants.push(v);
            }
            for v in variants {
                let tmp = tempfile::tempdir().expect("tmp");
                let copy = std::process::Command::new("cp")
                    .arg("-r")
                    .arg(s.snapshot())
                    .arg(tmp.path().join("s"))
                    .status()
                    .expect("cp");
                assert!(copy.success());
                let rel = victim.strip_prefix(s.snapshot()).expect("rel");
                fs::write(tmp.path().join("s").join(rel), &v).expect("write");
                let dir = tmp.path().join("s");
                let r = catch_unwind(AssertUnwindSafe(|| pipeline(&dir)));
                assert!(r.is_ok(), "{}: corrupting {} panicked", s.name, rel.display());
                runs += 1;
            }
        }
    }
    assert!(runs > 100, "{runs}");
}

#[test]
fn malformed_recorded_issuer_fetches_are_errors_naming_the_file_not_panics() {
    let s = common::healthy();
    let valid = serde_json::json!({
        "apiVersion": "wi/v1",
        "kind": "ExternalIssuerFetch",
        "fetch": {
            "issuer_url": "https://i/", "discovery": {"url": "https://i/.well-known/openid-configuration", "status": 200, "content_type": null, "location": null, "error": null, "elapsed_ms": 5},
            "document_issuer": "https://i/", "jwks_uri": "https://i/k", "jwks": null, "key_count": 0, "kids": [],
            "signature": null, "proxy": null, "private_addresses": []
        },
        "keys": [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}]
    });
    // (document, whether reading it must fail)
    let mut variants = vec![];
    for (path, v, fatal) in [
        ("/fetch", serde_json::Value::Null, true),
        ("/fetch/discovery", serde_json::json!("nope"), true),
        ("/fetch/key_count", serde_json::json!(-1), true),
        ("/keys", serde_json::json!("not a list"), true),
        ("/keys/0/n", serde_json::json!("!!not base64!!"), false), // an unusable key: a finding
    ] {
        let mut d = valid.clone();
        *d.pointer_mut(path).expect("path") = v;
        variants.push((d.to_string(), fatal));
    }
    variants.push((format!("{}\n---\n{}", valid, valid), true)); // two in one snapshot
    for (i, (text, fatal)) in variants.iter().enumerate() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("s");
        assert!(
            std::process::Command::new("cp")
                .arg("-r")
                .arg(s.snapshot())
                .arg(&dir)
                .status()
                .expect("cp")
                .success()
        );
        fs::write(dir.join("oidc/external.yaml"), text).expect("write");
        let r = catch_unwind(AssertUnwindSafe(|| pipeline(&dir)));
        assert!(r.is_ok(), "variant {i} panicked");
        match wi::collect::snapshot::read_dir(&dir) {
            Err(e) => {
                assert!(*fatal, "variant {i}: {e}");
                assert!(e.to_string().contains("external.yaml"), "variant {i}: {e}");
            }
            Ok(_) => assert!(!fatal, "variant {i} was accepted"),
        }
    }
}
