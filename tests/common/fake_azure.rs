//! An in-process fake of ARM and Microsoft Graph on 127.0.0.1 (one server for both; point
//! WI_ARM_ENDPOINT and WI_GRAPH_ENDPOINT at it). It serves a scenario's Azure objects in the
//! REST shapes (ARM `properties`, `{"value": […]}` with `nextLink`, Graph `@odata` lists,
//! the ARM and Graph error envelopes, 429 with `Retry-After`), records every request, and can
//! refuse Graph, page lists and throttle.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wi::collect::{Inventory, azure as a};
use wi::facts::{IdentityKind, RoleDefinition};

#[derive(Clone, Default)]
pub struct AzureBehaviour {
    /// Answer every Graph request 403.
    pub forbid_graph: bool,
    /// Page size of role-assignment lists.
    pub page: Option<usize>,
    /// Answer the first N requests 429 with this Retry-After (seconds).
    pub throttle_first: usize,
    pub retry_after: f64,
    /// Answer every request 429 (a throttle that never ends).
    pub throttle_always: bool,
    /// Added to every answer.
    pub latency: Duration,
    /// ARM paths containing this text are answered 403 AuthorizationFailed.
    pub forbid_arm: Option<&'static str>,
}

pub struct FakeAzure {
    pub url: String,
    pub log: Arc<Mutex<Vec<(String, String)>>>,
    _rt: tokio::runtime::Runtime,
}

struct World {
    inv: Inventory,
    /// Service principals, including the managed identities' (Graph knows both).
    sps: Vec<Value>,
    defs: Vec<RoleDefinition>,
    empty: bool,
}

impl FakeAzure {
    pub fn start(snapshot: &Path, b: AzureBehaviour) -> FakeAzure {
        let inv = wi::collect::snapshot::read_dir(snapshot).unwrap_or_default();
        let mut sps: Vec<Value> = inv.service_principals.iter().map(a::graph_service_principal).collect();
        for mi in &inv.managed_identities {
            if !sps.iter().any(|s| {
                s["appId"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&mi.client_id))
            }) {
                sps.push(json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": mi.principal_id, "appId": mi.client_id,
                    "displayName": mi.name, "servicePrincipalType": "ManagedIdentity", "appOwnerOrganizationId": mi.tenant_id,
                    "alternativeNames": ["isExplicit=True", mi.id]}));
            }
        }
        let mut defs = a::builtin_roles();
        defs.extend(inv.role_definitions.iter().cloned());
        let empty = inv.clusters.is_empty()
            && inv.managed_identities.is_empty()
            && inv.applications.is_empty()
            && inv.role_assignments.is_empty();
        let world = Arc::new(World { inv, sps, defs, empty });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rt");
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let count = Arc::new(Mutex::new(0usize));
        let (l2, base) = (log.clone(), url.clone());
        let app = Router::new().fallback(move |method: Method, uri: Uri| {
            let (world, b, log, count, base) = (world.clone(), b.clone(), l2.clone(), count.clone(), base.clone());
            async move {
                log.lock().expect("log").push((method.to_string(), uri.to_string()));
                let n = {
                    let mut c = count.lock().expect("count");
                    *c += 1;
                    *c
                };
                if !b.latency.is_zero() {
                    tokio::time::sleep(b.latency).await;
                }
                if b.throttle_always || n <= b.throttle_first {
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", b.retry_after.to_string())],
                        json!({"error": {"code": "TooManyRequests", "message": "The request is being throttled."}})
                            .to_string(),
                    )
                        .into_response();
                }
                handle(&world, &b, &base, method, uri)
            }
        });
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeAzure { url, log, _rt: rt }
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.log.lock().expect("log").clone()
    }

    /// The environment that points wi at this fake with static tokens.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WI_ARM_ENDPOINT", self.url.clone()),
            ("WI_GRAPH_ENDPOINT", self.url.clone()),
            ("WI_ARM_TOKEN", "test-only-arm-token".into()),
            ("WI_GRAPH_TOKEN", "test-only-graph-token".into()),
        ]
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn arm_error(code: u16, c: &str, message: String) -> Response {
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        [("content-type", "application/json")],
        json!({"error": {"code": c, "message": message}}).to_string(),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], v.to_string()).into_response()
}

