//! WI101: the `azure.workload.identity/use: "true"` label on the pod template.
use super::{Check, Rule, Severity, support::sh};
use crate::facts::{Facts, PodView, USE_LABEL, WorkloadKind};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI101",
    link: Link::ServiceAccount,
    slug: "pod_label",
    title: "Pod template carries the label azure.workload.identity/use: \"true\"",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI101.md"),
    after: &[],
    requires: &[],
    check,
};

/// `kubectl patch` that sets a label on the template of the workload (or says how for a pod).
pub fn label_fix(f: &Facts) -> (String, String) {
    let ns = f.namespace();
    match &f.workload {
        Some(w) => {
            let patch = if w.kind == WorkloadKind::CronJob {
                format!(
                    r#"{{"spec":{{"jobTemplate":{{"spec":{{"template":{{"metadata":{{"labels":{{"{USE_LABEL}":"true"}}}}}}}}}}}}}}"#
                )
            } else {
                format!(r#"{{"spec":{{"template":{{"metadata":{{"labels":{{"{USE_LABEL}":"true"}}}}}}}}}}"#)
            };
            (
                format!(
                    "Label the pod template of {}/{} (the change rolls out new pods)",
                    w.kind.short(),
                    w.name
                ),
                format!(
                    "kubectl patch {} {} -n {ns} --type merge -p {}",
                    w.kind.short(),
                    w.name,
                    sh(&patch)
                ),
            )
        }
        None => (
            "Add the label to the pod's manifest and recreate the pod (labelling a running pod does not mutate it)"
                .into(),
            format!(
                "kubectl get pod {} -n {ns} -o yaml > pod.yaml   # add metadata.labels.{USE_LABEL}: \"true\", then: kubectl replace --force -f pod.yaml",
                f.target.name
            ),
        ),
    }
}

fn check(f: &Facts) -> Check {
    if f.target.kind == WorkloadKind::ServiceAccount {
        return Check::skip("the target is a ServiceAccount; no pod to check");
    }
    // What the next pod gets, else what the pod has.
    let subject: &PodView = match f.template.as_ref().or(f.pods.first()) {
        Some(s) => s,
        None => return f.no_subject(),
    };
    let value = subject.labels.get(USE_LABEL);
    if value.map(String::as_str) == Some("true") {
        return Check::pass(format!("{} is labelled {USE_LABEL}: \"true\"", subject.source));
    }
    let mut msg = match value {
        Some(v) => format!(
            "{} has {USE_LABEL}: {v:?}; the webhook's objectSelector matches only the exact string \"true\"",
            subject.source
        ),
        None => format!(
            "{} has no {USE_LABEL} label, so the webhook is never called for its pods",
            subject.source
        ),
    };
    let mut c = Check::fail(String::new()).compare(
        format!("{} metadata.labels[{USE_LABEL}]", subject.source),
        Some(value.map(String::as_str).unwrap_or("(absent)")),
        Some("true"),
    );
    if let Some(w) = &f.workload
        && let Some(v) = w.labels.get(USE_LABEL)
    {
        msg.push_str(&format!(
            "; the label sits on the {}'s own metadata ({v:?}), which the webhook never sees",
            w.kind.kind_name()
        ));
        c = c.saw(
            format!("{}/{} metadata.labels[{USE_LABEL}]", w.kind.short(), w.name),
            v.clone(),
        );
    }
    if let Some(sa) = f.service_account.get()
        && let Some(v) = sa.labels.get(USE_LABEL).or(sa.annotations.get(USE_LABEL))
    {
        msg.push_str(&format!(
            "; ServiceAccount {} carries it ({v:?}), which webhooks since v1.0 ignore",
            sa.name
        ));
        c = c.saw(format!("serviceaccount/{} {USE_LABEL}", sa.name), v.clone());
    }
    c.message = msg;
    let (title, cmd) = label_fix(f);
    c.fix(title, cmd)
}
