//! A model of the Microsoft Entra ID v2 token endpoint, `POST /{tenant}/oauth2/v2.0/token`, as the
//! Azure Identity SDKs' `WorkloadIdentityCredential` / `ClientAssertionCredential` use it: a
//! client-credentials grant whose `client_assertion` is a Kubernetes projected service-account
//! token, matched against the federated identity credentials (FICs) of the app or managed identity
//! named by `client_id`. [`router`] gives the axum Router (another helper serves it over HTTPS);
//! [`FakeEntra::start`] serves it over plain HTTP on 127.0.0.1 for self-tests.
//!
//! Every request is recorded as a [`Request`]: method, path, and the form fields except the
//! credentials. `client_assertion` (and `client_secret`) are never stored, only whether they were
//! sent, so a test can assert the product sent exactly the SDK's form without the log holding a
//! token.
//!
//! Sources: the workload identity facts notes (§2 "Token exchange with Entra ID", §4 failure rows
//! WI-FIC-*, WI-ISS-*, WI-SA-*, WI-WH-*), `src/data/explain-signatures.json` (real response bodies
//! per code), Microsoft's error-code reference (MicrosoftDocs/entra-docs
//! docs/identity-platform/reference-error-codes.md) and the GitHub threads cited per row below.
//! Where only the code or only the text is attested, the row says which part is an assumption.
//!
//! # Decision order
//!
//! The first check that fails answers; a request that passes them all gets 200 and
//! [`access_token`]. Status / `error` / code:
//!
//!  1. Path is not `/{tenant}/oauth2/v2.0/token` → 404, plain body, no AADSTS code. Repeated
//!     slashes are collapsed first: Entra answered requests to `//{tenant}//oauth2/v2.0/token`
//!     (the old MSAL example's URL, facts §2.1) with real AADSTS errors, so it tolerates them;
//!     the log keeps the raw path so a test can still insist on a clean one.
//!  2. Method is not POST → 405 `invalid_request` AADSTS900561 (text from the error-code
//!     reference; the 405 status is this fake's choice — Entra's status for it is unverified).
//!  3. Form has no `client_id` → 400 `invalid_request` AADSTS900144 `The request body must contain
//!     the following parameter: 'client_id'.` (reference; the facts file calls this case likely,
//!     not confirmed). A body whose Content-Type is not `application/x-www-form-urlencoded` is
//!     read as an empty form, so it lands here too (assumption).
//!  4. Form has no `grant_type` → 400 `invalid_request` AADSTS900144 (`'grant_type'`); a grant
//!     type other than `client_credentials` → 400 `unsupported_grant_type` AADSTS70003 (code from
//!     the reference; the text is an assumption).
//!  5. Tenant segment neither a GUID nor a domain-like name → 400 `invalid_request` AADSTS900023
//!     (text and status from explain-signatures.json). The aliases `common`, `organizations` and
//!     `consumers` are not modelled and land here.
//!  6. No tenant with that id or domain → 400 `invalid_request` AADSTS90002 (explain-signatures).
//!  7. `client_id` is no app of that tenant → 400 `unauthorized_client` AADSTS700016 (text, status
//!     and `error` from explain-signatures / gh:Azure/login#561). The directory quoted is the
//!     tenant segment as sent (assumption: Entra may print the directory's name instead).
//!  8. App without service principal → 401 `invalid_client` AADSTS7000229 (explain-signatures).
//!  9. No `client_assertion` → 401 `invalid_client` AADSTS7000218 (reference text; `error` from
//!     reports such as nextauthjs/next-auth#11222). A `client_secret` instead → 401
//!     `invalid_client` AADSTS7000215: the model knows no secrets.
//! 10. `client_assertion_type` missing or not `urn:ietf:params:oauth:client-assertion-type:
//!     jwt-bearer` → 400 `invalid_request` AADSTS90011 `Unexpected client assertion type.`
//!     ASSUMPTION: not in the reference; the only report found is ADAL-era
//!     (AzureAD/azure-activedirectory-library-for-ruby#53). That a missing type is answered like
//!     a wrong one is also assumed.
//! 11. Assertion not a decodable JWT (three dot-separated base64url parts, JSON header and
//!     payload, string `iss` and `sub`, `aud` string or array, numeric `exp`) → 400
//!     `invalid_request` AADSTS50027 `JWT token is invalid or malformed.` ASSUMPTION: the text is
//!     what Entra answered to a malformed client assertion in panva/openid-client#348; the status
//!     and `error` for it were not seen.
//! 12. App has no federated credential at all → 401 `invalid_client` AADSTS70025 `The client
//!     '<client id>'(<display name>) has no configured federated identity credentials.` (text
//!     from GitHub Actions reports, e.g. dotnet-foundation/projects#503; status and `error`
//!     assumed like the rest of the 700xx client-authentication family).
//! 13. No credential whose issuer equals the token's `iss` byte for byte → 401 `invalid_client`
//!     AADSTS700211 (text: facts WI-FIC-001; status/`error`: explain-signatures,
//!     gh:Azure/azure-workload-identity#1200).
//! 14. Issuer matches, subject does not → 401 `invalid_client` AADSTS700213 (text: facts
//!     WI-FIC-003; status/`error`: terraform azurerm logs quoting `received HTTP status 401 …
//!     "invalid_client"`); AADSTS7002138 instead when a credential's subject equals `sub` ignoring
//!     case (text: facts, gh:Azure/login#515; `invalid_client` per the Node SDK example).
//! 15. Issuer and subject match, but no audience of those credentials equals one of the token's
//!     `aud` values exactly → 401 `invalid_client` AADSTS700212 (text and status from the
//!     explain-signatures example; the facts file marks the code itself uncertain). With several
//!     `aud` values the message quotes the first (assumption).
//!
//!     With [`Directory::legacy_70021`] set, 13–15 all answer the older combined form instead:
//!     AADSTS70021 `No matching federated identity record found for presented assertion.
//!     Assertion Issuer: '…'. Assertion Subject: '…'. Assertion Audience: '…'. <docs link>` —
//!     401 `invalid_client`, as in external-secrets/external-secrets#2783 (2023). Reports from
//!     2022 (gh:Azure/azure-workload-identity#340, #616) show the same text as 400
//!     `invalid_request`; this model picks the later one.
//! 16. `exp < now` or `nbf > now` → 401 `invalid_client` AADSTS700024 `Client assertion is not
//!     within its valid time range. Current time: …, assertion valid from …, expiry time of
//!     assertion …` (text and `error`: explain-signatures, MSAL reports). NO clock skew is
//!     allowed: Entra's tolerance is not documented (IdentityModel's default would be 5 min), and
//!     zero makes the boundary exact for tests; a token is still valid at `exp == now`. A token
//!     without `nbf` is quoted as valid from 1970-01-01, as Entra does.
//! 17. The issuer is [`IssuerState::Unreachable`], or not listed in [`Directory::issuers`] at all
//!     (the model cannot fetch an issuer it does not know) → 400 `invalid_request` AADSTS90061
//!     `Request to External OIDC endpoint failed.` (facts WI-ISS-003, explain-signatures).
//!     Discovery is not modelled separately: a reachable issuer serves its JWKS directly.
//! 18. The header's `kid` names no key of the JWKS (or there is no `kid`) → 401 `invalid_client`
//!     AADSTS7000272 `The certificate with identifier <kid> used to sign the federated credential
//!     could not be found in the metadata of identity provider <iss>. …` (the text and
//!     `invalid_client` from Azure/azure-workload-identity#1232; the 401 is assumed).
//! 19. `alg` is not RS256 (the only algorithm Entra supports for FICs), or the RS256 signature
//!     does not verify with that key → 401 `invalid_client` AADSTS50013 `… [Reason - Key was
//!     found, but use of the key to verify the signature failed., Thumbprint of key used by
//!     client: '<kid>']`.
//!     ASSUMPTION for 19 (and the status of 18): the facts file lists the code for JWKS/signature failures as
//!     uncertain (WI-ISS-004). Both texts are Entra's for other assertions (certificate
//!     credentials, OBO; MSAL.NET #2604, msgraph-sdk-php#1585, where `error` was
//!     `invalid_grant`); for a client assertion `invalid_client`/401 is assumed. Certificates
//!     quote a SHA-1 thumbprint; for a JWKS key the model quotes the `kid`.
//! 20. No `scope` → 400 `invalid_request` AADSTS90014 `The required field 'scope' is missing from
//!     the credential. Ensure that you have all the necessary parameters for the login request.`
//!     (text from ctron/oidc-cli#7 where the code was redacted; 90014 is the reference's
//!     MissingRequiredField — the pairing is an assumption).
//! 21. Scope not ending in `/.default` → 400 `invalid_scope` AADSTS1002012 `The provided value
//!     for scope <scope> is not valid. Client credential flows must have a scope value with
//!     /.default suffixed to the resource identifier (application ID URI).` (text from reports,
//!     e.g. MicrosoftDocs/azure-docs#99862; `invalid_scope` from databricks-sql-nodejs#226).
//! 22. The resource before `/.default` (trailing `/` ignored, case-insensitive) is not in
//!     [`Directory::resources`] → 400 `invalid_resource` AADSTS500011 `The resource principal
//!     named <resource> was not found in the tenant named <tenant> …` (facts WI-RBAC-007; body
//!     shape from rootinc/laravel-azure-middleware#51). The tenant quoted is the URL segment
//!     (assumption: Entra may print the tenant's name).
//! 23. Otherwise → 200 `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,
//!     "access_token":<access_token()>}`.
//!
//! Scope is checked last as the brief for this model orders it; where Entra really validates it
//! relative to the assertion is unknown.
//!
//! Error bodies have Entra's shape: `{"error", "error_description": "AADSTSn: <text>\r\nTrace ID:
//! <guid>\r\nCorrelation ID: <guid>\r\nTimestamp: <yyyy-mm-dd hh:mm:ssZ>", "error_codes": [n],
//! "timestamp", "trace_id", "correlation_id", "error_uri": "https://login.microsoftonline.com/
//! error?code=n"}`. Timestamps are [`Directory::now`]; trace ids count requests; the correlation
//! id echoes a GUID `client-request-id` header (as Entra does for MSAL), else counts too.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Appears in the decoded payload of [`access_token`] and literally in its last segment: no
/// output of the product may ever contain it.
pub const ACCESS_TOKEN_MARKER: &str = "FAKE-ACCESS-TOKEN-DO-NOT-PRINT";
/// The audience of workload identity tokens and of FICs.
pub const EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The only `client_assertion_type` the SDKs send.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The scope of an ARM token.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

