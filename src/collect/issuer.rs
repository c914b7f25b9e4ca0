//! The issuer from the outside: `<iss>/.well-known/openid-configuration` and its `jwks_uri`,
//! fetched over HTTPS the way Entra fetches them.
//!
//! - TLS is verified against the system's roots (`SSL_CERT_FILE`/`SSL_CERT_DIR` replace them,
//!   as for OpenSSL and curl); nothing here weakens verification.
//! - `HTTPS_PROXY`/`NO_PROXY` are honoured (reqwest reads them).
//! - Redirects are not followed: a 3xx is reported with its `Location`, because the issuer must
//!   serve its metadata at the URL its tokens name.
//! - Each document is capped at [`MAX_BYTES`] and each request at the timeout.
//! - Only `https://` URLs are fetched; anything else is a finding, not a request.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::facts::{ExternalIssuer, HttpFetch, with_slash};

/// Cap on one discovery document or JWKS (real ones are a few KiB).
pub const MAX_BYTES: usize = 1 << 20;

/// What the fetch brought back: the facts, plus the public keys for signature checking.
#[derive(Debug, Clone)]
pub struct ExternalFetch {
    pub fact: ExternalIssuer,
    pub keys: Vec<Value>,
    /// Read from a snapshot (`wi collect` fetched it), not fetched by this run.
    pub recorded: bool,
}

/// A client for fetching the way Entra does: no redirects, verified TLS, bounded time.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("wi/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTPS client: {}", chain(e)))
}

/// A request error and its causes, `: `-joined (reqwest's own message hides TLS and DNS
/// causes), without the URL: the callers name it once themselves.
pub fn chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut parts = chain_of(&e).split(": ").map(str::to_string).collect::<Vec<_>>();
    // "error sending request" says nothing the caller's "cannot connect" does not.
    parts.retain(|p| p != "error sending request" && p != "client error (Connect)");
    parts.join(": ")
}

/// `e` and its causes, `: `-joined.
pub fn chain_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts.join(": ")
}

/// The proxy reqwest will use for `url`, as evidence (credentials removed).
pub fn proxy_for(url: &str) -> Option<String> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let proxy = get("HTTPS_PROXY").or_else(|| get("https_proxy"))?;
    let no = get("NO_PROXY").or_else(|| get("no_proxy")).unwrap_or_default();
    proxy_evidence(url, &proxy, &no)
}

/// `proxy` (credentials removed) unless `no_proxy` excludes `url`'s host.
fn proxy_evidence(url: &str, proxy: &str, no_proxy: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?.to_ascii_lowercase();
    let excluded = no_proxy.split(',').map(str::trim).filter(|n| !n.is_empty()).any(|n| {
        n == "*" || {
            let n = n.trim_start_matches('.').to_ascii_lowercase();
            host == n || host.ends_with(&format!(".{n}"))
        }
    });
    if excluded {
        return None;
    }
    Some(match proxy.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, hostpart)) => format!("{scheme}://{hostpart}"),
            None => proxy.to_string(),
        },
        None => proxy.to_string(),
    })
}

/// GET one JSON document. Returns what happened and, on success, the document.
pub async fn get_json(client: &reqwest::Client, url: &str) -> (HttpFetch, Option<Value>) {
    let start = Instant::now();
    let mut f = HttpFetch {
        url: url.to_string(),
        status: None,
        content_type: None,
        location: None,
        error: None,
        elapsed_ms: 0,
    };
    let done = |mut f: HttpFetch, err: Option<String>, doc: Option<Value>| {
        f.error = err;
        f.elapsed_ms = start.elapsed().as_millis() as u64;
        (f, doc)
    };
    if !url.starts_with("https://") {
        return done(
            f,
            Some("not an https:// URL; Entra fetches issuer metadata over HTTPS only".into()),
            None,
        );
    }
    let resp = match client.get(url).header("Accept", "application/json").send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                format!("timed out ({})", chain(e))
            } else if e.is_connect() {
                format!("cannot connect: {}", chain(e))
            } else {
                chain(e)
            };
            return done(f, Some(what), None);
        }
    };
    let status = resp.status();
    f.status = Some(status.as_u16());
    f.content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if status.is_redirection() {
        f.location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let to = f.location.clone().unwrap_or_else(|| "(no Location)".into());
        return done(
            f,
            Some(format!(
                "HTTP {} redirect to {to}; not followed: the issuer must serve it at this URL",
                status.as_u16()
            )),
            None,
        );
    }
    if status != reqwest::StatusCode::OK {
        return done(f, Some(format!("HTTP {}", status.as_u16())), None);
    }
    let body = match read_capped(resp).await {
        Ok(b) => b,
        Err(e) => return done(f, Some(e), None),
    };
    match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Object(_)) => done(f, None, Some(v)),
        Ok(_) => done(f, Some("HTTP 200 but the body is not a JSON object".into()), None),
        Err(e) => {
            let ct = f.content_type.clone().unwrap_or_else(|| "no content type".into());
            done(f, Some(format!("HTTP 200 but the body is not JSON ({ct}): {e}")), None)
        }
    }
}

