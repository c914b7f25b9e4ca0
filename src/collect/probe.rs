//! `--probe`: the real token exchange, and `--probe-data-plane`: one read-only data-plane call.
//!
//! The exchange is the Azure Identity SDKs' own request: `POST <authority>/<tenant>/oauth2/v2.0/token`
//! with `grant_type=client_credentials`, the client id, the projected token as a jwt-bearer
//! `client_assertion`, and `<resource>/.default` as scope. The access token Entra returns is
//! kept only long enough to read its claims (and, for the data plane, to make one call); it is
//! never stored, logged or printed.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::issuer::{chain, client};
use crate::facts::{DataPlaneProbe, ProbeOutcome};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What to exchange, and where.
pub struct Exchange<'a> {
    /// `https://login.microsoftonline.com/` (or AZURE_AUTHORITY_HOST).
    pub authority: &'a str,
    pub tenant: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    /// The compact projected token. Never printed.
    pub assertion: &'a str,
    pub timeout: Duration,
}

/// The token endpoint for a tenant.
pub fn endpoint(authority: &str, tenant: &str) -> String {
    format!("{}/{tenant}/oauth2/v2.0/token", authority.trim_end_matches('/'))
}

/// The outcome, and (on success) the access token for an immediate data-plane call.
pub struct Exchanged {
    pub outcome: ProbeOutcome,
    /// Held only by the caller that needs it for one request; no Debug, no Serialize.
    pub access_token: Option<AccessToken>,
}

/// An access token. `Debug` prints a placeholder.
pub struct AccessToken(String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

pub async fn exchange(x: &Exchange<'_>) -> Exchanged {
    let failed = |error: String| Exchanged {
        outcome: ProbeOutcome::Failed { error },
        access_token: None,
    };
    let http = match client(x.timeout) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let url = endpoint(x.authority, x.tenant);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", x.client_id),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", x.assertion),
        ("scope", x.scope),
    ];
    let resp = match http.post(&url).form(&form).send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else {
                "cannot reach the token endpoint"
            };
            return failed(format!("{what}: POST {url}: {}", chain(e)));
        }
    };
    let status = resp.status().as_u16();
    let body = match super::issuer::read_capped(resp).await {
        Ok(b) => b,
        Err(e) => return failed(format!("POST {url}: the answer: {e}")),
    };
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    parse_answer(status, json.as_ref(), &url)
}

/// Turn the token endpoint's answer into an outcome (the access token kept apart).
pub fn parse_answer(status: u16, json: Option<&Value>, url: &str) -> Exchanged {
    let Some(j) = json else {
        return Exchanged {
            outcome: ProbeOutcome::Failed {
                error: format!("POST {url}: HTTP {status} without Entra's JSON body (a proxy or firewall answered?)"),
            },
            access_token: None,
        };
    };
    let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_string);
    if (200..300).contains(&status)
        && let Some(tok) = s("access_token")
    {
        return Exchanged {
            outcome: ProbeOutcome::Issued {
                expires_in: j
                    .get("expires_in")
                    .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok())),
                claims: access_claims(&tok),
            },
            access_token: Some(AccessToken(tok)),
        };
    }
    let description_full = s("error_description").unwrap_or_default();
    // The AADSTS text alone: trace lines follow on new lines, or (flattened by some proxies
    // and SDKs) after " Trace ID:".
    let description = description_full
        .lines()
        .next()
        .unwrap_or_default()
        .split(" Trace ID:")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let code = j
        .get("error_codes")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_i64)
        .map(|n| format!("AADSTS{n}"))
        .or_else(|| {
            let i = description.find("AADSTS")?;
            let digits: String = description[i + 6..].chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
        });
    if s("error").is_none() && code.is_none() {
        return Exchanged {
            outcome: ProbeOutcome::Failed {
                error: format!("POST {url}: HTTP {status} with JSON that is neither a token nor an Entra error"),
            },
            access_token: None,
        };
    }
    Exchanged {
        outcome: ProbeOutcome::Rejected {
            status,
            error: s("error").unwrap_or_default(),
            code,
            description,
            trace_id: s("trace_id"),
            correlation_id: s("correlation_id"),
            timestamp: s("timestamp"),
        },
        access_token: None,
    }
}

