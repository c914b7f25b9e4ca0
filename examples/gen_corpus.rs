//! Regenerate the scenario corpus under `tests/corpus/`: realistic snapshot directories
//! (kubectl YAML, az CLI JSON, ARM/Graph REST JSON, signed tokens, discovery, JWKS), one
//! healthy base and one fault per scenario, each with a `case.json` stating the command and
//! the expected outcome. Deterministic: the same run writes the same bytes (a test checks).
//!
//!     cargo run --example gen_corpus            # rewrite tests/corpus/scenarios
//!     cargo run --example gen_corpus -- DIR     # write elsewhere
//!
//! The signing keys in tests/corpus/keys are test-only.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// ---- the fictional estate --------------------------------------------------------------------
const SUB: &str = "6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f";
const TENANT: &str = "2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f";
const OTHER_TENANT: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
const NS: &str = "payments";
const APP: &str = "checkout-api";
const MI: &str = "id-payments-checkout";
const MI_RG: &str = "rg-payments-identity";
const CLIENT_ID: &str = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e";
const PRINCIPAL_ID: &str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
const OTHER_MI: &str = "id-payments-orders";
const OTHER_CLIENT_ID: &str = "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b";
const OTHER_PRINCIPAL_ID: &str = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b";
const CLUSTER: &str = "aks-payments-weu";
const CLUSTER_RG: &str = "rg-payments-aks";
const ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f/4c5d6e7f-8091-4a2b-b3c4-d5e6f7a8b9c0/";
const OLD_ISSUER: &str = "https://oidc.prod-aks.azure.com/0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b/";
const KV_RG: &str = "rg-payments-prod";
const KV: &str = "kv-payments-weu";
const STORAGE: &str = "stpaymentsweu";
const RS_HASH: &str = "7d9f8c6b5";
const IAT: i64 = 1_773_133_200; // 2026-03-10T09:00:00Z
const AT: &str = "2026-03-10T09:20:00Z";
const EXCHANGE: &str = "api://AzureADTokenExchange";
const KV_SECRETS_USER: &str = "4633458b-17de-408a-b874-0445c86b69e6";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

fn kv_id(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{KV_RG}/providers/Microsoft.KeyVault/vaults/{name}")
}
fn storage_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{KV_RG}/providers/Microsoft.Storage/storageAccounts/{STORAGE}")
}
fn mi_id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/{MI_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )
}

// ---- keys and tokens -------------------------------------------------------------------------
struct Key {
    pem: Vec<u8>,
    kid: String,
    jwk: Value,
}

fn key(path: &Path) -> Key {
    let pem = fs::read(path).expect("test key");
    let sk = RsaPrivateKey::from_pkcs1_pem(std::str::from_utf8(&pem).expect("pem")).expect("rsa key");
    let pk = sk.to_public_key();
    let der = pk.to_public_key_der().expect("der");
    // The kid the Kubernetes API server and `azwi jwks` use: base64url(sha256(DER SPKI)).
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_bytes()));
    let jwk = json!({
        "use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(pk.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(pk.e().to_bytes_be()),
    });
    Key { pem, kid, jwk }
}

struct TokenSpec {
    iss: String,
    sub: String,
    aud: Vec<String>,
    iat: i64,
    lifetime: i64,
    pod: Option<(String, String)>,
    kid: String,
}

fn mint(spec: &TokenSpec, signer: &Key) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(spec.kid.clone());
    let (ns, sa) = spec
        .sub
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or((NS.into(), APP.into()));
    let mut k8s = json!({
        "namespace": ns,
        "serviceaccount": {"name": sa, "uid": "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e"},
    });
    if let Some((pod, uid)) = &spec.pod {
        k8s["pod"] = json!({"name": pod, "uid": uid});
        k8s["node"] = json!({"name": "aks-system-28514963-vmss000001", "uid": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"});
    }
    let claims = json!({
        "aud": spec.aud, "exp": spec.iat + spec.lifetime, "iat": spec.iat, "iss": spec.iss,
        "jti": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d", "kubernetes.io": k8s, "nbf": spec.iat, "sub": spec.sub,
    });
    let ek = EncodingKey::from_rsa_pem(&signer.pem).expect("encoding key");
    jsonwebtoken::encode(&header, &claims, &ek).expect("sign")
}

// ---- the scenario model ----------------------------------------------------------------------
/// A snapshot under construction: Kubernetes objects (written as YAML) and Azure files (JSON).
#[derive(Clone)]
struct Snap {
    k8s: Vec<Value>,
    azure: BTreeMap<String, Value>,
    token: Option<TokenSpec2>,
    discovery: Option<Value>,
    jwks: Option<Value>,
    extra: BTreeMap<String, String>,
    /// Lines appended to the snapshot's manifest (which always records the collection time).
    manifest: String,
}

#[derive(Clone)]
struct TokenSpec2 {
    iss: String,
    sub: String,
    aud: Vec<String>,
    iat: i64,
    lifetime: i64,
    pod: Option<(String, String)>,
    /// Which key's kid the header names, and which key signs (1 or 2).
    kid_of: u8,
    signed_by: u8,
}

struct Case {
    name: &'static str,
    description: &'static str,
    args: Vec<String>,
    exit: i32,
    links: [&'static str; 4],
    rules: Vec<(&'static str, &'static str)>,
}

fn pod_name(i: usize) -> String {
    ["checkout-api-7d9f8c6b5-x2k4q", "checkout-api-7d9f8c6b5-m8n3p"][i].to_string()
}
fn pod_uid(i: usize) -> String {
    [
        "8f9e0d1c-2b3a-4c5d-9e6f-7a8b9c0d1e2f",
        "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    ][i]
        .to_string()
}

fn container(mutated: bool, extra_env: &[(&str, &str)]) -> Value {
    let mut env = vec![json!({"name": "SECRETS_VAULT_URI", "value": format!("https://{KV}.vault.azure.net/")})];
    for (k, v) in extra_env {
        env.push(json!({"name": k, "value": v}));
    }
    let mut c = json!({
        "name": "api",
        "image": "contosoacr.azurecr.io/payments/checkout-api:3.4.1",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    });
    if mutated {
        for (k, v) in [
            ("AZURE_CLIENT_ID", CLIENT_ID),
            ("AZURE_TENANT_ID", TENANT),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                "/var/run/secrets/azure/wi/token/azure-identity-token",
            ),
            ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
        ] {
            if !env.iter().any(|e| e["name"] == k) {
                env.push(json!({"name": k, "value": v}));
            }
        }
    }
    c["env"] = Value::Array(env);
    c
}

fn template_spec(labelled: bool, sa: Option<&str>) -> Value {
    let mut labels = json!({"app": APP});
    if labelled {
        labels["azure.workload.identity/use"] = json!("true");
    }
    let mut spec = json!({
        "containers": [container(false, &[])],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
        "securityContext": {}, "terminationGracePeriodSeconds": 30,
    });
    if let Some(sa) = sa {
        spec["serviceAccount"] = json!(sa);
        spec["serviceAccountName"] = json!(sa);
    }
    json!({"metadata": {"creationTimestamp": null, "labels": labels}, "spec": spec})
}

fn wi_volume_hash(pod: &str) -> String {
    let h = Sha256::digest(pod.as_bytes());
    h.iter().map(|b| format!("{b:02x}")).collect::<String>()[..30].to_string()
}

fn running_pod(i: usize, mutated: bool, labelled: bool, sa: &str) -> Value {
    let name = pod_name(i);
    let mut tpl = template_spec(labelled, Some(sa));
    let mut spec = tpl["spec"].take();
    spec["containers"] = json!([container(mutated, &[])]);
    spec["nodeName"] = json!("aks-system-28514963-vmss000001");
    let api_access = format!("kube-api-access-{}", ["r7t2w", "q9z5c"][i]);
    let mut mounts = vec![
        json!({"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": api_access, "readOnly": true}),
    ];
    let mut volumes = vec![
        json!({"name": api_access, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}
        ]}}),
    ];
    if mutated {
        let vol = format!(
            "azure-workload-identity-reserved-{}",
            wi_volume_hash(&format!("{APP}-{RS_HASH}- (prefix)"))
        );
        mounts.push(json!({"mountPath": "/var/run/secrets/azure/wi", "name": vol, "readOnly": true}));
        volumes.push(json!({"name": vol, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"audience": EXCHANGE, "expirationSeconds": 3600, "path": "token/azure-identity-token"}}
        ]}}));
    }
    spec["containers"][0]["volumeMounts"] = Value::Array(mounts);
    spec["volumes"] = Value::Array(volumes);
    let mut labels = json!({"app": APP, "pod-template-hash": RS_HASH});
    if labelled {
        labels["azure.workload.identity/use"] = json!("true");
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "creationTimestamp": "2026-03-09T14:02:11Z", "generateName": format!("{APP}-{RS_HASH}-"),
            "labels": labels, "name": name, "namespace": NS,
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true, "kind": "ReplicaSet", "name": format!("{APP}-{RS_HASH}"), "uid": "4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e"}],
            "resourceVersion": "48213377", "uid": pod_uid(i),
        },
        "spec": spec,
        "status": {"phase": "Running", "podIP": format!("10.244.3.{}", 17 + i), "qosClass": "Burstable", "startTime": "2026-03-09T14:02:11Z"},
    })
}

