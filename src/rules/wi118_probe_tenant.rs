//! WI118: in the --probe exchange, Entra accepts the tenant identifier the pod sends.
use super::support::{ProbeStage, probe_stage};
use super::{Check, Rule, Severity};
use crate::facts::Facts;
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI118",
    link: Link::ServiceAccount,
    slug: "probe_tenant",
    title: "Probe: Entra accepts the tenant identifier the pod sends",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI118.md"),
    after: &["WI116"],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let stage = probe_stage(f);
    if let Some(c) = stage.unanswered() {
        return c;
    }
    match &stage {
        ProbeStage::NotAsked | ProbeStage::NotRun(_) | ProbeStage::Failed(_) => Check::skip("no answer from Entra"),
        ProbeStage::Issued(p) => Check::pass(format!("Entra accepted tenant {} ({})", p.tenant, p.tenant_source)),
        ProbeStage::Rejected { probe, link, .. } if *link == Some(Link::ServiceAccount) => {
            let mut c = Check::fail(format!(
                "Entra rejected the tenant the pod sends: {}",
                stage.rejection()
            ))
            .saw(format!("tenant sent ({})", probe.tenant_source), probe.tenant.clone());
            if let Some((title, cmd)) = stage.explain_fix() {
                c = c.fix(title, cmd);
            }
            let sa = f.service_account_name();
            c.fix(
                "Name the identity's tenant (a GUID) on the ServiceAccount, then restart the pods",
                format!(
                    "kubectl annotate serviceaccount {sa} -n {} azure.workload.identity/tenant-id=$(az account show --query tenantId -o tsv) --overwrite",
                    f.namespace()
                ),
            )
        }
        ProbeStage::Rejected { probe, .. } => Check::pass(format!(
            "Entra accepted tenant {} (it rejected the exchange later in the chain)",
            probe.tenant
        )),
    }
}
