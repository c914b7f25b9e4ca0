//! WI406: the targets' own firewalls, as far as the facts show them.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI406",
    link: Link::RoleAssignment,
    slug: "target_network_rules",
    title: "The target resources accept public network traffic, or the restriction is flagged",
    severity: Severity::Warn,
    page: include_str!("../../rules/WI406.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let known: Vec<_> = f
        .scopes
        .iter()
        .filter_map(|t| t.network.as_ref().map(|n| (t, n)))
        .collect();
    if known.is_empty() {
        return Check::skip("the facts hold no network settings of the target resources");
    }
    let mut c = Check::warn(String::new());
    let mut restricted = Vec::new();
    for (t, (public, default)) in &known {
        let disabled = public.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("Disabled"));
        let deny = default.as_deref().is_some_and(|d| d.eq_ignore_ascii_case("Deny"));
        if disabled || deny {
            let what = if disabled {
                "publicNetworkAccess: Disabled"
            } else {
                "networkAcls.defaultAction: Deny"
            };
            restricted.push(format!("{} ({what})", t.name));
            c = c.saw(format!("{} network rules", t.name), what.to_string());
        }
    }
    if restricted.is_empty() {
        return Check::pass(format!(
            "{} accept{} public network traffic",
            known.iter().map(|(t, _)| t.name.clone()).collect::<Vec<_>>().join(", "),
            if known.len() == 1 { "s" } else { "" }
        ));
    }
    c.message = format!(
        "{} admit only allowed networks or private endpoints; wi cannot see the pod's network path — a 403 that names the client address or the firewall (not a role) comes from here",
        restricted.join(", ")
    );
    let cluster = match f.cluster.get() {
        Some(cl) if cl.kind == crate::facts::ClusterKind::Aks => {
            format!("-g {} -n {}", cl.resource_group.as_deref().unwrap_or("<rg>"), cl.name)
        }
        _ => "-g <rg> -n <cluster>".into(),
    };
    c.fix(
        "Check that the cluster's egress (its outbound IPs, or its VNet via a service or private endpoint) is allowed",
        format!("az aks show {cluster} --query networkProfile.loadBalancerProfile.effectiveOutboundIPs -o tsv"),
    )
}
