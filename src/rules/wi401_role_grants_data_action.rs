//! WI401: the identity's principal holds a role granting the needed action at each target.
use super::support::{Coverage, coverage, grants, sh, short_list};
use super::{Check, Rule, Severity};
use crate::facts::{Facts, RoleAssignment, RoleDefinition, TargetScope};
use crate::report::{Link, Status};

pub static RULE: Rule = Rule {
    id: "WI401",
    link: Link::RoleAssignment,
    slug: "role_grants_data_action",
    title: "The identity's principal holds a role granting the needed data action at each target scope",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI401.md"),
    after: &[],
    requires: &["WI301"],
    check,
};

/// The identity's principal id, or the check to report when it is not known.
pub fn principal(f: &Facts) -> Result<String, Check> {
    let Some(i) = f.identity.get() else {
        return Err(Check::from_unknown("identity", &f.identity));
    };
    i.principal_id.clone().ok_or_else(|| {
        Check::unknown(
            format!("the principal (object) id of {} is not in the facts", i.display()),
            Some(format!("az ad sp show --id {} -o json > sp.json", i.client_id)),
        )
    })
}

/// The principal's assignments, or the check to report when none were collected.
pub fn assignments<'a>(f: &'a Facts, principal: &str) -> Result<Vec<&'a RoleAssignment>, Check> {
    match f.role_assignments.get() {
        Some(all) => Ok(all
            .iter()
            .filter(|a| a.principal_id.eq_ignore_ascii_case(principal))
            .collect()),
        None => Err(Check::from_unknown("role assignments", &f.role_assignments)),
    }
}

pub fn role_name(f: &Facts, a: &RoleAssignment) -> String {
    f.role_definitions
        .get(&a.role_definition)
        .map(|d| d.name.clone())
        .or_else(|| a.role_name.clone())
        .unwrap_or_else(|| a.role_definition.clone())
}

/// The built-in role with the fewest permissions that grants `action`.
pub fn suggest_role<'a>(f: &'a Facts, action: &str, data: bool) -> Option<&'a RoleDefinition> {
    f.role_definitions
        .values()
        .filter(|d| d.source.starts_with("built-in") && grants(d, action, data))
        .filter(|d| !d.actions.iter().any(|a| a == "*") && !d.data_actions.iter().any(|a| a == "*"))
        .min_by_key(|d| (d.actions.len() + d.data_actions.len(), d.name.clone()))
}

fn grant_fix(principal: &str, role: &str, scope: &str) -> String {
    format!(
        "az role assignment create --assignee-object-id {principal} --assignee-principal-type ServicePrincipal --role {} --scope {}",
        sh(role),
        sh(scope)
    )
}

/// A deny assignment that blocks `action` for `principal` at `target`, if any.
pub fn blocking_deny<'a>(
    f: &'a Facts,
    principal: &str,
    target: &str,
    action: &str,
    data: bool,
) -> Option<&'a crate::facts::DenyAssignment> {
    const EVERYONE: &str = "00000000-0000-0000-0000-000000000000";
    f.deny_assignments.iter().find(|d| {
        let me = |ids: &[String]| ids.iter().any(|i| i.eq_ignore_ascii_case(principal));
        let applies = (me(&d.principals) || d.principals.iter().any(|i| i == EVERYONE)) && !me(&d.exclude_principals);
        let at_target = d
            .scope
            .trim_end_matches('/')
            .eq_ignore_ascii_case(target.trim_end_matches('/'));
        let reaches = coverage(&d.scope, target) == Coverage::Covers && (at_target || !d.children_exempt);
        let (allow, except) = if data {
            (&d.data_actions, &d.not_data_actions)
        } else {
            (&d.actions, &d.not_actions)
        };
        let denies = allow.iter().any(|p| super::support::action_matches(p, action))
            && !except.iter().any(|p| super::support::action_matches(p, action));
        applies && reaches && denies
    })
}

/// Whether the target is a Key Vault in access-policy mode (WI402 owns it).
pub fn access_policy_vault(t: &TargetScope) -> bool {
    t.key_vault.as_ref().is_some_and(|k| k.rbac_authorization != Some(true))
}

struct Outcome {
    status: Status,
    line: String,
    check: Check,
}

