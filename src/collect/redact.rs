//! `wi collect --redact`: replace names, namespaces, GUIDs and issuer paths with consistent
//! pseudonyms, so a snapshot can go into a public ticket and still be diagnosed. The same input
//! maps to the same pseudonym everywhere in one snapshot (object names, label values, subjects,
//! issuer URLs, token claims), so every relationship the rules follow survives.
//!
//! Only string *values* change; keys (label and annotation keys, field names) are kept. Names
//! are replaced where they stand between separators (`/`, `:`, `.`, `-`, quotes, …), longest
//! first; well-known names (`default`, `kube-system`, the webhook's objects) are kept because
//! the rules depend on them and they identify no one.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Inventory;
use crate::facts::{WEBHOOK_DEPLOYMENT, WEBHOOK_NAME, WEBHOOK_SERVICE};

const KEEP: &[&str] = &[
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "azure-workload-identity-system",
    "azure-wi-webhook-mutating-webhook-configuration",
    "azure-wi-webhook-config",
    "azure-wi-webhook-admin",
    WEBHOOK_DEPLOYMENT,
    WEBHOOK_NAME,
    WEBHOOK_SERVICE,
    "kube-root-ca.crt",
];

pub struct Redactor {
    /// (original, pseudonym), longest original first.
    names: Vec<(String, String)>,
    guids: BTreeMap<String, String>,
}

