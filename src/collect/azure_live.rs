//! Live Azure facts from ARM and Microsoft Graph: the cluster's issuer as Azure records it,
//! the identity behind the client id, its federated credentials, its role assignments and
//! the target Key Vaults. Answers go through the same classifier as snapshot files (ARM and
//! Graph shapes), refusals and absences into the manifest, so the resolver treats live and
//! snapshot input alike.
//!
//! Credentials: `WI_ARM_TOKEN` / `WI_GRAPH_TOKEN` when set (CI systems that hold one), else
//! the official `azure_identity` credentials — workload identity (when wi runs in a pod or a
//! federated CI runner), environment client secret, managed identity where its endpoint is
//! advertised, else the Azure CLI login. A secret is never taken from the command line.
//!
//! Requests are GETs only, each URL at most once per run (cached), pages followed through
//! `nextLink`, and 429/5xx retried with backoff honouring `Retry-After` within the deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use futures::future::join_all;
use serde_json::{Value, json};

use super::classify;
use super::{Inventory, ObjectKey, Unreadable};

/// A national cloud's endpoints.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub arm: String,
    pub graph: String,
    pub authority: String,
    /// The resource ids tokens are requested for (`<resource>/.default`): the cloud's, even
    /// when WI_ARM_ENDPOINT / WI_GRAPH_ENDPOINT send the requests elsewhere (a proxy, a
    /// private endpoint, a test server).
    pub arm_resource: String,
    pub graph_resource: String,
    /// Data-plane DNS suffixes: Key Vault (`vault.azure.net`) and Storage (`core.windows.net`).
    pub vault_suffix: &'static str,
    pub storage_suffix: &'static str,
}

/// The clouds' names and Entra authorities, for recognising a pod's AZURE_AUTHORITY_HOST.
pub const CLOUD_AUTHORITIES: [(&str, &str); 3] = [
    ("AzureCloud", "https://login.microsoftonline.com/"),
    ("AzureUSGovernment", "https://login.microsoftonline.us/"),
    ("AzureChinaCloud", "https://login.chinacloudapi.cn/"),
];

pub fn endpoints(cloud: &str) -> Result<Endpoints, String> {
    let (arm, graph, authority, vault_suffix, storage_suffix) = match cloud.to_ascii_lowercase().as_str() {
        "azurecloud" | "azurepubliccloud" | "public" => (
            "https://management.azure.com",
            "https://graph.microsoft.com",
            "https://login.microsoftonline.com/",
            "vault.azure.net",
            "core.windows.net",
        ),
        "azureusgovernment" | "azureusgovernmentcloud" | "usgov" => (
            "https://management.usgovcloudapi.net",
            "https://graph.microsoft.us",
            "https://login.microsoftonline.us/",
            "vault.usgovcloudapi.net",
            "core.usgovcloudapi.net",
        ),
        "azurechinacloud" | "china" => (
            "https://management.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
            "https://login.chinacloudapi.cn/",
            "vault.azure.cn",
            "core.chinacloudapi.cn",
        ),
        other => {
            return Err(format!(
                "--cloud {other:?} is not AzureCloud, AzureUSGovernment or AzureChinaCloud"
            ));
        }
    };
    let env = |k: &str, d: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| d.to_string())
    };
    Ok(Endpoints {
        vault_suffix,
        storage_suffix,
        arm_resource: arm.to_string(),
        graph_resource: graph.to_string(),
        arm: env("WI_ARM_ENDPOINT", arm).trim_end_matches('/').to_string(),
        graph: env("WI_GRAPH_ENDPOINT", graph).trim_end_matches('/').to_string(),
        authority: env("AZURE_AUTHORITY_HOST", authority),
    })
}

/// Where bearer tokens come from.
#[derive(Clone)]
enum Source {
    Static(String),
    Credential(Arc<dyn TokenCredential>),
    None(String),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Static(_) => "Static(<redacted>)",
            Source::Credential(_) => "Credential",
            Source::None(_) => "None",
        })
    }
}

