//! Self-test of the Entra token-endpoint model (tests/common/fake_entra.rs): one request per
//! outcome of its decision order, checked for status, `error`, `error_codes`, the values the
//! description embeds and Entra's body shape; and the request log never holds an assertion.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::fake_entra::*;
use serde_json::Value;

const TENANT: &str = "2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f";
const DOMAIN: &str = "contoso.onmicrosoft.com";
const CLIENT_ID: &str = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e";
const NO_SP_CLIENT: &str = "3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d";
const NO_FIC_CLIENT: &str = "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b";
const ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f/4c5d6e7f-8091-4a2b-b3c4-d5e6f7a8b9c0/";
/// Reachable, but its JWKS publishes only key 2 (a rotation the token's key 1 missed).
const ROTATED: &str = "https://issuer.example.com/rotated/";
/// Listed as unreachable.
const DOWN: &str = "https://issuer.example.com/down/";
/// Trusted by a credential but unknown to the directory's issuer list.
const UNLISTED: &str = "https://issuer.example.com/unlisted/";
const SUBJECT: &str = "system:serviceaccount:payments:checkout-api";
const IAT: i64 = 1_773_133_200; // 2026-03-10T09:00:00Z
const NOW: i64 = IAT + 600;

fn directory() -> Directory {
    let (k1, k2) = (issuer_key(1), issuer_key(2));
    let fic = |name: &str, iss: &str, sub: &str| Fic::new(name, iss, sub);
    let mut aud_typo = fic("aud-typo", ISSUER, "system:serviceaccount:payments:aud-typo");
    aud_typo.audiences = vec!["api://AzureADTokenExchange/".into()];
    let app = App::new(CLIENT_ID, "id-payments-checkout")
        .with(fic("checkout", ISSUER, SUBJECT))
        .with(fic("mixed", ISSUER, "system:serviceaccount:payments:Checkout-Worker"))
        .with(aud_typo)
        .with(fic("rotated", ROTATED, SUBJECT))
        .with(fic("down", DOWN, SUBJECT))
        .with(fic("unlisted", UNLISTED, SUBJECT));
    let mut no_sp = App::new(NO_SP_CLIENT, "app-without-sp").with(fic("checkout", ISSUER, SUBJECT));
    no_sp.has_service_principal = false;
    Directory {
        tenants: vec![Tenant {
            id: TENANT.into(),
            domains: vec![DOMAIN.into()],
            apps: vec![app, no_sp, App::new(NO_FIC_CLIENT, "id-payments-orders")],
        }],
        issuers: vec![
            (ISSUER.into(), IssuerState::Ok { jwks: jwks(&[&k1]) }),
            (ROTATED.into(), IssuerState::Ok { jwks: jwks(&[&k2]) }),
            (DOWN.into(), IssuerState::Unreachable),
        ],
        now: NOW,
        legacy_70021: false,
        canned: None,
        resources: default_resources(),
    }
}

// ---- tokens ---------------------------------------------------------------------------------

/// A projected-token-shaped assertion signed by key 1 (kid of key 1).
fn token_with(iss: &str, sub: &str, aud: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut claims = sa_claims(iss, "payments", "checkout-api", aud, IAT, 3600);
    claims["sub"] = sub.into();
    f(&mut claims);
    let k1 = issuer_key(1);
    sign(&claims, &k1.kid, &k1)
}

fn token(iss: &str, sub: &str) -> String {
    token_with(iss, sub, EXCHANGE_AUDIENCE, |_| {})
}

fn good() -> String {
    token(ISSUER, SUBJECT)
}

