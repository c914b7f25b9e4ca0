//! WI203: the token's aud contains the exchange audience.
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI203",
    link: Link::Issuer,
    slug: "token_audience",
    title: "The token's aud contains the token-exchange audience",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI203.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(t) = f.token.get() else {
        return Check::from_unknown("projected token", &f.token);
    };
    let want = f.projected_audience();
    if t.aud.iter().any(|a| a == &want) {
        return Check::pass(format!("the token's aud contains {want}"));
    }
    let got = if t.aud.is_empty() {
        "(absent)".to_string()
    } else {
        t.aud.join(", ")
    };
    let default_token = t
        .aud
        .iter()
        .any(|a| a.contains("kubernetes.default.svc") || a.contains("azmk8s.io"));
    let mut c = Check::fail(if default_token {
        format!(
            "the token's aud is {got}: this is the pod's default kube-api-access token, not the workload identity token (read the file AZURE_FEDERATED_TOKEN_FILE names)"
        )
    } else {
        format!("the token's aud is {got}; Entra matches the federated credential's audience {want}")
    });
    let close = t
        .aud
        .iter()
        .find(|a| a.trim_end_matches('/').eq_ignore_ascii_case(&want));
    c = c.compare(
        format!("{} aud", t.source),
        Some(close.map(String::as_str).unwrap_or(&got)),
        Some(&want),
    );
    c.fix(
        "Produce a token with the exchange audience to compare",
        format!(
            "kubectl create token {} -n {} --audience {want} --duration 1h",
            f.service_account_name(),
            f.namespace()
        ),
    )
}
