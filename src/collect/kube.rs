//! Live Kubernetes facts, learned the way kubectl would, with the permissions a normal
//! engineer has. Fills the same [`Inventory`] the snapshot reader fills; every read that is
//! refused, missing or too slow becomes a manifest entry (`notFound` / `unreadable` with the
//! `kubectl auth can-i` that would settle it), so the resolver and rules treat live and
//! snapshot input identically.
//!
//! Round trips: the first fetches, concurrently, everything whose name is known from the
//! target alone; the second fetches what depends on it (the pods' owners beyond a ReplicaSet,
//! their nodes, and the TokenRequest, which needs the pod). Each object kind is read once.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use jiff::Timestamp;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::token;
use super::{FileNote, Inventory, Manifest, ObjectKey, Unreadable};
use crate::facts::resolve::{Request, resolve};
use crate::facts::{EXCHANGE_AUDIENCE, TargetRef, WEBHOOK_DEPLOYMENT, WEBHOOK_NAME, WEBHOOK_SERVICE, WorkloadKind};

/// How to reach the cluster: kubectl's flags.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    /// Per request; `None` waits as long as the client does.
    pub request_timeout: Option<Duration>,
}

/// The namespaces the webhook is installed in: the AKS add-on, and the Helm/OSS install.
pub const WEBHOOK_NAMESPACES: [&str; 2] = ["kube-system", "azure-workload-identity-system"];

/// A client configured like kubectl, and the context's default namespace.
pub async fn connect(c: &Connect) -> Result<(Client, String), String> {
    super::tls_provider();
    let options = KubeConfigOptions {
        context: c.context.clone(),
        cluster: c.cluster.clone(),
        user: c.user.clone(),
    };
    let explicit = c.context.is_some() || c.cluster.is_some() || c.user.is_some();
    let mut config = match &c.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path).map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?;
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?
        }
        None if explicit => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| format!("kubeconfig: {e}"))?,
        None => Config::infer().await.map_err(|e| {
            format!(
                "no cluster to talk to: no kubeconfig (KUBECONFIG, ~/.kube/config) and not running in a pod\n  cause: {e}\n  hint: pass --kubeconfig FILE or --context NAME, or diagnose files with --snapshot DIR (wi demo shows one)"
            )
        })?,
    };
    if let Some(u) = &c.as_user {
        config.auth_info.impersonate = Some(u.clone());
    }
    if !c.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(c.as_groups.clone());
    }
    if let Some(t) = c.request_timeout {
        config.connect_timeout = Some(t);
        config.read_timeout = Some(t);
        config.write_timeout = Some(t);
    }
    let ns = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| format!("cannot build a Kubernetes client: {e}"))?;
    Ok((client, ns))
}

/// The outcome of one read.
enum Got<T> {
    Ok(T),
    NotFound,
    /// Forbidden, unauthorized, timed out or failed: the reason.
    Refused(String),
}

/// What a request reads, for the manifest and the `kubectl auth can-i` hint.
#[derive(Clone)]
struct Read {
    kind: &'static str,
    /// The plural resource, as RBAC and `kubectl auth can-i` name it.
    resource: &'static str,
    verb: &'static str,
    namespace: Option<String>,
    name: Option<String>,
}

impl Read {
    fn can_i(&self) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        let name = self.name.as_deref().map(|n| format!("/{n}")).unwrap_or_default();
        if self.verb == "create" {
            return format!("kubectl auth can-i create {}{ns}", self.resource);
        }
        if self.resource.starts_with('/') {
            return format!("kubectl auth can-i get {}", self.resource);
        }
        format!("kubectl auth can-i {} {}{name}{ns}", self.verb, self.resource)
    }
}

/// Records every refusal and absence while collecting.
struct Log {
    manifest: Manifest,
}