// ---- a minimal HTTP/1.1 client --------------------------------------------------------------

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn send(e: &FakeEntra, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let addr = e.url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let raw = String::from_utf8(raw).expect("utf-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .expect("status line")
        .split(' ')
        .nth(1)
        .expect("code")
        .parse()
        .expect("num");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The form the Azure Identity SDKs send (field order as in the facts notes, §2.1).
fn sdk_form(client_id: &str, assertion: &str) -> Vec<(String, String)> {
    [
        ("scope", ARM_SCOPE),
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
        ("grant_type", "client_credentials"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Replace (Some) or drop (None) a field.
fn set(mut form: Vec<(String, String)>, key: &str, value: Option<&str>) -> Vec<(String, String)> {
    let at = form.iter().position(|(k, _)| k == key);
    match (at, value) {
        (Some(i), Some(v)) => form[i].1 = v.to_string(),
        (Some(i), None) => {
            form.remove(i);
        }
        (None, Some(v)) => form.push((key.to_string(), v.to_string())),
        (None, None) => {}
    }
    form
}

/// POST a form to the tenant's token endpoint; then check the log holds no part of any
/// credential that was sent.
fn post(e: &FakeEntra, tenant: &str, form: &[(String, String)]) -> Reply {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let reply = send(
        e,
        "POST",
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    );
    assert_log_clean(e, form);
    reply
}

fn assert_log_clean(e: &FakeEntra, form: &[(String, String)]) {
    let log = format!("{:?}", e.requests());
    for (k, v) in form {
        if k == "client_assertion" || k == "client_secret" {
            for part in v.split('.').filter(|p| p.len() > 8) {
                assert!(!log.contains(part), "the log holds part of the {k}: {log}");
            }
        }
    }
}

/// An Entra error: status, `error`, `error_codes`, the description's code prefix, embedded
/// values and Trace/Correlation/Timestamp lines, and the other body fields.
fn expect_error(r: &Reply, status: u16, error: &str, code: u64, embeds: &[&str]) -> Value {
    assert_eq!(r.status, status, "status; body {}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "content type {:?}",
        r.header("content-type")
    );
    let v = r.json();
    assert_eq!(v["error"], error, "error; body {}", r.body);
    assert_eq!(
        v["error_codes"],
        serde_json::json!([code]),
        "error_codes; body {}",
        r.body
    );
    let d = v["error_description"].as_str().expect("description");
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    for want in embeds {
        assert!(d.contains(want), "description lacks {want:?}: {d}");
    }
    let trace = v["trace_id"].as_str().expect("trace_id");
    let corr = v["correlation_id"].as_str().expect("correlation_id");
    let ts = v["timestamp"].as_str().expect("timestamp");
    assert_eq!(ts, "2026-03-10 09:10:00Z", "timestamp is Entra's clock");
    assert!(
        d.ends_with(&format!(
            "\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"
        )),
        "{d:?}"
    );
    for id in [trace, corr] {
        assert_eq!(id.len(), 36, "guid {id}");
        assert_eq!(
            id.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "guid {id}"
        );
    }
    assert_eq!(
        v["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
    assert_eq!(r.header("x-ms-request-id"), Some(trace));
    v
}

fn last(e: &FakeEntra) -> Request {
    e.requests().pop().expect("a request")
}

// ---- success --------------------------------------------------------------------------------

#[test]
fn a_matching_assertion_gets_a_token_and_the_form_is_recorded_without_it() {
    let e = FakeEntra::start(directory());
    let assertion = good();
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &assertion));
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    assert_eq!(v["ext_expires_in"], 3599);
    assert_eq!(v["access_token"], access_token());
    assert_eq!(v.as_object().expect("object").len(), 4, "{v}");

    let req = last(&e);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(req.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        req.field_names(),
        [
            "scope",
            "client_id",
            "client_assertion_type",
            "client_assertion",
            "grant_type"
        ]
    );
    assert!(req.assertion_sent && !req.secret_sent);
    assert_eq!(req.field("client_assertion"), None);
    assert_eq!(req.field("scope"), Some(ARM_SCOPE));
    assert_eq!(req.field("client_id"), Some(CLIENT_ID));
    assert_eq!(req.field("client_assertion_type"), Some(JWT_BEARER));
    assert_eq!(req.field("grant_type"), Some("client_credentials"));
    assert_eq!((req.status, req.error_code), (200, None));
    assert!(!format!("{:?}", e.requests()).contains(&assertion));
}

#[test]
fn the_access_token_carries_the_marker_raw_and_decoded() {
    use base64::Engine;
    let t = access_token();
    assert!(t.contains(ACCESS_TOKEN_MARKER), "{t}");
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .expect("base64url payload"),
    )
    .expect("json payload");
    assert_eq!(claims["marker"], ACCESS_TOKEN_MARKER);
    assert!(
        parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')),
        "{t}"
    );
}

#[test]
fn a_domain_tenant_a_trailing_slash_resource_and_doubled_slashes_are_accepted() {
    let e = FakeEntra::start(directory());
    let r = post(&e, DOMAIN, &sdk_form(CLIENT_ID, &good()));
    assert_eq!(r.status, 200, "{}", r.body);
    let form = set(
        sdk_form(CLIENT_ID, &good()),
        "scope",
        Some("https://vault.azure.net//.default"),
    );
    assert_eq!(post(&e, TENANT, &form).status, 200);
    let body = format!(
        "client_id={CLIENT_ID}&grant_type=client_credentials&scope={}&client_assertion_type={}&client_assertion={}",
        encode(ARM_SCOPE),
        encode(JWT_BEARER),
        good()
    );
    let r = send(
        &e,
        "POST",
        &format!("//{TENANT}//oauth2/v2.0/token"),
        &[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(last(&e).path, format!("//{TENANT}//oauth2/v2.0/token"), "raw path kept");
}

// ---- path, method, parameters ---------------------------------------------------------------

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let e = FakeEntra::start(directory());
    let r = send(&e, "POST", &format!("/{TENANT}/oauth2/token"), &[], "");
    assert_eq!(r.status, 404);
    assert_eq!((last(&e).status, last(&e).error_code), (404, None));
    let r = send(&e, "GET", &format!("/{TENANT}/oauth2/v2.0/token"), &[], "");
    expect_error(&r, 405, "invalid_request", 900561, &["Received a GET request."]);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    assert_eq!(last(&e).error_code, Some(900561));
}

#[test]
fn a_missing_client_id_is_900144() {
    let e = FakeEntra::start(directory());
    let r = post(&e, TENANT, &set(sdk_form(CLIENT_ID, &good()), "client_id", None));
    expect_error(&r, 400, "invalid_request", 900144, &["parameter: 'client_id'."]);
    let r = post(&e, TENANT, &set(sdk_form(CLIENT_ID, &good()), "client_id", Some("")));
    expect_error(&r, 400, "invalid_request", 900144, &["'client_id'"]);
    // A JSON body is not a form: nothing is read from it.
    let r = send(
        &e,
        "POST",
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[("Content-Type", "application/json")],
        &format!("{{\"client_id\":\"{CLIENT_ID}\"}}"),
    );
    expect_error(&r, 400, "invalid_request", 900144, &["'client_id'"]);
}

#[test]
fn a_missing_or_wrong_grant_type_is_refused() {
    let e = FakeEntra::start(directory());
    let r = post(&e, TENANT, &set(sdk_form(CLIENT_ID, &good()), "grant_type", None));
    expect_error(&r, 400, "invalid_request", 900144, &["parameter: 'grant_type'."]);
    let r = post(
        &e,
        TENANT,
        &set(sdk_form(CLIENT_ID, &good()), "grant_type", Some("password")),
    );
    expect_error(&r, 400, "unsupported_grant_type", 70003, &["'password'"]);
}

// ---- tenant and client ----------------------------------------------------------------------

#[test]
fn a_tenant_that_is_neither_guid_nor_domain_is_900023() {
    let e = FakeEntra::start(directory());
    let r = post(&e, "contoso", &sdk_form(CLIENT_ID, &good()));
    expect_error(
        &r,
        400,
        "invalid_request",
        900023,
        &["Specified tenant identifier 'contoso' is neither a valid DNS name, nor a valid external domain."],
    );
}

#[test]
fn an_unknown_tenant_is_90002() {
    let e = FakeEntra::start(directory());
    for t in ["9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "fabrikam.onmicrosoft.com"] {
        let r = post(&e, t, &sdk_form(CLIENT_ID, &good()));
        expect_error(
            &r,
            400,
            "invalid_request",
            90002,
            &[&format!("Tenant '{t}' not found.")],
        );
    }
}

#[test]
fn an_unknown_client_is_700016_naming_client_and_tenant() {
    let e = FakeEntra::start(directory());
    let principal_id = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
    let r = post(&e, TENANT, &sdk_form(principal_id, &good()));
    expect_error(
        &r,
        400,
        "unauthorized_client",
        700016,
        &[&format!(
            "Application with identifier '{principal_id}' was not found in the directory '{TENANT}'."
        )],
    );
}

#[test]
fn an_app_without_service_principal_is_7000229() {
    let e = FakeEntra::start(directory());
    let r = post(&e, TENANT, &sdk_form(NO_SP_CLIENT, &good()));
    expect_error(
        &r,
        401,
        "invalid_client",
        7000229,
        &[&format!(
            "The client application {NO_SP_CLIENT} is missing service principal in the tenant {TENANT}."
        )],
    );
}

// ---- the assertion --------------------------------------------------------------------------

#[test]
fn a_missing_assertion_is_7000218_and_a_secret_7000215() {
    let e = FakeEntra::start(directory());
    let r = post(&e, TENANT, &set(sdk_form(CLIENT_ID, &good()), "client_assertion", None));
    expect_error(
        &r,
        401,
        "invalid_client",
        7000218,
        &["'client_assertion' or 'client_secret'"],
    );
    assert!(!last(&e).assertion_sent);
    let form = set(
        sdk_form(CLIENT_ID, ""),
        "client_secret",
        Some("s3cr3t-value-not-to-be-kept"),
    );
    let r = post(&e, TENANT, &form);
    expect_error(&r, 401, "invalid_client", 7000215, &[CLIENT_ID]);
    let req = last(&e);
    assert!(req.secret_sent && !req.assertion_sent);
    assert!(!format!("{:?}", e.requests()).contains("s3cr3t"));
}

#[test]
fn a_wrong_or_missing_assertion_type_is_90011() {
    let e = FakeEntra::start(directory());
    let wrong = set(
        sdk_form(CLIENT_ID, &good()),
        "client_assertion_type",
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer"),
    );
    expect_error(
        &post(&e, TENANT, &wrong),
        400,
        "invalid_request",
        90011,
        &["Unexpected client assertion type."],
    );
    let none = set(sdk_form(CLIENT_ID, &good()), "client_assertion_type", None);
    expect_error(&post(&e, TENANT, &none), 400, "invalid_request", 90011, &[]);
}

#[test]
fn an_assertion_that_is_not_a_jwt_is_50027() {
    let e = FakeEntra::start(directory());
    let no_iss = token_with(ISSUER, SUBJECT, EXCHANGE_AUDIENCE, |c| {
        c.as_object_mut().expect("claims").remove("iss");
    });
    for bad in [
        "not-a-jwt",
        "aaaa.bbbb.cccc",
        "eyJhbGciOiJSUzI1NiJ9..sig",
        no_iss.as_str(),
    ] {
        let r = post(&e, TENANT, &sdk_form(CLIENT_ID, bad));
        expect_error(
            &r,
            400,
            "invalid_request",
            50027,
            &["JWT token is invalid or malformed."],
        );
    }
}

// ---- federated credentials ------------------------------------------------------------------

#[test]
fn an_app_without_federated_credentials_is_70025() {
    let e = FakeEntra::start(directory());
    let r = post(&e, TENANT, &sdk_form(NO_FIC_CLIENT, &good()));
    expect_error(
        &r,
        401,
        "invalid_client",
        70025,
        &[&format!(
            "The client '{NO_FIC_CLIENT}'(id-payments-orders) has no configured federated identity credentials."
        )],
    );
}

#[test]
fn an_issuer_no_credential_trusts_is_700211() {
    let e = FakeEntra::start(directory());
    let without_slash = ISSUER.trim_end_matches('/');
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &token(without_slash, SUBJECT)));
    expect_error(
        &r,
        401,
        "invalid_client",
        700211,
        &[&format!(
            "No matching federated identity record found for presented assertion issuer '{without_slash}'."
        )],
    );
}

#[test]
fn another_subject_is_700213_and_a_case_only_difference_7002138() {
    let e = FakeEntra::start(directory());
    let other = "system:serviceaccount:payments:default";
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &token(ISSUER, other)));
    expect_error(
        &r,
        401,
        "invalid_client",
        700213,
        &[&format!(
            "No matching federated identity record found for presented assertion subject '{other}'."
        )],
    );
    let lower = "system:serviceaccount:payments:checkout-worker";
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &token(ISSUER, lower)));
    expect_error(
        &r,
        401,
        "invalid_client",
        7002138,
        &[
            &format!("presented assertion subject '{lower}'."),
            "The subject matches with case-insensitive comparison, but not with case-sensitive comparison.",
        ],
    );
}

