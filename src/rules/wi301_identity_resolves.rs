//! WI301: the client id resolves to an identity.
use super::{Check, Rule, Severity, wi107_client_id_annotation::suggested_client_id};
use crate::facts::{CLIENT_ID_ANNOTATION, Fact, Facts, IdentityKind};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI301",
    link: Link::FederatedCredential,
    slug: "identity_resolves",
    title: "The client id resolves to a managed identity or app registration",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI301.md"),
    after: &["WI105", "WI106", "WI107"],
    requires: &[],
    check,
};

fn annotate(f: &Facts, cid: &str) -> String {
    format!(
        "kubectl annotate serviceaccount {} -n {} {CLIENT_ID_ANNOTATION}={cid} --overwrite && {}",
        f.service_account_name(),
        f.namespace(),
        f.restart_command()
    )
}

fn check(f: &Facts) -> Check {
    let cid = f.client_id.clone().unwrap_or_default();
    match &f.identity {
        Fact::Found { value: i } => {
            if i.kind == IdentityKind::AppRegistration && i.has_service_principal == Some(false) {
                return Check::fail(format!(
                    "app registration {} (appId {}) has no service principal in the tenant: Entra answers AADSTS7000229",
                    i.name, i.client_id
                ))
                .saw(format!("{} appId", i.source), i.client_id.clone())
                .fix("Create the service principal", format!("az ad sp create --id {}", i.client_id));
            }
            Check::pass(format!(
                "client id {cid} is {}{}",
                i.display(),
                i.principal_id
                    .as_deref()
                    .map(|p| format!(" (principal id {p})"))
                    .unwrap_or_default()
            ))
        }
        Fact::Absent { searched } => {
            // A principal (object) id or an app object id where the client id belongs?
            if let Some(i) = f.known_identities.iter().find(|i| {
                i.principal_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&cid))
                    || (i.kind == IdentityKind::AppRegistration && i.id.eq_ignore_ascii_case(&cid))
            }) {
                let what = if i.principal_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&cid)) {
                    "principal (object) id"
                } else {
                    "application object id"
                };
                return Check::fail(format!(
                    "{cid} is the {what} of {}, not its client id: Entra answers AADSTS700016 (application not found)",
                    i.display()
                ))
                .compare(
                    format!(
                        "serviceaccount/{} annotation {CLIENT_ID_ANNOTATION}",
                        f.service_account_name()
                    ),
                    Some(&cid),
                    Some(&i.client_id),
                )
                .fix(
                    format!("Annotate the client id of {}", i.name),
                    annotate(f, &i.client_id),
                );
            }
            let mut c = Check::fail(format!(
                "no managed identity or app registration has client id {cid}: it was deleted (or re-created with a new client id), or lives in another tenant; Entra answers AADSTS700016"
            ))
            .saw("identities looked at", searched.clone());
            if let [one] = f.known_identities.as_slice() {
                c = c.compare(format!("{} clientId", one.source), Some(&one.client_id), Some(&cid));
            }
            c.fix(
                "Find the identity the workload should use",
                "az identity list --query \"[].{name:name, clientId:clientId, rg:resourceGroup}\" -o table",
            )
            .fix("Annotate its client id", annotate(f, &suggested_client_id(f)))
        }
        Fact::Unknown { .. } => Check::from_unknown(&format!("identity for client id {cid}"), &f.identity),
    }
}