const FIC_DOCS: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
const FIC_DOCS_OLD: &str =
    "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation";

// ---- the directory ---------------------------------------------------------------------------

/// What Entra knows: tenants with their apps and FICs, the OIDC issuers it can (or cannot) reach,
/// the resources tokens can be requested for, and its clock.
#[derive(Clone, Debug)]
pub struct Directory {
    pub tenants: Vec<Tenant>,
    /// `iss` value → what fetching its keys gives. An issuer not listed is unreachable.
    pub issuers: Vec<(String, IssuerState)>,
    /// Entra's clock, unix seconds.
    pub now: i64,
    /// Answer every FIC mismatch with the older combined AADSTS70021 text.
    pub legacy_70021: bool,
    /// Resource identifiers (`<resource>/.default` scopes) that exist in every tenant.
    pub resources: Vec<String>,
    /// Answer every well-formed POST with this error instead of deciding: `(status, error,
    /// code, text)`. For errors the model cannot produce from its directory (codes whose
    /// conditions no public source describes), so a test can still present their real shape.
    pub canned: Option<(u16, &'static str, u64, String)>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            tenants: Vec::new(),
            issuers: Vec::new(),
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            legacy_70021: false,
            resources: default_resources(),
            canned: None,
        }
    }
}

/// Well-known first-party resources whose service principals every tenant has.
pub fn default_resources() -> Vec<String> {
    [
        "https://management.azure.com",
        "https://management.core.windows.net",
        "https://vault.azure.net",
        "https://storage.azure.com",
        "https://graph.microsoft.com",
        "https://database.windows.net",
        "https://servicebus.azure.net",
        "https://eventhubs.azure.net",
        "https://cognitiveservices.azure.com",
        "https://monitor.azure.com",
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Clone, Debug, Default)]
pub struct Tenant {
    /// The tenant id (GUID).
    pub id: String,
    /// Verified domains, e.g. `contoso.onmicrosoft.com`.
    pub domains: Vec<String>,
    pub apps: Vec<App>,
}

