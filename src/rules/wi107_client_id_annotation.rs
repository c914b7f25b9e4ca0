//! WI107: the ServiceAccount names the identity by client id.
use super::{Check, Rule, Severity, support::is_guid};
use crate::facts::{CLIENT_ID_ANNOTATION, Facts, IdentityKind};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI107",
    link: Link::ServiceAccount,
    slug: "client_id_annotation",
    title: "The ServiceAccount carries azure.workload.identity/client-id as a GUID",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI107.md"),
    after: &["WI105"],
    requires: &["WI106"],
    check,
};

/// A near-miss of the client-id key: wrong spelling, case, stray whitespace.
fn near_miss(key: &str) -> bool {
    let k: String = key
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    key != CLIENT_ID_ANNOTATION
        && (k == "azureworkloadidentityclientid"
            || k.ends_with("workloadidentityclientid")
            || (k.contains("workloadidentity") && k.contains("client")))
}

/// The client id to suggest: a managed identity the facts hold, or a placeholder.
pub fn suggested_client_id(f: &Facts) -> String {
    match f.known_identities.as_slice() {
        [one] => one.client_id.clone(),
        _ => "<clientId>".into(),
    }
}

fn check(f: &Facts) -> Check {
    let Some(sa) = f.service_account.get() else {
        return Check::from_unknown("ServiceAccount", &f.service_account);
    };
    let ns = &sa.namespace;
    let annotate = |cid: &str| {
        format!(
            "kubectl annotate serviceaccount {} -n {ns} {CLIENT_ID_ANNOTATION}={cid} --overwrite && {}",
            sa.name,
            f.restart_command()
        )
    };
    let lookup = match f.known_identities.first() {
        Some(i) if i.kind == IdentityKind::ManagedIdentity => format!(
            "az identity show -g {} -n {} --query clientId -o tsv",
            i.resource_group.as_deref().unwrap_or("<rg>"),
            i.name
        ),
        _ => "az identity show -g <rg> -n <identity> --query clientId -o tsv   # app registration: az ad app show --id <appObjectId> --query appId -o tsv".into(),
    };
    match sa.annotations.get(CLIENT_ID_ANNOTATION) {
        Some(v) if is_guid(v.trim()) && v == v.trim() => Check::pass(format!("serviceaccount/{} names client id {v}", sa.name)),
        Some(v) if v.trim().is_empty() => Check::fail(format!(
            "serviceaccount/{} has an empty {CLIENT_ID_ANNOTATION}: the webhook injects no AZURE_CLIENT_ID and SDKs fail with \"no client ID specified\"",
            sa.name
        ))
        .compare(format!("serviceaccount/{} annotation {CLIENT_ID_ANNOTATION}", sa.name), Some(v), Some("<clientId GUID>"))
        .fix("Look up the identity's client id", lookup)
        .fix("Annotate the ServiceAccount and restart", annotate(&suggested_client_id(f))),
        Some(v) => {
            let trimmed = v.trim();
            let msg = if is_guid(trimmed) {
                format!("serviceaccount/{}'s {CLIENT_ID_ANNOTATION} has whitespace around the GUID; the webhook injects it verbatim", sa.name)
            } else {
                format!("serviceaccount/{}'s {CLIENT_ID_ANNOTATION} is {v:?}, not a GUID (a client id looks like 00000000-0000-0000-0000-000000000000)", sa.name)
            };
            let cid = if is_guid(trimmed) { trimmed.to_string() } else { suggested_client_id(f) };
            Check::fail(msg)
                .compare(format!("serviceaccount/{} annotation {CLIENT_ID_ANNOTATION}", sa.name), Some(v), Some(if is_guid(trimmed) { trimmed } else { "<clientId GUID>" }))
                .fix("Look up the identity's client id", lookup)
                .fix("Annotate the ServiceAccount and restart", annotate(&cid))
        }
        None => {
            let mut c = Check::fail(format!(
                "serviceaccount/{} has no {CLIENT_ID_ANNOTATION} annotation: pods get no AZURE_CLIENT_ID (\"no client ID specified\", \"workload options are not fully configured\")",
                sa.name
            ));
            let mut cid = suggested_client_id(f);
            for (k, v) in sa.annotations.iter().filter(|(k, _)| near_miss(k)) {
                c.message = format!("serviceaccount/{} has {k:?} instead of {CLIENT_ID_ANNOTATION}: the key is misspelled", sa.name);
                c = c.compare(format!("serviceaccount/{} annotation key", sa.name), Some(k), Some(CLIENT_ID_ANNOTATION));
                if is_guid(v.trim()) {
                    cid = v.trim().to_string();
                }
            }
            if let Some(v) = sa.labels.get(CLIENT_ID_ANNOTATION) {
                c.message = format!("serviceaccount/{} carries {CLIENT_ID_ANNOTATION} as a label; the webhook reads annotations only", sa.name);
                c = c.saw(format!("serviceaccount/{} metadata.labels[{CLIENT_ID_ANNOTATION}]", sa.name), v.clone());
                if is_guid(v) {
                    cid = v.clone();
                }
            }
            c.fix("Look up the identity's client id", lookup).fix("Annotate the ServiceAccount and restart", annotate(&cid))
        }
    }
}