#[test]
fn an_audience_no_credential_accepts_is_700212() {
    let e = FakeEntra::start(directory());
    // The credential for this subject holds `api://AzureADTokenExchange/`.
    let t = token(ISSUER, "system:serviceaccount:payments:aud-typo");
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &t));
    expect_error(
        &r,
        401,
        "invalid_client",
        700212,
        &[&format!(
            "No matching federated identity record found for presented assertion audience '{EXCHANGE_AUDIENCE}'."
        )],
    );
    // A token minted for the API server matches the right credential by issuer and subject only.
    let t = token_with(ISSUER, SUBJECT, "https://kubernetes.default.svc.cluster.local", |_| {});
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &t));
    expect_error(
        &r,
        401,
        "invalid_client",
        700212,
        &["assertion audience 'https://kubernetes.default.svc.cluster.local'"],
    );
}

#[test]
fn the_legacy_mode_answers_every_mismatch_with_70021() {
    let mut dir = directory();
    dir.legacy_70021 = true;
    let e = FakeEntra::start(dir);
    let without_slash = ISSUER.trim_end_matches('/');
    let cases = [
        (without_slash, SUBJECT, EXCHANGE_AUDIENCE),
        (ISSUER, "system:serviceaccount:payments:default", EXCHANGE_AUDIENCE),
        (
            ISSUER,
            "system:serviceaccount:payments:checkout-worker",
            EXCHANGE_AUDIENCE,
        ),
        (ISSUER, SUBJECT, "https://kubernetes.default.svc.cluster.local"),
    ];
    for (iss, sub, aud) in cases {
        let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &token_with(iss, sub, aud, |_| {})));
        expect_error(
            &r,
            401,
            "invalid_client",
            70021,
            &[&format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."
            )],
        );
    }
    assert_eq!(post(&e, TENANT, &sdk_form(CLIENT_ID, &good())).status, 200);
}

