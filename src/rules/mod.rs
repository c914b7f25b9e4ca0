//! Concluding: one file per rule, each a pure `fn(&Facts) -> Check`, and one ordered
//! registry that is both the catalog and the chain order.
//!
//! A rule cannot fail, do I/O or read the clock (time comes from `Facts::at`). It states an
//! expectation in its title and describes this cluster in its message, with evidence
//! (observed vs expected) and paste-ready fixes. Root cause first: a rule lists in `after` the
//! upstream rules whose *failure* makes it a mere repeat, and in `requires` those without
//! which it cannot run at all (failure or unknown); either way it is reported as skipped,
//! "blocked by" the upstream rule.

pub mod support;

mod wi101_pod_label;
mod wi102_webhook_installed;
mod wi103_webhook_selects_pod;
mod wi104_webhook_healthy;
mod wi105_service_account_name;
mod wi106_service_account_exists;
mod wi107_client_id_annotation;
mod wi108_pod_mutated;
mod wi109_env_matches_annotation;
mod wi110_token_file_mounted;
mod wi111_skip_containers;
mod wi112_token_expiration_annotation;
mod wi113_proxy_sidecar_annotation;
mod wi114_pods_match_template;
mod wi115_legacy_pod_identity;
mod wi116_tenant_id_annotation;
mod wi117_virtual_node;
mod wi118_probe_tenant;
mod wi201_oidc_issuer_enabled;
mod wi202_token_issuer;
mod wi203_token_audience;
mod wi204_token_subject;
mod wi205_token_validity;
mod wi206_token_lifetime;
mod wi207_discovery_issuer;
mod wi208_jwks_key;
mod wi209_token_signature;
mod wi210_issuer_from_outside;
mod wi211_probe_issuer;
mod wi301_identity_resolves;
mod wi302_tenant_matches;
mod wi303_credential_matches;
mod wi304_credential_count;
mod wi305_credential_propagation;
mod wi306_probe_exchange;
mod wi307_probe_agrees;
mod wi401_role_grants_data_action;
mod wi402_keyvault_access_policy;
mod wi403_assignee_is_principal;
mod wi404_least_privilege;
mod wi405_assignment_propagation;
mod wi406_target_network_rules;
mod wi407_probe_data_plane;

use std::collections::BTreeMap;

use crate::facts::Facts;
use crate::report::{Evidence, Finding, Fix, Link, Status};

/// What a broken rule is: a failure, or only a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fail,
    Warn,
}

pub struct Rule {
    pub id: &'static str,
    pub link: Link,
    pub slug: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The rule page (`rules/WINNN.md`), embedded so a missing page breaks the build.
    pub page: &'static str,
    /// Upstream rules whose failure makes this one a repeat.
    pub after: &'static [&'static str],
    /// Upstream rules without whose success (or warning) this one cannot run.
    pub requires: &'static [&'static str],
    pub check: fn(&Facts) -> Check,
}

/// The outcome of one rule.
#[derive(Debug, Clone)]
pub struct Check {
    pub status: Status,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub fixes: Vec<Fix>,
}

