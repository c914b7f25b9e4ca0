//! WI404: no Owner or Contributor at subscription scope.
use super::{
    Check, Rule, Severity,
    support::subscription_scope,
    wi401_role_grants_data_action::{assignments, principal, role_name},
};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI404",
    link: Link::RoleAssignment,
    slug: "least_privilege",
    title: "The identity holds no Owner or Contributor at subscription scope",
    severity: Severity::Warn,
    page: include_str!("../../rules/WI404.md"),
    after: &[],
    requires: &["WI301"],
    check,
};

const BROAD: [&str; 2] = [
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
];

fn check(f: &Facts) -> Check {
    let p = match principal(f) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let mine = match assignments(f, &p) {
        Ok(m) => m,
        Err(c) => return c,
    };
    let broad: Vec<_> = mine
        .iter()
        .filter(|a| {
            BROAD.contains(&a.role_definition.as_str())
                || matches!(a.role_name.as_deref(), Some("Owner" | "Contributor"))
        })
        .filter(|a| {
            let s = a.scope.trim_end_matches('/');
            s.is_empty()
                || subscription_scope(s).is_some_and(|sub| sub.eq_ignore_ascii_case(s))
                || s.to_ascii_lowercase().starts_with("/providers/microsoft.management/")
        })
        .collect();
    if let Some(a) = broad.first() {
        return Check::warn(format!(
            "principal {p} holds {} at {}: a workload identity needs a data role on its resources, not control of the subscription",
            role_name(f, a),
            a.scope
        ))
        .saw(format!("role assignment {}", crate::collect::azure::arm_name(&a.id)), format!("{} at {}", role_name(f, a), a.scope))
        .fix("Remove the broad assignment once a data role is granted", format!("az role assignment delete --ids {}", a.id));
    }
    Check::pass(format!(
        "principal {p} holds no Owner or Contributor at subscription scope"
    ))
}
