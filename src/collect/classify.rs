//! Identify a parsed document by its content, never its file name, and file it in the
//! [`Inventory`]. Lists (`kind: List`, `{"value": […]}`, JSON arrays) are walked item by item.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::azure::{self, arm_type, str_field};
use super::token::{JwksFile, TokenFile};
use super::{Inventory, Manifest};
use crate::facts::{ClusterKind, Discovery};

/// What one document turned out to be.
pub enum Outcome {
    Recognised(String),
    Ignored(String),
}

/// Classify one document. `Err` is a malformed object of a kind we know: fatal for the file.
pub fn document(inv: &mut Inventory, v: Value, source: &str, out: &mut Vec<Outcome>) -> Result<(), String> {
    match v {
        Value::Array(items) => {
            if items.is_empty() {
                out.push(Outcome::Ignored("empty JSON array".into()));
            }
            for item in items {
                document(inv, item, source, out)?;
            }
            Ok(())
        }
        Value::Object(obj) => object(inv, obj, source, out),
        Value::Null => {
            out.push(Outcome::Ignored("empty document".into()));
            Ok(())
        }
        other => {
            out.push(Outcome::Ignored(format!(
                "a {} scalar, not an object",
                match other {
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    _ => "boolean",
                }
            )));
            Ok(())
        }
    }
}

fn typed<T: DeserializeOwned>(obj: Map<String, Value>, what: &str) -> Result<T, String> {
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>")
        .to_string();
    serde_json::from_value(Value::Object(obj)).map_err(|e| format!("{what} {name:?} is malformed: {e}"))
}

fn object(inv: &mut Inventory, obj: Map<String, Value>, source: &str, out: &mut Vec<Outcome>) -> Result<(), String> {
    // Kubernetes: apiVersion + kind.
    if let (Some(api), Some(kind)) = (
        obj.get("apiVersion").and_then(Value::as_str),
        obj.get("kind").and_then(Value::as_str),
    ) {
        let api = api.to_string();
        let kind = kind.to_string();
        return kubernetes(inv, obj, &api, &kind, source, out);
    }
    // ARM / Graph list envelope.
    if let Some(Value::Array(_)) = obj.get("value") {
        let context = obj.get("@odata.context").and_then(Value::as_str).map(str::to_string);
        let Some(Value::Array(items)) = obj.into_iter().find(|(k, _)| k == "value").map(|(_, v)| v) else {
            return Ok(());
        };
        if items.is_empty() {
            out.push(Outcome::Ignored("empty {\"value\": []} list".into()));
        }
        for item in items {
            match (item, &context) {
                // Graph lists of federated credentials name their parent only in the envelope.
                (Value::Object(m), Some(ctx)) if ctx.contains("federatedIdentityCredentials") => {
                    match azure::graph_credential(&m, Some(ctx), source) {
                        Some(c) => {
                            out.push(Outcome::Recognised(format!("federated credential {}", c.name)));
                            inv.credentials.push(c);
                        }
                        None => out.push(Outcome::Ignored("federated credential without name/issuer".into())),
                    }
                }
                (item, _) => document(inv, item, source, out)?,
            }
        }
        return Ok(());
    }
    if let Some(t) = arm_type(&obj) {
        return arm(inv, obj, &t, source, out);
    }
    // Graph objects.
    let odata = obj
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let context = obj
        .get("@odata.context")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if odata.ends_with("serviceprincipal") || (obj.contains_key("appId") && obj.contains_key("servicePrincipalType")) {
        return push(
            out,
            azure::service_principal(&obj, source).map(|sp| {
                let note = format!("service principal {} (appId {})", sp.display_name, sp.app_id);
                inv.service_principals.push(sp);
                note
            }),
            "service principal without id/appId",
        );
    }
    if odata.ends_with("application")
        || context.contains("#applications")
        || (obj.contains_key("appId") && (obj.contains_key("signInAudience") || obj.contains_key("identifierUris")))
    {
        return push(
            out,
            azure::application(&obj, source).map(|app| {
                let note = format!("app registration {} (appId {})", app.display_name, app.app_id);
                inv.applications.push(app);
                note
            }),
            "application without id/appId",
        );
    }
    // Documents wi collect wrote say where it read them (`x-wi-source`), so a report from the
    // snapshot names the same source as the live run did.
    let origin = obj
        .get("x-wi-source")
        .and_then(Value::as_str)
        .unwrap_or(source)
        .to_string();
    if obj.contains_key("issuer") && obj.contains_key("jwks_uri") {
        let d = Discovery {
            source: origin,
            issuer: str_field(&obj, "issuer"),
            jwks_uri: str_field(&obj, "jwks_uri"),
            algs: obj
                .get("id_token_signing_alg_values_supported")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        };
        out.push(Outcome::Recognised("OIDC discovery document".into()));
        inv.discovery.push(d);
        return Ok(());
    }
    if let Some(Value::Array(keys)) = obj.get("keys")
        && keys.iter().all(|k| k.get("kty").is_some())
    {
        out.push(Outcome::Recognised(format!("JWKS with {} key(s)", keys.len())));
        inv.jwks.push(JwksFile {
            source: origin,
            keys: keys.clone(),
        });
        return Ok(());
    }
    if obj.contains_key("issuer")
        && (obj.contains_key("subject") || obj.contains_key("claimsMatchingExpression"))
        && obj.contains_key("audiences")
    {
        return push(
            out,
            azure::graph_credential(&obj, None, source).map(|c| {
                let note = format!("federated credential {}", c.name);
                inv.credentials.push(c);
                note
            }),
            "federated credential without name/issuer",
        );
    }
    // Decoded claims pasted from a JWT decoder.
    if obj.contains_key("iss") && obj.contains_key("sub") && obj.contains_key("aud") && obj.contains_key("exp") {
        inv.tokens.push(TokenFile {
            source: source.to_string(),
            header: Map::new(),
            claims: obj,
            raw: None,
            recorded_signature: None,
        });
        out.push(Outcome::Recognised("decoded token claims".into()));
        return Ok(());
    }
    out.push(Outcome::Ignored("JSON object of no kind wi reads".into()));
    Ok(())
}