// ---- time, issuer, signature ----------------------------------------------------------------

#[test]
fn an_expired_or_not_yet_valid_assertion_is_700024_without_skew() {
    let e = FakeEntra::start(directory());
    let expired = token_with(ISSUER, SUBJECT, EXCHANGE_AUDIENCE, |c| c["exp"] = (NOW - 1).into());
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &expired));
    expect_error(
        &r,
        401,
        "invalid_client",
        700024,
        &[
            "Client assertion is not within its valid time range. Current time: 2026-03-10T09:10:00.0000000Z, assertion valid from 2026-03-10T09:00:00.0000000Z, expiry time of assertion 2026-03-10T09:09:59.0000000Z.",
        ],
    );
    let at_exp = token_with(ISSUER, SUBJECT, EXCHANGE_AUDIENCE, |c| c["exp"] = NOW.into());
    assert_eq!(
        post(&e, TENANT, &sdk_form(CLIENT_ID, &at_exp)).status,
        200,
        "valid at exp == now"
    );
    let early = token_with(ISSUER, SUBJECT, EXCHANGE_AUDIENCE, |c| c["nbf"] = (NOW + 1).into());
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &early));
    expect_error(
        &r,
        401,
        "invalid_client",
        700024,
        &["assertion valid from 2026-03-10T09:10:01.0000000Z"],
    );
    let no_nbf = token_with(ISSUER, SUBJECT, EXCHANGE_AUDIENCE, |c| {
        c.as_object_mut().expect("claims").remove("nbf");
        c["exp"] = (NOW - 3600).into();
    });
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &no_nbf));
    expect_error(
        &r,
        401,
        "invalid_client",
        700024,
        &["assertion valid from 1970-01-01T00:00:00.0000000Z"],
    );
}

