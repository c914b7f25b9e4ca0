//! `-o table` (default): the chain at a glance, then each non-passing finding with its
//! evidence (observed vs expected, the difference marked) and fix commands. Root cause first:
//! findings come in chain order, blocked ones are folded into one line.

use std::fmt::Write;

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use owo_colors::OwoColorize;

use super::{Style, diff_ranges};
use crate::report::{Evidence, Finding, Link, Report, Status};

/// Evidence rows shown per finding before "… and N more".
const MAX_EVIDENCE: usize = 6;

fn mark(s: Status) -> &'static str {
    match s {
        Status::Pass => "✔",
        Status::Warn => "!",
        Status::Fail => "✘",
        Status::Skip => "–",
        Status::Unknown => "?",
    }
}

fn paint(s: &str, status: Status, st: &Style) -> String {
    if !st.color {
        return s.to_string();
    }
    match status {
        Status::Pass => s.green().to_string(),
        Status::Warn => s.yellow().to_string(),
        Status::Fail => s.red().bold().to_string(),
        Status::Skip => s.dimmed().to_string(),
        Status::Unknown => s.magenta().to_string(),
    }
}

pub fn render(r: &Report, st: &Style) -> String {
    let mut out = String::new();
    let input = match &r.input.path {
        Some(p) => format!("{} {p}", r.input.kind),
        None => r.input.kind.clone(),
    };
    let _ = writeln!(
        out,
        "{} {}/{} -n {} · {input} · evaluated at {}",
        if st.color {
            "wi doctor".bold().to_string()
        } else {
            "wi doctor".into()
        },
        short_kind(&r.target.kind),
        r.target.name,
        r.target.namespace,
        r.evaluated_at
    );
    out.push('\n');
    out.push_str(&chain(r, st));
    out.push('\n');
    if let Some(p) = &r.probe {
        let (status, what) = match &p.outcome {
            crate::facts::ProbeOutcome::Issued { .. } => (
                Status::Pass,
                format!("Entra issued an access token for {} (not shown)", p.scope),
            ),
            crate::facts::ProbeOutcome::Rejected {
                status, description, ..
            } => (Status::Fail, format!("Entra refused (HTTP {status}): {description}")),
            other => (Status::Unknown, crate::collect::prove::outcome_line(other)),
        };
        let _ = writeln!(out, "{} probe: {what}", paint(mark(status), status, st));
        if !p.endpoint.is_empty() {
            let _ = writeln!(
                out,
                "  POST {} · client {} · tenant {} ({}) · authority from {}",
                p.endpoint, p.client_id, p.tenant, p.tenant_source, p.authority_source
            );
        }
        if let Some(w) = &p.authority_warning {
            let _ = writeln!(out, "  {} {w}", paint(mark(Status::Warn), Status::Warn, st));
        }
        if status == Status::Pass {
            let _ = writeln!(
                out,
                "  proves: Entra accepts this token for this client id and tenant now; not: what the running pods send (WI108–WI110), nor access to a resource (WI401, --probe-data-plane)"
            );
        }
        out.push('\n');
    }
    for scan in &r.logs {
        match &scan.error {
            Some(e) => {
                let _ = writeln!(out, "{} logs of pod/{}: not read: {e}", mark(Status::Unknown), scan.pod);
            }
            None => {
                let _ = writeln!(
                    out,
                    "logs of pod/{}: {} line(s), {} known error(s)",
                    scan.pod,
                    scan.lines,
                    scan.matches.len()
                );
                for m in &scan.matches {
                    let _ = writeln!(
                        out,
                        "  {} ×{} → {} link: {}",
                        m.code.clone().unwrap_or_else(|| m.signature.clone()),
                        m.count,
                        m.link,
                        m.last_line
                    );
                }
            }
        }
        out.push('\n');
    }

    // Non-passing findings, grouped: identical unknowns (same reason) print once.
    let mut printed_unknowns: Vec<(String, Vec<String>)> = Vec::new();
    let mut blocked: Vec<(&str, &str)> = Vec::new();
    for link in Link::ALL {
        for f in r.findings_for(link) {
            match f.status {
                Status::Pass => {
                    if st.verbose {
                        let _ = writeln!(
                            out,
                            "{} {} {}",
                            paint(mark(Status::Pass), Status::Pass, st),
                            f.rule,
                            f.message
                        );
                    }
                }
                Status::Skip if f.blocked_by.is_some() => {
                    blocked.push((&f.rule, f.blocked_by.as_deref().unwrap_or("")))
                }
                Status::Skip => {
                    if st.verbose {
                        let _ = writeln!(
                            out,
                            "{} {} {}",
                            paint(mark(Status::Skip), Status::Skip, st),
                            f.rule,
                            f.message
                        );
                    }
                }
                Status::Unknown => {
                    let key = f
                        .message
                        .split_once(": ")
                        .map(|(_, r)| r.to_string())
                        .unwrap_or(f.message.clone());
                    if let Some((_, ids)) = printed_unknowns.iter_mut().find(|(k, _)| *k == key) {
                        ids.push(f.rule.clone());
                        continue;
                    }
                    printed_unknowns.push((key, vec![f.rule.clone()]));
                    finding(&mut out, f, st);
                }
                _ => finding(&mut out, f, st),
            }
        }
    }
    for (_, ids) in printed_unknowns.iter().filter(|(_, ids)| ids.len() > 1) {
        let _ = writeln!(
            out,
            "{} {} could not be checked for the same reason as {}\n",
            paint(mark(Status::Unknown), Status::Unknown, st),
            ids[1..].join(", "),
            ids[0]
        );
    }
    if !blocked.is_empty() {
        let mut by: Vec<(&str, Vec<&str>)> = Vec::new();
        for (rule, b) in blocked {
            match by.iter_mut().find(|(x, _)| *x == b) {
                Some((_, v)) => v.push(rule),
                None => by.push((b, vec![rule])),
            }
        }
        for (b, rules) in by {
            let _ = writeln!(
                out,
                "{} {} not checked: blocked by {b}",
                paint(mark(Status::Skip), Status::Skip, st),
                rules.join(", ")
            );
        }
        out.push('\n');
    }
    if !r.unreadable.is_empty() {
        let _ = writeln!(
            out,
            "{} could not read:",
            paint(mark(Status::Unknown), Status::Unknown, st)
        );
        for u in &r.unreadable {
            let cmd = u
                .command
                .as_deref()
                .map(|c| format!(" — check: {c}"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {}: {}{cmd}", u.kind, u.reason);
        }
        out.push('\n');
    }
    out.push_str(&summary(r, st));
    out
}

fn short_kind(kind: &str) -> &str {
    match kind {
        "Pod" => "pod",
        "Deployment" => "deploy",
        "ReplicaSet" => "rs",
        "StatefulSet" => "sts",
        "DaemonSet" => "ds",
        "Job" => "job",
        "CronJob" => "cronjob",
        "ServiceAccount" => "sa",
        other => other,
    }
}

fn chain(r: &Report, st: &Style) -> String {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    if st.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    match st.width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for (i, l) in r.links.iter().enumerate() {
        let detail = match &l.decided_by {
            Some(id) => match r.findings.iter().find(|f| &f.rule == id) {
                Some(f) if f.blocked_by.is_some() => format!("blocked by {}", f.blocked_by.as_deref().unwrap_or("")),
                Some(f) => format!("{id} {}", first_clause(&f.message)),
                None => id.clone(),
            },
            None => {
                let n = r.findings_for(l.link).filter(|f| f.status == Status::Pass).count();
                format!("{n} check{} passed", if n == 1 { "" } else { "s" })
            }
        };
        let color = match l.status {
            Status::Pass => Color::Green,
            Status::Warn => Color::Yellow,
            Status::Fail => Color::Red,
            Status::Skip => Color::DarkGrey,
            Status::Unknown => Color::Magenta,
        };
        t.add_row(vec![
            Cell::new(format!("{} {}", if i == 0 { " " } else { "↓" }, mark(l.status))).fg(color),
            Cell::new(l.link.as_str()).add_attribute(Attribute::Bold),
            Cell::new(l.status.as_str()).fg(color),
            Cell::new(detail),
        ]);
    }
    let mut s: String = t.to_string().lines().map(|l| format!("{}\n", l.trim_end())).collect();
    if s.is_empty() {
        s.push('\n');
    }
    s
}

/// The message up to its first clause separator, for the one-line chain view.
fn first_clause(m: &str) -> String {
    let cut = m.find("; ").unwrap_or(m.len());
    let s = &m[..cut];
    if s.chars().count() > 110 {
        let t: String = s.chars().take(107).collect();
        format!("{t}…")
    } else {
        s.to_string()
    }
}

fn finding(out: &mut String, f: &Finding, st: &Style) {
    let head = format!("{} {} {}", mark(f.status), f.status.as_str().to_uppercase(), f.rule);
    let _ = writeln!(out, "{} {} · {}", paint(&head, f.status, st), f.link.as_str(), f.title);
    let _ = writeln!(out, "  {}", f.message);
    for e in f.evidence.iter().take(MAX_EVIDENCE) {
        evidence(out, e, st);
    }
    if f.evidence.len() > MAX_EVIDENCE {
        let _ = writeln!(out, "  … and {} more (see -o json)", f.evidence.len() - MAX_EVIDENCE);
    }
    for fx in &f.fixes {
        let _ = writeln!(
            out,
            "  {} {}",
            if st.color {
                "fix:".cyan().to_string()
            } else {
                "fix:".into()
            },
            fx.title
        );
        let _ = writeln!(out, "    {}", fx.command);
    }
    out.push('\n');
}

fn evidence(out: &mut String, e: &Evidence, st: &Style) {
    let label = match &e.difference {
        Some(d) => format!("{} ({d})", e.source),
        None => e.source.clone(),
    };
    let _ = writeln!(out, "  · {label}");
    match (&e.observed, &e.expected) {
        (Some(o), Some(x)) if !o.contains('\n') && !x.contains('\n') && o != x => {
            // Invisible differences (spaces at either end) are shown quoted.
            let edges = |v: &str| v.trim() != v;
            let (o, x) = if edges(o) || edges(x) {
                (format!("{o:?}"), format!("{x:?}"))
            } else {
                (o.clone(), x.clone())
            };
            let (o, x) = (&o, &x);
            let ((os, oe), (xs, xe)) = diff_ranges(o, x);
            let (ho, hx) = if st.color {
                (
                    format!("{}{}{}", &o[..os], (&o[os..oe]).red().bold().underline(), &o[oe..]),
                    format!("{}{}{}", &x[..xs], (&x[xs..xe]).green().bold().underline(), &x[xe..]),
                )
            } else {
                (o.clone(), x.clone())
            };
            let _ = writeln!(out, "      observed  {ho}");
            let _ = writeln!(out, "      expected  {hx}");
            // A caret line marks the difference for plain-text readers (CI logs, tickets).
            let shared = o[..os].chars().count();
            let width = o[os..oe].chars().count().max(x[xs..xe].chars().count()).max(1);
            if !st.color && shared + width < 160 && shared > 0 {
                let _ = writeln!(out, "                {}{}", " ".repeat(shared), "^".repeat(width));
            }
        }
        (o, x) => {
            if let Some(o) = o {
                let _ = writeln!(out, "      observed  {o}");
            }
            if let Some(x) = x {
                let _ = writeln!(out, "      expected  {x}");
            }
        }
    }
}

fn summary(r: &Report, st: &Style) -> String {
    let count = |s: Status| r.findings.iter().filter(|f| f.status == s).count();
    let failed_links: Vec<&str> = r
        .links
        .iter()
        .filter(|l| l.status == Status::Fail)
        .map(|l| l.link.as_str())
        .collect();
    let what = match r.verdict {
        Status::Fail => format!("{} failed", failed_links.join(", ")),
        Status::Unknown if r.links.iter().all(|l| matches!(l.status, Status::Pass | Status::Warn)) => {
            "every check passed, but some reads were refused".into()
        }
        Status::Unknown => "some links could not be checked".into(),
        Status::Warn => "no link failed; see the warnings".into(),
        _ => "every link holds".into(),
    };
    format!(
        "verdict: {} ({what}) · {} passed, {} warnings, {} failed, {} unknown, {} skipped\n",
        paint(r.verdict.as_str(), r.verdict, st),
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Unknown),
        count(Status::Skip)
    )
}
