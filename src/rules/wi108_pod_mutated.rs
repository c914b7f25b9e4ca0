//! WI108: the webhook mutated the running pods.
use super::{Check, Rule, Severity, support::short_list};
use crate::facts::{EXCHANGE_AUDIENCE, Facts, PodView, SKIP_CONTAINERS_ANNOTATION};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI108",
    link: Link::ServiceAccount,
    slug: "pod_mutated",
    title: "The webhook mutated the pod: AZURE_* env and a projected token volume",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI108.md"),
    after: &["WI101", "WI102", "WI103", "WI104", "WI114"],
    requires: &[],
    check,
};

pub fn skipped(p: &PodView) -> Vec<String> {
    p.annotations
        .get(SKIP_CONTAINERS_ANNOTATION)
        .map(|v| {
            v.split(';')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What the webhook should have added to this pod and did not.
pub fn missing(p: &PodView, expect_client_id: bool) -> Vec<String> {
    let skip = skipped(p);
    let mut out = Vec::new();
    for c in p.app_containers().filter(|c| !skip.contains(&c.name)) {
        let mut vars = vec!["AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"];
        if expect_client_id {
            vars.insert(0, "AZURE_CLIENT_ID");
        }
        let absent: Vec<&str> = vars.into_iter().filter(|v| c.env_value(v).is_none()).collect();
        if !absent.is_empty() {
            out.push(format!("container {}: no {}", c.name, absent.join(", ")));
        }
    }
    let token_file = p
        .app_containers()
        .find_map(|c| c.env_value("AZURE_FEDERATED_TOKEN_FILE").and_then(|e| e.value.clone()));
    let has_projection = p.token_projections.iter().any(|t| {
        t.audience.as_deref() == Some(EXCHANGE_AUDIENCE)
            || token_file
                .as_deref()
                .is_some_and(|f| f.ends_with(&t.path) && t.audience.is_some())
    });
    if !has_projection {
        out.push(format!(
            "no projected serviceAccountToken volume with audience {EXCHANGE_AUDIENCE}"
        ));
    }
    out
}

fn check(f: &Facts) -> Check {
    if f.pods.is_empty() {
        if let Some(u) = f.refused("Pod") {
            return Check::unknown(
                format!("the running pods could not be listed: {}", u.reason),
                u.command.clone(),
            );
        }
        return if f.template.is_some() {
            Check::skip("no running pods in the facts; the template is checked by WI101")
        } else {
            Check::skip("no pod to check")
        };
    }
    let expect_cid = f.client_id.is_some();
    let mut c = Check::fail(String::new());
    let mut bad = Vec::new();
    for p in &f.pods {
        let m = missing(p, expect_cid);
        if !m.is_empty() {
            bad.push(p.name.clone());
            c = c.compare(p.source.to_string(), Some(&m.join("; ")), Some("env AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and a token volume"));
        }
    }
    if bad.is_empty() {
        // Mutated, but the kubelet cannot mount the projected token (the pod stays in
        // ContainerCreating): FailedMount events name the volume.
        if let Some(events) = f.events.get() {
            let mut c = Check::fail(String::new());
            let mut stuck = Vec::new();
            for p in &f.pods {
                let vols: Vec<&str> = p.token_projections.iter().map(|t| t.volume.as_str()).collect();
                for e in events.iter().filter(|e| {
                    e.reason == "FailedMount"
                        && e.involved == format!("pod/{}", p.name)
                        && vols.iter().any(|v| e.message.contains(&format!("\"{v}\"")))
                }) {
                    stuck.push(p.name.clone());
                    c = c.saw(
                        format!("event {} {} ×{}", e.involved, e.reason, e.count),
                        e.message.clone(),
                    );
                }
            }
            if !stuck.is_empty() {
                c.message = format!(
                    "the kubelet cannot mount the projected token of {}: the pod cannot start (see the event); a missing ServiceAccount or a failing TokenRequest on the node is the usual cause",
                    short_list(stuck, 3)
                );
                return c
                    .fix(
                        "Read the pod's events",
                        format!("kubectl describe pod {} -n {}", f.pods[0].name, f.namespace()),
                    )
                    .fix(
                        "Check the ServiceAccount still exists",
                        format!(
                            "kubectl get serviceaccount {} -n {}",
                            f.service_account_name(),
                            f.namespace()
                        ),
                    );
            }
        }
        return Check::pass(format!(
            "{} pod(s) carry the injected env and token volume",
            f.pods.len()
        ));
    }
    c.message = format!(
        "{} of {} pod(s) were not mutated ({}) although labelled: the webhook was unreachable when they were created, or the label was added to running pods; SDKs then fail with \"no client ID specified\" or fall back to IMDS",
        bad.len(),
        f.pods.len(),
        short_list(bad.iter().cloned(), 3)
    );
    c.fix("Recreate the pods so the webhook mutates them", f.restart_command())
}