impl Check {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Check {
            status,
            message: message.into(),
            evidence: vec![],
            fixes: vec![],
        }
    }
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message)
    }
    pub fn warn(message: impl Into<String>) -> Self {
        Self::new(Status::Warn, message)
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Status::Fail, message)
    }
    /// Not applicable to this target.
    pub fn skip(message: impl Into<String>) -> Self {
        Self::new(Status::Skip, message)
    }
    /// Could not check; `command` produces the missing fact.
    pub fn unknown(message: impl Into<String>, command: Option<String>) -> Self {
        let mut c = Self::new(Status::Unknown, message);
        if let Some(cmd) = command {
            c.fixes.push(Fix {
                title: "Collect the missing fact".into(),
                command: cmd,
            });
        }
        c
    }
    /// Evidence with an observed and an expected value; the difference is named.
    pub fn compare(mut self, source: impl Into<String>, observed: Option<&str>, expected: Option<&str>) -> Self {
        let difference = match (observed, expected) {
            (Some(o), Some(e)) => support::difference(o, e),
            _ => None,
        };
        self.evidence.push(Evidence {
            source: source.into(),
            observed: observed.map(str::to_string),
            expected: expected.map(str::to_string),
            difference,
        });
        self
    }
    /// Evidence with an observed value only.
    pub fn saw(self, source: impl Into<String>, observed: impl Into<String>) -> Self {
        let o: String = observed.into();
        self.compare(source, Some(&o), None)
    }
    pub fn fix(mut self, title: impl Into<String>, command: impl Into<String>) -> Self {
        self.fixes.push(Fix {
            title: title.into(),
            command: command.into(),
        });
        self
    }
    /// Take over an unknown fact's reason and command.
    pub fn from_unknown<T>(what: &str, fact: &crate::facts::Fact<T>) -> Self {
        match fact {
            crate::facts::Fact::Unknown { reason, command } => {
                Check::unknown(format!("{what}: {reason}"), command.clone())
            }
            crate::facts::Fact::Absent { searched } => Check::unknown(format!("{what}: not found ({searched})"), None),
            crate::facts::Fact::Found { .. } => Check::unknown(what.to_string(), None),
        }
    }
}

/// The catalog, in chain order.
pub static REGISTRY: &[&Rule] = &[
    &wi101_pod_label::RULE,
    &wi102_webhook_installed::RULE,
    &wi103_webhook_selects_pod::RULE,
    &wi104_webhook_healthy::RULE,
    &wi105_service_account_name::RULE,
    &wi106_service_account_exists::RULE,
    &wi107_client_id_annotation::RULE,
    &wi108_pod_mutated::RULE,
    &wi109_env_matches_annotation::RULE,
    &wi110_token_file_mounted::RULE,
    &wi111_skip_containers::RULE,
    &wi112_token_expiration_annotation::RULE,
    &wi113_proxy_sidecar_annotation::RULE,
    &wi114_pods_match_template::RULE,
    &wi115_legacy_pod_identity::RULE,
    &wi116_tenant_id_annotation::RULE,
    &wi117_virtual_node::RULE,
    &wi118_probe_tenant::RULE,
    &wi201_oidc_issuer_enabled::RULE,
    &wi202_token_issuer::RULE,
    &wi203_token_audience::RULE,
    &wi204_token_subject::RULE,
    &wi205_token_validity::RULE,
    &wi206_token_lifetime::RULE,
    &wi207_discovery_issuer::RULE,
    &wi208_jwks_key::RULE,
    &wi209_token_signature::RULE,
    &wi210_issuer_from_outside::RULE,
    &wi211_probe_issuer::RULE,
    &wi301_identity_resolves::RULE,
    &wi302_tenant_matches::RULE,
    &wi303_credential_matches::RULE,
    &wi304_credential_count::RULE,
    &wi305_credential_propagation::RULE,
    &wi306_probe_exchange::RULE,
    &wi307_probe_agrees::RULE,
    &wi401_role_grants_data_action::RULE,
    &wi402_keyvault_access_policy::RULE,
    &wi403_assignee_is_principal::RULE,
    &wi404_least_privilege::RULE,
    &wi405_assignment_propagation::RULE,
    &wi406_target_network_rules::RULE,
    &wi407_probe_data_plane::RULE,
];

/// `rules/README.md`: the catalog as Markdown (`wi rules --format markdown`; a test keeps the
/// committed file current).
pub fn catalog_markdown() -> String {
    let mut s = String::from(
        "# Rule catalog\n\nGenerated by `wi rules --format markdown`; do not edit by hand.\n\n\
         IDs are stable and never reused. The hundreds follow the chain: 1xx service-account, 2xx issuer, \
         3xx federated-credential, 4xx role-assignment. `wi explain WINNN` prints a page.\n",
    );
    for link in Link::ALL {
        s.push_str(&format!(
            "\n## `{}`\n\n| rule | severity | title |\n| --- | --- | --- |\n",
            link.as_str()
        ));
        for r in REGISTRY.iter().filter(|r| r.link == link) {
            let sev = match r.severity {
                Severity::Fail => "fail",
                Severity::Warn => "warn",
            };
            s.push_str(&format!(
                "| [{}]({}.md) | {sev} | {} |\n",
                r.id,
                r.id,
                r.title.replace('|', "\\|")
            ));
        }
    }
    s
}