impl Redactor {
    /// Learn what to hide from the collected objects.
    pub fn new(inv: &Inventory) -> Redactor {
        let mut namespaces = BTreeSet::new();
        let mut names = BTreeSet::new();
        let mut nodes = BTreeSet::new();
        let mut add_meta = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            if let Some(n) = &m.namespace {
                namespaces.insert(n.clone());
            }
            if let Some(n) = &m.name {
                names.insert(n.clone());
            }
            for o in m.owner_references.iter().flatten() {
                names.insert(o.name.clone());
            }
        };
        inv.pods.iter().for_each(|o| add_meta(&o.metadata));
        inv.service_accounts.iter().for_each(|o| add_meta(&o.metadata));
        inv.deployments.iter().for_each(|o| add_meta(&o.metadata));
        inv.replica_sets.iter().for_each(|o| add_meta(&o.metadata));
        inv.stateful_sets.iter().for_each(|o| add_meta(&o.metadata));
        inv.daemon_sets.iter().for_each(|o| add_meta(&o.metadata));
        inv.jobs.iter().for_each(|o| add_meta(&o.metadata));
        inv.cron_jobs.iter().for_each(|o| add_meta(&o.metadata));
        inv.events.iter().for_each(|o| add_meta(&o.metadata));
        inv.webhook_configurations.iter().for_each(|o| add_meta(&o.metadata));
        for n in &inv.namespaces {
            if let Some(n) = &n.metadata.name {
                namespaces.insert(n.clone());
            }
        }
        for n in &inv.nodes {
            if let Some(n) = &n.metadata.name {
                nodes.insert(n.clone());
            }
        }
        for p in &inv.pods {
            if let Some(s) = &p.spec {
                if let Some(n) = &s.node_name {
                    nodes.insert(n.clone());
                }
                if let Some(sa) = s.service_account_name.as_ref().or(s.service_account.as_ref()) {
                    names.insert(sa.clone());
                }
            }
        }
        // Azure: identities, clusters, vaults, storage accounts, app registrations, and the
        // resource groups their ids name.
        let mut azure: BTreeSet<String> = BTreeSet::new();
        let mut ids: Vec<String> = Vec::new();
        for i in &inv.managed_identities {
            azure.insert(i.name.clone());
            ids.push(i.id.clone());
        }
        for c in &inv.clusters {
            azure.insert(c.name.clone());
            ids.push(c.id.clone());
        }
        for k in &inv.key_vaults {
            azure.insert(k.name.clone());
            ids.push(k.id.clone());
        }
        for s in &inv.storage_accounts {
            azure.insert(s.name.clone());
            ids.push(s.id.clone());
        }
        for a in &inv.applications {
            azure.insert(a.display_name.clone());
        }
        for s in &inv.service_principals {
            azure.insert(s.display_name.clone());
        }
        for c in &inv.credentials {
            azure.insert(c.name.clone());
            ids.extend(c.parent.clone());
        }
        for r in &inv.role_assignments {
            ids.push(r.scope.clone());
        }
        for id in &ids {
            let parts: Vec<&str> = id.split('/').collect();
            for w in parts.windows(2) {
                if w[0].eq_ignore_ascii_case("resourceGroups") {
                    azure.insert(w[1].to_string());
                }
            }
            if let Some(last) = parts.last() {
                azure.insert((*last).to_string());
            }
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        let keep = |s: &str| KEEP.contains(&s) || s.len() < 3;
        for (i, n) in namespaces.iter().filter(|n| !keep(n)).enumerate() {
            pairs.push((n.clone(), format!("ns-{}", i + 1)));
        }
        for (i, n) in nodes.iter().filter(|n| !keep(n)).enumerate() {
            pairs.push((n.clone(), format!("node-{}", i + 1)));
        }
        for (i, n) in names
            .iter()
            .filter(|n| !keep(n) && !namespaces.contains(*n) && !nodes.contains(*n))
            .enumerate()
        {
            pairs.push((n.clone(), format!("name-{}", i + 1)));
        }
        let taken: BTreeSet<String> = pairs.iter().map(|(o, _)| o.clone()).collect();
        for (i, n) in azure
            .iter()
            .filter(|n| !keep(n) && !is_guid(n) && !taken.contains(*n))
            .enumerate()
        {
            pairs.push((n.clone(), format!("az-{}", i + 1)));
        }
        // Issuer paths (self-managed issuers carry storage accounts or org names in them).
        let issuers: BTreeSet<String> = inv
            .tokens
            .iter()
            .filter_map(|t| t.claims.get("iss").and_then(Value::as_str).map(str::to_string))
            .chain(inv.discovery.iter().filter_map(|d| d.issuer.clone()))
            .collect();
        let mut seg = 0;
        for iss in issuers {
            let Some(rest) = iss.strip_prefix("https://") else {
                continue;
            };
            for s in rest.split('/').skip(1).filter(|s| !s.is_empty() && !is_guid(s)) {
                if !pairs.iter().any(|(o, _)| o == s) && !keep(s) {
                    seg += 1;
                    pairs.push((s.to_string(), format!("path-{seg}")));
                }
            }
        }
        // Hosts that name the organisation: private image registries (`contosoacr.azurecr.io`)
        // and self-managed issuers (`contosooidc.blob.core.windows.net`). Their first label is
        // replaced; public registries and the AKS issuer hosts are kept.
        let mut hosts: BTreeSet<String> = BTreeSet::new();
        let mut templates: Vec<&k8s_openapi::api::core::v1::PodSpec> =
            inv.pods.iter().filter_map(|p| p.spec.as_ref()).collect();
        templates.extend(
            inv.deployments
                .iter()
                .filter_map(|d| d.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
        );
        templates.extend(inv.replica_sets.iter().filter_map(|d| {
            d.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
        }));
        templates.extend(
            inv.stateful_sets
                .iter()
                .filter_map(|d| d.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
        );
        templates.extend(
            inv.daemon_sets
                .iter()
                .filter_map(|d| d.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
        );
        templates.extend(
            inv.jobs
                .iter()
                .filter_map(|d| d.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
        );
        templates.extend(inv.cron_jobs.iter().filter_map(|d| {
            d.spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .and_then(|j| j.template.spec.as_ref())
        }));
        for spec in templates {
            for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
                if let Some(h) = c.image.as_deref().and_then(registry_host) {
                    hosts.insert(h);
                }
            }
        }
        hosts.extend(
            inv.tokens
                .iter()
                .filter_map(|t| t.claims.get("iss").and_then(Value::as_str).map(str::to_string))
                .chain(inv.discovery.iter().filter_map(|d| d.issuer.clone()))
                .filter_map(|iss| {
                    let host = iss
                        .strip_prefix("https://")?
                        .split(['/', ':'])
                        .next()?
                        .to_ascii_lowercase();
                    (!PUBLIC_HOSTS
                        .iter()
                        .any(|p| host == *p || host.ends_with(&format!(".{p}"))))
                    .then_some(host)
                }),
        );
        let mut h = 0;
        for host in hosts {
            let Some(label) = host.split('.').next() else { continue };
            if label.len() < 3 || pairs.iter().any(|(o, _)| o == label) {
                continue;
            }
            h += 1;
            pairs.push((label.to_string(), format!("host-{h}")));
        }
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Redactor {
            names: pairs,
            guids: BTreeMap::new(),
        }
    }

    /// The pseudonym of a name, if it has one.
    pub fn name(&self, s: &str) -> String {
        self.names
            .iter()
            .find(|(o, _)| o == s)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| s.to_string())
    }

    /// Redact every string value below `v` (keys are kept).
    pub fn value(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(m) => m.values_mut().for_each(|x| self.value(x)),
            _ => {}
        }
    }

    pub fn text(&mut self, s: &str) -> String {
        let mut out = self.guids_in(s);
        for (orig, pseudo) in &self.names {
            out = replace_bounded(&out, orig, pseudo);
        }
        out
    }

    fn guids_in(&mut self, s: &str) -> String {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < b.len() {
            if i + 36 <= b.len() && s.is_char_boundary(i) && s.is_char_boundary(i + 36) && is_guid(&s[i..i + 36]) {
                let g = s[i..i + 36].to_ascii_lowercase();
                let n = self.guids.len() + 1;
                let p = self
                    .guids
                    .entry(g)
                    .or_insert_with(|| format!("00000000-0000-4000-8000-{n:012}"))
                    .clone();
                out.push_str(&p);
                i += 36;
            } else {
                let ch = s[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
        out
    }
}

/// Registries and issuer hosts that identify no one.
const PUBLIC_HOSTS: &[&str] = &[
    "docker.io",
    "mcr.microsoft.com",
    "ghcr.io",
    "quay.io",
    "registry.k8s.io",
    "gcr.io",
    "k8s.gcr.io",
    "public.ecr.aws",
    "oic.prod-aks.azure.com",
    "oidc.prod-aks.azure.com",
    "oic.prod-arc.azure.com",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// The registry host of an image reference, when it names a private registry
/// (`contosoacr.azurecr.io/payments/api:1` → `contosoacr.azurecr.io`; `nginx:1` → none).
fn registry_host(image: &str) -> Option<String> {
    let (first, _) = image.split_once('/')?;
    let is_host = first.contains('.') || first.contains(':') || first == "localhost";
    let host = first.split(':').next()?.to_ascii_lowercase();
    (is_host
        && !PUBLIC_HOSTS
            .iter()
            .any(|p| host == *p || host.ends_with(&format!(".{p}"))))
    .then_some(host)
}

fn is_guid(s: &str) -> bool {
    crate::rules::support::is_guid(s)
}

/// Replace `from` where it is not part of a longer name (letters and digits around it).
fn replace_bounded(s: &str, from: &str, to: &str) -> String {
    if from.is_empty() || !s.contains(from) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut prev: Option<char> = None;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().last().or(if at == 0 { prev } else { None });
        let after = rest[at + from.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        prev = from.chars().last();
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_managed_issuer_host_is_hidden_and_aks_hosts_are_kept() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let jwt = |iss: &str| {
            format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256"}"#),
                b64(&format!(r#"{{"iss":"{iss}","sub":"system:serviceaccount:a:b"}}"#))
            )
        };
        let mut inv = Inventory::default();
        for iss in [
            "https://contosooidc.blob.core.windows.net/oidc/",
            "https://westeurope.oic.prod-aks.azure.com/t/c/",
        ] {
            inv.tokens
                .push(crate::collect::token::decode(&jwt(iss), "t").expect("jwt"));
        }
        let mut r = Redactor::new(&inv);
        let a = r.text("https://contosooidc.blob.core.windows.net/oidc/");
        assert!(!a.contains("contosooidc"), "{a}");
        assert!(
            a.ends_with(".blob.core.windows.net/path-1/") || a.contains(".blob.core.windows.net/"),
            "{a}"
        );
        assert!(
            r.text("https://westeurope.oic.prod-aks.azure.com/")
                .contains("westeurope")
        );
    }

    #[test]
    fn registry_hosts() {
        assert_eq!(
            registry_host("contosoacr.azurecr.io/payments/api:1").as_deref(),
            Some("contosoacr.azurecr.io")
        );
        assert_eq!(registry_host("localhost:5000/api").as_deref(), Some("localhost"));
        assert_eq!(registry_host("nginx:1.27"), None);
        assert_eq!(registry_host("library/nginx"), None);
        assert_eq!(
            registry_host("mcr.microsoft.com/oss/azure/workload-identity/webhook:v1.6.0"),
            None
        );
        assert_eq!(registry_host("docker.io/library/nginx"), None);
    }

    #[test]
    fn bounded_replacement() {
        assert_eq!(
            replace_bounded("system:serviceaccount:payments:checkout-api", "payments", "ns-1"),
            "system:serviceaccount:ns-1:checkout-api"
        );
        assert_eq!(replace_bounded("paymentsx", "payments", "ns-1"), "paymentsx");
        assert_eq!(
            replace_bounded("checkout-api-7d9f-x", "checkout-api", "name-1"),
            "name-1-7d9f-x"
        );
    }

    #[test]
    fn guids_map_consistently() {
        let mut r = Redactor {
            names: vec![],
            guids: BTreeMap::new(),
        };
        let a = r.text("https://x/2B7D9E1F-3C4A-4B5D-8E6F-7A8B9C0D1E2F/abc");
        let b = r.text("2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f");
        assert_eq!(a, "https://x/00000000-0000-4000-8000-000000000001/abc");
        assert_eq!(b, "00000000-0000-4000-8000-000000000001");
    }
}
