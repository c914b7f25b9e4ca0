//! An in-process fake Kubernetes API server on 127.0.0.1 (plain HTTP) that serves a
//! scenario's objects with the real response shapes: typed lists (items without kind and
//! apiVersion, `limit`/`continue` paging), `Status` objects for 404 and 403 with the API
//! server's own message formats, the TokenRequest subresource, and service-account issuer
//! discovery. It records every request and can refuse or slow down chosen reads.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Header (name, value) pairs of one request.
pub type Headers = Vec<(String, String)>;
/// A log shared between the server task and the test.
pub type Shared<T> = Arc<Mutex<Vec<T>>>;

/// What the fake serves.
#[derive(Clone, Default)]
pub struct World {
    pub objects: Vec<Value>,
    pub token: Option<String>,
    pub discovery: Option<Value>,
    pub jwks: Option<Value>,
    /// What `GET …/pods/{name}/log` returns.
    pub logs: Option<String>,
}

/// How the fake misbehaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// `(resource, verb)` pairs answered 403, e.g. `("pods", "list")`, `("serviceaccounts/token", "create")`.
    pub forbid: BTreeSet<(String, String)>,
    /// Added to every answer.
    pub latency: Duration,
    /// Page size forced on lists (to exercise `continue`), when smaller than the client's limit.
    pub page: Option<usize>,
}

pub struct FakeKube {
    pub url: String,
    pub log: Shared<(String, String)>,
    /// Authorization and impersonation headers of every request.
    pub headers: Shared<Headers>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeKube {
    pub fn start(world: World, behaviour: Behaviour) -> FakeKube {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let log: Shared<(String, String)> = Arc::default();
        let headers: Shared<Headers> = Arc::default();
        let state = Arc::new((world, behaviour, log.clone(), headers.clone()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, hdrs: axum::http::HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    let seen: Vec<(String, String)> = hdrs
                        .iter()
                        .filter(|(k, _)| k.as_str() == "authorization" || k.as_str().starts_with("impersonate-"))
                        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
                        .collect();
                    state.3.lock().expect("headers").push(seen);
                    handle(&state.0, &state.1, &state.2, method, uri, body).await
                }
            },
        );
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKube {
            url: format!("http://{addr}"),
            log,
            headers,
            _runtime: runtime,
        }
    }

    /// A kubeconfig for this server, with a bearer token and a default namespace.
    pub fn kubeconfig(&self, dir: &Path, namespace: &str) -> PathBuf {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: alice\n    namespace: {namespace}\ncurrent-context: fake\nusers:\n- name: alice\n  user:\n    token: test-only-bearer\n",
            self.url
        );
        let p = dir.join("kubeconfig");
        std::fs::write(&p, text).expect("kubeconfig");
        p
    }

    /// A kubeconfig whose user gets its token from an exec credential plugin (as kubelogin).
    pub fn exec_kubeconfig(&self, dir: &Path, token: &str) -> PathBuf {
        let script = dir.join("credential-plugin.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n"),
        )
        .expect("plugin");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: exec\ncurrent-context: fake\nusers:\n- name: exec\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [\"{}\"]\n      interactiveMode: Never\n",
            self.url,
            script.display()
        );
        let p = dir.join("kubeconfig-exec");
        std::fs::write(&p, text).expect("kubeconfig");
        p
    }

    pub fn seen_headers(&self) -> Vec<Headers> {
        self.headers.lock().expect("headers").clone()
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.log.lock().expect("log").clone()
    }
}

/// Resource → (apiVersion, kind, namespaced).
fn kind_of(resource: &str) -> Option<(&'static str, &'static str, bool)> {
    Some(match resource {
        "pods" => ("v1", "Pod", true),
        "serviceaccounts" => ("v1", "ServiceAccount", true),
        "namespaces" => ("v1", "Namespace", false),
        "nodes" => ("v1", "Node", false),
        "events" => ("v1", "Event", true),
        "configmaps" => ("v1", "ConfigMap", true),
        "deployments" => ("apps/v1", "Deployment", true),
        "replicasets" => ("apps/v1", "ReplicaSet", true),
        "statefulsets" => ("apps/v1", "StatefulSet", true),
        "daemonsets" => ("apps/v1", "DaemonSet", true),
        "jobs" => ("batch/v1", "Job", true),
        "cronjobs" => ("batch/v1", "CronJob", true),
        "mutatingwebhookconfigurations" => ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", false),
        _ => return None,
    })
}

