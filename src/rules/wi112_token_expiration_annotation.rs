//! WI112: service-account-token-expiration is a valid integer.
use super::{Check, Rule, Severity};
use crate::facts::{EXPIRATION_ANNOTATION, Facts};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI112",
    link: Link::ServiceAccount,
    slug: "token_expiration_annotation",
    title: "service-account-token-expiration is an integer from 3600 to 86400",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI112.md"),
    after: &[],
    requires: &[],
    check,
};

/// The webhook's own error for a value, or `None` when it accepts it.
pub fn webhook_error(v: &str) -> Option<String> {
    match v.parse::<i64>() {
        Err(_) => Some(format!("strconv.ParseInt: parsing {v:?}: invalid syntax")),
        Ok(n) if !(3600..=86400).contains(&n) => Some(format!(
            "token expiration {n} not valid. Expected value to be between 3600 and 86400"
        )),
        Ok(_) => None,
    }
}

fn check(f: &Facts) -> Check {
    let mut places: Vec<(String, String, String)> = Vec::new(); // (source, value, fix)
    let ns = f.namespace();
    // The webhook reads the pod's annotation first and the ServiceAccount's only when the pod
    // has none (an empty value counts as none). The SA value matters when some pod (or the
    // next pod, or any pod at all for a ServiceAccount target) falls back to it.
    let set = |m: &std::collections::BTreeMap<String, String>| {
        m.get(EXPIRATION_ANNOTATION).filter(|v| !v.is_empty()).cloned()
    };
    let subjects: Vec<_> = f.subjects().collect();
    let sa_applies = subjects.is_empty() || subjects.iter().any(|p| set(&p.annotations).is_none());
    if let Some(sa) = f.service_account.get()
        && sa_applies
        && let Some(v) = set(&sa.annotations)
    {
        places.push((
            format!("serviceaccount/{}", sa.name),
            v,
            format!(
                "kubectl annotate serviceaccount {} -n {ns} {EXPIRATION_ANNOTATION}=3600 --overwrite",
                sa.name
            ),
        ));
    }
    for p in subjects {
        if let Some(v) = set(&p.annotations) {
            let fix = match &f.workload {
                Some(w) => format!(
                    "kubectl edit {}/{} -n {ns}   # set the pod template annotation {EXPIRATION_ANNOTATION}: \"3600\"",
                    w.kind.short(),
                    w.name
                ),
                None => format!(
                    "# set {EXPIRATION_ANNOTATION}: \"3600\" in pod {}'s manifest and recreate it",
                    p.name
                ),
            };
            places.push((p.source.clone(), v, fix));
        }
    }
    let bad: Vec<_> = places
        .iter()
        .filter_map(|(s, v, fx)| webhook_error(v).map(|e| (s, v, fx, e)))
        .collect();
    if bad.is_empty() {
        return match places.first() {
            Some((s, v, _)) => Check::pass(format!("{s} sets a token lifetime of {v} s")),
            None => Check::pass("no token-expiration annotation: the webhook projects 3600 s tokens"),
        };
    }
    let (s, v, fx, e) = &bad[0];
    let mut c = Check::fail(format!(
        "{s} has {EXPIRATION_ANNOTATION}: {v:?}; the webhook denies every new pod: admission webhook \"mutation.azure-workload-identity.io\" denied the request: {e}"
    ));
    for (s, v, _, _) in &bad {
        c = c.compare(
            format!("{s} annotation {EXPIRATION_ANNOTATION}"),
            Some(v),
            Some("an integer number of seconds from 3600 to 86400"),
        );
    }
    c.fix("Set a valid lifetime", fx.to_string())
}
