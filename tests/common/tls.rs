//! In-process HTTPS for tests: a throwaway CA ([`TestCa`]), TLS servers that serve an axum
//! Router ([`HttpsServer`]) or never answer ([`StallServer`]), and an HTTP CONNECT proxy
//! ([`ConnectProxy`]) that tunnels only to those servers.
//!
//! A child `wi` reaches them at the product's real URLs (`https://login.microsoftonline.com/…`)
//! with the environment from [`ConnectProxy::env`]: `HTTPS_PROXY` points at the proxy and
//! `SSL_CERT_FILE` at the test CA. The proxy answers `502 Bad Gateway` to every host it has no
//! route for and never opens a connection anywhere else, so no test can reach a real endpoint.
//!
//! Each server owns its tokio runtime (like `fake_azure`), so the API is synchronous and works
//! from plain and `#[tokio::test]` tests alike.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use hyper::body::Incoming;
use hyper::service::{Service, service_fn};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A shared, append-only log of lines.
pub type Log = Arc<Mutex<Vec<String>>>;

/// A certificate authority generated for one test. Nothing outside the test trusts it.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pem_file: OnceLock<tempfile::TempPath>,
}

/// A server certificate issued by a [`TestCa`], with its private key.
pub struct Leaf {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

impl TestCa {
    /// A fresh CA (ECDSA P-256, self-signed) with a name of its own: two CAs with one name
    /// would make a verifier that trusts the other report `BadSignature`, not `UnknownIssuer`.
    pub fn new() -> TestCa {
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "wi test CA {}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::SeqCst)
        );
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA cert");
        TestCa {
            issuer,
            pem_file: OnceLock::new(),
        }
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A temporary file holding [`Self::ca_pem`] (written once, deleted with the CA): the
    /// value for `SSL_CERT_FILE`.
    pub fn ca_pem_path(&self) -> PathBuf {
        let file = self.pem_file.get_or_init(|| {
            let mut f = tempfile::Builder::new().suffix(".pem").tempfile().expect("temp file");
            std::io::Write::write_all(&mut f, self.ca_pem().as_bytes()).expect("write CA");
            f.into_temp_path()
        });
        file.to_path_buf()
    }

    /// A server certificate for `hosts` (DNS names) plus `localhost` and `127.0.0.1`.
    pub fn leaf(&self, hosts: &[&str]) -> Leaf {
        let mut names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        for extra in ["localhost", "127.0.0.1"] {
            if !names.iter().any(|n| n == extra) {
                names.push(extra.into());
            }
        }
        let mut params = CertificateParams::new(names).expect("SANs");
        params
            .distinguished_name
            .push(DnType::CommonName, hosts.first().copied().unwrap_or("localhost"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf cert");
        Leaf {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl Leaf {
    /// A rustls server config (ring provider, HTTP/1.1 ALPN) presenting this certificate.
    pub fn server_config(self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert], self.key)
            .expect("server cert");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// A tokio runtime dropped without blocking, so servers may be dropped inside async tests.
struct Rt(Option<tokio::runtime::Runtime>);

impl Rt {
    fn new() -> Rt {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        Rt(Some(rt))
    }
    fn spawn(&self, f: impl Future<Output = ()> + Send + 'static) {
        self.0.as_ref().expect("runtime").spawn(f);
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// A listener on 127.0.0.1:0, bound synchronously (no `block_on`, which panics in async tests).
fn bind() -> (std::net::TcpListener, SocketAddr) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.set_nonblocking(true).expect("nonblocking");
    let addr = l.local_addr().expect("addr");
    (l, addr)
}

/// An HTTPS server on 127.0.0.1 serving an axum Router with a certificate from a [`TestCa`].
pub struct HttpsServer {
    addr: SocketAddr,
    /// Every request, as `"METHOD /path?query"`, in arrival order.
    pub log: Log,
    _rt: Rt,
}

impl HttpsServer {
    /// Serve `router` over TLS with a certificate for `hosts` (plus localhost and 127.0.0.1).
    /// A client that does not trust `ca` fails the handshake and reaches no handler.
    pub fn start(ca: &TestCa, hosts: &[&str], router: Router) -> HttpsServer {
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.leaf(hosts).server_config());
        let (std_listener, addr) = bind();
        let log: Log = Arc::default();
        let (rt, l2) = (Rt::new(), log.clone());
        rt.spawn(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            let service = TowerToHyperService::new(router);
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, service, log) = (acceptor.clone(), service.clone(), l2.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let logged = service_fn(move |req: hyper::Request<Incoming>| {
                        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
                        log.lock().expect("log").push(format!("{} {target}", req.method()));
                        service.call(req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), logged)
                        .await;
                });
            }
        });
        HttpsServer { addr, log, _rt: rt }
    }

    /// Where it listens (127.0.0.1, a free port): what a [`ConnectProxy`] route points at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A copy of [`Self::log`].
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
}

/// A server on 127.0.0.1 that accepts TCP connections, holds them open and never sends or reads
/// a byte: a TLS handshake through it hangs until the client times out. (For a server that
/// completes TLS and then never answers, give [`HttpsServer`] a handler that awaits
/// `std::future::pending()`.)
pub struct StallServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    _rt: Rt,
}

impl StallServer {
    /// Listen on 127.0.0.1 (a free port).
    pub fn start() -> StallServer {
        let (std_listener, addr) = bind();
        let accepted: Arc<AtomicUsize> = Arc::default();
        let (rt, a2) = (Rt::new(), accepted.clone());
        rt.spawn(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                a2.fetch_add(1, Ordering::SeqCst);
                // Held until the runtime shuts down, then closed.
                tokio::spawn(async move {
                    let _held = tcp;
                    std::future::pending::<()>().await
                });
            }
        });
        StallServer {
            addr,
            accepted,
            _rt: rt,
        }
    }

