//! WI102: the workload identity mutating webhook is installed, once.
use std::collections::BTreeSet;

use super::{Check, Rule, Severity};
use crate::facts::{ClusterKind, Fact, Facts};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI102",
    link: Link::ServiceAccount,
    slug: "webhook_installed",
    title: "The workload identity mutating webhook is installed (once)",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI102.md"),
    after: &[],
    requires: &[],
    check,
};

/// Whether any running pod carries what only the webhook injects.
pub fn pods_were_mutated(f: &Facts) -> bool {
    f.pods.iter().any(|p| {
        p.app_containers()
            .any(|c| c.env_value("AZURE_FEDERATED_TOKEN_FILE").is_some())
            && !p.token_projections.is_empty()
    })
}

fn install_fix(f: &Facts) -> (String, String) {
    match f.cluster.get() {
        Some(c) if c.kind == ClusterKind::Aks => (
            "Enable the AKS workload identity add-on".into(),
            format!(
                "az aks update -g {} -n {} --enable-oidc-issuer --enable-workload-identity",
                c.resource_group.as_deref().unwrap_or("<rg>"),
                c.name
            ),
        ),
        Some(c) => (
            "Enable workload identity on the Arc-connected cluster".into(),
            format!(
                "az connectedk8s update -g {} -n {} --enable-oidc-issuer --enable-workload-identity",
                c.resource_group.as_deref().unwrap_or("<rg>"),
                c.name
            ),
        ),
        None => (
            "Install the webhook (AKS: az aks update -g <rg> -n <cluster> --enable-oidc-issuer --enable-workload-identity)".into(),
            "helm install workload-identity-webhook azure-workload-identity/workload-identity-webhook -n azure-workload-identity-system --create-namespace --set azureTenantID=<tenantId>".into(),
        ),
    }
}

fn check(f: &Facts) -> Check {
    match &f.webhooks {
        Fact::Found { value } => {
            let namespaces: BTreeSet<String> = value.iter().filter_map(|w| w.service_namespace.clone()).collect();
            if namespaces.len() > 1 {
                let mut c = Check::fail(format!(
                    "two workload identity webhooks are installed (services in {}): the AKS add-on and a Helm/OSS install collide on cluster-scoped objects",
                    namespaces.iter().cloned().collect::<Vec<_>>().join(" and ")
                ));
                for w in value {
                    c = c.saw(
                        format!("mutatingwebhookconfiguration/{} webhook {}", w.configuration, w.name),
                        format!(
                            "service {}/{}",
                            w.service_namespace.as_deref().unwrap_or("?"),
                            w.service_name.as_deref().unwrap_or("?")
                        ),
                    );
                }
                return c
                    .fix(
                        "Keep the AKS add-on: remove the Helm install",
                        "helm uninstall workload-identity-webhook -n azure-workload-identity-system",
                    )
                    .fix(
                        "Or keep the Helm install: disable the add-on",
                        match f.cluster.get() {
                            Some(cl) => format!(
                                "az aks update -g {} -n {} --disable-workload-identity",
                                cl.resource_group.as_deref().unwrap_or("<rg>"),
                                cl.name
                            ),
                            None => "az aks update -g <rg> -n <cluster> --disable-workload-identity".into(),
                        },
                    );
            }
            let w = &value[0];
            Check::pass(format!(
                "mutatingwebhookconfiguration/{} routes pods to {}/{}",
                w.configuration,
                w.service_namespace.as_deref().unwrap_or("?"),
                w.service_name.as_deref().unwrap_or("?")
            ))
        }
        Fact::Absent { searched } => {
            let mut c = Check::fail("no MutatingWebhookConfiguration for workload identity: labelled pods are created without the injected env and token")
                .saw("MutatingWebhookConfigurations", searched.clone());
            if let Some(cl) = f.cluster.get()
                && let Some(enabled) = cl.workload_identity_enabled
            {
                c = c.saw(
                    format!("{} securityProfile.workloadIdentity.enabled", cl.source),
                    enabled.to_string(),
                );
            }
            let (t, cmd) = install_fix(f);
            c.fix(t, cmd)
        }
        Fact::Unknown { .. } => {
            if let Some(cl) = f.cluster.get()
                && cl.workload_identity_enabled == Some(true)
            {
                return Check::pass(format!(
                    "{} has securityProfile.workloadIdentity.enabled: true (the add-on installs the webhook)",
                    cl.name
                ))
                .saw(
                    format!("{} securityProfile.workloadIdentity.enabled", cl.source),
                    "true",
                );
            }
            if pods_were_mutated(f) {
                return Check::pass(
                    "the running pods carry the webhook's env and token volume, so a webhook mutated them (no MutatingWebhookConfiguration in the snapshot)",
                );
            }
            Check::from_unknown("webhook configuration", &f.webhooks)
        }
    }
}
