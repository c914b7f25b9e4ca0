//! WI110: AZURE_FEDERATED_TOKEN_FILE points into the projected token volume.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI110",
    link: Link::ServiceAccount,
    slug: "token_file_mounted",
    title: "AZURE_FEDERATED_TOKEN_FILE points into the projected token volume",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI110.md"),
    after: &["WI108"],
    requires: &[],
    check,
};

const V16: &str = "/var/run/secrets/azure/wi/token/azure-identity-token";
const V08: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

fn check(f: &Facts) -> Check {
    let mut c = Check::fail(String::new());
    let mut notes = Vec::new();
    for p in &f.pods {
        for ct in p.app_containers() {
            let Some(e) = ct.env_value("AZURE_FEDERATED_TOKEN_FILE") else {
                continue;
            };
            let Some(path) = &e.value else { continue };
            let served = ct.mounts.iter().any(|m| {
                p.token_projections.iter().any(|t| {
                    t.volume == m.volume
                        && match m.sub_path.as_deref().filter(|sp| !sp.is_empty()) {
                            // subPath mounts one file of the volume at mountPath itself.
                            Some(sp) => sp == t.path && &m.path == path,
                            None => &format!("{}/{}", m.path.trim_end_matches('/'), t.path) == path,
                        }
                })
            });
            if !served {
                let mounted: Vec<String> = ct
                    .mounts
                    .iter()
                    .filter_map(|m| {
                        p.token_projections
                            .iter()
                            .find(|t| t.volume == m.volume)
                            .map(|t| format!("{}/{}", m.path.trim_end_matches('/'), t.path))
                    })
                    .collect();
                notes.push(format!("{} container {}", p.source, ct.name));
                c = c.compare(
                    format!("{} container {} env AZURE_FEDERATED_TOKEN_FILE", p.source, ct.name),
                    Some(path),
                    Some(
                        &mounted
                            .first()
                            .cloned()
                            .unwrap_or_else(|| "a path inside the projected token mount".into()),
                    ),
                );
            }
        }
    }
    if let Some(t) = &f.template {
        for ct in t.app_containers() {
            if let Some(v) = ct.env_value("AZURE_FEDERATED_TOKEN_FILE").and_then(|e| e.value.clone())
                && f.pods.is_empty()
                && v != V16
                && v != V08
            {
                notes.push(format!("{} container {}", t.source, ct.name));
                c = c.compare(
                    format!(
                        "{} container {} env AZURE_FEDERATED_TOKEN_FILE (hand-set)",
                        t.source, ct.name
                    ),
                    Some(&v),
                    Some(V16),
                );
            }
        }
    }
    if notes.is_empty() {
        return Check::pass("AZURE_FEDERATED_TOKEN_FILE points at the projected token in every container that sets it");
    }
    c.message = format!(
        "AZURE_FEDERATED_TOKEN_FILE names a file no token volume provides in {} (a hand-set or hard-coded path: webhook v1.6 mounts {V16}, earlier versions {V08}); SDKs fail with \"no such file or directory\"",
        notes.join(", ")
    );
    let w = f.edit_target();
    c.fix(
        "Remove the hand-set AZURE_FEDERATED_TOKEN_FILE so the webhook's value applies, and read the path from the env var in code",
        format!("kubectl set env {w} -n {} AZURE_FEDERATED_TOKEN_FILE-", f.namespace()),
    )
}
