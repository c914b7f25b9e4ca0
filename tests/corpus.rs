//! End-to-end: every scenario of the corpus through the binary, asserting the exit code, the
//! four link statuses and the rule statuses its case.json states, then snapshotting the JSON.

mod common;

use common::{portable, scenarios, stdout};
use serde_json::Value;

#[test]
fn every_scenario_behaves_as_its_case_says() {
    let mut failures = Vec::new();
    for s in scenarios() {
        let out = s.run(&["-o", "json"]);
        let report: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "{}: no JSON report ({e}); stderr: {}",
                    s.name,
                    common::stderr(&out)
                ));
                continue;
            }
        };
        let want_exit = s.case["exit"].as_i64().expect("exit");
        if out.status.code() != Some(want_exit as i32) {
            failures.push(format!("{}: exit {:?}, want {want_exit}", s.name, out.status.code()));
        }
        for l in report["links"].as_array().expect("links") {
            let link = l["link"].as_str().expect("link");
            let want = &s.case["links"][link];
            if &l["status"] != want {
                failures.push(format!("{}: link {link} is {}, want {want}", s.name, l["status"]));
            }
        }
        for (rule, want) in s.case["rules"].as_object().expect("rules") {
            let got = report["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .find(|f| f["rule"] == rule.as_str());
            match got {
                Some(f) if &f["status"] == want => {}
                Some(f) => failures.push(format!(
                    "{}: {rule} is {}, want {want}: {}",
                    s.name, f["status"], f["message"]
                )),
                None => failures.push(format!("{}: no finding for {rule}", s.name)),
            }
        }
        // Every failing finding carries a fix with the real names filled in.
        for f in report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["status"] == "fail")
        {
            let fixes = f["fixes"].as_array().expect("fixes");
            if fixes.is_empty() {
                failures.push(format!("{}: failing {} has no fix", s.name, f["rule"]));
            }
        }
        insta::with_settings!({snapshot_path => "../snapshots/corpus", prepend_module_to_snapshot => false, omit_expression => true}, {
            let text = portable(&stdout(&out), &s.snapshot());
            let v: Value = serde_json::from_str(&text).expect("json");
            insta::assert_json_snapshot!(s.name.clone(), v);
        });
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn healthy_scenarios_exit_zero_with_no_failing_link() {
    for s in scenarios().iter().filter(|s| s.name.starts_with("healthy-")) {
        let out = s.run(&["-o", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", s.name);
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(report["verdict"], "pass", "{}", s.name);
    }
}

#[test]
fn faulty_scenarios_fail_exactly_one_link() {
    for s in scenarios()
        .iter()
        .filter(|s| !s.name.starts_with("healthy-") && s.case["exit"] == 1)
    {
        let failing: Vec<&str> = s.case["links"]
            .as_object()
            .expect("links")
            .iter()
            .filter(|(_, v)| *v == "fail")
            .map(|(k, _)| k.as_str())
            .collect();
        let warned = s.case["links"]
            .as_object()
            .expect("links")
            .values()
            .any(|v| v == "warn");
        assert!(
            failing.len() == 1 || (failing.is_empty() && warned),
            "{}: {failing:?}",
            s.name
        );
        // Downstream of the failing link, nothing is "unknown": it is blocked by the root cause.
        let out = s.run(&["-o", "json"]);
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        let links = report["links"].as_array().expect("links");
        if let Some(i) = links.iter().position(|l| l["status"] == "fail") {
            for l in &links[i + 1..] {
                assert_ne!(
                    l["status"], "unknown",
                    "{}: {} unknown after a failure",
                    s.name, l["link"]
                );
            }
        }
    }
}

#[test]
fn the_generator_reproduces_the_committed_corpus() {
    let exe = std::env::current_exe().expect("exe");
    let generator = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("examples/gen_corpus"))
        .expect("path");
    if !generator.exists() {
        panic!("{} not built; cargo test builds examples", generator.display());
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let st = std::process::Command::new(&generator)
        .arg(tmp.path())
        .status()
        .expect("run generator");
    assert!(st.success());
    let committed = common::root().join("tests/corpus/scenarios");
    let mut diffs = Vec::new();
    compare(&committed, tmp.path(), &committed, &mut diffs);
    compare(tmp.path(), &committed, tmp.path(), &mut diffs);
    assert!(
        diffs.is_empty(),
        "regenerate with `cargo run --example gen_corpus`: {diffs:?}"
    );
}

fn compare(a: &std::path::Path, b: &std::path::Path, base: &std::path::Path, diffs: &mut Vec<String>) {
    for e in std::fs::read_dir(a).expect("dir") {
        let p = e.expect("entry").path();
        let q = b.join(p.file_name().expect("name"));
        if p.is_dir() {
            if q.is_dir() {
                compare(&p, &q, base, diffs);
            } else {
                diffs.push(format!(
                    "{} only on one side",
                    p.strip_prefix(base).unwrap_or(&p).display()
                ));
            }
        } else if std::fs::read(&p).ok() != std::fs::read(&q).ok() {
            diffs.push(format!("{} differs", p.strip_prefix(base).unwrap_or(&p).display()));
        }
    }
}

#[test]
fn no_output_contains_a_raw_token() {
    for s in scenarios() {
        let Ok(token) = std::fs::read_to_string(s.snapshot().join("token/azure-identity-token")) else {
            continue;
        };
        let token = token.trim();
        let signature = token.rsplit('.').next().expect("sig");
        let payload = token.split('.').nth(1).expect("payload");
        for fmt in ["json", "table"] {
            let out = s.run(&["-o", fmt, "-v"]);
            for text in [stdout(&out), common::stderr(&out)] {
                assert!(
                    !text.contains(signature) && !text.contains(payload),
                    "{} -o {fmt} leaks the token",
                    s.name
                );
            }
        }
    }
}