impl Log {
    fn refused(&mut self, r: &Read, why: String) {
        self.manifest.unreadable.push(Unreadable {
            kind: r.kind.into(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            reason: why,
            command: Some(r.can_i()),
        });
    }
    fn not_found(&mut self, r: &Read) {
        self.manifest.not_found.push(ObjectKey {
            kind: r.kind.into(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        });
    }
}

/// Why a read did not return the object.
enum Fail {
    Kube(kube::Error),
    Timeout(Duration),
}

async fn timed<T>(
    timeout: Option<Duration>,
    f: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, Fail> {
    match timeout {
        Some(t) => match tokio::time::timeout(t, f).await {
            Ok(r) => r.map_err(Fail::Kube),
            Err(_) => Err(Fail::Timeout(t)),
        },
        None => f.await.map_err(Fail::Kube),
    }
}

/// A failed read as the collector records it: absent (404) or refused, with why.
fn classify_err<T>(f: Fail) -> Got<T> {
    match f {
        Fail::Timeout(t) => Got::Refused(format!("timed out after {} (--request-timeout)", humantime(t))),
        Fail::Kube(kube::Error::Api(s)) if s.code == 404 => Got::NotFound,
        Fail::Kube(kube::Error::Api(s)) if s.code == 403 => Got::Refused(format!("forbidden: {}", s.message)),
        Fail::Kube(kube::Error::Api(s)) if s.code == 401 => Got::Refused(format!(
            "unauthorized: {} (is the kubeconfig's credential valid?)",
            s.message
        )),
        Fail::Kube(kube::Error::Api(s)) => Got::Refused(format!("HTTP {}: {}", s.code, s.message)),
        Fail::Kube(e) => Got::Refused(e.to_string()),
    }
}

fn humantime(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

async fn get<K>(n: &AtomicUsize, api: Api<K>, name: &str, timeout: Option<Duration>) -> Got<K>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    n.fetch_add(1, Ordering::Relaxed);
    match timed(timeout, api.get(name)).await {
        Ok(o) => Got::Ok(o),
        Err(e) => classify_err(e),
    }
}

/// LIST with paging (500 a page, as kubectl does).
async fn list<K>(n: &AtomicUsize, api: Api<K>, timeout: Option<Duration>) -> Got<Vec<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(500);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        n.fetch_add(1, Ordering::Relaxed);
        match timed(timeout, api.list(&lp)).await {
            Ok(page) => {
                out.extend(page.items);
                match page.metadata.continue_.filter(|c| !c.is_empty()) {
                    Some(c) => token = Some(c),
                    None => return Got::Ok(out),
                }
            }
            Err(e) => {
                return match classify_err::<()>(e) {
                    // A namespace that does not exist lists as empty.
                    Got::NotFound | Got::Ok(()) => Got::Ok(out),
                    Got::Refused(w) => Got::Refused(w),
                };
            }
        }
    }
}

async fn raw(n: &AtomicUsize, client: Client, path: &str, timeout: Option<Duration>) -> Got<String> {
    n.fetch_add(1, Ordering::Relaxed);
    let req = match http::Request::get(path).body(Vec::new()) {
        Ok(r) => r,
        Err(e) => return Got::Refused(e.to_string()),
    };
    match timed(timeout, client.request_text(req)).await {
        Ok(t) => Got::Ok(t),
        Err(e) => classify_err(e),
    }
}

fn read(kind: &'static str, resource: &'static str, verb: &'static str, ns: Option<&str>, name: Option<&str>) -> Read {
    Read {
        kind,
        resource,
        verb,
        namespace: ns.map(str::to_string),
        name: name.map(str::to_string),
    }
}

/// File a read's outcome: objects into the inventory, the rest into the manifest.
fn file<T>(log: &mut Log, r: &Read, got: Got<T>, put: impl FnOnce(T)) {
    match got {
        Got::Ok(v) => put(v),
        Got::NotFound => log.not_found(r),
        Got::Refused(why) => log.refused(r, why),
    }
}

/// Options of one live collection.
#[derive(Debug, Clone)]
pub struct Collect {
    pub target: TargetRef,
    /// Request a token for the pod's ServiceAccount (TokenRequest API); never stored.
    pub token_request: bool,
}

/// Statistics for the notes and the benchmark.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: usize,
    pub round_trips: usize,
}

