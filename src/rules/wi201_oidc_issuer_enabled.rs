//! WI201: the cluster's OIDC issuer is enabled and public.
use super::{Check, Rule, Severity};
use crate::facts::{Cluster, ClusterKind, Facts};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI201",
    link: Link::Issuer,
    slug: "oidc_issuer_enabled",
    title: "The cluster's OIDC issuer is enabled and is a public https URL",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI201.md"),
    after: &[],
    requires: &[],
    check,
};

/// An issuer Entra can never fetch: not https, or the in-cluster default.
pub fn private_issuer(iss: &str) -> Option<&'static str> {
    if !iss.starts_with("https://") {
        return Some("is not an https URL");
    }
    let host = iss["https://".len()..].split(['/', ':']).next().unwrap_or("");
    if host == "kubernetes.default.svc"
        || host.ends_with(".svc.cluster.local")
        || host.ends_with(".svc")
        || host == "localhost"
    {
        return Some("is the API server's in-cluster default, not a public OIDC issuer");
    }
    None
}

fn enable_fix(c: &Cluster) -> (String, String) {
    let rg = c.resource_group.as_deref().unwrap_or("<rg>");
    match c.kind {
        ClusterKind::Aks => (
            "Enable the OIDC issuer (this changes the issuer URL: restart pods and recreate federated credentials after)".into(),
            format!("az aks update -g {rg} -n {} --enable-oidc-issuer", c.name),
        ),
        ClusterKind::Arc => (
            "Enable the OIDC issuer on the connected cluster".into(),
            format!("az connectedk8s update -g {rg} -n {} --enable-oidc-issuer", c.name),
        ),
    }
}

fn check(f: &Facts) -> Check {
    let token_iss = f.token.get().and_then(|t| t.iss.clone());
    if let Some(c) = f.cluster.get() {
        let issuer = c.effective_issuer();
        if c.oidc_issuer_enabled == Some(false) || issuer.is_none() {
            let (t, cmd) = enable_fix(c);
            let mut ch = Check::fail(format!(
                "{} has no OIDC issuer: tokens carry the in-cluster issuer, which Entra cannot verify",
                c.name
            ))
            .compare(
                format!("{} oidcIssuerProfile.enabled", c.source),
                Some(
                    &c.oidc_issuer_enabled
                        .map(|b| b.to_string())
                        .unwrap_or_else(|| "(absent)".into()),
                ),
                Some("true"),
            );
            if let Some(iss) = &token_iss {
                ch = ch.saw(
                    format!("{} iss", f.token.get().map(|t| t.source.as_str()).unwrap_or("token")),
                    iss.clone(),
                );
            }
            return ch.fix(t, cmd);
        }
        let issuer = issuer.unwrap_or_default();
        if let Some(why) = private_issuer(issuer) {
            return Check::fail(format!("{}'s issuer {issuer} {why}", c.name))
                .saw(format!("{} oidcIssuerProfile.issuerUrl", c.source), issuer);
        }
        return Check::pass(format!("{} issues tokens as {issuer}", c.name))
            .saw(format!("{} oidcIssuerProfile.issuerUrl", c.source), issuer);
    }
    if let Some(iss) = &token_iss {
        if let Some(why) = private_issuer(iss) {
            return Check::fail(format!(
                "the token's issuer {iss} {why}: enable the cluster's OIDC issuer (AKS: az aks update --enable-oidc-issuer; self-managed/K3s: set --service-account-issuer to the public issuer URL)"
            ))
            .saw(format!("{} iss", f.token.get().map(|t| t.source.as_str()).unwrap_or("token")), iss.clone())
            .fix("AKS", "az aks update -g <rg> -n <cluster> --enable-oidc-issuer")
            .fix("Self-managed or K3s (Arc)", "kube-apiserver --service-account-issuer=<public issuer URL>   # K3s: kube-apiserver-arg in /etc/rancher/k3s/config.yaml, then restart k3s");
        }
        return Check::pass(format!(
            "the token's issuer {iss} is a public https URL (the cluster object is not in the facts)"
        ));
    }
    Check::from_unknown("cluster OIDC issuer", &f.cluster)
}