/// An app registration or user-assigned managed identity, found by its client (app) id.
#[derive(Clone, Debug, Default)]
pub struct App {
    pub client_id: String,
    /// Quoted by AADSTS70025.
    pub display_name: String,
    /// False for an app registration created without `az ad sp create` (AADSTS7000229).
    pub has_service_principal: bool,
    pub credentials: Vec<Fic>,
}

impl App {
    /// An app with a service principal and no credentials yet.
    pub fn new(client_id: &str, display_name: &str) -> App {
        App {
            client_id: client_id.into(),
            display_name: display_name.into(),
            has_service_principal: true,
            credentials: Vec::new(),
        }
    }
    pub fn with(mut self, fic: Fic) -> App {
        self.credentials.push(fic);
        self
    }
}

/// A federated identity credential.
#[derive(Clone, Debug, Default)]
pub struct Fic {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

impl Fic {
    /// The credential AKS docs create: audience `api://AzureADTokenExchange`.
    pub fn new(name: &str, issuer: &str, subject: &str) -> Fic {
        Fic {
            name: name.into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: vec![EXCHANGE_AUDIENCE.into()],
        }
    }
}

#[derive(Clone, Debug)]
pub enum IssuerState {
    /// Discovery and JWKS are reachable; this is the JWKS (`{"keys": [...]}`).
    Ok { jwks: Value },
    /// Discovery or JWKS cannot be fetched (AADSTS90061).
    Unreachable,
}

// ---- the request log -------------------------------------------------------------------------

/// One request as received, without credentials.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The raw path, e.g. `/<tenant>/oauth2/v2.0/token`.
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    /// The `client-request-id` header MSAL sends, if any.
    pub client_request_id: Option<String>,
    /// Form fields in the order sent, without `client_assertion` and `client_secret`.
    pub form: Vec<(String, String)>,
    /// Every form field name in the order sent, the credentials' included (values dropped), to
    /// compare the whole form with the SDK's.
    pub names: Vec<String>,
    /// Whether a non-empty `client_assertion` was sent (its value is never kept).
    pub assertion_sent: bool,
    /// Whether a non-empty `client_secret` was sent (its value is never kept).
    pub secret_sent: bool,
    /// The answer: HTTP status and AADSTS code (None for 200 and 404).
    pub status: u16,
    pub error_code: Option<u64>,
}

