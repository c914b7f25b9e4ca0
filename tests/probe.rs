//! Proof, not inference: the issuer fetched from outside (WI210) and the `--probe` token
//! exchange (WI118, WI211, WI306, WI307, WI407), against in-process HTTPS servers.
//!
//! The `wi` binary runs with its real URLs (`https://<issuer host>/…`,
//! `https://login.microsoftonline.com/…`); `HTTPS_PROXY` points at a CONNECT proxy on
//! 127.0.0.1 that routes those hosts to in-process TLS servers and refuses every other host,
//! and `SSL_CERT_FILE` names the test CA. Nothing in the product is weakened for the tests.

mod common;

use std::process::{Command, Output};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::fake_entra::{self, App, Directory, Fic, IssuerState, Tenant};
use common::tls::{ConnectProxy, HttpsServer, TestCa};
use common::{Scenario, stderr, stdout};
use serde_json::{Value, json};

const ENTRA_HOST: &str = "login.microsoftonline.com";

/// How the fake issuer answers one of its two documents.
#[derive(Clone)]
enum Answer {
    Json(Value),
    Status(u16),
    Html,
    Redirect(String),
    /// Accept the request and never answer.
    Stall,
}

impl Answer {
    fn respond(&self) -> Response {
        match self {
            Answer::Json(v) => (StatusCode::OK, [("content-type", "application/json")], v.to_string()).into_response(),
            Answer::Status(s) => StatusCode::from_u16(*s)
                .unwrap_or(StatusCode::IM_A_TEAPOT)
                .into_response(),
            Answer::Html => (
                StatusCode::OK,
                [("content-type", "text/html")],
                "<html><body>Welcome to nginx!</body></html>",
            )
                .into_response(),
            Answer::Redirect(to) => (StatusCode::FOUND, [("location", to.as_str())]).into_response(),
            Answer::Stall => unreachable!("handled by the router"),
        }
    }
}

/// A scenario's public issuer: its discovery document and JWKS, as the snapshot holds them.
struct Issuer {
    iss: String,
    discovery: Value,
    jwks: Value,
}

fn read_json(p: &std::path::Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|r| r.split(['/', ':']).next())
        .unwrap_or_default()
        .to_string()
}

impl Issuer {
    fn of(s: &Scenario) -> Option<Issuer> {
        let discovery = read_json(&s.snapshot().join("oidc/openid-configuration"))?;
        let jwks = read_json(&s.snapshot().join("oidc/jwks"))?;
        let iss = discovery["issuer"].as_str()?.to_string();
        Some(Issuer { iss, discovery, jwks })
    }
    fn hosts(&self) -> Vec<String> {
        let mut h = vec![host_of(&self.iss)];
        if let Some(j) = self.discovery["jwks_uri"].as_str() {
            h.push(host_of(j));
        }
        h.sort();
        h.dedup();
        h
    }
}

/// Serve `discovery` at `*/.well-known/openid-configuration` and `jwks` at the jwks_uri's path.
fn issuer_router(jwks_path: String, discovery: Answer, jwks: Answer) -> Router {
    Router::new().fallback(move |uri: Uri| {
        let (d, j, jp) = (discovery.clone(), jwks.clone(), jwks_path.clone());
        async move {
            let a = if uri.path().ends_with("/.well-known/openid-configuration") {
                d
            } else if uri.path() == jp {
                j
            } else {
                Answer::Status(404)
            };
            if matches!(a, Answer::Stall) {
                std::future::pending::<()>().await;
            }
            a.respond()
        }
    })
}

fn path_of(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or_default();
    rest.find('/')
        .map(|i| rest[i..].to_string())
        .unwrap_or_else(|| "/".into())
}

/// Everything a `wi --probe` run talks to.
struct World {
    ca: TestCa,
    proxy: ConnectProxy,
    _servers: Vec<HttpsServer>,
    entra_log: Option<std::sync::Arc<std::sync::Mutex<Vec<fake_entra::Request>>>>,
}

impl World {
    fn new() -> World {
        World {
            ca: TestCa::new(),
            proxy: ConnectProxy::start(vec![]),
            _servers: vec![],
            entra_log: None,
        }
    }
    fn serve(&mut self, hosts: &[String], router: Router) {
        let h: Vec<&str> = hosts.iter().map(String::as_str).collect();
        let srv = HttpsServer::start(&self.ca, &h, router);
        for host in hosts {
            self.proxy.route(host, srv.addr());
        }
        self._servers.push(srv);
    }
    fn issuer(&mut self, i: &Issuer, discovery: Answer, jwks: Answer) {
        let jp = path_of(i.discovery["jwks_uri"].as_str().unwrap_or("/openid/v1/jwks"));
        self.serve(&i.hosts(), issuer_router(jp, discovery, jwks));
    }
    fn entra(&mut self, dir: Directory) {
        let (router, log) = fake_entra::router(dir);
        self.serve(&[ENTRA_HOST.to_string()], router);
        self.entra_log = Some(log);
    }
    fn entra_requests(&self) -> Vec<fake_entra::Request> {
        self.entra_log
            .as_ref()
            .map(|l| l.lock().expect("log").clone())
            .unwrap_or_default()
    }
    fn run(&self, s: &Scenario, extra: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
        common::sealed(&mut cmd);
        cmd.args(s.args(extra)).env("COLUMNS", "120").env_remove("NO_COLOR");
        for (k, v) in self.proxy.env(&self.ca) {
            cmd.env(k, v);
        }
        cmd.output().expect("run wi")
    }
    fn json(&self, s: &Scenario, extra: &[&str]) -> (Option<i32>, Value) {
        let mut a = vec!["-o", "json"];
        a.extend_from_slice(extra);
        let out = self.run(s, &a);
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: no JSON ({e}): {}", s.name, stderr(&out)));
        (out.status.code(), v)
    }
}

/// Lock the probe rules' statuses for a named case under snapshots/probe/cases (the catalog test
/// reads them as rule fixtures).
fn snapshot_rules(name: &str, r: &Value) {
    let rules: serde_json::Map<String, Value> = ["WI118", "WI210", "WI211", "WI306", "WI307", "WI407"]
        .iter()
        .map(|id| (id.to_string(), json!(status(r, id))))
        .collect();
    insta::with_settings!({snapshot_path => "../snapshots/probe/cases", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_json_snapshot!(name.to_string(), json!({"code": r["probe"]["outcome"]["code"], "rules": rules}));
    });
}

fn finding<'a>(r: &'a Value, rule: &str) -> &'a Value {
    r["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule"] == rule))
        .unwrap_or_else(|| panic!("no finding {rule}"))
}

fn status<'a>(r: &'a Value, rule: &str) -> &'a str {
    finding(r, rule)["status"].as_str().unwrap_or("?")
}

fn message(r: &Value, rule: &str) -> String {
    finding(r, rule)["message"].as_str().unwrap_or_default().to_string()
}

// ---- the issuer from outside (WI210) ---------------------------------------------------------

