//! WI111: skip-containers does not exclude the application.
use super::{Check, Rule, Severity, wi108_pod_mutated::skipped};
use crate::facts::{Facts, SKIP_CONTAINERS_ANNOTATION};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI111",
    link: Link::ServiceAccount,
    slug: "skip_containers",
    title: "skip-containers does not exclude an application container",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI111.md"),
    after: &["WI101"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let Some(p) = f.template.as_ref().or(f.pods.first()) else {
        return Check::skip("no pod or pod template to check");
    };
    let skip = skipped(p);
    if skip.is_empty() {
        return Check::pass(format!("{} has no {SKIP_CONTAINERS_ANNOTATION} annotation", p.source));
    }
    let regular: Vec<&str> = p
        .app_containers()
        .filter(|c| !c.init)
        .map(|c| c.name.as_str())
        .collect();
    let excluded: Vec<&str> = regular
        .iter()
        .copied()
        .filter(|n| skip.iter().any(|s| s == n))
        .collect();
    let raw = p
        .annotations
        .get(SKIP_CONTAINERS_ANNOTATION)
        .cloned()
        .unwrap_or_default();
    if !regular.is_empty() && excluded.len() == regular.len() {
        let w = f.edit_target();
        return Check::fail(format!(
            "{SKIP_CONTAINERS_ANNOTATION} on {} excludes every container ({}): none gets the env or the token mount",
            p.source,
            excluded.join(", ")
        ))
        .compare(
            format!("{} annotation {SKIP_CONTAINERS_ANNOTATION}", p.source),
            Some(&raw),
            Some("only sidecars that do not call Azure"),
        )
        .fix(
            "Remove the application container from the list (edit the pod template annotation), then roll out",
            format!("kubectl edit {w} -n {}", f.namespace()),
        );
    }
    if !excluded.is_empty() {
        return Check::warn(format!(
            "{SKIP_CONTAINERS_ANNOTATION} on {} excludes container(s) {}: they get no AZURE_* env or token; make sure none of them calls Azure",
            p.source,
            excluded.join(", ")
        ))
        .saw(format!("{} annotation {SKIP_CONTAINERS_ANNOTATION}", p.source), raw);
    }
    Check::pass(format!(
        "{SKIP_CONTAINERS_ANNOTATION} names no container of {}",
        p.source
    ))
}
