//! Helpers shared by rules: naming the difference between two strings, Azure action
//! wildcards, scope containment, GUIDs. Pure functions only.

use crate::facts::RoleDefinition;

pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Name how `observed` differs from `expected`, as a person comparing them would.
pub fn difference(observed: &str, expected: &str) -> Option<String> {
    // "(absent)", "(none)", "<clientId GUID>": placeholders, not values to compare.
    let placeholder = |s: &str| s.starts_with('(') || s.starts_with('<');
    if observed == expected || placeholder(observed) || placeholder(expected) {
        return None;
    }
    if observed.trim() == expected.trim() {
        return Some("leading or trailing whitespace".into());
    }
    let o = observed.trim();
    let e = expected.trim();
    if o.trim_end_matches('/') == e.trim_end_matches('/') {
        return Some(if o.ends_with('/') {
            "extra trailing slash".into()
        } else {
            "missing trailing slash".into()
        });
    }
    if o.eq_ignore_ascii_case(e) {
        return Some("letter case differs (the comparison is case-sensitive)".into());
    }
    const PREFIX: &str = "system:serviceaccount:";
    if let (Some(os), Some(es)) = (o.strip_prefix(PREFIX), e.strip_prefix(PREFIX))
        && let (Some((ons, osa)), Some((ens, esa))) = (os.split_once(':'), es.split_once(':'))
    {
        return Some(match (ons == ens, osa == esa) {
            (false, true) => format!("namespace differs: {ons:?} vs {ens:?}"),
            (true, false) => format!("ServiceAccount name differs: {osa:?} vs {esa:?}"),
            _ => format!("namespace and ServiceAccount differ: {ons}:{osa} vs {ens}:{esa}"),
        });
    }
    if e.strip_prefix(PREFIX) == Some(o) {
        return Some("missing the system:serviceaccount: prefix".into());
    }
    if o.starts_with("https://") && e.starts_with("https://") {
        let host = |s: &str| s["https://".len()..].split('/').next().unwrap_or("").to_string();
        return Some(if host(o) != host(e) {
            format!("different issuer host: {} vs {}", host(o), host(e))
        } else {
            "different issuer path (another cluster, or a re-created one?)".into()
        });
    }
    // Only worth naming when the strings share a beginning; otherwise they are just different.
    let at = o.chars().zip(e.chars()).take_while(|(a, b)| a == b).count();
    (at >= 3).then(|| format!("differs from character {}", at + 1))
}

/// Azure action wildcard match: `*` matches any run of characters; case-insensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let a = action.to_ascii_lowercase();
    glob(p.as_bytes(), a.as_bytes())
}

