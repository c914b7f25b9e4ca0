//! Projected service-account tokens: decoded, checked, never shown.
//!
//! A [`TokenFile`] keeps the compact JWT only in memory, in a field that is neither
//! serialised nor printed by `Debug`, so that signature verification can run; everything else
//! works from the decoded header and claims.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::facts::{JwkSummary, Jwks, SignatureCheck, Token};

/// The raw compact token. `Debug` prints a placeholder; there is no `Serialize`.
#[derive(Clone)]
pub struct RawToken(String);

impl RawToken {
    /// The compact token, for the one request that must send it (the --probe exchange).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RawToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawToken(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct TokenFile {
    pub source: String,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `None` when the snapshot held decoded claims only.
    pub raw: Option<RawToken>,
    /// For decoded claims: the verdict the collector reached when it held the token.
    pub recorded_signature: Option<SignatureCheck>,
}

#[derive(Debug, Clone)]
pub struct JwksFile {
    pub source: String,
    pub keys: Vec<Value>,
}

impl JwksFile {
    pub fn summary(&self) -> Jwks {
        Jwks {
            source: self.source.clone(),
            keys: self
                .keys
                .iter()
                .map(|k| JwkSummary {
                    kid: k.get("kid").and_then(Value::as_str).map(str::to_string),
                    kty: k.get("kty").and_then(Value::as_str).map(str::to_string),
                    alg: k.get("alg").and_then(Value::as_str).map(str::to_string),
                })
                .collect(),
        }
    }
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys
            .iter()
            .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
    }
}

/// Whether text looks like one compact JWT (`eyJ….….…`), before any decoding.
pub fn looks_like_jwt(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("eyJ") && t.matches('.').count() >= 1 && !t.contains(char::is_whitespace)
}

/// Decode a compact JWT. The error says what is wrong without echoing the token.
pub fn decode(text: &str, source: &str) -> Result<TokenFile, String> {
    let t = text.trim();
    let parts: Vec<&str> = t.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "looks like a JWT but has {} dot-separated parts, not 3",
            parts.len()
        ));
    }
    let part = |i: usize, what: &str| -> Result<Map<String, Value>, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(parts[i].trim_end_matches('='))
            .map_err(|e| format!("JWT {what} is not base64url: {e}"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("JWT {what} is not a JSON object")),
            Err(e) => Err(format!("JWT {what} is not JSON: {e}")),
        }
    };
    let header = part(0, "header")?;
    let claims = part(1, "payload")?;
    if !header.contains_key("alg") {
        return Err("JWT header has no \"alg\"".into());
    }
    Ok(TokenFile {
        source: source.to_string(),
        header,
        claims,
        raw: Some(RawToken(t.to_string())),
        recorded_signature: None,
    })
}

fn s(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_string)
}

fn i(m: &Map<String, Value>, k: &str) -> Option<i64> {
    m.get(k)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

impl TokenFile {
    /// The decoded view, with the signature checked against `jwks` when given.
    pub fn to_fact(&self, jwks: Option<&JwksFile>) -> Token {
        let c = &self.claims;
        let aud = match c.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => vec![],
        };
        let k8s = c.get("kubernetes.io").and_then(Value::as_object);
        let nested = |outer: &str| {
            k8s.and_then(|m| m.get(outer))
                .and_then(Value::as_object)
                .and_then(|m| s(m, "name"))
        };
        Token {
            source: self.source.clone(),
            alg: s(&self.header, "alg"),
            kid: s(&self.header, "kid"),
            iss: s(c, "iss"),
            sub: s(c, "sub"),
            aud,
            exp: i(c, "exp"),
            iat: i(c, "iat"),
            nbf: i(c, "nbf"),
            pod_name: nested("pod"),
            namespace: k8s.and_then(|m| s(m, "namespace")),
            service_account: nested("serviceaccount"),
            signature: self.verify(jwks),
        }
    }

    /// The signature checked against `jwks` (unknown without a raw token or keys).
    pub fn verify(&self, jwks: Option<&JwksFile>) -> crate::facts::Fact<SignatureCheck> {
        use crate::facts::Fact;
        let Some(raw) = &self.raw else {
            if let Some(s) = &self.recorded_signature {
                return Fact::found(s.clone());
            }
            return Fact::unknown(
                "the snapshot holds decoded token claims only; the signature cannot be checked offline",
                None,
            );
        };
        let Some(jwks) = jwks else {
            return Fact::unknown("no JWKS in the facts", None);
        };
        let kid = s(&self.header, "kid");
        let alg = s(&self.header, "alg").unwrap_or_default();
        if alg != "RS256" {
            return Fact::found(SignatureCheck {
                verified: false,
                detail: format!("token alg is {alg:?}; Entra supports RS256 only"),
            });
        }
        let key = jwks
            .keys
            .iter()
            .find(|k| kid.is_some() && k.get("kid").and_then(Value::as_str) == kid.as_deref());
        let Some(key) = key else {
            return Fact::found(SignatureCheck {
                verified: false,
                detail: format!("no JWKS key has kid {:?}", kid.unwrap_or_default()),
            });
        };
        let jwk: Jwk = match serde_json::from_value(key.clone()) {
            Ok(j) => j,
            Err(e) => {
                return Fact::found(SignatureCheck {
                    verified: false,
                    detail: format!("the JWKS key is not a usable JWK: {e}"),
                });
            }
        };
        let dk = match DecodingKey::from_jwk(&jwk) {
            Ok(k) => k,
            Err(e) => {
                return Fact::found(SignatureCheck {
                    verified: false,
                    detail: format!("the JWKS key cannot verify: {e}"),
                });
            }
        };
        let t = &raw.0;
        let Some(dot) = t.rfind('.') else {
            return Fact::unknown("token has no signature part", None);
        };
        let (message, signature) = (&t[..dot], &t[dot + 1..]);
        match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &dk, Algorithm::RS256) {
            Ok(true) => Fact::found(SignatureCheck {
                verified: true,
                detail: "RS256 signature verifies with the JWKS key".into(),
            }),
            Ok(false) => Fact::found(SignatureCheck {
                verified: false,
                detail: "RS256 signature does not verify with the JWKS key of the same kid".into(),
            }),
            Err(e) => Fact::found(SignatureCheck {
                verified: false,
                detail: format!("signature check failed: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_two_part_tokens_without_echoing_them() {
        let err = decode("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", "t").unwrap_err();
        assert!(err.contains("2 dot-separated parts"), "{err}");
        assert!(!err.contains("eyJ"));
    }

    #[test]
    fn raw_token_debug_is_redacted() {
        let t = decode("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "t").unwrap();
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("eyJhbGci"), "{dbg}");
    }
}
