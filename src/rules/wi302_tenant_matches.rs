//! WI302: the pod authenticates against the identity's tenant.
use super::{Check, Rule, Severity};
use crate::facts::{Facts, TENANT_ID_ANNOTATION};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI302",
    link: Link::FederatedCredential,
    slug: "tenant_matches",
    title: "The pod's tenant is the identity's tenant",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI302.md"),
    after: &["WI116"],
    requires: &["WI301"],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(i) = f.identity.get() else {
        return Check::from_unknown("identity", &f.identity);
    };
    let Some(want) = &i.tenant_id else {
        return Check::skip(format!("the facts do not record the tenant of {}", i.display()));
    };
    let Some((got, source)) = f.pod_tenant() else {
        return Check::unknown(
            "the facts hold neither a tenant-id annotation, nor AZURE_TENANT_ID in a pod, nor the webhook's default tenant",
            Some("kubectl get configmap azure-wi-webhook-config -n kube-system -o yaml".into()),
        );
    };
    if got.eq_ignore_ascii_case(want) {
        return Check::pass(format!(
            "the pods authenticate against tenant {want}, the tenant of {}",
            i.display()
        ));
    }
    Check::fail(format!(
        "the pods ask tenant {got} for a token, but {} lives in tenant {want}: Entra answers AADSTS700016 (application not found in the directory)",
        i.display()
    ))
    .compare(source, Some(&got), Some(want))
    .fix(
        "Name the identity's tenant on the ServiceAccount",
        format!(
            "kubectl annotate serviceaccount {} -n {} {TENANT_ID_ANNOTATION}={want} --overwrite && {}",
            f.service_account_name(),
            f.namespace(),
            f.restart_command()
        ),
    )
}
