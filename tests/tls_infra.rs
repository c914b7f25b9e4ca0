//! Self-test of the in-process HTTPS infrastructure (`common::tls`): reqwest, configured as
//! the product configures it, reaches in-process servers at real-looking URLs through the
//! CONNECT proxy, and nothing else.

mod common;

use std::error::Error as _;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::tls::{ConnectProxy, HttpsServer, StallServer, TestCa};
use reqwest::{Certificate, Client, Proxy};
use serde_json::{Value, json};

const DISCOVERY: &str = "/x/.well-known/openid-configuration";

fn discovery_router() -> Router {
    Router::new().route(
        DISCOVERY,
        get(|| async { axum::Json(json!({"issuer": "https://oidc.example.test/x/"})) }),
    )
}

/// A client that trusts only `ca` and sends every HTTPS request through `proxy`.
fn client(ca: &TestCa, proxy: &ConnectProxy) -> reqwest::ClientBuilder {
    wi::collect::tls_provider();
    let cert = Certificate::from_pem(ca.ca_pem().as_bytes()).expect("CA pem");
    Client::builder()
        .tls_certs_only([cert])
        .proxy(Proxy::https(proxy.url()).expect("proxy"))
}

/// An error with all its causes, for assertions on why a request failed.
fn chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}: {c}");
        cause = c.source();
    }
    s
}

#[tokio::test]
async fn fetches_a_real_looking_url_through_the_proxy() {
    let ca = TestCa::new();
    let server = HttpsServer::start(&ca, &["oidc.example.test"], discovery_router());
    let proxy = ConnectProxy::start(vec![("oidc.example.test".into(), server.addr())]);
    let c = client(&ca, &proxy).build().expect("client");

    let url = format!("https://oidc.example.test{DISCOVERY}");
    let r = c.get(&url).send().await.expect("fetch");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["issuer"], "https://oidc.example.test/x/");
    let r = c.get(format!("{url}?api-version=1")).send().await.expect("fetch");
    assert_eq!(r.status(), 200);

    assert_eq!(proxy.connects(), ["oidc.example.test:443"], "one tunnel, reused");
    assert!(proxy.rejected().is_empty());
    assert_eq!(
        server.requests(),
        [format!("GET {DISCOVERY}"), format!("GET {DISCOVERY}?api-version=1")]
    );
    // The server also answers directly, by IP (its certificate covers 127.0.0.1).
    let direct = Client::builder()
        .tls_certs_only([Certificate::from_pem(ca.ca_pem().as_bytes()).expect("pem")])
        .no_proxy()
        .build()
        .expect("client");
    let r = direct
        .get(format!("{}{DISCOVERY}", server.url()))
        .send()
        .await
        .expect("direct");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn routes_added_after_start_are_used() {
    let ca = TestCa::new();
    let server = HttpsServer::start(&ca, &["myvault.vault.azure.net"], discovery_router());
    let proxy = ConnectProxy::start(vec![]);
    proxy.route("MyVault.vault.azure.net", server.addr());
    let c = client(&ca, &proxy).build().expect("client");
    let r = c
        .get(format!("https://myvault.vault.azure.net:8443{DISCOVERY}"))
        .send()
        .await
        .expect("fetch");
    assert_eq!(r.status(), 200);
    assert_eq!(proxy.connects(), ["myvault.vault.azure.net:8443"]);
}