fn deployment(labelled: bool, sa: Option<&str>) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"annotations": {"deployment.kubernetes.io/revision": "3"}, "creationTimestamp": "2025-11-02T08:15:40Z", "generation": 3,
            "labels": {"app": APP}, "name": APP, "namespace": NS, "resourceVersion": "48213120", "uid": "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"},
        "spec": {"progressDeadlineSeconds": 600, "replicas": 2, "revisionHistoryLimit": 10, "selector": {"matchLabels": {"app": APP}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": template_spec(labelled, sa)},
        "status": {"availableReplicas": 2, "observedGeneration": 3, "readyReplicas": 2, "replicas": 2, "updatedReplicas": 2},
    })
}

fn replica_set(labelled: bool, sa: Option<&str>) -> Value {
    let mut tpl = template_spec(labelled, sa);
    tpl["metadata"]["labels"]["pod-template-hash"] = json!(RS_HASH);
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"annotations": {"deployment.kubernetes.io/desired-replicas": "2", "deployment.kubernetes.io/revision": "3"},
            "creationTimestamp": "2026-03-09T14:02:09Z", "generation": 1, "labels": {"app": APP, "pod-template-hash": RS_HASH},
            "name": format!("{APP}-{RS_HASH}"), "namespace": NS,
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true, "kind": "Deployment", "name": APP, "uid": "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"}],
            "resourceVersion": "48213301", "uid": "4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": APP, "pod-template-hash": RS_HASH}}, "template": tpl},
        "status": {"availableReplicas": 2, "fullyLabeledReplicas": 2, "observedGeneration": 1, "readyReplicas": 2, "replicas": 2},
    })
}

fn service_account(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"annotations": annotations, "creationTimestamp": "2025-11-02T08:10:02Z",
        "name": name, "namespace": NS, "resourceVersion": "31877210", "uid": "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e"}})
}

fn webhook_config(name: &str, svc_ns: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"annotations": {"meta.helm.sh/release-name": "aks-managed-workload-identity", "meta.helm.sh/release-namespace": svc_ns},
            "creationTimestamp": "2025-06-20T10:11:12Z", "generation": 2,
            "labels": {"app.kubernetes.io/managed-by": "Helm", "azure-workload-identity.io/system": "true"}, "name": name,
            "resourceVersion": "1022931", "uid": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"},
        "webhooks": [{
            "admissionReviewVersions": ["v1", "v1beta1"],
            "clientConfig": {"service": {"name": "azure-wi-webhook-webhook-service", "namespace": svc_ns, "path": "/mutate-v1-pod", "port": 443}},
            "failurePolicy": "Fail", "matchPolicy": "Equivalent", "name": "mutation.azure-workload-identity.io",
            "namespaceSelector": {}, "objectSelector": {"matchLabels": {"azure.workload.identity/use": "true"}},
            "reinvocationPolicy": "IfNeeded",
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"], "scope": "*"}],
            "sideEffects": "None", "timeoutSeconds": 10,
        }],
    })
}

fn webhook_deployment(ready: i32) -> Value {
    let mut status = json!({"replicas": 2, "observedGeneration": 4});
    if ready > 0 {
        status["readyReplicas"] = json!(ready);
        status["availableReplicas"] = json!(ready);
    } else {
        status["unavailableReplicas"] = json!(2);
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "azure-wi-webhook-controller-manager", "namespace": "kube-system", "creationTimestamp": "2025-06-20T10:11:12Z",
        "labels": {"azure-workload-identity.io/system": "true", "kubernetes.azure.com/managedby": "aks"}}, "spec": {"replicas": 2, "selector": {"matchLabels": {"azure-workload-identity.io/system": "true"}},
        "template": {"metadata": {"labels": {"azure-workload-identity.io/system": "true"}}, "spec": {"containers": [{"name": "manager", "image": "mcr.microsoft.com/oss/azure/workload-identity/webhook:v1.6.0"}]}}},
        "status": status})
}

fn namespace(labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"creationTimestamp": "2025-06-20T10:30:00Z", "labels": labels, "name": NS,
        "resourceVersion": "1023001", "uid": "6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e9f"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

fn aks(issuer: Option<&str>, wi: bool) -> Value {
    json!({
        "id": format!("/subscriptions/{SUB}/resourcegroups/{CLUSTER_RG}/providers/Microsoft.ContainerService/managedClusters/{CLUSTER}"),
        "location": "westeurope", "name": CLUSTER, "resourceGroup": CLUSTER_RG, "kubernetesVersion": "1.33", "currentKubernetesVersion": "1.33.2",
        "provisioningState": "Succeeded", "powerState": {"code": "Running"}, "nodeResourceGroup": format!("MC_{CLUSTER_RG}_{CLUSTER}_westeurope"),
        "oidcIssuerProfile": {"enabled": issuer.is_some(), "issuerUrl": issuer},
        "securityProfile": {"workloadIdentity": {"enabled": wi}, "defender": null, "imageCleaner": null},
        "type": "Microsoft.ContainerService/ManagedClusters",
    })
}

fn identity(name: &str, client: &str, principal: &str) -> Value {
    json!({"clientId": client, "id": mi_id(name), "location": "westeurope", "name": name, "principalId": principal,
        "resourceGroup": MI_RG, "systemData": null, "tags": {}, "tenantId": TENANT, "type": "Microsoft.ManagedIdentity/userAssignedIdentities"})
}

fn fic(mi: &str, name: &str, issuer: &str, subject: &str, audience: &str) -> Value {
    json!({"audiences": [audience], "id": format!("{}/federatedIdentityCredentials/{name}", mi_id(mi)), "issuer": issuer, "name": name,
        "resourceGroup": MI_RG, "subject": subject, "systemData": null, "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"})
}

fn assignment(principal: &str, role: &str, role_name: &str, scope: &str, created: &str) -> Value {
    let name = {
        let h = Sha256::digest(format!("{principal}{role}{scope}").as_bytes());
        let x: String = h.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-4{}-8{}-{}",
            &x[0..8],
            &x[8..12],
            &x[13..16],
            &x[17..20],
            &x[20..32]
        )
    };
    json!({"condition": null, "conditionVersion": null, "createdBy": "3f4a5b6c-7d8e-4f9a-8b0c-1d2e3f4a5b6c", "createdOn": created,
        "delegatedManagedIdentityResourceId": null, "description": null,
        "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"), "name": name,
        "principalId": principal, "principalName": "", "principalType": "ServicePrincipal",
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "roleDefinitionName": role_name, "scope": scope, "type": "Microsoft.Authorization/roleAssignments",
        "updatedBy": "3f4a5b6c-7d8e-4f9a-8b0c-1d2e3f4a5b6c", "updatedOn": created})
}

fn keyvault(name: &str, rbac: bool, policies: Value) -> Value {
    json!({"id": kv_id(name), "location": "westeurope", "name": name, "resourceGroup": KV_RG, "type": "Microsoft.KeyVault/vaults", "tags": {},
        "properties": {"accessPolicies": policies, "enableRbacAuthorization": rbac, "enableSoftDelete": true, "enablePurgeProtection": true,
            "provisioningState": "Succeeded", "publicNetworkAccess": "Enabled", "sku": {"family": "A", "name": "standard"},
            "softDeleteRetentionInDays": 90, "tenantId": TENANT, "vaultUri": format!("https://{name}.vault.azure.net/")}})
}

