//! From an [`Inventory`] and a target to the [`Facts`] about that one workload. Pure: no I/O.
//!
//! This is where *absent* is told from *unknown*: an object is absent only when the manifest
//! says it was looked for, or when the inventory holds objects of the same kind in the same
//! place (a namespace's ServiceAccounts, the snapshot's identities) and not this one.
//! Otherwise it is unknown, with the command that would produce it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as K8sSelector, ObjectMeta};

use super::*;
use crate::collect::Inventory;
use crate::collect::azure;
use crate::collect::token::{JwksFile, TokenFile};

/// What the user asked about.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: TargetRef,
    /// `--at`; else the snapshot's collection time; else `now`.
    pub at: Option<Timestamp>,
    pub now: Timestamp,
    /// `--scope` ARM ids.
    pub scopes: Vec<String>,
    /// `--data-action` override.
    pub data_action: Option<String>,
}

/// The target is not in the facts (exit code 3).
#[derive(Debug)]
pub struct NotFound(pub String);

pub fn resolve(inv: &Inventory, req: &Request) -> Result<Facts, NotFound> {
    let t = &req.target;
    let ns = t.namespace.as_str();
    let at_is_clock = req.at.is_none() && inv.manifest.as_ref().and_then(|m| m.collected_at).is_none();
    let at = req
        .at
        .or_else(|| inv.manifest.as_ref().and_then(|m| m.collected_at))
        .unwrap_or(req.now);

    let (workload, template, pods) = match workload_and_pods(inv, t) {
        Ok(found) => found,
        // A target the collector was refused is not "not found": every check that needs it
        // reports unknown, naming the permission.
        Err(_) if target_unreadable(inv, t).is_some() => (None, None, Vec::new()),
        Err(e) => return Err(e),
    };
    let sa_name = if t.kind == WorkloadKind::ServiceAccount {
        t.name.clone()
    } else {
        template
            .as_ref()
            .or(pods.first())
            .map(|p| p.service_account().to_string())
            .unwrap_or_else(|| "default".into())
    };

    // A target that could not be read does not say which ServiceAccount it runs as: everything
    // derived from that is unknown, never the "default" ServiceAccount's.
    let refused_target = if template.is_none() && pods.is_empty() && t.kind != WorkloadKind::ServiceAccount {
        target_unreadable(inv, t)
    } else {
        None
    };
    let service_account = match refused_target {
        Some(u) => Fact::unknown(
            format!(
                "{} could not be read ({}), so the ServiceAccount it runs as is unknown",
                t.display(),
                u.reason
            ),
            u.command.clone(),
        ),
        None => service_account(inv, ns, &sa_name),
    };
    if t.kind == WorkloadKind::ServiceAccount && !service_account.is_found() {
        return Err(NotFound(format!(
            "serviceaccount {sa_name:?} not found in namespace {ns:?} of the snapshot"
        )));
    }
    let annotated_service_accounts = inv
        .service_accounts
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
        .map(sa_view)
        .filter(|s| s.name != sa_name && s.annotations.contains_key(CLIENT_ID_ANNOTATION))
        .collect();

    let namespace = match inv.namespaces.iter().find(|n| n.metadata.name.as_deref() == Some(ns)) {
        Some(n) => Fact::found(Namespace {
            name: ns.to_string(),
            labels: labels(&n.metadata),
        }),
        None => unknown_k8s(inv, "Namespace", None, format!("kubectl get namespace {ns} -o yaml")),
    };

    let webhooks = webhooks(inv);
    let webhook_deployments = webhook_deployments(inv, &webhooks);
    let webhook_tenant = inv
        .config_maps
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some("azure-wi-webhook-config"))
        .and_then(|c| c.data.as_ref()?.get("AZURE_TENANT_ID").cloned());
    let events = events(inv, ns, &workload, &pods);

    // Client id: the annotation (what the next pod gets), else what the pods carry.
    let client_id = service_account
        .get()
        .and_then(|s| s.annotations.get(CLIENT_ID_ANNOTATION).cloned())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            pods.iter()
                .flat_map(|p| p.app_containers())
                .find_map(|c| c.env_value("AZURE_CLIENT_ID").and_then(|e| e.value.clone()))
                .filter(|s| !s.is_empty())
        });

    let expected_subject = format!("system:serviceaccount:{ns}:{sa_name}");
    let token_file = if refused_target.is_some() {
        None
    } else {
        select_token(inv, ns, &expected_subject, &pods)
    };
    let cluster = cluster(
        inv,
        token_file.and_then(|t| t.claims.get("iss")).and_then(|v| v.as_str()),
    );
    let issuer_hint = token_file
        .and_then(|t| t.claims.get("iss"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| cluster.get().and_then(|c| c.effective_issuer().map(str::to_string)));
    let jwks_file = select_jwks(inv, token_file);
    let token = match token_file {
        Some(tf) => Fact::found(tf.to_fact(jwks_file)),
        None if let Some(u) = refused_target => Fact::unknown(
            format!(
                "{} could not be read ({}), so whose token to check is unknown",
                t.display(),
                u.reason
            ),
            u.command.clone(),
        ),
        None if let Some(u) = inv
            .manifest
            .as_ref()
            .and_then(|m| m.unreadable("TokenRequest", Some(ns))) =>
        {
            Fact::unknown(
                format!("no token: the TokenRequest failed: {}", u.reason),
                u.command.clone(),
            )
        }
        None => Fact::unknown(
            format!("the snapshot holds no token for {expected_subject}"),
            Some(format!(
                "kubectl create token {sa_name} -n {ns} --audience {EXCHANGE_AUDIENCE} --duration 1h > token.jwt"
            )),
        ),
    };
    let discovery = select_discovery(inv, issuer_hint.as_deref());
    let external_issuer = inv.external_issuer.as_ref().map(|e| {
        let mut x = e.fact.clone();
        // A snapshot keeps the verdict reached when the raw token was in hand.
        if let Some(tf) = token_file.filter(|t| t.raw.is_some())
            && !e.keys.is_empty()
        {
            let public = JwksFile {
                source: x.jwks_uri.clone().unwrap_or_default(),
                keys: e.keys.clone(),
            };
            x.signature = tf.verify(Some(&public)).get().cloned();
        }
        x
    });
    let jwks = match jwks_file {
        Some(j) => Fact::found(j.summary()),
        None if let Some(u) = inv.manifest.as_ref().and_then(|m| m.unreadable("JWKS", None)) => {
            Fact::unknown(format!("the API server's JWKS: {}", u.reason), u.command.clone())
        }
        None => Fact::unknown(
            "the snapshot holds no JWKS",
            Some(match discovery.get().and_then(|d| d.jwks_uri.clone()) {
                Some(uri) => format!("curl -fsS {uri} > jwks.json"),
                None => match &issuer_hint {
                    Some(iss) => format!("curl -fsS {}openid/v1/jwks > jwks.json", with_slash(iss)),
                    None => "curl -fsS <issuer>/openid/v1/jwks > jwks.json".into(),
                },
            }),
        ),
    };

    let known_identities = known_identities(inv);
    let identity = identity(inv, &known_identities, client_id.as_deref());
    let (credentials, other_credentials) = credentials(inv, identity.get());
    let role_assignments = if !inv.role_assignments.is_empty() {
        Fact::found(inv.role_assignments.clone())
    } else {
        let who = identity
            .get()
            .and_then(|i| i.principal_id.clone())
            .unwrap_or_else(|| "<principalId>".into());
        match inv.manifest.as_ref().and_then(|m| m.unreadable("RoleAssignment", None)) {
            Some(u) => Fact::unknown(u.reason.clone(), u.command.clone()),
            None if inv
                .manifest
                .as_ref()
                .is_some_and(|m| m.says_not_found("RoleAssignment", None, &who)) =>
            {
                Fact::found(vec![])
            }
            None => Fact::unknown(
                "the snapshot holds no role assignments",
                Some(format!(
                    "az role assignment list --assignee {who} --all -o json > role-assignments.json"
                )),
            ),
        }
    };
    let mut role_definitions: BTreeMap<String, RoleDefinition> =
        azure::builtin_roles().into_iter().map(|r| (r.id.clone(), r)).collect();
    for d in &inv.role_definitions {
        role_definitions.insert(d.id.clone(), d.clone());
    }
    let scopes = scopes(inv, req, template.as_ref(), &pods);
    let deny_assignments = inv.deny_assignments.clone();

    let nodes = nodes(inv, &pods);
    let unreadable = inv
        .manifest
        .as_ref()
        .map(|m| {
            m.unreadable
                .iter()
                .map(|u| Unreadable {
                    kind: u.kind.clone(),
                    namespace: u.namespace.clone(),
                    reason: u.reason.clone(),
                    command: u.command.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Facts {
        at_is_clock,
        nodes,
        unreadable,
        at,
        target: t.clone(),
        workload,
        template,
        pods,
        namespace,
        service_account,
        annotated_service_accounts,
        webhooks,
        webhook_deployments,
        webhook_tenant,
        events,
        cluster,
        token,
        discovery,
        jwks,
        client_id,
        identity,
        known_identities,
        credentials,
        other_credentials,
        role_assignments,
        external_issuer,
        probe: inv.probe.clone(),
        snapshot_dir: inv.snapshot_dir.clone(),
        logs: inv
            .logs
            .iter()
            .map(|l| match &l.text {
                Ok(text) => LogScan {
                    pod: l.pod.clone(),
                    lines: text.lines().count(),
                    error: None,
                    matches: crate::explain::scan_lines(text)
                        .into_iter()
                        .map(|h| LogMatch {
                            signature: h.matched.signature,
                            code: h.matched.code,
                            link: h.matched.link,
                            title: h.matched.title,
                            count: h.count,
                            last_line: h.last_line,
                        })
                        .collect(),
                },
                Err(e) => LogScan {
                    pod: l.pod.clone(),
                    lines: 0,
                    error: Some(e.clone()),
                    matches: vec![],
                },
            })
            .collect(),
        role_definitions,
        deny_assignments,
        scopes,
    })
}

fn nodes(inv: &Inventory, pods: &[PodView]) -> Vec<Node> {
    inv.nodes
        .iter()
        .filter(|n| {
            pods.iter()
                .any(|p| p.node_name.as_deref() == n.metadata.name.as_deref())
        })
        .map(|n| Node {
            name: n.metadata.name.clone().unwrap_or_default(),
            labels: labels(&n.metadata),
        })
        .collect()
}

/// The manifest's record of the target being unreadable (forbidden, timed out).
fn target_unreadable<'a>(inv: &'a Inventory, t: &TargetRef) -> Option<&'a crate::collect::Unreadable> {
    let m = inv.manifest.as_ref()?;
    m.unreadable(t.kind.kind_name(), Some(&t.namespace))
}

fn unknown_k8s<T>(inv: &Inventory, kind: &str, ns: Option<&str>, command: String) -> Fact<T> {
    match inv.manifest.as_ref().and_then(|m| m.unreadable(kind, ns)) {
        Some(u) => Fact::unknown(u.reason.clone(), u.command.clone().or(Some(command))),
        None => Fact::unknown(format!("the snapshot holds no {kind} for this"), Some(command)),
    }
}

fn labels(m: &ObjectMeta) -> BTreeMap<String, String> {
    m.labels.clone().unwrap_or_default()
}

fn ts(m: &ObjectMeta) -> Option<Timestamp> {
    m.creation_timestamp.as_ref().map(|t| t.0)
}

fn sa_view(s: &k8s_openapi::api::core::v1::ServiceAccount) -> ServiceAccount {
    ServiceAccount {
        name: s.metadata.name.clone().unwrap_or_default(),
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        annotations: s.metadata.annotations.clone().unwrap_or_default(),
        labels: labels(&s.metadata),
        created: ts(&s.metadata),
        client_id_written: written(
            &s.metadata,
            &["f:metadata", "f:annotations", &format!("f:{CLIENT_ID_ANNOTATION}")],
        ),
    }
}

/// The latest `managedFields` time of an entry that owns the field at `path` (fieldsV1
/// notation, e.g. `f:metadata` / `f:annotations` / `f:<key>`). `None` without managedFields
/// (kubectl get omits them unless --show-managed-fields; the live collector keeps them).
pub(crate) fn written(m: &ObjectMeta, path: &[&str]) -> Option<Timestamp> {
    m.managed_fields
        .iter()
        .flatten()
        .filter(|e| {
            let mut cur = e.fields_v1.as_ref().map(|f| &f.0);
            for p in path {
                cur = cur.and_then(|c| c.get(*p));
            }
            cur.is_some()
        })
        .filter_map(|e| e.time.as_ref().map(|t| t.0))
        .max()
}

/// Where a workload's pod-template labels live in fieldsV1 notation.
fn template_label_path(kind: WorkloadKind) -> Vec<String> {
    let mut p: Vec<String> = vec!["f:spec".into()];
    if kind == WorkloadKind::CronJob {
        p.extend(["f:jobTemplate".into(), "f:spec".into()]);
    }
    p.extend([
        "f:template".into(),
        "f:metadata".into(),
        "f:labels".into(),
        format!("f:{USE_LABEL}"),
    ]);
    p
}

fn service_account(inv: &Inventory, ns: &str, name: &str) -> Fact<ServiceAccount> {
    let in_ns: Vec<_> = inv
        .service_accounts
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
        .collect();
    if let Some(s) = in_ns.iter().find(|s| s.metadata.name.as_deref() == Some(name)) {
        return Fact::found(sa_view(s));
    }
    let command = format!("kubectl get serviceaccount {name} -n {ns} -o yaml");
    if let Some(m) = &inv.manifest {
        if m.says_not_found("ServiceAccount", Some(ns), name) {
            return Fact::absent(format!("wi collect looked for serviceaccount {name} in {ns}"));
        }
        if let Some(u) = m.unreadable("ServiceAccount", Some(ns)) {
            return Fact::unknown(u.reason.clone(), u.command.clone().or(Some(command)));
        }
    }
    if !in_ns.is_empty() {
        let names: Vec<_> = in_ns.iter().filter_map(|s| s.metadata.name.clone()).collect();
        return Fact::absent(format!("the snapshot's ServiceAccounts in {ns}: {}", names.join(", ")));
    }
    Fact::unknown(
        format!("the snapshot holds no ServiceAccounts of namespace {ns}"),
        Some(command),
    )
}

// ---------------------------------------------------------------------------------------------
// Workloads and pods

type Found = (Option<Workload>, Option<PodView>, Vec<PodView>);

fn meta_ns(m: &ObjectMeta) -> &str {
    m.namespace.as_deref().unwrap_or("default")
}

fn owned_by(m: &ObjectMeta, kind: &str, name: &str, uid: Option<&str>) -> bool {
    m.owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == kind && (uid.is_some_and(|u| u == o.uid) || o.name == name))
}

