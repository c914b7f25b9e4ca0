//! Read a snapshot directory: every file below it, recursively, identified by content.
//!
//! JSON (`{`/`[`), a compact JWT, or YAML (one or many documents). Unrecognised files are
//! noted, not fatal; a file that is malformed as what it claims to be is an [`InputError`].

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::classify::{self, Outcome};
use super::{FileNote, InputError, Inventory, token};

/// Files larger than this are skipped with a note: no kubectl or az output is this large.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Read every file below `dir`.
pub fn read_dir(dir: &Path) -> Result<Inventory, InputError> {
    let meta = fs::metadata(dir).map_err(|e| InputError {
        path: dir.display().to_string(),
        line: None,
        message: format!("cannot read snapshot directory: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(InputError {
            path: dir.display().to_string(),
            line: None,
            message: "--snapshot takes a directory (a file is not a snapshot)".into(),
        });
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut inv = Inventory::default();
    for f in &files {
        read_file(&mut inv, f, &display(dir, f))?;
    }
    finish(inv, &dir.display().to_string(), files.len())
}

/// Read files held in memory (the embedded demo), as if they were a snapshot directory.
pub fn read_memory(name: &str, files: &[(&str, &str)]) -> Result<Inventory, InputError> {
    let mut inv = Inventory::default();
    for (path, text) in files {
        let mut note = FileNote {
            path: format!("{name}/{path}"),
            recognised: vec![],
            ignored: vec![],
        };
        read_text(&mut inv, &mut note, text)?;
        inv.files.push(note);
    }
    finish(inv, name, files.len())
}

/// A snapshot must hold at least one object wi reads.
fn finish(inv: Inventory, dir: &str, nfiles: usize) -> Result<Inventory, InputError> {
    if inv.files.iter().all(|f| f.recognised.is_empty()) {
        let mut message = if nfiles == 0 {
            "the snapshot directory is empty".to_string()
        } else {
            format!("none of the {nfiles} file(s) holds a Kubernetes or Azure object wi reads")
        };
        for f in inv.files.iter().take(5) {
            message.push_str(&format!("\n  {}: {}", f.path, f.ignored.join("; ")));
        }
        return Err(InputError {
            path: dir.to_string(),
            line: None,
            message,
        });
    }
    Ok(inv)
}

fn display(root: &Path, f: &Path) -> String {
    let name = root.file_name().map(PathBuf::from).unwrap_or_default();
    match f.strip_prefix(root) {
        Ok(rel) => name.join(rel).display().to_string(),
        Err(_) => f.display().to_string(),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let err = |e: std::io::Error| InputError {
        path: dir.display().to_string(),
        line: None,
        message: format!("cannot list directory: {e}"),
    };
    for entry in fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path();
        let ft = entry.file_type().map_err(err)?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            out.push(path);
        }
        // Symlinked directories are not followed (no cycles); sockets etc. are skipped.
    }
    Ok(())
}

fn read_file(inv: &mut Inventory, path: &Path, shown: &str) -> Result<(), InputError> {
    let fail = |line: Option<u64>, message: String| InputError {
        path: shown.to_string(),
        line,
        message,
    };
    let mut note = FileNote {
        path: shown.to_string(),
        recognised: vec![],
        ignored: vec![],
    };
    let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_FILE_BYTES {
        note.ignored
            .push(format!("larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024));
        inv.files.push(note);
        return Ok(());
    }
    let bytes = fs::read(path).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    let Ok(text) = String::from_utf8(bytes) else {
        note.ignored.push("not UTF-8 text".into());
        inv.files.push(note);
        return Ok(());
    };
    read_text(inv, &mut note, &text)?;
    inv.files.push(note);
    Ok(())
}

fn read_text(inv: &mut Inventory, note: &mut FileNote, text: &str) -> Result<(), InputError> {
    let shown = note.path.clone();
    let shown = shown.as_str();
    let fail = |line: Option<u64>, message: String| InputError {
        path: shown.to_string(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    let mut outcomes = Vec::new();
    if trimmed.is_empty() {
        outcomes.push(Outcome::Ignored("empty file".into()));
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let v: Value =
            serde_json::from_str(text).map_err(|e| fail(Some(e.line() as u64), format!("malformed JSON: {e}")))?;
        classify::document(inv, v, shown, &mut outcomes).map_err(|m| fail(None, m))?;
    } else if token::looks_like_jwt(trimmed) {
        let t = token::decode(trimmed, shown).map_err(|m| fail(None, m))?;
        outcomes.push(Outcome::Recognised(format!(
            "service-account token (decoded; sub {})",
            t.claims.get("sub").and_then(Value::as_str).unwrap_or("?")
        )));
        inv.tokens.push(t);
    } else {
        match serde_saphyr::from_multiple::<Value>(text) {
            Ok(docs) => {
                for doc in docs {
                    classify::document(inv, doc, shown, &mut outcomes).map_err(|m| fail(None, m))?;
                }
            }
            // Malformed YAML is fatal when the file claims to be a Kubernetes manifest;
            // other text (notes, logs) that is not YAML is noted and skipped.
            Err(e) if claims_kubernetes(text) => {
                let msg = e.render_with_options(serde_saphyr::render_options! {
                    snippets: serde_saphyr::SnippetMode::Off,
                });
                return Err(fail(e.location().map(|l| l.line()), format!("malformed YAML: {msg}")));
            }
            Err(_) => outcomes.push(Outcome::Ignored("not JSON, YAML or a JWT".into())),
        }
    }
    for o in outcomes {
        match o {
            Outcome::Recognised(r) => note.recognised.push(r),
            Outcome::Ignored(r) => note.ignored.push(r),
        }
    }
    Ok(())
}

fn claims_kubernetes(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("apiVersion:") || l.starts_with("kind:") || l.starts_with("- apiVersion:"))
}
