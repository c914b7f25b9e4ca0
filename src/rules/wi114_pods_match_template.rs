//! WI114: running pods were created from the current configuration.
use super::{Check, Rule, Severity, support::short_list};
use crate::facts::{CLIENT_ID_ANNOTATION, Facts, USE_LABEL};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI114",
    link: Link::ServiceAccount,
    slug: "pods_match_template",
    title: "Running pods were created from the current configuration",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI114.md"),
    after: &["WI101"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(t) = &f.template else {
        return Check::skip("no pod template in the facts to compare the pods with");
    };
    if f.pods.is_empty() {
        return Check::skip(format!("{} has no running pods in the facts", t.source));
    }
    let want_label = t.labels.get(USE_LABEL).map(String::as_str) == Some("true");
    let want_cid = f
        .service_account
        .get()
        .and_then(|s| s.annotations.get(CLIENT_ID_ANNOTATION))
        .map(|s| s.trim().to_string());
    let template_sets_cid = t.app_containers().any(|c| c.env_value("AZURE_CLIENT_ID").is_some());
    let mut c = Check::fail(String::new());
    let mut stale = Vec::new();
    for p in &f.pods {
        let mut why = Vec::new();
        let after = |written: Option<jiff::Timestamp>| match (written, p.created) {
            (Some(w), Some(c)) if w > c => Some(w),
            _ => None,
        };
        if want_label && p.labels.get(USE_LABEL).map(String::as_str) != Some("true") {
            why.push("created before the template got the label".to_string());
            if let Some(w) = after(f.workload.as_ref().and_then(|w| w.use_label_written)) {
                c = c.saw(
                    format!("{} label {USE_LABEL} written (managedFields)", t.source),
                    format!(
                        "{w}, after {} was created at {}",
                        p.name,
                        p.created.map(|c| c.to_string()).unwrap_or_default()
                    ),
                );
            }
            c = c.compare(
                format!("{} metadata.labels[{USE_LABEL}]", p.source),
                Some(p.labels.get(USE_LABEL).map(String::as_str).unwrap_or("(absent)")),
                Some("true"),
            );
        }
        if p.service_account() != t.service_account() {
            why.push(format!(
                "runs as {} while the template names {}",
                p.service_account(),
                t.service_account()
            ));
            c = c.compare(
                format!("{} spec.serviceAccountName", p.source),
                Some(p.service_account()),
                Some(t.service_account()),
            );
        }
        if let (Some(want), false) = (&want_cid, template_sets_cid) {
            for ct in p.app_containers() {
                if let Some(v) = ct.env_value("AZURE_CLIENT_ID").and_then(|e| e.value.clone())
                    && &v != want
                {
                    why.push("carries a client id the ServiceAccount no longer names (annotation changed after the pod was created)".to_string());
                    c = c.compare(
                        format!("{} container {} env AZURE_CLIENT_ID", p.source, ct.name),
                        Some(&v),
                        Some(want),
                    );
                    break;
                }
            }
        }
        // The ServiceAccount was annotated after the pod was created: the pod never got the
        // client id (WI108 would blame the webhook otherwise).
        let sa_written = f.service_account.get().and_then(|s| s.client_id_written);
        if let (Some(_), Some(w)) = (&want_cid, after(sa_written))
            && !template_sets_cid
            && p.app_containers().all(|ct| ct.env_value("AZURE_CLIENT_ID").is_none())
        {
            why.push("created before the ServiceAccount was annotated with the client id".to_string());
            c = c.saw(
                format!(
                    "serviceaccount/{} annotation {CLIENT_ID_ANNOTATION} written (managedFields)",
                    f.service_account_name()
                ),
                format!(
                    "{w}, after {} was created at {}",
                    p.name,
                    p.created.map(|c| c.to_string()).unwrap_or_default()
                ),
            );
        }
        if !why.is_empty() {
            stale.push(format!("{} {}", p.name, why.join(", ")));
        }
    }
    if stale.is_empty() {
        return Check::pass(format!(
            "{} running pod(s) match {} and the ServiceAccount",
            f.pods.len(),
            t.source
        ));
    }
    c.message = format!(
        "{} of {} pod(s) predate the fix ({}): the webhook mutates pods only when they are created, so restart them",
        stale.len(),
        f.pods.len(),
        short_list(stale, 2)
    );
    c.fix(
        "Restart the pods so the webhook sees the current configuration",
        f.restart_command(),
    )
}
