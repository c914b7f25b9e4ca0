//! WI104: the webhook has ready replicas and no failed admission calls.
use super::{Check, Rule, Severity, wi102_webhook_installed::pods_were_mutated};
use crate::facts::{Fact, Facts, WEBHOOK_DEPLOYMENT, WEBHOOK_NAME};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI104",
    link: Link::ServiceAccount,
    slug: "webhook_healthy",
    title: "The webhook has ready replicas and no failed admission calls",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI104.md"),
    after: &["WI102"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let webhook_ns = f
        .webhooks
        .get()
        .and_then(|w| w.iter().find_map(|w| w.service_namespace.clone()))
        .or_else(|| {
            f.webhook_deployments
                .get()
                .and_then(|d| d.first().map(|d| d.namespace.clone()))
        })
        .unwrap_or_else(|| "kube-system".into());
    let mut c = Check::fail(String::new());
    let mut problems = Vec::new();
    if let Some(deps) = f.webhook_deployments.get() {
        for d in deps.iter().filter(|d| d.ready_replicas == 0) {
            problems.push(format!(
                "deployment {}/{} has 0 of {} replicas ready",
                d.namespace, d.name, d.replicas
            ));
            c = c.compare(
                format!("deployment/{} -n {} status.readyReplicas", d.name, d.namespace),
                Some("0"),
                Some(&format!("{} (at least 1)", d.replicas)),
            );
        }
    }
    if let Some(events) = f.events.get() {
        for e in events.iter().filter(|e| {
            e.reason == "FailedCreate"
                && e.message.contains("failed calling webhook")
                && e.message.contains(WEBHOOK_NAME)
        }) {
            problems.push(format!("{} reports FailedCreate ×{}", e.involved, e.count));
            c = c.saw(format!("event {} {}", e.involved, e.reason), e.message.clone());
        }
    }
    if !problems.is_empty() {
        c.message = format!(
            "the webhook cannot admit pods ({}); with failurePolicy Fail every labelled pod CREATE is rejected",
            problems.join("; ")
        );
        return c
            .fix(
                "See the webhook's state",
                format!("kubectl get deploy,endpoints,pods -n {webhook_ns} -l azure-workload-identity.io/system=true"),
            )
            .fix(
                "Read its logs (AZURE_TENANT_ID, cloud name, certificate errors)",
                format!("kubectl logs -n {webhook_ns} -l azure-workload-identity.io/system=true --tail=100"),
            )
            .fix(
                "Restart it",
                format!("kubectl rollout restart deploy/{WEBHOOK_DEPLOYMENT} -n {webhook_ns}"),
            );
    }
    match (&f.webhook_deployments, &f.events) {
        (Fact::Found { value }, _) => {
            let d = &value[0];
            Check::pass(format!(
                "deployment {}/{} has {} of {} replicas ready",
                d.namespace, d.name, d.ready_replicas, d.replicas
            ))
        }
        (_, Fact::Found { .. }) if pods_were_mutated(f) => {
            Check::pass("the running pods were mutated and no FailedCreate event names the webhook")
        }
        _ if pods_were_mutated(f) => Check::pass(format!(
            "the running pods were mutated; the webhook's current health is not in the snapshot (add: kubectl get deploy {WEBHOOK_DEPLOYMENT} -n {webhook_ns} -o yaml)"
        )),
        (_, Fact::Found { .. }) => Check::pass("no FailedCreate event names the webhook"),
        (other, _) => Check::from_unknown("webhook health", other),
    }
}