fn push(out: &mut Vec<Outcome>, note: Option<String>, missing: &str) -> Result<(), String> {
    match note {
        Some(n) => out.push(Outcome::Recognised(n)),
        None => out.push(Outcome::Ignored(missing.to_string())),
    }
    Ok(())
}

fn arm(
    inv: &mut Inventory,
    obj: Map<String, Value>,
    t: &str,
    source: &str,
    out: &mut Vec<Outcome>,
) -> Result<(), String> {
    let note = match t {
        "microsoft.containerservice/managedclusters" => azure::cluster(&obj, ClusterKind::Aks, source).map(|c| {
            let n = format!("AKS cluster {}", c.name);
            inv.clusters.push(c);
            n
        }),
        "microsoft.kubernetes/connectedclusters" => azure::cluster(&obj, ClusterKind::Arc, source).map(|c| {
            let n = format!("Arc connected cluster {}", c.name);
            inv.clusters.push(c);
            n
        }),
        "microsoft.managedidentity/userassignedidentities" => azure::managed_identity(&obj, source).map(|i| {
            let n = format!("managed identity {}", i.name);
            inv.managed_identities.push(i);
            n
        }),
        "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials" => {
            azure::arm_credential(&obj, source).map(|c| {
                let n = format!("federated credential {}", c.name);
                inv.credentials.push(c);
                n
            })
        }
        "microsoft.authorization/roleassignments" => azure::role_assignment(&obj, source).map(|r| {
            let n = format!("role assignment {}", azure::arm_name(&r.id));
            inv.role_assignments.push(r);
            n
        }),
        "microsoft.authorization/roledefinitions" => azure::role_definition(&obj, source).map(|r| {
            let n = format!("role definition {}", r.name);
            inv.role_definitions.push(r);
            n
        }),
        "microsoft.authorization/denyassignments" => azure::deny_assignment(&obj, source).map(|d| {
            let n = format!("deny assignment {}", d.name);
            inv.deny_assignments.push(d);
            n
        }),
        "microsoft.keyvault/vaults" => azure::key_vault(&obj, source).map(|k| {
            let n = format!("Key Vault {}", k.name);
            inv.key_vaults.push(k);
            n
        }),
        "microsoft.storage/storageaccounts" => azure::resource(&obj, source).map(|r| {
            let n = format!("storage account {}", r.name);
            inv.storage_accounts.push(r);
            n
        }),
        other => {
            out.push(Outcome::Ignored(format!("Azure resource type {other} is not used")));
            return Ok(());
        }
    };
    match note {
        Some(n) => out.push(Outcome::Recognised(n)),
        None => {
            return Err(format!(
                "Azure object of type {t} lacks a required field (id, clientId, issuer, principalId, roleDefinitionId or scope)"
            ));
        }
    }
    Ok(())
}

