//! WI303: a federated credential on the identity matches issuer, subject and audience.
use super::{Check, Rule, Severity, support::sh};
use crate::facts::{EXCHANGE_AUDIENCE, Fact, Facts, FederatedCredential, Identity, IdentityKind};
use crate::report::Link;

pub static RULE: Rule = Rule {
    id: "WI303",
    link: Link::FederatedCredential,
    slug: "credential_matches",
    title: "A federated credential on the identity matches issuer, subject and audience exactly",
    severity: Severity::Fail,
    page: include_str!("../../rules/WI303.md"),
    after: &["WI105", "WI201", "WI202", "WI203", "WI204"],
    requires: &["WI301"],
    check,
};

/// The three values Entra compares.
pub struct Want {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub issuer_from: &'static str,
}

pub fn want(f: &Facts) -> Option<Want> {
    let token = f.token.get();
    let (issuer, issuer_from) = match (token.and_then(|t| t.iss.clone()), f.cluster_issuer()) {
        (Some(i), _) => (i, "token iss"),
        (None, Some(i)) => (i.to_string(), "cluster issuer"),
        (None, None) => return None,
    };
    let exp_aud = f.projected_audience();
    let audience = token
        .and_then(|t| t.aud.iter().find(|a| **a == exp_aud).cloned())
        .unwrap_or(exp_aud);
    Some(Want {
        issuer,
        subject: f.expected_subject(),
        audience,
        issuer_from,
    })
}

/// Evaluate a flexible credential's `claimsMatchingExpression` against the subject.
/// `None` when the expression uses something this evaluator does not know.
pub fn expression_matches(expr: &str, subject: &str) -> Option<bool> {
    let mut all = true;
    for clause in expr.split(" and ") {
        let clause = clause.trim();
        let rest = clause.strip_prefix("claims['sub']")?.trim_start();
        let (op, value) = rest.split_once(' ')?;
        let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
        let ok = match op {
            "eq" => subject == value,
            "matches" => super::support::glob_match(value, subject),
            _ => return None,
        };
        all &= ok;
    }
    Some(all)
}

pub enum Verdict {
    Match,
    NoMatch,
    Undecidable,
}

pub fn matches(c: &FederatedCredential, w: &Want) -> Verdict {
    if c.issuer != w.issuer || !c.audiences.contains(&w.audience) {
        return Verdict::NoMatch;
    }
    match (&c.subject, &c.claims_matching_expression) {
        (Some(s), _) if *s == w.subject => Verdict::Match,
        (_, Some(expr)) => match expression_matches(expr, &w.subject) {
            Some(true) => Verdict::Match,
            Some(false) => Verdict::NoMatch,
            None => Verdict::Undecidable,
        },
        _ => Verdict::NoMatch,
    }
}

fn score(c: &FederatedCredential, w: &Want) -> (usize, usize) {
    let s = c.subject.as_deref().unwrap_or("");
    let common = s.chars().zip(w.subject.chars()).take_while(|(a, b)| a == b).count();
    (
        (c.issuer == w.issuer) as usize + (s == w.subject) as usize + c.audiences.contains(&w.audience) as usize,
        common,
    )
}

fn fic_name(f: &Facts) -> String {
    let raw = format!("{}-{}", f.namespace(), f.service_account_name());
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(120)
        .collect()
}

pub fn create_fix(f: &Facts, i: &Identity, w: &Want, update: Option<&FederatedCredential>) -> (String, String) {
    match i.kind {
        IdentityKind::ManagedIdentity => {
            let verb = if update.is_some() { "update" } else { "create" };
            let name = update.map(|c| c.name.clone()).unwrap_or_else(|| fic_name(f));
            (
                format!(
                    "{} the federated credential on managed identity {}",
                    if update.is_some() { "Correct" } else { "Create" },
                    i.name
                ),
                format!(
                    "az identity federated-credential {verb} --name {} --identity-name {} --resource-group {} --issuer {} --subject {} --audiences {}",
                    sh(&name),
                    sh(&i.name),
                    sh(i.resource_group.as_deref().unwrap_or("<rg>")),
                    sh(&w.issuer),
                    sh(&w.subject),
                    sh(&w.audience)
                ),
            )
        }
        IdentityKind::AppRegistration => {
            let name = update.map(|c| c.name.clone()).unwrap_or_else(|| fic_name(f));
            let params =
                serde_json::json!({"name": name, "issuer": w.issuer, "subject": w.subject, "audiences": [w.audience]})
                    .to_string();
            match update {
                Some(c) => (
                    format!("Correct the federated credential on app registration {}", i.name),
                    format!(
                        "az ad app federated-credential update --id {} --federated-credential-id {} --parameters {}",
                        i.id,
                        sh(c.id.as_deref().unwrap_or(&c.name)),
                        sh(&params)
                    ),
                ),
                None => (
                    format!("Create the federated credential on app registration {}", i.name),
                    format!(
                        "az ad app federated-credential create --id {} --parameters {}",
                        i.id,
                        sh(&params)
                    ),
                ),
            }
        }
    }
}

