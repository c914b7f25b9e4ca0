//! WI206: the token lives at most 24 hours.
use super::{Check, Rule, Severity, wi205_token_validity::human};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI206",
    link: Link::Issuer,
    slug: "token_lifetime",
    title: "The token lives at most 24 hours (exp - iat)",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI206.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(t) = f.token.get() else {
        return Check::from_unknown("projected token", &f.token);
    };
    let (Some(exp), Some(iat)) = (t.exp, t.iat.or(t.nbf)) else {
        return Check::unknown("the token has no iat/nbf, so its lifetime is unknown", None);
    };
    let life = exp - iat;
    if life > 86_400 {
        return Check::fail(format!(
            "the token lives {} ({life} s); Entra rejects client assertions valid for more than 24 hours — a long-lived token is usually the pod's default kube-api-access token used by mistake",
            human(life)
        ))
        .compare(format!("{} exp - iat", t.source), Some(&format!("{life} s")), Some("<= 86400 s"))
        .fix("Use the token the webhook projects (AZURE_FEDERATED_TOKEN_FILE), which lives 3600-86400 s", "# read the path from AZURE_FEDERATED_TOKEN_FILE, not /var/run/secrets/kubernetes.io/serviceaccount/token");
    }
    Check::pass(format!("the token lives {} ({life} s)", human(life)))
}
