//! WI117: the pod runs on a node that supports workload identity.
use super::{Check, Rule, Severity};
use crate::facts::{Facts, PodView};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI117",
    link: Link::ServiceAccount,
    slug: "virtual_node",
    title: "The pod runs on regular nodes, not AKS virtual nodes",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI117.md"),
    after: &[],
    requires: &[],
    check,
};

const TOLERATION: &str = "virtual-kubelet.io/provider";

/// Why this pod (or template) lands on a virtual node, if it does.
fn virtual_node(f: &Facts, p: &PodView) -> Option<String> {
    if let Some(n) = &p.node_name {
        if let Some(node) = f.nodes.iter().find(|x| &x.name == n)
            && node.labels.get("type").map(String::as_str) == Some("virtual-kubelet")
        {
            return Some(format!("node {n} is labelled type: virtual-kubelet"));
        }
        if n.starts_with("virtual-node-aci") {
            return Some(format!("node {n} is an AKS virtual node (ACI)"));
        }
    }
    if p.node_selector.get("type").map(String::as_str) == Some("virtual-kubelet") {
        return Some("nodeSelector type: virtual-kubelet".into());
    }
    None
}

fn check(f: &Facts) -> Check {
    let mut c = Check::fail(String::new());
    let mut hits = Vec::new();
    for p in f.subjects() {
        if let Some(why) = virtual_node(f, p) {
            c = c.saw(p.source.clone(), why.clone());
            hits.push(format!("{}: {why}", p.source));
        }
    }
    if hits.is_empty() {
        let tolerates = f.subjects().any(|p| p.tolerations.iter().any(|t| t == TOLERATION));
        return Check::pass(if tolerates {
            "the pods tolerate virtual nodes but none runs on one".to_string()
        } else {
            "no pod is scheduled onto a virtual node".to_string()
        });
    }
    c.message = format!(
        "{}: AKS virtual nodes (Azure Container Instances) do not support workload identity, so these pods get no token",
        hits.join("; ")
    );
    let w = f.edit_target();
    c.fix(
        "Schedule the workload on regular nodes: drop the virtual-kubelet nodeSelector and toleration",
        format!("kubectl edit {w} -n {}", f.namespace()),
    )
}
