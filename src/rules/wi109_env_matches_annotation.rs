//! WI109: hand-set AZURE_CLIENT_ID / AZURE_TENANT_ID agree with the ServiceAccount.
use super::{Check, Rule, Severity};
use crate::facts::{CLIENT_ID_ANNOTATION, Facts, PodView, TENANT_ID_ANNOTATION};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI109",
    link: Link::ServiceAccount,
    slug: "env_matches_annotation",
    title: "Container AZURE_CLIENT_ID and AZURE_TENANT_ID equal the ServiceAccount annotations",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI109.md"),
    after: &["WI107", "WI108", "WI114"],
    requires: &["WI106"],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(sa) = f.service_account.get() else {
        return Check::from_unknown("ServiceAccount annotations", &f.service_account);
    };
    let want_cid = sa.annotations.get(CLIENT_ID_ANNOTATION).map(|s| s.trim().to_string());
    let want_tid = sa
        .annotations
        .get(TENANT_ID_ANNOTATION)
        .cloned()
        .or(f.webhook_tenant.clone());
    // The template shows what users set by hand; a pod without a template in the facts is
    // judged as it is (WI114 owns "pod older than its template").
    let subjects: Vec<&PodView> = match &f.template {
        Some(t) => vec![t],
        None => f.pods.iter().collect(),
    };
    let mut c = Check::fail(String::new());
    let mut notes = Vec::new();
    for p in subjects {
        for ct in p.app_containers() {
            for (var, want) in [("AZURE_CLIENT_ID", &want_cid), ("AZURE_TENANT_ID", &want_tid)] {
                let Some(e) = ct.env_value(var) else { continue };
                let Some(want) = want else { continue };
                match &e.value {
                    Some(v) if v == want => {}
                    Some(v) => {
                        notes.push(format!("{} container {} sets {var}={v}", p.source, ct.name));
                        c = c.compare(
                            format!("{} container {} env {var}", p.source, ct.name),
                            Some(v),
                            Some(want),
                        );
                    }
                    None => {
                        notes.push(format!(
                            "{} container {} takes {var} from {}",
                            p.source,
                            ct.name,
                            e.from.as_deref().unwrap_or("valueFrom")
                        ));
                        c = c.compare(
                            format!("{} container {} env {var}", p.source, ct.name),
                            Some(&format!("({})", e.from.as_deref().unwrap_or("valueFrom"))),
                            Some(want),
                        );
                    }
                }
            }
        }
    }
    if notes.is_empty() {
        return Check::pass("no container overrides the client or tenant id the ServiceAccount names");
    }
    c.message = format!(
        "{}; the webhook never overwrites an env var a container already defines, so the pod authenticates as something other than serviceaccount/{} names",
        notes.join("; "),
        sa.name
    );
    let w = f.edit_target();
    c.fix(
        "Remove the hand-set AZURE_* entries from the manifest (Helm values, old pod-identity config), then roll out",
        format!(
            "kubectl set env {w} -n {} AZURE_CLIENT_ID- AZURE_TENANT_ID-",
            f.namespace()
        ),
    )
}
