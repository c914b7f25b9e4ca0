//! Azure objects as `az … -o json` prints them (properties flattened, camelCase) and as the
//! ARM / Graph REST APIs return them (`properties` nested, `{"value": […]}` lists), folded into
//! one model. Field look-ups try the top level, then `properties`, ignoring key case
//! (`issuerURL` from ARM vs `issuerUrl` from az).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::facts::{
    AccessPolicy, Cluster, ClusterKind, FederatedCredential, Identity, IdentityKind, KeyVault, RoleAssignment,
    RoleDefinition,
};

/// An app registration (Graph `application`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Application {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub source: String,
}

/// A service principal (Graph `servicePrincipal`): managed identities have one too.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServicePrincipal {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub sp_type: Option<String>,
    pub tenant_id: Option<String>,
    /// For managed identities, Graph names the MI's ARM id here.
    pub alternative_names: Vec<String>,
    pub source: String,
}

/// Any ARM resource we only need the id and name of (storage accounts).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    pub id: String,
    pub name: String,
    pub resource_type: String,
    pub public_network_access: Option<String>,
    pub network_default_action: Option<String>,
    pub source: String,
}

/// Case-insensitive look-up at the top level, then under `properties`.
pub fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fn ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
        obj.get(name)
            .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
    }
    match ci(obj, name) {
        Some(Value::Null) | None => ci(obj, "properties")
            .and_then(Value::as_object)
            .and_then(|p| ci(p, name))
            .filter(|v| !v.is_null()),
        v => v,
    }
}

/// Follow a path of fields (each step via [`field`]).
pub fn path<'a>(obj: &'a Map<String, Value>, steps: &[&str]) -> Option<&'a Value> {
    let mut cur = field(obj, steps[0])?;
    for step in &steps[1..] {
        cur = field(cur.as_object()?, step)?;
    }
    Some(cur)
}

pub fn str_field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    field(obj, name).and_then(Value::as_str).map(str::to_string)
}

fn bool_at(obj: &Map<String, Value>, steps: &[&str]) -> Option<bool> {
    path(obj, steps).and_then(Value::as_bool)
}

fn str_at(obj: &Map<String, Value>, steps: &[&str]) -> Option<String> {
    path(obj, steps).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn timestamp(obj: &Map<String, Value>, names: &[&str]) -> Option<Timestamp> {
    for n in names {
        if let Some(s) = str_at(obj, &["systemData", n]).or_else(|| str_field(obj, n))
            && let Ok(t) = s.parse::<Timestamp>()
        {
            return Some(t);
        }
    }
    None
}

/// The segment after `/{key}/` in an ARM id, matched case-insensitively.
pub fn arm_segment(id: &str, key: &str) -> Option<String> {
    let parts: Vec<&str> = id.split('/').collect();
    parts
        .windows(2)
        .find(|w| w[0].eq_ignore_ascii_case(key))
        .map(|w| w[1].to_string())
}

/// The last path segment of an ARM id.
pub fn arm_name(id: &str) -> String {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id).to_string()
}

/// The role definition GUID of a (possibly subscription-qualified) role definition id.
pub fn role_guid(id: &str) -> String {
    arm_name(id).to_ascii_lowercase()
}

/// The ARM `type` of an object, lower-cased.
pub fn arm_type(obj: &Map<String, Value>) -> Option<String> {
    obj.get("type")
        .and_then(Value::as_str)
        .filter(|t| t.contains('/'))
        .map(str::to_ascii_lowercase)
}

pub fn cluster(obj: &Map<String, Value>, kind: ClusterKind, source: &str) -> Option<Cluster> {
    let id = str_field(obj, "id")?;
    Some(Cluster {
        kind,
        name: str_field(obj, "name").unwrap_or_else(|| arm_name(&id)),
        resource_group: str_field(obj, "resourceGroup").or_else(|| arm_segment(&id, "resourceGroups")),
        id,
        oidc_issuer_enabled: bool_at(obj, &["oidcIssuerProfile", "enabled"]),
        issuer_url: str_at(obj, &["oidcIssuerProfile", "issuerUrl"]),
        self_hosted_issuer_url: str_at(obj, &["oidcIssuerProfile", "selfHostedIssuerUrl"]),
        workload_identity_enabled: bool_at(obj, &["securityProfile", "workloadIdentity", "enabled"]),
        source: source.to_string(),
    })
}

