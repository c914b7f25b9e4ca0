//! WI210: the issuer, fetched from outside as Entra fetches it, serves what the token needs.
use super::{Check, Rule, Severity};
use crate::facts::{ClusterKind, Facts, HttpFetch};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI210",
    link: Link::Issuer,
    slug: "issuer_from_outside",
    title: "From outside the cluster, the issuer serves its discovery document and a JWKS that verifies the token",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI210.md"),
    after: &["WI201"],
    requires: &[],
    check,
};

/// Entra's limit on the keys of one JWKS.
const MAX_KEYS: usize = 100;

fn curl(u: &str) -> String {
    format!("curl -sS -o /dev/null -w '%{{http_code}} %{{content_type}} %{{redirect_url}}\\n' {u}")
}

fn failed_fetch(f: &Facts, step: &str, h: &HttpFetch, proxy: Option<&str>) -> Check {
    let what = h.error.clone().unwrap_or_else(|| "no answer".into());
    let via = proxy.map(|p| format!(" (through the proxy {p})")).unwrap_or_default();
    let mut c = Check::fail(format!(
        "Entra could not use the issuer's {step}: GET {}{via} → {what}; Entra answers AADSTS90061 (Request to External OIDC endpoint failed)",
        h.url
    ))
    .compare(
        format!("GET {}", h.url),
        Some(&match (h.status, &h.location) {
            (Some(s), Some(l)) => format!("HTTP {s} → {l}"),
            (Some(s), None) => format!("HTTP {s}{}", h.content_type.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()),
            (None, _) => what.clone(),
        }),
        Some("HTTP 200 with a JSON document"),
    );
    c = c.fix(
        format!("Fetch the {step} as Entra does (public DNS, verified TLS, no redirects)"),
        curl(&h.url),
    );
    match f.cluster.get() {
        Some(cl) if cl.kind == ClusterKind::Aks => c.fix(
            "Reconcile the AKS-managed issuer (then open a support case if it still fails)",
            format!(
                "az aks update -g {} -n {}",
                cl.resource_group.as_deref().unwrap_or("<rg>"),
                cl.name
            ),
        ),
        _ => c.fix(
            "Publish both documents publicly at exactly these URLs (self-managed: the storage account or web server behind the issuer)",
            "azwi jwks --public-keys <sa.pub> --output-file jwks.json   # then upload it and the discovery document",
        ),
    }
}

