//! Read a snapshot directory: every file below it, recursively, identified by content.
//!
//! JSON (`{`/`[`), a compact JWT, or YAML (one or many documents). Unrecognised files are
//! noted, not fatal; a file that is malformed as what it claims to be is an [`InputError`].
//!
//! Parsing is the expensive part of a large snapshot (10,000 pods), so files — and the
//! documents of a large multi-document YAML file — are parsed and classified on all cores,
//! each piece into its own [`Inventory`], merged back in file order: the result does not
//! depend on the thread count.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::classify::{self, Outcome};
use super::{FileNote, InputError, Inventory, token};

/// Files larger than this are skipped with a note: no kubectl or az output is this large.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Below this many bytes a YAML file is parsed as one piece.
const SPLIT_YAML_BYTES: usize = 1 << 20;

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
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for p in &paths {
        files.push(load(p, display(dir, p))?);
    }
    let mut inv = parse_all(files, &dir.display().to_string())?;
    inv.snapshot_dir = Some(dir.display().to_string());
    Ok(inv)
}

/// Read files held in memory (the embedded demo), as if they were a snapshot directory.
pub fn read_memory(name: &str, files: &[(&str, &str)]) -> Result<Inventory, InputError> {
    let files = files
        .iter()
        .map(|(p, t)| Loaded {
            shown: format!("{name}/{p}"),
            text: Ok(t.to_string()),
        })
        .collect();
    parse_all(files, name)
}

/// A file's text, or why it has none.
struct Loaded {
    shown: String,
    text: Result<String, String>,
}

