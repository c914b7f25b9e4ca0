//! Write an [`Inventory`] as a snapshot directory, in the formats the snapshot reader accepts:
//! kubectl-style YAML per kind, the issuer's discovery document and JWKS, the token as decoded
//! claims (never the token itself) with the signature verdict reached while it was in memory,
//! and a manifest (`wi-snapshot.yaml`) recording what could not be read and why.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use super::Inventory;
use super::redact::Redactor;
use crate::facts::TargetRef;

/// Write `inv` below `dir` (created if needed; existing wi files are replaced). With
/// `redact`, names, namespaces, GUIDs and issuer paths become consistent pseudonyms; the
/// target as written (pseudonymised or not) is returned with the file list.
pub fn write(
    dir: &Path,
    inv: &Inventory,
    target: &TargetRef,
    redact: bool,
) -> Result<(Vec<String>, TargetRef), String> {
    let mut red = redact.then(|| Redactor::new(inv));
    let written_target = match &red {
        Some(r) => TargetRef {
            kind: target.kind,
            namespace: r.name(&target.namespace),
            name: r.name(&target.name),
        },
        None => target.clone(),
    };
    let mut files: Vec<(String, String)> = Vec::new();
    let doc = |v: Value, red: &mut Option<Redactor>| -> Result<String, String> {
        let mut v = v;
        if let Some(r) = red.as_mut() {
            r.value(&mut v);
        }
        serde_yaml_ng::to_string(&v).map_err(|e| e.to_string())
    };
    macro_rules! kind {
        ($field:ident, $file:literal) => {
            if !inv.$field.is_empty() {
                let mut docs = Vec::with_capacity(inv.$field.len());
                for o in &inv.$field {
                    docs.push(doc(
                        serde_json::to_value(o).map_err(|e| e.to_string())?,
                        &mut red,
                    )?);
                }
                files.push((concat!("k8s/", $file, ".yaml").to_string(), docs.join("---\n")));
            }
        };
    }
    kind!(pods, "pods");
    kind!(service_accounts, "serviceaccounts");
    kind!(namespaces, "namespaces");
    kind!(deployments, "deployments");
    kind!(replica_sets, "replicasets");
    kind!(stateful_sets, "statefulsets");
    kind!(daemon_sets, "daemonsets");
    kind!(jobs, "jobs");
    kind!(cron_jobs, "cronjobs");
    kind!(webhook_configurations, "mutatingwebhookconfigurations");
    kind!(nodes, "nodes");
    kind!(events, "events");
    kind!(config_maps, "configmaps");
    // Azure objects, in the ARM and Graph shapes the reader takes.
    {
        use super::azure as a;
        let sub = inv
            .role_assignments
            .iter()
            .find_map(|r| a::arm_segment(&r.scope, "subscriptions"))
            .unwrap_or_default();
        let (mi_fics, app_fics): (Vec<_>, Vec<_>) = inv
            .credentials
            .iter()
            .partition(|c| c.parent.as_deref().is_some_and(|p| p.starts_with("/subscriptions/")));
        let mut az: Vec<(String, Option<Value>)> = vec![
            ("azure/clusters.json".into(), value_list(&inv.clusters, a::arm_cluster)),
            (
                "azure/identities.json".into(),
                value_list(&inv.managed_identities, a::arm_identity),
            ),
            (
                "azure/federated-credentials.json".into(),
                value_list(&mi_fics, |c| a::arm_credential_doc(c)),
            ),
            (
                "graph/applications.json".into(),
                value_list(&inv.applications, a::graph_application),
            ),
            (
                "graph/service-principals.json".into(),
                value_list(&inv.service_principals, a::graph_service_principal),
            ),
            (
                "azure/role-assignments.json".into(),
                value_list(&inv.role_assignments, |r| a::arm_role_assignment(r, &sub)),
            ),
            (
                "azure/role-definitions.json".into(),
                value_list(&inv.role_definitions, |d| a::arm_role_definition(d, &sub)),
            ),
            (
                "azure/deny-assignments.json".into(),
                value_list(&inv.deny_assignments, a::arm_deny_assignment),
            ),
            (
                "azure/key-vaults.json".into(),
                value_list(&inv.key_vaults, a::arm_key_vault),
            ),
            (
                "azure/storage-accounts.json".into(),
                value_list(&inv.storage_accounts, a::arm_storage),
            ),
        ];
        // Graph names an app's credentials only through the list's context: one file per app.
        for (i, app) in inv.applications.iter().enumerate() {
            let mine: Vec<_> = app_fics
                .iter()
                .copied()
                .filter(|c| c.parent.as_deref().is_none_or(|p| p == app.object_id))
                .collect();
            if !mine.is_empty() {
                let doc = a::graph_credentials(&app.object_id, &mine, "https://graph.microsoft.com");
                az.push((format!("graph/app-federated-credentials{}.json", suffix(i)), Some(doc)));
            }
        }
        for (rel, v) in az {
            let Some(mut v) = v else { continue };
            if let Some(r) = red.as_mut() {
                r.value(&mut v);
            }
            files.push((rel.to_string(), pretty(&v)));
        }
    }
    for (i, d) in inv.discovery.iter().enumerate() {
        let mut v = json!({
            "issuer": d.issuer,
            "jwks_uri": d.jwks_uri,
            "id_token_signing_alg_values_supported": d.algs,
            "x-wi-source": d.source,
        });
        if let Some(r) = red.as_mut() {
            r.value(&mut v);
        }
        files.push((format!("oidc/openid-configuration{}.json", suffix(i)), pretty(&v)));
    }
    // Public keys identify no one: the JWKS is written as read.
    for (i, j) in inv.jwks.iter().enumerate() {
        files.push((
            format!("oidc/jwks{}.json", suffix(i)),
            pretty(&json!({ "keys": j.keys, "x-wi-source": j.source })),
        ));
    }
    let jwks = inv.jwks.first();
    // The issuer as fetched from outside, with the signature verdict reached while the raw
    // token was in hand (the snapshot keeps decoded claims only).
    if let Some(x) = &inv.external_issuer {
        let mut fact = x.fact.clone();
        let token = inv
            .tokens
            .iter()
            .find(|t| t.claims.get("iss").and_then(Value::as_str) == Some(fact.issuer_url.as_str()));
        if let Some(t) = token.filter(|t| t.raw.is_some() && !x.keys.is_empty()) {
            let public = super::token::JwksFile {
                source: fact.jwks_uri.clone().unwrap_or_default(),
                keys: x.keys.clone(),
            };
            fact.signature = t.verify(Some(&public)).get().cloned();
        }
        let mut v = json!({
            "apiVersion": "wi/v1",
            "kind": "ExternalIssuerFetch",
            "fetch": fact,
        });
        if let Some(r) = red.as_mut() {
            r.value(&mut v);
        }
        // Public keys identify no one: written as read, like the JWKS.
        v["keys"] = json!(x.keys);
        files.push(("oidc/external.yaml".into(), doc(v, &mut None)?));
    }
    for (i, t) in inv.tokens.iter().enumerate() {
        let fact = t.to_fact(jwks);
        let signature = match &fact.signature {
            crate::facts::Fact::Found { value } => serde_json::to_value(value).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let v = json!({
            "apiVersion": "wi/v1",
            "kind": "TokenClaims",
            "source": t.source,
            "header": t.header,
            "claims": t.claims,
            "signature": signature,
        });
        files.push((format!("token/claims{}.yaml", suffix(i)), doc(v, &mut red)?));
    }
    let manifest = inv.manifest.clone().unwrap_or_default();
    let mut m = serde_json::to_value(&manifest).map_err(|e| e.to_string())?;
    if let Value::Object(o) = &mut m {
        o.insert("apiVersion".into(), json!("wi/v1"));
        o.insert("kind".into(), json!("SnapshotManifest"));
        o.insert(
            "target".into(),
            json!({"kind": target.kind.kind_name(), "namespace": target.namespace, "name": target.name}),
        );
        o.insert("redacted".into(), json!(redact));
    }
    files.push(("wi-snapshot.yaml".into(), doc(m, &mut red)?));

    let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let mut written = Vec::with_capacity(files.len());
    for (rel, text) in files {
        let p = dir.join(&rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
        }
        fs::write(&p, text).map_err(|e| err(&p, e))?;
        written.push(rel);
    }
    Ok((written, written_target))
}

/// `{"value": [...]}` of the rendered items, or `None` for no items (no file).
fn value_list<T>(items: &[T], f: impl Fn(&T) -> Value) -> Option<Value> {
    (!items.is_empty()).then(|| json!({ "value": items.iter().map(f).collect::<Vec<_>>() }))
}

fn suffix(i: usize) -> String {
    if i == 0 { String::new() } else { format!("-{}", i + 1) }
}

fn pretty(v: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}