impl Request {
    /// The first value of a recorded form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// [`Request::names`] as `&str`s.
    pub fn field_names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }
}

// ---- serving ---------------------------------------------------------------------------------

/// The token endpoint as an axum Router, and its request log.
pub fn router(dir: Directory) -> (Router, Arc<Mutex<Vec<Request>>>) {
    let dir = Arc::new(dir);
    let log: Arc<Mutex<Vec<Request>>> = Arc::default();
    let seq = Arc::new(AtomicU64::new(0));
    let l2 = log.clone();
    let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let (dir, log, seq) = (dir.clone(), l2.clone(), seq.clone());
        async move {
            let n = seq.fetch_add(1, Ordering::SeqCst) + 1;
            let req = Incoming::read(method, &uri, &headers, &body);
            let verdict = decide(&dir, &req);
            let (response, status, code) = render(&dir, n, &req, verdict);
            log.lock().expect("log").push(req.record(status, code));
            response
        }
    });
    (app, log)
}

/// The router served over plain HTTP on 127.0.0.1 by its own runtime.
pub struct FakeEntra {
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub url: String,
    pub log: Arc<Mutex<Vec<Request>>>,
    _rt: tokio::runtime::Runtime,
}

impl FakeEntra {
    pub fn start(dir: Directory) -> FakeEntra {
        let (app, log) = router(dir);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rt");
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeEntra { url, log, _rt: rt }
    }