#[test]
fn an_unreachable_or_unknown_issuer_is_90061() {
    let e = FakeEntra::start(directory());
    for iss in [DOWN, UNLISTED] {
        let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &token(iss, SUBJECT)));
        expect_error(
            &r,
            400,
            "invalid_request",
            90061,
            &["Request to External OIDC endpoint failed."],
        );
    }
}

#[test]
fn a_kid_missing_from_the_jwks_is_7000272_key_not_in_metadata() {
    let e = FakeEntra::start(directory());
    let kid = issuer_key(1).kid;
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &token(ROTATED, SUBJECT)));
    expect_error(
        &r,
        401,
        "invalid_client",
        7000272,
        &[&format!(
            "The certificate with identifier {kid} used to sign the federated credential could not be found in the metadata of identity provider {ROTATED}."
        )],
    );
}

#[test]
fn a_signature_the_named_key_does_not_verify_is_50013_key_found() {
    let e = FakeEntra::start(directory());
    let (k1, k2) = (issuer_key(1), issuer_key(2));
    // Names key 1 (published) but is signed by key 2.
    let t = sign(
        &sa_claims(ISSUER, "payments", "checkout-api", EXCHANGE_AUDIENCE, IAT, 3600),
        &k1.kid,
        &k2,
    );
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &t));
    expect_error(
        &r,
        401,
        "invalid_client",
        50013,
        &[&format!(
            "Assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{}']",
            k1.kid
        )],
    );
    // A tampered payload under a good signature fails the same way.
    let good = good();
    let parts: Vec<&str> = good.split('.').collect();
    let other = token(ISSUER, SUBJECT);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        token_with(ISSUER, SUBJECT, EXCHANGE_AUDIENCE, |c| c["jti"] = "x".into())
            .split('.')
            .nth(1)
            .expect("payload"),
        other.split('.').nth(2).expect("sig")
    );
    let r = post(&e, TENANT, &sdk_form(CLIENT_ID, &tampered));
    expect_error(&r, 401, "invalid_client", 50013, &["Key was found, but use of the key"]);
}