#[tokio::test]
async fn unrouted_hosts_and_plain_requests_get_502_and_no_connection() {
    let ca = TestCa::new();
    let server = HttpsServer::start(&ca, &["oidc.example.test"], discovery_router());
    let proxy = ConnectProxy::start(vec![("oidc.example.test".into(), server.addr())]);
    let c = client(&ca, &proxy).build().expect("client");

    let e = c
        .get("https://login.microsoftonline.com/tenant/oauth2/v2.0/token")
        .send()
        .await
        .expect_err("unrouted host must fail");
    // reqwest reports a refused CONNECT without its status: "tunnel error: unsuccessful".
    assert!(chain(&e).contains("tunnel error"), "{}", chain(&e));
    assert_eq!(proxy.connects(), ["login.microsoftonline.com:443"]);
    assert_eq!(proxy.rejected(), ["CONNECT login.microsoftonline.com:443"]);

    // Plain HTTP through the proxy is refused as well, with the proxy's own 502.
    let plain = Client::builder()
        .proxy(Proxy::http(proxy.url()).expect("proxy"))
        .build()
        .expect("client");
    let r = plain
        .get("http://example.invalid/x?y=1")
        .send()
        .await
        .expect("proxy answers");
    assert_eq!(r.status(), 502);
    assert!(r.text().await.expect("body").contains("no in-process route"));
    assert_eq!(proxy.rejected()[1], "GET http://example.invalid/x?y=1");

    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_test_ca_fails_the_handshake() {
    let ca = TestCa::new();
    let server = HttpsServer::start(&ca, &["oidc.example.test"], discovery_router());
    let proxy = ConnectProxy::start(vec![("oidc.example.test".into(), server.addr())]);
    let other = TestCa::new();
    let c = client(&other, &proxy).build().expect("client");

    let e = c
        .get(format!("https://oidc.example.test{DISCOVERY}"))
        .send()
        .await
        .expect_err("untrusted CA must fail");
    assert!(chain(&e).contains("UnknownIssuer"), "{}", chain(&e));
    assert_eq!(proxy.connects(), ["oidc.example.test:443"], "the tunnel was opened");
    assert!(server.requests().is_empty(), "no request got past the handshake");
}

#[tokio::test]
async fn stalled_servers_make_a_1s_client_time_out() {
    let ca = TestCa::new();
    let stall = StallServer::start();
    // Completes TLS, reads the request, never answers.
    let hang = HttpsServer::start(
        &ca,
        &["hang.example.test"],
        Router::new().fallback(std::future::pending::<&'static str>),
    );
    let proxy = ConnectProxy::start(vec![
        ("slow.example.test".into(), stall.addr()),
        ("hang.example.test".into(), hang.addr()),
    ]);
    let c = client(&ca, &proxy)
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");

    for (url, what) in [
        ("https://slow.example.test/token", "TCP accepted, no TLS"),
        ("https://hang.example.test/token", "TLS, no answer"),
    ] {
        let t = Instant::now();
        let e = c.get(url).send().await.expect_err(what);
        let took = t.elapsed();
        assert!(e.is_timeout(), "{what}: {}", chain(&e));
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{what}: {took:?}"
        );
    }
    assert_eq!(stall.accepted(), 1);
    assert_eq!(hang.requests(), ["GET /token"]);
}

const CHILD_URL: &str = "WI_TLS_INFRA_CHILD_URL";

/// The product's configuration exactly — reqwest's defaults: the platform verifier (on Linux,
/// rustls-native-certs, which reads SSL_CERT_FILE) and proxies from the environment — in a
/// child process given `ConnectProxy::env`, as a child `wi` would be.
#[test]
fn the_default_client_in_a_child_process_follows_the_env() {
    let ca = TestCa::new();
    let host = "oidc.prod-aks.azure.com";
    let path = "/00000000-0000-0000-0000-000000000000/.well-known/openid-configuration";
    let server = HttpsServer::start(&ca, &[host], Router::new().route(path, get(|| async { "discovered" })));
    let proxy = ConnectProxy::start(vec![(host.into(), server.addr())]);

    let child = |env: Vec<(&'static str, String)>| {
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "child_probe", "--nocapture", "--test-threads=1"])
            .envs(env)
            .env(CHILD_URL, format!("https://{host}{path}"))
            .output()
            .expect("run child");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = child(proxy.env(&ca));
    assert!(ok && text.contains("child probe: 200 discovered"), "{text}");
    assert_eq!(proxy.connects(), [format!("{host}:443")]);
    assert_eq!(server.requests(), [format!("GET {path}")]);

    // It is SSL_CERT_FILE that makes the child trust the server: another CA's file fails.
    let (ok, text) = child(proxy.env(&TestCa::new()));
    assert!(!ok && text.contains("UnknownIssuer"), "{text}");
    assert_eq!(server.requests().len(), 1);
}

/// The child half of the test above; does nothing unless run by it.
#[test]
fn child_probe() {
    let Ok(url) = std::env::var(CHILD_URL) else { return };
    wi::collect::tls_provider();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (status, body) = rt.block_on(async {
        let r = reqwest::get(&url).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
        (r.status().as_u16(), r.text().await.expect("body"))
    });
    println!("child probe: {status} {body}");
}
