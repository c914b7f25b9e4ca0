//! What `wi` learned about one workload: plain serde data, no I/O, no verdicts.
//!
//! Every fact that a rule may need is a [`Fact`]: *found*, *absent* (we looked and it is not
//! there) or *unknown* (we could not look, and here is the command that would settle it).
//! A rule that meets an unknown fact reports `unknown`; it never treats it as a pass.
//!
//! The models here are normalised: Kubernetes objects as [`PodView`]s, Azure objects with the
//! az-CLI/ARM/Graph spelling differences already folded away. [`resolve`] builds a [`Facts`]
//! for one target from a collected [`crate::collect::Inventory`].

pub mod resolve;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One fact in one of three states.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Fact<T> {
    Found {
        value: T,
    },
    /// We looked and it is not there. `searched` says where we looked.
    Absent {
        searched: String,
    },
    /// We could not look. `command` is what a user runs to produce the missing input.
    Unknown {
        reason: String,
        command: Option<String>,
    },
}

impl<T> Fact<T> {
    pub fn found(value: T) -> Self {
        Fact::Found { value }
    }
    pub fn absent(searched: impl Into<String>) -> Self {
        Fact::Absent {
            searched: searched.into(),
        }
    }
    pub fn unknown(reason: impl Into<String>, command: Option<String>) -> Self {
        Fact::Unknown {
            reason: reason.into(),
            command,
        }
    }
    pub fn get(&self) -> Option<&T> {
        match self {
            Fact::Found { value } => Some(value),
            _ => None,
        }
    }
    pub fn is_found(&self) -> bool {
        matches!(self, Fact::Found { .. })
    }
}

/// The target as the user named it, resolved to a kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TargetRef {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
}

impl TargetRef {
    /// `deploy/stock-api` style, as kubectl prints it.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind.short(), self.name)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    ServiceAccount,
}

impl WorkloadKind {
    pub fn short(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "pod",
            WorkloadKind::Deployment => "deploy",
            WorkloadKind::ReplicaSet => "rs",
            WorkloadKind::StatefulSet => "sts",
            WorkloadKind::DaemonSet => "ds",
            WorkloadKind::Job => "job",
            WorkloadKind::CronJob => "cronjob",
            WorkloadKind::ServiceAccount => "sa",
        }
    }
    pub fn kind_name(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "Pod",
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::ServiceAccount => "ServiceAccount",
        }
    }
    /// Whether `kubectl rollout restart` works on this kind.
    pub fn restartable(self) -> bool {
        matches!(
            self,
            WorkloadKind::Deployment | WorkloadKind::StatefulSet | WorkloadKind::DaemonSet
        )
    }
}

/// A pod, or a pod template, as far as workload identity cares.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PodView {
    /// How to name it in evidence: `pod/x` or `deploy/x (pod template)`.
    pub source: String,
    pub is_template: bool,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `spec.serviceAccountName` (or the deprecated `spec.serviceAccount`); `None` means `default`.
    pub service_account_name: Option<String>,
    pub host_network: bool,
    pub node_name: Option<String>,
    pub node_selector: BTreeMap<String, String>,
    /// Toleration keys.
    pub tolerations: Vec<String>,
    pub created: Option<Timestamp>,
    pub containers: Vec<ContainerView>,
    pub token_projections: Vec<TokenProjection>,
    /// Name of the controlling owner (`ReplicaSet/x`), for pods.
    pub owner: Option<String>,
    /// The pod's uid (a TokenRequest binds to it); `None` for templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl PodView {
    pub fn service_account(&self) -> &str {
        self.service_account_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
    }
    pub fn app_containers(&self) -> impl Iterator<Item = &ContainerView> {
        self.containers.iter().filter(|c| !c.is_webhook_proxy())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerView {
    pub name: String,
    pub init: bool,
    /// Env entries in order; the value is `None` when it comes from `valueFrom`.
    pub env: Vec<EnvVar>,
    pub mounts: Vec<Mount>,
    /// Declared `containerPort`s.
    pub ports: Vec<i32>,
}

impl ContainerView {
    /// The effective value of an env var (the last definition wins, as in the kubelet).
    pub fn env_value(&self, name: &str) -> Option<&EnvVar> {
        self.env.iter().rev().find(|e| e.name == name)
    }
    pub fn is_webhook_proxy(&self) -> bool {
        self.name == "azwi-proxy-init" || self.name == "azwi-proxy"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    /// `valueFrom` described (`secretKeyRef my-secret/key`), when the value is not literal.
    pub from: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mount {
    pub volume: String,
    pub path: String,
    pub sub_path: Option<String>,
}

/// A projected `serviceAccountToken` source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenProjection {
    pub volume: String,
    pub path: String,
    pub audience: Option<String>,
    pub expiration_seconds: Option<i64>,
}

/// A read the collector was refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unreadable {
    pub kind: String,
    pub namespace: Option<String>,
    pub reason: String,
    pub command: Option<String>,
}

/// A node, as far as scheduling on virtual nodes matters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub created: Option<Timestamp>,
    /// When the pod template's `azure.workload.identity/use` label was last written (from
    /// `managedFields`, when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_label_written: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Namespace {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceAccount {
    pub name: String,
    pub namespace: String,
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub created: Option<Timestamp>,
    /// When the client-id annotation was last written (from `managedFields`, when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_written: Option<Timestamp>,
}

