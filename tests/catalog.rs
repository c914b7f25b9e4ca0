//! The catalog's meta-tests: unique ids, one source file and one page per rule, pages with the
//! fixed headings, a pass and a non-pass fixture per rule, and rules/README.md kept current.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use wi::rules::{REGISTRY, Severity};

#[test]
fn ids_are_unique_ordered_and_follow_the_chain() {
    let mut seen = BTreeSet::new();
    let mut last = String::new();
    for r in REGISTRY {
        assert!(seen.insert(r.id), "duplicate {}", r.id);
        assert!(r.id.len() == 5 && r.id.starts_with("WI"), "{}", r.id);
        assert!(r.id > last.as_str(), "{} out of order", r.id);
        last = r.id.to_string();
        let hundred = &r.id[2..3];
        let want = match r.link.as_str() {
            "service-account" => "1",
            "issuer" => "2",
            "federated-credential" => "3",
            _ => "4",
        };
        assert_eq!(hundred, want, "{} is in link {}", r.id, r.link.as_str());
    }
}

#[test]
fn every_rule_has_its_file_and_a_well_formed_page() {
    let root = common::root();
    for r in REGISTRY {
        let file = root.join(format!("src/rules/{}_{}.rs", r.id.to_lowercase(), r.slug));
        assert!(file.exists(), "missing {}", file.display());
        let page = std::fs::read_to_string(root.join(format!("rules/{}.md", r.id))).expect("page");
        assert_eq!(page, r.page, "{}: embedded page differs from the file", r.id);
        let first = page.lines().next().unwrap_or_default();
        assert_eq!(first, format!("# {}: {}", r.id, r.title), "{}: page title", r.id);
        let mut pos = 0;
        for h in [
            "## What it checks",
            "## Why it matters",
            "## How to fix",
            "## References",
        ] {
            let at = page[pos..]
                .find(&format!("\n{h}\n"))
                .unwrap_or_else(|| panic!("{}: missing or misplaced {h:?}", r.id));
            pos += at + 1;
        }
        let sev = match r.severity {
            Severity::Fail => "fail",
            Severity::Warn => "warn",
        };
        assert!(page.contains(&format!("Severity: {sev}")), "{}: page severity", r.id);
        // Titles state the expectation, so they read right on pass rows.
        assert!(
            !r.title.to_lowercase().starts_with("missing") && !r.title.ends_with('.'),
            "{}: title style",
            r.id
        );
    }
}

#[test]
fn every_rule_has_a_pass_and_a_non_pass_fixture() {
    let mut have: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let scenarios = common::scenarios();
    for s in &scenarios {
        for (rule, status) in s.case["rules"].as_object().expect("rules") {
            let r = REGISTRY
                .iter()
                .find(|r| r.id == rule)
                .unwrap_or_else(|| panic!("{}: unknown rule {rule}", s.name));
            have.entry(r.id)
                .or_default()
                .insert(status.as_str().expect("status").to_string());
        }
    }
    // The --probe rules' fixtures: the corpus probed against the fakes, and the probe cases.
    let mut snaps = vec![];
    for d in ["snapshots/probe", "snapshots/probe/cases"] {
        for e in std::fs::read_dir(common::root().join(d)).expect("probe snapshots") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "snap") {
                snaps.push(p);
            }
        }
    }
    for p in snaps {
        let text = std::fs::read_to_string(&p).expect("snap");
        let body = text.splitn(3, "---").nth(2).expect("insta header");
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        for (rule, status) in v["rules"].as_object().expect("rules") {
            have.entry(REGISTRY.iter().find(|r| r.id == rule).expect("rule").id)
                .or_default()
                .insert(status.as_str().expect("status").to_string());
        }
    }
    let mut missing = Vec::new();
    for r in REGISTRY {
        let got = have.get(r.id).cloned().unwrap_or_default();
        if !got.contains("pass") {
            missing.push(format!("{}: no pass fixture", r.id));
        }
        if !got.contains("fail") && !got.contains("warn") {
            missing.push(format!("{}: no fail/warn fixture", r.id));
        }
        if r.severity == Severity::Warn && got.contains("fail") {
            missing.push(format!("{}: a warn-only rule has a fail fixture", r.id));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn rules_readme_is_generated_from_the_catalog() {
    let committed = std::fs::read_to_string(common::root().join("rules/README.md")).expect("rules/README.md");
    let out = common::wi(&["rules", "--format", "markdown"]);
    assert!(out.status.success());
    assert_eq!(
        committed,
        common::stdout(&out),
        "regenerate: cargo run -- rules --format markdown > rules/README.md"
    );
}

#[test]
fn the_failure_catalog_mapping_lists_every_rule() {
    // rules/CATALOG.tsv maps each rule to the rows of the failure catalog it covers.
    let text = std::fs::read_to_string(common::root().join("rules/CATALOG.tsv")).expect("CATALOG.tsv");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), REGISTRY.len(), "one row per rule");
    for (row, r) in rows.iter().zip(REGISTRY) {
        assert_eq!(row[0], r.id);
        assert_eq!(row[1], r.link.as_str(), "{}", r.id);
        assert_eq!(row[2], r.slug, "{}", r.id);
        assert_eq!(row[3], r.title, "{}", r.id);
        assert!(
            row.get(4).is_some_and(|c| !c.trim().is_empty()),
            "{}: which catalog rows?",
            r.id
        );
    }
}
