//! WI116: the tenant-id annotation, when set, is usable.
use super::{Check, Rule, Severity, support::is_guid};
use crate::facts::{Facts, TENANT_ID_ANNOTATION};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI116",
    link: Link::ServiceAccount,
    slug: "tenant_id_annotation",
    title: "The tenant-id annotation, when set, is a GUID or domain",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI116.md"),
    after: &[],
    requires: &["WI106"],
    check,
};

fn domain(s: &str) -> bool {
    s.contains('.')
        && s.split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn check(f: &Facts) -> Check {
    let Some(sa) = f.service_account.get() else {
        return Check::from_unknown("ServiceAccount", &f.service_account);
    };
    let Some(v) = sa.annotations.get(TENANT_ID_ANNOTATION) else {
        return Check::pass(format!("serviceaccount/{} uses the webhook's default tenant", sa.name));
    };
    if is_guid(v) || domain(v) {
        return Check::pass(format!("serviceaccount/{} names tenant {v}", sa.name));
    }
    // The identity's tenant when the facts know it (the single identity of the snapshot).
    let tenant = f
        .identity
        .get()
        .and_then(|i| i.tenant_id.clone())
        .or_else(|| match f.known_identities.as_slice() {
            [one] => one.tenant_id.clone(),
            _ => None,
        })
        .unwrap_or_else(|| "<tenantId>".into());
    let fix = format!(
        "kubectl annotate serviceaccount {} -n {} {TENANT_ID_ANNOTATION}={tenant} --overwrite && {}",
        sa.name,
        sa.namespace,
        f.restart_command()
    );
    let msg = if v.trim().is_empty() {
        format!(
            "serviceaccount/{} has an empty {TENANT_ID_ANNOTATION}: the key wins over the webhook default, so no AZURE_TENANT_ID is injected (\"no tenant ID specified\")",
            sa.name
        )
    } else {
        format!(
            "serviceaccount/{}'s {TENANT_ID_ANNOTATION} is {v:?}, neither a GUID nor a domain: Entra answers AADSTS900023 or AADSTS90002",
            sa.name
        )
    };
    Check::fail(msg)
        .compare(
            format!("serviceaccount/{} annotation {TENANT_ID_ANNOTATION}", sa.name),
            Some(v),
            Some("<tenant GUID>"),
        )
        .fix(
            "Set the identity's tenant (or remove the annotation to use the webhook default)",
            fix,
        )
}