fn fetch(discovery: Option<Answer>, jwks: Option<Answer>, extra: &[&str]) -> (World, Value) {
    let s = common::healthy();
    let i = Issuer::of(&s).expect("issuer");
    let mut w = World::new();
    w.issuer(
        &i,
        discovery.unwrap_or(Answer::Json(i.discovery.clone())),
        jwks.unwrap_or(Answer::Json(i.jwks.clone())),
    );
    let mut a = vec!["--fetch-issuer"];
    a.extend_from_slice(extra);
    let (_, r) = w.json(&s, &a);
    (w, r)
}

#[test]
fn the_issuer_fetched_from_outside_passes_when_it_serves_the_right_documents() {
    let (w, r) = fetch(None, None, &[]);
    assert_eq!(status(&r, "WI210"), "pass", "{}", message(&r, "WI210"));
    let m = message(&r, "WI210");
    assert!(m.contains("RS256 signature verifies"), "{m}");
    assert!(m.contains("through the proxy http://127.0.0.1:"), "{m}");
    // Entra's two requests, through the proxy, to the issuer's own host.
    let connects = w.proxy.connects();
    assert!(
        connects
            .iter()
            .all(|c| c.starts_with("westeurope.oic.prod-aks.azure.com:443")),
        "{connects:?}"
    );
    assert_eq!(r["verdict"], "pass");
}

#[test]
fn a_snapshot_is_not_fetched_unless_asked() {
    let s = common::healthy();
    let w = World::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    cmd.env_remove("WI_FETCH_ISSUER").args(s.args(&["-o", "json"]));
    for (k, v) in w.proxy.env(&w.ca) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status(&r, "WI210"), "skip");
    assert!(w.proxy.connects().is_empty(), "{:?}", w.proxy.connects());
}

#[test]
fn each_discovery_failure_is_a_finding_naming_the_url_and_what_failed() {
    let s = common::healthy();
    let i = Issuer::of(&s).expect("issuer");
    let disc_url = format!("{}.well-known/openid-configuration", i.iss);
    let jwks_url = i.discovery["jwks_uri"].as_str().expect("jwks_uri").to_string();
    let mut other_kid = i.jwks.clone();
    other_kid["keys"][0]["kid"] = json!("rotated-away");
    let mut wrong_key = i.jwks.clone();
    let k2 = fake_entra::issuer_key(2);
    let mut jwk2 = k2.jwk.clone();
    jwk2["kid"] = i.jwks["keys"][0]["kid"].clone();
    wrong_key["keys"] = json!([jwk2]);
    let mut many = i.jwks.clone();
    let first = i.jwks["keys"][0].clone();
    many["keys"] = json!(
        (0..101)
            .map(|n| {
                let mut k = first.clone();
                if n > 0 {
                    k["kid"] = json!(format!("k{n}"));
                }
                k
            })
            .collect::<Vec<_>>()
    );
    let mut slash = i.discovery.clone();
    slash["issuer"] = json!(i.iss.trim_end_matches('/'));
    let mut http_jwks = i.discovery.clone();
    http_jwks["jwks_uri"] = json!(jwks_url.replacen("https://", "http://", 1));
    // (name, discovery answer, JWKS answer, texts the finding must hold)
    type Case<'a> = (&'a str, Option<Answer>, Option<Answer>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "404",
            Some(Answer::Status(404)),
            None,
            vec![&disc_url, "HTTP 404", "AADSTS90061"],
        ),
        (
            "html",
            Some(Answer::Html),
            None,
            vec![&disc_url, "not JSON (text/html)"],
        ),
        (
            "redirect",
            Some(Answer::Redirect(
                "https://elsewhere.example/.well-known/openid-configuration".into(),
            )),
            None,
            vec![
                &disc_url,
                "HTTP 302 redirect to https://elsewhere.example/",
                "not followed",
            ],
        ),
        (
            "issuer mismatch",
            Some(Answer::Json(slash)),
            None,
            vec!["says issuer", "byte for byte"],
        ),
        (
            "jwks over http",
            Some(Answer::Json(http_jwks)),
            None,
            vec!["https only"],
        ),
        ("jwks 500", None, Some(Answer::Status(500)), vec![&jwks_url, "HTTP 500"]),
        (
            "kid missing",
            None,
            Some(Answer::Json(other_kid)),
            vec!["no key with the token's kid"],
        ),
        (
            "bad signature",
            None,
            Some(Answer::Json(wrong_key)),
            vec!["does not verify"],
        ),
        (
            "101 keys",
            None,
            Some(Answer::Json(many)),
            vec!["101 keys", "at most 100"],
        ),
        ("timeout", Some(Answer::Stall), None, vec![&disc_url, "timed out"]),
        (
            "over 1 MiB",
            None,
            Some(Answer::Json(
                json!({"keys": i.jwks["keys"], "padding": "x".repeat(1 << 20)}),
            )),
            vec![&jwks_url, "larger than 1048576 bytes"],
        ),
    ];
    let mut problems = vec![];
    for (name, d, j, want) in cases {
        let (_, r) = fetch(d, j, &["--request-timeout", "1s"]);
        let f = finding(&r, "WI210");
        if f["status"] != "fail" {
            problems.push(format!("{name}: WI210 is {}: {}", f["status"], f["message"]));
            continue;
        }
        let text = f.to_string();
        for w in want {
            if !text.contains(w) {
                problems.push(format!("{name}: {w:?} not in {}", f["message"]));
            }
        }
        if r["links"][1]["status"] != "fail" {
            problems.push(format!("{name}: the issuer link is {}", r["links"][1]["status"]));
        }
    }
    common::assert_no_problems(&problems);
}

#[test]
fn an_unreachable_host_fails_and_no_connection_leaves_the_machine() {
    // No server for the issuer's host: the proxy refuses the CONNECT.
    let s = common::healthy();
    let w = World::new();
    let (_, r) = w.json(&s, &["--fetch-issuer"]);
    assert_eq!(status(&r, "WI210"), "fail");
    assert!(
        message(&r, "WI210").contains("cannot connect"),
        "{}",
        message(&r, "WI210")
    );
    assert_eq!(w.proxy.rejected().len(), 1, "{:?}", w.proxy.rejected());
}

#[test]
fn an_untrusted_certificate_is_a_tls_failure_not_a_pass() {
    let s = common::healthy();
    let i = Issuer::of(&s).expect("issuer");
    let mut w = World::new();
    w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
    let other = TestCa::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    cmd.args(s.args(&["-o", "json", "--fetch-issuer"]));
    for (k, v) in w.proxy.env(&other) {
        cmd.env(k, v);
    }
    let r: Value = serde_json::from_slice(&cmd.output().expect("run").stdout).expect("json");
    assert_eq!(status(&r, "WI210"), "fail");
    let m = message(&r, "WI210");
    assert!(m.to_lowercase().contains("certificate"), "{m}");
}