fn discovery(issuer: &str) -> Value {
    json!({"issuer": issuer, "jwks_uri": format!("{issuer}openid/v1/jwks"), "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]})
}

fn base() -> Snap {
    let mut azure = BTreeMap::new();
    azure.insert("azure/aks-show.json".into(), aks(Some(ISSUER), true));
    azure.insert("azure/identity-show.json".into(), identity(MI, CLIENT_ID, PRINCIPAL_ID));
    azure.insert(
        "azure/federated-credential-list.json".into(),
        json!([fic(
            MI,
            "checkout-api-aks-weu",
            ISSUER,
            &format!("system:serviceaccount:{NS}:{APP}"),
            EXCHANGE
        )]),
    );
    azure.insert(
        "azure/role-assignment-list.json".into(),
        json!([assignment(
            PRINCIPAL_ID,
            KV_SECRETS_USER,
            "Key Vault Secrets User",
            &kv_id(KV),
            "2025-11-02T08:20:31.118230+00:00"
        )]),
    );
    azure.insert("azure/keyvault-show.json".into(), keyvault(KV, true, json!([])));
    Snap {
        k8s: vec![
            namespace(json!({"kubernetes.io/metadata.name": NS})),
            service_account(APP, json!({"azure.workload.identity/client-id": CLIENT_ID})),
            service_account("default", json!(null)),
            deployment(true, Some(APP)),
            replica_set(true, Some(APP)),
            running_pod(0, true, true, APP),
            running_pod(1, true, true, APP),
            webhook_config("azure-wi-webhook-mutating-webhook-configuration", "kube-system"),
        ],
        azure,
        token: Some(TokenSpec2 {
            iss: ISSUER.into(),
            sub: format!("system:serviceaccount:{NS}:{APP}"),
            aud: vec![EXCHANGE.into()],
            iat: IAT,
            lifetime: 3600,
            pod: Some((pod_name(0), pod_uid(0))),
            kid_of: 1,
            signed_by: 1,
        }),
        discovery: Some(discovery(ISSUER)),
        jwks: Some(json!({"keys": [Value::Null]})), // filled with key 1 when written
        extra: BTreeMap::new(),
        manifest: String::new(),
    }
}

impl Snap {
    fn k8s_mut(&mut self, kind: &str, name: &str) -> &mut Value {
        self.k8s
            .iter_mut()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind}/{name}"))
    }
    fn remove(&mut self, kind: &str) {
        self.k8s.retain(|o| o["kind"] != kind);
    }
    fn pods_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.k8s.iter_mut().filter(|o| o["kind"] == "Pod")
    }
    fn templates_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.k8s
            .iter_mut()
            .filter(|o| o["kind"] == "Deployment" || o["kind"] == "ReplicaSet")
            .map(|o| &mut o["spec"]["template"])
    }
}

fn write(dir: &Path, s: &Snap, keys: &[Key; 2]) {
    fs::create_dir_all(dir).expect("mkdir");
    // Kubernetes objects: one kubectl-style YAML file per kind, multi-document where several.
    let mut by_kind: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for o in &s.k8s {
        by_kind
            .entry(o["kind"].as_str().unwrap_or("Object").to_ascii_lowercase())
            .or_default()
            .push(o);
    }
    for (kind, objs) in by_kind {
        let docs: Vec<String> = objs
            .iter()
            .map(|o| serde_yaml_ng::to_string(o).expect("yaml"))
            .collect();
        let text = docs.join("---\n");
        fs::create_dir_all(dir.join("k8s")).expect("mkdir");
        fs::write(dir.join("k8s").join(format!("{kind}.yaml")), text).expect("write");
    }
    for (path, v) in &s.azure {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, format!("{}\n", serde_json::to_string_pretty(v).expect("json"))).expect("write");
    }
    if let Some(t) = &s.token {
        let spec = TokenSpec {
            iss: t.iss.clone(),
            sub: t.sub.clone(),
            aud: t.aud.clone(),
            iat: t.iat,
            lifetime: t.lifetime,
            pod: t.pod.clone(),
            kid: keys[(t.kid_of - 1) as usize].kid.clone(),
        };
        let jwt = mint(&spec, &keys[(t.signed_by - 1) as usize]);
        fs::create_dir_all(dir.join("token")).expect("mkdir");
        fs::write(dir.join("token/azure-identity-token"), jwt).expect("write");
    }
    if let Some(d) = &s.discovery {
        fs::create_dir_all(dir.join("oidc")).expect("mkdir");
        fs::write(
            dir.join("oidc/openid-configuration"),
            format!("{}\n", serde_json::to_string_pretty(d).expect("json")),
        )
        .expect("write");
    }
    if let Some(j) = &s.jwks {
        let mut j = j.clone();
        if let Some(keys_arr) = j["keys"].as_array_mut() {
            for k in keys_arr.iter_mut() {
                if k.is_null() {
                    *k = keys[0].jwk.clone();
                } else if k == &json!("key2") {
                    *k = keys[1].jwk.clone();
                }
            }
        }
        fs::create_dir_all(dir.join("oidc")).expect("mkdir");
        fs::write(
            dir.join("oidc/jwks"),
            format!("{}\n", serde_json::to_string_pretty(&j).expect("json")),
        )
        .expect("write");
    }
    // Like `wi collect`, record when the snapshot was taken: time-based checks default to it.
    let manifest = format!(
        "apiVersion: wi/v1\nkind: SnapshotManifest\ncollectedAt: \"{AT}\"\n{}",
        s.manifest
    );
    fs::write(dir.join("wi-snapshot.yaml"), manifest).expect("write");
    for (p, text) in &s.extra {
        let p = dir.join(p);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }
}

const PASS: [&str; 4] = ["pass", "pass", "pass", "pass"];

