//! Proof, not inference: after the facts are collected (live or from a snapshot), fetch the
//! issuer from outside and, with `--probe`, make the token exchange Entra would see from the
//! pod. Results go into the inventory; rules judge them like any other fact.

use std::time::Duration;

use super::Inventory;
use super::azure_live::Endpoints;
use super::probe::{self, Exchange};
use super::token::RawToken;
use crate::facts::resolve::{Request, resolve};
use crate::facts::{Facts, Probe, ProbeOutcome};

pub struct Options {
    /// Fetch `<iss>/.well-known/openid-configuration` and the JWKS from outside.
    pub fetch_issuer: bool,
    /// Make the token exchange.
    pub probe: bool,
    /// The exchange's scope (default: `<ARM>/.default`).
    pub probe_scope: Option<String>,
    /// One read-only data-plane call per --scope (needs `probe`).
    pub data_plane: bool,
    /// `--cloud` (AZURE_AUTHORITY_HOST overrides its authority).
    pub cloud: String,
    /// Whether `--cloud` was given (it then wins over the pods' AZURE_AUTHORITY_HOST).
    pub cloud_explicit: bool,
    pub timeout: Duration,
}

/// Run what `o` asks for against the facts `inv` holds for `req`'s target.
pub async fn prove(inv: &mut Inventory, req: &Request, o: &Options) -> Result<(), String> {
    if !o.fetch_issuer && !o.probe {
        return Ok(());
    }
    let endpoints = super::azure_live::endpoints(&o.cloud)?;
    let Ok(facts) = resolve(inv, req) else {
        return Ok(()); // the target is missing: the final pass reports that
    };
    // Fetched already by this run (live, beside the Azure reads)? A view recorded in a
    // snapshot is replaced: asking to fetch means now.
    let fetched_now = inv.external_issuer.as_ref().is_some_and(|x| !x.recorded);
    let issuer = facts.issuer_to_fetch().filter(|_| !fetched_now);
    let raw = raw_token(inv, &facts);

    let fetch = async {
        match (&issuer, o.fetch_issuer) {
            (Some(iss), true) => Some(super::issuer::fetch(iss, o.timeout).await),
            _ => None,
        }
    };
    let exchange = async {
        if !o.probe || inv.probe.is_some() {
            return None; // not asked, or made already beside the Azure reads
        }
        Some(exchange(&facts, raw.as_ref(), &req.scopes, o, &endpoints).await)
    };
    let (fetched, probed) = futures::join!(fetch, exchange);
    if fetched.is_some() {
        inv.external_issuer = fetched;
    }
    if probed.is_some() {
        inv.probe = probed;
    }
    Ok(())
}

/// The cloud to probe, where that choice came from, and a warning about an authority the
/// pods use that wi will not send a token to. wi's own AZURE_AUTHORITY_HOST, then an explicit
/// `--cloud`, win; otherwise the pods' AZURE_AUTHORITY_HOST picks the cloud when it is a known
/// Entra authority (the SDK in the pod talks to it).
fn effective_cloud(facts: &Facts, cloud: &str, explicit: bool) -> (String, String, Option<String>) {
    let keep = |source: String, warning: Option<String>| (cloud.to_string(), source, warning);
    if std::env::var("AZURE_AUTHORITY_HOST").is_ok_and(|v| !v.is_empty()) {
        return keep("AZURE_AUTHORITY_HOST (wi's environment)".into(), None);
    }
    let from_cloud = format!("--cloud {cloud}");
    if explicit {
        return keep(from_cloud, None);
    }
    let Some((value, source)) = facts.pods.iter().find_map(|p| {
        p.app_containers().find_map(|c| {
            c.env_value("AZURE_AUTHORITY_HOST")
                .and_then(|e| e.value.clone())
                .map(|v| (v, format!("{} env AZURE_AUTHORITY_HOST", p.source)))
        })
    }) else {
        return keep(from_cloud, None);
    };
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    match super::azure_live::CLOUD_AUTHORITIES
        .iter()
        .find(|(_, a)| norm(a) == norm(&value))
    {
        Some((name, _)) => (name.to_string(), format!("{source} ({name})"), None),
        None => keep(
            from_cloud,
            Some(format!(
                "the pods use AZURE_AUTHORITY_HOST={value} ({source}), which is not a known Entra authority: wi does not send a token there (set AZURE_AUTHORITY_HOST to probe it)"
            )),
        ),
    }
}

/// The signed token behind the facts' decoded one, when the inventory holds it.
pub fn raw_token(inv: &Inventory, facts: &Facts) -> Option<RawToken> {
    let t = facts.token.get()?;
    inv.tokens.iter().find(|f| f.source == t.source)?.raw.clone()
}