pub fn managed_identity(obj: &Map<String, Value>, source: &str) -> Option<Identity> {
    let id = str_field(obj, "id")?;
    Some(Identity {
        kind: IdentityKind::ManagedIdentity,
        name: str_field(obj, "name").unwrap_or_else(|| arm_name(&id)),
        client_id: str_field(obj, "clientId")?,
        principal_id: str_field(obj, "principalId"),
        tenant_id: str_field(obj, "tenantId"),
        resource_group: str_field(obj, "resourceGroup").or_else(|| arm_segment(&id, "resourceGroups")),
        subscription: arm_segment(&id, "subscriptions"),
        has_service_principal: Some(true),
        id,
        source: source.to_string(),
    })
}

pub fn arm_credential(obj: &Map<String, Value>, source: &str) -> Option<FederatedCredential> {
    let id = str_field(obj, "id")?;
    // …/userAssignedIdentities/<mi>/federatedIdentityCredentials/<name>
    let lower = id.to_ascii_lowercase();
    let parent = lower
        .find("/federatedidentitycredentials/")
        .map(|i| id[..i].to_string());
    Some(FederatedCredential {
        name: str_field(obj, "name").unwrap_or_else(|| arm_name(&id)),
        parent,
        issuer: str_field(obj, "issuer")?,
        subject: str_field(obj, "subject"),
        audiences: strings(field(obj, "audiences")),
        claims_matching_expression: claims_expression(obj),
        created: timestamp(obj, &["createdAt"]),
        id: Some(id),
        source: source.to_string(),
    })
}

