//! WI207: the discovery document agrees with the token.
use super::{Check, Rule, Severity};
use crate::facts::{Facts, with_slash};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI207",
    link: Link::Issuer,
    slug: "discovery_issuer",
    title: "The discovery document's issuer equals the token's iss, with an https jwks_uri",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI207.md"),
    after: &["WI201"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(d) = f.discovery.get() else {
        return Check::from_unknown("OIDC discovery document", &f.discovery);
    };
    let (want, whose) = match (f.token.get().and_then(|t| t.iss.clone()), f.cluster_issuer()) {
        (Some(i), _) => (i, "the token's iss"),
        (None, Some(i)) => (i.to_string(), "the cluster's issuer"),
        (None, None) => return Check::from_unknown("token issuer", &f.token),
    };
    let got = d.issuer.as_deref().unwrap_or("(absent)");
    if got != want {
        return Check::fail(format!(
            "the discovery document at {} says issuer {got}, but {whose} is {want}: Entra rejects tokens whose issuer metadata disagrees",
            d.source
        ))
        .compare(format!("{} issuer", d.source), Some(got), Some(&want))
        .fix("Publish a discovery document whose issuer is byte-for-byte the API server's --service-account-issuer", format!("curl -fsS {}.well-known/openid-configuration", with_slash(&want)));
    }
    match d.jwks_uri.as_deref() {
        Some(u) if u.starts_with("https://") => {}
        other => {
            return Check::fail(format!(
                "the discovery document's jwks_uri is {}; Entra fetches keys over https only",
                other.unwrap_or("(absent)")
            ))
            .compare(
                format!("{} jwks_uri", d.source),
                Some(other.unwrap_or("(absent)")),
                Some(&format!("{}openid/v1/jwks", with_slash(&want))),
            );
        }
    }
    if !d.algs.is_empty() && !d.algs.iter().any(|a| a == "RS256") {
        return Check::fail(format!(
            "the discovery document offers {} but not RS256, the only algorithm Entra accepts",
            d.algs.join(", ")
        ))
        .compare(
            format!("{} id_token_signing_alg_values_supported", d.source),
            Some(&d.algs.join(", ")),
            Some("RS256"),
        );
    }
    Check::pass(format!("the discovery document's issuer equals {whose}"))
}
