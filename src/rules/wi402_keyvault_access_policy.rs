//! WI402: Key Vaults in access-policy mode grant the identity the permission.
use super::{
    Check, Rule, Severity,
    wi401_role_grants_data_action::{access_policy_vault, principal},
};
use crate::facts::Facts;
use crate::report::{Link, Status};

pub static RULE: Rule = Rule {
    id: "WI402",
    link: Link::RoleAssignment,
    slug: "keyvault_access_policy",
    title: "Key Vaults in access-policy mode grant the identity the needed permission",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI402.md"),
    after: &[],
    requires: &["WI301"],
    check,
};

/// The access-policy permission list and verb a data action needs.
fn needed(action: &str) -> (&'static str, &'static str) {
    let a = action.to_ascii_lowercase();
    if a.contains("/keys/") {
        ("keys", "get")
    } else if a.contains("/certificates/") {
        ("certificates", "get")
    } else {
        ("secrets", "get")
    }
}

fn check(f: &Facts) -> Check {
    let vaults: Vec<_> = f.scopes.iter().filter(|t| t.key_vault.is_some()).collect();
    if vaults.is_empty() {
        return Check::skip("no Key Vault among the targets (or the vault is not in the facts: see WI401)");
    }
    let principal = match principal(f) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let mut status = Status::Pass;
    let mut lines = Vec::new();
    let mut c = Check::pass(String::new());
    for t in vaults {
        let Some(kv) = &t.key_vault else { continue };
        let (list, verb) = needed(t.action.as_deref().unwrap_or(""));
        let policy = kv
            .access_policies
            .iter()
            .find(|p| p.object_id.eq_ignore_ascii_case(&principal));
        let perms = |p: &crate::facts::AccessPolicy| match list {
            "keys" => p.keys.clone(),
            "certificates" => p.certificates.clone(),
            _ => p.secrets.clone(),
        };
        if !access_policy_vault(t) {
            if policy.is_some() {
                lines.push(format!(
                    "{}: RBAC mode ignores the access policy for {principal}; WI401 judges its roles",
                    kv.name
                ));
                if status == Status::Pass {
                    status = Status::Warn;
                }
                c = c.saw(
                    format!("keyvault/{} properties.enableRbacAuthorization", kv.name),
                    "true",
                );
            } else {
                lines.push(format!("{}: RBAC mode (WI401)", kv.name));
            }
            continue;
        }
        let granted = policy.is_some_and(|p| {
            perms(p)
                .iter()
                .any(|x| x.eq_ignore_ascii_case(verb) || x.eq_ignore_ascii_case("all"))
        });
        if granted {
            lines.push(format!(
                "{}: access policy grants {list} {verb} to {principal}",
                kv.name
            ));
            continue;
        }
        status = Status::Fail;
        let observed = match policy {
            Some(p) => format!("{list}: [{}]", perms(p).join(", ")),
            None => "(no access policy for this object id)".into(),
        };
        lines.push(format!(
            "{} is in access-policy mode and grants {principal} no {list} {verb}: the vault answers \"does not have {} {verb} permission on key vault '{}'\"",
            kv.name,
            list.trim_end_matches('s'),
            kv.name
        ));
        c = c.compare(
            format!("keyvault/{} access policy for {principal}", kv.name),
            Some(&observed),
            Some(&format!("{list}: [{verb}, …]")),
        );
        c = c.fix(
            format!("Grant {list} {verb} on {}", kv.name),
            format!(
                "az keyvault set-policy -n {} --object-id {principal} --{}-permissions get list",
                kv.name,
                list.trim_end_matches('s')
            ),
        );
        c = c.fix(
            "Or move the vault to Azure RBAC (then grant Key Vault Secrets User)",
            format!("az keyvault update -n {} --enable-rbac-authorization true", kv.name),
        );
    }
    c.status = status;
    c.message = lines.join("; ");
    c
}
