//! Shared test helpers: run the built `wi` binary; walk the scenario corpus.
#![allow(dead_code)]

pub mod fake_azure;
pub mod fake_entra;
pub mod fake_kube;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Keep a `wi` child off the network: the issuer is not fetched unless a test asks
/// (`--fetch-issuer`, `--probe`), and any HTTPS that slips through goes to a proxy address
/// that refuses connections, never to a real endpoint. Loopback fakes stay reachable.
pub fn sealed(cmd: &mut Command) -> &mut Command {
    cmd.env("WI_FETCH_ISSUER", "false");
    for k in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        cmd.env(k, "http://127.0.0.1:9");
    }
    for k in ["NO_PROXY", "no_proxy"] {
        cmd.env(k, "127.0.0.1,localhost");
    }
    cmd.env_remove("AZURE_AUTHORITY_HOST")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
}

pub fn wi(args: &[&str]) -> Output {
    sealed(&mut Command::new(env!("CARGO_BIN_EXE_wi")))
        .args(args)
        .env_remove("NO_COLOR")
        .env("COLUMNS", "120")
        .output()
        .expect("run wi")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub struct Scenario {
    pub name: String,
    pub dir: PathBuf,
    pub case: Value,
}

impl Scenario {
    pub fn snapshot(&self) -> PathBuf {
        self.dir.join("snapshot")
    }
    /// The case's command line as case.json states it.
    pub fn case_args(&self) -> Vec<String> {
        self.case["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|v| v.as_str().expect("arg").to_string())
            .collect()
    }
    /// The case's command line, with the snapshot directory appended.
    pub fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut a = self.case_args();
        a.push("--snapshot".into());
        a.push(self.snapshot().display().to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }
    pub fn run(&self, extra: &[&str]) -> Output {
        let args = self.args(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        wi(&refs)
    }
}

/// The generated scenarios and the copies of the shared samples.
pub fn scenarios() -> Vec<Scenario> {
    let dirs = [
        root().join("tests/corpus/scenarios"),
        root().join("tests/corpus/samples"),
    ];
    let mut out: Vec<Scenario> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).expect("corpus"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("case.json").exists())
        .map(|p| Scenario {
            name: p.file_name().expect("name").to_string_lossy().into_owned(),
            case: serde_json::from_str(&std::fs::read_to_string(p.join("case.json")).expect("case"))
                .expect("case json"),
            dir: p,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 40, "corpus too small: {}", out.len());
    out
}

/// Fail with every collected problem at once.
pub fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// One scenario by name.
pub fn scenario(name: &str) -> Scenario {
    scenarios()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

/// The healthy AKS baseline most tests start from.
pub fn healthy() -> Scenario {
    scenario("healthy-aks-keyvault-rbac")
}

/// Replace the machine-specific snapshot path in outputs so snapshots are portable.
pub fn portable(s: &str, snapshot: &Path) -> String {
    s.replace(&snapshot.display().to_string(), "<snapshot>")
}
