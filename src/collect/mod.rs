//! Learning: the only code that reads files (and, later, talks to clusters and Azure).
//!
//! Every source fills one [`Inventory`]: Kubernetes objects as `k8s-openapi` types, Azure
//! objects already normalised into [`crate::facts`] models, issuer documents, decoded tokens.
//! The inventory knows nothing about targets or verdicts; [`crate::facts::resolve`] turns it
//! into facts about one workload.

pub mod azure;
pub mod azure_live;
pub mod classify;
pub mod issuer;
pub mod kube;
pub mod probe;
pub mod prove;
pub mod redact;
pub mod snapshot;
pub mod token;
pub mod write;

use std::fmt;

use jiff::Timestamp;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, ServiceAccount};
use serde::{Deserialize, Serialize};

use crate::facts::{Cluster, Discovery, FederatedCredential, Identity, KeyVault, RoleAssignment, RoleDefinition};

/// Everything collected, before any target is chosen.
#[derive(Default)]
pub struct Inventory {
    pub pods: Vec<Pod>,
    pub service_accounts: Vec<ServiceAccount>,
    pub namespaces: Vec<Namespace>,
    pub deployments: Vec<Deployment>,
    pub replica_sets: Vec<ReplicaSet>,
    pub stateful_sets: Vec<StatefulSet>,
    pub daemon_sets: Vec<DaemonSet>,
    pub jobs: Vec<Job>,
    pub cron_jobs: Vec<CronJob>,
    pub webhook_configurations: Vec<MutatingWebhookConfiguration>,
    pub nodes: Vec<Node>,
    pub events: Vec<Event>,
    pub config_maps: Vec<ConfigMap>,

    pub clusters: Vec<Cluster>,
    /// Managed identities.
    pub managed_identities: Vec<Identity>,
    pub applications: Vec<azure::Application>,
    pub service_principals: Vec<azure::ServicePrincipal>,
    pub credentials: Vec<FederatedCredential>,
    pub role_assignments: Vec<RoleAssignment>,
    pub role_definitions: Vec<RoleDefinition>,
    pub deny_assignments: Vec<crate::facts::DenyAssignment>,
    pub key_vaults: Vec<KeyVault>,
    pub storage_accounts: Vec<azure::Resource>,

    pub tokens: Vec<token::TokenFile>,
    pub discovery: Vec<Discovery>,
    pub jwks: Vec<token::JwksFile>,
    pub manifest: Option<Manifest>,
    /// The issuer fetched from outside (live, or a snapshot with --probe).
    pub external_issuer: Option<issuer::ExternalFetch>,
    /// The --probe token exchange.
    pub probe: Option<crate::facts::Probe>,
    /// `wi doctor --logs`: the target pod's recent container logs (in memory only; never
    /// written to a snapshot), or why they could not be read.
    pub logs: Vec<PodLogs>,

    /// The directory a snapshot was read from (for fixes that repeat the command).
    pub snapshot_dir: Option<String>,

    /// What each file turned out to be, for `-v`.
    pub files: Vec<FileNote>,
}

/// kube's TLS uses ring and reqwest's aws-lc-rs: with both in the build, rustls needs the
/// process-wide provider named before the first handshake (otherwise it panics). Idempotent.
pub fn tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Inventory {
    /// Append another inventory's objects (pieces of one snapshot parsed apart).
    pub fn absorb(&mut self, o: Inventory) {
        macro_rules! take {
            ($($f:ident),*) => { $( self.$f.extend(o.$f); )* };
        }
        take!(
            pods,
            service_accounts,
            namespaces,
            deployments,
            replica_sets,
            stateful_sets,
            daemon_sets,
            jobs,
            cron_jobs,
            webhook_configurations,
            nodes,
            events,
            config_maps,
            clusters,
            managed_identities,
            applications,
            service_principals,
            credentials,
            role_assignments,
            role_definitions,
            deny_assignments,
            key_vaults,
            storage_accounts,
            tokens,
            discovery,
            jwks,
            logs,
            files
        );
        if self.manifest.is_none() {
            self.manifest = o.manifest;
        }
        if self.external_issuer.is_none() {
            self.external_issuer = o.external_issuer;
        }
        if self.probe.is_none() {
            self.probe = o.probe;
        }
    }
}

/// One pod's recent logs, as read for `wi doctor --logs`.
#[derive(Debug, Clone)]
pub struct PodLogs {
    pub pod: String,
    pub text: Result<String, String>,
}

/// A note about one input file: what it held, or why it was ignored.
#[derive(Debug, Clone)]
pub struct FileNote {
    pub path: String,
    pub recognised: Vec<String>,
    pub ignored: Vec<String>,
}

/// A snapshot's own record of how it was collected (written by `wi collect`; may be hand-made).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub wi_version: Option<String>,
    #[serde(default)]
    pub collected_at: Option<Timestamp>,
    /// Objects that were looked for and do not exist: makes them *absent*, not unknown.
    #[serde(default)]
    pub not_found: Vec<ObjectKey>,
    /// Objects or kinds that could not be read, with the reason: makes them *unknown*.
    #[serde(default)]
    pub unreadable: Vec<Unreadable>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectKey {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unreadable {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub reason: String,
    #[serde(default)]
    pub command: Option<String>,
}

impl Manifest {
    pub fn says_not_found(&self, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        self.not_found.iter().any(|k| {
            k.kind.eq_ignore_ascii_case(kind)
                && (k.namespace.is_none() || k.namespace.as_deref() == namespace)
                && k.name.as_deref().is_none_or(|n| n == name)
        })
    }
    pub fn unreadable(&self, kind: &str, namespace: Option<&str>) -> Option<&Unreadable> {
        self.unreadable.iter().find(|u| {
            u.kind.eq_ignore_ascii_case(kind)
                && (u.namespace.is_none() || namespace.is_none() || u.namespace.as_deref() == namespace)
        })
    }
}

/// A fatal input problem: names the file (and line, for YAML).
#[derive(Debug)]
pub struct InputError {
    pub path: String,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for InputError {}
