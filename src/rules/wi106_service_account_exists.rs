//! WI106: the pod's ServiceAccount exists.
use super::{Check, Rule, Severity, support::is_guid};
use crate::facts::{CLIENT_ID_ANNOTATION, Fact, Facts};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI106",
    link: Link::ServiceAccount,
    slug: "service_account_exists",
    title: "The pod's ServiceAccount exists",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI106.md"),
    after: &[],
    requires: &[],
    check,
};

fn check(f: &Facts) -> Check {
    let name = f.service_account_name();
    let ns = f.namespace();
    match &f.service_account {
        Fact::Found { .. } => Check::pass(format!("serviceaccount/{name} exists in {ns}")),
        Fact::Absent { searched } => {
            let cid = f
                .pods
                .iter()
                .flat_map(|p| p.app_containers())
                .find_map(|c| c.env_value("AZURE_CLIENT_ID").and_then(|e| e.value.clone()))
                .filter(|v| is_guid(v))
                .unwrap_or_else(|| super::wi107_client_id_annotation::suggested_client_id(f));
            let mut c = Check::fail(format!(
                "serviceaccount/{name} does not exist in {ns}: the API server and the webhook reject new pods that name it"
            ))
            .saw("ServiceAccounts looked at", searched.clone());
            if let Some(events) = f.events.get() {
                for e in events.iter().filter(|e| {
                    e.message.contains(&format!("serviceaccounts \"{name}\" not found"))
                        || e.message
                            .contains(&format!("service account {ns}/{name} was not found"))
                }) {
                    c = c.saw(format!("event {} {}", e.involved, e.reason), e.message.clone());
                }
            }
            c.fix("Create it", format!("kubectl create serviceaccount {name} -n {ns}"))
                .fix(
                    "Name the identity on it",
                    format!("kubectl annotate serviceaccount {name} -n {ns} {CLIENT_ID_ANNOTATION}={cid} --overwrite"),
                )
        }
        other => Check::from_unknown(&format!("serviceaccount/{name}"), other),
    }
}