fn check(f: &Facts) -> Check {
    let Some(i) = f.identity.get() else {
        return Check::from_unknown("identity", &f.identity);
    };
    let Some(w) = want(f) else {
        return Check::unknown(
            "neither a token nor the cluster's issuer is in the facts, so there is nothing to match the credentials against",
            Some(format!(
                "kubectl create token {} -n {} --audience {EXCHANGE_AUDIENCE} --duration 1h > token.jwt",
                f.service_account_name(),
                f.namespace()
            )),
        );
    };
    let creds: &[FederatedCredential] = match &f.credentials {
        Fact::Found { value } => value,
        Fact::Absent { .. } => &[],
        other => return Check::from_unknown(&format!("federated credentials of {}", i.display()), other),
    };
    let mut undecidable = None;
    for c in creds {
        match matches(c, &w) {
            Verdict::Match => {
                return Check::pass(format!(
                    "federated credential {} on {} matches issuer, subject and audience",
                    c.name,
                    i.display()
                ))
                .compare(
                    format!("federatedIdentityCredential/{} subject", c.name),
                    c.subject.as_deref().or(c.claims_matching_expression.as_deref()),
                    Some(&w.subject),
                );
            }
            Verdict::Undecidable => undecidable = Some(c),
            Verdict::NoMatch => {}
        }
    }
    if let Some(c) = undecidable {
        return Check::unknown(
            format!(
                "federated credential {} uses claimsMatchingExpression {:?}, which wi cannot evaluate",
                c.name,
                c.claims_matching_expression.as_deref().unwrap_or("")
            ),
            None,
        );
    }
    // Root cause: a matching credential on another identity?
    let elsewhere = f
        .other_credentials
        .iter()
        .find(|c| matches!(matches(c, &w), Verdict::Match));
    let mut ch = Check::fail(String::new());
    let nearest = creds.iter().max_by_key(|c| score(c, &w));
    let mut diffs = Vec::new();
    if let Some(n) = nearest {
        let src = format!("federatedIdentityCredential/{}", n.name);
        if n.issuer != w.issuer {
            diffs.push("issuer");
            ch = ch.compare(
                format!("{src} issuer vs {}", w.issuer_from),
                Some(&n.issuer),
                Some(&w.issuer),
            );
        }
        if n.subject.as_deref() != Some(w.subject.as_str()) {
            diffs.push("subject");
            ch = ch.compare(
                format!("{src} subject"),
                Some(
                    n.subject
                        .as_deref()
                        .or(n.claims_matching_expression.as_deref())
                        .unwrap_or("(absent)"),
                ),
                Some(&w.subject),
            );
        }
        if !n.audiences.contains(&w.audience) {
            diffs.push("audience");
            ch = ch.compare(
                format!("{src} audiences"),
                Some(&n.audiences.join(", ")),
                Some(&w.audience),
            );
        }
    }
    ch.message = match (nearest, elsewhere) {
        (_, Some(e)) => {
            let owner = f
                .known_identities
                .iter()
                .find(|k| e.parent.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&k.id)))
                .map(|k| format!("{} (client id {})", k.display(), k.client_id))
                .unwrap_or_else(|| e.parent.clone().unwrap_or_else(|| "another identity".into()));
            ch = ch.saw(
                format!("federatedIdentityCredential/{}", e.name),
                format!("matches, but belongs to {owner}"),
            );
            format!(
                "no federated credential on {} matches; credential {} on {owner} does: the ServiceAccount names the wrong identity, or the credential was created on the wrong one (Entra: AADSTS70021)",
                i.display(),
                e.name
            )
        }
        (Some(n), None) => format!(
            "no federated credential on {} matches; the nearest, {}, differs in {} (Entra: AADSTS70021 / AADSTS700213 \"No matching federated identity record found\")",
            i.display(),
            n.name,
            diffs.join(" and ")
        ),
        (None, None) => format!(
            "{} has no federated credentials, so Entra cannot trust tokens from {} (AADSTS70021)",
            i.display(),
            w.issuer
        ),
    };
    if let Some(e) = elsewhere
        && let Some(k) = f
            .known_identities
            .iter()
            .find(|k| e.parent.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&k.id)))
    {
        ch = ch.fix(
            format!("Either point the ServiceAccount at {}", k.name),
            format!(
                "kubectl annotate serviceaccount {} -n {} azure.workload.identity/client-id={} --overwrite && {}",
                f.service_account_name(),
                f.namespace(),
                k.client_id,
                f.restart_command()
            ),
        );
    }
    let update = nearest.filter(|n| score(n, &w).0 >= 1 && elsewhere.is_none());
    let (t, cmd) = create_fix(f, i, &w, update);
    ch.fix(t, cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        assert_eq!(
            expression_matches(
                "claims['sub'] matches 'system:serviceaccount:ns:*'",
                "system:serviceaccount:ns:a"
            ),
            Some(true)
        );
        assert_eq!(
            expression_matches(
                "claims['sub'] matches 'system:serviceaccount:ns:*'",
                "system:serviceaccount:NS:a"
            ),
            Some(false)
        );
        assert_eq!(expression_matches("claims['sub'] eq 'x'", "x"), Some(true));
        assert_eq!(expression_matches("claims['job'] eq 'x'", "x"), None);
    }
}
