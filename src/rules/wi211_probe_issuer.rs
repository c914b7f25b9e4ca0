//! WI211: in the --probe exchange, Entra accepts the token's issuer, signature and lifetime.
use super::support::{Implicates, ProbeStage, probe_stage};
use super::{Check, Rule, Severity};
use crate::facts::{Facts, with_slash};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI211",
    link: Link::Issuer,
    slug: "probe_issuer",
    title: "Probe: Entra validates the token against the issuer's published keys and its lifetime",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI211.md"),
    after: &["WI118"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let stage = probe_stage(f);
    match &stage {
        ProbeStage::Issued(p) => Check::pass(format!(
            "Entra accepted {}: it fetched the issuer's keys, verified the signature and found the token within its lifetime",
            p.assertion
        )),
        ProbeStage::Rejected {
            probe,
            code,
            matched,
            at: Implicates::Link(Link::Issuer),
            ..
        } => {
            let mut msg = format!("Entra rejected the token at the issuer: {}", stage.rejection());
            // Expired by the time it was presented: the probe's own clock, not the rules'.
            let stale = *code == Some("AADSTS700024")
                && f.token
                    .get()
                    .and_then(|t| t.exp)
                    .zip(probe.at)
                    .is_some_and(|(exp, at)| exp < at.as_second());
            if stale {
                msg.push_str(&format!(
                    "; {} had already expired when it was presented, so this proves only that the token is stale: probe with a fresh token (run live, or collect a new snapshot)",
                    probe.assertion
                ));
            }
            let mut c = Check::fail(msg);
            if let Some(iss) = matched.as_ref().and_then(|m| m.extracted.issuer.clone()) {
                c = c.saw("issuer Entra names in its answer", iss);
            }
            if let Some(iss) = f.token.get().and_then(|t| t.iss.clone()) {
                c = c.fix(
                    "Fetch the issuer's metadata as Entra does",
                    format!("curl -fsS {}.well-known/openid-configuration", with_slash(&iss)),
                );
            }
            if let Some((title, cmd)) = stage.explain_fix() {
                c = c.fix(title, cmd);
            }
            c
        }
        ProbeStage::Rejected { .. } => Check::skip(
            "Entra rejected the exchange before it validated the token's keys and lifetime (see WI118/WI306)",
        ),
        _ => stage.unanswered(),
    }
}
