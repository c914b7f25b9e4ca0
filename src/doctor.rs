//! The pipeline: inventory → facts → findings → report. No I/O here; callers collect.

use crate::collect::Inventory;
use crate::facts::Facts;
use crate::facts::resolve::{NotFound, Request, resolve};
use crate::report::{self, Evidence, Input, LinkStatus, Report, SCHEMA_VERSION, Target};
use crate::rules;

pub fn facts(inv: &Inventory, req: &Request) -> Result<Facts, NotFound> {
    resolve(inv, req)
}

pub fn report(facts: &Facts, input: Input) -> Report {
    let findings = rules::evaluate(facts);
    let links: Vec<LinkStatus> = report::Link::ALL
        .iter()
        .map(|l| {
            let mine: Vec<_> = findings.iter().filter(|f| f.link == *l).collect();
            let (status, decided_by) = report::link_status(&mine);
            let log_evidence = facts
                .logs
                .iter()
                .flat_map(|scan| scan.matches.iter().map(move |m| (scan, m)))
                .filter(|(_, m)| m.link == l.as_str())
                .map(|(scan, m)| Evidence {
                    source: format!(
                        "logs of pod/{}: {} ×{} ({})",
                        scan.pod,
                        m.code.clone().unwrap_or_else(|| m.signature.clone()),
                        m.count,
                        m.title
                    ),
                    observed: Some(m.last_line.clone()),
                    expected: None,
                    difference: None,
                })
                .collect();
            LinkStatus {
                link: *l,
                status,
                decided_by,
                log_evidence,
            }
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        wi_version: env!("CARGO_PKG_VERSION").to_string(),
        verdict: report::verdict(&links, !facts.unreadable.is_empty()),
        target: Target {
            kind: facts.target.kind.kind_name().to_string(),
            namespace: facts.target.namespace.clone(),
            name: facts.target.name.clone(),
        },
        evaluated_at: facts.at,
        input,
        links,
        findings,
        unreadable: facts
            .unreadable
            .iter()
            .map(|u| report::Refused {
                kind: u.kind.clone(),
                namespace: u.namespace.clone(),
                reason: u.reason.clone(),
                command: u.command.clone(),
            })
            .collect(),
        issuer_fetch: facts.external_issuer.clone(),
        probe: facts.probe.clone(),
        logs: facts.logs.clone(),
    }
}