/// Case-sensitive `*` wildcard match (federated credential `matches` expressions).
pub fn glob_match(pattern: &str, s: &str) -> bool {
    glob(pattern.as_bytes(), s.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether a role definition grants `action` (data or control plane), honouring not-lists.
pub fn grants(def: &RoleDefinition, action: &str, data: bool) -> bool {
    let (allow, deny) = if data {
        (&def.data_actions, &def.not_data_actions)
    } else {
        (&def.actions, &def.not_actions)
    };
    allow.iter().any(|p| action_matches(p, action)) && !deny.iter().any(|p| action_matches(p, action))
}

/// How an assignment scope relates to a target scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The assignment is at the target or an ancestor.
    Covers,
    /// Unrelated (a sibling or another branch).
    Disjoint,
    /// A management-group scope: containment cannot be decided from the facts.
    Undecidable,
}

pub fn coverage(assignment_scope: &str, target: &str) -> Coverage {
    let a = assignment_scope.trim_end_matches('/').to_ascii_lowercase();
    let t = target.trim_end_matches('/').to_ascii_lowercase();
    if a.is_empty() {
        return Coverage::Covers; // "/" is the root scope
    }
    if t == a || t.starts_with(&format!("{a}/")) {
        return Coverage::Covers;
    }
    if a.starts_with("/providers/microsoft.management/managementgroups/") {
        return Coverage::Undecidable;
    }
    Coverage::Disjoint
}

/// The subscription scope of an ARM id (`/subscriptions/<id>`).
pub fn subscription_scope(id: &str) -> Option<String> {
    let rest = id.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let first = parts.next()?;
    let sub = parts.next()?;
    first
        .eq_ignore_ascii_case("subscriptions")
        .then(|| format!("/subscriptions/{sub}"))
}

/// "a, b, c and 4 more".
pub fn short_list<I: IntoIterator<Item = String>>(items: I, max: usize) -> String {
    let all: Vec<String> = items.into_iter().collect();
    if all.len() <= max {
        return all.join(", ");
    }
    format!("{} and {} more", all[..max].join(", "), all.len() - max)
}

/// Shell-quote a value for a paste-ready command when it needs it.
pub fn sh(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Where the `--probe` exchange stands, for the rules that judge it.
pub enum ProbeStage<'a> {
    /// `--probe` was not given.
    NotAsked,
    /// Asked for, but not attempted (the reason), or no usable answer (the error).
    NotRun(&'a str),
    Failed(&'a str),
    Issued(&'a crate::facts::Probe),
    /// Entra refused: the code, its first description line, and what wi's error table says
    /// the text implicates.
    Rejected {
        probe: &'a crate::facts::Probe,
        status: u16,
        code: Option<&'a str>,
        description: &'a str,
        at: Implicates,
        matched: Option<Box<crate::explain::Match>>,
    },
}

/// Where a rejection lies, by wi's error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implicates {
    Link(crate::report::Link),
    /// A cause outside the chain (a wrong scope, egress): not a broken link.
    Outside,
    /// A code the table does not know.
    Unrecognised,
}

pub fn probe_stage(f: &crate::facts::Facts) -> ProbeStage<'_> {
    use crate::facts::ProbeOutcome as O;
    let Some(p) = &f.probe else {
        return ProbeStage::NotAsked;
    };
    match &p.outcome {
        O::NotRun { reason } => ProbeStage::NotRun(reason),
        O::Failed { error } => ProbeStage::Failed(error),
        O::Issued { .. } => ProbeStage::Issued(p),
        O::Rejected {
            status,
            code,
            description,
            ..
        } => {
            let text = match code {
                Some(c) if !description.contains(c.as_str()) => format!("{c}: {description}"),
                _ => description.clone(),
            };
            let matched = crate::explain::explain(&text).matches.into_iter().next().map(Box::new);
            let at = match &matched {
                None => Implicates::Unrecognised,
                Some(m) => crate::report::Link::ALL
                    .into_iter()
                    .find(|l| l.as_str() == m.link)
                    .map_or(Implicates::Outside, Implicates::Link),
            };
            ProbeStage::Rejected {
                probe: p,
                status: *status,
                code: code.as_deref(),
                description,
                at,
                matched,
            }
        }
    }
}

impl ProbeStage<'_> {
    /// For the rules that only judge Entra's answer, when there is none: `skip` (WI306 reports
    /// why the probe did not run or got no answer).
    pub fn unanswered(&self) -> super::Check {
        super::Check::skip(match self {
            ProbeStage::NotAsked => "the token exchange was not attempted (opt-in: --probe)",
            _ => "the token exchange got no answer from Entra (see WI306)",
        })
    }
    /// The rejection's text for messages: `AADSTS700213: …` (HTTP status).
    pub fn rejection(&self) -> String {
        match self {
            ProbeStage::Rejected {
                probe,
                status,
                description,
                ..
            } => format!("POST {} → HTTP {status}: {description}", probe.endpoint),
            _ => String::new(),
        }
    }
    /// A fix that explains the code with `wi explain`.
    pub fn explain_fix(&self) -> Option<(String, String)> {
        match self {
            ProbeStage::Rejected {
                code: Some(c), matched, ..
            } => Some((
                matched
                    .as_ref()
                    .and_then(|m| m.causes.first())
                    .map(|c| format!("Most likely: {}", c.cause))
                    .unwrap_or_else(|| "Explain the error".into()),
                format!("wi explain {c}"),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differences() {
        assert_eq!(
            difference("https://a/x/", "https://a/x").unwrap(),
            "extra trailing slash"
        );
        assert_eq!(
            difference("https://a/x", "https://a/x/").unwrap(),
            "missing trailing slash"
        );
        assert!(difference("API://x", "api://x").unwrap().contains("case"));
        assert!(difference(" x", "x").unwrap().contains("whitespace"));
        assert_eq!(
            difference(
                "system:serviceaccount:inventroy:api",
                "system:serviceaccount:inventory:api"
            )
            .unwrap(),
            "namespace differs: \"inventroy\" vs \"inventory\""
        );
        assert!(
            difference("system:serviceaccount:a:x", "system:serviceaccount:a:y")
                .unwrap()
                .contains("ServiceAccount name")
        );
        assert!(
            difference("a:b", "system:serviceaccount:a:b")
                .unwrap()
                .contains("prefix")
        );
        assert!(difference("https://h1/p/", "https://h2/p/").unwrap().contains("host"));
        assert_eq!(difference("same", "same"), None);
        assert_eq!(difference("(absent)", "true"), None);
        assert_eq!(difference("Contributor at /x", "Key Vault Secrets User"), None);
        assert_eq!(difference("abcdef", "abcxyz").unwrap(), "differs from character 4");
    }

    #[test]
    fn wildcards() {
        assert!(action_matches(
            "Microsoft.KeyVault/vaults/secrets/*",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action"
        ));
        assert!(action_matches("*", "anything"));
        assert!(action_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/read"
        ));
        assert!(!action_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action"
        ));
        assert!(action_matches(
            "microsoft.storage/*",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
        ));
    }

    #[test]
    fn scopes() {
        let kv = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/kv";
        assert_eq!(coverage("/subscriptions/s", kv), Coverage::Covers);
        assert_eq!(coverage("/subscriptions/S/resourcegroups/rg", kv), Coverage::Covers);
        assert_eq!(coverage("/subscriptions/S/resourceGroups/RG2", kv), Coverage::Disjoint);
        assert_eq!(
            coverage(
                "/subscriptions/S/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/kv2",
                kv
            ),
            Coverage::Disjoint
        );
        assert_eq!(coverage("/", kv), Coverage::Covers);
        assert_eq!(
            coverage("/providers/Microsoft.Management/managementGroups/mg", kv),
            Coverage::Undecidable
        );
        assert_eq!(subscription_scope(kv).unwrap(), "/subscriptions/S");
    }

    #[test]
    fn guids() {
        assert!(is_guid("bc394607-b274-4ef1-93d7-e3f3405c4586"));
        assert!(!is_guid("bc394607b2744ef193d7e3f3405c4586"));
        assert!(!is_guid("bc394607-b274-4ef1-93d7-e3f3405c458z"));
    }
}