fn claims_expression(obj: &Map<String, Value>) -> Option<String> {
    match field(obj, "claimsMatchingExpression") {
        Some(Value::Object(m)) => m.get("value").and_then(Value::as_str).map(str::to_string),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A Graph / `az ad app federated-credential` credential: no parent in the object itself;
/// `parent` comes from an `@odata.context` like `…/applications('<objectId>')/federatedIdentityCredentials`.
pub fn graph_credential(
    obj: &Map<String, Value>,
    odata_context: Option<&str>,
    source: &str,
) -> Option<FederatedCredential> {
    let parent = odata_context
        .or_else(|| obj.get("@odata.context").and_then(Value::as_str))
        .and_then(|ctx| {
            let start = ctx.find("applications('")? + "applications('".len();
            let end = ctx[start..].find('\'')? + start;
            Some(ctx[start..end].to_string())
        });
    Some(FederatedCredential {
        name: str_field(obj, "name")?,
        id: str_field(obj, "id"),
        parent,
        issuer: str_field(obj, "issuer")?,
        subject: str_field(obj, "subject"),
        audiences: strings(field(obj, "audiences")),
        claims_matching_expression: claims_expression(obj),
        created: None,
        source: source.to_string(),
    })
}

pub fn application(obj: &Map<String, Value>, source: &str) -> Option<Application> {
    Some(Application {
        object_id: str_field(obj, "id")?,
        app_id: str_field(obj, "appId")?,
        display_name: str_field(obj, "displayName").unwrap_or_default(),
        source: source.to_string(),
    })
}

pub fn service_principal(obj: &Map<String, Value>, source: &str) -> Option<ServicePrincipal> {
    Some(ServicePrincipal {
        object_id: str_field(obj, "id")?,
        app_id: str_field(obj, "appId")?,
        display_name: str_field(obj, "displayName").unwrap_or_default(),
        sp_type: str_field(obj, "servicePrincipalType"),
        tenant_id: str_field(obj, "appOwnerOrganizationId"),
        alternative_names: strings(field(obj, "alternativeNames")),
        source: source.to_string(),
    })
}

pub fn role_assignment(obj: &Map<String, Value>, source: &str) -> Option<RoleAssignment> {
    let id = str_field(obj, "id")?;
    Some(RoleAssignment {
        scope: str_field(obj, "scope")?,
        principal_id: str_field(obj, "principalId")?,
        principal_type: str_field(obj, "principalType"),
        role_definition: role_guid(&str_field(obj, "roleDefinitionId")?),
        role_name: str_field(obj, "roleDefinitionName"),
        condition: str_field(obj, "condition").filter(|c| !c.trim().is_empty()),
        created: timestamp(obj, &["createdOn", "createdAt"]),
        id,
        source: source.to_string(),
    })
}

pub fn role_definition(obj: &Map<String, Value>, source: &str) -> Option<RoleDefinition> {
    let id = str_field(obj, "id").or_else(|| str_field(obj, "name"))?;
    let mut def = RoleDefinition {
        id: role_guid(&id),
        name: str_field(obj, "roleName")?,
        actions: vec![],
        not_actions: vec![],
        data_actions: vec![],
        not_data_actions: vec![],
        source: source.to_string(),
    };
    [def.actions, def.not_actions, def.data_actions, def.not_data_actions] = permissions(obj);
    Some(def)
}

/// The union of a role or deny assignment's `permissions` entries: actions, notActions,
/// dataActions, notDataActions.
fn permissions(obj: &Map<String, Value>) -> [Vec<String>; 4] {
    let mut out: [Vec<String>; 4] = Default::default();
    for perm in field(obj, "permissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(p) = perm.as_object() else { continue };
        for (i, k) in ["actions", "notActions", "dataActions", "notDataActions"]
            .iter()
            .enumerate()
        {
            out[i].extend(strings(p.get(*k)));
        }
    }
    out
}

pub fn deny_assignment(obj: &Map<String, Value>, source: &str) -> Option<crate::facts::DenyAssignment> {
    let id = str_field(obj, "id")?;
    let ids = |k: &str| -> Vec<String> {
        field(obj, k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut d = crate::facts::DenyAssignment {
        name: str_field(obj, "denyAssignmentName").unwrap_or_else(|| arm_name(&id)),
        scope: str_field(obj, "scope")?,
        principals: ids("principals"),
        exclude_principals: ids("excludePrincipals"),
        actions: vec![],
        not_actions: vec![],
        data_actions: vec![],
        not_data_actions: vec![],
        children_exempt: field(obj, "doNotApplyToChildScopes")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        id,
        source: source.to_string(),
    };
    [d.actions, d.not_actions, d.data_actions, d.not_data_actions] = permissions(obj);
    Some(d)
}

pub fn arm_deny_assignment(d: &crate::facts::DenyAssignment) -> Value {
    let who = |ids: &[String]| {
        ids.iter()
            .map(|i| serde_json::json!({"id": i, "type": "ServicePrincipal"}))
            .collect::<Vec<_>>()
    };
    serde_json::json!({"id": d.id, "name": arm_name(&d.id), "type": "Microsoft.Authorization/denyAssignments",
        "properties": {"denyAssignmentName": d.name, "scope": d.scope, "doNotApplyToChildScopes": d.children_exempt,
            "principals": who(&d.principals), "excludePrincipals": who(&d.exclude_principals), "isSystemProtected": true,
            "permissions": [{"actions": d.actions, "notActions": d.not_actions, "dataActions": d.data_actions, "notDataActions": d.not_data_actions}]}})
}

pub fn key_vault(obj: &Map<String, Value>, source: &str) -> Option<KeyVault> {
    let id = str_field(obj, "id")?;
    let policies = field(obj, "accessPolicies")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .filter_map(|p| {
                    let perms = field(p, "permissions").and_then(Value::as_object);
                    let list = |k: &str| strings(perms.and_then(|m| field(m, k)));
                    Some(AccessPolicy {
                        tenant_id: str_field(p, "tenantId"),
                        object_id: str_field(p, "objectId")?,
                        application_id: str_field(p, "applicationId"),
                        secrets: list("secrets"),
                        keys: list("keys"),
                        certificates: list("certificates"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(KeyVault {
        name: str_field(obj, "name").unwrap_or_else(|| arm_name(&id)),
        vault_uri: str_field(obj, "vaultUri"),
        rbac_authorization: field(obj, "enableRbacAuthorization").and_then(Value::as_bool),
        access_policies: policies,
        public_network_access: str_field(obj, "publicNetworkAccess"),
        network_default_action: str_at(obj, &["networkAcls", "defaultAction"])
            .or_else(|| str_at(obj, &["networkRuleSet", "defaultAction"])),
        id,
        source: source.to_string(),
    })
}

pub fn resource(obj: &Map<String, Value>, source: &str) -> Option<Resource> {
    let id = str_field(obj, "id")?;
    Some(Resource {
        name: str_field(obj, "name").unwrap_or_else(|| arm_name(&id)),
        resource_type: arm_type(obj).unwrap_or_default(),
        public_network_access: str_field(obj, "publicNetworkAccess"),
        network_default_action: str_at(obj, &["networkRuleSet", "defaultAction"])
            .or_else(|| str_at(obj, &["networkAcls", "defaultAction"])),
        id,
        source: source.to_string(),
    })
}

// ---- rendering: models back into the REST shapes (for `wi collect` and the test fakes) ----------

/// A managed identity as ARM returns it.
pub fn arm_identity(i: &Identity) -> Value {
    serde_json::json!({"id": i.id, "name": i.name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "properties": {"tenantId": i.tenant_id, "principalId": i.principal_id, "clientId": i.client_id}})
}

/// A managed identity's federated credential as ARM returns it (parent in the id).
pub fn arm_credential_doc(c: &FederatedCredential) -> Value {
    let mut props = serde_json::json!({"issuer": c.issuer, "audiences": c.audiences});
    if let Some(s) = &c.subject {
        props["subject"] = Value::String(s.clone());
    }
    if let Some(e) = &c.claims_matching_expression {
        props["claimsMatchingExpression"] = serde_json::json!({"value": e, "languageVersion": 1});
    }
    let mut v = serde_json::json!({"id": c.id.clone().unwrap_or_else(|| format!("{}/federatedIdentityCredentials/{}", c.parent.clone().unwrap_or_default(), c.name)),
        "name": c.name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", "properties": props});
    if let Some(t) = c.created {
        v["systemData"] = serde_json::json!({"createdAt": t.to_string()});
    }
    v
}

/// An app registration's federated credentials as Graph lists them.
pub fn graph_credentials(app_object_id: &str, creds: &[&FederatedCredential], base: &str) -> Value {
    let items: Vec<Value> = creds
        .iter()
        .map(|c| {
            let mut v = serde_json::json!({"id": c.id.clone().unwrap_or_default(), "name": c.name, "issuer": c.issuer, "audiences": c.audiences, "description": null});
            if let Some(s) = &c.subject {
                v["subject"] = Value::String(s.clone());
            }
            if let Some(e) = &c.claims_matching_expression {
                v["claimsMatchingExpression"] = serde_json::json!({"value": e, "languageVersion": 1});
            }
            v
        })
        .collect();
    serde_json::json!({"@odata.context": format!("{base}/v1.0/$metadata#applications('{app_object_id}')/federatedIdentityCredentials"), "value": items})
}

pub fn graph_application(a: &Application) -> Value {
    serde_json::json!({"@odata.type": "#microsoft.graph.application", "id": a.object_id, "appId": a.app_id, "displayName": a.display_name})
}

pub fn graph_service_principal(s: &ServicePrincipal) -> Value {
    serde_json::json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": s.object_id, "appId": s.app_id, "displayName": s.display_name,
        "servicePrincipalType": s.sp_type, "appOwnerOrganizationId": s.tenant_id, "alternativeNames": s.alternative_names})
}

pub fn arm_role_assignment(r: &RoleAssignment, subscription: &str) -> Value {
    let mut props = serde_json::json!({"roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}", r.role_definition),
        "principalId": r.principal_id, "principalType": r.principal_type, "scope": r.scope, "condition": r.condition});
    if let Some(t) = r.created {
        props["createdOn"] = Value::String(t.to_string());
    }
    serde_json::json!({"id": r.id, "name": arm_name(&r.id), "type": "Microsoft.Authorization/roleAssignments", "properties": props})
}

pub fn arm_role_definition(d: &RoleDefinition, subscription: &str) -> Value {
    serde_json::json!({"id": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}", d.id), "name": d.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {"roleName": d.name, "permissions": [{"actions": d.actions, "notActions": d.not_actions, "dataActions": d.data_actions, "notDataActions": d.not_data_actions}]}})
}

pub fn arm_cluster(c: &Cluster) -> Value {
    let (ty, key) = match c.kind {
        ClusterKind::Aks => ("Microsoft.ContainerService/ManagedClusters", "issuerURL"),
        ClusterKind::Arc => ("Microsoft.Kubernetes/connectedClusters", "issuerUrl"),
    };
    let mut oidc = serde_json::json!({"enabled": c.oidc_issuer_enabled});
    oidc[key] = serde_json::json!(c.issuer_url);
    if c.kind == ClusterKind::Arc {
        oidc["selfHostedIssuerUrl"] = serde_json::json!(c.self_hosted_issuer_url);
    }
    serde_json::json!({"id": c.id, "name": c.name, "type": ty,
        "properties": {"oidcIssuerProfile": oidc, "securityProfile": {"workloadIdentity": {"enabled": c.workload_identity_enabled}}}})
}

pub fn arm_key_vault(k: &KeyVault) -> Value {
    let policies: Vec<Value> = k
        .access_policies
        .iter()
        .map(|p| {
            serde_json::json!({"tenantId": p.tenant_id, "objectId": p.object_id, "applicationId": p.application_id,
            "permissions": {"secrets": p.secrets, "keys": p.keys, "certificates": p.certificates}})
        })
        .collect();
    let mut props = serde_json::json!({"vaultUri": k.vault_uri, "enableRbacAuthorization": k.rbac_authorization, "accessPolicies": policies,
        "publicNetworkAccess": k.public_network_access});
    if let Some(d) = &k.network_default_action {
        props["networkAcls"] = serde_json::json!({"defaultAction": d});
    }
    serde_json::json!({"id": k.id, "name": k.name, "type": "Microsoft.KeyVault/vaults", "properties": props})
}

pub fn arm_storage(r: &Resource) -> Value {
    let mut props = serde_json::json!({"publicNetworkAccess": r.public_network_access});
    if let Some(d) = &r.network_default_action {
        props["networkAcls"] = serde_json::json!({"defaultAction": d});
    }
    serde_json::json!({"id": r.id, "name": r.name, "type": "Microsoft.Storage/storageAccounts", "properties": props})
}

/// The built-in role definitions `wi` ships (verified against the Azure built-in roles docs),
/// used when a snapshot has assignments but not the definitions behind them.
pub fn builtin_roles() -> Vec<RoleDefinition> {
    static ROLES: std::sync::OnceLock<Vec<RoleDefinition>> = std::sync::OnceLock::new();
    ROLES.get_or_init(parse_builtin_roles).clone()
}

fn parse_builtin_roles() -> Vec<RoleDefinition> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        id: String,
        role_name: String,
        actions: Vec<String>,
        not_actions: Vec<String>,
        data_actions: Vec<String>,
        not_data_actions: Vec<String>,
    }
    let raw: Vec<Raw> = match serde_json::from_str(include_str!("../data/builtin-roles.json")) {
        Ok(r) => r,
        // The file is embedded at build time and checked by a unit test.
        Err(_) => return Vec::new(),
    };
    raw.into_iter()
        .map(|r| RoleDefinition {
            id: r.id.to_ascii_lowercase(),
            name: r.role_name,
            actions: r.actions,
            not_actions: r.not_actions,
            data_actions: r.data_actions,
            not_data_actions: r.not_data_actions,
            source: "built-in role (embedded in wi)".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_parse() {
        let roles = builtin_roles();
        assert!(roles.len() >= 30, "{}", roles.len());
        let kv = roles.iter().find(|r| r.name == "Key Vault Secrets User").unwrap();
        assert_eq!(kv.id, "4633458b-17de-408a-b874-0445c86b69e6");
        assert!(kv.data_actions.iter().any(|a| a.ends_with("secrets/getSecret/action")));
    }

    #[test]
    fn field_is_case_insensitive_and_looks_under_properties() {
        let v: Value = serde_json::json!({"properties": {"oidcIssuerProfile": {"issuerURL": "https://x/"}}});
        let o = v.as_object().unwrap();
        assert_eq!(
            str_at(o, &["oidcIssuerProfile", "issuerUrl"]).as_deref(),
            Some("https://x/")
        );
    }

    #[test]
    fn arm_segments_ignore_case() {
        let id = "/subscriptions/S/resourcegroups/rg-A/providers/X/y/z";
        assert_eq!(arm_segment(id, "resourceGroups").as_deref(), Some("rg-A"));
        assert_eq!(
            role_guid("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/ABC"),
            "abc"
        );
    }
}