fn workload_and_pods(inv: &Inventory, t: &TargetRef) -> Result<Found, NotFound> {
    let ns = t.namespace.as_str();
    let name = t.name.as_str();
    let pods_in_ns = || inv.pods.iter().filter(move |p| meta_ns(&p.metadata) == ns);
    let not_found = |kind: &str, all: Vec<(&ObjectMeta, &str)>| {
        let elsewhere: Vec<String> = all
            .iter()
            .filter(|(m, _)| m.name.as_deref() == Some(name) && meta_ns(m) != ns)
            .map(|(m, _)| meta_ns(m).to_string())
            .collect();
        let held = all.iter().filter(|(m, _)| meta_ns(m) == ns).count();
        let mut msg = format!("{kind} {name:?} not found in namespace {ns:?} of the snapshot ({held} {kind}(s) there)");
        if !elsewhere.is_empty() {
            msg.push_str(&format!(
                "; it exists in namespace {}: pass -n {}",
                elsewhere.join(", "),
                elsewhere[0]
            ));
        }
        NotFound(msg)
    };
    macro_rules! find {
        ($list:expr, $kind:literal) => {{
            match $list
                .iter()
                .find(|o| o.metadata.name.as_deref() == Some(name) && meta_ns(&o.metadata) == ns)
            {
                Some(o) => o,
                None => return Err(not_found($kind, $list.iter().map(|o| (&o.metadata, $kind)).collect())),
            }
        }};
    }
    let workload = |kind: WorkloadKind, m: &ObjectMeta| workload_of(kind, m, ns);
    let template_view =
        |kind: WorkloadKind, m: &ObjectMeta, tpl: Option<&PodTemplateSpec>| template_of(kind, m, ns, tpl);
    let pods_owned = |kind: &str, owners: &[&ObjectMeta]| -> Vec<PodView> {
        pods_in_ns()
            .filter(|p| {
                owners.iter().any(|o| {
                    owned_by(
                        &p.metadata,
                        kind,
                        o.name.as_deref().unwrap_or_default(),
                        o.uid.as_deref(),
                    )
                })
            })
            .map(running_view)
            .collect()
    };
    match t.kind {
        WorkloadKind::Pod => {
            let p = find!(inv.pods, "pod");
            // Walk up the owners for the template the pod came from.
            let (wl, tpl) = pod_owner(inv, p);
            Ok((wl, tpl, vec![running_view(p)]))
        }
        WorkloadKind::ServiceAccount => Ok((None, None, vec![])),
        WorkloadKind::Deployment => {
            let d = find!(inv.deployments, "deployment");
            let rss: Vec<&ObjectMeta> = inv
                .replica_sets
                .iter()
                .map(|r| &r.metadata)
                .filter(|m| meta_ns(m) == ns && owned_by(m, "Deployment", name, d.metadata.uid.as_deref()))
                .collect();
            let mut pods = pods_owned("ReplicaSet", &rss);
            if rss.is_empty() {
                // No ReplicaSets in the snapshot: fall back to the Deployment's selector.
                if let Some(sel) = d.spec.as_ref().map(|s| &s.selector) {
                    pods = pods_in_ns()
                        .filter(|p| selects(sel, &labels(&p.metadata)))
                        .map(running_view)
                        .collect();
                }
            }
            Ok((
                Some(workload(WorkloadKind::Deployment, &d.metadata)),
                template_view(
                    WorkloadKind::Deployment,
                    &d.metadata,
                    d.spec.as_ref().map(|s| &s.template),
                ),
                pods,
            ))
        }
        WorkloadKind::ReplicaSet => {
            let r = find!(inv.replica_sets, "replicaset");
            Ok((
                Some(workload(WorkloadKind::ReplicaSet, &r.metadata)),
                template_view(
                    WorkloadKind::ReplicaSet,
                    &r.metadata,
                    r.spec.as_ref().and_then(|s| s.template.as_ref()),
                ),
                pods_owned("ReplicaSet", &[&r.metadata]),
            ))
        }
        WorkloadKind::StatefulSet => {
            let s = find!(inv.stateful_sets, "statefulset");
            Ok((
                Some(workload(WorkloadKind::StatefulSet, &s.metadata)),
                template_view(
                    WorkloadKind::StatefulSet,
                    &s.metadata,
                    s.spec.as_ref().map(|s| &s.template),
                ),
                pods_owned("StatefulSet", &[&s.metadata]),
            ))
        }
        WorkloadKind::DaemonSet => {
            let s = find!(inv.daemon_sets, "daemonset");
            Ok((
                Some(workload(WorkloadKind::DaemonSet, &s.metadata)),
                template_view(
                    WorkloadKind::DaemonSet,
                    &s.metadata,
                    s.spec.as_ref().map(|s| &s.template),
                ),
                pods_owned("DaemonSet", &[&s.metadata]),
            ))
        }
        WorkloadKind::Job => {
            let j = find!(inv.jobs, "job");
            Ok((
                Some(workload(WorkloadKind::Job, &j.metadata)),
                template_view(WorkloadKind::Job, &j.metadata, j.spec.as_ref().map(|s| &s.template)),
                pods_owned("Job", &[&j.metadata]),
            ))
        }
        WorkloadKind::CronJob => {
            let c = find!(inv.cron_jobs, "cronjob");
            let jobs: Vec<&ObjectMeta> = inv
                .jobs
                .iter()
                .map(|j| &j.metadata)
                .filter(|m| meta_ns(m) == ns && owned_by(m, "CronJob", name, c.metadata.uid.as_deref()))
                .collect();
            let tpl = c
                .spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .map(|s| &s.template);
            Ok((
                Some(workload(WorkloadKind::CronJob, &c.metadata)),
                template_view(WorkloadKind::CronJob, &c.metadata, tpl),
                pods_owned("Job", &jobs),
            ))
        }
    }
}