#[test]
fn an_api_server_key_missing_publicly_is_a_rotation_warning() {
    // The snapshot's (API server's) JWKS holds a second key the public JWKS lacks.
    let s = common::scenario("healthy-aks-keyvault-rbac");
    let i = Issuer::of(&s).expect("issuer");
    let tmp = tempfile::tempdir().expect("tmp");
    let snap = tmp.path().join("snapshot");
    copy_dir(&s.snapshot(), &snap);
    let mut api = i.jwks.clone();
    let mut k2 = fake_entra::issuer_key(2).jwk.clone();
    k2["kid"] = json!("next-key");
    api["keys"].as_array_mut().expect("keys").push(k2);
    std::fs::write(snap.join("oidc/jwks"), api.to_string()).expect("write");
    let mut w = World::new();
    w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
    let moved = Scenario {
        name: s.name.clone(),
        dir: tmp.path().to_path_buf(),
        case: s.case.clone(),
    };
    let (_, r) = w.json(&moved, &["--fetch-issuer"]);
    assert_eq!(status(&r, "WI210"), "warn", "{}", message(&r, "WI210"));
    assert!(message(&r, "WI210").contains("next-key"));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let st = Command::new("cp").arg("-r").arg(from).arg(to).status().expect("cp");
    assert!(st.success());
}

// ---- the exchange (WI118, WI211, WI306, WI307) -----------------------------------------------

/// Entra as the scenario's Azure facts describe it: the identities with their credentials, the
/// issuer's published keys, and a clock at the scenario's evaluation time. `None` when the
/// snapshot holds no identity to model.
fn directory(s: &Scenario) -> Option<Directory> {
    let inv = wi::collect::snapshot::read_dir(&s.snapshot()).ok()?;
    let at = s
        .case_args()
        .windows(2)
        .find(|w| w[0] == "--at")
        .map(|w| w[1].clone())
        .or_else(|| {
            inv.manifest
                .as_ref()
                .and_then(|m| m.collected_at)
                .map(|t| t.to_string())
        })?;
    let now = at.parse::<jiff::Timestamp>().ok()?.as_second();
    let mut tenants: Vec<Tenant> = vec![];
    let default_tenant = "2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f".to_string();
    let mut add = |tenant: String, app: App| match tenants.iter_mut().find(|t| t.id == tenant) {
        Some(t) => t.apps.push(app),
        None => tenants.push(Tenant {
            id: tenant,
            domains: vec![],
            apps: vec![app],
        }),
    };
    let fics = |parent: &str, single_app: bool| -> Vec<Fic> {
        inv.credentials
            .iter()
            .filter(|c| match &c.parent {
                Some(p) => p.eq_ignore_ascii_case(parent),
                None => single_app,
            })
            .map(|c| Fic {
                name: c.name.clone(),
                issuer: c.issuer.clone(),
                subject: c.subject.clone().unwrap_or_default(),
                audiences: c.audiences.clone(),
            })
            .collect()
    };
    for mi in &inv.managed_identities {
        let mut app = App::new(&mi.client_id, &mi.name);
        app.credentials = fics(&mi.id, false);
        add(mi.tenant_id.clone().unwrap_or_else(|| default_tenant.clone()), app);
    }
    let single = inv.applications.len() == 1;
    for a in &inv.applications {
        let mut app = App::new(&a.app_id, &a.display_name);
        app.has_service_principal = inv
            .service_principals
            .iter()
            .any(|sp| sp.app_id.eq_ignore_ascii_case(&a.app_id));
        app.credentials = fics(&a.object_id, single);
        let tenant = inv
            .service_principals
            .iter()
            .find(|sp| sp.app_id.eq_ignore_ascii_case(&a.app_id))
            .and_then(|sp| sp.tenant_id.clone())
            .unwrap_or_else(|| default_tenant.clone());
        add(tenant, app);
    }
    if tenants.is_empty() {
        // The snapshot holds no Azure facts (the scenario removed them), but Entra still has
        // the estate: the healthy base's directory, as the generator derived the scenario.
        if s.name == "healthy-aks-keyvault-rbac" {
            return None;
        }
        let mut d = directory(&common::healthy())?;
        d.now = now;
        return Some(d);
    }
    if !tenants.iter().any(|t| t.id == default_tenant) {
        tenants.push(Tenant {
            id: default_tenant,
            ..Default::default()
        });
    }
    let issuers = Issuer::of(s)
        .map(|i| vec![(i.iss.clone(), IssuerState::Ok { jwks: i.jwks.clone() })])
        .unwrap_or_default();
    Some(Directory {
        tenants,
        issuers,
        now,
        ..Default::default()
    })
}

/// Issuer and Entra for one scenario, as its snapshot describes them.
fn world_for(s: &Scenario) -> Option<World> {
    let dir = directory(s)?;
    let mut w = World::new();
    if let Some(i) = Issuer::of(s) {
        w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
    }
    w.entra(dir);
    Some(w)
}

#[test]
fn a_healthy_probe_exchanges_the_token_as_the_sdk_does_and_never_shows_a_token() {
    let s = common::healthy();
    let w = world_for(&s).expect("world");
    let (code, r) = w.json(&s, &["--probe"]);
    assert_eq!(code, Some(0), "{r}");
    for rule in ["WI118", "WI210", "WI211", "WI306", "WI307"] {
        assert_eq!(status(&r, rule), "pass", "{rule}: {}", message(&r, rule));
    }
    assert_eq!(r["probe"]["outcome"]["result"], "issued");
    assert_eq!(
        r["probe"]["outcome"]["claims"]["aud"], "https://management.azure.com",
        "{}",
        r["probe"]
    );
    // Exactly the SDK's form, to the pod's tenant.
    let reqs = w.entra_requests();
    assert_eq!(reqs.len(), 1);
    let q = &reqs[0];
    assert_eq!(q.method, "POST");
    assert_eq!(q.path, "/2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f/oauth2/v2.0/token");
    assert_eq!(q.field("grant_type"), Some("client_credentials"));
    assert_eq!(q.field("client_id"), Some("5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"));
    assert_eq!(q.field("client_assertion_type"), Some(fake_entra::JWT_BEARER));
    assert_eq!(q.field("scope"), Some(fake_entra::ARM_SCOPE));
    assert!(q.assertion_sent);
}

#[test]
fn no_output_format_contains_the_projected_token_or_an_access_token() {
    let s = common::healthy();
    let w = world_for(&s).expect("world");
    let projected = std::fs::read_to_string(s.snapshot().join("token/azure-identity-token")).expect("token");
    let projected = projected.trim();
    let access = fake_entra::access_token();
    let payload = |t: &str| t.split('.').nth(1).unwrap_or_default().to_string();
    let scope = "/subscriptions/6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f/resourceGroups/rg-payments-prod/providers/Microsoft.KeyVault/vaults/kv-payments-weu";
    for extra in [
        vec!["-o", "json"],
        vec!["-o", "table"],
        vec!["-o", "table", "-v"],
        vec!["-o", "table", "--color", "always"],
    ] {
        let mut a = extra.clone();
        a.extend(["--probe", "--probe-data-plane", "--scope", scope]);
        let out = w.run(&s, &a);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(all.contains("probe"), "{extra:?}: {all}");
        for (what, secret) in [
            ("projected token", projected.to_string()),
            ("projected token payload", payload(projected)),
            ("access token", access.clone()),
            ("access token payload", payload(&access)),
            ("access token marker", fake_entra::ACCESS_TOKEN_MARKER.to_string()),
        ] {
            assert!(!all.contains(&secret), "{extra:?}: the {what} is in the output");
        }
    }
}