    /// The value for AZURE_AUTHORITY_HOST (with the trailing slash the webhook injects).
    pub fn authority_host(&self) -> String {
        format!("{}/", self.url)
    }

    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.url)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().expect("log").clone()
    }
}

// ---- the fake access token -------------------------------------------------------------------

/// The access token every successful exchange returns: JWT-shaped, its payload carrying
/// [`ACCESS_TOKEN_MARKER`] as a claim (so decoded claims show it) and its third segment starting
/// with the marker (so the raw string contains it; the marker's characters are all base64url).
pub fn access_token() -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "fake-entra"});
    let claims = json!({
        "aud": "https://management.azure.com",
        "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
        "idtyp": "app",
        "ver": "1.0",
        "marker": ACCESS_TOKEN_MARKER,
        "note": "issued by tests/common/fake_entra.rs; not a credential",
    });
    format!(
        "{}.{}.{ACCESS_TOKEN_MARKER}-{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"not a signature")
    )
}

// ---- test tokens (the corpus's keys and signing path, as in examples/gen_corpus.rs) ------------

/// A test-only issuer signing key from tests/corpus/keys.
pub struct IssuerKey {
    pub pem: Vec<u8>,
    /// base64url(sha256(DER SPKI)), the kid the API server and `azwi jwks` use.
    pub kid: String,
    pub jwk: Value,
}

/// `tests/corpus/keys/issuer-key-<n>.pem` (n = 1 or 2), with the kid and JWK gen_corpus derives.
pub fn issuer_key(n: u8) -> IssuerKey {
    use rsa::RsaPrivateKey;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::EncodePublicKey;
    use rsa::traits::PublicKeyParts;
    use sha2::{Digest, Sha256};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/corpus/keys/issuer-key-{n}.pem"));
    let pem = std::fs::read(&path).expect("test key");
    let sk = RsaPrivateKey::from_pkcs1_pem(std::str::from_utf8(&pem).expect("pem")).expect("rsa key");
    let pk = sk.to_public_key();
    let der = pk.to_public_key_der().expect("der");
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_bytes()));
    let jwk = json!({
        "use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(pk.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(pk.e().to_bytes_be()),
    });
    IssuerKey { pem, kid, jwk }
}

/// A JWKS document publishing these keys.
pub fn jwks(keys: &[&IssuerKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// The claims of a projected service-account token (the shape gen_corpus mints).
pub fn sa_claims(iss: &str, ns: &str, sa: &str, aud: &str, iat: i64, lifetime: i64) -> Value {
    json!({
        "aud": [aud], "exp": iat + lifetime, "iat": iat, "iss": iss,
        "jti": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "kubernetes.io": {
            "namespace": ns,
            "serviceaccount": {"name": sa, "uid": "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e"},
        },
        "nbf": iat, "sub": format!("system:serviceaccount:{ns}:{sa}"),
    })
}

/// RS256-sign `claims` with `signer`, naming `kid` in the header (which need not be the signer's).
pub fn sign(claims: &Value, kid: &str, signer: &IssuerKey) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_string());
    let ek = jsonwebtoken::EncodingKey::from_rsa_pem(&signer.pem).expect("encoding key");
    jsonwebtoken::encode(&header, claims, &ek).expect("sign")
}

// ---- the request ----------------------------------------------------------------------------

/// A request as received. Holds the assertion while deciding; only [`Incoming::record`] leaves.
struct Incoming {
    method: Method,
    path: String,
    query: Option<String>,
    content_type: Option<String>,
    client_request_id: Option<String>,
    form: Vec<(String, String)>,
}