/// The `--probe` exchange (and `--probe-data-plane` calls) for the workload `facts` describe,
/// presenting `raw`, the signed projected token.
pub async fn exchange(
    facts: &Facts,
    raw: Option<&RawToken>,
    scopes: &[String],
    o: &Options,
    endpoints: &Endpoints,
) -> Probe {
    let (cloud, authority_source, authority_warning) = effective_cloud(facts, &o.cloud, o.cloud_explicit);
    let switched;
    let endpoints = if cloud != o.cloud {
        switched = super::azure_live::endpoints(&cloud).unwrap_or_else(|_| endpoints.clone());
        &switched
    } else {
        endpoints
    };
    let o = &Options {
        cloud: cloud.clone(),
        probe_scope: o.probe_scope.clone(),
        ..*o
    };
    let token = facts.token.get();
    let scope = o
        .probe_scope
        .clone()
        .unwrap_or_else(|| format!("{}/.default", endpoints.arm_resource));
    let tenant = facts.pod_tenant().or_else(|| {
        facts.identity.get().and_then(|i| {
            i.tenant_id
                .clone()
                .map(|t| (t, format!("the tenant of {}", i.display())))
        })
    });
    let client_id = facts.client_id.clone();
    let assertion = token.map(|t| t.source.clone()).unwrap_or_default();
    let not_run = |reason: String| ProbeOutcome::NotRun { reason };
    let mut p = Probe {
        authority_source,
        authority_warning,
        endpoint: String::new(),
        tenant: String::new(),
        tenant_source: String::new(),
        client_id: client_id.clone().unwrap_or_default(),
        scope: scope.clone(),
        assertion,
        at: None,
        outcome: not_run(String::new()),
        data_plane: vec![],
    };
    let (Some((tenant, tenant_source)), Some(client_id), Some(raw)) = (tenant, client_id, raw) else {
        p.outcome = not_run(if facts.client_id.is_none() {
            "no client id: neither the ServiceAccount annotation nor the pod's AZURE_CLIENT_ID names one".into()
        } else if raw.is_none() {
            match facts.token.get() {
                Some(t) => format!("{} holds decoded claims only; the exchange needs the signed token (run live, or snapshot the token file)", t.source),
                None => "no projected token in the facts (live: without --no-token-request wi requests one; a snapshot needs the pod's token file)".into(),
            }
        } else {
            "no tenant: no tenant-id annotation, AZURE_TENANT_ID, webhook default or identity tenant in the facts"
                .into()
        });
        return p;
    };
    // The tenant becomes a path segment of the token URL: letters, digits, dots and hyphens
    // only (GUIDs and domains), so a value from the cluster cannot steer the request.
    if tenant.is_empty()
        || !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        p.tenant = tenant.clone();
        p.tenant_source = tenant_source;
        p.outcome = not_run(format!(
            "the tenant {tenant:?} is neither a GUID nor a domain name; wi does not put it in a token URL"
        ));
        return p;
    }
    p.endpoint = probe::endpoint(&endpoints.authority, &tenant);
    p.tenant = tenant.clone();
    p.tenant_source = tenant_source;
    let x = Exchange {
        authority: &endpoints.authority,
        tenant: &tenant,
        client_id: &client_id,
        scope: &scope,
        assertion: raw.expose(),
        timeout: o.timeout,
    };
    let got = probe::exchange(&x).await;
    // The second, as reports show times.
    p.at = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).ok();
    p.outcome = got.outcome;
    drop(got.access_token); // the probe's own token is never used for anything else
    if o.data_plane && matches!(p.outcome, ProbeOutcome::Issued { .. }) {
        let mut unique: Vec<&String> = vec![];
        for s in scopes {
            if !unique.iter().any(|x| x.eq_ignore_ascii_case(s)) {
                unique.push(s);
            }
        }
        for s in unique {
            let vault_uri = inv_vault_uri(facts, s);
            let Some(dp) = probe::data_plane(
                s,
                vault_uri.as_deref(),
                (endpoints.vault_suffix, endpoints.storage_suffix),
            ) else {
                p.data_plane.push(crate::facts::DataPlaneProbe {
                    scope: s.clone(),
                    request: String::new(),
                    why: "wi knows a harmless data-plane request for Key Vault and Storage only".into(),
                    status: None,
                    code: None,
                    message: None,
                    verdict: "unknown".into(),
                });
                continue;
            };
            let x = Exchange {
                scope: &dp.token_scope,
                ..x
            };
            let got = probe::exchange(&x).await;
            let r = match (&got.outcome, &got.access_token) {
                (ProbeOutcome::Issued { .. }, Some(tok)) => probe::call_data_plane(s, &dp, tok, o.timeout).await,
                (other, _) => crate::facts::DataPlaneProbe {
                    scope: s.clone(),
                    request: format!("GET {}", dp.url),
                    why: dp.why.to_string(),
                    status: None,
                    code: None,
                    message: Some(format!("no token for {}: {}", dp.token_scope, outcome_line(other))),
                    verdict: "unknown".into(),
                },
            };
            p.data_plane.push(r);
        }
    }
    p
}

fn inv_vault_uri(f: &crate::facts::Facts, scope: &str) -> Option<String> {
    f.scopes
        .iter()
        .filter(|s| s.scope.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(scope)))
        .find_map(|s| s.key_vault.as_ref().and_then(|k| k.vault_uri.clone()))
}

/// One line for an outcome (for messages).
pub fn outcome_line(o: &ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Issued { .. } => "issued".into(),
        ProbeOutcome::Rejected {
            description, status, ..
        } => format!("HTTP {status}: {description}"),
        ProbeOutcome::Failed { error } => error.clone(),
        ProbeOutcome::NotRun { reason } => reason.clone(),
    }
}