fn status(code: u16, reason: &str, message: String, details: Value) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
        "reason": reason, "details": details, "code": code});
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(code: u16, v: Value) -> Response {
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn handle(
    world: &World,
    b: &Behaviour,
    log: &Mutex<Vec<(String, String)>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    log.lock().expect("log").push((method.to_string(), uri.to_string()));
    if !b.latency.is_zero() {
        tokio::time::sleep(b.latency).await;
    }
    let path = uri.path();
    if path == "/.well-known/openid-configuration" || path == "/openid/v1/jwks" {
        let (res, doc) = if path.starts_with("/.well") {
            ("/.well-known/openid-configuration", &world.discovery)
        } else {
            ("/openid/v1/jwks", &world.jwks)
        };
        if b.forbid.contains(&(res.to_string(), "get".to_string())) {
            return status(
                403,
                "Forbidden",
                format!("forbidden: User \"alice\" cannot get path \"{res}\""),
                json!({}),
            );
        }
        return match doc {
            Some(d) => ok(200, d.clone()),
            None => status(
                404,
                "NotFound",
                "the server could not find the requested resource".into(),
                json!({}),
            ),
        };
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest: &[&str] = match segs.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource".into(),
                json!({}),
            );
        }
    };
    // [namespaces, ns, resource, name?, sub?] | [namespaces, name] | [resource, name?]
    let (ns, resource, name, sub): (Option<&str>, &str, Option<&str>, Option<&str>) = match rest {
        ["namespaces", ns, resource, tail @ ..] => (Some(*ns), *resource, tail.first().copied(), tail.get(1).copied()),
        ["namespaces", name] => (None, "namespaces", Some(*name), None),
        [resource, tail @ ..] => (None, *resource, tail.first().copied(), tail.get(1).copied()),
        [] => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource".into(),
                json!({}),
            );
        }
    };
    let verb = match (&method, name) {
        (&Method::POST, _) => "create",
        (&Method::GET, Some(_)) => "get",
        (&Method::GET, None) => "list",
        _ => "write",
    };
    let full = match sub {
        Some(s) => format!("{resource}/{s}"),
        None => resource.to_string(),
    };
    let group_of = |r: &str| {
        kind_of(r)
            .map(|(av, _, _)| {
                if av.contains('/') {
                    av.split('/').next().unwrap_or("")
                } else {
                    ""
                }
            })
            .unwrap_or("")
    };
    if b.forbid.contains(&(full.clone(), verb.to_string())) {
        let scope = ns
            .map(|n| format!(" in the namespace \"{n}\""))
            .unwrap_or_else(|| " at the cluster scope".into());
        let msg = match name {
            Some(n) if verb != "list" => format!(
                "{resource} \"{n}\" is forbidden: User \"alice\" cannot {verb} resource \"{full}\" in API group \"{}\"{scope}",
                group_of(resource)
            ),
            _ => format!(
                "{resource} is forbidden: User \"alice\" cannot {verb} resource \"{full}\" in API group \"{}\"{scope}",
                group_of(resource)
            ),
        };
        return status(403, "Forbidden", msg, json!({"kind": resource, "name": name}));
    }
    if full == "pods/log" && method == Method::GET {
        return match &world.logs {
            Some(l) => (StatusCode::OK, [("content-type", "text/plain")], l.clone()).into_response(),
            None => status(
                404,
                "NotFound",
                format!("pods \"{}\" not found", name.unwrap_or_default()),
                json!({}),
            ),
        };
    }
    if method == Method::POST {
        if full != "serviceaccounts/token" {
            return status(
                405,
                "MethodNotAllowed",
                "the fake accepts only the TokenRequest POST".into(),
                json!({}),
            );
        }
        let sa = name.unwrap_or_default();
        let exists = world.objects.iter().any(|o| {
            o["kind"] == "ServiceAccount" && o["metadata"]["name"] == sa && o["metadata"]["namespace"].as_str() == ns
        });
        if !exists {
            return status(
                404,
                "NotFound",
                format!("serviceaccounts \"{sa}\" not found"),
                json!({"name": sa, "kind": "serviceaccounts"}),
            );
        }
        let Some(token) = &world.token else {
            return status(
                403,
                "Forbidden",
                format!(
                    "serviceaccounts \"{sa}\" is forbidden: User \"alice\" cannot create resource \"serviceaccounts/token\" in API group \"\" in the namespace \"{}\"",
                    ns.unwrap_or("")
                ),
                json!({"name": sa, "kind": "serviceaccounts"}),
            );
        };
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        return ok(
            201,
            json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": sa, "namespace": ns, "creationTimestamp": null}, "spec": req["spec"],
            "status": {"token": token.trim(), "expirationTimestamp": "2026-03-10T09:30:00Z"}}),
        );
    }
    if method != Method::GET {
        return status(405, "MethodNotAllowed", "read-only fake".into(), json!({}));
    }
    let Some((api_version, kind, namespaced)) = kind_of(resource) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            json!({}),
        );
    };
    let matches = |o: &&Value| {
        o["kind"] == kind
            && o["apiVersion"] == api_version
            && (!namespaced || ns.is_none() || o["metadata"]["namespace"].as_str() == ns)
    };
    match name {
        Some(n) => match world
            .objects
            .iter()
            .filter(matches)
            .find(|o| o["metadata"]["name"] == n)
        {
            Some(o) => ok(200, o.clone()),
            None => status(
                404,
                "NotFound",
                format!("{resource} \"{n}\" not found"),
                json!({"name": n, "kind": resource}),
            ),
        },
        None => {
            let all: Vec<Value> = world
                .objects
                .iter()
                .filter(matches)
                .map(|o| {
                    let mut o = o.clone();
                    if let Value::Object(m) = &mut o {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                    o
                })
                .collect();
            let q: Vec<(String, String)> = uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect();
            let get = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
            let start: usize = get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
            let limit = get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
                .min(b.page.unwrap_or(usize::MAX));
            let end = start.saturating_add(limit).min(all.len());
            let mut meta = json!({"resourceVersion": "48213377"});
            if end < all.len() {
                meta["continue"] = json!(end.to_string());
            }
            ok(
                200,
                json!({"kind": format!("{kind}List"), "apiVersion": api_version, "metadata": meta, "items": all[start.min(end)..end]}),
            )
        }
    }
}