fn load(path: &Path, shown: String) -> Result<Loaded, InputError> {
    let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_FILE_BYTES {
        return Ok(Loaded {
            shown,
            text: Err(format!("larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024)),
        });
    }
    let bytes = fs::read(path).map_err(|e| InputError {
        path: shown.clone(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string());
    Ok(Loaded { shown, text })
}

/// One piece of parsing work: a whole file, or a run of documents of a large YAML file.
struct Piece {
    file: usize,
    shown: String,
    text: String,
    /// Line number of the piece's first line in its file, minus one.
    line_offset: usize,
    yaml: bool,
    /// A run of `- ` items cut out of a large YAML `kind: List` (parse as a sequence).
    items: bool,
}

fn parse_all(files: Vec<Loaded>, dir: &str) -> Result<Inventory, InputError> {
    let nfiles = files.len();
    let mut notes: Vec<FileNote> = Vec::with_capacity(nfiles);
    let mut pieces = Vec::new();
    for (i, f) in files.into_iter().enumerate() {
        let mut note = FileNote {
            path: f.shown.clone(),
            recognised: vec![],
            ignored: vec![],
        };
        match f.text {
            Err(why) => note.ignored.push(why),
            Ok(text) => {
                let text = text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text);
                let trimmed = text.trim_start();
                let piece = |text: String, line_offset: usize, yaml: bool, items: bool| Piece {
                    file: i,
                    shown: f.shown.clone(),
                    text,
                    line_offset,
                    yaml,
                    items,
                };
                if trimmed.is_empty() {
                    note.ignored.push("empty file".into());
                } else if trimmed.starts_with('{') || trimmed.starts_with('[') || token::looks_like_jwt(trimmed) {
                    pieces.push(piece(text, 0, false, false));
                } else if let Some((head, runs)) = split_yaml_list(&text) {
                    pieces.push(piece(head, 0, true, false));
                    pieces.extend(runs.into_iter().map(|(t, off)| piece(t, off, true, true)));
                } else {
                    pieces.extend(split_yaml(&text).into_iter().map(|(t, off)| piece(t, off, true, false)));
                }
            }
        }
        notes.push(note);
    }
    let results = par_map(pieces, parse_piece);
    let mut inv = Inventory::default();
    for r in results {
        let (file, part, outcomes) = r?;
        inv.absorb(part);
        for o in outcomes {
            match o {
                Outcome::Recognised(r) => notes[file].recognised.push(r),
                Outcome::Ignored(r) => notes[file].ignored.push(r),
            }
        }
    }
    inv.files = notes;
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

type Parsed = Result<(usize, Inventory, Vec<Outcome>), InputError>;

fn parse_piece(p: Piece) -> Parsed {
    let fail = |line: Option<u64>, message: String| InputError {
        path: p.shown.clone(),
        line,
        message,
    };
    let mut inv = Inventory::default();
    let mut outcomes = Vec::new();
    let trimmed = p.text.trim_start();
    if !p.yaml
        && trimmed.starts_with('{')
        && p.text.len() > SPLIT_YAML_BYTES
        && let Some(r) = large_list(&p)
    {
        return r;
    }
    if !p.yaml && (trimmed.starts_with('{') || trimmed.starts_with('[')) {
        let v: Value =
            serde_json::from_str(&p.text).map_err(|e| fail(Some(e.line() as u64), format!("malformed JSON: {e}")))?;
        classify::document(&mut inv, v, &p.shown, &mut outcomes).map_err(|m| fail(None, m))?;
    } else if !p.yaml {
        let t = token::decode(trimmed, &p.shown).map_err(|m| fail(None, m))?;
        outcomes.push(Outcome::Recognised(format!(
            "service-account token (decoded; sub {})",
            t.claims.get("sub").and_then(Value::as_str).unwrap_or("?")
        )));
        inv.tokens.push(t);
    } else {
        let mut docs = Vec::new();
        let mut error = None;
        if p.items {
            match serde_yaml_ng::from_str::<Vec<Value>>(&p.text) {
                Ok(items) => docs.extend(items),
                Err(e) => error = Some(e),
            }
        } else {
            for d in serde_yaml_ng::Deserializer::from_str(&p.text) {
                match <Value as serde::Deserialize>::deserialize(d) {
                    Ok(v) => docs.push(v),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
        }
        match error {
            None => {
                for doc in docs {
                    classify::document(&mut inv, doc, &p.shown, &mut outcomes).map_err(|m| fail(None, m))?;
                }
            }
            // Malformed YAML is fatal when the file claims to be a Kubernetes manifest; other
            // text (notes, logs) that is not YAML is noted and skipped.
            Some(e) if p.items || claims_kubernetes(&p.text) => {
                let line = e.location().map(|l| (l.line() + p.line_offset) as u64);
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                return Err(fail(line, format!("malformed YAML: {msg}")));
            }
            Some(_) => outcomes.push(Outcome::Ignored("not JSON, YAML or a JWT".into())),
        }
    }
    Ok((p.file, inv, outcomes))
}

/// A large `kind: List` (`kubectl get pods -o json`): items are scanned without building a
/// tree, then deserialised on all cores — Pods straight into their type. `None` when the
/// text is not such a list (the general path handles it, and reports any syntax error).
fn large_list(p: &Piece) -> Option<Parsed> {
    #[derive(serde::Deserialize)]
    struct List<'a> {
        #[serde(rename = "apiVersion")]
        api_version: Option<String>,
        kind: Option<String>,
        #[serde(borrow)]
        items: Option<Vec<&'a serde_json::value::RawValue>>,
    }
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "apiVersion")]
        api_version: Option<String>,
        kind: Option<String>,
        metadata: Option<PeekMeta>,
    }
    #[derive(serde::Deserialize)]
    struct PeekMeta {
        name: Option<String>,
    }
    let list: List = serde_json::from_str(&p.text).ok()?;
    if list.api_version.is_none() || !list.kind.as_deref().is_some_and(|k| k.ends_with("List")) {
        return None;
    }
    let items = list.items.unwrap_or_default();
    let chunks: Vec<Vec<&serde_json::value::RawValue>> = items.chunks(256).map(|c| c.to_vec()).collect();
    let shown = p.shown.as_str();
    let parts = par_map(chunks, |chunk| -> Result<(Inventory, Vec<Outcome>), InputError> {
        let fail = |message: String| InputError {
            path: shown.to_string(),
            line: None,
            message,
        };
        let mut inv = Inventory::default();
        let mut outcomes = Vec::new();
        for raw in chunk {
            let peek: Peek = serde_json::from_str(raw.get()).map_err(|e| fail(format!("malformed List item: {e}")))?;
            if peek.api_version.as_deref() == Some("v1") && peek.kind.as_deref() == Some("Pod") {
                let pod = serde_json::from_str(raw.get()).map_err(|e| {
                    let name = peek.metadata.and_then(|m| m.name).unwrap_or_else(|| "<unnamed>".into());
                    fail(format!("Pod {name:?} is malformed: {e}"))
                })?;
                inv.pods.push(pod);
                outcomes.push(Outcome::Recognised("Pod".into()));
            } else {
                let v: Value =
                    serde_json::from_str(raw.get()).map_err(|e| fail(format!("malformed List item: {e}")))?;
                classify::document(&mut inv, v, shown, &mut outcomes).map_err(fail)?;
            }
        }
        Ok((inv, outcomes))
    });
    let mut inv = Inventory::default();
    let mut outcomes = Vec::new();
    for part in parts {
        match part {
            Ok((i, o)) => {
                inv.absorb(i);
                outcomes.extend(o);
            }
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok((p.file, inv, outcomes)))
}

/// A large single-document YAML `kind: List` as kubectl prints it (`items:` at column 0, each
/// item opening with `- ` at column 0): the document without its items (`items: []`), and
/// runs of items of about [`SPLIT_YAML_BYTES`], each with the line it starts at. `None` when
/// the text is small or not laid out that way (the general path then parses it whole).
fn split_yaml_list(text: &str) -> Option<(String, Vec<(String, usize)>)> {
    if text.len() < SPLIT_YAML_BYTES || text.lines().any(|l| l.trim_end() == "---" || l.starts_with("--- ")) {
        return None;
    }
    let mut head = String::new();
    let mut runs = Vec::new();
    let (mut run, mut run_line) = (String::new(), 0usize);
    let mut state = 0; // 0 before items, 1 in items, 2 after
    for (n, l) in text.split_inclusive('\n').enumerate() {
        match state {
            0 if l.trim_end() == "items:" => {
                head.push_str("items: []\n");
                state = 1;
            }
            0 => head.push_str(l),
            1 if l.starts_with("- ") || l.starts_with(' ') || l.trim().is_empty() || l.starts_with('#') => {
                if l.starts_with("- ") && run.len() >= SPLIT_YAML_BYTES {
                    runs.push((std::mem::take(&mut run), run_line));
                }
                if run.is_empty() {
                    run_line = n;
                }
                run.push_str(l);
            }
            1 => {
                state = 2;
                head.push_str(l);
            }
            _ => head.push_str(l),
        }
    }
    if !run.is_empty() {
        runs.push((run, run_line));
    }
    (state > 0 && runs.len() > 1).then_some((head, runs))
}

/// Split a large multi-document YAML text at its `---` document markers (a marker at column 0
/// cannot occur inside a document), into runs of documents of about [`SPLIT_YAML_BYTES`].
fn split_yaml(text: &str) -> Vec<(String, usize)> {
    if text.len() < SPLIT_YAML_BYTES {
        return vec![(text.to_string(), 0)];
    }
    let mut out = Vec::new();
    let (mut start, mut start_line, mut line) = (0usize, 0usize, 0usize);
    let mut pos = 0usize;
    for l in text.split_inclusive('\n') {
        let is_marker = l.trim_end() == "---" || l.starts_with("--- ");
        if is_marker && pos - start >= SPLIT_YAML_BYTES {
            out.push((text[start..pos].to_string(), start_line));
            start = pos;
            start_line = line;
        }
        pos += l.len();
        line += 1;
    }
    out.push((text[start..].to_string(), start_line));
    out
}

/// Map in parallel on scoped threads, keeping the input order.
pub(crate) fn par_map<T: Send, R: Send, F: Fn(T) -> R + Sync>(items: Vec<T>, f: F) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().max(1));
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    // Deal items round-robin so large and small files spread over the threads.
    let mut buckets: Vec<Vec<(usize, T)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, it) in items.into_iter().enumerate() {
        buckets[i % threads].push((i, it));
    }
    let f = &f;
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = buckets
            .into_iter()
            .map(|b| s.spawn(move || b.into_iter().map(|(i, it)| (i, f(it))).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
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

fn claims_kubernetes(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("apiVersion:") || l.starts_with("kind:") || l.starts_with("- apiVersion:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each piece starts at the line of the whole text its offset names.
    fn assert_offsets(text: &str, pieces: &[(String, usize)]) {
        for (piece, off) in pieces {
            assert_eq!(
                text.lines().nth(*off).unwrap_or_default(),
                piece.lines().next().unwrap_or_default()
            );
        }
    }

    #[test]
    fn split_keeps_every_byte_and_counts_lines() {
        let doc = "kind: Pod\nmetadata:\n  name: x\n";
        let mut text = String::new();
        for _ in 0..100_000 {
            text.push_str(doc);
            text.push_str("---\n");
        }
        let parts = split_yaml(&text);
        assert!(parts.len() > 1);
        assert_eq!(parts.iter().map(|(t, _)| t.as_str()).collect::<String>(), text);
        assert_offsets(&text, &parts);
    }

    #[test]
    fn a_large_yaml_list_splits_at_items_and_parses_the_same() {
        let item = "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n    annotations:\n      note: |\n        - not an item\n        items:\n";
        let mut text = String::from("apiVersion: v1\nitems:\n");
        for _ in 0..40_000 {
            text.push_str(item);
        }
        text.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
        let (head, runs) = split_yaml_list(&text).expect("splits");
        assert!(runs.len() > 1);
        assert_eq!(
            head,
            "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
        );
        let n: usize = runs
            .iter()
            .map(|(r, _)| serde_yaml_ng::from_str::<Vec<Value>>(r).expect("run").len())
            .sum();
        assert_eq!(n, 40_000);
        assert_offsets(&text, &runs);
    }

    #[test]
    fn par_map_keeps_order() {
        let v: Vec<usize> = (0..1000).collect();
        assert_eq!(
            par_map(v.clone(), |x| x * 2),
            v.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
    }
}