#[test]
fn each_entra_error_lands_on_its_link_with_entras_values_beside_wis() {
    let s = common::healthy();
    let base = directory(&s).expect("directory");
    let iss = Issuer::of(&s).expect("issuer").iss;
    let sub = "system:serviceaccount:payments:checkout-api";
    let client = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e";
    let edit = |f: &dyn Fn(&mut Directory)| {
        let mut d = base.clone();
        f(&mut d);
        d
    };
    let only_fic = |fic: Fic| {
        edit(&move |d: &mut Directory| {
            d.tenants[0].apps[0].credentials = vec![fic.clone()];
        })
    };
    // (name, directory, failing rule, link, code, texts the finding must hold)
    type Case<'a> = (&'a str, Directory, &'a str, &'a str, &'a str, Vec<String>);
    let cases: Vec<Case> = vec![
        (
            "app not in tenant",
            edit(&|d: &mut Directory| d.tenants[0].apps.clear()),
            "WI306",
            "federated-credential",
            "AADSTS700016",
            vec![client.into()],
        ),
        (
            "tenant not found",
            edit(&|d: &mut Directory| d.tenants[0].id = "00000000-0000-4000-8000-000000000000".into()),
            "WI306",
            "federated-credential",
            "AADSTS90002",
            vec![],
        ),
        (
            "no service principal",
            edit(&|d: &mut Directory| d.tenants[0].apps[0].has_service_principal = false),
            "WI306",
            "federated-credential",
            "AADSTS7000229",
            vec![],
        ),
        (
            "no credentials",
            edit(&|d: &mut Directory| d.tenants[0].apps[0].credentials.clear()),
            "WI306",
            "federated-credential",
            "AADSTS70025",
            vec![],
        ),
        (
            "issuer trailing slash",
            only_fic(Fic::new("fic", iss.trim_end_matches('/'), sub)),
            "WI306",
            "federated-credential",
            "AADSTS700211",
            vec![iss.clone()],
        ),
        (
            "subject namespace",
            only_fic(Fic::new("fic", &iss, "system:serviceaccount:payment:checkout-api")),
            "WI306",
            "federated-credential",
            "AADSTS700213",
            vec![sub.into()],
        ),
        (
            "subject case",
            only_fic(Fic::new("fic", &iss, "system:serviceaccount:payments:Checkout-api")),
            "WI306",
            "federated-credential",
            "AADSTS7002138",
            vec![sub.into()],
        ),
        (
            "audience",
            only_fic(Fic {
                audiences: vec!["api://AzureADTokenExchange/".into()],
                ..Fic::new("fic", &iss, sub)
            }),
            "WI306",
            "federated-credential",
            "AADSTS700212",
            vec!["api://AzureADTokenExchange".into()],
        ),
        (
            "legacy 70021",
            edit(&|d: &mut Directory| {
                d.legacy_70021 = true;
                d.tenants[0].apps[0].credentials[0].subject = "system:serviceaccount:other:sa".into();
            }),
            "WI306",
            "federated-credential",
            "AADSTS70021",
            vec![sub.into(), iss.clone(), "Assertion audience (Entra)".into()],
        ),
        (
            "expired",
            edit(&|d: &mut Directory| d.now += 3 * 86400),
            "WI211",
            "issuer",
            "AADSTS700024",
            vec![],
        ),
        (
            "issuer unreachable",
            edit(&|d: &mut Directory| d.issuers = vec![(iss.clone(), IssuerState::Unreachable)]),
            "WI211",
            "issuer",
            "AADSTS90061",
            vec![],
        ),
        (
            "kid not published",
            edit(&|d: &mut Directory| {
                d.issuers = vec![(
                    iss.clone(),
                    IssuerState::Ok {
                        jwks: fake_entra::jwks(&[&fake_entra::issuer_key(2)]),
                    },
                )]
            }),
            "WI211",
            "issuer",
            "AADSTS7000272",
            vec![],
        ),
    ];
    let mut problems = vec![];
    for (name, dir, rule, link, code, texts) in cases {
        let mut w = World::new();
        let i = Issuer::of(&s).expect("issuer");
        w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
        w.entra(dir);
        let (exit, r) = w.json(&s, &["--probe"]);
        let f = finding(&r, rule);
        if f["status"] != "fail" {
            problems.push(format!("{name}: {rule} is {}: {}", f["status"], f["message"]));
            continue;
        }
        if exit != Some(1) {
            problems.push(format!("{name}: exit {exit:?}"));
        }
        let got_link = r["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["link"] == link))
            .map(|l| l["status"].clone());
        if got_link != Some(json!("fail")) {
            problems.push(format!("{name}: link {link} is {got_link:?}"));
        }
        if r["probe"]["outcome"]["code"] != code {
            problems.push(format!("{name}: code {} not {code}", r["probe"]["outcome"]["code"]));
        }
        let text = f.to_string();
        for t in &texts {
            if !text.contains(t.as_str()) {
                problems.push(format!("{name}: {t:?} not in {rule}'s finding: {text}"));
            }
        }
        // The other probe rules never pass on a rejection they did not judge.
        if status(&r, "WI306") == "pass" {
            problems.push(format!("{name}: WI306 passed on a rejection"));
        }
    }
    common::assert_no_problems(&problems);
}

#[test]
fn a_rejection_despite_a_byte_exact_match_is_flagged_as_a_disagreement() {
    // The snapshot's credential matches, but Entra (not yet propagated) does not know it.
    let s = common::healthy();
    let mut dir = directory(&s).expect("directory");
    dir.tenants[0].apps[0].credentials[0].subject = "system:serviceaccount:payments:other".into();
    let mut w = World::new();
    let i = Issuer::of(&s).expect("issuer");
    w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
    w.entra(dir);
    let (_, r) = w.json(&s, &["--probe"]);
    assert_eq!(status(&r, "WI303"), "pass");
    assert_eq!(status(&r, "WI306"), "fail");
    assert_eq!(status(&r, "WI307"), "warn", "{}", message(&r, "WI307"));
    assert!(
        message(&r, "WI307").contains("not propagated"),
        "{}",
        message(&r, "WI307")
    );
    snapshot_rules("credential-not-propagated", &r);
}

#[test]
fn a_probe_that_cannot_reach_entra_is_unknown_not_a_pass() {
    let s = common::healthy();
    let i = Issuer::of(&s).expect("issuer");
    let mut w = World::new(); // the issuer is served; login.microsoftonline.com is not
    w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
    let (code, r) = w.json(&s, &["--probe"]);
    assert_eq!(status(&r, "WI306"), "unknown", "{}", message(&r, "WI306"));
    assert_eq!(code, Some(4), "could not check is never a pass: {r}");
    assert!(
        message(&r, "WI306").contains("login.microsoftonline.com"),
        "{}",
        message(&r, "WI306")
    );
}

#[test]
fn a_snapshot_with_decoded_claims_only_cannot_probe_and_says_why() {
    let s = common::healthy();
    let tmp = tempfile::tempdir().expect("tmp");
    let snap = tmp.path().join("snapshot");
    copy_dir(&s.snapshot(), &snap);
    let raw = std::fs::read_to_string(snap.join("token/azure-identity-token")).expect("token");
    let payload = raw.trim().split('.').nth(1).expect("payload").to_string();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).expect("b64"),
    )
    .expect("claims");
    std::fs::remove_file(snap.join("token/azure-identity-token")).expect("rm");
    std::fs::write(snap.join("token/claims.json"), claims.to_string()).expect("write");
    let moved = Scenario {
        name: s.name.clone(),
        dir: tmp.path().to_path_buf(),
        case: s.case.clone(),
    };
    let w = world_for(&s).expect("world");
    let (code, r) = w.json(&moved, &["--probe"]);
    assert_eq!(status(&r, "WI306"), "unknown", "{}", message(&r, "WI306"));
    assert!(
        message(&r, "WI306").contains("decoded claims only"),
        "{}",
        message(&r, "WI306")
    );
    assert_eq!(code, Some(4));
    assert!(w.entra_requests().is_empty(), "nothing was sent to Entra");
}

