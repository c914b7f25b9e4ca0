//! WI105: the pod runs as the ServiceAccount that names the identity.
use super::{
    Check, Rule, Severity,
    support::{sh, short_list},
};
use crate::facts::{CLIENT_ID_ANNOTATION, Facts, WorkloadKind};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI105",
    link: Link::ServiceAccount,
    slug: "service_account_name",
    title: "The pod runs as the ServiceAccount that names the identity",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI105.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    if f.target.kind == WorkloadKind::ServiceAccount {
        return Check::skip("the target is a ServiceAccount");
    }
    let Some(subject) = f.template.as_ref().or(f.pods.first()) else {
        return f.no_subject();
    };
    let sa = subject.service_account();
    let own_annotated = f
        .service_account
        .get()
        .is_some_and(|s| s.annotations.contains_key(CLIENT_ID_ANNOTATION));
    if sa == "default" && !own_annotated && !f.annotated_service_accounts.is_empty() {
        let candidates: Vec<String> = f.annotated_service_accounts.iter().map(|s| s.name.clone()).collect();
        let intended = &candidates[0];
        let mut c = Check::fail(format!(
            "{} runs as ServiceAccount \"default\" ({}), which names no identity, while {} in namespace {} carries {CLIENT_ID_ANNOTATION}",
            subject.source,
            if subject.service_account_name.is_none() { "serviceAccountName is unset" } else { "serviceAccountName: default" },
            short_list(candidates.iter().map(|c| format!("serviceaccount/{c}")), 3),
            f.namespace()
        ))
        .compare(format!("{} spec.serviceAccountName", subject.source), Some(subject.service_account_name.as_deref().unwrap_or("(unset: default)")), Some(intended));
        if let Some(w) = f.workload_ref() {
            let patch = if f.workload.as_ref().is_some_and(|w| w.kind == WorkloadKind::CronJob) {
                format!(
                    r#"{{"spec":{{"jobTemplate":{{"spec":{{"template":{{"spec":{{"serviceAccountName":"{intended}"}}}}}}}}}}}}"#
                )
            } else {
                format!(r#"{{"spec":{{"template":{{"spec":{{"serviceAccountName":"{intended}"}}}}}}}}"#)
            };
            c = c.fix(
                format!("Run {w} as {intended}"),
                format!("kubectl patch {w} -n {} --type merge -p {}", f.namespace(), sh(&patch)),
            );
        } else {
            c = c.fix("Set spec.serviceAccountName in the pod manifest and recreate the pod", format!("kubectl get pod {} -n {} -o yaml > pod.yaml   # set spec.serviceAccountName: {intended}, then: kubectl replace --force -f pod.yaml", f.target.name, f.namespace()));
        }
        return c;
    }
    Check::pass(format!("{} runs as ServiceAccount {sa}", subject.source))
}