impl Incoming {
    fn read(method: Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Incoming {
        let hdr = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type = hdr(header::CONTENT_TYPE.as_str());
        let is_form = content_type.as_deref().is_some_and(|c| {
            c.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        });
        let form = if is_form {
            parse_form(&String::from_utf8_lossy(body))
        } else {
            Vec::new()
        };
        Incoming {
            method,
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            content_type,
            client_request_id: hdr("client-request-id"),
            form,
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Present and non-empty.
    fn given(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    fn record(&self, status: u16, error_code: Option<u64>) -> Request {
        const SECRET: [&str; 2] = ["client_assertion", "client_secret"];
        Request {
            method: self.method.to_string(),
            path: self.path.clone(),
            query: self.query.clone(),
            content_type: self.content_type.clone(),
            client_request_id: self.client_request_id.clone(),
            form: self
                .form
                .iter()
                .filter(|(k, _)| !SECRET.contains(&k.as_str()))
                .cloned()
                .collect(),
            names: self.form.iter().map(|(k, _)| k.clone()).collect(),
            assertion_sent: self.given("client_assertion").is_some(),
            secret_sent: self.given("client_secret").is_some(),
            status,
            error_code,
        }
    }
}

fn parse_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(kv), String::new()),
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- the decision ----------------------------------------------------------------------------

enum Verdict {
    NotFound,
    Fail(Failure),
    Issue,
}

struct Failure {
    status: u16,
    error: &'static str,
    code: u64,
    text: String,
}

fn fail(status: u16, error: &'static str, code: u64, text: impl Into<String>) -> Verdict {
    Verdict::Fail(Failure {
        status,
        error,
        code,
        text: text.into(),
    })
}

fn missing(name: &str) -> Verdict {
    fail(
        400,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// The parts of a client assertion Entra reads.
struct Assertion {
    kid: Option<String>,
    alg: Option<String>,
    iss: String,
    sub: String,
    aud: Vec<String>,
    exp: i64,
    nbf: Option<i64>,
    /// `header.payload`, what the signature covers.
    signed: String,
    signature: String,
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn b64_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.is_object().then_some(v)
}

impl Assertion {
    fn parse(jwt: &str) -> Option<Assertion> {
        let parts: Vec<&str> = jwt.trim().split('.').collect();
        let [h, p, s] = parts.as_slice() else { return None };
        let header = b64_json(h)?;
        let claims = b64_json(p)?;
        let aud = match &claims["aud"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        if aud.is_empty() || s.is_empty() {
            return None;
        }
        Some(Assertion {
            kid: header["kid"].as_str().map(str::to_string),
            alg: header["alg"].as_str().map(str::to_string),
            iss: claims["iss"].as_str()?.to_string(),
            sub: claims["sub"].as_str()?.to_string(),
            aud,
            exp: number(&claims["exp"])?,
            nbf: claims.get("nbf").and_then(number),
            signed: format!("{h}.{p}"),
            signature: s.to_string(),
        })
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// At least two dot-separated labels of letters, digits and inner hyphens.
fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `2024-05-14 09:12:03Z`
fn entra_time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `2024-05-14T10:15:40.0000000Z`, as AADSTS700024 prints times.
fn entra_instant(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S.0000000Z").to_string())
        .unwrap_or_default()
}

fn decide(dir: &Directory, r: &Incoming) -> Verdict {
    // 1. Path (repeated slashes collapsed).
    let segs: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
    let tenant_seg = match segs.as_slice() {
        [t, a, b, c]
            if a.eq_ignore_ascii_case("oauth2")
                && b.eq_ignore_ascii_case("v2.0")
                && c.eq_ignore_ascii_case("token") =>
        {
            *t
        }
        _ => return Verdict::NotFound,
    };
    // 2. Method.
    if r.method != Method::POST {
        return fail(
            405,
            "invalid_request",
            900561,
            format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {} request.",
                r.method
            ),
        );
    }
    if let Some((status, error, code, text)) = &dir.canned {
        return fail(*status, error, *code, text.clone());
    }
    // 3–4. Required parameters.
    let Some(client_id) = r.given("client_id") else {
        return missing("client_id");
    };
    match r.given("grant_type") {
        None => return missing("grant_type"),
        Some("client_credentials") => {}
        Some(g) => {
            return fail(
                400,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{g}'."),
            );
        }
    }
    // 5–6. Tenant.
    if !is_guid(tenant_seg) && !is_domain(tenant_seg) {
        return fail(
            400,
            "invalid_request",
            900023,
            format!(
                "Specified tenant identifier '{tenant_seg}' is neither a valid DNS name, nor a valid external domain."
            ),
        );
    }
    let Some(tenant) = dir.tenants.iter().find(|t| {
        t.id.eq_ignore_ascii_case(tenant_seg) || t.domains.iter().any(|d| d.eq_ignore_ascii_case(tenant_seg))
    }) else {
        return fail(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant_seg}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    };
    // 7–8. Client.
    let Some(app) = tenant.apps.iter().find(|a| a.client_id.eq_ignore_ascii_case(client_id)) else {
        return fail(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_seg}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    };
    if !app.has_service_principal {
        return fail(
            401,
            "invalid_client",
            7000229,
            format!(
                "The client application {client_id} is missing service principal in the tenant {}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
                tenant.id
            ),
        );
    }
    // 9–10. Credential parameters.
    let Some(raw) = r.given("client_assertion") else {
        if r.given("client_secret").is_some() {
            return fail(
                401,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
        return fail(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    };
    if r.get("client_assertion_type") != Some(JWT_BEARER) {
        return fail(400, "invalid_request", 90011, "Unexpected client assertion type.");
    }
    // 11. The assertion itself.
    let Some(jwt) = Assertion::parse(raw) else {
        return fail(400, "invalid_request", 50027, "JWT token is invalid or malformed.");
    };
    // 12–15. Federated credentials.
    if app.credentials.is_empty() {
        return fail(
            401,
            "invalid_client",
            70025,
            format!(
                "The client '{}'({}) has no configured federated identity credentials.",
                app.client_id, app.display_name
            ),
        );
    }
    let aud = jwt.aud[0].as_str();
    let legacy = || {
        fail(
            401,
            "invalid_client",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{aud}'. {FIC_DOCS_OLD}",
                jwt.iss, jwt.sub
            ),
        )
    };
    let by_issuer: Vec<&Fic> = app.credentials.iter().filter(|f| f.issuer == jwt.iss).collect();
    if by_issuer.is_empty() {
        if dir.legacy_70021 {
            return legacy();
        }
        return fail(
            401,
            "invalid_client",
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                jwt.iss
            ),
        );
    }
    let by_subject: Vec<&Fic> = by_issuer.iter().copied().filter(|f| f.subject == jwt.sub).collect();
    if by_subject.is_empty() {
        if dir.legacy_70021 {
            return legacy();
        }
        let folded = jwt.sub.to_lowercase();
        if by_issuer.iter().any(|f| f.subject.to_lowercase() == folded) {
            return fail(
                401,
                "invalid_client",
                7002138,
                format!(
                    "No matching federated identity record found for presented assertion subject '{}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                    jwt.sub
                ),
            );
        }
        return fail(
            401,
            "invalid_client",
            700213,
            format!(
                "No matching federated identity record found for presented assertion subject '{}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                jwt.sub
            ),
        );
    }
    if !by_subject
        .iter()
        .any(|f| f.audiences.iter().any(|a| jwt.aud.contains(a)))
    {
        if dir.legacy_70021 {
            return legacy();
        }
        return fail(
            401,
            "invalid_client",
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{aud}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {FIC_DOCS}"
            ),
        );
    }
    // 16. Validity window (no skew).
    if jwt.exp < dir.now || jwt.nbf.is_some_and(|nbf| nbf > dir.now) {
        return fail(
            401,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                entra_instant(dir.now),
                entra_instant(jwt.nbf.unwrap_or(0)),
                entra_instant(jwt.exp)
            ),
        );
    }
    // 17. The issuer's keys.
    let jwks = match dir.issuers.iter().find(|(i, _)| *i == jwt.iss).map(|(_, s)| s) {
        Some(IssuerState::Ok { jwks }) => jwks,
        Some(IssuerState::Unreachable) | None => {
            return fail(
                400,
                "invalid_request",
                90061,
                "Request to External OIDC endpoint failed.",
            );
        }
    };
    // 18–19. Signature.
    let thumbprint = jwt.kid.clone().unwrap_or_default();
    let keys: Vec<jsonwebtoken::jwk::Jwk> = jwks["keys"]
        .as_array()
        .map(|ks| {
            ks.iter()
                .filter_map(|k| serde_json::from_value(k.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    let Some(key) = jwt
        .kid
        .as_deref()
        .and_then(|kid| keys.iter().find(|k| k.common.key_id.as_deref() == Some(kid)))
    else {
        return fail(
            401,
            "invalid_client",
            7000272,
            format!(
                "The certificate with identifier {thumbprint} used to sign the federated credential could not be found in the metadata of identity provider {}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.",
                jwt.iss
            ),
        );
    };
    let verified = jwt.alg.as_deref() == Some("RS256")
        && jsonwebtoken::DecodingKey::from_jwk(key).is_ok_and(|dk| {
            jsonwebtoken::crypto::verify(
                &jwt.signature,
                jwt.signed.as_bytes(),
                &dk,
                jsonwebtoken::Algorithm::RS256,
            )
            .unwrap_or(false)
        });
    if !verified {
        return fail(
            401,
            "invalid_client",
            50013,
            format!(
                "Assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{thumbprint}']"
            ),
        );
    }
    // 20–22. Scope.
    let Some(scope) = r.given("scope") else {
        return fail(
            400,
            "invalid_request",
            90014,
            "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
        );
    };
    let Some(resource) = scope.strip_suffix("/.default") else {
        return fail(
            400,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let wanted = resource.trim_end_matches('/');
    if !dir
        .resources
        .iter()
        .any(|x| x.trim_end_matches('/').eq_ignore_ascii_case(wanted))
    {
        return fail(
            400,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant_seg}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        );
    }
    Verdict::Issue
}

// ---- the answer ------------------------------------------------------------------------------

fn render(dir: &Directory, n: u64, r: &Incoming, verdict: Verdict) -> (Response, u16, Option<u64>) {
    let json_type = (header::CONTENT_TYPE, "application/json; charset=utf-8");
    let no_store = (header::CACHE_CONTROL, "no-store, no-cache");
    let trace_id = format!("7ace0000-0000-4000-8000-{n:012x}");
    match verdict {
        Verdict::NotFound => (
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain")],
                "Not Found",
            )
                .into_response(),
            404,
            None,
        ),
        Verdict::Issue => {
            let body = json!({
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": access_token(),
            });
            (
                (
                    StatusCode::OK,
                    [json_type, no_store],
                    [("x-ms-request-id", trace_id)],
                    body.to_string(),
                )
                    .into_response(),
                200,
                None,
            )
        }
        Verdict::Fail(f) => {
            let correlation_id = r
                .client_request_id
                .clone()
                .filter(|c| is_guid(c))
                .unwrap_or_else(|| format!("c0cc0000-0000-4000-8000-{n:012x}"));
            let timestamp = entra_time(dir.now);
            let body = json!({
                "error": f.error,
                "error_description": format!(
                    "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                    f.code, f.text
                ),
                "error_codes": [f.code],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": format!("https://login.microsoftonline.com/error?code={}", f.code),
            });
            let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut resp = (
                status,
                [json_type, no_store],
                [("x-ms-request-id", trace_id)],
                body.to_string(),
            )
                .into_response();
            if f.status == 405 {
                resp.headers_mut()
                    .insert(header::ALLOW, axum::http::HeaderValue::from_static("POST, OPTIONS"));
            }
            (resp, f.status, Some(f.code))
        }
    }
}