/// The value quoted in a `$filter` clause: `appId eq '<x>'`, `assignedTo('<x>')`.
fn quoted(filter: &str) -> Option<String> {
    let start = filter.find('\'')? + 1;
    let end = filter[start..].find('\'')? + start;
    Some(filter[start..end].to_string())
}

fn handle(w: &World, b: &AzureBehaviour, base: &str, method: Method, uri: Uri) -> Response {
    if method != Method::GET {
        return arm_error(405, "MethodNotAllowed", "read-only fake".into());
    }
    if w.empty {
        return arm_error(
            403,
            "AuthorizationFailed",
            "The client 'wi' does not have authorization to perform this action.".into(),
        );
    }
    let path = decode(uri.path());
    let query = decode(uri.query().unwrap_or(""));
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")).map(str::to_string))
    };
    let filter = param("$filter").unwrap_or_default();
    let lower = path.to_ascii_lowercase();

    // ---- Graph -------------------------------------------------------------------------------
    if let Some(g) = path.strip_prefix("/v1.0/") {
        if b.forbid_graph {
            return arm_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.".into(),
            );
        }
        let want = quoted(&filter).unwrap_or_default().to_ascii_lowercase();
        return match g.split('/').collect::<Vec<_>>().as_slice() {
            ["servicePrincipals"] => ok(
                json!({"@odata.context": format!("{base}/v1.0/$metadata#servicePrincipals"),
                "value": w.sps.iter().filter(|s| s["appId"].as_str().is_some_and(|x| x.to_ascii_lowercase() == want)).cloned().collect::<Vec<_>>()}),
            ),
            ["servicePrincipals", id] => match w
                .sps
                .iter()
                .find(|s| s["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            {
                Some(s) => ok(s.clone()),
                None => arm_error(
                    404,
                    "Request_ResourceNotFound",
                    format!(
                        "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                    ),
                ),
            },
            ["applications"] => ok(json!({"@odata.context": format!("{base}/v1.0/$metadata#applications"),
                "value": w.inv.applications.iter().filter(|x| x.app_id.to_ascii_lowercase() == want).map(a::graph_application).collect::<Vec<_>>()})),
            ["applications", id, "federatedIdentityCredentials"] => {
                let single = w.inv.applications.len() == 1;
                let creds: Vec<_> = w
                    .inv
                    .credentials
                    .iter()
                    .filter(|c| match &c.parent {
                        Some(p) => p.eq_ignore_ascii_case(id),
                        None => single,
                    })
                    .collect();
                ok(a::graph_credentials(id, &creds, base))
            }
            _ => arm_error(404, "Request_ResourceNotFound", "not found".into()),
        };
    }

    // ---- ARM -----------------------------------------------------------------------------------
    if let Some(f) = b.forbid_arm
        && lower.contains(&f.to_ascii_lowercase())
    {
        return arm_error(
            403,
            "AuthorizationFailed",
            format!(
                "The client 'oncall@contoso.com' with object id '3f4a5b6c-7d8e-4f9a-8b0c-1d2e3f4a5b6c' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '{path}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            ),
        );
    }
    if lower.ends_with("/providers/microsoft.authorization/roleassignments") {
        let sub = a::arm_segment(&path, "subscriptions").unwrap_or_default();
        let who = quoted(&filter).unwrap_or_default();
        let all: Vec<Value> = w
            .inv
            .role_assignments
            .iter()
            .filter(|r| r.principal_id.eq_ignore_ascii_case(&who))
            .map(|r| a::arm_role_assignment(r, &sub))
            .collect();
        let skip: usize = param("$skiptoken").and_then(|s| s.parse().ok()).unwrap_or(0);
        let size = b.page.unwrap_or(usize::MAX);
        let end = skip.saturating_add(size).min(all.len());
        let mut v = json!({"value": all[skip.min(end)..end]});
        if end < all.len() {
            v["nextLink"] = json!(format!(
                "{base}{}?api-version=2022-04-01&$filter={}&$skiptoken={end}",
                uri.path(),
                filter.replace(' ', "%20").replace('\'', "%27")
            ));
        }
        return ok(v);
    }
    if lower.ends_with("/providers/microsoft.authorization/denyassignments") {
        let who = quoted(&filter).unwrap_or_default();
        let hit: Vec<Value> = w
            .inv
            .deny_assignments
            .iter()
            .filter(|d| {
                d.principals
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&who) || p == "00000000-0000-0000-0000-000000000000")
            })
            .map(a::arm_deny_assignment)
            .collect();
        return ok(json!({"value": hit}));
    }
    if lower.contains("/providers/microsoft.authorization/roledefinitions/") {
        let id = a::role_guid(&path);
        return match w.defs.iter().find(|d| d.id == id) {
            Some(d) => ok(a::arm_role_definition(
                d,
                &a::arm_segment(&path, "subscriptions").unwrap_or_default(),
            )),
            None => arm_error(
                404,
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{id}' does not exist."),
            ),
        };
    }
    if lower.ends_with("/providers/microsoft.managedidentity/userassignedidentities") {
        return ok(
            json!({"value": w.inv.managed_identities.iter().filter(|i| i.kind == IdentityKind::ManagedIdentity).map(a::arm_identity).collect::<Vec<_>>()}),
        );
    }
    if lower.ends_with("/federatedidentitycredentials") {
        let parent = &path[..path.len() - "/federatedIdentityCredentials".len()];
        let creds: Vec<Value> = w
            .inv
            .credentials
            .iter()
            .filter(|c| c.parent.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(parent)))
            .map(a::arm_credential_doc)
            .collect();
        return if w
            .inv
            .managed_identities
            .iter()
            .any(|i| i.id.eq_ignore_ascii_case(parent))
        {
            ok(json!({"value": creds}))
        } else {
            arm_error(
                404,
                "ParentResourceNotFound",
                format!(
                    "Can not perform requested operation on nested resource. Parent resource '{parent}' not found."
                ),
            )
        };
    }
    let eq = |id: &str| {
        id.trim_end_matches('/')
            .eq_ignore_ascii_case(path.trim_end_matches('/'))
    };
    if let Some(i) = w.inv.managed_identities.iter().find(|i| eq(&i.id)) {
        return ok(a::arm_identity(i));
    }
    if let Some(c) = w.inv.clusters.iter().find(|c| eq(&c.id)) {
        return ok(a::arm_cluster(c));
    }
    if let Some(k) = w.inv.key_vaults.iter().find(|k| eq(&k.id)) {
        return ok(a::arm_key_vault(k));
    }
    if let Some(s) = w.inv.storage_accounts.iter().find(|s| eq(&s.id)) {
        return ok(a::arm_storage(s));
    }
    // An AKS node resource group (MC_…) is managed by the cluster.
    if let Some(rg) = a::arm_segment(&path, "resourceGroups")
        && rg.starts_with("MC_")
        && !lower.contains("/providers/")
        && let Some(c) = w.inv.clusters.first()
    {
        return ok(
            json!({"id": path, "name": rg, "type": "Microsoft.Resources/resourceGroups", "location": "westeurope", "managedBy": c.id, "properties": {"provisioningState": "Succeeded"}}),
        );
    }
    if lower.ends_with("/providers/microsoft.keyvault/vaults") {
        return ok(json!({"value": w.inv.key_vaults.iter().map(a::arm_key_vault).collect::<Vec<_>>()}));
    }
    arm_error(404, "ResourceNotFound", format!("The Resource '{path}' was not found."))
}

/// The ARM id of the scenario's cluster, for `--cluster`.
pub fn cluster_id(snapshot: &Path) -> Option<String> {
    wi::collect::snapshot::read_dir(snapshot)
        .ok()?
        .clusters
        .first()
        .map(|c| c.id.clone())
}