// ---- scope ----------------------------------------------------------------------------------

#[test]
fn a_scope_without_default_is_1002012() {
    let e = FakeEntra::start(directory());
    let r = post(
        &e,
        TENANT,
        &set(
            sdk_form(CLIENT_ID, &good()),
            "scope",
            Some("https://management.azure.com/user_impersonation"),
        ),
    );
    expect_error(
        &r,
        400,
        "invalid_scope",
        1002012,
        &[
            "The provided value for scope https://management.azure.com/user_impersonation is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        ],
    );
}

#[test]
fn an_unknown_resource_is_500011() {
    let e = FakeEntra::start(directory());
    let r = post(
        &e,
        TENANT,
        &set(
            sdk_form(CLIENT_ID, &good()),
            "scope",
            Some("https://managment.azure.com/.default"),
        ),
    );
    expect_error(
        &r,
        400,
        "invalid_resource",
        500011,
        &[&format!(
            "The resource principal named https://managment.azure.com was not found in the tenant named {TENANT}."
        )],
    );
}

#[test]
fn a_missing_scope_is_90014() {
    let e = FakeEntra::start(directory());
    let r = post(&e, TENANT, &set(sdk_form(CLIENT_ID, &good()), "scope", None));
    expect_error(
        &r,
        400,
        "invalid_request",
        90014,
        &["The required field 'scope' is missing"],
    );
}

// ---- ids and the log ------------------------------------------------------------------------

#[test]
fn the_correlation_id_echoes_client_request_id() {
    let e = FakeEntra::start(directory());
    let id = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
    let r = send(
        &e,
        "POST",
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("client-request-id", id),
        ],
        &format!("client_id={NO_FIC_CLIENT}"),
    );
    let v = expect_error(&r, 400, "invalid_request", 900144, &["'grant_type'"]);
    assert_eq!(v["correlation_id"], id);
    assert_eq!(last(&e).client_request_id.as_deref(), Some(id));
    let r = post(&e, TENANT, &sdk_form("", "x"));
    let v2 = expect_error(&r, 400, "invalid_request", 900144, &[]);
    assert_ne!(v["trace_id"], v2["trace_id"], "trace ids differ per request");
}

#[test]
fn the_log_records_every_outcome_but_no_assertion() {
    let e = FakeEntra::start(directory());
    let assertions = [
        good(),
        token(ROTATED, SUBJECT),
        token(ISSUER, "system:serviceaccount:payments:default"),
    ];
    for a in &assertions {
        post(&e, TENANT, &sdk_form(CLIENT_ID, a));
    }
    let log = e.requests();
    assert_eq!(
        log.iter().map(|r| (r.status, r.error_code)).collect::<Vec<_>>(),
        [(200, None), (401, Some(7000272)), (401, Some(700213))]
    );
    let dump = format!("{log:?}");
    for a in &assertions {
        assert!(!dump.contains(a.as_str()));
        for part in a.split('.') {
            assert!(!dump.contains(part), "log holds an assertion segment");
        }
    }
    assert!(
        log.iter()
            .all(|r| r.assertion_sent && r.field("client_assertion").is_none())
    );
}