/// Collect the Kubernetes facts about one target.
pub async fn collect(client: Client, opts: &Collect, timeout: Option<Duration>) -> (Inventory, Stats) {
    let t = &opts.target;
    let ns = t.namespace.as_str();
    let mut log = Log {
        manifest: Manifest::default(),
    };
    let n = AtomicUsize::new(0);
    let n = &n;
    let mut inv = Inventory::default();
    let mut stats = Stats {
        round_trips: 1,
        ..Default::default()
    };

    // ---- round trip 1: everything whose name is known from the target ---------------------
    let r_target = match t.kind {
        WorkloadKind::Pod => read("Pod", "pods", "get", Some(ns), Some(&t.name)),
        WorkloadKind::Deployment => read("Deployment", "deployments", "get", Some(ns), Some(&t.name)),
        WorkloadKind::ReplicaSet => read("ReplicaSet", "replicasets", "get", Some(ns), Some(&t.name)),
        WorkloadKind::StatefulSet => read("StatefulSet", "statefulsets", "get", Some(ns), Some(&t.name)),
        WorkloadKind::DaemonSet => read("DaemonSet", "daemonsets", "get", Some(ns), Some(&t.name)),
        WorkloadKind::Job => read("Job", "jobs", "get", Some(ns), Some(&t.name)),
        WorkloadKind::CronJob => read("CronJob", "cronjobs", "get", Some(ns), Some(&t.name)),
        WorkloadKind::ServiceAccount => read("ServiceAccount", "serviceaccounts", "list", Some(ns), None),
    };
    let needs_pod_list = !matches!(t.kind, WorkloadKind::Pod | WorkloadKind::ServiceAccount);
    let needs_rs = matches!(t.kind, WorkloadKind::Pod | WorkloadKind::Deployment);
    let needs_deploy_list = t.kind == WorkloadKind::Pod;
    let needs_jobs = t.kind == WorkloadKind::CronJob;

    let r_pods = read("Pod", "pods", "list", Some(ns), None);
    let r_sas = read("ServiceAccount", "serviceaccounts", "list", Some(ns), None);
    let r_ns = read("Namespace", "namespaces", "get", None, Some(ns));
    let r_mwc = read(
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        "list",
        None,
        None,
    );
    let r_events = read("Event", "events", "list", Some(ns), None);
    let r_rs = read("ReplicaSet", "replicasets", "list", Some(ns), None);
    let r_deploys = read("Deployment", "deployments", "list", Some(ns), None);
    let r_jobs = read("Job", "jobs", "list", Some(ns), None);
    let r_disc = read("OIDCDiscovery", "/.well-known/openid-configuration", "get", None, None);
    let r_jwks = read("JWKS", "/openid/v1/jwks", "get", None, None);

    let c = &client;
    let target_fut = async {
        let name = t.name.as_str();
        macro_rules! g {
            ($ty:ty) => {
                match get(n, Api::<$ty>::namespaced(c.clone(), ns), name, timeout).await {
                    Got::Ok(o) => Got::Ok(serde_json::to_value(o).unwrap_or(Value::Null)),
                    Got::NotFound => Got::NotFound,
                    Got::Refused(w) => Got::Refused(w),
                }
            };
        }
        match t.kind {
            WorkloadKind::Pod => g!(Pod),
            WorkloadKind::Deployment => g!(Deployment),
            WorkloadKind::ReplicaSet => g!(ReplicaSet),
            WorkloadKind::StatefulSet => g!(StatefulSet),
            WorkloadKind::DaemonSet => g!(DaemonSet),
            WorkloadKind::Job => g!(Job),
            WorkloadKind::CronJob => g!(CronJob),
            WorkloadKind::ServiceAccount => Got::Ok(Value::Null), // the SA list covers it
        }
    };
    let pods_fut = when(needs_pod_list, list(n, Api::<Pod>::namespaced(c.clone(), ns), timeout));
    let rs_fut = when(needs_rs, list(n, Api::<ReplicaSet>::namespaced(c.clone(), ns), timeout));
    let deploys_fut = when(
        needs_deploy_list,
        list(n, Api::<Deployment>::namespaced(c.clone(), ns), timeout),
    );
    let jobs_fut = when(needs_jobs, list(n, Api::<Job>::namespaced(c.clone(), ns), timeout));
    let webhook_fut = async {
        let reads: Vec<(Read, Read)> = WEBHOOK_NAMESPACES
            .iter()
            .map(|w| {
                (
                    read("Deployment", "deployments", "get", Some(w), Some(WEBHOOK_DEPLOYMENT)),
                    read(
                        "ConfigMap",
                        "configmaps",
                        "get",
                        Some(w),
                        Some("azure-wi-webhook-config"),
                    ),
                )
            })
            .collect();
        let futs = reads.iter().map(|(rd, rc)| async {
            let d = get(
                n,
                Api::<Deployment>::namespaced(c.clone(), rd.namespace.as_deref().unwrap_or_default()),
                WEBHOOK_DEPLOYMENT,
                timeout,
            );
            let m = get(
                n,
                Api::<ConfigMap>::namespaced(c.clone(), rc.namespace.as_deref().unwrap_or_default()),
                "azure-wi-webhook-config",
                timeout,
            );
            futures::join!(d, m)
        });
        let got = join_all(futs).await;
        reads.into_iter().zip(got).collect::<Vec<_>>()
    };
    let (target_got, pods, rss, deploys, jobs, sas, namespace, mwcs, events, disc, jwks, webhook) = futures::join!(
        target_fut,
        pods_fut,
        rs_fut,
        deploys_fut,
        jobs_fut,
        list(n, Api::<ServiceAccount>::namespaced(c.clone(), ns), timeout),
        get(n, Api::<Namespace>::all(c.clone()), ns, timeout),
        list(n, Api::<MutatingWebhookConfiguration>::all(c.clone()), timeout),
        list(n, Api::<Event>::namespaced(c.clone(), ns), timeout),
        raw(n, c.clone(), "/.well-known/openid-configuration", timeout),
        raw(n, c.clone(), "/openid/v1/jwks", timeout),
        webhook_fut,
    );

    // File round trip 1.
    let mut notes = FileNote {
        path: "live".into(),
        recognised: vec![],
        ignored: vec![],
    };
    match target_got {
        Got::Ok(Value::Null) => {}
        Got::Ok(v) => {
            let mut out = Vec::new();
            if let Err(e) = super::classify::document(&mut inv, v, "live", &mut out) {
                log.refused(
                    &r_target,
                    format!("the API server's {} did not parse: {e}", r_target.kind),
                );
            }
        }
        Got::NotFound => log.not_found(&r_target),
        Got::Refused(why) => log.refused(&r_target, why),
    }
    if let Some(g) = pods {
        file(&mut log, &r_pods, g, |v| inv.pods.extend(v));
    }
    if let Some(g) = rss {
        file(&mut log, &r_rs, g, |v| inv.replica_sets.extend(v));
    }
    if let Some(g) = deploys {
        file(&mut log, &r_deploys, g, |v| inv.deployments.extend(v));
    }
    if let Some(g) = jobs {
        file(&mut log, &r_jobs, g, |v| inv.jobs.extend(v));
    }
    file(&mut log, &r_sas, sas, |v| inv.service_accounts.extend(v));
    file(&mut log, &r_ns, namespace, |v| inv.namespaces.push(v));
    file(&mut log, &r_mwc, mwcs, |v| inv.webhook_configurations.extend(v));
    file(&mut log, &r_events, events, |v| inv.events.extend(v));
    for ((rd, _), (d, m)) in webhook {
        file(&mut log, &rd, d, |v| inv.deployments.push(v));
        match m {
            Got::Ok(v) => inv.config_maps.push(v),
            // An absent or unreadable ConfigMap only loses the webhook's default tenant.
            Got::NotFound | Got::Refused(_) => {}
        }
    }
    for (r, got) in [(&r_disc, disc), (&r_jwks, jwks)] {
        match got {
            Got::Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(v) => {
                    let mut out = Vec::new();
                    let origin = format!("the API server's {}", r.resource);
                    let _ = super::classify::document(&mut inv, v, &origin, &mut out);
                }
                Err(e) => log.refused(r, format!("the API server's answer is not JSON: {e}")),
            },
            Got::NotFound => log.refused(
                r,
                "the API server does not serve it (is the issuer an https URL? service-account issuer discovery needs one)".into(),
            ),
            Got::Refused(why) => log.refused(r, why),
        }
    }

    // ---- round trip 2: owners beyond a ReplicaSet, nodes, the token --------------------------
    // What the first round trip says about the target, through the resolver the rules use.
    let probe = Request {
        target: t.clone(),
        at: None,
        now: Timestamp::now(),
        scopes: vec![],
        data_action: None,
    };
    let facts = resolve(&inv, &probe)
        .ok()
        .filter(|f| f.template.is_some() || !f.pods.is_empty() || t.kind == WorkloadKind::ServiceAccount);
    let pods: &[crate::facts::PodView] = facts.as_ref().map(|f| f.pods.as_slice()).unwrap_or_default();
    let mut owner_reads: Vec<(Read, &'static str, String)> = Vec::new();
    if t.kind == WorkloadKind::Pod {
        for (kind, name) in pods.iter().filter_map(|p| p.owner.as_deref()?.split_once('/')) {
            let (kind, res): (&'static str, &'static str) = match kind {
                "StatefulSet" => ("StatefulSet", "statefulsets"),
                "DaemonSet" => ("DaemonSet", "daemonsets"),
                "Job" => ("Job", "jobs"),
                _ => continue,
            };
            owner_reads.push((read(kind, res, "get", Some(ns), Some(name)), kind, name.to_string()));
        }
    }
    let node_names: BTreeSet<String> = pods.iter().filter_map(|p| p.node_name.clone()).collect();
    let sa_name = facts.as_ref().map(|f| f.service_account_name()).unwrap_or_default();
    // Bind the token to a running pod of that ServiceAccount, with the audience its projected
    // volume asks for: exactly what the kubelet hands the pod.
    let bound = pods
        .iter()
        .find(|p| p.service_account() == sa_name)
        .and_then(|p| Some((p.name.clone(), p.uid.clone()?)));
    let audience = match (&facts, &bound) {
        (Some(f), Some(_)) => f.projected_audience(),
        _ => EXCHANGE_AUDIENCE.to_string(),
    };
    let r_token = read(
        "TokenRequest",
        "serviceaccounts/token",
        "create",
        Some(ns),
        Some(&sa_name),
    );
    let owner_fut = join_all(owner_reads.iter().map(|(r, kind, name)| async move {
        let api_ns = ns;
        let v = match *kind {
            "StatefulSet" => to_value(get(n, Api::<StatefulSet>::namespaced(c.clone(), api_ns), name, timeout).await),
            "DaemonSet" => to_value(get(n, Api::<DaemonSet>::namespaced(c.clone(), api_ns), name, timeout).await),
            _ => to_value(get(n, Api::<Job>::namespaced(c.clone(), api_ns), name, timeout).await),
        };
        (r.clone(), v)
    }));
    let node_reads: Vec<Read> = node_names
        .iter()
        .map(|n| read("Node", "nodes", "get", None, Some(n)))
        .collect();
    let nodes_fut = join_all(node_reads.iter().map(|r| async move {
        (
            r.clone(),
            get(
                n,
                Api::<Node>::all(c.clone()),
                r.name.as_deref().unwrap_or_default(),
                timeout,
            )
            .await,
        )
    }));
    // No token when the target could not be read (no ServiceAccount to ask for), or when its
    // pods run as another ServiceAccount than the template names (nothing to bind to).
    let want_token = opts.token_request && facts.is_some() && (bound.is_some() || pods.is_empty());
    let token_fut = async {
        if !want_token {
            return None;
        }
        let bound_ref = bound.as_ref().map(|(name, uid)| BoundObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name.clone()),
            uid: Some(uid.clone()),
        });
        let tr = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![audience.clone()],
                // The API server's minimum: the token is decoded in memory and dropped.
                expiration_seconds: Some(600),
                bound_object_ref: bound_ref,
            },
            ..Default::default()
        };
        let api = Api::<ServiceAccount>::namespaced(c.clone(), ns);
        n.fetch_add(1, Ordering::Relaxed);
        Some(timed(timeout, api.create_token_request(&sa_name, &PostParams::default(), &tr)).await)
    };
    // A webhook installed elsewhere (a Helm release in its own namespace): the
    // MutatingWebhookConfiguration names its service's namespace, where the Deployment lives.
    let mut extra_ns: Vec<String> = inv
        .webhook_configurations
        .iter()
        .flat_map(|m| m.webhooks.iter().flatten())
        .filter_map(|w| {
            let svc = w.client_config.service.as_ref()?;
            (w.name == WEBHOOK_NAME || svc.name == WEBHOOK_SERVICE).then(|| svc.namespace.clone())
        })
        .filter(|ns| !WEBHOOK_NAMESPACES.contains(&ns.as_str()))
        .collect();
    extra_ns.sort();
    extra_ns.dedup();
    let webhook_reads: Vec<Read> = extra_ns
        .iter()
        .map(|w| read("Deployment", "deployments", "get", Some(w), Some(WEBHOOK_DEPLOYMENT)))
        .collect();
    let webhook_fut = join_all(webhook_reads.iter().map(|r| async move {
        let w = r.namespace.as_deref().unwrap_or_default();
        let d = get(
            n,
            Api::<Deployment>::namespaced(c.clone(), w),
            WEBHOOK_DEPLOYMENT,
            timeout,
        );
        let m = get(
            n,
            Api::<ConfigMap>::namespaced(c.clone(), w),
            "azure-wi-webhook-config",
            timeout,
        );
        let (d, m) = futures::join!(d, m);
        (r.clone(), d, m)
    }));
    let any_rt2 = !owner_reads.is_empty() || !node_reads.is_empty() || !webhook_reads.is_empty() || opts.token_request;
    let (owners, nodes, token, webhook) = futures::join!(owner_fut, nodes_fut, token_fut, webhook_fut);
    for (r, d, m) in webhook {
        file(&mut log, &r, d, |v| inv.deployments.push(v));
        if let Got::Ok(v) = m {
            inv.config_maps.push(v);
        }
    }
    if any_rt2 {
        stats.round_trips += 1;
    }
    for (r, got) in owners {
        match got {
            Got::Ok(v) => {
                let mut out = Vec::new();
                let _ = super::classify::document(&mut inv, v, "live", &mut out);
            }
            Got::NotFound => log.not_found(&r),
            Got::Refused(w) => log.refused(&r, w),
        }
    }
    for (r, got) in nodes {
        file(&mut log, &r, got, |v| inv.nodes.push(v));
    }
    match token {
        Some(Ok(tr)) => match tr.status.map(|s| s.token) {
            Some(raw) => match token::decode(&raw, "TokenRequest") {
                Ok(tf) => inv.tokens.push(tf),
                Err(e) => log.refused(&r_token, format!("the API server's token did not decode: {e}")),
            },
            None => log.refused(&r_token, "the TokenRequest answer holds no token".into()),
        },
        Some(Err(e)) => match classify_err::<()>(e) {
            Got::NotFound => log.refused(&r_token, format!("serviceaccount {sa_name} not found")),
            Got::Refused(w) => log.refused(&r_token, w),
            Got::Ok(()) => {}
        },
        None if facts.is_none() => {} // the target's own refusal is already recorded
        None if !opts.token_request => log.refused(
            &r_token,
            "--no-token-request: the token's claims were not checked (the issuer link reports from the discovery document)".into(),
        ),
        None => log.refused(&r_token, format!("no running pod runs as serviceaccount {sa_name} to bind a token to")),
    }
    stats.requests = n.load(Ordering::Relaxed);
    notes.recognised.push(format!(
        "{} requests in {} round trip(s)",
        stats.requests, stats.round_trips
    ));
    inv.files.push(notes);
    log.manifest.collected_at = Some(Timestamp::now());
    log.manifest.wi_version = Some(env!("CARGO_PKG_VERSION").into());
    inv.manifest = Some(log.manifest);
    (inv, stats)
}

