//! WI208: the JWKS holds the token's signing key.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI208",
    link: Link::Issuer,
    slug: "jwks_key",
    title: "The JWKS holds the token's signing key (kid), with at most 100 keys",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI208.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(t) = f.token.get() else {
        return Check::from_unknown("projected token", &f.token);
    };
    let Some(j) = f.jwks.get() else {
        return Check::from_unknown("JWKS", &f.jwks);
    };
    let Some(kid) = &t.kid else {
        return if t.alg.is_none() {
            Check::unknown(
                "the snapshot holds the token's claims without its header, so its kid is unknown",
                None,
            )
        } else {
            Check::fail("the token header has no kid; Entra cannot pick a key to verify it")
                .saw(format!("{} header", t.source), "no kid")
        };
    };
    let kids: Vec<String> = j.keys.iter().filter_map(|k| k.kid.clone()).collect();
    let Some(pos) = kids.iter().position(|k| k == kid) else {
        return Check::fail(format!(
            "the JWKS ({} key(s)) does not hold the token's key {kid}: keys were rotated without publishing the new one, or the pods hold tokens signed by a retired key",
            kids.len()
        ))
        .compare(format!("{} kid vs {} kids", t.source, j.source), Some(kid), Some(&kids.join(", ")))
        .fix("Self-managed issuer: publish all current public keys (keep the old key during rotation)", "azwi jwks --public-keys <old.pub> --public-keys <new.pub> --output-file jwks.json")
        .fix("AKS after rotating signing keys twice: restart the pods", f.restart_command());
    };
    if pos >= 100 {
        return Check::fail(format!(
            "the token's key is key number {} of {} in the JWKS; Entra keeps only the first 100",
            pos + 1,
            kids.len()
        ))
        .saw(format!("{} keys", j.source), kids.len().to_string());
    }
    if kids.len() > 100 {
        return Check::warn(format!(
            "the JWKS holds {} keys; Entra keeps only the first 100 — prune retired keys",
            kids.len()
        ));
    }
    Check::pass(format!("the JWKS holds the token's key {kid}"))
}