#[test]
fn probe_flags_are_validated() {
    let s = common::healthy();
    for (args, want) in [
        (vec!["--probe-scope", "https://vault.azure.net/.default"], "--probe"),
        (vec!["--probe", "--probe-scope", "vault"], "--probe-scope"),
        (vec!["--probe", "--probe-data-plane"], "--scope"),
    ] {
        let mut a: Vec<String> = s
            .case_args()
            .into_iter()
            .filter(|x| !x.starts_with("/subscriptions"))
            .collect();
        if let Some(i) = a.iter().position(|x| x == "--scope") {
            a.remove(i);
        }
        a.extend(["--snapshot".into(), s.snapshot().display().to_string()]);
        a.extend(args.iter().map(|x| x.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = common::wi(&refs);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
}

// ---- the whole corpus ------------------------------------------------------------------------

/// The first link (in chain order) whose probe rule failed, or why there is none.
fn probe_verdict(r: &Value) -> Result<Option<String>, String> {
    for (rule, link) in [
        ("WI118", "service-account"),
        ("WI211", "issuer"),
        ("WI306", "federated-credential"),
    ] {
        match status(r, rule) {
            "fail" => return Ok(Some(link.into())),
            // Root cause first: the probe could not run because an upstream link failed.
            "skip" if finding(r, rule)["blocked_by"].is_string() => {
                return Ok(Some("blocked".into()));
            }
            "unknown" => return Err(format!("{rule} unknown: {}", message(r, rule))),
            _ => {}
        }
    }
    if status(r, "WI306") == "pass" {
        Ok(None)
    } else {
        Err(format!("WI306 is {}: {}", status(r, "WI306"), message(r, "WI306")))
    }
}

#[test]
fn every_scenario_probes_to_success_or_the_broken_link_consistent_with_string_matching() {
    let order = ["service-account", "issuer", "federated-credential"];
    let mut problems = vec![];
    let mut skipped = vec![];
    let mut checked = 0;
    for s in common::scenarios() {
        let Some(w) = world_for(&s) else {
            skipped.push(s.name.clone());
            continue;
        };
        let (_, r) = w.json(&s, &["--probe"]);
        let strings = |l: &str| s.case["links"][l].as_str().unwrap_or("?").to_string();
        let disagreement = status(&r, "WI307") == "warn";
        match probe_verdict(&r) {
            Err(why) => {
                // Only a snapshot without a signed token may leave the probe unable to run.
                if !why.contains("decoded claims only") && !why.contains("no projected token") {
                    problems.push(format!("{}: {why}", s.name));
                } else {
                    skipped.push(s.name.clone());
                    continue;
                }
            }
            Ok(None) => {
                if strings("federated-credential") == "fail" && !disagreement {
                    problems.push(format!(
                        "{}: Entra issued a token but the strings fail the federated credential, and WI307 does not say so",
                        s.name
                    ));
                }
            }
            Ok(Some(link)) if link == "blocked" => {
                if !order.iter().any(|l| strings(l) == "fail") {
                    problems.push(format!(
                        "{}: the probe was blocked, but no link fails by string matching",
                        s.name
                    ));
                }
            }
            Ok(Some(link)) => {
                let at = order.iter().position(|l| *l == link).unwrap_or(0);
                let explained = order[..=at].iter().any(|l| strings(l) == "fail") || disagreement;
                if !explained {
                    problems.push(format!(
                        "{}: the probe breaks at {link} ({}), but no link up to it fails by string matching ({:?})",
                        s.name,
                        r["probe"]["outcome"]["description"],
                        order.iter().map(|l| format!("{l}={}", strings(l))).collect::<Vec<_>>()
                    ));
                }
            }
        }
        checked += 1;
        insta::with_settings!({snapshot_path => "../snapshots/probe", prepend_module_to_snapshot => false, omit_expression => true}, {
            let rules: serde_json::Map<String, Value> = ["WI118", "WI210", "WI211", "WI306", "WI307"]
                .iter()
                .map(|id| (id.to_string(), json!(status(&r, id))))
                .collect();
            insta::assert_json_snapshot!(s.name.clone(), json!({
                "outcome": r["probe"]["outcome"]["result"],
                "code": r["probe"]["outcome"]["code"],
                "rules": rules,
                "links": r["links"].as_array().map(|l| l.iter().map(|l| json!([l["link"], l["status"]])).collect::<Vec<_>>()),
            }));
        });
    }
    assert!(checked >= 70, "only {checked} scenarios probed; skipped {skipped:?}");
    common::assert_no_problems(&problems);
    eprintln!("probed {checked} scenarios; not modelled: {skipped:?}");
}

/// `--probe-data-plane`: the one request and its classification, per resource type.
#[test]
fn the_data_plane_probe_makes_one_harmless_request_and_reads_403_as_denied() {
    let s = common::healthy();
    let scope = "/subscriptions/6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f/resourceGroups/rg-payments-prod/providers/Microsoft.KeyVault/vaults/kv-payments-weu";
    for (answer, want) in [
        (
            (
                404u16,
                json!({"error": {"code": "SecretNotFound", "message": "A secret with (name/id) wi-probe-authorization-check was not found in this key vault."}}),
            ),
            "pass",
        ),
        (
            (
                403,
                json!({"error": {"code": "Forbidden", "message": "Caller is not authorized to perform action on resource.", "innererror": {"code": "ForbiddenByRbac"}}}),
            ),
            "fail",
        ),
    ] {
        let mut w = world_for(&s).expect("world");
        let (st, body) = answer.clone();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let log = seen.clone();
        let vault = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (body, log) = (body.clone(), log.clone());
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                log.lock().expect("log").push(format!(
                    "{} bearer={}",
                    uri,
                    auth.strip_prefix("Bearer ") == Some(fake_entra::access_token().as_str())
                ));
                (StatusCode::from_u16(st).expect("status"), axum::Json(body)).into_response()
            }
        });
        w.serve(&["kv-payments-weu.vault.azure.net".to_string()], vault);
        let (_, r) = w.json(&s, &["--probe", "--probe-data-plane", "--scope", scope]);
        assert_eq!(status(&r, "WI407"), want, "{}", message(&r, "WI407"));
        let reqs = seen.lock().expect("log").clone();
        assert_eq!(
            reqs,
            ["/secrets/wi-probe-authorization-check?api-version=7.4 bearer=true"],
            "exactly one read-only request with the data-plane token"
        );
        let scopes: Vec<String> = w
            .entra_requests()
            .iter()
            .filter_map(|q| q.field("scope").map(str::to_string))
            .collect();
        assert_eq!(scopes, [fake_entra::ARM_SCOPE, "https://vault.azure.net/.default"]);
        if want == "fail" {
            assert!(
                message(&r, "WI407").contains("ForbiddenByRbac"),
                "{}",
                message(&r, "WI407")
            );
        }
        snapshot_rules(&format!("keyvault-data-plane-{st}"), &r);
    }
}