fn workload_of(kind: WorkloadKind, m: &ObjectMeta, ns: &str) -> Workload {
    let label_path = template_label_path(kind);
    Workload {
        kind,
        name: m.name.clone().unwrap_or_default(),
        namespace: ns.to_string(),
        labels: labels(m),
        created: ts(m),
        use_label_written: written(m, &label_path.iter().map(String::as_str).collect::<Vec<_>>()),
    }
}

/// The pod template of a workload, as the next pod will get it.
fn template_of(kind: WorkloadKind, m: &ObjectMeta, ns: &str, tpl: Option<&PodTemplateSpec>) -> Option<PodView> {
    let name = m.name.as_deref().unwrap_or_default();
    tpl.map(|tpl| {
        pod_view(
            &format!("{}/{name} (pod template)", kind.short()),
            true,
            name,
            ns,
            tpl.metadata.as_ref(),
            tpl.spec.as_ref(),
            ts(m),
            None,
        )
    })
}

/// The top-level owner of a pod present in the inventory, and the template it came from.
fn pod_owner(inv: &Inventory, p: &Pod) -> (Option<Workload>, Option<PodView>) {
    let ns = meta_ns(&p.metadata);
    let Some(owner) = p
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
    else {
        return (None, None);
    };
    let wl = |kind: WorkloadKind, m: &ObjectMeta| workload_of(kind, m, ns);
    let tv = |kind: WorkloadKind, m: &ObjectMeta, tpl: Option<&PodTemplateSpec>| template_of(kind, m, ns, tpl);
    let same = |m: &ObjectMeta| {
        meta_ns(m) == ns
            && (m.uid.as_deref() == Some(owner.uid.as_str()) || m.name.as_deref() == Some(owner.name.as_str()))
    };
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let Some(rs) = inv.replica_sets.iter().find(|r| same(&r.metadata)) else {
                return (None, None);
            };
            let rs_owner = rs
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true) && o.kind == "Deployment");
            if let Some(o) = rs_owner
                && let Some(d) = inv.deployments.iter().find(|d| {
                    meta_ns(&d.metadata) == ns
                        && (d.metadata.uid.as_deref() == Some(o.uid.as_str())
                            || d.metadata.name.as_deref() == Some(o.name.as_str()))
                })
            {
                return (
                    Some(wl(WorkloadKind::Deployment, &d.metadata)),
                    tv(
                        WorkloadKind::Deployment,
                        &d.metadata,
                        d.spec.as_ref().map(|s| &s.template),
                    ),
                );
            }
            (
                Some(wl(WorkloadKind::ReplicaSet, &rs.metadata)),
                tv(
                    WorkloadKind::ReplicaSet,
                    &rs.metadata,
                    rs.spec.as_ref().and_then(|s| s.template.as_ref()),
                ),
            )
        }
        "StatefulSet" => inv
            .stateful_sets
            .iter()
            .find(|s| same(&s.metadata))
            .map_or((None, None), |s| {
                (
                    Some(wl(WorkloadKind::StatefulSet, &s.metadata)),
                    tv(
                        WorkloadKind::StatefulSet,
                        &s.metadata,
                        s.spec.as_ref().map(|s| &s.template),
                    ),
                )
            }),
        "DaemonSet" => inv
            .daemon_sets
            .iter()
            .find(|s| same(&s.metadata))
            .map_or((None, None), |s| {
                (
                    Some(wl(WorkloadKind::DaemonSet, &s.metadata)),
                    tv(
                        WorkloadKind::DaemonSet,
                        &s.metadata,
                        s.spec.as_ref().map(|s| &s.template),
                    ),
                )
            }),
        "Job" => {
            let Some(j) = inv.jobs.iter().find(|j| same(&j.metadata)) else {
                return (None, None);
            };
            if let Some(o) = j
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.kind == "CronJob")
                && let Some(c) = inv
                    .cron_jobs
                    .iter()
                    .find(|c| meta_ns(&c.metadata) == ns && c.metadata.name.as_deref() == Some(o.name.as_str()))
            {
                let tpl = c
                    .spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template);
                return (
                    Some(wl(WorkloadKind::CronJob, &c.metadata)),
                    tv(WorkloadKind::CronJob, &c.metadata, tpl),
                );
            }
            (
                Some(wl(WorkloadKind::Job, &j.metadata)),
                tv(WorkloadKind::Job, &j.metadata, j.spec.as_ref().map(|s| &s.template)),
            )
        }
        _ => (None, None),
    }
}