fn credential() -> Source {
    use azure_identity::{
        AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential,
    };
    let has = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    let r: Result<Arc<dyn TokenCredential>, String> = if has("AZURE_FEDERATED_TOKEN_FILE") && has("AZURE_CLIENT_ID") {
        WorkloadIdentityCredential::new(None)
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string())
    } else if has("AZURE_CLIENT_SECRET") && has("AZURE_CLIENT_ID") && has("AZURE_TENANT_ID") {
        let secret = std::env::var("AZURE_CLIENT_SECRET").unwrap_or_default();
        ClientSecretCredential::new(
            &std::env::var("AZURE_TENANT_ID").unwrap_or_default(),
            std::env::var("AZURE_CLIENT_ID").unwrap_or_default(),
            secret.into(),
            None,
        )
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| e.to_string())
    } else if has("IDENTITY_ENDPOINT") || has("MSI_ENDPOINT") {
        ManagedIdentityCredential::new(None)
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string())
    } else {
        AzureCliCredential::new(None)
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string())
    };
    match r {
        Ok(c) => Source::Credential(c),
        Err(e) => Source::None(e),
    }
}

enum Got {
    Ok(Value),
    NotFound,
    Refused(String),
}

pub struct Azure {
    http: reqwest::Client,
    ep: Endpoints,
    arm: Source,
    graph: Source,
    deadline: Instant,
    cache: Mutex<BTreeMap<String, Value>>,
    tokens: tokio::sync::Mutex<BTreeMap<String, String>>,
    pub requests: std::sync::atomic::AtomicUsize,
    pub log: Mutex<Vec<String>>,
}

/// The options of one Azure collection.
#[derive(Debug, Clone, Default)]
pub struct AzureOptions {
    pub cloud: String,
    pub subscription: Option<String>,
    pub cluster: Option<String>,
    pub cluster_name: Option<(String, String)>,
    pub timeout: Option<Duration>,
}

impl Azure {
    pub fn new(o: &AzureOptions) -> Result<Azure, String> {
        super::tls_provider();
        let ep = endpoints(if o.cloud.is_empty() { "AzureCloud" } else { &o.cloud })?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let arm = env("WI_ARM_TOKEN").map(Source::Static);
        let graph = env("WI_GRAPH_TOKEN").map(Source::Static);
        let (arm, graph) = match (arm, graph) {
            (Some(a), Some(g)) => (a, g),
            (a, g) => {
                let c = credential();
                (a.unwrap_or_else(|| c.clone()), g.unwrap_or(c))
            }
        };
        let total = o.timeout.unwrap_or(Duration::from_secs(60)).saturating_mul(4);
        let http = reqwest::Client::builder()
            .timeout(o.timeout.unwrap_or(Duration::from_secs(30)))
            .build()
            .map_err(|e| format!("cannot build the Azure HTTP client: {e}"))?;
        Ok(Azure {
            http,
            ep,
            arm,
            graph,
            deadline: Instant::now() + total,
            cache: Mutex::default(),
            tokens: tokio::sync::Mutex::default(),
            requests: Default::default(),
            log: Mutex::default(),
        })
    }

    async fn bearer(&self, graph: bool) -> Result<String, String> {
        let (src, scope) = if graph {
            (&self.graph, format!("{}/.default", self.ep.graph_resource))
        } else {
            (&self.arm, format!("{}/.default", self.ep.arm_resource))
        };
        match src {
            Source::Static(t) => Ok(t.clone()),
            Source::None(e) => Err(format!(
                "no Azure credentials ({e}): run az login, or set WI_ARM_TOKEN and WI_GRAPH_TOKEN"
            )),
            Source::Credential(c) => {
                let mut cache = self.tokens.lock().await;
                if let Some(t) = cache.get(&scope) {
                    return Ok(t.clone());
                }
                let t = c
                    .get_token(&[scope.as_str()], None)
                    .await
                    .map_err(|e| format!("no Azure token for {scope}: {e} (az login?)"))?;
                let s = t.token.secret().to_string();
                cache.insert(scope, s.clone());
                Ok(s)
            }
        }
    }