fn one(f: &Facts, principal: &str, mine: &[&RoleAssignment], t: &TargetScope) -> Outcome {
    let mut c = Check::fail(String::new());
    let name = &t.name;
    let Some(action) = &t.action else {
        return Outcome {
            status: Status::Unknown,
            line: format!(
                "{name}: wi does not know which permission a {} needs; pass --data-action",
                t.resource_type.as_deref().unwrap_or("resource")
            ),
            check: c,
        };
    };
    let Some(scope) = &t.scope else {
        let cmd = match t.resource_type.as_deref() {
            Some("Microsoft.KeyVault/vaults") => format!("az keyvault show -n {name} -o json > keyvault.json"),
            _ => format!("az storage account show -n {name} -o json > storage.json"),
        };
        c.fixes.push(crate::report::Fix {
            title: format!("Collect {name} (its ARM id and settings)"),
            command: cmd,
        });
        return Outcome {
            status: Status::Unknown,
            line: format!("{name} (from {}): its ARM id is not in the facts", t.origin),
            check: c,
        };
    };
    if t.resource_type.as_deref() == Some("Microsoft.KeyVault/vaults") && t.key_vault.is_none() {
        c.fixes.push(crate::report::Fix {
            title: format!("Collect Key Vault {name} (RBAC or access-policy mode?)"),
            command: format!("az keyvault show --ids {scope} -o json > keyvault.json"),
        });
        return Outcome {
            status: Status::Unknown,
            line: format!(
                "{name}: the vault is not in the facts, so its permission model (RBAC or access policies) is unknown"
            ),
            check: c,
        };
    }
    if access_policy_vault(t) {
        return Outcome {
            status: Status::Skip,
            line: format!("{name}: access-policy vault (WI402)"),
            check: c,
        };
    }
    let mut covering = Vec::new();
    let mut undecided = Vec::new();
    let mut elsewhere = Vec::new();
    for a in mine {
        let def = f.role_definitions.get(&a.role_definition);
        match coverage(&a.scope, scope) {
            Coverage::Covers => match def {
                Some(d) if grants(d, action, t.action_is_data) => {
                    if let Some(deny) = blocking_deny(f, principal, scope, action, t.action_is_data) {
                        let line = format!(
                            "{name}: {} at {} grants {action}, but deny assignment {} at {} blocks it for this principal",
                            d.name, a.scope, deny.name, deny.scope
                        );
                        return Outcome {
                            status: Status::Fail,
                            line,
                            check: c
                                .saw(format!("deny assignment {}", deny.name), format!("denies {action} at {}", deny.scope))
                                .fix(
                                    "Deny assignments come from managed applications, Blueprints or deployment stacks; inspect it and its owner",
                                    format!("az rest --method get --url \"https://management.azure.com{}?api-version=2022-04-01\"", deny.id),
                                ),
                        };
                    }
                    let status = if a.condition.is_some() {
                        Status::Warn
                    } else {
                        Status::Pass
                    };
                    let line = format!(
                        "{name}: {} at {}{}",
                        d.name,
                        a.scope,
                        if a.condition.is_some() {
                            " (with a condition wi cannot evaluate)"
                        } else {
                            ""
                        }
                    );
                    return Outcome {
                        status,
                        line,
                        check: c.saw(
                            format!("role assignment {}", crate::collect::azure::arm_name(&a.id)),
                            format!("{} at {}", d.name, a.scope),
                        ),
                    };
                }
                Some(d) => covering.push((a, d.name.clone())),
                None => undecided.push(format!(
                    "{} (custom role {} not in the facts)",
                    a.scope, a.role_definition
                )),
            },
            Coverage::Undecidable => {
                if def.is_some_and(|d| grants(d, action, t.action_is_data)) {
                    undecided.push(format!(
                        "{} at management group {} (is the subscription under it?)",
                        role_name(f, a),
                        a.scope
                    ));
                }
            }
            Coverage::Disjoint => {
                if def.is_some_and(|d| grants(d, action, t.action_is_data)) {
                    elsewhere.push(a);
                }
            }
        }
    }
    let suggestion = suggest_role(f, action, t.action_is_data)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| "<role granting the action>".into());
    if !undecided.is_empty() {
        return Outcome {
            status: Status::Unknown,
            line: format!("{name}: {}", undecided.join("; ")),
            check: c,
        };
    }
    let line;
    if !covering.is_empty() {
        let roles = short_list(covering.iter().map(|(a, n)| format!("{n} at {}", a.scope)), 3);
        line = format!(
            "{name}: only {roles}, which grant{} no {action}; {suggestion} does",
            if covering.len() == 1 { "s" } else { "" }
        );
        for (a, n) in &covering {
            c = c.compare(
                format!("role assignment {}", crate::collect::azure::arm_name(&a.id)),
                Some(&format!("{n} at {}", a.scope)),
                Some(&format!("{suggestion} (grants {action})")),
            );
        }
    } else if !elsewhere.is_empty() {
        let a = elsewhere[0];
        line = format!(
            "{name}: {} sits at {}, which does not contain {scope}",
            role_name(f, a),
            a.scope
        );
        c = c.compare(
            format!("role assignment {} scope", crate::collect::azure::arm_name(&a.id)),
            Some(&a.scope),
            Some(scope),
        );
    } else {
        let others = f.role_assignments.get().map(|a| a.len()).unwrap_or(0);
        line = format!(
            "{name}: no role assignment of principal {principal} reaches it (the facts hold {} assignment(s), {} of them this principal's)",
            others,
            mine.len()
        );
        c = c.compare(
            format!("role assignments of {principal} covering {name}"),
            Some("(none)"),
            Some(&format!("{suggestion} at {scope} or above")),
        );
    }
    c = c.fix(
        format!("Grant {suggestion} on {name}"),
        grant_fix(principal, &suggestion, scope),
    );
    Outcome {
        status: Status::Fail,
        line,
        check: c,
    }
}

