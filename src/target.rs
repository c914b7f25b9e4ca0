//! Parse a kubectl-style target: `pod/x`, `deploy/x`, `deployments.apps/x`, `sa/x`, or a bare
//! pod name. Types are case-insensitive and take kubectl's long, short and plural forms.

use crate::facts::WorkloadKind;

pub fn parse(s: &str) -> Result<(WorkloadKind, String), String> {
    let s = s.trim();
    let (ty, name) = match s.split_once('/') {
        Some((t, n)) => (Some(t), n),
        None => (None, s),
    };
    let kind = match ty {
        None => WorkloadKind::Pod,
        Some(t) => kind(t).ok_or_else(|| {
            format!(
                "unknown resource type {t:?} in target {s:?}; use pod, deploy, sts, ds, job, cronjob, rs or sa (e.g. deploy/my-app)"
            )
        })?,
    };
    if name.is_empty() {
        return Err(format!("target {s:?} has no name; e.g. {}/my-app", kind.short()));
    }
    if name.contains('/') {
        return Err(format!("target {s:?} has more than one '/'; expected TYPE/NAME"));
    }
    let valid = name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        return Err(format!(
            "{name:?} is not a valid Kubernetes object name (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)"
        ));
    }
    Ok((kind, name.to_string()))
}

fn kind(t: &str) -> Option<WorkloadKind> {
    let t = t.to_ascii_lowercase();
    let t = t.split('.').next().unwrap_or("");
    Some(match t {
        "pod" | "pods" | "po" => WorkloadKind::Pod,
        "deploy" | "deployment" | "deployments" => WorkloadKind::Deployment,
        "rs" | "replicaset" | "replicasets" => WorkloadKind::ReplicaSet,
        "sts" | "statefulset" | "statefulsets" => WorkloadKind::StatefulSet,
        "ds" | "daemonset" | "daemonsets" => WorkloadKind::DaemonSet,
        "job" | "jobs" => WorkloadKind::Job,
        "cronjob" | "cronjobs" | "cj" => WorkloadKind::CronJob,
        "sa" | "serviceaccount" | "serviceaccounts" => WorkloadKind::ServiceAccount,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("x").unwrap(), (WorkloadKind::Pod, "x".into()));
        assert_eq!(parse("Deployment/x").unwrap().0, WorkloadKind::Deployment);
        assert_eq!(parse("deployments.apps/x").unwrap().0, WorkloadKind::Deployment);
        assert_eq!(parse("CJ/x").unwrap().0, WorkloadKind::CronJob);
        assert_eq!(parse("serviceaccounts/x").unwrap().0, WorkloadKind::ServiceAccount);
        assert!(parse("svc/x").unwrap_err().contains("unknown resource type"));
        assert!(parse("pod/").unwrap_err().contains("no name"));
        assert!(parse("pod/X").unwrap_err().contains("not a valid"));
        assert!(parse("a/b/c").is_err());
    }
}
