//! WI113: the proxy-sidecar annotation can be honoured.
use super::{Check, Rule, Severity};
use crate::facts::{Facts, PROXY_ANNOTATION};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI113",
    link: Link::ServiceAccount,
    slug: "proxy_sidecar_annotation",
    title: "The proxy-sidecar annotation can be honoured",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI113.md"),
    after: &[],
    requires: &[],
    check,
};

const PORT: &str = "azure.workload.identity/proxy-sidecar-port";

fn check(f: &Facts) -> Check {
    let Some(p) = f.template.as_ref().or(f.pods.first()) else {
        return Check::skip("no pod or pod template to check");
    };
    let Some(v) = p.annotations.get(PROXY_ANNOTATION) else {
        return Check::pass(format!("{} requests no proxy sidecar", p.source));
    };
    let w = f.edit_target();
    if p.host_network {
        return Check::fail(format!(
            "{} has {PROXY_ANNOTATION} and hostNetwork: true; the webhook denies the pod: \"hostNetwork is set to true, cannot inject proxy sidecar\"",
            p.source
        ))
        .saw(format!("{} spec.hostNetwork", p.source), "true")
        .fix("Drop the proxy annotation (use the SDK's WorkloadIdentityCredential) or hostNetwork", format!("kubectl edit {w} -n {}", f.namespace()));
    }
    if let Some(port) = p.annotations.get(PORT)
        && port.parse::<i32>().is_err()
    {
        return Check::fail(format!(
            "{} has {PORT}: {port:?}; the webhook denies the pod: failed to parse proxy sidecar port",
            p.source
        ))
        .compare(
            format!("{} annotation {PORT}", p.source),
            Some(port),
            Some("an integer port, e.g. 8000"),
        )
        .fix(
            "Fix the port annotation",
            format!("kubectl edit {w} -n {}", f.namespace()),
        );
    }
    let port: i32 = p.annotations.get(PORT).and_then(|v| v.parse().ok()).unwrap_or(8000);
    if let Some(c) = p.app_containers().find(|c| c.ports.contains(&port)) {
        return Check::fail(format!(
            "container {} of {} listens on port {port}, the proxy sidecar's port: the proxy cannot bind and its postStart probe fails, so the pod restarts",
            c.name, p.source
        ))
        .compare(format!("{} container {} containerPort", p.source, c.name), Some(&port.to_string()), Some("any port but the proxy's"))
        .fix("Move the proxy to a free port", format!("kubectl patch {w} -n {} --type merge -p '{{\"spec\":{{\"template\":{{\"metadata\":{{\"annotations\":{{\"{PORT}\":\"8001\"}}}}}}}}}}'", f.namespace()));
    }
    if p.node_selector.get("kubernetes.io/os").map(String::as_str) == Some("windows") {
        return Check::fail(format!(
            "{} runs on Windows nodes (nodeSelector kubernetes.io/os: windows); the proxy sidecar is Linux-only",
            p.source
        ))
        .saw(format!("{} spec.nodeSelector", p.source), "kubernetes.io/os: windows")
        .fix(
            "Use the SDK's WorkloadIdentityCredential instead of the proxy",
            format!("kubectl edit {w} -n {}", f.namespace()),
        );
    }
    if let Some(ns) = f.namespace.get()
        && let Some(level) = ns.labels.get("pod-security.kubernetes.io/enforce")
        && (level == "baseline" || level == "restricted")
    {
        return Check::fail(format!(
            "namespace {} enforces Pod Security {level:?}, which rejects the proxy's init container azwi-proxy-init (privileged, NET_ADMIN, runs as root)",
            ns.name
        ))
        .saw(format!("namespace/{} label pod-security.kubernetes.io/enforce", ns.name), level.clone())
        .fix("Migrate to the SDK credential and drop the proxy annotation (or exempt the namespace, if policy allows)", format!("kubectl edit {w} -n {}", f.namespace()));
    }
    if v.trim().eq_ignore_ascii_case("false") {
        return Check::warn(format!(
            "{} has {PROXY_ANNOTATION}: \"false\", but the webhook only checks that the key exists: it still injects the privileged proxy init container",
            p.source
        ))
        .compare(format!("{} annotation {PROXY_ANNOTATION}", p.source), Some(v), Some("(annotation removed)"))
        .fix("Remove the annotation key entirely", format!("kubectl edit {w} -n {}", f.namespace()));
    }
    Check::pass(format!(
        "{} requests the proxy sidecar (a migration aid; prefer the SDK credential)",
        p.source
    ))
}