fn check(f: &Facts) -> Check {
    let Some(x) = &f.external_issuer else {
        return Check::skip(
            "the issuer was not fetched from outside (a snapshot is diagnosed offline; --probe or --fetch-issuer fetches it)",
        );
    };
    let mut proxied = String::new();
    if let Some(p) = &x.proxy {
        proxied = format!(" (through the proxy {p})");
    }
    if x.discovery.error.is_some() {
        return failed_fetch(f, "discovery document", &x.discovery, x.proxy.as_deref());
    }
    let want = f
        .token
        .get()
        .and_then(|t| t.iss.clone())
        .unwrap_or_else(|| x.issuer_url.clone());
    let got = x.document_issuer.as_deref().unwrap_or("(absent)");
    if got != want {
        return Check::fail(format!(
            "the discovery document at {} says issuer {got}, but the token's iss is {want}: Entra requires them to be equal byte for byte",
            x.discovery.url
        ))
        .compare(format!("GET {} issuer", x.discovery.url), Some(got), Some(&want))
        .fix("See what the public document says", format!("curl -fsS {} | jq .issuer", x.discovery.url));
    }
    let Some(jwks_uri) = x.jwks_uri.as_deref() else {
        return Check::fail(format!("the discovery document at {} has no jwks_uri", x.discovery.url)).compare(
            format!("GET {} jwks_uri", x.discovery.url),
            Some("(absent)"),
            Some("an https URL"),
        );
    };
    if !jwks_uri.starts_with("https://") {
        return Check::fail(format!(
            "the discovery document's jwks_uri is {jwks_uri}; Entra fetches keys over https only"
        ))
        .compare(
            format!("GET {} jwks_uri", x.discovery.url),
            Some(jwks_uri),
            Some("an https:// URL"),
        );
    }
    let Some(j) = &x.jwks else {
        return Check::unknown(format!("the JWKS at {jwks_uri} was not fetched"), Some(curl(jwks_uri)));
    };
    if j.error.is_some() {
        return failed_fetch(f, "JWKS", j, x.proxy.as_deref());
    }
    if x.key_count > MAX_KEYS {
        return Check::fail(format!(
            "the JWKS at {jwks_uri} holds {} keys; Entra accepts at most {MAX_KEYS}",
            x.key_count
        ))
        .compare(
            format!("GET {jwks_uri} keys"),
            Some(&x.key_count.to_string()),
            Some(&format!("≤ {MAX_KEYS}")),
        );
    }
    let mut api_only: Vec<String> = vec![];
    if let Some(api) = f.jwks.get() {
        api_only = api
            .keys
            .iter()
            .filter_map(|k| k.kid.clone())
            .filter(|k| !x.kids.contains(k))
            .collect();
    }
    let token = f.token.get();
    if let Some(kid) = token.and_then(|t| t.kid.clone()) {
        if !x.kids.contains(&kid) {
            let mut c = Check::fail(format!(
                "the public JWKS at {jwks_uri} has no key with the token's kid {kid}{}: Entra cannot verify the signature (AADSTS50013, key not found)",
                if api_only.contains(&kid) { ", though the API server's JWKS has it: the rotated key was not published" } else { "" }
            ))
            .compare(format!("GET {jwks_uri} kids"), Some(&x.kids.join(", ")), Some(&kid));
            c = c.fix(
                "Publish every key the API server signs with (keep the old key during rotation)",
                "kubectl get --raw /openid/v1/jwks > jwks.json   # then upload it to the jwks_uri location",
            );
            return c;
        }
        match &x.signature {
            Some(s) if !s.verified => {
                return Check::fail(format!(
                    "with the public JWKS at {jwks_uri}: {}; Entra rejects the token (AADSTS50013, signature validation failed)",
                    s.detail
                ))
                .saw(format!("GET {jwks_uri} key {kid}"), s.detail.clone())
                .fix("Compare the public key with the API server's", "kubectl get --raw /openid/v1/jwks");
            }
            Some(_) => {}
            None => {
                // Why not: the token's own signature fact says (decoded claims only, …).
                let why = match token.map(|t| &t.signature) {
                    Some(crate::facts::Fact::Unknown { reason, .. }) => reason.clone(),
                    _ => "the signed token is not in the facts".into(),
                };
                let msg = format!(
                    "Entra can fetch {} and {jwks_uri}{proxied}, and the token's kid {kid} is published; the signature was not checked against it: {why}",
                    x.discovery.url,
                );
                return Check::unknown(
                    msg,
                    Some(format!(
                        "wi doctor {} -n {}   # live: wi requests a signed token and fetches the issuer",
                        f.target.display(),
                        f.namespace()
                    )),
                );
            }
        }
    }
    if !x.private_addresses.is_empty() {
        return Check::warn(format!(
            "{} resolved here only to private addresses ({}): Entra fetches from the public internet and cannot reach them unless public DNS answers differently",
            x.discovery.url,
            x.private_addresses.join(", ")
        ))
        .saw(format!("DNS {}", x.discovery.url), x.private_addresses.join(", "));
    }
    if !api_only.is_empty() {
        return Check::warn(format!(
            "the API server's JWKS has key(s) {} that the public JWKS at {jwks_uri} lacks: tokens signed after the next key switch will fail until they are published",
            api_only.join(", ")
        ))
        .compare(format!("GET {jwks_uri} kids"), Some(&x.kids.join(", ")), Some(&api_only.join(", ")))
        .fix(
            "Publish the API server's keys",
            "kubectl get --raw /openid/v1/jwks > jwks.json   # then upload it to the jwks_uri location",
        );
    }
    let verified = match (token.and_then(|t| t.kid.as_deref()), &x.signature) {
        (Some(kid), Some(_)) => format!("; the token's key {kid} is published and its RS256 signature verifies"),
        _ => "; no token to verify against it".into(),
    };
    Check::pass(format!(
        "Entra can fetch {} (HTTP 200) and {jwks_uri} (HTTP 200, {} key(s)){proxied}{verified}",
        x.discovery.url, x.key_count
    ))
}
