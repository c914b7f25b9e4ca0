//! WI115: no aad-pod-identity binding left on the pod.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI115",
    link: Link::ServiceAccount,
    slug: "legacy_pod_identity",
    title: "No aad-pod-identity binding is left on the pod",
    severity: Severity::Warn,
    page: include_str!("../../rules/WI115.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    for p in f.subjects() {
        if let Some(v) = p.labels.get("aadpodidbinding") {
            let w = f.edit_target();
            return Check::warn(format!(
                "{} still has the aad-pod-identity label aadpodidbinding: {v:?}; if NMI runs, it intercepts IMDS calls and SDK fallbacks get the pod-identity result",
                p.source
            ))
            .saw(format!("{} metadata.labels[aadpodidbinding]", p.source), v.clone())
            .fix("Remove the legacy label from the template after migrating", format!("kubectl edit {w} -n {}", f.namespace()));
        }
    }
    Check::pass("no aadpodidbinding label")
}