fn selects(sel: &K8sSelector, l: &BTreeMap<String, String>) -> bool {
    to_selector(sel).matches(l).unwrap_or(false)
}

pub(crate) fn to_selector(sel: &K8sSelector) -> LabelSelector {
    LabelSelector {
        match_labels: sel.match_labels.clone().unwrap_or_default(),
        match_expressions: sel
            .match_expressions
            .iter()
            .flatten()
            .map(|r| SelectorRequirement {
                key: r.key.clone(),
                operator: r.operator.clone(),
                values: r.values.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

fn running_view(p: &Pod) -> PodView {
    let name = p.metadata.name.clone().unwrap_or_default();
    let owner = p
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| format!("{}/{}", o.kind, o.name));
    pod_view(
        &format!("pod/{name}"),
        false,
        &name,
        meta_ns(&p.metadata),
        Some(&p.metadata),
        p.spec.as_ref(),
        ts(&p.metadata),
        owner,
    )
}

#[allow(clippy::too_many_arguments)]
fn pod_view(
    source: &str,
    is_template: bool,
    name: &str,
    ns: &str,
    meta: Option<&ObjectMeta>,
    spec: Option<&PodSpec>,
    created: Option<Timestamp>,
    owner: Option<String>,
) -> PodView {
    let containers = spec
        .map(|s| {
            s.init_containers
                .iter()
                .flatten()
                .map(|c| container_view(c, true))
                .chain(s.containers.iter().map(|c| container_view(c, false)))
                .collect()
        })
        .unwrap_or_default();
    let token_projections = spec
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|v| {
            v.projected
                .as_ref()
                .and_then(|p| p.sources.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|src| src.service_account_token.as_ref())
                .map(|t| TokenProjection {
                    volume: v.name.clone(),
                    path: t.path.clone(),
                    audience: t.audience.clone(),
                    expiration_seconds: t.expiration_seconds,
                })
        })
        .collect();
    PodView {
        source: source.to_string(),
        is_template,
        name: name.to_string(),
        namespace: ns.to_string(),
        labels: meta.and_then(|m| m.labels.clone()).unwrap_or_default(),
        annotations: meta.and_then(|m| m.annotations.clone()).unwrap_or_default(),
        service_account_name: spec.and_then(|s| s.service_account_name.clone().or_else(|| s.service_account.clone())),
        host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
        node_name: spec.and_then(|s| s.node_name.clone()),
        node_selector: spec.and_then(|s| s.node_selector.clone()).unwrap_or_default(),
        tolerations: spec
            .and_then(|s| s.tolerations.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|t| t.key.clone())
            .collect(),
        created,
        containers,
        token_projections,
        owner,
        uid: meta.and_then(|m| m.uid.clone()),
    }
}

fn container_view(c: &Container, init: bool) -> ContainerView {
    ContainerView {
        name: c.name.clone(),
        init,
        env: c
            .env
            .iter()
            .flatten()
            .map(|e| EnvVar {
                name: e.name.clone(),
                value: if e.value_from.is_some() {
                    None
                } else {
                    Some(e.value.clone().unwrap_or_default())
                },
                from: e.value_from.as_ref().map(|f| {
                    if let Some(s) = &f.secret_key_ref {
                        format!("secretKeyRef {}/{}", s.name, s.key)
                    } else if let Some(c) = &f.config_map_key_ref {
                        format!("configMapKeyRef {}/{}", c.name, c.key)
                    } else if let Some(f) = &f.field_ref {
                        format!("fieldRef {}", f.field_path)
                    } else {
                        "valueFrom".into()
                    }
                }),
            })
            .collect(),
        mounts: c
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| Mount {
                volume: m.name.clone(),
                path: m.mount_path.clone(),
                sub_path: m.sub_path.clone(),
            })
            .collect(),
        ports: c.ports.iter().flatten().map(|p| p.container_port).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook, events

fn webhooks(inv: &Inventory) -> Fact<Vec<Webhook>> {
    let mut found = Vec::new();
    for mwc in &inv.webhook_configurations {
        for w in mwc.webhooks.iter().flatten() {
            let svc = w.client_config.service.as_ref();
            let is_wi = w.name == WEBHOOK_NAME || svc.is_some_and(|s| s.name == WEBHOOK_SERVICE);
            if !is_wi {
                continue;
            }
            found.push(Webhook {
                configuration: mwc.metadata.name.clone().unwrap_or_default(),
                name: w.name.clone(),
                service_namespace: svc.map(|s| s.namespace.clone()),
                service_name: svc.map(|s| s.name.clone()),
                failure_policy: w.failure_policy.clone(),
                object_selector: w.object_selector.as_ref().map(to_selector),
                namespace_selector: w.namespace_selector.as_ref().map(to_selector),
                operations: w
                    .rules
                    .iter()
                    .flatten()
                    .flat_map(|r| r.operations.clone().unwrap_or_default())
                    .collect(),
            });
        }
    }
    if !found.is_empty() {
        return Fact::found(found);
    }
    let command = "kubectl get mutatingwebhookconfigurations -o yaml".to_string();
    if let Some(m) = &inv.manifest {
        if let Some(u) = m.unreadable("MutatingWebhookConfiguration", None) {
            return Fact::unknown(u.reason.clone(), u.command.clone().or(Some(command)));
        }
        if m.says_not_found(
            "MutatingWebhookConfiguration",
            None,
            "azure-wi-webhook-mutating-webhook-configuration",
        ) {
            return Fact::absent("wi collect listed the cluster's MutatingWebhookConfigurations");
        }
    }
    if !inv.webhook_configurations.is_empty() {
        let names: Vec<_> = inv
            .webhook_configurations
            .iter()
            .filter_map(|m| m.metadata.name.clone())
            .collect();
        return Fact::absent(format!(
            "the snapshot's MutatingWebhookConfigurations: {}",
            names.join(", ")
        ));
    }
    Fact::unknown("the snapshot holds no MutatingWebhookConfiguration", Some(command))
}

fn webhook_deployments(inv: &Inventory, webhooks: &Fact<Vec<Webhook>>) -> Fact<Vec<WebhookDeployment>> {
    let found: Vec<WebhookDeployment> = inv
        .deployments
        .iter()
        .filter(|d| d.metadata.name.as_deref() == Some(WEBHOOK_DEPLOYMENT))
        .map(|d| WebhookDeployment {
            namespace: meta_ns(&d.metadata).to_string(),
            name: WEBHOOK_DEPLOYMENT.into(),
            replicas: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            ready_replicas: d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
        })
        .collect();
    if !found.is_empty() {
        return Fact::found(found);
    }
    let ns = webhooks
        .get()
        .and_then(|w| w.iter().find_map(|w| w.service_namespace.clone()))
        .unwrap_or_else(|| "kube-system".into());
    unknown_k8s(
        inv,
        "Deployment",
        Some(&ns),
        format!("kubectl get deployment {WEBHOOK_DEPLOYMENT} -n {ns} -o yaml"),
    )
}

fn events(inv: &Inventory, ns: &str, wl: &Option<Workload>, pods: &[PodView]) -> Fact<Vec<Event>> {
    let in_ns: Vec<_> = inv.events.iter().filter(|e| meta_ns(&e.metadata) == ns).collect();
    if in_ns.is_empty() {
        return unknown_k8s(inv, "Event", Some(ns), format!("kubectl get events -n {ns} -o yaml"));
    }
    let mut names: BTreeSet<String> = pods.iter().map(|p| p.name.clone()).collect();
    if let Some(w) = wl {
        names.insert(w.name.clone());
    }
    // ReplicaSets / Jobs of the workload carry the FailedCreate events.
    for p in pods {
        if let Some(o) = &p.owner
            && let Some((_, n)) = o.split_once('/')
        {
            names.insert(n.to_string());
        }
    }
    let relevant = in_ns
        .iter()
        .filter(|e| {
            let n = e.involved_object.name.clone().unwrap_or_default();
            names.contains(&n) || wl.as_ref().is_some_and(|w| n.starts_with(&format!("{}-", w.name)))
        })
        .map(|e| Event {
            namespace: ns.to_string(),
            involved: format!(
                "{}/{}",
                e.involved_object.kind.clone().unwrap_or_default().to_ascii_lowercase(),
                e.involved_object.name.clone().unwrap_or_default()
            ),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
            last_seen: e
                .last_timestamp
                .as_ref()
                .map(|t| t.0)
                .or(e.event_time.as_ref().map(|t| t.0)),
            kind: e.type_.clone().unwrap_or_default(),
        })
        .collect();
    Fact::found(relevant)
}

// ---------------------------------------------------------------------------------------------
// Cluster, token, issuer documents

fn cluster(inv: &Inventory, iss: Option<&str>) -> Fact<Cluster> {
    match inv.clusters.as_slice() {
        [] => {
            let cmd = "az aks show -g <rg> -n <cluster> -o json > aks.json   # Arc: az connectedk8s show -g <rg> -n <cluster> -o json".to_string();
            match inv.manifest.as_ref().and_then(|m| m.unreadable("Cluster", None)) {
                Some(u) => Fact::unknown(u.reason.clone(), u.command.clone().or(Some(cmd))),
                None => Fact::unknown("the snapshot holds no AKS or Arc cluster object", Some(cmd)),
            }
        }
        [one] => Fact::found(one.clone()),
        many => {
            let by_iss = iss.and_then(|iss| many.iter().find(|c| c.effective_issuer() == Some(iss)));
            match by_iss {
                Some(c) => Fact::found(c.clone()),
                None => Fact::unknown(
                    format!(
                        "the snapshot holds {} clusters ({}) and none issues this token; which one runs the workload?",
                        many.len(),
                        many.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    None,
                ),
            }
        }
    }
}

/// Prefer a token bound to one of the target's pods, then one for the expected subject, then
/// any token of the namespace.
fn select_token<'a>(inv: &'a Inventory, ns: &str, subject: &str, pods: &[PodView]) -> Option<&'a TokenFile> {
    let claim = |t: &TokenFile, k: &str| t.claims.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let k8s = |t: &TokenFile, path: &[&str]| {
        let mut cur = t.claims.get("kubernetes.io")?;
        for p in path {
            cur = cur.get(p)?;
        }
        cur.as_str().map(str::to_string)
    };
    let rank = |t: &TokenFile| -> Option<u8> {
        let pod = k8s(t, &["pod", "name"]);
        if pod.as_ref().is_some_and(|p| pods.iter().any(|v| &v.name == p)) {
            return Some(0);
        }
        if claim(t, "sub").as_deref() == Some(subject) {
            return Some(1);
        }
        let tns = k8s(t, &["namespace"]).or_else(|| {
            claim(t, "sub").and_then(|s| {
                s.strip_prefix("system:serviceaccount:")
                    .and_then(|r| r.split(':').next())
                    .map(str::to_string)
            })
        });
        (tns.as_deref() == Some(ns)).then_some(2)
    };
    inv.tokens
        .iter()
        .filter_map(|t| rank(t).map(|r| (r, t)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, t)| t)
}

fn select_jwks<'a>(inv: &'a Inventory, token: Option<&TokenFile>) -> Option<&'a JwksFile> {
    let kid = token.and_then(|t| t.header.get("kid")).and_then(|v| v.as_str());
    if let Some(kid) = kid
        && let Some(j) = inv.jwks.iter().find(|j| j.has_kid(kid))
    {
        return Some(j);
    }
    inv.jwks.first()
}

