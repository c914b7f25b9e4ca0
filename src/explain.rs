//! `wi explain "<error text>"`: recognise the errors users paste (Entra AADSTS codes, ARM and
//! data-plane 403s, the SDKs' messages for an unmutated pod) and map each to the link of the
//! chain, the likely causes in order with the fact that would confirm each, the values the
//! message embeds, and the `wi doctor` command to run. The signatures live in one data table,
//! `src/data/explain-signatures.json`; a test runs every entry's example.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Signature {
    pub id: String,
    pub code: Option<String>,
    #[serde(rename = "match")]
    pub patterns: Vec<String>,
    pub link: String,
    pub title: String,
    pub causes: Vec<String>,
    pub confirm: Vec<String>,
    pub example: String,
    #[serde(default)]
    pub uncertain: Option<String>,
}

/// The embedded catalog. A malformed table is caught by the catalog test, never at run time.
pub fn catalog() -> Vec<Signature> {
    cached().to_vec()
}

fn cached() -> &'static [Signature] {
    static CATALOG: std::sync::OnceLock<Vec<Signature>> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| serde_json::from_str(include_str!("data/explain-signatures.json")).unwrap_or_default())
}

/// A signature found in logs: how often, and the most recent line (tokens scrubbed).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogHit {
    #[serde(flatten)]
    pub matched: Match,
    pub count: usize,
    pub last_line: String,
}

/// Every signature in `text`, line by line, most recent line kept (first-seen order).
pub fn scan_lines(text: &str) -> Vec<LogHit> {
    let mut hits: Vec<LogHit> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        for m in explain(line).matches {
            let shown = scrub(line);
            match hits.iter_mut().find(|h| h.matched.signature == m.signature) {
                Some(h) => {
                    h.count += 1;
                    h.last_line = shown;
                    h.matched = m;
                }
                None => hits.push(LogHit {
                    matched: m,
                    count: 1,
                    last_line: shown,
                }),
            }
        }
    }
    hits
}

/// A log line fit for a report: JWT-shaped strings replaced, at most 400 characters.
pub fn scrub(line: &str) -> String {
    let mut out = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&scrub_word(word));
    }
    if out.chars().count() > 400 {
        out = out.chars().take(400).collect::<String>() + "…";
    }
    out
}

/// `eyJ…` segments (JWTs, also inside quotes or key=value) become `<token redacted>`.
fn scrub_word(w: &str) -> String {
    let mut out = String::new();
    let mut rest = w;
    while let Some(i) = rest.find("eyJ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '='))
            .unwrap_or(tail.len());
        if tail[..end].matches('.').count() >= 1 && end > 20 {
            out.push_str("<token redacted>");
        } else {
            out.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cause {
    pub cause: String,
    pub confirm: String,
}

/// Values the message embeds; only those present are serialised.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Extracted {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Match {
    pub signature: String,
    pub code: Option<String>,
    pub link: String,
    pub title: String,
    pub causes: Vec<Cause>,
    pub extracted: Extracted,
    pub next: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertain: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    pub matches: Vec<Match>,
}

/// Every signature found in `text`, in the order they first appear.
pub fn explain(text: &str) -> Explanation {
    let lower = text.to_lowercase();
    let ex = extract(text);
    let mut found: Vec<(usize, &Signature)> = cached()
        .iter()
        .filter_map(|s| {
            let at = s.patterns.iter().filter_map(|p| lower.find(&p.to_lowercase())).min()?;
            Some((at, s))
        })
        .collect();
    found.sort_by_key(|(at, s)| (*at, s.id.clone()));
    // A longer code that contains a shorter one (AADSTS7002138 ⊃ AADSTS700213) wins at the
    // same position.
    let mut matches: Vec<Match> = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut sorted = found;
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(longest(b.1).cmp(&longest(a.1))));
    for (at, s) in sorted {
        let len = longest(s);
        if s.code.is_some() && taken.iter().any(|(a, l)| *a == at && *l > len) {
            continue;
        }
        taken.push((at, len));
        matches.push(Match {
            signature: s.id.clone(),
            code: s.code.clone(),
            link: s.link.clone(),
            title: s.title.clone(),
            causes: s
                .causes
                .iter()
                .zip(s.confirm.iter())
                .map(|(c, f)| Cause {
                    cause: c.clone(),
                    confirm: f.clone(),
                })
                .collect(),
            extracted: ex.clone(),
            next: next_command(&ex),
            uncertain: s.uncertain.clone(),
        });
    }
    Explanation { matches }
}

fn longest(s: &Signature) -> usize {
    s.patterns.iter().map(String::len).max().unwrap_or(0)
}

/// The `wi doctor` command that checks the chain the message implicates.
fn next_command(ex: &Extracted) -> String {
    let mut cmd = "wi doctor pod/<pod> -n <namespace>".to_string();
    if let Some(s) = &ex.scope {
        cmd.push_str(&format!(" --scope {s}"));
    }
    cmd
}

/// The value after `prefix` (case-insensitive): quoted, or up to the next separator.
fn after(text: &str, prefixes: &[&str]) -> Option<String> {
    let lower = text.to_lowercase();
    for p in prefixes {
        let Some(i) = lower.find(&p.to_lowercase()) else {
            continue;
        };
        let rest = &text[i + p.len()..];
        // A prefix that ends in a quote takes exactly the quoted value.
        if let Some(q) = p.chars().last().filter(|c| *c == '\'' || *c == '"') {
            let v = rest.split(q).next().unwrap_or("");
            if !v.is_empty() {
                return Some(v.to_string());
            }
            continue;
        }
        let rest = rest.trim_start();
        let v = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest
                .split(|c: char| c.is_whitespace() || c == ';' || c == ',' || c == '\'' || c == '"')
                .next()
                .unwrap_or(""),
        };
        let v = v.trim_end_matches('.');
        if !v.is_empty() {
            return Some(v.to_string());
        }
    }
    None
}

