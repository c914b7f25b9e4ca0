//! WI209: the token's signature verifies.
use super::{Check, Rule, Severity};
use crate::facts::{Fact, Facts};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI209",
    link: Link::Issuer,
    slug: "token_signature",
    title: "The token's RS256 signature verifies with the JWKS key",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI209.md"),
    after: &[],
    requires: &["WI208"],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(t) = f.token.get() else {
        return Check::from_unknown("projected token", &f.token);
    };
    match &t.signature {
        Fact::Found { value } if value.verified => Check::pass(value.detail.clone()),
        Fact::Found { value } => Check::fail(format!("{}: Entra will reject the token", value.detail))
            .saw(
                format!("{} alg/kid", t.source),
                format!(
                    "{} / {}",
                    t.alg.as_deref().unwrap_or("?"),
                    t.kid.as_deref().unwrap_or("?")
                ),
            )
            .fix(
                "Compare the published keys with the API server's",
                "kubectl get --raw /openid/v1/jwks",
            ),
        other => Check::from_unknown("token signature", other),
    }
}
