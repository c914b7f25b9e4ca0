//! WI204: the token's sub names this pod's ServiceAccount.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI204",
    link: Link::Issuer,
    slug: "token_subject",
    title: "The token's sub names this pod's ServiceAccount",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI204.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(t) = f.token.get() else {
        return Check::from_unknown("projected token", &f.token);
    };
    let want = f.expected_subject();
    let got = t.sub.as_deref().unwrap_or("(absent)");
    if got == want {
        return Check::pass(format!("the token's sub is {want}"));
    }
    Check::fail(format!(
        "the token's sub is {got}, but the workload runs as {want}: this token belongs to another ServiceAccount"
    ))
    .compare(format!("{} sub", t.source), Some(got), Some(&want))
    .fix(
        "Collect the token of this workload's ServiceAccount",
        format!(
            "kubectl create token {} -n {} --audience api://AzureADTokenExchange --duration 1h",
            f.service_account_name(),
            f.namespace()
        ),
    )
}
