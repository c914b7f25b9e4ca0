//! WI403: role assignments name the principal id, not the client id.
use super::{
    Check, Rule, Severity,
    support::sh,
    wi401_role_grants_data_action::{principal, role_name},
};
use crate::facts::{Facts, IdentityKind};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI403",
    link: Link::RoleAssignment,
    slug: "assignee_is_principal",
    title: "Role assignments name the identity's principal id, not its client id",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI403.md"),
    after: &[],
    requires: &["WI301"],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(i) = f.identity.get() else {
        return Check::from_unknown("identity", &f.identity);
    };
    let Some(all) = f.role_assignments.get() else {
        return Check::from_unknown("role assignments", &f.role_assignments);
    };
    let wrong_ids: Vec<&str> = match i.kind {
        IdentityKind::ManagedIdentity => vec![i.client_id.as_str()],
        IdentityKind::AppRegistration => vec![i.client_id.as_str(), i.id.as_str()],
    };
    let wrong: Vec<_> = all
        .iter()
        .filter(|a| wrong_ids.iter().any(|w| a.principal_id.eq_ignore_ascii_case(w)))
        .collect();
    if wrong.is_empty() {
        return Check::pass(format!("no role assignment names the client id of {}", i.display()));
    }
    let p = principal(f).unwrap_or_else(|_| "<principalId>".into());
    let mut c = Check::fail(format!(
        "{} role assignment(s) name {} — the client id or application object id — as the principal; Azure authorizes the principal (object) id {p}, so they grant nothing",
        wrong.len(),
        wrong[0].principal_id
    ));
    for a in &wrong {
        c = c.compare(
            format!("role assignment {} principalId", crate::collect::azure::arm_name(&a.id)),
            Some(&a.principal_id),
            Some(&p),
        );
        c = c.fix(
            format!("Re-create {} at {} for the principal id", role_name(f, a), a.scope),
            format!(
                "az role assignment create --assignee-object-id {p} --assignee-principal-type ServicePrincipal --role {} --scope {}",
                sh(&role_name(f, a)),
                sh(&a.scope)
            ),
        );
    }
    c
}