fn check(f: &Facts) -> Check {
    let principal = match principal(f) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let mine = match assignments(f, &principal) {
        Ok(m) => m,
        Err(c) => return c,
    };
    if f.scopes.is_empty() {
        if mine.is_empty() {
            return Check::fail(format!(
                "principal {principal} has no role assignment at all: every Azure call it makes is denied (403)"
            ))
            .compare(
                format!("role assignments of {principal}"),
                Some("(none)"),
                Some("a data role on the resource the workload reaches"),
            )
            .fix(
                "Grant a data role on the resource",
                grant_fix(&principal, "<role>", "<scope>"),
            );
        }
        let mut c = Check::unknown(
            format!(
                "no target scope: pass --scope <ARM id> of the resource the workload reaches (principal {principal} holds: {})",
                short_list(mine.iter().map(|a| format!("{} at {}", role_name(f, a), a.scope)), 3)
            ),
            None,
        );
        c = c.fix(
            "Name the target",
            format!(
                "wi doctor {} -n {} --scope <ARM id of the Key Vault, storage account, …>",
                f.target.display(),
                f.namespace()
            ),
        );
        return c;
    }
    let outcomes: Vec<Outcome> = f.scopes.iter().map(|t| one(f, &principal, &mine, t)).collect();
    let worst = [Status::Fail, Status::Unknown, Status::Warn, Status::Pass]
        .into_iter()
        .find(|s| outcomes.iter().any(|o| o.status == *s));
    let lines: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status != Status::Skip)
        .map(|o| o.line.clone())
        .collect();
    let mut out = match worst {
        Some(Status::Pass) => Check::pass(lines.join("; ")),
        Some(Status::Warn) => Check::warn(lines.join("; ")),
        Some(Status::Unknown) => Check::unknown(lines.join("; "), None),
        Some(Status::Fail) => Check::fail(format!(
            "{}; Azure answers 403 (AuthorizationFailed / ForbiddenByRbac / AuthorizationPermissionMismatch)",
            outcomes
                .iter()
                .filter(|o| o.status == Status::Fail)
                .map(|o| o.line.clone())
                .collect::<Vec<_>>()
                .join("; ")
        )),
        _ => return Check::skip("every target is a Key Vault in access-policy mode (WI402)"),
    };
    for o in outcomes {
        if o.status == worst.unwrap_or(Status::Pass) || o.status == Status::Fail {
            out.evidence.extend(o.check.evidence);
            out.fixes.extend(o.check.fixes);
        }
    }
    out
}
