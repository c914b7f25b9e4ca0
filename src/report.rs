//! The report: what the rules concluded, as data. Renderers turn it into bytes; its JSON
//! form is the machine contract (`schema_version` 1, documented in the README).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

/// The four links of the chain, in order.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    ServiceAccount,
    Issuer,
    FederatedCredential,
    RoleAssignment,
}

impl Link {
    pub const ALL: [Link; 4] = [
        Link::ServiceAccount,
        Link::Issuer,
        Link::FederatedCredential,
        Link::RoleAssignment,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Link::ServiceAccount => "service-account",
            Link::Issuer => "issuer",
            Link::FederatedCredential => "federated-credential",
            Link::RoleAssignment => "role-assignment",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Target {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinkStatus {
    pub link: Link,
    pub status: Status,
    /// The rule that decides the status (first failing, else first unknown, else first warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// `--logs`: the pod's log lines that implicate this link (most recent per signature).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub source: String,
    pub observed: Option<String>,
    pub expected: Option<String>,
    /// The named difference between observed and expected (`trailing slash`, `case`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fix {
    pub title: String,
    pub command: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub rule: String,
    pub link: Link,
    pub status: Status,
    pub title: String,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub fixes: Vec<Fix>,
    /// Set when the rule did not run because an upstream rule failed or could not check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Input {
    /// `snapshot` (later: `live`).
    pub kind: String,
    pub path: Option<String>,
}

/// A read the collector was refused: the fact it would have given is unknown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refused {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema_version: u32,
    pub wi_version: String,
    pub verdict: Status,
    pub target: Target,
    pub evaluated_at: Timestamp,
    pub input: Input,
    pub links: Vec<LinkStatus>,
    pub findings: Vec<Finding>,
    /// Reads that were refused or timed out, even where a check passed on other evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Refused>,
    /// The issuer as fetched from outside (WI210's facts: URLs, statuses, errors, kids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_fetch: Option<crate::facts::ExternalIssuer>,
    /// `--probe`: the exchange as made and Entra's answer (never the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<crate::facts::Probe>,
    /// `--logs`: each pod read, how many lines, and every signature found (with its link,
    /// `none` when the cause lies outside the chain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<crate::facts::LogScan>,
}

impl Report {
    pub fn findings_for(&self, link: Link) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.link == link)
    }
}

/// Link status from its findings: fail > unknown > blocked (`skip`) > warn > pass. A link
/// with a blocked check is never `pass`: what did not run was not proven.
pub fn link_status(findings: &[&Finding]) -> (Status, Option<String>) {
    for want in [Status::Fail, Status::Unknown] {
        if let Some(f) = findings.iter().find(|f| f.status == want) {
            return (want, Some(f.rule.clone()));
        }
    }
    if let Some(f) = findings.iter().find(|f| f.blocked_by.is_some()) {
        return (Status::Skip, Some(f.rule.clone()));
    }
    if let Some(f) = findings.iter().find(|f| f.status == Status::Warn) {
        return (Status::Warn, Some(f.rule.clone()));
    }
    if findings.iter().any(|f| f.status == Status::Pass) {
        (Status::Pass, None)
    } else {
        (Status::Skip, None)
    }
}

/// Overall verdict: any failing link fails; otherwise any unchecked (unknown or skipped)
/// link, or any refused read, makes it unknown — "could not check" is never a pass.
pub fn verdict(links: &[LinkStatus], refused_reads: bool) -> Status {
    if links.iter().any(|l| l.status == Status::Fail) {
        Status::Fail
    } else if refused_reads || links.iter().any(|l| matches!(l.status, Status::Unknown | Status::Skip)) {
        Status::Unknown
    } else if links.iter().any(|l| l.status == Status::Warn) {
        Status::Warn
    } else {
        Status::Pass
    }
}
