//! WI307: the --probe exchange and the string matching (WI303) agree.
use std::cell::LazyCell;

use super::support::{Implicates, ProbeStage, probe_stage};
use super::{Check, Rule, Severity};
use crate::facts::{Facts, IdentityKind};
use crate::report::{Link, Status};

pub static RULE: Rule = Rule {
    id: "WI307",
    link: Link::FederatedCredential,
    slug: "probe_agrees",
    title: "Probe: Entra's answer agrees with wi's credential matching",
    severity: Severity::Warn,
    page: include_str!("../../rules/WI307.md"),
    after: &[],
    requires: &[],
    check,
};

/// Entra's answers to a credential that does not match the assertion.
const MATCH_CODES: &[&str] = &[
    "AADSTS70021",
    "AADSTS700211",
    "AADSTS700212",
    "AADSTS700213",
    "AADSTS7002138",
    "AADSTS70025",
];

/// The token checks whose failure explains a "no matching credential" answer besides WI303:
/// the token's iss, aud and sub.
const EXPLAINING: &[&str] = &["WI202", "WI203", "WI204"];

fn check(f: &Facts) -> Check {
    let stage = probe_stage(f);
    // The string checks the answer is compared with, run only when there is an answer.
    let matching = LazyCell::new(|| (super::wi303_credential_matches::RULE.check)(f));
    let strings_explain = LazyCell::new(|| {
        if matching.status == Status::Fail {
            Some("WI303")
        } else {
            EXPLAINING
                .iter()
                .filter_map(|id| super::find(id))
                .find(|r| (r.check)(f).status == Status::Fail)
                .map(|r| r.id)
        }
    });
    match &stage {
        ProbeStage::NotAsked | ProbeStage::NotRun(_) | ProbeStage::Failed(_) => {
            Check::skip("no answer from Entra to compare with (opt-in: --probe)")
        }
        ProbeStage::Rejected {
            at: Implicates::Outside,
            ..
        } => Check::skip("Entra refused the probe for a cause outside the chain; nothing to compare"),
        ProbeStage::Issued(_) if matching.status == Status::Fail => Check::warn(format!(
            "Entra accepted the token, but WI303 found no credential that matches it ({}): wi's facts are stale or incomplete — a credential added since they were collected, or the credentials of another identity than the one wi read",
            matching.message
        ))
        .fix("Re-read the identity's credentials", list_credentials(f)),
        ProbeStage::Issued(_) if matching.status == Status::Unknown => Check::pass(
            "Entra accepted the token; this proves the credential match that WI303 could not check from the facts",
        ),
        ProbeStage::Rejected {
            code: Some(code), ..
        } if MATCH_CODES.contains(code) && matching.status == Status::Pass && strings_explain.is_none() => {
            let newest = f
                .credentials
                .get()
                .into_iter()
                .flatten()
                .filter_map(|c| c.created.map(|t| (t, c.name.clone())))
                .max();
            let age = match (&newest, probe_at(&stage)) {
                (Some((t, n)), Some(at)) => format!(
                    "; the newest credential, {n}, was created {t} ({} s before this probe)",
                    at.as_second() - t.as_second()
                ),
                (Some((t, n)), None) => format!("; the newest credential, {n}, was created {t}"),
                _ => String::new(),
            };
            Check::warn(format!(
                "WI303 found a credential that matches the token byte for byte, yet Entra answered {code}{age}: a credential created or changed in the last minutes has not propagated yet (retry with backoff), or Entra holds other credentials than the facts wi read",
            ))
            .fix(
                "Retry the probe in a few minutes",
                format!("wi doctor {} -n {} --probe", f.target.display(), f.namespace()),
            )
        }
        ProbeStage::Issued(_) => Check::pass("Entra accepted the token, as the string matching predicts"),
        ProbeStage::Rejected { at, .. } => Check::pass(format!(
            "Entra rejected the exchange {}{}",
            match at {
                Implicates::Link(l) => format!("at the {} link", l.as_str()),
                _ => "with a code wi does not know".into(),
            },
            match *strings_explain {
                Some(id) => format!(", as {id} predicts"),
                None => "; the string matching does not contradict it".into(),
            }
        )),
    }
}

fn probe_at(s: &ProbeStage) -> Option<jiff::Timestamp> {
    match s {
        ProbeStage::Rejected { probe, .. } => probe.at,
        _ => None,
    }
}

/// The command that lists the identity's federated credentials, names filled in when known.
fn list_credentials(f: &Facts) -> String {
    match f.identity.get() {
        Some(i) if i.kind == IdentityKind::AppRegistration => {
            format!("az ad app federated-credential list --id {} -o table", i.id)
        }
        Some(i) => format!(
            "az identity federated-credential list --identity-name {} -g {} -o table",
            i.name,
            i.resource_group.as_deref().unwrap_or("<rg>")
        ),
        None => "az identity federated-credential list --identity-name <identity> -g <rg> -o table".into(),
    }
}