pub fn extract(text: &str) -> Extracted {
    Extracted {
        issuer: after(
            text,
            &["Assertion Issuer:", "presented assertion issuer", "assertion issuer"],
        ),
        subject: after(
            text,
            &["Assertion Subject:", "presented assertion subject", "assertion subject"],
        ),
        audience: after(
            text,
            &[
                "Assertion Audience:",
                "presented assertion audience",
                "assertion audience",
            ],
        ),
        client_id: after(
            text,
            &[
                "Application with identifier",
                "The client application",
                "appid=",
                "client_id=",
                "The client '",
            ],
        ),
        tenant_id: after(
            text,
            &[
                "in the directory",
                "Specified tenant identifier",
                "in the tenant",
                "tenant identifier",
            ],
        ),
        scope: after(text, &["over scope"]),
    }
}

/// The table rendering.
pub fn render(e: &Explanation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if e.matches.is_empty() {
        out.push_str("not recognised: no known Azure Workload Identity error in this text\n");
        out.push_str("  next: wi doctor pod/<pod> -n <namespace>   # checks the whole chain\n");
        return out;
    }
    for m in &e.matches {
        let code = m.code.as_deref().unwrap_or(&m.signature);
        let _ = writeln!(out, "{code} · {} · {}", m.link, m.title);
        let ex = serde_json::to_value(&m.extracted).unwrap_or_default();
        if let Some(obj) = ex.as_object().filter(|o| !o.is_empty()) {
            for (k, v) in obj {
                let _ = writeln!(out, "  {k:<10} {}", v.as_str().unwrap_or_default());
            }
        }
        let _ = writeln!(out, "  likely causes:");
        for (i, c) in m.causes.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, c.cause);
            let _ = writeln!(out, "     confirm: {}", c.confirm);
        }
        if let Some(u) = &m.uncertain {
            let _ = writeln!(out, "  (uncertain: {u})");
        }
        let _ = writeln!(out, "  next: {}\n", m.next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_needs_its_quote() {
        let t = "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request";
        assert_eq!(extract(t).client_id, None);
    }

    #[test]
    fn extraction() {
        let t = "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://oidc.prod-aks.azure.com/abc/'. Assertion Subject: 'system:serviceaccount:payments:api'. Assertion Audience: 'api://AzureADTokenExchange'.";
        let e = extract(t);
        assert_eq!(e.issuer.as_deref(), Some("https://oidc.prod-aks.azure.com/abc/"));
        assert_eq!(e.subject.as_deref(), Some("system:serviceaccount:payments:api"));
        assert_eq!(e.audience.as_deref(), Some("api://AzureADTokenExchange"));
        let t = "The client '5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e' with object id 'c1d2' does not have authorization to perform action 'x' over scope '/subscriptions/s/resourceGroups/rg' or the scope is invalid.";
        let e = extract(t);
        assert_eq!(e.client_id.as_deref(), Some("5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"));
        assert_eq!(e.scope.as_deref(), Some("/subscriptions/s/resourceGroups/rg"));
    }
}