pub fn find(id: &str) -> Option<&'static Rule> {
    REGISTRY.iter().copied().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// Run every rule; dependencies first, findings in registry order.
pub fn evaluate(facts: &Facts) -> Vec<Finding> {
    let mut done: BTreeMap<&'static str, Finding> = BTreeMap::new();
    for rule in REGISTRY {
        run(rule, facts, &mut done, 0);
    }
    let mut findings: Vec<Finding> = REGISTRY.iter().filter_map(|r| done.remove(r.id)).collect();
    attribute_unknowns(&mut findings);
    findings
}

/// Root cause first: a check that could not run in a link *after* a failed link is a
/// consequence of that failure (no pod was created, so there is no token), so it is reported
/// as blocked by the first failure, keeping its own reason in the message.
fn attribute_unknowns(findings: &mut [Finding]) {
    let Some((first_fail, fail_link)) = findings
        .iter()
        .find(|f| f.status == Status::Fail)
        .map(|f| (f.rule.clone(), f.link))
    else {
        return;
    };
    for f in findings
        .iter_mut()
        .filter(|f| f.status == Status::Unknown && f.link > fail_link)
    {
        f.status = Status::Skip;
        f.message = format!("blocked by {first_fail} (and: {})", f.message);
        f.blocked_by = Some(first_fail.clone());
        f.fixes.clear();
    }
}

fn run(rule: &'static Rule, facts: &Facts, done: &mut BTreeMap<&'static str, Finding>, depth: usize) -> Status {
    if let Some(f) = done.get(rule.id) {
        return f.status;
    }
    // The registry is acyclic (a unit test checks); the depth guard keeps a mistake finite.
    if depth <= REGISTRY.len() {
        for dep in rule.after.iter().chain(rule.requires.iter()) {
            if let Some(d) = find(dep) {
                run(d, facts, done, depth + 1);
            }
        }
    }
    let blocker = rule
        .after
        .iter()
        .find(|d| done.get(*d).is_some_and(|f| f.status == Status::Fail))
        .or_else(|| {
            rule.requires.iter().find(|d| {
                done.get(*d)
                    .is_some_and(|f| matches!(f.status, Status::Fail | Status::Unknown | Status::Skip))
            })
        });
    let finding = match blocker {
        Some(b) => {
            let upstream = &done[b];
            let why = match upstream.status {
                Status::Fail => "failed",
                Status::Unknown => "could not be checked",
                _ => "did not run",
            };
            Finding {
                rule: rule.id.into(),
                link: rule.link,
                status: Status::Skip,
                title: rule.title.into(),
                message: format!("blocked by {b}: {} {why}; fix that first", upstream.title),
                evidence: vec![],
                fixes: vec![],
                blocked_by: Some((*b).into()),
            }
        }
        None => {
            let c = (rule.check)(facts);
            Finding {
                rule: rule.id.into(),
                link: rule.link,
                status: c.status,
                title: rule.title.into(),
                message: c.message,
                evidence: c.evidence,
                fixes: c.fixes,
                blocked_by: None,
            }
        }
    };
    let s = finding.status;
    done.insert(rule.id, finding);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_exist_and_are_acyclic() {
        fn visit(id: &str, stack: &mut Vec<String>) {
            assert!(!stack.contains(&id.to_string()), "cycle: {stack:?} -> {id}");
            let r = find(id).unwrap_or_else(|| panic!("unknown rule {id}"));
            stack.push(id.into());
            for d in r.after.iter().chain(r.requires.iter()) {
                visit(d, stack);
            }
            stack.pop();
        }
        for r in REGISTRY {
            visit(r.id, &mut vec![]);
        }
    }
}
