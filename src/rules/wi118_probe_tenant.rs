//! WI118: in the --probe exchange, Entra accepts the tenant identifier the pod sends.
use super::support::{Implicates, ProbeStage, probe_stage};
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
    match &stage {
        ProbeStage::Issued(p) => Check::pass(format!("Entra accepted tenant {} ({})", p.tenant, p.tenant_source)),
        ProbeStage::Rejected {
            probe,
            at: Implicates::Link(Link::ServiceAccount),
            ..
        } => {
            let mut c = Check::fail(format!(
                "Entra rejected the tenant the pod sends: {}",
                stage.rejection()
            ))
            .saw(format!("tenant sent ({})", probe.tenant_source), probe.tenant.clone());
            if let Some((title, cmd)) = stage.explain_fix() {
                c = c.fix(title, cmd);
            }
            // The identity's own tenant when the facts know it; else the signed-in account's.
            let tenant = f
                .identity
                .get()
                .and_then(|i| i.tenant_id.clone())
                .unwrap_or_else(|| "$(az account show --query tenantId -o tsv)".into());
            c.fix(
                "Name the identity's tenant (a GUID) on the ServiceAccount, then restart the pods",
                format!(
                    "kubectl annotate serviceaccount {} -n {} azure.workload.identity/tenant-id={tenant} --overwrite && {}",
                    f.service_account_name(),
                    f.namespace(),
                    f.restart_command()
                ),
            )
        }
        ProbeStage::Rejected { probe, .. } => Check::pass(format!(
            "Entra accepted tenant {} (it rejected the exchange later in the chain)",
            probe.tenant
        )),
        _ => stage.unanswered(),
    }
}
