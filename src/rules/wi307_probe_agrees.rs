//! WI307: the --probe exchange and the string matching (WI303) agree.
use super::support::{ProbeStage, probe_stage};
use super::{Check, Rule, Severity};
use crate::facts::Facts;
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

/// The string checks whose failure explains a "no matching credential" answer: the token's
/// iss, aud and sub (WI202–WI204) and the credential match itself (WI303).
const EXPLAINING: &[&str] = &["WI202", "WI203", "WI204", "WI303"];

fn check(f: &Facts) -> Check {
    let stage = probe_stage(f);
    let matching = (super::wi303_credential_matches::RULE.check)(f);
    let strings_explain = EXPLAINING
        .iter()
        .filter_map(|id| super::find(id))
        .map(|r| ((r.check)(f).status, r.id))
        .find(|(s, _)| *s == Status::Fail)
        .map(|(_, id)| id);
    match &stage {
        ProbeStage::NotAsked | ProbeStage::NotRun(_) | ProbeStage::Failed(_) => {
            Check::skip("no answer from Entra to compare with (opt-in: --probe)")
        }
        ProbeStage::Rejected { matched: Some(m), .. } if m.link == "none" => {
            Check::skip("Entra refused the probe for a cause outside the chain; nothing to compare")
        }
        ProbeStage::Issued(_) if matching.status == Status::Fail => Check::warn(format!(
            "Entra accepted the token, but WI303 found no credential that matches it ({}): wi's facts are stale or incomplete — a credential added since they were collected, or the credentials of another identity than the one wi read",
            matching.message
        ))
        .fix("Re-read the identity's credentials", "az identity federated-credential list --identity-name <mi> -g <rg> -o table"),
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
            let age = newest
                .as_ref()
                .map(|(t, n)| {
                    let secs = jiff::Timestamp::now().as_second() - t.as_second();
                    format!("; the newest credential, {n}, was created {t} ({secs} s before this probe)")
                })
                .unwrap_or_default();
            Check::warn(format!(
                "WI303 found a credential that matches the token byte for byte, yet Entra answered {code}{age}: a credential created or changed in the last minutes has not propagated yet (retry with backoff), or Entra holds other credentials than the facts wi read",
            ))
            .fix(
                "Retry the probe in a few minutes",
                format!("wi doctor {} -n {} --probe", f.target.display(), f.namespace()),
            )
        }
        ProbeStage::Issued(_) => Check::pass("Entra accepted the token, as the string matching predicts"),
        ProbeStage::Rejected { link, .. } => Check::pass(format!(
            "Entra rejected the exchange at the {} link{}",
            link.map(|l| l.as_str()).unwrap_or("unknown"),
            match strings_explain {
                Some(id) => format!(", as {id} predicts"),
                None => "; the string matching does not contradict it".into(),
            }
        )),
    }
}
