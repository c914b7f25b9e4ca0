//! Write an [`Inventory`] as a snapshot directory, in the formats the snapshot reader accepts:
//! kubectl-style YAML per kind, the issuer's discovery document and JWKS, the token as decoded
//! claims (never the token itself) with the signature verdict reached while it was in memory,
//! and a manifest (`wi-snapshot.yaml`) recording what could not be read and why.

use std::fs;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use super::Inventory;
use crate::facts::TargetRef;

/// Write `inv` below `dir` (created if needed; existing wi files are replaced).
pub fn write(dir: &Path, inv: &Inventory, target: &TargetRef) -> Result<Vec<String>, String> {
    let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let mut written = Vec::new();
    let mut put = |rel: &str, text: String| -> Result<(), String> {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
        }
        fs::write(&p, text).map_err(|e| err(&p, e))?;
        written.push(rel.to_string());
        Ok(())
    };
    fn yaml<T: Serialize>(items: &[T]) -> Result<String, String> {
        let docs: Result<Vec<String>, String> = items
            .iter()
            .map(|o| serde_yaml_ng::to_string(o).map_err(|e| e.to_string()))
            .collect();
        Ok(docs?.join("---\n"))
    }
    macro_rules! kind {
        ($field:ident, $file:literal) => {
            if !inv.$field.is_empty() {
                put(concat!("k8s/", $file, ".yaml"), yaml(&inv.$field)?)?;
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
    for (i, d) in inv.discovery.iter().enumerate() {
        let doc = json!({
            "issuer": d.issuer,
            "jwks_uri": d.jwks_uri,
            "id_token_signing_alg_values_supported": d.algs,
        });
        put(&format!("oidc/openid-configuration{}.json", suffix(i)), pretty(&doc))?;
    }
    for (i, j) in inv.jwks.iter().enumerate() {
        put(
            &format!("oidc/jwks{}.json", suffix(i)),
            pretty(&json!({ "keys": j.keys })),
        )?;
    }
    let jwks = inv.jwks.first();
    for (i, t) in inv.tokens.iter().enumerate() {
        let fact = t.to_fact(jwks);
        let signature = match &fact.signature {
            crate::facts::Fact::Found { value } => serde_json::to_value(value).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let doc = json!({
            "apiVersion": "wi/v1",
            "kind": "TokenClaims",
            "source": t.source,
            "header": t.header,
            "claims": t.claims,
            "signature": signature,
        });
        put(
            &format!("token/claims{}.yaml", suffix(i)),
            serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())?,
        )?;
    }
    let manifest = inv.manifest.clone().unwrap_or_default();
    let mut doc = serde_json::to_value(&manifest).map_err(|e| e.to_string())?;
    if let Value::Object(m) = &mut doc {
        m.insert("apiVersion".into(), json!("wi/v1"));
        m.insert("kind".into(), json!("SnapshotManifest"));
        m.insert(
            "target".into(),
            json!({"kind": target.kind.kind_name(), "namespace": target.namespace, "name": target.name}),
        );
    }
    put(
        "wi-snapshot.yaml",
        serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())?,
    )?;
    Ok(written)
}

fn suffix(i: usize) -> String {
    if i == 0 { String::new() } else { format!("-{}", i + 1) }
}

fn pretty(v: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}
