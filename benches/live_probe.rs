//! `wi doctor` end to end, live, against the fake API server, fake ARM/Graph, and in-process
//! HTTPS servers for the issuer, Entra and a vault (through the test CONNECT proxy), each
//! answering after a fixed latency: wall time / latency = round trips on the critical path, with
//! and without the issuer fetch, --probe and --probe-data-plane. No assertion: numbers for the
//! notes. TLS handshakes are not delayed, so real networks add their round trips on top.
//!
//!     cargo bench --bench live_probe

#[path = "../tests/common/mod.rs"]
mod common;
use axum::Router;
use axum::response::IntoResponse;
use common::fake_azure::{AzureBehaviour, FakeAzure, cluster_id};
use common::fake_entra;
use common::fake_kube::{Behaviour, FakeKube, world_from};
use common::tls::{ConnectProxy, HttpsServer, TestCa};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const L: Duration = Duration::from_millis(100);

fn slow(r: Router) -> Router {
    r.layer(axum::middleware::from_fn(
        |req: axum::extract::Request, next: axum::middleware::Next| async move {
            tokio::time::sleep(L).await;
            next.run(req).await.into_response()
        },
    ))
}

fn main() {
    wi::collect::tls_provider();
    let s = common::healthy();
    let kube = FakeKube::start(
        world_from(&s.snapshot()),
        Behaviour {
            latency: L,
            ..Default::default()
        },
    );
    let azure = FakeAzure::start(
        &s.snapshot(),
        AzureBehaviour {
            latency: L,
            ..Default::default()
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let kc = kube.kubeconfig(tmp.path(), "payments");
    let ca = TestCa::new();
    let disc: Value =
        serde_json::from_str(&std::fs::read_to_string(s.snapshot().join("oidc/openid-configuration")).unwrap())
            .unwrap();
    let jwks: Value = serde_json::from_str(&std::fs::read_to_string(s.snapshot().join("oidc/jwks")).unwrap()).unwrap();
    let (d2, j2) = (disc.clone(), jwks.clone());
    let issuer = Router::new().fallback(move |uri: axum::http::Uri| {
        let (d, j) = (d2.clone(), j2.clone());
        async move {
            if uri.path().ends_with("openid-configuration") {
                axum::Json(d)
            } else {
                axum::Json(j)
            }
        }
    });
    let iss_srv = HttpsServer::start(&ca, &["westeurope.oic.prod-aks.azure.com"], slow(issuer));
    let mut dir = fake_entra::Directory {
        now: 1_773_134_400,
        ..Default::default()
    };
    dir.tenants.push(fake_entra::Tenant {
        id: "2b7d9e1f-3c4a-4b5d-8e6f-7a8b9c0d1e2f".into(),
        domains: vec![],
        apps: vec![
            fake_entra::App::new("5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e", "mi").with(fake_entra::Fic::new(
                "f",
                disc["issuer"].as_str().unwrap(),
                "system:serviceaccount:payments:checkout-api",
            )),
        ],
    });
    dir.issuers.push((
        disc["issuer"].as_str().unwrap().into(),
        fake_entra::IssuerState::Ok { jwks: jwks.clone() },
    ));
    let (er, _log) = fake_entra::router(dir);
    let entra = HttpsServer::start(&ca, &["login.microsoftonline.com"], slow(er));
    let vault = HttpsServer::start(
        &ca,
        &["kv-payments-weu.vault.azure.net"],
        slow(Router::new().fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({"error":{"code":"SecretNotFound","message":"x"}})),
            )
        })),
    );
    let proxy = ConnectProxy::start(vec![
        ("westeurope.oic.prod-aks.azure.com".into(), iss_srv.addr()),
        ("login.microsoftonline.com".into(), entra.addr()),
        ("kv-payments-weu.vault.azure.net".into(), vault.addr()),
    ]);
    for extra in [
        vec!["--fetch-issuer=false"],
        vec![],
        vec!["--probe"],
        vec!["--probe", "--probe-data-plane"],
    ] {
        let mut args = s.case_args();
        args.extend([
            "--kubeconfig".into(),
            kc.display().to_string(),
            "-o".into(),
            "json".into(),
        ]);
        if let Some(c) = cluster_id(&s.snapshot()) {
            args.extend(["--cluster".into(), c]);
        }
        args.extend(extra.iter().map(|x| x.to_string()));
        let mut best = Duration::MAX;
        let mut verdict = String::new();
        for _ in 0..3 {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_wi"));
            common::sealed(&mut cmd);
            cmd.env_remove("WI_FETCH_ISSUER")
                .args(&args)
                .env_remove("AZURE_SUBSCRIPTION_ID");
            for (k, v) in azure.env() {
                cmd.env(k, v);
            }
            for (k, v) in proxy.env(&ca) {
                cmd.env(k, v);
            }
            let t = Instant::now();
            let out = cmd.output().unwrap();
            best = best.min(t.elapsed());
            let v: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{e} {}", String::from_utf8_lossy(&out.stderr)));
            verdict = format!(
                "probe {} · verdict {} · not passing {:?}",
                v["probe"]["outcome"]["result"],
                v["verdict"],
                v["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["status"] == "fail" || f["status"] == "unknown")
                    .map(|f| f["rule"].clone())
                    .collect::<Vec<_>>()
            );
        }
        eprintln!(
            "{extra:?}: best of 3 {:?} = {:.1} x latency; {verdict}",
            best,
            best.as_secs_f64() / L.as_secs_f64()
        );
    }
}