    /// Where it listens: what a [`ConnectProxy`] route points at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections it has accepted.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// An HTTP/1.1 forward proxy on 127.0.0.1 that tunnels `CONNECT host:port` to the in-process
/// server routed for `host` (whatever the port) and answers `502 Bad Gateway` to everything
/// else: unrouted hosts and plain (non-CONNECT) proxy requests. It connects nowhere else.
pub struct ConnectProxy {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, SocketAddr>>>,
    connects: Log,
    rejected: Log,
    _rt: Rt,
}

impl ConnectProxy {
    /// Start with these `(host, server address)` routes; hosts match case-insensitively.
    pub fn start(routes: Vec<(String, SocketAddr)>) -> ConnectProxy {
        let routes = Arc::new(Mutex::new(
            routes.into_iter().map(|(h, a)| (h.to_ascii_lowercase(), a)).collect(),
        ));
        let (connects, rejected): (Log, Log) = Default::default();
        let (std_listener, addr) = bind();
        let rt = Rt::new();
        let (r, c, x) = (routes.clone(), connects.clone(), rejected.clone());
        rt.spawn(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(proxy_connection(tcp, r.clone(), c.clone(), x.clone()));
            }
        });
        ConnectProxy {
            addr,
            routes,
            connects,
            rejected,
            _rt: rt,
        }
    }

    /// Route CONNECTs for `host` (any port) to `addr` from now on.
    pub fn route(&self, host: &str, addr: SocketAddr) {
        self.routes
            .lock()
            .expect("routes")
            .insert(host.to_ascii_lowercase(), addr);
    }

    /// Where it listens (127.0.0.1, a free port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: the value for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every CONNECT target (`host:port`) in arrival order, routed or not.
    pub fn connects(&self) -> Vec<String> {
        self.connects.lock().expect("connects").clone()
    }

    /// Every request answered 502, as `"METHOD target"` (`"CONNECT evil.test:443"`,
    /// `"GET http://example.com/"`).
    pub fn rejected(&self) -> Vec<String> {
        self.rejected.lock().expect("rejected").clone()
    }

    /// The environment for a child process (`Command::envs`): HTTP(S) through this proxy,
    /// trust only `ca`. `NO_PROXY` covers just loopback, so plain-HTTP fakes on 127.0.0.1
    /// (`fake_azure`) stay reachable directly while every named host goes through the proxy,
    /// whatever the caller's own proxy settings. (kube-client 5 also reads `HTTPS_PROXY`, but
    /// matches `NO_PROXY` against the proxy's own URL: with this environment a child's
    /// Kubernetes client bypasses the proxy and reaches `fake_kube` directly; without the
    /// loopback `NO_PROXY` it would tunnel there through this proxy and get 502.)
    pub fn env(&self, ca: &TestCa) -> Vec<(&'static str, String)> {
        let no_proxy = "127.0.0.1,localhost".to_string();
        vec![
            ("HTTPS_PROXY", self.url()),
            ("https_proxy", self.url()),
            ("HTTP_PROXY", self.url()),
            ("http_proxy", self.url()),
            ("NO_PROXY", no_proxy.clone()),
            ("no_proxy", no_proxy),
            ("SSL_CERT_FILE", ca.ca_pem_path().display().to_string()),
            ("SSL_CERT_DIR", String::new()),
        ]
    }
}

/// Serve one proxy client: tunnel a routed CONNECT, answer anything else 502.
async fn proxy_connection(
    tcp: TcpStream,
    routes: Arc<Mutex<HashMap<String, SocketAddr>>>,
    connects: Log,
    rejected: Log,
) {
    let mut client = BufReader::new(tcp);
    let mut request_line = String::new();
    if client.read_line(&mut request_line).await.unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut header = String::new();
        match client.read_line(&mut header).await {
            Ok(n) if n > 0 && header != "\r\n" && header != "\n" => continue,
            Ok(n) if n > 0 => break,
            _ => return,
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let server = if method.eq_ignore_ascii_case("CONNECT") {
        connects.lock().expect("connects").push(target.to_string());
        let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let routed = routes.lock().expect("routes").get(&host).copied();
        match routed {
            Some(addr) => TcpStream::connect(addr).await.ok(),
            None => None,
        }
    } else {
        None
    };
    let Some(mut server) = server else {
        rejected.lock().expect("rejected").push(format!("{method} {target}"));
        let body = format!("wi test proxy: no in-process route for {target}\n");
        let head = format!(
            "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = client.write_all(format!("{head}{body}").as_bytes()).await;
        let _ = client.shutdown().await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_ok()
    {
        // Bytes the client sent after the request head are still in the BufReader and are
        // forwarded first: copy_bidirectional reads through it.
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
