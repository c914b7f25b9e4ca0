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
        let mut az: Vec<(&str, Value)> = Vec::new();
        if !inv.clusters.is_empty() {
            az.push((
                "azure/clusters.json",
                json!({"value": inv.clusters.iter().map(a::arm_cluster).collect::<Vec<_>>()}),
            ));
        }
        if !inv.managed_identities.is_empty() {
            az.push((
                "azure/identities.json",
                json!({"value": inv.managed_identities.iter().map(a::arm_identity).collect::<Vec<_>>()}),
            ));
        }
        let (mi_fics, app_fics): (Vec<_>, Vec<_>) = inv
            .credentials
            .iter()
            .partition(|c| c.parent.as_deref().is_some_and(|p| p.starts_with("/subscriptions/")));
        if !mi_fics.is_empty() {
            az.push((
                "azure/federated-credentials.json",
                json!({"value": mi_fics.iter().map(|c| a::arm_credential_doc(c)).collect::<Vec<_>>()}),
            ));
        }
        for app in &inv.applications {
            let mine: Vec<_> = app_fics
                .iter()
                .copied()
                .filter(|c| c.parent.as_deref().is_none_or(|p| p == app.object_id))
                .collect();
            if !mine.is_empty() {
                az.push((
                    "graph/app-federated-credentials.json",
                    a::graph_credentials(&app.object_id, &mine, "https://graph.microsoft.com"),
                ));
            }
        }
        if !inv.applications.is_empty() {
            az.push((
                "graph/applications.json",
                json!({"value": inv.applications.iter().map(a::graph_application).collect::<Vec<_>>()}),
            ));
        }
        if !inv.service_principals.is_empty() {
            az.push((
                "graph/service-principals.json",
                json!({"value": inv.service_principals.iter().map(a::graph_service_principal).collect::<Vec<_>>()}),
            ));
        }
        if !inv.role_assignments.is_empty() {
            az.push(("azure/role-assignments.json", json!({"value": inv.role_assignments.iter().map(|r| a::arm_role_assignment(r, &sub)).collect::<Vec<_>>()})));
        }
        if !inv.role_definitions.is_empty() {
            az.push(("azure/role-definitions.json", json!({"value": inv.role_definitions.iter().map(|d| a::arm_role_definition(d, &sub)).collect::<Vec<_>>()})));
        }
        if !inv.deny_assignments.is_empty() {
            az.push((
                "azure/deny-assignments.json",
                json!({"value": inv.deny_assignments.iter().map(a::arm_deny_assignment).collect::<Vec<_>>()}),
            ));
        }
        if !inv.key_vaults.is_empty() {
            az.push((
                "azure/key-vaults.json",
                json!({"value": inv.key_vaults.iter().map(a::arm_key_vault).collect::<Vec<_>>()}),
            ));
        }
        if !inv.storage_accounts.is_empty() {
            az.push((
                "azure/storage-accounts.json",
                json!({"value": inv.storage_accounts.iter().map(a::arm_storage).collect::<Vec<_>>()}),
            ));
        }
        for (rel, mut v) in az {
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

fn suffix(i: usize) -> String {
    if i == 0 { String::new() } else { format!("-{}", i + 1) }
}

fn pretty(v: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}