    /// [`Azure::get`] when there is a URL to read.
    async fn get_opt(&self, url: Option<&str>, graph: bool) -> Option<Got> {
        match url {
            Some(u) => Some(self.get(u, graph).await),
            None => None,
        }
    }

    /// GET one URL (all pages), once per run, retrying throttling within the deadline.
    async fn get(&self, url: &str, graph: bool) -> Got {
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(url).cloned()) {
            return Got::Ok(v);
        }
        let token = match self.bearer(graph).await {
            Ok(t) => t,
            Err(e) => return Got::Refused(e),
        };
        let mut next = Some(url.to_string());
        let mut first: Option<Value> = None;
        let mut items: Vec<Value> = Vec::new();
        while let Some(u) = next.take() {
            let v = match self.page(&u, &token).await {
                Ok(v) => v,
                Err(g) => return g,
            };
            let link = v
                .get("nextLink")
                .or_else(|| v.get("@odata.nextLink"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(arr) = v.get("value").and_then(Value::as_array) {
                items.extend(arr.iter().cloned());
            }
            if first.is_none() {
                first = Some(v);
            }
            next = link;
        }
        let mut v = first.unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut()
            && obj.contains_key("value")
        {
            obj.insert("value".into(), Value::Array(items));
            obj.remove("nextLink");
            obj.remove("@odata.nextLink");
        }
        if let Ok(mut c) = self.cache.lock() {
            c.insert(url.to_string(), v.clone());
        }
        Got::Ok(v)
    }

    async fn page(&self, url: &str, token: &str) -> Result<Value, Got> {
        let mut attempt = 0u32;
        loop {
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Ok(mut l) = self.log.lock() {
                l.push(url.to_string());
            }
            let resp = self
                .http
                .get(url)
                .bearer_auth(token)
                .header("accept", "application/json")
                .send()
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    return Err(Got::Refused(if e.is_timeout() {
                        format!("timed out: {url}")
                    } else {
                        format!("{e}")
                    }));
                }
            };
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|h| h.to_str().ok())
                .and_then(|s| s.trim().parse::<f64>().ok())
                .map(Duration::from_secs_f64);
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let message = || {
                let e = &body["error"];
                format!(
                    "{}: {}",
                    e["code"].as_str().unwrap_or("error"),
                    e["message"].as_str().unwrap_or("")
                )
            };
            match status {
                200..=299 => return Ok(body),
                404 => return Err(Got::NotFound),
                401 | 403 => return Err(Got::Refused(format!("HTTP {status} {}", message()))),
                429 | 500..=599 => {
                    attempt += 1;
                    let wait = retry_after.unwrap_or_else(|| Duration::from_millis(250 * 2u64.pow(attempt.min(6))));
                    if Instant::now() + wait > self.deadline || attempt > 8 {
                        return Err(Got::Refused(format!(
                            "HTTP {status} ({}) after {attempt} attempt(s); gave up within the deadline (--request-timeout)",
                            if status == 429 { "throttled" } else { "server error" }
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(Got::Refused(format!("HTTP {status} {}", message()))),
            }
        }
    }
}

const API_MI: &str = "2023-01-31";
const API_AUTH: &str = "2022-04-01";
const API_AKS: &str = "2024-09-01";
const API_ARC: &str = "2024-07-15-preview";
const API_KV: &str = "2023-07-01";
const API_STORAGE: &str = "2023-05-01";
const API_RG: &str = "2021-04-01";

/// Collect the Azure facts for `client_id` (and the cluster, scopes) into `inv`.
pub async fn collect(
    az: &Azure,
    inv: &mut Inventory,
    o: &AzureOptions,
    client_id: Option<&str>,
    scopes: &[String],
    vault_names: &[String],
) {
    let mut m = inv.manifest.take().unwrap_or_default();
    let arm = az.ep.arm.clone();
    let graph = az.ep.graph.clone();
    let refuse = |m: &mut super::Manifest, kind: &str, why: String, grant: &str| {
        m.unreadable.push(Unreadable {
            kind: kind.into(),
            namespace: None,
            name: None,
            reason: why,
            command: Some(grant.to_string()),
        });
    };
    let subscription = o
        .subscription
        .clone()
        .or_else(|| {
            o.cluster
                .as_deref()
                .and_then(|c| super::azure::arm_segment(c, "subscriptions"))
        })
        .or_else(|| {
            scopes
                .iter()
                .find_map(|s| super::azure::arm_segment(s, "subscriptions"))
        })
        .or_else(|| node_subscription(inv).map(|(s, _)| s))
        .or_else(az_cli_subscription);
    let cluster_id = o.cluster.clone().or_else(|| {
        let (name, rg) = o.cluster_name.clone()?;
        Some(format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}",
            subscription.clone()?
        ))
    });
    let node_rg = if cluster_id.is_none() {
        node_subscription(inv)
    } else {
        None
    };

    // ---- round 1: identity lookups, the cluster (or its node resource group), the vaults -------
    let cid = client_id.unwrap_or_default().to_string();
    let sp_url = format!("{graph}/v1.0/servicePrincipals?$filter=appId eq '{cid}'");
    let app_url = format!("{graph}/v1.0/applications?$filter=appId eq '{cid}'");
    let by_object_url = format!("{graph}/v1.0/servicePrincipals/{cid}");
    let cluster_url = cluster_id.as_ref().map(|c| {
        let api = if c
            .to_ascii_lowercase()
            .contains("microsoft.kubernetes/connectedclusters")
        {
            API_ARC
        } else {
            API_AKS
        };
        format!("{arm}{c}?api-version={api}")
    });
    let rg_url = node_rg
        .as_ref()
        .map(|(s, rg)| format!("{arm}/subscriptions/{s}/resourceGroups/{rg}?api-version={API_RG}"));
    let resource_urls: Vec<String> = scopes
        .iter()
        .filter_map(|s| {
            let t = crate::facts::resolve::resource_type(s)?.to_ascii_lowercase();
            let api = match t.as_str() {
                "microsoft.keyvault/vaults" => API_KV,
                "microsoft.storage/storageaccounts" => API_STORAGE,
                _ => return None,
            };
            let base: Vec<&str> = s.trim_end_matches('/').split('/').take(9).collect();
            Some(format!("{arm}{}?api-version={api}", base.join("/")))
        })
        .collect();
    let have_cid = client_id.is_some();
    // Vaults the pod's env names without an ARM id: one listing of the subscription's vaults.
    let vaults_url = (!vault_names.is_empty())
        .then(|| {
            subscription
                .as_ref()
                .map(|s| format!("{arm}/subscriptions/{s}/providers/Microsoft.KeyVault/vaults?api-version={API_KV}"))
        })
        .flatten();
    let (sp, app, by_object, cluster, rg, resources, vaults) = futures::join!(
        az.get_opt(have_cid.then_some(sp_url.as_str()), true),
        az.get_opt(have_cid.then_some(app_url.as_str()), true),
        az.get_opt(
            (have_cid && crate::rules::support::is_guid(&cid)).then_some(by_object_url.as_str()),
            true
        ),
        az.get_opt(cluster_url.as_deref(), false),
        az.get_opt(rg_url.as_deref(), false),
        join_all(resource_urls.iter().map(|u| az.get(u, false))),
        az.get_opt(vaults_url.as_deref(), false),
    );
    let doc = |inv: &mut Inventory, v: Value, src: &str| {
        let mut out = Vec::new();
        let _ = classify::document(inv, v, src, &mut out);
    };
    for g in resources {
        match g {
            Got::Ok(v) => doc(inv, v, "ARM"),
            Got::NotFound => {}
            Got::Refused(w) => refuse(
                &mut m,
                "KeyVault",
                w,
                "az role assignment create --assignee <you> --role Reader --scope <scope>",
            ),
        }
    }
    match vaults {
        Some(Got::Ok(v)) => {
            let wanted: Vec<Value> = v["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|k| {
                    k["name"]
                        .as_str()
                        .is_some_and(|n| vault_names.iter().any(|w| w.eq_ignore_ascii_case(n)))
                })
                .cloned()
                .collect();
            doc(inv, json!({"value": wanted}), "ARM");
        }
        Some(Got::Refused(w)) => refuse(
            &mut m,
            "KeyVault",
            w,
            "az role assignment create --assignee <you> --role Reader --scope /subscriptions/<sub>",
        ),
        _ => {}
    }
    let mut cluster_got = cluster;
    if cluster_got.is_none()
        && let Some(Got::Ok(rgv)) = &rg
        && let Some(managed_by) = rgv.get("managedBy").and_then(Value::as_str)
    {
        cluster_got = Some(az.get(&format!("{arm}{managed_by}?api-version={API_AKS}"), false).await);
    }
    match cluster_got {
        Some(Got::Ok(v)) => doc(inv, v, "ARM"),
        Some(Got::NotFound) => m.not_found.push(ObjectKey {
            kind: "Cluster".into(),
            namespace: None,
            name: cluster_id.clone(),
        }),
        Some(Got::Refused(w)) => refuse(
            &mut m,
            "Cluster",
            w,
            "az role assignment create --assignee <you> --role Reader --scope <cluster ARM id>",
        ),
        None => refuse(
            &mut m,
            "Cluster",
            "the cluster is unknown: pass --cluster <ARM id>, or --cluster-name NAME -g RG".into(),
            "az aks list --query \"[].id\" -o tsv",
        ),
    }
    if !have_cid {
        inv.manifest = Some(m);
        return;
    }