/// Load a scenario's snapshot directory as the fake's world (Kubernetes objects, the token,
/// the issuer documents; Azure files are ignored: they are not the API server's).
pub fn world_from(dir: &Path) -> World {
    let mut w = World::default();
    let mut files = Vec::new();
    walk(dir, &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let t = text.trim_start();
        if t.starts_with("eyJ") {
            w.token = Some(text.trim().to_string());
            continue;
        }
        let docs: Vec<Value> = if t.starts_with('{') || t.starts_with('[') {
            serde_json::from_str(&text).map(|v| vec![v]).unwrap_or_default()
        } else {
            serde_yaml_ng::Deserializer::from_str(&text)
                .filter_map(|d| serde::Deserialize::deserialize(d).ok())
                .collect()
        };
        for d in docs {
            if d.get("jwks_uri").is_some() {
                w.discovery = Some(d);
            } else if d.get("keys").is_some() {
                w.jwks = Some(d);
            } else if d["kind"] == "List" {
                w.objects.extend(d["items"].as_array().cloned().unwrap_or_default());
            } else if d.get("apiVersion").is_some() && d.get("kind").is_some() && d["apiVersion"] != "wi/v1" {
                w.objects.push(d);
            }
        }
    }
    w
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() { walk(&p, out) } else { out.push(p) }
    }
}
