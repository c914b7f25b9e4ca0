//! WI205: the token is valid at the evaluation time.
use jiff::Timestamp;

use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI205",
    link: Link::Issuer,
    slug: "token_validity",
    title: "The token is valid at the evaluation time (nbf <= now < exp)",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI205.md"),
    after: &[],
    requires: &[],
    check,
};

pub fn fmt_ts(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

pub fn human(secs: i64) -> String {
    let s = secs.abs();
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else if s < 172_800 {
        format!("{} h", s / 3600)
    } else {
        format!("{} days", s / 86_400)
    }
}

fn check(f: &Facts) -> Check {
    let Some(t) = f.token.get() else {
        return Check::from_unknown("projected token", &f.token);
    };
    let now = f.at.as_second();
    let at = f.at.to_string();
    let Some(exp) = t.exp else {
        return Check::fail("the token has no exp claim").saw(format!("{} exp", t.source), "(absent)");
    };
    if let Some(nbf) = t.nbf
        && now < nbf
    {
        return Check::fail(format!(
                "the token is not valid until {} ({} after the evaluation time {at}): clock skew between the node and the evaluation time?",
                fmt_ts(nbf),
                human(nbf - now)
            ))
            .compare(format!("{} nbf", t.source), Some(&fmt_ts(nbf)), Some(&format!("<= {at}")));
    }
    if now >= exp {
        // With no --at and no recorded collection time, "now" may simply be later than the
        // snapshot: say so first, with the flag that judges it as of when it was taken.
        if f.at_is_clock {
            let taken = t
                .iat
                .map(fmt_ts)
                .unwrap_or_else(|| "<when the snapshot was taken>".into());
            return Check::fail(format!(
                "the token expired at {} ({} before now); the snapshot records no collection time, so if it was taken earlier, judge it as of then with --at (the token was issued at {taken})",
                fmt_ts(exp),
                human(now - exp)
            ))
            .compare(format!("{} exp", t.source), Some(&fmt_ts(exp)), Some(&format!("> {at}")))
            .fix(
                "Judge the snapshot as of when it was taken",
                format!(
                    "wi doctor {} -n {} --at {taken} --snapshot {}",
                    f.target.display(),
                    f.namespace(),
                    f.snapshot_dir.as_deref().map(super::support::sh).unwrap_or_else(|| "<DIR>".into())
                ),
            )
            .fix("If the pod's file really is stale, the kubelet is not refreshing it: restart the pod", f.restart_command());
        }
        return Check::fail(format!(
            "the token expired at {}, {} before the evaluation time {at}; Entra answers AADSTS700024 (\"Client assertion is not within its valid time range\")",
            fmt_ts(exp),
            human(now - exp)
        ))
        .compare(format!("{} exp", t.source), Some(&fmt_ts(exp)), Some(&format!("> {at}")))
        .fix("If the pod's file is stale, the kubelet is not refreshing it (node clock, kubelet health): restart the pod", f.restart_command())
        .fix("If only the app holds an old token, it caches it: re-read AZURE_FEDERATED_TOKEN_FILE at least every 5 minutes (current Azure Identity SDKs do)", "# upgrade azure-identity / azidentity to a version with WorkloadIdentityCredential");
    }
    Check::pass(format!(
        "the token is valid until {} ({} after {at})",
        fmt_ts(exp),
        human(exp - now)
    ))
}