    // ---- round 2: the identity's own objects -----------------------------------------------------
    let mut principal: Option<String> = None;
    let mut mi_id: Option<String> = None;
    let mut app_object: Option<String> = None;
    let mut graph_denied = None;
    match sp {
        Some(Got::Ok(v)) => {
            let first = v["value"].as_array().and_then(|a| a.first()).cloned();
            if let Some(s) = first {
                principal = s["id"].as_str().map(str::to_string);
                mi_id = s["alternativeNames"].as_array().and_then(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .find(|n| n.starts_with("/subscriptions/"))
                        .map(str::to_string)
                });
                doc(inv, v, "Graph");
            } else {
                m.not_found.push(ObjectKey {
                    kind: "ServicePrincipal".into(),
                    namespace: None,
                    name: Some(cid.clone()),
                });
            }
        }
        Some(Got::Refused(w)) => graph_denied = Some(w),
        _ => {}
    }
    match app {
        Some(Got::Ok(v)) => {
            app_object = v["value"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|a| a["id"].as_str())
                .map(str::to_string);
            if app_object.is_some() {
                doc(inv, v, "Graph");
            }
        }
        Some(Got::Refused(w)) => graph_denied = graph_denied.or(Some(w)),
        _ => {}
    }
    // The annotation holds an object id: Graph knows it as a service principal's id.
    if let Some(Got::Ok(v)) = by_object {
        doc(inv, json!({"value": [v]}), "Graph");
    }
    // Graph refused: find a managed identity with that client id in the subscription (ARM).
    if graph_denied.is_some()
        && mi_id.is_none()
        && let Some(sub) = &subscription
    {
        let url = format!(
            "{arm}/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={API_MI}"
        );
        match az.get(&url, false).await {
            Got::Ok(v) => {
                if let Some(mi) = v["value"].as_array().and_then(|a| {
                    a.iter().find(|i| {
                        i["properties"]["clientId"]
                            .as_str()
                            .is_some_and(|c| c.eq_ignore_ascii_case(&cid))
                    })
                }) {
                    mi_id = mi["id"].as_str().map(str::to_string);
                    principal = mi["properties"]["principalId"].as_str().map(str::to_string);
                }
            }
            Got::Refused(w) => {
                refuse(
                    &mut m,
                    "Identity",
                    format!("Graph: {}; ARM: {w}", graph_denied.clone().unwrap_or_default()),
                    "grant Graph Application.Read.All, or Reader on the subscription: az role assignment create --assignee <you> --role Reader --scope /subscriptions/<sub>",
                );
            }
            Got::NotFound => {}
        }
    }
    let found_any = mi_id.is_some() || app_object.is_some() || principal.is_some();
    if !found_any && graph_denied.is_none() {
        m.not_found.push(ObjectKey {
            kind: "Identity".into(),
            namespace: None,
            name: Some(cid.clone()),
        });
    } else if !found_any && subscription.is_none() {
        refuse(
            &mut m,
            "Identity",
            graph_denied.clone().unwrap_or_default(),
            "grant Graph Application.Read.All (or pass --subscription to search managed identities through ARM)",
        );
    }
    let mi_url = mi_id.as_ref().map(|i| format!("{arm}{i}?api-version={API_MI}"));
    let fic_url = mi_id
        .as_ref()
        .map(|i| format!("{arm}{i}/federatedIdentityCredentials?api-version={API_MI}"));
    let app_fic_url = app_object
        .as_ref()
        .map(|a| format!("{graph}/v1.0/applications/{a}/federatedIdentityCredentials"));
    let ra_url = |who: &str| {
        subscription.as_ref().map(|s| {
            format!("{arm}/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments?api-version={API_AUTH}&$filter=assignedTo('{who}')")
        })
    };
    let ra_principal = principal.as_deref().and_then(ra_url);
    // Assignments that name the client id instead of the principal (WI403).
    let ra_client = if principal.is_some() {
        subscription.as_ref().map(|s| {
            format!("{arm}/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments?api-version={API_AUTH}&$filter=principalId eq '{cid}'")
        })
    } else {
        None
    };
    // Deny assignments that apply to the principal at, above or below the subscription.
    let deny_url = principal.as_ref().zip(subscription.as_ref()).map(|(p, s)| {
        format!("{arm}/subscriptions/{s}/providers/Microsoft.Authorization/denyAssignments?api-version={API_AUTH}&$filter=gdprExportPrincipalId eq '{p}'")
    });
    let (mi, fics, app_fics, ras, ras_client, denies) = futures::join!(
        az.get_opt(mi_url.as_deref(), false),
        az.get_opt(fic_url.as_deref(), false),
        az.get_opt(app_fic_url.as_deref(), true),
        az.get_opt(ra_principal.as_deref(), false),
        az.get_opt(ra_client.as_deref(), false),
        az.get_opt(deny_url.as_deref(), false)
    );
    match denies {
        Some(Got::Ok(v)) => doc(inv, v, "ARM"),
        Some(Got::Refused(w)) => refuse(
            &mut m,
            "DenyAssignment",
            w,
            "az role assignment create --assignee <you> --role Reader --scope /subscriptions/<sub>",
        ),
        _ => {}
    }
    if let Some(g) = mi {
        match g {
            Got::Ok(v) => doc(inv, v, "ARM"),
            Got::NotFound => m.not_found.push(ObjectKey {
                kind: "Identity".into(),
                namespace: None,
                name: Some(cid.clone()),
            }),
            Got::Refused(w) => refuse(
                &mut m,
                "Identity",
                w,
                "az role assignment create --assignee <you> --role Reader --scope <identity ARM id>",
            ),
        }
    }
    let mut fic_empty = None;
    for (g, name) in [
        (fics, mi_id.as_deref().map(super::azure::arm_name)),
        (app_fics, app_object.clone()),
    ] {
        match g {
            Some(Got::Ok(v)) => {
                if v["value"].as_array().is_some_and(|a| a.is_empty()) {
                    fic_empty = name;
                } else {
                    doc(inv, v, "FIC");
                }
            }
            Some(Got::Refused(w)) => refuse(
                &mut m,
                "FederatedIdentityCredential",
                w,
                "Reader on the identity, or Graph Application.Read.All for app registrations",
            ),
            _ => {}
        }
    }
    if let Some(n) = fic_empty {
        m.not_found.push(ObjectKey {
            kind: "FederatedIdentityCredential".into(),
            namespace: None,
            name: Some(n),
        });
    }
    let mut definitions: BTreeSet<String> = BTreeSet::new();
    let mut assignments_seen = false;
    for g in [ras, ras_client].into_iter().flatten() {
        match g {
            Got::Ok(v) => {
                for a in v["value"].as_array().into_iter().flatten() {
                    if let Some(d) = a["properties"]["roleDefinitionId"].as_str() {
                        definitions.insert(d.to_string());
                    }
                    assignments_seen = true;
                }
                doc(inv, v, "ARM");
            }
            Got::Refused(w) => refuse(
                &mut m,
                "RoleAssignment",
                w,
                &format!(
                    "az role assignment create --assignee <you> --role Reader --scope /subscriptions/{}",
                    subscription.as_deref().unwrap_or("<sub>")
                ),
            ),
            Got::NotFound => {}
        }
    }
    if principal.is_some()
        && !assignments_seen
        && subscription.is_some()
        && !m.unreadable.iter().any(|u| u.kind == "RoleAssignment")
    {
        m.not_found.push(ObjectKey {
            kind: "RoleAssignment".into(),
            namespace: None,
            name: None,
        });
    }
    if subscription.is_none() && principal.is_some() {
        refuse(
            &mut m,
            "RoleAssignment",
            "no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID".into(),
            "az account show --query id -o tsv",
        );
    }

    // ---- round 3: each role definition once ---------------------------------------------------------
    let urls: Vec<String> = definitions
        .iter()
        .map(|d| format!("{arm}{d}?api-version={API_AUTH}"))
        .collect();
    let defs = join_all(urls.iter().map(|u| az.get(u, false))).await;
    for g in defs {
        if let Got::Ok(v) = g {
            doc(inv, v, "ARM");
        }
    }
    inv.manifest = Some(m);
}