#[test]
fn a_malformed_tenant_in_the_pods_env_is_rejected_on_the_service_account_link() {
    // Old Helm values set AZURE_TENANT_ID by hand; the webhook keeps the user's value.
    let s = common::healthy();
    let tmp = tempfile::tempdir().expect("tmp");
    let snap = tmp.path().join("snapshot");
    copy_dir(&s.snapshot(), &snap);
    let pod = snap.join("k8s/pod.yaml");
    let text = std::fs::read_to_string(&pod).expect("pod");
    std::fs::write(
        &pod,
        text.replace("value: 2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f", "value: contoso"),
    )
    .expect("write");
    let moved = Scenario {
        name: s.name.clone(),
        dir: tmp.path().to_path_buf(),
        case: s.case.clone(),
    };
    let w = world_for(&s).expect("world");
    let (code, r) = w.json(&moved, &["--probe"]);
    assert_eq!(status(&r, "WI118"), "fail", "{}", message(&r, "WI118"));
    assert_eq!(r["probe"]["outcome"]["code"], "AADSTS900023");
    assert_eq!(w.entra_requests()[0].path, "/contoso/oauth2/v2.0/token");
    assert!(finding(&r, "WI118").to_string().contains("env AZURE_TENANT_ID"));
    assert_eq!(code, Some(1));
    snapshot_rules("tenant-identifier-malformed", &r);
    // A tenant that would change the token URL's path is not sent at all.
    std::fs::write(
        &pod,
        text.replace("value: 2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f", "value: common/../x?y=1"),
    )
    .expect("write");
    let w = world_for(&s).expect("world");
    let (_, r) = w.json(&moved, &["--probe"]);
    assert_eq!(status(&r, "WI306"), "unknown", "{}", message(&r, "WI306"));
    assert!(w.entra_requests().is_empty());
}

#[test]
fn a_live_probe_presents_the_token_from_the_token_request() {
    use common::fake_kube::{Behaviour, FakeKube, world_from};
    let s = common::healthy();
    let kube = FakeKube::start(world_from(&s.snapshot()), Behaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = kube.kubeconfig(tmp.path(), "payments");
    let w = world_for(&s).expect("world");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    cmd.env_remove("WI_FETCH_ISSUER").args([
        "doctor",
        "deploy/checkout-api",
        "-n",
        "payments",
        "--at",
        "2026-03-10T09:20:00Z",
        "--no-azure",
        "--probe",
        "--kubeconfig",
        kc.to_str().expect("p"),
        "-o",
        "json",
    ]);
    for (k, v) in w.proxy.env(&w.ca) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    // Live, the issuer is fetched by default and the TokenRequest's token is presented.
    assert_eq!(status(&r, "WI210"), "pass", "{}", message(&r, "WI210"));
    assert_eq!(status(&r, "WI306"), "pass", "{}", message(&r, "WI306"));
    assert!(
        kube.requests()
            .iter()
            .any(|(m, p)| m == "POST" && p.contains("/serviceaccounts/checkout-api/token")),
        "{:?}",
        kube.requests()
    );
    // One exchange, made beside the (here skipped) Azure reads, not repeated afterwards.
    assert_eq!(w.entra_requests().len(), 1);
    assert!(w.entra_requests()[0].assertion_sent);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(fake_entra::ACCESS_TOKEN_MARKER));
}

#[test]
fn a_storage_403_is_read_from_its_xml_error_and_fails_the_role_link() {
    let s = common::scenario("healthy-arc-storage");
    let mut w = world_for(&s).expect("world");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let blob = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let log = log.clone();
        async move {
            log.lock().expect("log").push(format!(
                "{uri} x-ms-version={}",
                headers.get("x-ms-version").and_then(|v| v.to_str().ok()).unwrap_or("-")
            ));
            (
                StatusCode::FORBIDDEN,
                [("x-ms-error-code", "AuthorizationPermissionMismatch"), ("content-type", "application/xml")],
                "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.\nRequestId:1\nTime:2026-03-10T09:20:00Z</Message></Error>",
            )
                .into_response()
        }
    });
    w.serve(&["stpaymentsweu.blob.core.windows.net".to_string()], blob);
    let (code, r) = w.json(&s, &["--probe", "--probe-data-plane"]);
    assert_eq!(status(&r, "WI407"), "fail", "{}", message(&r, "WI407"));
    assert!(message(&r, "WI407").contains("AuthorizationPermissionMismatch"));
    assert_eq!(code, Some(1));
    assert_eq!(
        seen.lock().expect("log").clone(),
        ["/?comp=list&maxresults=1 x-ms-version=2023-11-03"]
    );
    let scopes: Vec<String> = w
        .entra_requests()
        .iter()
        .filter_map(|q| q.field("scope").map(str::to_string))
        .collect();
    assert_eq!(scopes, [fake_entra::ARM_SCOPE, "https://storage.azure.com/.default"]);
}