/// The body, at most [`MAX_BYTES`] (a bigger one is an error, not a truncation).
pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n as usize > MAX_BYTES) {
        return Err(format!("larger than {MAX_BYTES} bytes"));
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_BYTES {
                    return Err(format!("larger than {MAX_BYTES} bytes"));
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(format!("timed out reading the body ({})", chain(e))),
            Err(e) => return Err(format!("reading the body: {}", chain(e))),
        }
    }
}

/// The addresses `host` resolves to, when every one is private, loopback or link-local:
/// Entra fetches from the public internet and cannot reach them. Empty when any is public,
/// when a proxy resolves instead of us, or when resolution fails (the fetch reports that).
async fn private_only(url: &str) -> Vec<String> {
    let Some(rest) = url.strip_prefix("https://") else {
        return vec![];
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority);
    let Ok(addrs) = tokio::net::lookup_host((host, 443)).await else {
        return vec![];
    };
    let ips: Vec<std::net::IpAddr> = addrs.map(|a| a.ip()).collect();
    let private = |ip: &std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v) => v.is_private() || v.is_loopback() || v.is_link_local() || v.is_unspecified(),
        std::net::IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if !ips.is_empty() && ips.iter().all(private) {
        ips.iter().map(ToString::to_string).collect()
    } else {
        vec![]
    }
}

/// Fetch the issuer's discovery document, then its JWKS.
pub async fn fetch(issuer: &str, timeout: Duration) -> ExternalFetch {
    let discovery_url = format!("{}.well-known/openid-configuration", with_slash(issuer));
    let proxy = proxy_for(&discovery_url);
    let mut fact = ExternalIssuer {
        issuer_url: issuer.to_string(),
        discovery: HttpFetch {
            url: discovery_url.clone(),
            status: None,
            content_type: None,
            location: None,
            error: None,
            elapsed_ms: 0,
        },
        document_issuer: None,
        jwks_uri: None,
        jwks: None,
        key_count: 0,
        kids: vec![],
        signature: None,
        proxy: proxy.clone(),
        private_addresses: vec![],
    };
    let client = match client(timeout) {
        Ok(c) => c,
        Err(e) => {
            fact.discovery.error = Some(e);
            return ExternalFetch {
                fact,
                keys: vec![],
                recorded: false,
            };
        }
    };
    let (dns, (disc, doc)) = if proxy.is_none() {
        futures::join!(private_only(&discovery_url), get_json(&client, &discovery_url))
    } else {
        (vec![], get_json(&client, &discovery_url).await)
    };
    fact.private_addresses = dns;
    fact.discovery = disc;
    let Some(doc) = doc else {
        return ExternalFetch {
            fact,
            keys: vec![],
            recorded: false,
        };
    };
    fact.document_issuer = doc.get("issuer").and_then(Value::as_str).map(str::to_string);
    fact.jwks_uri = doc.get("jwks_uri").and_then(Value::as_str).map(str::to_string);
    let Some(jwks_uri) = fact.jwks_uri.clone() else {
        return ExternalFetch {
            fact,
            keys: vec![],
            recorded: false,
        };
    };
    let (jf, jdoc) = get_json(&client, &jwks_uri).await;
    fact.jwks = Some(jf);
    let keys: Vec<Value> = jdoc
        .as_ref()
        .and_then(|d| d.get("keys"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let (Some(j), Some(d)) = (fact.jwks.as_mut(), jdoc.as_ref())
        && d.get("keys").and_then(Value::as_array).is_none()
    {
        j.error = Some("HTTP 200 but the JSON has no \"keys\" array".into());
    }
    fact.key_count = keys.len();
    fact.kids = keys
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_string))
        .collect();
    ExternalFetch {
        fact,
        keys,
        recorded: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_evidence_drops_credentials_and_honours_no_proxy() {
        let u = "https://oidc.prod-aks.azure.com/x/.well-known/openid-configuration";
        assert_eq!(
            proxy_evidence(u, "http://user:secret@proxy:3128", "").as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(proxy_evidence(u, "http://proxy:3128", "localhost,.azure.com"), None);
        assert_eq!(proxy_evidence(u, "http://proxy:3128", "*"), None);
        assert_eq!(
            proxy_evidence(u, "http://proxy:3128", "azure.co,example.com").as_deref(),
            Some("http://proxy:3128")
        );
    }
}
