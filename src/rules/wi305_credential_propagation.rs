//! WI305: the matching credential is old enough to have propagated.
use super::{
    Check, Rule, Severity,
    wi205_token_validity::human,
    wi303_credential_matches::{Verdict, matches, want},
};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI305",
    link: Link::FederatedCredential,
    slug: "credential_propagation",
    title: "The matching federated credential is old enough to have propagated",
    severity: Severity::Warn,
    page: include_str!("../../rules/WI305.md"),
    after: &["WI303"],
    requires: &["WI301"],
    check,
};

const SETTLE_SECS: i64 = 600;

fn check(f: &Facts) -> Check {
    let (Some(creds), Some(w)) = (f.credentials.get(), want(f)) else {
        return Check::skip("no matching federated credential to date");
    };
    let Some(c) = creds.iter().find(|c| matches!(matches(c, &w), Verdict::Match)) else {
        return Check::skip("no matching federated credential to date");
    };
    let Some(created) = c.created else {
        return Check::skip(format!("the facts do not record when {} was created", c.name));
    };
    let age = f.at.as_second() - created.as_second();
    if age < 0 {
        return Check::warn(format!(
            "federated credential {} was created {} after the evaluation time {}: the facts are newer than --at",
            c.name,
            human(-age),
            f.at
        ))
        .saw(
            format!("federatedIdentityCredential/{} createdAt", c.name),
            created.to_string(),
        );
    }
    if age < SETTLE_SECS {
        return Check::warn(format!(
            "federated credential {} was created {} before the evaluation time; Entra can answer AADSTS70021 for a few minutes after a change — retry before changing anything",
            c.name,
            human(age)
        ))
        .saw(format!("federatedIdentityCredential/{} createdAt", c.name), created.to_string());
    }
    Check::pass(format!("federated credential {} is {} old", c.name, human(age)))
}