/// The identifying claims of an access token (decoded; the token itself is not kept).
fn access_claims(tok: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(payload) = tok.split('.').nth(1) else {
        return out;
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')) else {
        return out;
    };
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes) else {
        return out;
    };
    for k in ["tid", "oid", "appid", "azp", "aud", "idtyp", "xms_mirid"] {
        if let Some(v) = m.get(k).and_then(Value::as_str) {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// Which data plane a --scope belongs to, the token scope it needs, and the one request.
pub struct DataPlane {
    pub token_scope: String,
    pub url: String,
    pub why: &'static str,
    /// Extra headers (Storage wants `x-ms-version`).
    pub headers: Vec<(&'static str, &'static str)>,
}

/// The probe request for an ARM scope, by resource type; `None` for resources wi has none for.
/// `dns`: the cloud's Key Vault and Storage DNS suffixes (`vault.azure.net`, `core.windows.net`).
pub fn data_plane(scope: &str, vault_uri: Option<&str>, dns: (&str, &str)) -> Option<DataPlane> {
    let parts: Vec<&str> = scope.trim_end_matches('/').split('/').collect();
    let after = |t: &str| {
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case(t))
            .and_then(|i| parts.get(i + 1))
            .map(|s| s.to_string())
    };
    let provider = after("providers")?;
    if provider.eq_ignore_ascii_case("Microsoft.KeyVault") {
        let vault = after("vaults")?;
        // The vault's own URI only when it is a vault host of this cloud: a data-plane token
        // is never sent anywhere else.
        let base = vault_uri
            .map(|u| u.trim_end_matches('/').to_string())
            .filter(|u| {
                u.strip_prefix("https://")
                    .is_some_and(|h| !h.contains('/') && h.to_ascii_lowercase().ends_with(&format!(".{}", dns.0)))
            })
            .unwrap_or_else(|| format!("https://{vault}.{}", dns.0));
        return Some(DataPlane {
            token_scope: format!("https://{}/.default", dns.0),
            url: format!("{base}/secrets/wi-probe-authorization-check?api-version=7.4"),
            why: "GET of a secret that does not exist: Key Vault authorises secrets/get before it looks the secret up, so 404 SecretNotFound proves the identity may read secrets, and 403 that it may not, without reading any secret value",
            headers: vec![],
        });
    }
    if provider.eq_ignore_ascii_case("Microsoft.Storage") {
        let account = after("storageAccounts")?;
        let base = format!("https://{account}.blob.{}", dns.1);
        return Some(match after("containers") {
            Some(c) => DataPlane {
                token_scope: "https://storage.azure.com/.default".into(),
                url: format!("{base}/{c}?restype=container&comp=list&maxresults=1"),
                why: "List Blobs (names only, at most one) in the container: it needs the blobs/read data action that Storage Blob Data Reader grants, and reads no blob content",
                headers: vec![("x-ms-version", "2023-11-03")],
            },
            None => DataPlane {
                token_scope: "https://storage.azure.com/.default".into(),
                url: format!("{base}/?comp=list&maxresults=1"),
                why: "List Containers (names only, at most one): it succeeds only for an account-level Storage Blob Data role and reads no blob content (a role granted on one container only is denied here)",
                headers: vec![("x-ms-version", "2023-11-03")],
            },
        });
    }
    None
}

/// Make the one data-plane request with `token` and classify the answer.
pub async fn call_data_plane(scope: &str, dp: &DataPlane, token: &AccessToken, timeout: Duration) -> DataPlaneProbe {
    let mut out = DataPlaneProbe {
        scope: scope.to_string(),
        request: format!("GET {}", dp.url),
        why: dp.why.to_string(),
        status: None,
        code: None,
        message: None,
        verdict: "unknown".into(),
    };
    let http = match client(timeout) {
        Ok(c) => c,
        Err(e) => {
            out.message = Some(e);
            return out;
        }
    };
    let mut req = http.get(&dp.url).bearer_auth(&token.0);
    for (k, v) in &dp.headers {
        req = req.header(*k, *v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            out.message = Some(format!("cannot reach the data plane: {}", chain(e)));
            return out;
        }
    };
    let status = resp.status().as_u16();
    out.status = Some(status);
    let header_code = resp
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_vault = dp.url.contains("/secrets/");
    // A secret value must never be read: a 200 from Key Vault is dropped unread.
    let body = if is_vault && status == 200 {
        String::new()
    } else {
        let b = super::issuer::read_capped(resp).await.unwrap_or_default();
        String::from_utf8_lossy(&b[..b.len().min(64 * 1024)]).into_owned()
    };
    let (code, message) = error_of(&body, header_code);
    out.code = code;
    out.message = message;
    out.verdict = match (status, out.code.as_deref()) {
        (200..=299, _) => "authorized",
        (404, Some("SecretNotFound")) => "authorized",
        (401 | 403, _) => "denied",
        _ => "unknown",
    }
    .into();
    if is_vault && status == 200 {
        out.message = Some("a secret of that name exists; its answer was discarded unread".into());
    }
    out
}

/// The service's error code and message: Key Vault's `{"error":{"code","message",
/// "innererror":{"code"}}}` or Storage's XML `<Code>…</Code><Message>…</Message>`.
fn error_of(body: &str, header_code: Option<String>) -> (Option<String>, Option<String>) {
    if let Ok(v) = serde_json::from_str::<Value>(body)
        && let Some(e) = v.get("error")
    {
        let inner = e
            .get("innererror")
            .and_then(|i| i.get("code"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let code = inner.or_else(|| e.get("code").and_then(Value::as_str).map(str::to_string));
        let msg = e.get("message").and_then(Value::as_str).map(str::to_string);
        return (code.or(header_code), msg);
    }
    let tag = |t: &str| {
        let open = format!("<{t}>");
        let i = body.find(&open)? + open.len();
        let j = body[i..].find(&format!("</{t}>"))?;
        Some(body[i..i + j].lines().next().unwrap_or_default().trim().to_string())
    };
    (header_code.or_else(|| tag("Code")), tag("Message"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entra_error_body_becomes_a_rejection() {
        let body = json!({"error": "invalid_client", "error_description": "AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:a:b'.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-11-22 10:00:00Z", "error_codes": [700213], "trace_id": "t", "correlation_id": "c", "timestamp": "2026-11-22 10:00:00Z"});
        let x = parse_answer(400, Some(&body), "u");
        match x.outcome {
            ProbeOutcome::Rejected { code, description, .. } => {
                assert_eq!(code.as_deref(), Some("AADSTS700213"));
                assert!(description.ends_with("'system:serviceaccount:a:b'."), "{description}");
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn a_flattened_description_loses_its_trace_lines() {
        let body = json!({"error": "invalid_client", "error_description": "AADSTS7000272: The certificate with identifier X used to sign the federated credential could not be found in the metadata of identity provider https://i. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token. Trace ID: t Correlation ID: c Timestamp: 2024-01-14 20:29:53Z", "error_codes": [7000272]});
        let ProbeOutcome::Rejected { description, code, .. } = parse_answer(401, Some(&body), "u").outcome else {
            panic!()
        };
        assert_eq!(code.as_deref(), Some("AADSTS7000272"));
        assert!(description.ends_with("the incoming token."), "{description}");
    }

    #[test]
    fn success_keeps_claims_not_the_token() {
        let payload =
            URL_SAFE_NO_PAD.encode(br#"{"tid":"t1","oid":"o1","appid":"a1","aud":"https://management.azure.com"}"#);
        let tok = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
        let x = parse_answer(200, Some(&json!({"access_token": tok, "expires_in": 3599})), "u");
        let ProbeOutcome::Issued { claims, expires_in } = &x.outcome else {
            panic!()
        };
        assert_eq!(claims["oid"], "o1");
        assert_eq!(*expires_in, Some(3599));
        assert!(!serde_json::to_string(&x.outcome).unwrap().contains(&payload));
        assert_eq!(format!("{:?}", x.access_token), "Some(AccessToken(<redacted>))");
    }

    #[test]
    fn a_proxy_page_is_a_failure_not_a_rejection() {
        let x = parse_answer(502, None, "u");
        assert!(matches!(x.outcome, ProbeOutcome::Failed { .. }));
    }

    #[test]
    fn data_plane_requests_by_resource_type() {
        let kv = "/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/kv1";
        let d = data_plane(kv, None, ("vault.azure.net", "core.windows.net")).unwrap();
        assert_eq!(
            d.url,
            "https://kv1.vault.azure.net/secrets/wi-probe-authorization-check?api-version=7.4"
        );
        let c = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/c1";
        assert!(
            data_plane(c, None, ("vault.azure.net", "core.windows.net"))
                .unwrap()
                .url
                .ends_with("st.blob.core.windows.net/c1?restype=container&comp=list&maxresults=1")
        );
        let odd = data_plane(
            kv,
            Some("https://collector.example/"),
            ("vault.azure.net", "core.windows.net"),
        )
        .unwrap();
        assert!(odd.url.starts_with("https://kv1.vault.azure.net/"), "{}", odd.url);
        let own = data_plane(
            kv,
            Some("https://kv1.vault.azure.net/"),
            ("vault.azure.net", "core.windows.net"),
        )
        .unwrap();
        assert!(
            own.url.starts_with("https://kv1.vault.azure.net/secrets/"),
            "{}",
            own.url
        );
        let vm = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v";
        assert!(data_plane(vm, None, ("vault.azure.net", "core.windows.net")).is_none());
    }

    #[test]
    fn service_error_codes() {
        let kv = r#"{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByRbac"}}}"#;
        assert_eq!(error_of(kv, None).0.as_deref(), Some("ForbiddenByRbac"));
        let st = "<?xml version=\"1.0\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized.\nRequestId:x</Message></Error>";
        let (c, m) = error_of(st, None);
        assert_eq!(c.as_deref(), Some("AuthorizationPermissionMismatch"));
        assert_eq!(m.as_deref(), Some("This request is not authorized."));
    }
}
