//! WI202: the token's iss is the cluster's issuer.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI202",
    link: Link::Issuer,
    slug: "token_issuer",
    title: "The token's iss equals the cluster's OIDC issuer",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI202.md"),
    after: &["WI201"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(t) = f.token.get() else {
        return Check::from_unknown("projected token", &f.token);
    };
    let Some(c) = f.cluster.get() else {
        return Check::from_unknown("cluster issuer", &f.cluster);
    };
    let want = c.effective_issuer().unwrap_or_default();
    let got = t.iss.as_deref().unwrap_or("(absent)");
    if got == want {
        return Check::pass(format!("the token's iss is {}'s issuer", c.name)).compare(
            format!("{} iss", t.source),
            Some(got),
            Some(want),
        );
    }
    Check::fail(format!(
        "the token was issued by {got}, not by {}'s current issuer: pods started before the issuer changed (OIDC issuer enabled later, cluster re-created, key rotation) keep old tokens",
        c.name
    ))
    .compare(format!("{} iss vs {} issuer", t.source, c.name), Some(got), Some(want))
    .fix("Restart the pods so the kubelet projects tokens from the current issuer", f.restart_command())
}
