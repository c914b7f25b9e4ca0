//! WI304: the identity stays under the federated-credential limit.
use super::{Check, Rule, Severity};
use crate::facts::{Fact, Facts};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI304",
    link: Link::FederatedCredential,
    slug: "credential_count",
    title: "The identity stays under the limit of 20 federated credentials",
    severity: Severity::Warn,
    page: include_str!("../../rules/WI304.md"),
    after: &[],
    requires: &["WI301"],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(i) = f.identity.get() else {
        return Check::from_unknown("identity", &f.identity);
    };
    let n = match &f.credentials {
        Fact::Found { value } => value.len(),
        Fact::Absent { .. } => 0,
        other => return Check::from_unknown("federated credentials", other),
    };
    if n >= 20 {
        return Check::warn(format!(
            "{} has {n} federated credentials, the limit: no cluster or ServiceAccount can be added",
            i.display()
        ))
        .compare(
            format!("{} federated credentials", i.display()),
            Some(&n.to_string()),
            Some("< 20"),
        );
    }
    Check::pass(format!("{} has {n} of 20 federated credentials", i.display()))
}