pub const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
pub const TENANT_ID_ANNOTATION: &str = "azure.workload.identity/tenant-id";
pub const USE_LABEL: &str = "azure.workload.identity/use";
pub const EXPIRATION_ANNOTATION: &str = "azure.workload.identity/service-account-token-expiration";
pub const SKIP_CONTAINERS_ANNOTATION: &str = "azure.workload.identity/skip-containers";
pub const PROXY_ANNOTATION: &str = "azure.workload.identity/inject-proxy-sidecar";
pub const EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
pub const WEBHOOK_NAME: &str = "mutation.azure-workload-identity.io";
pub const WEBHOOK_SERVICE: &str = "azure-wi-webhook-webhook-service";
pub const WEBHOOK_DEPLOYMENT: &str = "azure-wi-webhook-controller-manager";

/// One webhook entry of a MutatingWebhookConfiguration that belongs to workload identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Webhook {
    pub configuration: String,
    pub name: String,
    pub service_namespace: Option<String>,
    pub service_name: Option<String>,
    pub failure_policy: Option<String>,
    pub object_selector: Option<LabelSelector>,
    pub namespace_selector: Option<LabelSelector>,
    pub operations: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<SelectorRequirement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Kubernetes label-selector semantics. `None` for an operator it does not know.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> Option<bool> {
        for (k, v) in &self.match_labels {
            if labels.get(k) != Some(v) {
                return Some(false);
            }
        }
        for req in &self.match_expressions {
            let value = labels.get(&req.key);
            let ok = match req.operator.as_str() {
                "In" => value.is_some_and(|v| req.values.contains(v)),
                "NotIn" => !value.is_some_and(|v| req.values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => return None,
            };
            if !ok {
                return Some(false);
            }
        }
        Some(true)
    }
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

/// The webhook's own Deployment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WebhookDeployment {
    pub namespace: String,
    pub name: String,
    pub replicas: i32,
    pub ready_replicas: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub namespace: String,
    pub involved: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    pub last_seen: Option<Timestamp>,
    pub kind: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClusterKind {
    /// `Microsoft.ContainerService/managedClusters`
    Aks,
    /// `Microsoft.Kubernetes/connectedClusters` (Arc, AKS Edge Essentials, AKS on Azure Local)
    Arc,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cluster {
    pub kind: ClusterKind,
    pub id: String,
    pub name: String,
    pub resource_group: Option<String>,
    pub oidc_issuer_enabled: Option<bool>,
    pub issuer_url: Option<String>,
    pub self_hosted_issuer_url: Option<String>,
    pub workload_identity_enabled: Option<bool>,
    pub source: String,
}

impl Cluster {
    /// The issuer tokens carry: a self-hosted issuer wins on Arc.
    pub fn effective_issuer(&self) -> Option<&str> {
        self.self_hosted_issuer_url
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.issuer_url.as_deref().filter(|s| !s.is_empty()))
    }
    pub fn command_show(&self) -> String {
        let rg = self.resource_group.as_deref().unwrap_or("<rg>");
        match self.kind {
            ClusterKind::Aks => format!("az aks show -g {rg} -n {} -o json", self.name),
            ClusterKind::Arc => format!("az connectedk8s show -g {rg} -n {} -o json", self.name),
        }
    }
}

/// The decoded projected service-account token. Never the raw token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    pub source: String,
    pub alg: Option<String>,
    pub kid: Option<String>,
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Vec<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub pod_name: Option<String>,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    /// Signature verification against the selected JWKS, done while resolving.
    pub signature: Fact<SignatureCheck>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignatureCheck {
    pub verified: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Discovery {
    pub source: String,
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    pub algs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Jwks {
    pub source: String,
    pub keys: Vec<JwkSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JwkSummary {
    pub kid: Option<String>,
    pub kty: Option<String>,
    pub alg: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    ManagedIdentity,
    AppRegistration,
}

/// A user-assigned managed identity or an app registration (with its service principal).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    pub kind: IdentityKind,
    pub name: String,
    /// ARM id of the managed identity, or the app registration's object id.
    pub id: String,
    pub client_id: String,
    /// The principal (object) id role assignments name: the MI's `principalId` or the app's
    /// service-principal object id. `None` for an app registration whose SP is not known.
    pub principal_id: Option<String>,
    pub tenant_id: Option<String>,
    pub resource_group: Option<String>,
    pub subscription: Option<String>,
    /// For app registrations: whether a service principal was found (`None`: not collected).
    pub has_service_principal: Option<bool>,
    pub source: String,
}

impl Identity {
    pub fn display(&self) -> String {
        match self.kind {
            IdentityKind::ManagedIdentity => format!("managed identity {}", self.name),
            IdentityKind::AppRegistration => format!("app registration {}", self.name),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FederatedCredential {
    pub name: String,
    pub id: Option<String>,
    /// The identity it belongs to (MI ARM id, or app object id), when known.
    pub parent: Option<String>,
    pub issuer: String,
    pub subject: Option<String>,
    pub audiences: Vec<String>,
    pub claims_matching_expression: Option<String>,
    pub created: Option<Timestamp>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoleAssignment {
    pub id: String,
    pub scope: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    /// Lower-case GUID of the role definition.
    pub role_definition: String,
    pub role_name: Option<String>,
    pub condition: Option<String>,
    pub created: Option<Timestamp>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoleDefinition {
    pub id: String,
    pub name: String,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
    pub source: String,
}

/// A deny assignment: blocks the listed actions for its principals at its scope (and below,
/// unless `doNotApplyToChildScopes`), whatever roles grant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DenyAssignment {
    pub id: String,
    pub name: String,
    pub scope: String,
    /// Principal ids it applies to; `00000000-0000-0000-0000-000000000000` is everyone.
    pub principals: Vec<String>,
    pub exclude_principals: Vec<String>,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
    pub children_exempt: bool,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyVault {
    pub id: String,
    pub name: String,
    pub vault_uri: Option<String>,
    /// `properties.enableRbacAuthorization`; absent means access-policy mode.
    pub rbac_authorization: Option<bool>,
    pub access_policies: Vec<AccessPolicy>,
    /// `properties.publicNetworkAccess` (`Enabled`/`Disabled`).
    pub public_network_access: Option<String>,
    /// `properties.networkAcls.defaultAction` (`Allow`/`Deny`).
    pub network_default_action: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessPolicy {
    pub tenant_id: Option<String>,
    pub object_id: String,
    pub application_id: Option<String>,
    pub secrets: Vec<String>,
    pub keys: Vec<String>,
    pub certificates: Vec<String>,
}

/// A resource the workload must reach, with the permission it needs there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetScope {
    /// ARM id, when known.
    pub scope: Option<String>,
    /// Display name (`kv-inventory-cus`).
    pub name: String,
    pub resource_type: Option<String>,
    /// The data action (or, for ACR, control action) the workload needs.
    pub action: Option<String>,
    pub action_is_data: bool,
    /// How we learned it: `--scope` or `env SECRETS_VAULT_URI of container api`.
    pub origin: String,
    /// The Key Vault object, when the scope is a vault the snapshot holds.
    pub key_vault: Option<KeyVault>,
    /// The resource's own network rules, when the facts hold them: (publicNetworkAccess,
    /// networkAcls.defaultAction).
    pub network: Option<(Option<String>, Option<String>)>,
}

/// Everything the rules may read for one target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Facts {
    /// Evaluation time: `--at`, the snapshot's collection time, or now.
    pub at: Timestamp,
    /// Whether `at` is only the clock: neither `--at` nor a recorded collection time.
    #[serde(default)]
    pub at_is_clock: bool,
    pub target: TargetRef,
    pub workload: Option<Workload>,
    /// The pod template: what the next pod will get.
    pub template: Option<PodView>,
    /// The running pods the facts contain.
    pub pods: Vec<PodView>,
    /// Nodes the pods run on, when the snapshot holds them.
    pub nodes: Vec<Node>,
    /// What the collector could not read (forbidden, timed out), with the command to check.
    pub unreadable: Vec<Unreadable>,
    pub namespace: Fact<Namespace>,
    /// The ServiceAccount the pod (template) runs as.
    pub service_account: Fact<ServiceAccount>,
    /// Other ServiceAccounts of the namespace that carry a client-id annotation.
    pub annotated_service_accounts: Vec<ServiceAccount>,
    pub webhooks: Fact<Vec<Webhook>>,
    pub webhook_deployments: Fact<Vec<WebhookDeployment>>,
    /// Default tenant of the webhook (ConfigMap `azure-wi-webhook-config`), when known.
    pub webhook_tenant: Option<String>,
    pub events: Fact<Vec<Event>>,
    pub cluster: Fact<Cluster>,
    pub token: Fact<Token>,
    pub discovery: Fact<Discovery>,
    pub jwks: Fact<Jwks>,
    /// The client id the identity is looked up by (annotation, else pod env).
    pub client_id: Option<String>,
    pub identity: Fact<Identity>,
    /// Every identity the facts hold (for "that GUID is a principal id" and nearest matches).
    pub known_identities: Vec<Identity>,
    /// Federated credentials of [`Facts::identity`].
    pub credentials: Fact<Vec<FederatedCredential>>,
    /// Federated credentials that belong to other identities.
    pub other_credentials: Vec<FederatedCredential>,
    pub role_assignments: Fact<Vec<RoleAssignment>>,
    pub role_definitions: BTreeMap<String, RoleDefinition>,
    /// Deny assignments the facts hold (none when they were not collected).
    pub deny_assignments: Vec<DenyAssignment>,
    pub scopes: Vec<TargetScope>,
    /// The issuer fetched from outside (`None`: not fetched — a snapshot without --probe).
    #[serde(default)]
    pub external_issuer: Option<ExternalIssuer>,
    /// `--probe` (`None`: not asked for).
    #[serde(default)]
    pub probe: Option<Probe>,
    /// `--logs`: what the target pod's recent logs say.
    #[serde(default)]
    pub logs: Vec<LogScan>,
    /// The snapshot directory the facts were read from, if any.
    #[serde(default)]
    pub snapshot_dir: Option<String>,
}

impl Facts {
    /// The collector's refusal for a kind, if any.
    pub fn refused(&self, kind: &str) -> Option<&Unreadable> {
        self.unreadable.iter().find(|u| u.kind.eq_ignore_ascii_case(kind))
    }
    /// The issuer Entra would fetch for this workload: the token's iss, else the cluster's.
    pub fn issuer_to_fetch(&self) -> Option<String> {
        self.token
            .get()
            .and_then(|t| t.iss.clone())
            .or_else(|| self.cluster_issuer().map(str::to_string))
    }
    /// The tenant the pods send their token request to, and where that was learned.
    pub fn pod_tenant(&self) -> Option<(String, String)> {
        if let Some(sa) = self.service_account.get()
            && let Some(t) = sa.annotations.get(TENANT_ID_ANNOTATION)
        {
            return Some((
                t.clone(),
                format!("serviceaccount/{} annotation {TENANT_ID_ANNOTATION}", sa.name),
            ));
        }
        if let Some(t) = self.pods.iter().find_map(|p| {
            p.app_containers()
                .find_map(|c| c.env_value("AZURE_TENANT_ID").and_then(|e| e.value.clone()))
                .map(|v| (v, format!("{} env AZURE_TENANT_ID", p.source)))
        }) {
            return Some(t);
        }
        if let Some(t) = &self.webhook_tenant {
            return Some((t.clone(), "configmap azure-wi-webhook-config AZURE_TENANT_ID".into()));
        }
        // AKS and Arc issuer URLs embed the cluster's tenant, the webhook's default.
        let iss = self.cluster_issuer()?;
        let seg = iss.split('/').nth(3)?;
        crate::rules::support::is_guid(seg).then(|| {
            (
                seg.to_string(),
                "the tenant in the cluster's issuer URL (the webhook's default tenant)".into(),
            )
        })
    }
    /// The check to report when a rule needs a pod and the facts hold none.
    pub fn no_subject(&self) -> crate::rules::Check {
        let kinds = [self.target.kind.kind_name(), "Pod"];
        match kinds.iter().find_map(|k| self.refused(k)) {
            Some(u) => crate::rules::Check::unknown(
                format!("the {} could not be read: {}", self.target.display(), u.reason),
                u.command.clone(),
            ),
            None => crate::rules::Check::unknown("no pod or pod template in the facts", None),
        }
    }
    /// Template first, then the running pods.
    pub fn subjects(&self) -> impl Iterator<Item = &PodView> {
        self.template.iter().chain(self.pods.iter())
    }
    pub fn has_pod_subjects(&self) -> bool {
        self.template.is_some() || !self.pods.is_empty()
    }
    pub fn namespace(&self) -> &str {
        &self.target.namespace
    }
    /// The ServiceAccount name the target runs as.
    pub fn service_account_name(&self) -> String {
        if self.target.kind == WorkloadKind::ServiceAccount {
            return self.target.name.clone();
        }
        self.subjects()
            .next()
            .map(|p| p.service_account().to_string())
            .unwrap_or_else(|| "default".into())
    }
    pub fn expected_subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.target.namespace,
            self.service_account_name()
        )
    }
    /// The audience the pods' projected token asks for (a webhook `--audience` shows here),
    /// found by the path `AZURE_FEDERATED_TOKEN_FILE` names; the exchange audience otherwise.
    pub fn projected_audience(&self) -> String {
        let from_pods = self.pods.iter().find_map(|p| {
            let file = p
                .app_containers()
                .find_map(|c| c.env_value("AZURE_FEDERATED_TOKEN_FILE").and_then(|e| e.value.clone()))?;
            p.token_projections
                .iter()
                .find(|t| t.audience.is_some() && file.ends_with(&t.path))
                .and_then(|t| t.audience.clone())
        });
        from_pods.unwrap_or_else(|| EXCHANGE_AUDIENCE.to_string())
    }
    /// The issuer we expect tokens to carry: the cluster's, else the token's own.
    pub fn cluster_issuer(&self) -> Option<&str> {
        self.cluster.get().and_then(|c| c.effective_issuer())
    }
    /// The command that restarts the target's pods, for fixes.
    pub fn restart_command(&self) -> String {
        let ns = &self.target.namespace;
        match &self.workload {
            Some(w) if w.kind.restartable() => {
                format!("kubectl rollout restart {}/{} -n {ns}", w.kind.short(), w.name)
            }
            Some(w) if w.kind == WorkloadKind::CronJob => format!(
                "# the next scheduled Job picks it up; to run now: kubectl create job --from=cronjob/{} {}-manual -n {ns}",
                w.name, w.name
            ),
            _ => match self.pods.first() {
                Some(p) => format!(
                    "kubectl delete pod {} -n {ns}  # let its controller recreate it",
                    p.name
                ),
                None => format!("kubectl delete pod <pod> -n {ns}  # recreate the pod"),
            },
        }
    }
    /// What a user edits to change the next pod: the workload (`deploy/x`), else the pod.
    pub fn edit_target(&self) -> String {
        self.workload_ref()
            .unwrap_or_else(|| format!("pod/{}", self.target.name))
    }
    /// `kubectl patch`/edit target for template changes: `deploy/x`.
    pub fn workload_ref(&self) -> Option<String> {
        self.workload.as_ref().map(|w| format!("{}/{}", w.kind.short(), w.name))
    }
}

/// An issuer URL with its trailing slash, for appending `.well-known/…` or `openid/v1/jwks`.
pub fn with_slash(s: &str) -> String {
    if s.ends_with('/') {
        s.to_string()
    } else {
        format!("{s}/")
    }
}

/// One HTTPS GET made the way Entra makes it: what was asked and what came back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HttpFetch {
    pub url: String,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// `Location` of a redirect (never followed).
    pub location: Option<String>,
    /// Why the fetch did not yield a JSON document (timeout, TLS, status, size, not JSON).
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// The issuer as Entra sees it: discovery and JWKS fetched from outside the cluster over HTTPS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExternalIssuer {
    /// The issuer URL fetched (the token's iss, else the cluster's issuer).
    pub issuer_url: String,
    pub discovery: HttpFetch,
    /// The discovery document's `issuer`, when it was read.
    pub document_issuer: Option<String>,
    pub jwks_uri: Option<String>,
    /// `None` when the JWKS was not fetched (the discovery step failed).
    pub jwks: Option<HttpFetch>,
    pub key_count: usize,
    pub kids: Vec<String>,
    /// The token's signature checked against the public JWKS (filled while resolving).
    pub signature: Option<SignatureCheck>,
    /// The proxy the requests went through (`HTTPS_PROXY`, credentials removed).
    pub proxy: Option<String>,
    /// Addresses the issuer's host resolved to, when all are private (Entra cannot reach them).
    pub private_addresses: Vec<String>,
}

/// `--probe`: the token exchange, done as the Azure Identity SDKs do it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Probe {
    /// The token endpoint, `<authority>/<tenant>/oauth2/v2.0/token`.
    pub endpoint: String,
    /// Where the authority came from (AZURE_AUTHORITY_HOST, an explicit --cloud, the pods'
    /// env, the default cloud).
    #[serde(default)]
    pub authority_source: String,
    /// An authority the pods use that wi would not send a token to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_warning: Option<String>,
    pub tenant: String,
    /// Where the tenant came from (the pod's AZURE_TENANT_ID, the annotation, …).
    pub tenant_source: String,
    pub client_id: String,
    pub scope: String,
    /// When the exchange was made (rules judge the answer as of then, not the clock).
    #[serde(default)]
    pub at: Option<Timestamp>,
    /// Which token was presented (its source; never the token).
    pub assertion: String,
    pub outcome: ProbeOutcome,
    /// `--probe-data-plane`: one read-only call per --scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_plane: Vec<DataPlaneProbe>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// Entra issued an access token (dropped at once; only its decoded claims are kept).
    Issued {
        expires_in: Option<i64>,
        /// tid, oid, appid/azp, aud of the access token.
        claims: BTreeMap<String, String>,
    },
    /// Entra answered with an error body.
    Rejected {
        status: u16,
        error: String,
        /// `AADSTS70021`, from `error_codes` or the description.
        code: Option<String>,
        /// The description's first line (the AADSTS text, without trace lines).
        description: String,
        trace_id: Option<String>,
        correlation_id: Option<String>,
        timestamp: Option<String>,
    },
    /// No usable answer (network, TLS, timeout, not Entra's JSON).
    Failed { error: String },
    /// The probe could not be attempted (no raw token, no client id, …).
    NotRun { reason: String },
}

/// `--probe-data-plane`: one harmless read-only request to a --scope's data plane.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataPlaneProbe {
    pub scope: String,
    /// `GET <url>`, and why this request proves authorization without reading a secret.
    pub request: String,
    pub why: String,
    pub status: Option<u16>,
    /// The service's error code (`ForbiddenByRbac`, `AuthorizationPermissionMismatch`, …).
    pub code: Option<String>,
    pub message: Option<String>,
    /// `authorized`, `denied`, or `unknown` (could not tell).
    pub verdict: String,
}

/// `wi doctor --logs`: the known error signatures in one pod's recent logs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogScan {
    pub pod: String,
    pub lines: usize,
    /// Why the logs could not be read.
    pub error: Option<String>,
    pub matches: Vec<LogMatch>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogMatch {
    pub signature: String,
    pub code: Option<String>,
    /// The link the error implicates (`none` when the cause lies outside the chain).
    pub link: String,
    pub title: String,
    pub count: usize,
    /// The most recent matching line, tokens scrubbed.
    pub last_line: String,
}