#[test]
fn an_issuer_on_a_private_address_is_flagged() {
    // A self-managed issuer at https://localhost:<port>/: it answers from here, but Entra, on
    // the public internet, cannot reach a loopback address.
    let ca = TestCa::new();
    let key = fake_entra::issuer_key(1);
    let jwks = fake_entra::jwks(&[&key]);
    // The issuer URL holds the port, known only once bound: the documents name the Host asked.
    let router = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let jwks = jwks.clone();
        async move {
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let iss = format!("https://{host}/");
            if uri.path() == "/.well-known/openid-configuration" {
                axum::Json(json!({"issuer": iss, "jwks_uri": format!("{iss}openid/v1/jwks")})).into_response()
            } else {
                axum::Json(jwks).into_response()
            }
        }
    });
    let srv = HttpsServer::start(&ca, &["localhost"], router);
    let iss = format!("https://localhost:{}/", srv.addr().port());
    let s = common::healthy();
    let now = 1_773_134_400; // 2026-03-10T09:20:00Z
    let token = fake_entra::sign(
        &fake_entra::sa_claims(
            &iss,
            "payments",
            "checkout-api",
            fake_entra::EXCHANGE_AUDIENCE,
            now - 60,
            3600,
        ),
        &key.kid,
        &key,
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let snap = tmp.path().join("snapshot");
    copy_dir(&s.snapshot(), &snap);
    std::fs::write(snap.join("token/azure-identity-token"), &token).expect("token");
    let moved = Scenario {
        name: s.name.clone(),
        dir: tmp.path().to_path_buf(),
        case: s.case.clone(),
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    cmd.args(moved.args(&["--fetch-issuer", "-o", "json"]))
        .env("SSL_CERT_FILE", ca.ca_pem_path())
        .env("SSL_CERT_DIR", "");
    // The sealed proxy (which refuses every connection) stays set: NO_PROXY=localhost must send
    // wi straight to the issuer, resolving the host itself.
    let out = cmd.output().expect("run");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let f = finding(&r, "WI210");
    assert_eq!(f["status"], "warn", "{f}");
    assert!(f["message"].as_str().expect("m").contains("127.0.0.1"), "{f}");
    assert_eq!(srv.requests().len(), 2, "{:?}", srv.requests());
}

#[test]
fn every_aadsts_code_in_the_error_table_lands_on_its_link_when_entra_answers_it() {
    // Codes the Entra model cannot derive from a directory (70023, 50166, 700223, …) are
    // answered as canned errors in Entra's body shape; the probe must read the code and put
    // the finding where `wi explain` puts it.
    let s = common::healthy();
    let base = directory(&s).expect("directory");
    let mut problems = vec![];
    let mut seen = 0;
    for sig in wi::explain::catalog() {
        let Some(code) = sig.code.clone().filter(|c| c.starts_with("AADSTS")) else {
            continue;
        };
        let n: u64 = code[6..].parse().expect("code number");
        let at = sig.example.find(&code).expect("example holds its code");
        let text: String = sig.example[at + code.len()..]
            .trim_start_matches(':')
            .split(['\r', '\n', '"'])
            .next()
            .unwrap_or_default()
            .split(" Trace ID:")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let mut dir = base.clone();
        dir.canned = Some((400, "invalid_request", n, text));
        let mut w = World::new();
        let i = Issuer::of(&s).expect("issuer");
        w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
        w.entra(dir);
        let (_, r) = w.json(&s, &["--probe"]);
        seen += 1;
        let (rule, want) = match sig.link.as_str() {
            "service-account" => ("WI118", "fail"),
            "issuer" => ("WI211", "fail"),
            "none" => ("WI306", "unknown"), // outside the chain: not a broken link, not a pass
            _ => ("WI306", "fail"),
        };
        if status(&r, rule) != want {
            problems.push(format!(
                "{code} ({}): {rule} is {}: {}",
                sig.link,
                status(&r, rule),
                message(&r, rule)
            ));
        }
        if r["probe"]["outcome"]["code"] != code.as_str() {
            problems.push(format!("{code}: read as {}", r["probe"]["outcome"]["code"]));
        }
    }
    assert!(seen >= 19, "{seen}");
    common::assert_no_problems(&problems);
}

#[test]
fn the_authority_follows_the_cloud() {
    let s = common::healthy();
    let mut w = world_for(&s).expect("world");
    let (router, log) = fake_entra::router(Directory {
        resources: vec!["https://management.usgovcloudapi.net".into()],
        ..directory(&s).expect("directory")
    });
    w.serve(&["login.microsoftonline.us".to_string()], router);
    let (_, r) = w.json(&s, &["--probe", "--cloud", "AzureUSGovernment"]);
    assert_eq!(status(&r, "WI306"), "pass", "{}", message(&r, "WI306"));
    let reqs = log.lock().expect("log").clone();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].field("scope"),
        Some("https://management.usgovcloudapi.net/.default")
    );
    assert!(
        w.entra_requests().is_empty(),
        "nothing went to the public cloud's authority"
    );
    assert!(
        w.proxy
            .connects()
            .iter()
            .any(|c| c.starts_with("login.microsoftonline.us:443"))
    );
}