/// The Azure CLI's default subscription (`az account show`), when az is installed.
fn az_cli_subscription() -> Option<String> {
    let out = std::process::Command::new("az")
        .args(["account", "show", "--query", "id", "-o", "tsv"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let id = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && crate::rules::support::is_guid(&id)).then_some(id)
}

/// The subscription and node resource group from the nodes' `providerID`
/// (`azure:///subscriptions/<sub>/resourceGroups/<nodeRG>/providers/…`).
fn node_subscription(inv: &Inventory) -> Option<(String, String)> {
    inv.nodes.iter().find_map(|n| {
        let id = n.spec.as_ref()?.provider_id.as_deref()?;
        let path = id.strip_prefix("azure://")?;
        Some((
            super::azure::arm_segment(path, "subscriptions")?,
            super::azure::arm_segment(path, "resourceGroups")?,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_scopes_stay_the_clouds_when_endpoints_are_overridden() {
        // Only the resource ids are checked: the environment is process-wide, so the override
        // itself is exercised by the CLI tests (WI_ARM_ENDPOINT at a fake server).
        let e = endpoints("AzureUSGovernment").expect("cloud");
        assert_eq!(e.arm_resource, "https://management.usgovcloudapi.net");
        assert_eq!(e.graph_resource, "https://graph.microsoft.us");
    }

    #[test]
    fn clouds() {
        let e = endpoints("AzureUSGovernment").expect("usgov");
        assert!(e.arm.ends_with("usgovcloudapi.net") && e.graph.ends_with("graph.microsoft.us"));
        let e = endpoints("azurechinacloud").expect("china");
        assert!(e.authority.contains("chinacloudapi.cn"));
        assert!(endpoints("Mars").unwrap_err().contains("--cloud"));
    }
}
