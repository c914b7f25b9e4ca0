//! WI407: --probe-data-plane: the data plane authorises the identity at each --scope.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI407",
    link: Link::RoleAssignment,
    slug: "probe_data_plane",
    title: "Probe: the data plane (Key Vault, Storage) authorises the identity at each --scope",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI407.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(p) = &f.probe else {
        return Check::skip("no data-plane call was made (opt-in: --probe --probe-data-plane with a --scope)");
    };
    if p.data_plane.is_empty() {
        return Check::skip(
            "no data-plane call was made (needs --probe-data-plane, a Key Vault or Storage --scope, and a successful exchange)",
        );
    }
    if let Some(d) = p.data_plane.iter().find(|d| d.verdict == "denied") {
        let mut c = Check::fail(format!(
            "{} answered HTTP {}{}{}: the identity is not authorised there",
            d.request,
            d.status.unwrap_or_default(),
            d.code.as_ref().map(|c| format!(" {c}")).unwrap_or_default(),
            d.message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default(),
        ))
        .saw(
            d.request.clone(),
            format!(
                "HTTP {} {}",
                d.status.unwrap_or_default(),
                d.code.clone().unwrap_or_default()
            ),
        );
        if let Some(pid) = f.identity.get().and_then(|i| i.principal_id.clone()) {
            let role = if d.request.contains("vault") {
                "Key Vault Secrets User"
            } else {
                "Storage Blob Data Reader"
            };
            c = c.fix(
                format!("Grant {role} at the scope (role assignments take up to 10 minutes to apply)"),
                format!(
                    "az role assignment create --assignee-object-id {pid} --assignee-principal-type ServicePrincipal --role \"{role}\" --scope {}",
                    d.scope
                ),
            );
        }
        return c;
    }
    if let Some(d) = p.data_plane.iter().find(|d| d.verdict != "authorized") {
        return Check::unknown(
            format!(
                "{} {}: could not tell whether the identity is authorised ({})",
                d.scope,
                if d.request.is_empty() {
                    "(no request)".to_string()
                } else {
                    d.request.clone()
                },
                d.message
                    .clone()
                    .or(d.status.map(|s| format!("HTTP {s}")))
                    .unwrap_or_else(|| d.why.clone())
            ),
            None,
        );
    }
    let mut c = Check::pass(format!(
        "the data plane authorised the identity at {} scope(s)",
        p.data_plane.len()
    ));
    for d in &p.data_plane {
        c = c.saw(
            d.request.clone(),
            format!(
                "HTTP {}{}: authorised ({})",
                d.status.unwrap_or_default(),
                d.code.as_ref().map(|c| format!(" {c}")).unwrap_or_default(),
                d.why
            ),
        );
    }
    c
}
