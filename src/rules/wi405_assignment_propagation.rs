//! WI405: role assignments are old enough to have propagated.
use super::{
    Check, Rule, Severity,
    wi205_token_validity::human,
    wi401_role_grants_data_action::{assignments, principal, role_name},
};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI405",
    link: Link::RoleAssignment,
    slug: "assignment_propagation",
    title: "Role assignments are old enough to have propagated",
    severity: Severity::Warn,
    page: include_str!("../../rules/WI405.md"),
    after: &[],
    requires: &["WI301"],
    check,
};

const SETTLE_SECS: i64 = 600;

fn check(f: &Facts) -> Check {
    let p = match principal(f) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let mine = match assignments(f, &p) {
        Ok(m) => m,
        Err(c) => return c,
    };
    let dated: Vec<_> = mine
        .iter()
        .filter_map(|a| a.created.map(|t| (a, f.at.as_second() - t.as_second())))
        .collect();
    if let Some((a, age)) = dated.iter().filter(|(_, age)| *age < 0).min_by_key(|(_, age)| *age) {
        return Check::warn(format!(
            "{} at {} was assigned {} after the evaluation time {}: the facts are newer than --at",
            role_name(f, a),
            a.scope,
            human(-*age),
            f.at
        ));
    }
    if let Some((a, age)) = dated
        .iter()
        .filter(|(_, age)| (0..SETTLE_SECS).contains(age))
        .min_by_key(|(_, age)| *age)
    {
        return Check::warn(format!(
            "{} at {} was assigned {} before the evaluation time; role assignments take up to 10 minutes to apply — retry before changing anything",
            role_name(f, a),
            a.scope,
            human(*age)
        ))
        .saw(format!("role assignment {} createdOn", crate::collect::azure::arm_name(&a.id)), a.created.map(|t| t.to_string()).unwrap_or_default());
    }
    if dated.is_empty() {
        return Check::skip("the facts record no creation time for the principal's role assignments");
    }
    Check::pass("every role assignment of the principal is older than 10 minutes")
}