#[test]
fn a_collected_snapshot_re_diagnoses_the_issuer_from_outside_offline() {
    use common::fake_kube::{Behaviour, FakeKube, world_from};
    let s = common::healthy();
    let i = Issuer::of(&s).expect("issuer");
    let mut rotated = i.jwks.clone();
    rotated["keys"][0]["kid"] = json!("published-before-rotation");
    for (case, jwks, want) in [("published", i.jwks.clone(), "pass"), ("kid missing", rotated, "fail")] {
        let kube = FakeKube::start(world_from(&s.snapshot()), Behaviour::default());
        let tmp = tempfile::tempdir().expect("tmp");
        let kc = kube.kubeconfig(tmp.path(), "payments");
        let mut w = World::new();
        w.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(jwks));
        let live = |args: &[&str]| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
            common::sealed(&mut cmd);
            cmd.env_remove("WI_FETCH_ISSUER").args(args).args([
                "-n",
                "payments",
                "--no-azure",
                "--kubeconfig",
                kc.to_str().expect("p"),
            ]);
            for (k, v) in w.proxy.env(&w.ca) {
                cmd.env(k, v);
            }
            cmd.output().expect("run")
        };
        let snap = tmp.path().join("snap");
        let out = live(&[
            "collect",
            "deploy/checkout-api",
            "--output-dir",
            snap.to_str().expect("p"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{case}: {}", stderr(&out));
        assert!(snap.join("oidc/external.yaml").exists(), "{case}");
        let out = live(&[
            "doctor",
            "deploy/checkout-api",
            "--at",
            "2026-03-10T09:20:00Z",
            "-o",
            "json",
        ]);
        let from_live: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        // Offline: no proxy route, no fetch; the recorded fetch is judged.
        let out = common::wi(&[
            "doctor",
            "deploy/checkout-api",
            "-n",
            "payments",
            "--at",
            "2026-03-10T09:20:00Z",
            "-o",
            "json",
            "--snapshot",
            snap.to_str().expect("p"),
        ]);
        let from_snap: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        assert_eq!(
            status(&from_live, "WI210"),
            want,
            "{case}: {}",
            message(&from_live, "WI210")
        );
        assert_eq!(finding(&from_snap, "WI210"), finding(&from_live, "WI210"), "{case}");
        // --fetch-issuer on the snapshot fetches now: an issuer that publishes the key today
        // replaces the recorded view (the snapshot keeps decoded claims only, so the signature
        // cannot be checked against today's keys: unknown, never a pass).
        let mut fixed = World::new();
        fixed.issuer(&i, Answer::Json(i.discovery.clone()), Answer::Json(i.jwks.clone()));
        let moved = Scenario {
            name: s.name.clone(),
            dir: tmp.path().to_path_buf(),
            case: s.case.clone(),
        };
        std::fs::rename(&snap, tmp.path().join("snapshot")).expect("rename");
        let (_, now) = fixed.json(&moved, &["--fetch-issuer"]);
        assert_eq!(status(&now, "WI210"), "unknown", "{case}: {}", message(&now, "WI210"));
        assert!(
            message(&now, "WI210").contains("is published"),
            "{case}: {}",
            message(&now, "WI210")
        );
        std::fs::rename(tmp.path().join("snapshot"), &snap).expect("rename back");
        // Redacted for a public ticket: pseudonyms everywhere, the same verdict.
        let red = tmp.path().join("red");
        let out = live(&[
            "collect",
            "deploy/checkout-api",
            "--redact",
            "--output-dir",
            red.to_str().expect("p"),
        ]);
        let next = stderr(&out);
        let cmd: Vec<&str> = next
            .split("next: ")
            .nth(1)
            .expect("next command")
            .split_whitespace()
            .collect();
        let mut args: Vec<&str> = cmd[1..].to_vec();
        args.extend(["--at", "2026-03-10T09:20:00Z", "-o", "json"]);
        let out = common::wi(&args);
        let from_red: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        assert_eq!(
            status(&from_red, "WI210"),
            want,
            "{case}: {}",
            message(&from_red, "WI210")
        );
        let text = std::fs::read_to_string(red.join("oidc/external.yaml")).expect("external");
        assert!(
            !text.contains("2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f"),
            "{case}: the tenant GUID survived redaction"
        );
    }
}

#[test]
fn a_probe_proves_what_the_facts_could_not() {
    // Kubernetes facts only: the strings cannot check the credential, Entra can.
    let s = common::scenario("unknown-kubernetes-only");
    let w = world_for(&s).expect("world");
    let (code, r) = w.json(&s, &["--probe"]);
    assert_eq!(status(&r, "WI306"), "pass", "{}", message(&r, "WI306"));
    assert_eq!(status(&r, "WI307"), "pass");
    assert!(
        message(&r, "WI307").contains("could not check"),
        "{}",
        message(&r, "WI307")
    );
    // An unread fact stays unknown: the probe proves, it does not fill in the facts.
    assert_eq!(code, Some(4));
}

#[test]
fn the_authority_host_and_the_probe_scope_are_honoured() {
    let s = common::healthy();
    let mut w = world_for(&s).expect("world");
    let (router, log) = fake_entra::router(directory(&s).expect("directory"));
    w.serve(&["login.example.test".to_string()], router);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    cmd.args(s.args(&[
        "--probe",
        "--probe-scope",
        "https://vault.azure.net/.default",
        "-o",
        "json",
    ]));
    for (k, v) in w.proxy.env(&w.ca) {
        cmd.env(k, v);
    }
    cmd.env("AZURE_AUTHORITY_HOST", "https://login.example.test/");
    let out = cmd.output().expect("run");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(status(&r, "WI306"), "pass", "{}", message(&r, "WI306"));
    let reqs = log.lock().expect("log").clone();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].field("scope"), Some("https://vault.azure.net/.default"));
    assert!(w.entra_requests().is_empty());
    assert_eq!(
        r["probe"]["endpoint"],
        "https://login.example.test/2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f/oauth2/v2.0/token"
    );
}

#[test]
fn a_live_probe_with_azure_asks_for_the_clouds_arm_resource_not_the_overridden_endpoint() {
    use common::fake_azure::{AzureBehaviour, FakeAzure, cluster_id};
    use common::fake_kube::{Behaviour, FakeKube, world_from};
    let s = common::healthy();
    let kube = FakeKube::start(world_from(&s.snapshot()), Behaviour::default());
    let azure = FakeAzure::start(&s.snapshot(), AzureBehaviour::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let kc = kube.kubeconfig(tmp.path(), "payments");
    let w = world_for(&s).expect("world");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
    common::sealed(&mut cmd);
    let mut args = s.case_args();
    args.extend([
        "--probe".into(),
        "--kubeconfig".into(),
        kc.display().to_string(),
        "-o".into(),
        "json".into(),
    ]);
    if let Some(c) = cluster_id(&s.snapshot()) {
        args.extend(["--cluster".into(), c]);
    }
    cmd.args(&args).env_remove("AZURE_SUBSCRIPTION_ID");
    for (k, v) in azure.env() {
        cmd.env(k, v); // WI_ARM_ENDPOINT, WI_GRAPH_ENDPOINT at the fake
    }
    for (k, v) in w.proxy.env(&w.ca) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(status(&r, "WI306"), "pass", "{}", message(&r, "WI306"));
    assert_eq!(r["verdict"], "pass", "{r}");
    let reqs = w.entra_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].field("scope"), Some(fake_entra::ARM_SCOPE));
}

#[test]
fn the_pods_authority_picks_the_cloud_and_an_unknown_one_is_never_sent_a_token() {
    let s = common::healthy();
    for (authority, host, scope, source) in [
        (
            "https://login.microsoftonline.us/",
            "login.microsoftonline.us",
            "https://management.usgovcloudapi.net/.default",
            "(AzureUSGovernment)",
        ),
        (
            "https://login.attacker.example/",
            ENTRA_HOST,
            fake_entra::ARM_SCOPE,
            "not a known Entra authority",
        ),
    ] {
        let tmp = tempfile::tempdir().expect("tmp");
        let snap = tmp.path().join("snapshot");
        copy_dir(&s.snapshot(), &snap);
        let pod = snap.join("k8s/pod.yaml");
        let text = std::fs::read_to_string(&pod).expect("pod");
        std::fs::write(
            &pod,
            text.replace(
                "value: https://login.microsoftonline.com/",
                &format!("value: {authority}"),
            ),
        )
        .expect("write");
        let moved = Scenario {
            name: s.name.clone(),
            dir: tmp.path().to_path_buf(),
            case: s.case.clone(),
        };
        let mut w = world_for(&s).expect("world");
        let (router, log) = fake_entra::router(Directory {
            resources: vec!["https://management.usgovcloudapi.net".into()],
            ..directory(&s).expect("directory")
        });
        w.serve(&["login.microsoftonline.us".to_string()], router);
        let (_, r) = w.json(&moved, &["--probe"]);
        let said = format!("{} {}", r["probe"]["authority_source"], r["probe"]["authority_warning"]);
        assert!(said.contains(source), "{}", r["probe"]);
        let mut all = log.lock().expect("log").clone();
        all.extend(w.entra_requests());
        assert_eq!(all.len(), 1, "{authority}");
        assert_eq!(all[0].field("scope"), Some(scope), "{authority}");
        assert!(
            w.proxy.connects().iter().any(|c| c.starts_with(&format!("{host}:443"))),
            "{authority}: {:?}",
            w.proxy.connects()
        );
        assert!(
            !w.proxy.connects().iter().any(|c| c.contains("attacker")),
            "a token went to an unknown authority"
        );
    }
}
