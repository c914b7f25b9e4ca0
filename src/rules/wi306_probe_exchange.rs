//! WI306: the --probe token exchange succeeds.
use super::support::{Implicates, ProbeStage, probe_stage};
use super::{Check, Rule, Severity};
use crate::facts::{Facts, ProbeOutcome};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI306",
    link: Link::FederatedCredential,
    slug: "probe_exchange",
    title: "Probe: Entra matches a federated credential and issues an access token",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI306.md"),
    after: &["WI118", "WI211"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let stage = probe_stage(f);
    match &stage {
        ProbeStage::NotAsked => Check::skip("the token exchange was not attempted (opt-in: --probe)"),
        ProbeStage::NotRun(reason) => Check::unknown(format!("--probe could not run: {reason}"), None),
        ProbeStage::Failed(error) => Check::unknown(
            format!("--probe got no answer from Entra: {error}"),
            f.probe
                .as_ref()
                .map(|p| format!("curl -sS -o /dev/null -w '%{{http_code}}\\n' {}", p.endpoint)),
        ),
        ProbeStage::Issued(p) => {
            let claims = match &p.outcome {
                ProbeOutcome::Issued { claims, .. } => claims
                    .iter()
                    .filter(|(k, _)| ["oid", "appid", "azp", "tid"].contains(&k.as_str()))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            Check::pass(format!(
                "Entra exchanged {} for an access token to {} (token not shown; {claims})",
                p.assertion, p.scope
            ))
            .saw(format!("POST {}", p.endpoint), "HTTP 200: access token issued")
        }
        ProbeStage::Rejected {
            at: Implicates::Outside,
            matched,
            ..
        } => Check::unknown(
            format!(
                "Entra refused the probe for a cause outside the chain ({}): {}",
                matched.as_ref().map(|m| m.title.as_str()).unwrap_or_default(),
                stage.rejection()
            ),
            f.probe.as_ref().map(|p| {
                format!(
                    "wi doctor {} -n {} --probe --probe-scope <resource>/.default   # the scope used was {}",
                    f.target.display(),
                    f.namespace(),
                    p.scope
                )
            }),
        ),
        ProbeStage::Rejected {
            at: Implicates::Link(l),
            ..
        } if *l != Link::FederatedCredential => {
            Check::skip("Entra rejected the exchange at another link (see WI118/WI211)")
        }
        ProbeStage::Rejected { matched, at, .. } => {
            let ex = matched.as_ref().map(|m| m.extracted.clone()).unwrap_or_default();
            let mut c = Check::fail(format!(
                "Entra rejected the exchange{}: {}",
                if *at == Implicates::Unrecognised {
                    " with a code wi does not know"
                } else {
                    ""
                },
                stage.rejection()
            ));
            // Entra's view of the assertion beside the credentials wi found.
            let creds = f.credentials.get().cloned().unwrap_or_default();
            // The credentials' value equal to Entra's, else the first they hold.
            let closest = |pick: &dyn Fn(&crate::facts::FederatedCredential) -> Vec<String>, got: &str| {
                let vals: Vec<String> = creds.iter().flat_map(pick).collect();
                if vals.iter().any(|v| v == got) {
                    Some(got.to_string())
                } else {
                    vals.into_iter().next()
                }
            };
            if let Some(i) = &ex.issuer {
                c = c.compare(
                    "Assertion issuer (Entra) vs the credential's issuer",
                    Some(i),
                    closest(&|x| vec![x.issuer.clone()], i)
                        .as_deref()
                        .or(Some("(no credential)")),
                );
            }
            if let Some(s) = &ex.subject {
                c = c.compare(
                    "Assertion subject (Entra) vs the credential's subject",
                    Some(s),
                    closest(&|x| x.subject.iter().cloned().collect(), s)
                        .as_deref()
                        .or(Some("(no credential)")),
                );
            }
            if let Some(a) = &ex.audience {
                c = c.compare(
                    "Assertion audience (Entra) vs the credential's audiences",
                    Some(a),
                    closest(&|x| x.audiences.clone(), a)
                        .as_deref()
                        .or(Some("(no credential)")),
                );
            }
            if let Some((title, cmd)) = stage.explain_fix() {
                c = c.fix(title, cmd);
            }
            c
        }
    }
}
