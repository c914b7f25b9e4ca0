//! Rule fixtures: each corpus scenario is a fixture for the rules its case.json names. The
//! status is asserted first; then the finding (message, evidence, fixes) is snapshotted under
//! snapshots/rules/<RULE>/<status>-<scenario>.snap, so a wrong verdict cannot be accepted.

mod common;

use common::{portable, scenarios, stdout};
use serde_json::Value;

#[test]
fn rule_fixtures() {
    for s in scenarios() {
        let out = s.run(&["-o", "json"]);
        let text = portable(&stdout(&out), &s.snapshot());
        let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        for (rule, want) in s.case["rules"].as_object().expect("rules") {
            let f = report["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .find(|f| f["rule"] == rule.as_str())
                .unwrap_or_else(|| panic!("{}: no {rule}", s.name))
                .clone();
            assert_eq!(&f["status"], want, "{}: {rule}: {}", s.name, f["message"]);
            let want = want.as_str().expect("status");
            insta::with_settings!({
                snapshot_path => format!("../snapshots/rules/{rule}"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => s.case["description"].as_str().unwrap_or_default(),
            }, {
                insta::assert_json_snapshot!(format!("{want}-{}", s.name), f);
            });
        }
    }
}