fn args(target: &str, scope: Option<String>, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "doctor".to_string(),
        target.to_string(),
        "-n".into(),
        NS.into(),
        "--at".into(),
        AT.into(),
    ];
    if let Some(s) = scope {
        a.push("--scope".into());
        a.push(s);
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn deploy_kv() -> Vec<String> {
    args("deploy/checkout-api", Some(kv_id(KV)), &[])
}

/// Replace the Deployment and ReplicaSet by a workload of another kind owning the first pod.
fn owned_by(s: &mut Snap, kind: &str, name: &str, api: &str) {
    s.remove("Deployment");
    s.remove("ReplicaSet");
    let mut pod = running_pod(0, true, true, APP);
    let pod_name = format!("{name}-0");
    pod["metadata"]["name"] = json!(pod_name);
    pod["metadata"]["ownerReferences"] = json!([{"apiVersion": api, "blockOwnerDeletion": true, "controller": true, "kind": kind, "name": name, "uid": "7f8e9d0c-1b2a-4c3d-8e4f-5a6b7c8d9e0f"}]);
    s.remove("Pod");
    s.k8s.push(pod);
    let mut tpl = template_spec(true, Some(APP));
    if kind == "Job" {
        tpl["spec"]["restartPolicy"] = json!("Never");
    }
    let spec = match kind {
        "StatefulSet" => {
            json!({"serviceName": name, "replicas": 1, "selector": {"matchLabels": {"app": APP}}, "template": tpl})
        }
        "DaemonSet" => json!({"selector": {"matchLabels": {"app": APP}}, "template": tpl}),
        _ => json!({"backoffLimit": 2, "template": tpl}),
    };
    s.k8s.push(json!({"apiVersion": api, "kind": kind, "metadata": {"creationTimestamp": "2026-01-05T10:00:00Z", "name": name, "namespace": NS, "uid": "7f8e9d0c-1b2a-4c3d-8e4f-5a6b7c8d9e0f"}, "spec": spec}));
    if let Some(t) = &mut s.token {
        t.pod = Some((pod_name, pod_uid(0)));
    }
}

fn unmutate(s: &mut Snap, labelled: bool) {
    let pods: Vec<Value> = (0..2).map(|i| running_pod(i, false, labelled, APP)).collect();
    s.remove("Pod");
    s.k8s.extend(pods);
    s.token = None;
}

fn scenarios() -> Vec<(Case, Snap)> {
    let mut out: Vec<(Case, Snap)> = Vec::new();
    let mut add = |name: &'static str,
                   description: &'static str,
                   args: Vec<String>,
                   exit: i32,
                   links: [&'static str; 4],
                   rules: &[(&'static str, &'static str)],
                   f: &dyn Fn(&mut Snap)| {
        let mut s = base();
        f(&mut s);
        out.push((
            Case {
                name,
                description,
                args,
                exit,
                links,
                rules: rules.to_vec(),
            },
            s,
        ));
    };

    // ---- healthy ------------------------------------------------------------------------------
    add(
        "healthy-aks-keyvault-rbac",
        "Healthy AKS workload reading a Key Vault in RBAC mode (Key Vault Secrets User on the vault).",
        deploy_kv(),
        0,
        PASS,
        &[
            ("WI101", "pass"),
            ("WI102", "pass"),
            ("WI103", "pass"),
            ("WI104", "pass"),
            ("WI105", "pass"),
            ("WI106", "pass"),
            ("WI107", "pass"),
            ("WI108", "pass"),
            ("WI109", "pass"),
            ("WI110", "pass"),
            ("WI111", "pass"),
            ("WI112", "pass"),
            ("WI113", "pass"),
            ("WI114", "pass"),
            ("WI115", "pass"),
            ("WI116", "pass"),
            ("WI117", "pass"),
            ("WI201", "pass"),
            ("WI202", "pass"),
            ("WI203", "pass"),
            ("WI204", "pass"),
            ("WI205", "pass"),
            ("WI206", "pass"),
            ("WI207", "pass"),
            ("WI208", "pass"),
            ("WI209", "pass"),
            ("WI301", "pass"),
            ("WI302", "pass"),
            ("WI303", "pass"),
            ("WI304", "pass"),
            ("WI401", "pass"),
            ("WI403", "pass"),
            ("WI404", "pass"),
            ("WI405", "pass"),
            ("WI406", "pass"),
        ],
        &|_| {},
    );
    add(
        "healthy-pod-target-inferred-vault",
        "Healthy; `pod/NAME` target with no --scope: the Key Vault is inferred from the pod's SECRETS_VAULT_URI.",
        args(&format!("pod/{}", pod_name(0)), None, &[]),
        0,
        PASS,
        &[("WI401", "pass"), ("WI114", "pass")],
        &|_| {},
    );
    add(
        "healthy-keyvault-access-policy",
        "Healthy; the Key Vault uses access policies and grants the principal secrets get/list.",
        deploy_kv(),
        0,
        PASS,
        &[("WI401", "skip"), ("WI402", "pass")],
        &|s| {
            s.azure.insert("azure/keyvault-show.json".into(), keyvault(KV, false, json!([{"applicationId": null, "objectId": PRINCIPAL_ID, "permissions": {"certificates": [], "keys": [], "secrets": ["Get", "List"], "storage": []}, "tenantId": TENANT}])));
            // `az role assignment list` printed an empty list: the manifest records the search.
            s.azure.remove("azure/role-assignment-list.json");
            s.extra.insert("azure/role-assignment-list.json".into(), "[]\n".into());
            s.manifest.push_str("notFound:\n- kind: RoleAssignment\n");
        },
    );
    add(
        "healthy-role-inherited-from-resource-group",
        "Healthy; Key Vault Secrets User is assigned at the resource group that contains the vault.",
        deploy_kv(),
        0,
        PASS,
        &[("WI401", "pass")],
        &|s| {
            s.azure.insert(
                "azure/role-assignment-list.json".into(),
                json!([assignment(
                    PRINCIPAL_ID,
                    KV_SECRETS_USER,
                    "Key Vault Secrets User",
                    &format!("/subscriptions/{SUB}/resourceGroups/{KV_RG}"),
                    "2025-11-02T08:20:31.118230+00:00"
                )]),
            );
        },
    );
    add(
        "healthy-arc-storage",
        "Healthy Arc-enabled cluster (connectedClusters issuer) reading blobs; ARM REST shapes with nested properties and dated credentials.",
        args("deploy/checkout-api", Some(storage_id()), &[]),
        0,
        PASS,
        &[
            ("WI201", "pass"),
            ("WI305", "pass"),
            ("WI401", "pass"),
            ("WI402", "skip"),
        ],
        &|s| {
            let arc_issuer = "https://westeurope.oic.prod-arc.azure.com/2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f/7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b/";
            s.azure.remove("azure/aks-show.json");
            s.azure.insert("arm/connectedCluster.json".into(), json!({"id": format!("/subscriptions/{SUB}/resourceGroups/rg-edge/providers/Microsoft.Kubernetes/connectedClusters/arc-edge-weu"),
                "name": "arc-edge-weu", "type": "Microsoft.Kubernetes/connectedClusters", "location": "westeurope",
                "properties": {"provisioningState": "Succeeded", "distribution": "k3s", "kubernetesVersion": "1.32.4",
                    "oidcIssuerProfile": {"enabled": true, "issuerUrl": arc_issuer, "selfHostedIssuerUrl": ""},
                    "securityProfile": {"workloadIdentity": {"enabled": true}}}}));
            s.azure.remove("azure/identity-show.json");
            s.azure.insert("arm/identity.json".into(), json!({"id": mi_id(MI), "name": MI, "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "location": "westeurope", "tags": {},
                "properties": {"tenantId": TENANT, "principalId": PRINCIPAL_ID, "clientId": CLIENT_ID}}));
            s.azure.remove("azure/federated-credential-list.json");
            s.azure.insert("arm/federatedIdentityCredentials.json".into(), json!({"value": [{"id": format!("{}/federatedIdentityCredentials/checkout-api-arc", mi_id(MI)), "name": "checkout-api-arc",
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                "properties": {"issuer": arc_issuer, "subject": format!("system:serviceaccount:{NS}:{APP}"), "audiences": [EXCHANGE]},
                "systemData": {"createdAt": "2026-01-15T10:00:00.0000000Z", "createdBy": "ops@contoso.com", "createdByType": "User"}}]}));
            s.azure.remove("azure/role-assignment-list.json");
            s.azure.insert("arm/roleAssignments.json".into(), json!({"value": [{"id": format!("{}/providers/Microsoft.Authorization/roleAssignments/0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a", storage_id()),
                "name": "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a", "type": "Microsoft.Authorization/roleAssignments",
                "properties": {"roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_READER}"), "principalId": PRINCIPAL_ID,
                    "principalType": "ServicePrincipal", "scope": storage_id().replace("resourceGroups", "resourcegroups"), "createdOn": "2026-01-15T10:05:00.0000000Z"}}]}));
            s.azure.remove("azure/keyvault-show.json");
            if let Some(t) = &mut s.token {
                t.iss = arc_issuer.into();
            }
            s.discovery = Some(discovery(arc_issuer));
        },
    );
    add(
        "healthy-app-registration",
        "Healthy; the client id is an app registration (Graph application + service principal, az ad app federated-credential list), Storage Blob Data Reader at the resource group.",
        args("deploy/checkout-api", Some(storage_id()), &[]),
        0,
        PASS,
        &[("WI301", "pass"), ("WI303", "pass"), ("WI401", "pass")],
        &|s| {
            let app_object = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
            let sp_object = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d";
            s.azure.remove("azure/identity-show.json");
            s.azure.remove("azure/federated-credential-list.json");
            s.azure.insert("graph/app-show.json".into(), json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity", "id": app_object, "appId": CLIENT_ID,
                "displayName": "payments-checkout", "signInAudience": "AzureADMyOrg", "identifierUris": [], "createdDateTime": "2025-10-01T09:00:00Z"}));
            s.azure.insert("graph/sp-show.json".into(), json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity", "id": sp_object, "appId": CLIENT_ID,
                "displayName": "payments-checkout", "servicePrincipalType": "Application", "appOwnerOrganizationId": TENANT, "alternativeNames": []}));
            s.azure.insert("graph/app-federated-credential-list.json".into(), json!([{"audiences": [EXCHANGE], "description": "checkout-api on aks-payments-weu",
                "id": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "issuer": ISSUER, "name": "checkout-api-aks-weu", "subject": format!("system:serviceaccount:{NS}:{APP}")}]));
            s.azure.insert(
                "azure/role-assignment-list.json".into(),
                json!([assignment(
                    sp_object,
                    BLOB_READER,
                    "Storage Blob Data Reader",
                    &format!("/subscriptions/{SUB}/resourceGroups/{KV_RG}"),
                    "2025-10-01T09:30:00+00:00"
                )]),
            );
        },
    );
    add(
        "healthy-cronjob-v16",
        "Healthy CronJob: the pod of its latest Job carries webhook v1.6 paths.",
        args("cronjob/ledger-sync", Some(kv_id(KV)), &[]),
        0,
        PASS,
        &[("WI101", "pass"), ("WI108", "pass")],
        &|s| {
            s.remove("Deployment");
            s.remove("ReplicaSet");
            let mut pod = running_pod(0, true, true, APP);
            pod["metadata"]["name"] = json!("ledger-sync-29512860-hx7vb");
            pod["metadata"]["generateName"] = json!("ledger-sync-29512860-");
            pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "batch/v1", "blockOwnerDeletion": true, "controller": true, "kind": "Job", "name": "ledger-sync-29512860", "uid": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"}]);
            pod["spec"]["restartPolicy"] = json!("Never");
            s.remove("Pod");
            s.k8s.push(pod);
            let mut tpl = template_spec(true, Some(APP));
            tpl["spec"]["restartPolicy"] = json!("Never");
            s.k8s.push(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"creationTimestamp": "2025-12-01T00:00:00Z", "name": "ledger-sync", "namespace": NS, "uid": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"},
            "spec": {"schedule": "0 */4 * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": {"backoffLimit": 2, "template": tpl}}}}));
            s.k8s.push(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"creationTimestamp": "2026-03-10T08:00:00Z", "name": "ledger-sync-29512860", "namespace": NS, "uid": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
            "ownerReferences": [{"apiVersion": "batch/v1", "blockOwnerDeletion": true, "controller": true, "kind": "CronJob", "name": "ledger-sync", "uid": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"}]},
            "spec": {"backoffLimit": 2, "template": template_spec(true, Some(APP))}}));
            if let Some(t) = &mut s.token {
                t.pod = Some(("ledger-sync-29512860-hx7vb".into(), pod_uid(0)));
            }
        },
    );
    add(
        "healthy-replicaset-target",
        "Healthy; `rs/NAME` target: the ReplicaSet's template and its pods.",
        args(&format!("rs/{APP}-{RS_HASH}"), Some(kv_id(KV)), &[]),
        0,
        PASS,
        &[("WI114", "pass"), ("WI108", "pass")],
        &|_| {},
    );
    add(
        "healthy-statefulset",
        "Healthy StatefulSet target (ledger-db) with its pod.",
        args("sts/ledger-db", Some(kv_id(KV)), &[]),
        0,
        PASS,
        &[("WI101", "pass"), ("WI114", "pass")],
        &|s| {
            owned_by(s, "StatefulSet", "ledger-db", "apps/v1");
        },
    );
    add(
        "healthy-daemonset",
        "Healthy DaemonSet target (node-agent) with its pod.",
        args("ds/node-agent", Some(kv_id(KV)), &[]),
        0,
        PASS,
        &[("WI101", "pass"), ("WI108", "pass")],
        &|s| {
            owned_by(s, "DaemonSet", "node-agent", "apps/v1");
        },
    );
    add(
        "healthy-job",
        "Healthy Job target (ledger-migrate) with its pod.",
        args("job/ledger-migrate", Some(kv_id(KV)), &[]),
        0,
        PASS,
        &[("WI101", "pass"), ("WI108", "pass")],
        &|s| {
            owned_by(s, "Job", "ledger-migrate", "batch/v1");
        },
    );
    add(
        "healthy-serviceaccount-target",
        "Healthy; `sa/NAME` target: the ServiceAccount, its token and the Azure side, no pod.",
        args("sa/checkout-api", Some(kv_id(KV)), &[]),
        0,
        PASS,
        &[("WI107", "pass"), ("WI101", "skip"), ("WI104", "pass")],
        &|s| {
            s.k8s.push(webhook_deployment(2));
        },
    );

    add(
        "healthy-expiration-on-pod-overrides-sa",
        "Healthy; the ServiceAccount's token-expiration annotation is invalid, but the pod template sets a valid one, which the webhook reads first.",
        deploy_kv(),
        0,
        PASS,
        &[("WI112", "pass")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["annotations"]["azure.workload.identity/service-account-token-expiration"] =
                json!("3600s");
            for t in s.templates_mut() {
                t["metadata"]["annotations"] =
                    json!({"azure.workload.identity/service-account-token-expiration": "7200"});
            }
            for p in s.pods_mut() {
                p["metadata"]["annotations"] =
                    json!({"azure.workload.identity/service-account-token-expiration": "7200"});
            }
        },
    );
    add(
        "healthy-token-mounted-with-subpath",
        "Healthy; the team mounts the projected token file itself with a subPath and points AZURE_FEDERATED_TOKEN_FILE at it.",
        deploy_kv(),
        0,
        PASS,
        &[("WI110", "pass")],
        &|s| {
            for t in s.templates_mut() {
                t["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .push(json!({"name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/etc/azure/token"}));
            }
            for p in s.pods_mut() {
                let vol = p["spec"]["volumes"][1]["name"].clone();
                for e in p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .iter_mut()
                {
                    if e["name"] == "AZURE_FEDERATED_TOKEN_FILE" {
                        e["value"] = json!("/etc/azure/token");
                    }
                }
                p["spec"]["containers"][0]["volumeMounts"].as_array_mut().expect("mounts").push(json!({"mountPath": "/etc/azure/token", "name": vol, "readOnly": true, "subPath": "token/azure-identity-token"}));
            }
        },
    );

    // ---- service-account link ----------------------------------------------------------------
    add(
        "sa-label-on-deployment-only",
        "The label sits on the Deployment's own metadata, not on the pod template: pods are never mutated.",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI101", "fail"), ("WI108", "skip")],
        &|s| {
            s.k8s_mut("Deployment", APP)["metadata"]["labels"]["azure.workload.identity/use"] = json!("true");
            for t in s.templates_mut() {
                t["metadata"]["labels"]
                    .as_object_mut()
                    .expect("labels")
                    .remove("azure.workload.identity/use");
            }
            unmutate(s, false);
        },
    );
    add(
        "sa-label-value-not-true",
        "The pod template label is \"True\"; the webhook selector matches only \"true\".",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI101", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["labels"]["azure.workload.identity/use"] = json!("True");
            }
            unmutate(s, false);
            for p in s.pods_mut() {
                p["metadata"]["labels"]["azure.workload.identity/use"] = json!("True");
            }
        },
    );
    add(
        "sa-webhook-not-installed",
        "No workload identity webhook: the add-on is disabled and only another MutatingWebhookConfiguration exists.",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI102", "fail")],
        &|s| {
            s.remove("MutatingWebhookConfiguration");
            let mut other = webhook_config("cert-manager-webhook", "cert-manager");
            other["webhooks"][0]["name"] = json!("webhook.cert-manager.io");
            other["webhooks"][0]["clientConfig"]["service"]["name"] = json!("cert-manager-webhook");
            s.k8s.push(other);
            s.azure.insert("azure/aks-show.json".into(), aks(Some(ISSUER), false));
            unmutate(s, true);
        },
    );
    add(
        "sa-webhook-installed-twice",
        "Both the AKS add-on (kube-system) and a Helm install (azure-workload-identity-system) register the webhook.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI102", "fail")],
        &|s| {
            let mut second = webhook_config(
                "azure-wi-webhook-mutating-webhook-configuration-oss",
                "azure-workload-identity-system",
            );
            second["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!("workload-identity-webhook");
            s.k8s.push(second);
        },
    );
    add(
        "sa-namespace-not-selected",
        "The Helm install's namespaceSelector requires a label the namespace lacks.",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI103", "fail")],
        &|s| {
            s.k8s_mut(
                "MutatingWebhookConfiguration",
                "azure-wi-webhook-mutating-webhook-configuration",
            )["webhooks"][0]["namespaceSelector"] = json!({"matchLabels": {"azure-workload-identity/enabled": "true"}});
            unmutate(s, true);
        },
    );
    add(
        "sa-webhook-no-ready-replicas",
        "The webhook Deployment has no ready replicas; the ReplicaSet cannot create pods (FailedCreate).",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI104", "fail")],
        &|s| {
            s.remove("Pod");
            s.token = None;
            s.k8s.push(webhook_deployment(0));
            s.k8s.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{APP}-{RS_HASH}.18a9f3c2b1d4e5f6"), "namespace": NS},
            "involvedObject": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{APP}-{RS_HASH}"), "namespace": NS},
            "reason": "FailedCreate", "type": "Warning", "count": 14, "firstTimestamp": "2026-03-10T08:51:00Z", "lastTimestamp": "2026-03-10T09:18:40Z",
            "message": "Error creating: Internal error occurred: failed calling webhook \"mutation.azure-workload-identity.io\": failed to call webhook: Post \"https://azure-wi-webhook-webhook-service.kube-system.svc:443/mutate-v1-pod?timeout=10s\": no endpoints available for service \"azure-wi-webhook-webhook-service\"",
            "source": {"component": "replicaset-controller"}}));
        },
    );
    add(
        "sa-runs-as-default",
        "The pod template sets no serviceAccountName, so pods run as \"default\" while checkout-api names the identity.",
        deploy_kv(),
        1,
        ["fail", "skip", "skip", "skip"],
        &[("WI105", "fail"), ("WI107", "skip")],
        &|s| {
            for t in s.templates_mut() {
                let sp = t["spec"].as_object_mut().expect("spec");
                sp.remove("serviceAccount");
                sp.remove("serviceAccountName");
            }
            s.remove("Pod");
            s.token = None;
        },
    );
    add(
        "sa-missing",
        "The pod template names ServiceAccount \"checkout\", which does not exist in the namespace.",
        deploy_kv(),
        1,
        ["fail", "skip", "skip", "skip"],
        &[("WI106", "fail"), ("WI107", "skip"), ("WI301", "skip")],
        &|s| {
            for t in s.templates_mut() {
                t["spec"]["serviceAccountName"] = json!("checkout");
                t["spec"]["serviceAccount"] = json!("checkout");
            }
            s.remove("Pod");
            s.token = None;
        },
    );
    add(
        "sa-client-id-missing",
        "The ServiceAccount has no client-id annotation; pods get no AZURE_CLIENT_ID.",
        deploy_kv(),
        1,
        ["fail", "pass", "skip", "skip"],
        &[("WI107", "fail"), ("WI301", "skip")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"checkout-api\",\"namespace\":\"payments\"}}\n"});
            for p in s.pods_mut() {
                p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .retain(|e| e["name"] != "AZURE_CLIENT_ID");
            }
        },
    );
    add(
        "sa-client-id-key-misspelled",
        "The annotation key is azure.workload.identity/client_id (underscore).",
        deploy_kv(),
        1,
        ["fail", "pass", "skip", "skip"],
        &[("WI107", "fail")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["annotations"] =
                json!({"azure.workload.identity/client_id": CLIENT_ID});
            for p in s.pods_mut() {
                p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .retain(|e| e["name"] != "AZURE_CLIENT_ID");
            }
        },
    );
    add(
        "sa-pods-not-mutated",
        "Template and pods are labelled but the pods lack the injected env and volume: the webhook was down when they were created.",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI108", "fail")],
        &|s| {
            unmutate(s, true);
        },
    );
    add(
        "sa-token-volume-mount-fails",
        "The pods were mutated but the kubelet cannot mount the projected token (FailedMount); they stay in ContainerCreating.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI108", "fail")],
        &|s| {
            let vol = s
                .k8s
                .iter()
                .find(|o| o["kind"] == "Pod")
                .map(|p| p["spec"]["volumes"][1]["name"].clone())
                .unwrap_or_default();
            let vol = vol.as_str().unwrap_or_default().to_string();
            for (i, p) in s.pods_mut().enumerate() {
                p["status"] = json!({"phase": "Pending", "qosClass": "Burstable", "containerStatuses": [{"name": "api", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}, "image": "contosoacr.azurecr.io/payments/checkout-api:3.4.1", "imageID": ""}]});
                let _ = i;
            }
            for i in 0..2 {
                s.k8s.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{}.18a9f4d0c2b3a{i}", pod_name(i)), "namespace": NS},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod_name(i), "namespace": NS, "uid": pod_uid(i)},
                "reason": "FailedMount", "type": "Warning", "count": 9, "firstTimestamp": "2026-03-10T09:02:00Z", "lastTimestamp": "2026-03-10T09:18:10Z",
                "message": format!("MountVolume.SetUp failed for volume \"{vol}\" : failed to fetch token: serviceaccounts \"{APP}\" is forbidden: the API server could not issue a token for this service account"),
                "source": {"component": "kubelet", "host": "aks-system-28514963-vmss000001"}}));
            }
        },
    );
    add(
        "sa-client-id-hand-set",
        "The pod template hard-codes AZURE_CLIENT_ID to another identity's client id; the webhook never overwrites it.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI109", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .push(json!({"name": "AZURE_CLIENT_ID", "value": OTHER_CLIENT_ID}));
            }
            for p in s.pods_mut() {
                for e in p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .iter_mut()
                {
                    if e["name"] == "AZURE_CLIENT_ID" {
                        e["value"] = json!(OTHER_CLIENT_ID);
                    }
                }
            }
        },
    );
    add(
        "sa-token-path-hard-coded",
        "The pod template hard-codes the pre-v1.6 token path; webhook v1.6 mounts the token elsewhere.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI110", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["spec"]["containers"][0]["env"].as_array_mut().expect("env").push(json!({"name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/var/run/secrets/azure/tokens/azure-identity-token"}));
            }
            for p in s.pods_mut() {
                for e in p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .iter_mut()
                {
                    if e["name"] == "AZURE_FEDERATED_TOKEN_FILE" {
                        e["value"] = json!("/var/run/secrets/azure/tokens/azure-identity-token");
                    }
                }
            }
        },
    );
    add(
        "sa-skip-containers-excludes-app",
        "The pod annotation skip-containers names the only application container.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI111", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["annotations"] = json!({"azure.workload.identity/skip-containers": "api"});
            }
        },
    );
    add(
        "sa-token-expiration-invalid",
        "The ServiceAccount's token-expiration annotation is \"3600s\"; the webhook denies new pods.",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI112", "fail")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["annotations"]["azure.workload.identity/service-account-token-expiration"] =
                json!("3600s");
            s.remove("Pod");
            s.token = None;
        },
    );
    add(
        "sa-proxy-with-host-network",
        "The template asks for the proxy sidecar and uses hostNetwork; the webhook denies the pod.",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI113", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["annotations"] = json!({"azure.workload.identity/inject-proxy-sidecar": "true"});
                t["spec"]["hostNetwork"] = json!(true);
            }
            s.remove("Pod");
            s.token = None;
        },
    );
    add(
        "sa-pods-predate-label",
        "The template got the label after the pods were created: the running pods are unlabelled and unmutated.",
        deploy_kv(),
        1,
        ["fail", "skip", "pass", "pass"],
        &[("WI101", "pass"), ("WI114", "fail")],
        &|s| {
            unmutate(s, false);
        },
    );
    add(
        "sa-client-id-changed-after-pods",
        "The ServiceAccount now names a new identity; the pods still carry the old client id.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI114", "fail")],
        &|s| {
            for p in s.pods_mut() {
                for e in p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .iter_mut()
                {
                    if e["name"] == "AZURE_CLIENT_ID" {
                        e["value"] = json!(OTHER_CLIENT_ID);
                    }
                }
            }
        },
    );
    add(
        "sa-annotated-after-pods",
        "The ServiceAccount got its client-id annotation after the pods were created (managedFields shows when): the pods lack AZURE_CLIENT_ID.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI114", "fail"), ("WI108", "skip")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["managedFields"] = json!([
                {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:azure.workload.identity/client-id": {}}}},
                 "manager": "kubectl-annotate", "operation": "Update", "time": "2026-03-10T08:55:00Z"}
            ]);
            for p in s.pods_mut() {
                p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .retain(|e| e["name"] != "AZURE_CLIENT_ID");
            }
        },
    );
    add(
        "sa-legacy-pod-identity-label",
        "A leftover aad-pod-identity label (a warning only).",
        deploy_kv(),
        0,
        ["warn", "pass", "pass", "pass"],
        &[("WI115", "warn")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["labels"]["aadpodidbinding"] = json!("checkout-identity");
            }
        },
    );
    add(
        "sa-legacy-label-fail-on-warn",
        "The same warning with --fail-on warn: a CI gate exits 1.",
        args("deploy/checkout-api", Some(kv_id(KV)), &["--fail-on", "warn"]),
        1,
        ["warn", "pass", "pass", "pass"],
        &[("WI115", "warn")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["labels"]["aadpodidbinding"] = json!("checkout-identity");
            }
        },
    );
    add(
        "sa-tenant-annotation-invalid",
        "The tenant-id annotation is \"contoso\", neither a GUID nor a domain.",
        deploy_kv(),
        1,
        ["fail", "pass", "skip", "pass"],
        &[("WI116", "fail"), ("WI302", "skip")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["annotations"]["azure.workload.identity/tenant-id"] =
                json!("contoso");
        },
    );

    add(
        "sa-virtual-node",
        "The workload is scheduled onto the AKS virtual node (ACI), where workload identity is not supported.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI117", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["spec"]["nodeSelector"] = json!({"kubernetes.io/role": "agent", "type": "virtual-kubelet"});
                t["spec"]["tolerations"] = json!([{"key": "virtual-kubelet.io/provider", "operator": "Exists"}]);
            }
            for p in s.pods_mut() {
                p["spec"]["nodeName"] = json!("virtual-node-aci-linux");
            }
            s.k8s.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "virtual-node-aci-linux", "creationTimestamp": "2025-06-20T10:40:00Z",
            "labels": {"alpha.service-controller.kubernetes.io/exclude-balancer": "true", "kubernetes.io/os": "linux", "kubernetes.io/role": "agent", "type": "virtual-kubelet"}},
            "spec": {"taints": [{"effect": "NoSchedule", "key": "virtual-kubelet.io/provider", "value": "azure"}]}}));
        },
    );
    add(
        "sa-proxy-in-restricted-namespace",
        "The template asks for the proxy sidecar in a namespace that enforces Pod Security \"restricted\".",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI113", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["annotations"] = json!({"azure.workload.identity/inject-proxy-sidecar": "true"});
            }
            s.k8s_mut("Namespace", NS)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] =
                json!("restricted");
        },
    );
    add(
        "sa-proxy-port-clash",
        "The template asks for the proxy sidecar, but the app listens on port 8000, the proxy's default.",
        deploy_kv(),
        1,
        ["fail", "pass", "pass", "pass"],
        &[("WI113", "fail")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["annotations"] = json!({"azure.workload.identity/inject-proxy-sidecar": "true"});
                t["spec"]["containers"][0]["ports"] =
                    json!([{"containerPort": 8000, "name": "http", "protocol": "TCP"}]);
            }
        },
    );
    add(
        "healthy-proxy-sidecar",
        "Healthy; the template uses the proxy sidecar (a migration aid) on a free port.",
        deploy_kv(),
        0,
        PASS,
        &[("WI113", "pass")],
        &|s| {
            for t in s.templates_mut() {
                t["metadata"]["annotations"] = json!({"azure.workload.identity/inject-proxy-sidecar": "true", "azure.workload.identity/proxy-sidecar-port": "8001"});
            }
        },
    );

    // ---- issuer link -------------------------------------------------------------------------
    add(
        "iss-oidc-issuer-disabled",
        "The AKS OIDC issuer is off; tokens carry the in-cluster issuer.",
        deploy_kv(),
        1,
        ["pass", "fail", "skip", "pass"],
        &[("WI201", "fail")],
        &|s| {
            s.azure.insert("azure/aks-show.json".into(), aks(None, true));
            if let Some(t) = &mut s.token {
                t.iss = "https://kubernetes.default.svc.cluster.local".into();
            }
            s.discovery = None;
            s.jwks = None;
        },
    );
    add(
        "iss-token-from-old-issuer",
        "The token carries an older issuer than the cluster's current one (OIDC issuer enabled or changed after the pods started).",
        deploy_kv(),
        1,
        ["pass", "fail", "skip", "pass"],
        &[("WI202", "fail"), ("WI303", "skip")],
        &|s| {
            if let Some(t) = &mut s.token {
                t.iss = OLD_ISSUER.into();
            }
        },
    );
    add(
        "iss-default-token-used",
        "The snapshot's token is the pod's default kube-api-access token (wrong audience, one-year lifetime).",
        deploy_kv(),
        1,
        ["pass", "fail", "skip", "pass"],
        &[("WI203", "fail"), ("WI206", "fail")],
        &|s| {
            if let Some(t) = &mut s.token {
                t.aud = vec!["https://kubernetes.default.svc.cluster.local".into()];
                t.lifetime = 31_536_000;
            }
        },
    );
    add(
        "iss-token-of-another-service-account",
        "The token in the snapshot was made for ServiceAccount \"default\", not the workload's.",
        deploy_kv(),
        1,
        ["pass", "fail", "skip", "pass"],
        &[("WI204", "fail")],
        &|s| {
            if let Some(t) = &mut s.token {
                t.sub = format!("system:serviceaccount:{NS}:default");
                t.pod = None;
            }
        },
    );
    add(
        "iss-token-expired",
        "Evaluated two hours after the token expired (the kubelet stopped refreshing it).",
        args("deploy/checkout-api", Some(kv_id(KV)), &[])
            .into_iter()
            .map(|a| if a == AT { "2026-03-10T12:00:00Z".to_string() } else { a })
            .collect(),
        1,
        ["pass", "fail", "pass", "pass"],
        &[("WI205", "fail")],
        &|_| {},
    );
    add(
        "iss-discovery-issuer-mismatch",
        "The published discovery document's issuer lacks the trailing slash the tokens carry.",
        deploy_kv(),
        1,
        ["pass", "fail", "pass", "pass"],
        &[("WI207", "fail")],
        &|s| {
            s.discovery = Some(discovery(ISSUER));
            if let Some(d) = &mut s.discovery {
                d["issuer"] = json!(ISSUER.trim_end_matches('/'));
            }
        },
    );
    add(
        "iss-jwks-missing-key",
        "The JWKS holds only the new key; the token is signed with the old one.",
        deploy_kv(),
        1,
        ["pass", "fail", "pass", "pass"],
        &[("WI208", "fail"), ("WI209", "skip")],
        &|s| {
            s.jwks = Some(json!({"keys": ["key2"]}));
        },
    );
    add(
        "iss-signature-invalid",
        "The token names the published key's kid but was signed by another key.",
        deploy_kv(),
        1,
        ["pass", "fail", "pass", "pass"],
        &[("WI208", "pass"), ("WI209", "fail")],
        &|s| {
            if let Some(t) = &mut s.token {
                t.signed_by = 2;
            }
        },
    );

    // ---- federated-credential link -------------------------------------------------------------
    add(
        "fic-identity-deleted",
        "The client id matches no identity: the identity was deleted and re-created with a new client id.",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "skip"],
        &[("WI301", "fail"), ("WI401", "skip")],
        &|s| {
            s.azure.insert(
                "azure/identity-show.json".into(),
                identity(
                    MI,
                    "0a9b8c7d-6e5f-4a3b-9c2d-1e0f2a3b4c5d",
                    "2f3e4d5c-6b7a-4980-a1b2-c3d4e5f6a7b8",
                ),
            );
        },
    );
    add(
        "fic-client-id-is-principal-id",
        "The ServiceAccount annotation holds the identity's principal (object) id, not its client id.",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "skip"],
        &[("WI301", "fail")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["annotations"]["azure.workload.identity/client-id"] =
                json!(PRINCIPAL_ID);
            for p in s.pods_mut() {
                for e in p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .iter_mut()
                {
                    if e["name"] == "AZURE_CLIENT_ID" {
                        e["value"] = json!(PRINCIPAL_ID);
                    }
                }
            }
        },
    );
    add(
        "fic-app-without-service-principal",
        "The app registration has no service principal in the tenant (created with az ad app create only).",
        args("deploy/checkout-api", Some(storage_id()), &[]),
        1,
        ["pass", "pass", "fail", "skip"],
        &[("WI301", "fail")],
        &|s| {
            s.azure.remove("azure/identity-show.json");
            s.azure.remove("azure/federated-credential-list.json");
            s.azure.insert("graph/app-show.json".into(), json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity", "id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "appId": CLIENT_ID, "displayName": "payments-checkout", "signInAudience": "AzureADMyOrg"}));
            s.azure.insert("graph/sp-list.json".into(), json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", "value": [{"id": "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f7a", "appId": "11112222-3333-4444-8555-666677778888", "displayName": "payments-batch", "servicePrincipalType": "Application", "alternativeNames": []}]}));
        },
    );
    add(
        "fic-tenant-mismatch",
        "The ServiceAccount names another tenant than the identity's.",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "pass"],
        &[("WI302", "fail")],
        &|s| {
            s.k8s_mut("ServiceAccount", APP)["metadata"]["annotations"]["azure.workload.identity/tenant-id"] =
                json!(OTHER_TENANT);
        },
    );
    add(
        "fic-issuer-trailing-slash",
        "The federated credential's issuer lacks the trailing slash of the AKS issuer.",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "pass"],
        &[("WI303", "fail")],
        &|s| {
            s.azure.insert(
                "azure/federated-credential-list.json".into(),
                json!([fic(
                    MI,
                    "checkout-api-aks-weu",
                    ISSUER.trim_end_matches('/'),
                    &format!("system:serviceaccount:{NS}:{APP}"),
                    EXCHANGE
                )]),
            );
        },
    );
    add(
        "fic-subject-case",
        "The federated credential's subject differs only in letter case.",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "pass"],
        &[("WI303", "fail")],
        &|s| {
            s.azure.insert(
                "azure/federated-credential-list.json".into(),
                json!([fic(
                    MI,
                    "checkout-api-aks-weu",
                    ISSUER,
                    &format!("system:serviceaccount:{NS}:Checkout-API"),
                    EXCHANGE
                )]),
            );
        },
    );
    add(
        "fic-subject-trailing-space",
        "The federated credential's subject ends with a space (pasted from a wiki).",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "pass"],
        &[("WI303", "fail")],
        &|s| {
            s.azure.insert(
                "azure/federated-credential-list.json".into(),
                json!([fic(
                    MI,
                    "checkout-api-aks-weu",
                    ISSUER,
                    &format!("system:serviceaccount:{NS}:{APP} "),
                    EXCHANGE
                )]),
            );
        },
    );
    add(
        "fic-subject-missing-prefix",
        "The federated credential's subject lacks the system:serviceaccount: prefix.",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "pass"],
        &[("WI303", "fail")],
        &|s| {
            s.azure.insert(
                "azure/federated-credential-list.json".into(),
                json!([fic(
                    MI,
                    "checkout-api-aks-weu",
                    ISSUER,
                    &format!("{NS}:{APP}"),
                    EXCHANGE
                )]),
            );
        },
    );
    add(
        "fic-audience-trailing-slash",
        "The federated credential's audience is api://AzureADTokenExchange/ (trailing slash).",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "pass"],
        &[("WI303", "fail")],
        &|s| {
            s.azure.insert(
                "azure/federated-credential-list.json".into(),
                json!([fic(
                    MI,
                    "checkout-api-aks-weu",
                    ISSUER,
                    &format!("system:serviceaccount:{NS}:{APP}"),
                    "api://AzureADTokenExchange/"
                )]),
            );
        },
    );
    add(
        "fic-on-other-identity",
        "The matching federated credential was created on another identity (id-payments-orders).",
        deploy_kv(),
        1,
        ["pass", "pass", "fail", "pass"],
        &[("WI303", "fail")],
        &|s| {
            s.azure.insert(
                "azure/identity-orders.json".into(),
                identity(OTHER_MI, OTHER_CLIENT_ID, OTHER_PRINCIPAL_ID),
            );
            s.azure.insert(
                "azure/federated-credential-list.json".into(),
                json!([fic(
                    OTHER_MI,
                    "checkout-api-aks-weu",
                    ISSUER,
                    &format!("system:serviceaccount:{NS}:{APP}"),
                    EXCHANGE
                )]),
            );
        },
    );
    add(
        "fic-at-limit",
        "The identity has 20 federated credentials, the limit (a warning; one matches).",
        deploy_kv(),
        0,
        ["pass", "pass", "warn", "pass"],
        &[("WI303", "pass"), ("WI304", "warn")],
        &|s| {
            let mut list = vec![fic(
                MI,
                "checkout-api-aks-weu",
                ISSUER,
                &format!("system:serviceaccount:{NS}:{APP}"),
                EXCHANGE,
            )];
            for i in 1..20 {
                list.push(fic(
                    MI,
                    Box::leak(format!("batch-{i:02}").into_boxed_str()),
                    ISSUER,
                    &format!("system:serviceaccount:batch:job-{i:02}"),
                    EXCHANGE,
                ));
            }
            s.azure
                .insert("azure/federated-credential-list.json".into(), Value::Array(list));
        },
    );
    add(
        "fic-just-created",
        "The matching federated credential was created three minutes before the evaluation (a warning: propagation).",
        deploy_kv(),
        0,
        ["pass", "pass", "warn", "pass"],
        &[("WI305", "warn")],
        &|s| {
            let mut f = fic(
                MI,
                "checkout-api-aks-weu",
                ISSUER,
                &format!("system:serviceaccount:{NS}:{APP}"),
                EXCHANGE,
            );
            f["systemData"] = json!({"createdAt": "2026-03-10T09:17:00.0000000Z", "createdBy": "ops@contoso.com", "createdByType": "User"});
            s.azure
                .insert("azure/federated-credential-list.json".into(), json!([f]));
        },
    );

    // ---- role-assignment link ----------------------------------------------------------------
    add(
        "rbac-no-assignment",
        "The identity's principal holds no role assignment (others in the subscription do).",
        deploy_kv(),
        1,
        ["pass", "pass", "pass", "fail"],
        &[("WI401", "fail")],
        &|s| {
            s.azure.insert(
                "azure/role-assignment-list.json".into(),
                json!([assignment(
                    OTHER_PRINCIPAL_ID,
                    KV_SECRETS_USER,
                    "Key Vault Secrets User",
                    &kv_id(KV),
                    "2025-11-02T08:20:31+00:00"
                )]),
            );
        },
    );
    add(
        "rbac-sibling-scope",
        "Key Vault Secrets User is assigned on another vault (kv-payments-neu), not the target.",
        deploy_kv(),
        1,
        ["pass", "pass", "pass", "fail"],
        &[("WI401", "fail")],
        &|s| {
            s.azure.insert(
                "azure/role-assignment-list.json".into(),
                json!([assignment(
                    PRINCIPAL_ID,
                    KV_SECRETS_USER,
                    "Key Vault Secrets User",
                    &kv_id("kv-payments-neu"),
                    "2025-11-02T08:20:31+00:00"
                )]),
            );
        },
    );
    add(
        "rbac-control-plane-role-only",
        "Only Contributor on the resource group: a control-plane role with no data actions.",
        deploy_kv(),
        1,
        ["pass", "pass", "pass", "fail"],
        &[("WI401", "fail")],
        &|s| {
            s.azure.insert(
                "azure/role-assignment-list.json".into(),
                json!([assignment(
                    PRINCIPAL_ID,
                    CONTRIBUTOR,
                    "Contributor",
                    &format!("/subscriptions/{SUB}/resourceGroups/{KV_RG}"),
                    "2025-11-02T08:20:31+00:00"
                )]),
            );
        },
    );
    add(
        "rbac-access-policy-missing",
        "The vault uses access policies and has none for the principal.",
        deploy_kv(),
        1,
        ["pass", "pass", "pass", "fail"],
        &[("WI402", "fail")],
        &|s| {
            s.azure.insert("azure/keyvault-show.json".into(), keyvault(KV, false, json!([{"applicationId": null, "objectId": OTHER_PRINCIPAL_ID, "permissions": {"secrets": ["get", "list"]}, "tenantId": TENANT}])));
        },
    );
    add(
        "rbac-assigned-to-client-id",
        "The role assignment names the client id as principal (an ARM template mistake).",
        deploy_kv(),
        1,
        ["pass", "pass", "pass", "fail"],
        &[("WI401", "fail"), ("WI403", "fail")],
        &|s| {
            s.azure.insert(
                "azure/role-assignment-list.json".into(),
                json!([assignment(
                    CLIENT_ID,
                    KV_SECRETS_USER,
                    "Key Vault Secrets User",
                    &kv_id(KV),
                    "2025-11-02T08:20:31+00:00"
                )]),
            );
        },
    );
    add(
        "rbac-deny-assignment",
        "Key Vault Secrets User is granted, but a deny assignment (from a managed application) at the resource group blocks secret reads for everyone.",
        deploy_kv(),
        1,
        ["pass", "pass", "pass", "fail"],
        &[("WI401", "fail")],
        &|s| {
            s.azure.insert("arm/deny-assignments.json".into(), json!({"value": [{
            "id": format!("/subscriptions/{SUB}/resourceGroups/{KV_RG}/providers/Microsoft.Authorization/denyAssignments/9f8e7d6c-5b4a-4392-8a1b-0c9d8e7f6a5b"),
            "name": "9f8e7d6c-5b4a-4392-8a1b-0c9d8e7f6a5b", "type": "Microsoft.Authorization/denyAssignments",
            "properties": {"denyAssignmentName": "Deny assignment by managed application payments-vault-app", "description": "Created by a managed application",
                "permissions": [{"actions": [], "notActions": [], "dataActions": ["Microsoft.KeyVault/vaults/secrets/*"], "notDataActions": []}],
                "scope": format!("/subscriptions/{SUB}/resourceGroups/{KV_RG}"), "doNotApplyToChildScopes": false,
                "principals": [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}],
                "excludePrincipals": [{"id": "3f4a5b6c-7d8e-4f9a-8b0c-1d2e3f4a5b6c", "type": "User"}], "isSystemProtected": true}}]}));
        },
    );
    add(
        "rbac-owner-at-subscription",
        "The principal holds Owner at subscription scope besides its data role (a least-privilege warning).",
        deploy_kv(),
        0,
        ["pass", "pass", "pass", "warn"],
        &[("WI401", "pass"), ("WI404", "warn")],
        &|s| {
            let mut list = s.azure["azure/role-assignment-list.json"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            list.push(assignment(
                PRINCIPAL_ID,
                OWNER,
                "Owner",
                &format!("/subscriptions/{SUB}"),
                "2025-11-02T08:21:00+00:00",
            ));
            s.azure
                .insert("azure/role-assignment-list.json".into(), Value::Array(list));
        },
    );
    add(
        "rbac-just-assigned",
        "The data role was assigned four minutes before the evaluation (a warning: propagation).",
        deploy_kv(),
        0,
        ["pass", "pass", "pass", "warn"],
        &[("WI405", "warn")],
        &|s| {
            s.azure.insert(
                "azure/role-assignment-list.json".into(),
                json!([assignment(
                    PRINCIPAL_ID,
                    KV_SECRETS_USER,
                    "Key Vault Secrets User",
                    &kv_id(KV),
                    "2026-03-10T09:16:00+00:00"
                )]),
            );
        },
    );

    add(
        "rbac-keyvault-firewall",
        "The vault denies public traffic except allowed networks (a warning: wi cannot see the network path).",
        deploy_kv(),
        0,
        ["pass", "pass", "pass", "warn"],
        &[("WI401", "pass"), ("WI406", "warn")],
        &|s| {
            let mut kv = keyvault(KV, true, json!([]));
            kv["properties"]["networkAcls"] = json!({"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [{"value": "203.0.113.0/24"}], "virtualNetworkRules": []});
            s.azure.insert("azure/keyvault-show.json".into(), kv);
        },
    );

    // ---- could not check -------------------------------------------------------------------------
    add(
        "unknown-no-target-scope",
        "No --scope and nothing to infer from the environment: the role link cannot be checked (exit 4).",
        args("deploy/checkout-api", None, &[]),
        4,
        ["pass", "pass", "pass", "unknown"],
        &[("WI401", "unknown")],
        &|s| {
            for t in s.templates_mut() {
                t["spec"]["containers"][0]["env"] = json!([]);
            }
            for p in s.pods_mut() {
                p["spec"]["containers"][0]["env"]
                    .as_array_mut()
                    .expect("env")
                    .retain(|e| e["name"] != "SECRETS_VAULT_URI");
            }
        },
    );
    add(
        "unknown-kubernetes-only",
        "Only kubectl output and the token: every Azure-side check says which az command would settle it (exit 4).",
        deploy_kv(),
        4,
        ["pass", "unknown", "unknown", "skip"],
        &[("WI202", "unknown"), ("WI301", "unknown"), ("WI401", "skip")],
        &|s| {
            s.azure.clear();
        },
    );
    out
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dest = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/corpus/scenarios"));
    let keys = [
        key(&root.join("tests/corpus/keys/issuer-key-1.pem")),
        key(&root.join("tests/corpus/keys/issuer-key-2.pem")),
    ];
    if dest.exists() {
        fs::remove_dir_all(&dest).expect("clean");
    }
    let all = scenarios();
    for (case, snap) in &all {
        let dir = dest.join(case.name);
        write(&dir.join("snapshot"), snap, &keys);
        let rules: BTreeMap<&str, &str> = case.rules.iter().copied().collect();
        let links: BTreeMap<&str, &str> = ["service-account", "issuer", "federated-credential", "role-assignment"]
            .into_iter()
            .zip(case.links)
            .collect();
        let doc = json!({"description": case.description, "args": case.args, "exit": case.exit, "links": links, "rules": rules});
        fs::write(
            dir.join("case.json"),
            format!("{}\n", serde_json::to_string_pretty(&doc).expect("json")),
        )
        .expect("write");
    }
    eprintln!("wrote {} scenarios to {}", all.len(), dest.display());
}