fn kubernetes(
    inv: &mut Inventory,
    obj: Map<String, Value>,
    api: &str,
    kind: &str,
    source: &str,
    out: &mut Vec<Outcome>,
) -> Result<(), String> {
    macro_rules! k8s {
        ($field:ident, $what:literal) => {{
            let o = typed(obj, $what)?;
            inv.$field.push(o);
            out.push(Outcome::Recognised($what.to_string()));
            Ok(())
        }};
    }
    match (api, kind) {
        (_, "List") | (_, "PodList") | (_, "ServiceAccountList") => {
            let items = match obj.get("items") {
                Some(Value::Array(items)) => items.clone(),
                Some(Value::Null) | None => vec![],
                Some(_) => return Err("List.items is not an array".into()),
            };
            if items.is_empty() {
                out.push(Outcome::Ignored("empty List".into()));
            }
            for item in items {
                document(inv, item, source, out)?;
            }
            Ok(())
        }
        ("v1", "Pod") => k8s!(pods, "Pod"),
        ("v1", "ServiceAccount") => k8s!(service_accounts, "ServiceAccount"),
        ("v1", "Namespace") => k8s!(namespaces, "Namespace"),
        ("v1", "Node") => k8s!(nodes, "Node"),
        ("v1", "Event") => k8s!(events, "Event"),
        ("v1", "ConfigMap") => k8s!(config_maps, "ConfigMap"),
        ("apps/v1", "Deployment") => k8s!(deployments, "Deployment"),
        ("apps/v1", "ReplicaSet") => k8s!(replica_sets, "ReplicaSet"),
        ("apps/v1", "StatefulSet") => k8s!(stateful_sets, "StatefulSet"),
        ("apps/v1", "DaemonSet") => k8s!(daemon_sets, "DaemonSet"),
        ("batch/v1", "Job") => k8s!(jobs, "Job"),
        ("batch/v1", "CronJob") => k8s!(cron_jobs, "CronJob"),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => {
            k8s!(webhook_configurations, "MutatingWebhookConfiguration")
        }
        ("wi/v1", "SnapshotManifest") => {
            let m: Manifest = serde_json::from_value(Value::Object(obj))
                .map_err(|e| format!("SnapshotManifest is malformed: {e}"))?;
            if inv.manifest.is_some() {
                return Err("a second SnapshotManifest; a snapshot has one".into());
            }
            inv.manifest = Some(m);
            out.push(Outcome::Recognised("wi snapshot manifest".into()));
            Ok(())
        }
        ("wi/v1", "ExternalIssuerFetch") => {
            let fact: crate::facts::ExternalIssuer = obj
                .get("fetch")
                .cloned()
                .ok_or_else(|| "ExternalIssuerFetch has no \"fetch\" object".to_string())
                .and_then(|f| {
                    serde_json::from_value(f).map_err(|e| format!("ExternalIssuerFetch is malformed: {e}"))
                })?;
            if inv.external_issuer.is_some() {
                return Err("a second ExternalIssuerFetch; a snapshot has one".into());
            }
            let keys = match obj.get("keys") {
                None | Some(Value::Null) => vec![],
                Some(Value::Array(k)) => k.clone(),
                Some(_) => return Err("ExternalIssuerFetch \"keys\" is not a list".into()),
            };
            inv.external_issuer = Some(super::issuer::ExternalFetch {
                fact,
                keys,
                recorded: true,
            });
            out.push(Outcome::Recognised("the issuer as fetched from outside".into()));
            Ok(())
        }
        ("wi/v1", "TokenClaims") => {
            let header = obj
                .get("header")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let Some(claims) = obj.get("claims").and_then(Value::as_object).cloned() else {
                return Err("TokenClaims has no \"claims\" object".into());
            };
            inv.tokens.push(TokenFile {
                // Where wi collect got it (the TokenRequest), so reports name the same source.
                source: obj.get("source").and_then(Value::as_str).unwrap_or(source).to_string(),
                header,
                claims,
                raw: None,
                recorded_signature: obj
                    .get("signature")
                    .and_then(|s| serde_json::from_value(s.clone()).ok()),
            });
            out.push(Outcome::Recognised("decoded token claims".into()));
            Ok(())
        }
        (api, kind) => {
            out.push(Outcome::Ignored(format!("Kubernetes {kind} ({api}) is not used")));
            Ok(())
        }
    }
}