/// Run `f` only when `cond` holds (futures are lazy: a skipped one sends nothing).
async fn when<T>(cond: bool, f: impl std::future::Future<Output = T>) -> Option<T> {
    if cond { Some(f.await) } else { None }
}

fn to_value<K: serde::Serialize>(g: Got<K>) -> Got<Value> {
    match g {
        Got::Ok(o) => Got::Ok(serde_json::to_value(o).unwrap_or(Value::Null)),
        Got::NotFound => Got::NotFound,
        Got::Refused(w) => Got::Refused(w),
    }
}

/// The recent logs of every container of a pod (`kubectl logs --tail`), for `wi explain --logs`.
pub async fn pod_logs(client: Client, namespace: &str, pod: &str, tail: i64) -> Result<String, String> {
    let api = Api::<Pod>::namespaced(client, namespace);
    let p = api.get(pod).await.map_err(|e| match e {
        kube::Error::Api(s) if s.code == 404 => format!("pod {pod:?} not found in namespace {namespace:?}"),
        kube::Error::Api(s) if s.code == 403 => format!(
            "forbidden: {} (kubectl auth can-i get pods/log -n {namespace})",
            s.message
        ),
        e => e.to_string(),
    })?;
    // Every container, and the previous instance of any that restarted: in a crash loop the
    // error is in the logs of the container that died, not the one just started.
    let restarted: BTreeSet<String> = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.restart_count > 0)
        .map(|c| c.name.clone())
        .collect();
    let containers: Vec<String> = p
        .spec
        .map(|s| s.containers.into_iter().map(|c| c.name).collect())
        .unwrap_or_default();
    let reads: Vec<(String, bool)> = containers
        .iter()
        .flat_map(|c| {
            let prev = restarted.contains(c).then(|| (c.clone(), true));
            prev.into_iter().chain(std::iter::once((c.clone(), false)))
        })
        .collect();
    let got = join_all(reads.iter().map(|(c, previous)| {
        let api = api.clone();
        async move {
            let lp = kube::api::LogParams {
                container: Some(c.clone()),
                tail_lines: Some(tail),
                previous: *previous,
                ..Default::default()
            };
            api.logs(pod, &lp).await
        }
    }))
    .await;
    let mut out = String::new();
    for ((c, previous), r) in reads.iter().zip(got) {
        match r {
            Ok(text) => out.push_str(&text),
            Err(kube::Error::Api(s)) if s.code == 403 => {
                return Err(format!(
                    "forbidden: {} (kubectl auth can-i get pods/log -n {namespace})",
                    s.message
                ));
            }
            // The previous instance may be gone (garbage-collected): the current logs stand.
            Err(_) if *previous => continue,
            Err(e) => return Err(format!("logs of container {c}: {e}")),
        }
        out.push('\n');
    }
    Ok(out)
}
