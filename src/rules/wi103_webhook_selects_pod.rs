//! WI103: the webhook's selectors select this pod and its namespace.
use super::{Check, Rule, Severity, wi102_webhook_installed::pods_were_mutated};
use crate::facts::{Fact, Facts, LabelSelector};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI103",
    link: Link::ServiceAccount,
    slug: "webhook_selects_pod",
    title: "The webhook's object and namespace selectors match this pod",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI103.md"),
    after: &["WI101", "WI102"],
    requires: &[],
    check,
};

fn describe(s: &Option<LabelSelector>) -> String {
    match s {
        None => "(none: matches everything)".into(),
        Some(s) if s.is_empty() => "{} (matches everything)".into(),
        Some(s) => serde_json::to_string(s).unwrap_or_default(),
    }
}

fn check(f: &Facts) -> Check {
    let Some(subject) = f.template.as_ref().or(f.pods.first()) else {
        return Check::skip("no pod or pod template to select");
    };
    let webhooks = match &f.webhooks {
        Fact::Found { value } => value,
        _ if pods_were_mutated(f) => return Check::pass("the running pods were mutated, so the webhook selected them"),
        other => return Check::from_unknown("webhook selectors", other),
    };
    let ns_labels = f.namespace.get().map(|n| &n.labels);
    let mut c = Check::fail(String::new());
    let mut undecided = None;
    for w in webhooks {
        if !w.operations.is_empty() && !w.operations.iter().any(|o| o == "CREATE" || o == "*") {
            c = c.saw(format!("webhook {} rules.operations", w.name), w.operations.join(","));
            continue;
        }
        let obj = w
            .object_selector
            .as_ref()
            .map(|s| s.matches(&subject.labels))
            .unwrap_or(Some(true));
        let nsm = match (&w.namespace_selector, ns_labels) {
            (None, _) => Some(true),
            (Some(s), _) if s.is_empty() => Some(true),
            (Some(s), Some(l)) => s.matches(l),
            (Some(_), None) => None,
        };
        match (obj, nsm) {
            (Some(true), Some(true)) => {
                return Check::pass(format!(
                    "webhook {} selects {} in namespace {}",
                    w.name,
                    subject.source,
                    f.namespace()
                ));
            }
            (Some(false), _) => {
                c = c.compare(
                    format!("webhook {} objectSelector vs {} labels", w.name, subject.source),
                    Some(&serde_json::to_string(&subject.labels).unwrap_or_default()),
                    Some(&describe(&w.object_selector)),
                );
            }
            (_, Some(false)) => {
                c = c.compare(
                    format!(
                        "webhook {} namespaceSelector vs namespace {} labels",
                        w.name,
                        f.namespace()
                    ),
                    Some(&serde_json::to_string(&ns_labels.cloned().unwrap_or_default()).unwrap_or_default()),
                    Some(&describe(&w.namespace_selector)),
                );
            }
            _ => undecided = Some(w.name.clone()),
        }
    }
    if let Some(name) = undecided {
        return match &f.namespace {
            Fact::Found { .. } => Check::unknown(
                format!("webhook {name} uses a selector operator wi does not evaluate"),
                None,
            ),
            other => Check::from_unknown(
                &format!("webhook {name} has a namespaceSelector; the namespace's labels"),
                other,
            ),
        };
    }
    c.message = format!(
        "no workload identity webhook selects {} in namespace {}; its pods are created unmutated",
        subject.source,
        f.namespace()
    );
    if f.namespace() == "kube-system" {
        c.message
            .push_str("; AKS keeps admission webhooks out of kube-system: run the workload in another namespace");
    }
    c.fix(
        "Inspect the selectors (for a Helm install, fix mutatingWebhookNamespaceSelector)",
        "kubectl get mutatingwebhookconfiguration azure-wi-webhook-mutating-webhook-configuration -o jsonpath='{.webhooks[*].namespaceSelector}{\"\\n\"}{.webhooks[*].objectSelector}'",
    )
}