fn select_discovery(inv: &Inventory, iss: Option<&str>) -> Fact<Discovery> {
    if inv.discovery.is_empty()
        && let Some(u) = inv.manifest.as_ref().and_then(|m| m.unreadable("OIDCDiscovery", None))
    {
        return Fact::unknown(
            format!("the API server's discovery document: {}", u.reason),
            u.command.clone(),
        );
    }
    if let Some(iss) = iss
        && let Some(d) = inv.discovery.iter().find(|d| d.issuer.as_deref() == Some(iss))
    {
        return Fact::found(d.clone());
    }
    match inv.discovery.first() {
        Some(d) => Fact::found(d.clone()),
        None => Fact::unknown(
            "the snapshot holds no OIDC discovery document",
            Some(match iss {
                Some(iss) => format!(
                    "curl -fsS {}.well-known/openid-configuration > openid-configuration.json",
                    with_slash(iss)
                ),
                None => "curl -fsS <issuer>/.well-known/openid-configuration > openid-configuration.json".into(),
            }),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Identity, credentials, roles

fn known_identities(inv: &Inventory) -> Vec<Identity> {
    let mut out: Vec<Identity> = inv.managed_identities.clone();
    for app in &inv.applications {
        let sp = inv
            .service_principals
            .iter()
            .find(|s| s.app_id.eq_ignore_ascii_case(&app.app_id));
        out.push(Identity {
            kind: IdentityKind::AppRegistration,
            name: app.display_name.clone(),
            id: app.object_id.clone(),
            client_id: app.app_id.clone(),
            principal_id: sp.map(|s| s.object_id.clone()),
            tenant_id: sp.and_then(|s| s.tenant_id.clone()),
            resource_group: None,
            subscription: None,
            has_service_principal: match sp {
                Some(_) => Some(true),
                None if !inv.service_principals.is_empty() => Some(false),
                // The collector asked Graph for it and got nothing.
                None if inv
                    .manifest
                    .as_ref()
                    .is_some_and(|m| m.says_not_found("ServicePrincipal", None, &app.app_id)) =>
                {
                    Some(false)
                }
                None => None,
            },
            source: app.source.clone(),
        });
    }
    // Service principals of managed identities whose ARM object is not in the snapshot.
    for sp in &inv.service_principals {
        if out.iter().any(|i| i.client_id.eq_ignore_ascii_case(&sp.app_id)) {
            continue;
        }
        if sp.sp_type.as_deref() == Some("ManagedIdentity") {
            let arm_id = sp
                .alternative_names
                .iter()
                .find(|n| n.starts_with("/subscriptions/"))
                .cloned();
            out.push(Identity {
                kind: IdentityKind::ManagedIdentity,
                name: sp.display_name.clone(),
                id: arm_id.clone().unwrap_or_else(|| sp.object_id.clone()),
                client_id: sp.app_id.clone(),
                principal_id: Some(sp.object_id.clone()),
                tenant_id: sp.tenant_id.clone(),
                resource_group: arm_id.as_deref().and_then(|i| azure::arm_segment(i, "resourceGroups")),
                subscription: arm_id.as_deref().and_then(|i| azure::arm_segment(i, "subscriptions")),
                has_service_principal: Some(true),
                source: sp.source.clone(),
            });
        }
    }
    out
}

fn identity(inv: &Inventory, known: &[Identity], client_id: Option<&str>) -> Fact<Identity> {
    let Some(cid) = client_id else {
        return Fact::unknown(
            "no client id: the ServiceAccount has no client-id annotation and the pods no AZURE_CLIENT_ID",
            None,
        );
    };
    if let Some(i) = known.iter().find(|i| i.client_id.eq_ignore_ascii_case(cid)) {
        return Fact::found(i.clone());
    }
    let command = format!(
        "az identity list --query \"[?clientId=='{cid}']\" -o json > identity.json   # app registration: az ad app show --id {cid} -o json"
    );
    if let Some(m) = &inv.manifest {
        if let Some(u) = m.unreadable("Identity", None) {
            return Fact::unknown(u.reason.clone(), u.command.clone().or(Some(command)));
        }
        if m.says_not_found("Identity", None, cid) {
            return Fact::absent(format!("wi collect searched the tenant for client id {cid}"));
        }
    }
    if !known.is_empty() {
        return Fact::absent(format!(
            "the snapshot's identities: {}",
            known
                .iter()
                .map(|i| format!("{} (client id {})", i.name, i.client_id))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Fact::unknown(
        "the snapshot holds no managed identity or app registration",
        Some(command),
    )
}

fn credentials(
    inv: &Inventory,
    identity: Option<&Identity>,
) -> (Fact<Vec<FederatedCredential>>, Vec<FederatedCredential>) {
    let Some(id) = identity else {
        return (
            Fact::unknown("the identity is not known", None),
            inv.credentials.clone(),
        );
    };
    let single_app = inv.applications.len() == 1;
    let belongs = |c: &FederatedCredential| match &c.parent {
        Some(p) => p.eq_ignore_ascii_case(&id.id),
        None => id.kind == IdentityKind::AppRegistration && single_app,
    };
    let (mine, others): (Vec<_>, Vec<_>) = inv.credentials.iter().cloned().partition(|c| belongs(c));
    let command = match id.kind {
        IdentityKind::ManagedIdentity => format!(
            "az identity federated-credential list --identity-name {} -g {} -o json > fic.json",
            id.name,
            id.resource_group.as_deref().unwrap_or("<rg>")
        ),
        IdentityKind::AppRegistration => {
            format!("az ad app federated-credential list --id {} -o json > fic.json", id.id)
        }
    };
    let fact = if !mine.is_empty() {
        Fact::found(mine)
    } else if let Some(u) = inv
        .manifest
        .as_ref()
        .and_then(|m| m.unreadable("FederatedIdentityCredential", None))
    {
        Fact::unknown(u.reason.clone(), u.command.clone().or(Some(command)))
    } else if inv
        .manifest
        .as_ref()
        .is_some_and(|m| m.says_not_found("FederatedIdentityCredential", None, &id.name))
    {
        Fact::found(vec![])
    } else if !others.is_empty() {
        Fact::absent(format!(
            "none of the snapshot's {} federated credential(s) belongs to {}",
            others.len(),
            id.display()
        ))
    } else {
        Fact::unknown(
            format!("the snapshot holds no federated credentials of {}", id.display()),
            Some(command),
        )
    };
    (fact, others)
}

/// The data action a resource type needs by default.
pub fn default_action(resource_type: &str) -> Option<(&'static str, bool)> {
    let t = resource_type.to_ascii_lowercase();
    Some(match t.as_str() {
        "microsoft.keyvault/vaults" => ("Microsoft.KeyVault/vaults/secrets/getSecret/action", true),
        "microsoft.storage/storageaccounts" => (
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            true,
        ),
        "microsoft.servicebus/namespaces" => ("Microsoft.ServiceBus/namespaces/messages/receive/action", true),
        "microsoft.eventhub/namespaces" => ("Microsoft.EventHub/namespaces/messages/receive/action", true),
        "microsoft.appconfiguration/configurationstores" => {
            ("Microsoft.AppConfiguration/configurationStores/keyValues/read", true)
        }
        "microsoft.containerregistry/registries" => ("Microsoft.ContainerRegistry/registries/pull/read", false),
        "microsoft.cognitiveservices/accounts" => (
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
            true,
        ),
        _ => return None,
    })
}

/// `Microsoft.KeyVault/vaults` from `/subscriptions/…/providers/Microsoft.KeyVault/vaults/kv`
/// (the top-level resource type, also for child scopes such as blob containers).
pub fn resource_type(scope: &str) -> Option<String> {
    let parts: Vec<&str> = scope.trim_end_matches('/').split('/').collect();
    let i = parts.iter().rposition(|p| p.eq_ignore_ascii_case("providers"))?;
    let ns = parts.get(i + 1)?;
    let ty = parts.get(i + 2)?;
    parts.get(i + 3)?;
    Some(format!("{ns}/{ty}"))
}

fn scopes(inv: &Inventory, req: &Request, template: Option<&PodView>, pods: &[PodView]) -> Vec<TargetScope> {
    let mut out = Vec::new();
    let action_for = |rt: Option<&str>| -> (Option<String>, bool) {
        if let Some(a) = &req.data_action {
            return (Some(a.clone()), true);
        }
        match rt.and_then(default_action) {
            Some((a, d)) => (Some(a.to_string()), d),
            None => (None, true),
        }
    };
    for s in &req.scopes {
        let rt = resource_type(s);
        let (action, is_data) = action_for(rt.as_deref());
        let kv = inv
            .key_vaults
            .iter()
            .find(|k| k.id.eq_ignore_ascii_case(s.trim_end_matches('/')))
            .cloned();
        out.push(TargetScope {
            scope: Some(s.trim_end_matches('/').to_string()),
            name: azure::arm_name(s),
            resource_type: rt,
            action,
            action_is_data: is_data,
            origin: "--scope".into(),
            network: None,
            key_vault: kv,
        });
    }
    if !req.scopes.is_empty() {
        return with_network(inv, out);
    }
    // Infer from the pod environment: Key Vault URIs and storage endpoints.
    let mut seen = BTreeSet::new();
    for p in template.into_iter().chain(pods.iter()) {
        for c in p.app_containers() {
            for e in &c.env {
                let Some(v) = &e.value else { continue };
                let Some((name, rt)) = endpoint(v) else { continue };
                if !seen.insert((name.clone(), rt)) {
                    continue;
                }
                let (action, is_data) = action_for(Some(rt));
                let (scope, kv) = if rt == "Microsoft.KeyVault/vaults" {
                    let kv = inv
                        .key_vaults
                        .iter()
                        .find(|k| k.name.eq_ignore_ascii_case(&name))
                        .cloned();
                    (kv.as_ref().map(|k| k.id.clone()), kv)
                } else {
                    let sa = inv.storage_accounts.iter().find(|s| s.name.eq_ignore_ascii_case(&name));
                    (sa.map(|s| s.id.clone()), None)
                };
                out.push(TargetScope {
                    scope,
                    name,
                    resource_type: Some(rt.to_string()),
                    action,
                    action_is_data: is_data,
                    origin: format!("env {} of container {} in {}", e.name, c.name, p.source),
                    network: None,
                    key_vault: kv,
                });
            }
        }
    }
    with_network(inv, out)
}

/// The targets' own network rules, from the Key Vault or storage account object.
fn with_network(inv: &Inventory, mut out: Vec<TargetScope>) -> Vec<TargetScope> {
    for t in &mut out {
        t.network = match (&t.key_vault, &t.scope) {
            (Some(kv), _) => Some((kv.public_network_access.clone(), kv.network_default_action.clone())),
            (None, Some(scope)) => inv
                .storage_accounts
                .iter()
                .find(|s| scope.to_ascii_lowercase().starts_with(&s.id.to_ascii_lowercase()))
                .map(|s| (s.public_network_access.clone(), s.network_default_action.clone())),
            _ => None,
        };
    }
    out
}

/// A Key Vault or storage endpoint in an env value: (resource name, resource type).
fn endpoint(v: &str) -> Option<(String, &'static str)> {
    let rest = v.trim().strip_prefix("https://")?;
    let host = rest.split(['/', ':']).next()?.to_ascii_lowercase();
    let (name, domain) = host.split_once('.')?;
    let kv = ["vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net"];
    let blob = [
        "blob.core.windows.net",
        "blob.core.chinacloudapi.cn",
        "blob.core.usgovcloudapi.net",
    ];
    if kv.contains(&domain) {
        Some((name.to_string(), "Microsoft.KeyVault/vaults"))
    } else if blob.contains(&domain) {
        Some((name.to_string(), "Microsoft.Storage/storageAccounts"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_from_scopes() {
        assert_eq!(
            resource_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv").as_deref(),
            Some("Microsoft.KeyVault/vaults")
        );
        assert_eq!(resource_type("/subscriptions/s/resourceGroups/rg"), None);
        assert_eq!(
            resource_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/c").as_deref(),
            Some("Microsoft.Storage/storageAccounts")
        );
    }

    #[test]
    fn endpoints_in_env() {
        assert_eq!(
            endpoint("https://kv-a.vault.azure.net/"),
            Some(("kv-a".into(), "Microsoft.KeyVault/vaults"))
        );
        assert_eq!(
            endpoint("https://st.blob.core.windows.net/c"),
            Some(("st".into(), "Microsoft.Storage/storageAccounts"))
        );
        assert_eq!(endpoint("https://example.com"), None);
    }
}
