//! The `wi` command line. Maps every outcome to an exit code; nothing else exits.
//!
//! Exit codes: 0 no link failed · 1 a link failed (or a warning with `--fail-on warn`) ·
//! 2 usage error or unreadable input · 3 target not found · 4 incomplete: nothing failed but
//! something could not be checked.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use jiff::Timestamp;

use wi::facts::TargetRef;
use wi::facts::resolve::Request;
use wi::render::{self, Style};
use wi::report::{Input, Report, Status};
use wi::rules::{self, REGISTRY};
use wi::{collect, demo, doctor};

/// Loading a big snapshot is allocation-bound (tens of thousands of small strings and maps,
/// built on several threads).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "wi",
    version,
    about = "Diagnose Azure Workload Identity on Kubernetes: which link of the chain is broken, and the command that fixes it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FailOn {
    /// Exit 1 only when a link fails (default).
    Fail,
    /// Exit 1 also when a check warns.
    Warn,
}

#[derive(clap::Args)]
struct RenderArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    output: Output,
    /// When to use colour (also off with NO_COLOR, or when stdout is not a terminal).
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Exit 1 on warnings too (CI gates).
    #[arg(long = "fail-on", value_enum, default_value = "fail")]
    fail_on: FailOn,
    /// Also list passing checks, and (on stderr) what each input file held.
    #[arg(short, long)]
    verbose: bool,
}

/// How to reach the cluster, as kubectl does.
#[derive(clap::Args, Clone)]
struct KubeArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG, ~/.kube/config, else in-cluster).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    context: Option<String>,
    /// The kubeconfig cluster to use — or, when it starts with /subscriptions/, the ARM id of
    /// the AKS or Arc cluster (default: found through the nodes' resource group).
    #[arg(long)]
    cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long)]
    user: Option<String>,
    /// Impersonate this user.
    #[arg(long = "as", value_name = "USER")]
    as_user: Option<String>,
    /// Impersonate this group (repeatable).
    #[arg(long = "as-group", value_name = "GROUP")]
    as_group: Vec<String>,
    /// Give up on a single request after this long (e.g. 10s, 1m; 0 waits forever).
    #[arg(long = "request-timeout", value_name = "DURATION", default_value = "30s")]
    request_timeout: String,
    /// Do not request a token for the pod's ServiceAccount (TokenRequest API).
    #[arg(long = "no-token-request")]
    no_token_request: bool,
    /// Azure cloud: AzureCloud (default), AzureUSGovernment or AzureChinaCloud (WI_ARM_ENDPOINT,
    /// WI_GRAPH_ENDPOINT and AZURE_AUTHORITY_HOST override its endpoints).
    #[arg(long, value_name = "CLOUD")]
    cloud: Option<String>,
    /// Azure subscription (default: AZURE_SUBSCRIPTION_ID, else the cluster's, the scope's or
    /// the nodes' subscription).
    #[arg(long)]
    subscription: Option<String>,
    /// AKS cluster name (with -g).
    #[arg(long = "cluster-name", requires = "resource_group")]
    cluster_name: Option<String>,
    /// Resource group of --cluster-name.
    #[arg(short = 'g', long = "resource-group")]
    resource_group: Option<String>,
    /// Do not read Azure (the Azure links then report unknown).
    #[arg(long = "no-azure")]
    no_azure: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Check one workload's chain: pod label → webhook → ServiceAccount → token → federated
    /// credential → role assignment.
    Doctor {
        /// pod/NAME, deploy/NAME, sts/NAME, ds/NAME, job/NAME, cronjob/NAME, rs/NAME, sa/NAME or a bare pod NAME.
        target: String,
        /// Namespace of the target (default: the kubeconfig context's, else "default").
        #[arg(short, long)]
        namespace: Option<String>,
        /// Read the facts from a snapshot directory (kubectl/az output, token, discovery, JWKS)
        /// instead of the cluster.
        #[arg(long, value_name = "DIR")]
        snapshot: Option<PathBuf>,
        #[command(flatten)]
        kube: KubeArgs,
        /// Evaluate as of this RFC 3339 time (default: the snapshot's collection time, else now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// ARM id of a resource the workload must reach (repeatable).
        #[arg(long, value_name = "ARM_ID")]
        scope: Vec<String>,
        /// The data action the workload needs at every --scope (default: by resource type).
        #[arg(long, value_name = "ACTION")]
        data_action: Option<String>,
        /// Fetch the issuer's discovery document and JWKS from outside, as Entra does
        /// (default: true when live; for --snapshot, the view `wi collect` recorded is judged
        /// unless this is given; --probe always fetches).
        #[arg(long = "fetch-issuer", env = "WI_FETCH_ISSUER", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
        fetch_issuer: Option<bool>,
        /// Prove the chain: exchange the pod's projected token for an Azure token at Entra, as
        /// the Azure SDKs do (the access token is never shown). Also fetches the issuer.
        #[arg(long)]
        probe: bool,
        /// The scope of the --probe exchange (default: <ARM endpoint>/.default).
        #[arg(long = "probe-scope", value_name = "SCOPE", requires = "probe")]
        probe_scope: Option<String>,
        /// With --probe: one read-only call to each Key Vault or Storage --scope's data plane
        /// (see `wi explain WI407` for the exact request).
        #[arg(long = "probe-data-plane", requires = "probe")]
        probe_data_plane: bool,
        /// Scan the target pod's recent container logs for known errors and attach the matches
        /// to the links they implicate (live only).
        #[arg(long)]
        logs: bool,
        #[command(flatten)]
        render: RenderArgs,
    },
    /// Write a snapshot of the target's facts (kubectl-style YAML, decoded token claims,
    /// discovery, JWKS and a manifest) that `wi doctor --snapshot` reads.
    Collect {
        /// pod/NAME, deploy/NAME, … as for doctor.
        target: String,
        /// Namespace of the target (default: the kubeconfig context's).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Directory to write (created; wi's files in it are replaced).
        #[arg(long = "output-dir", value_name = "DIR")]
        output_dir: PathBuf,
        /// Replace names, namespaces, GUIDs and issuer paths with consistent pseudonyms
        /// (for public tickets).
        #[arg(long)]
        redact: bool,
        /// ARM id of a resource the workload must reach (repeatable): its Key Vault or
        /// storage account is collected too.
        #[arg(long, value_name = "ARM_ID")]
        scope: Vec<String>,
        /// Also record the issuer as fetched from outside (discovery, JWKS, what failed), so
        /// the snapshot re-diagnoses WI210 offline (default: true).
        #[arg(long = "fetch-issuer", env = "WI_FETCH_ISSUER", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
        fetch_issuer: Option<bool>,
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// Diagnose a realistic broken workload embedded in wi (nothing to install or log in to).
    Demo {
        #[command(flatten)]
        render: RenderArgs,
    },
    /// List the rule catalog.
    Rules {
        #[arg(long, value_enum, default_value = "table")]
        format: RulesFormat,
    },
    /// Explain a rule (WI303), or an error message you have (AADSTS…, 403s, SDK errors): the
    /// link it implicates, the likely causes and how to confirm each.
    Explain {
        /// A rule id, the error text, or - to read the text from stdin.
        what: Option<String>,
        /// Read the pod's recent container logs instead (pod/NAME or NAME).
        #[arg(long, value_name = "POD")]
        logs: Option<String>,
        /// Namespace of --logs (default: the kubeconfig context's).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Output,
        #[command(flatten)]
        kube: KubeArgs,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum RulesFormat {
    Table,
    Markdown,
    Json,
}

/// A fatal error: `wi: error: …` plus causes, and an exit code.
struct Fatal {
    code: u8,
    message: String,
}

impl Fatal {
    fn usage(m: impl Into<String>) -> Self {
        Fatal {
            code: 2,
            message: m.into(),
        }
    }
}

fn main() -> ExitCode {
    collect::tls_provider();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            let mut lines = f.message.lines();
            eprintln!("wi: error: {}", lines.next().unwrap_or(""));
            for l in lines {
                eprintln!("{l}");
            }
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Fatal> {
    match cli.command {
        Command::Doctor {
            target,
            namespace,
            snapshot,
            kube,
            at,
            scope,
            data_action,
            fetch_issuer,
            probe,
            probe_scope,
            probe_data_plane,
            logs,
            render,
        } => {
            let (kind, name) = wi::target::parse(&target).map_err(Fatal::usage)?;
            if let Some(p) = &probe_scope
                && !(p.ends_with("/.default") && p.contains("://") && !p.contains(char::is_whitespace))
            {
                return Err(Fatal::usage(format!(
                    "--probe-scope {p:?} is not a resource scope (e.g. https://vault.azure.net/.default)"
                )));
            }
            if probe_data_plane && scope.is_empty() {
                return Err(Fatal::usage(
                    "--probe-data-plane needs a --scope naming a Key Vault or Storage account",
                ));
            }
            if logs && snapshot.is_some() {
                return Err(Fatal::usage(
                    "--logs reads the pod's logs from the cluster; it cannot be combined with --snapshot (use `wi explain -` on saved logs)",
                ));
            }
            wi::collect::azure_live::endpoints(kube.cloud()).map_err(Fatal::usage)?;
            if let Some(ns) = &namespace {
                validate_namespace(ns)?;
            }
            let at = match at {
                Some(s) => Some(s.parse::<Timestamp>().map_err(|e| {
                    Fatal::usage(format!(
                        "--at {s:?} is not an RFC 3339 time (e.g. 2025-07-04T17:33:43Z): {e}"
                    ))
                })?),
                None => None,
            };
            for s in &scope {
                validate_scope(s)?;
            }
            if let Some(a) = &data_action
                && (a.split('/').count() < 3 || a.contains(char::is_whitespace))
            {
                return Err(Fatal::usage(format!(
                    "--data-action {a:?} is not an Azure action (e.g. Microsoft.KeyVault/vaults/secrets/getSecret/action)"
                )));
            }
            let is_live = snapshot.is_none();
            let opts = collect::prove::Options {
                fetch_issuer: probe || fetch_issuer.unwrap_or(is_live),
                probe,
                probe_scope,
                data_plane: probe_data_plane,
                cloud: kube.cloud().to_string(),
                cloud_explicit: kube.cloud.is_some(),
                timeout: kube.connect()?.1.unwrap_or(std::time::Duration::from_secs(30)),
            };
            let (mut inv, namespace, input) = match snapshot {
                None => {
                    let (inv, namespace) = live(
                        &kube,
                        kind,
                        name.clone(),
                        namespace,
                        &scope,
                        Also {
                            logs,
                            fetch_issuer: probe || fetch_issuer.unwrap_or(true),
                            prove: Some(&opts),
                        },
                        render.verbose,
                    )?;
                    (
                        inv,
                        namespace,
                        Input {
                            kind: "live".into(),
                            path: kube.context.clone(),
                        },
                    )
                }
                Some(dir) => {
                    let inv = collect::snapshot::read_dir(&dir).map_err(|e| Fatal {
                        code: 2,
                        message: e.to_string(),
                    })?;
                    if render.verbose {
                        print_files(&inv);
                    }
                    let input = Input {
                        kind: "snapshot".into(),
                        path: Some(dir.display().to_string()),
                    };
                    (inv, namespace.unwrap_or_else(|| "default".into()), input)
                }
            };
            let req = Request {
                target: TargetRef { kind, namespace, name },
                at,
                now: now(),
                scopes: scope,
                data_action,
            };
            if opts.fetch_issuer || opts.probe {
                runtime()?
                    .block_on(collect::prove::prove(&mut inv, &req, &opts))
                    .map_err(Fatal::usage)?;
            }
            let code = diagnose(&inv, &req, input, &render);
            std::mem::forget(inv); // see diagnose()
            code
        }
        Command::Collect {
            target,
            namespace,
            output_dir,
            redact,
            scope,
            fetch_issuer,
            kube,
        } => {
            let (kind, name) = wi::target::parse(&target).map_err(Fatal::usage)?;
            if let Some(ns) = &namespace {
                validate_namespace(ns)?;
            }
            for s in &scope {
                validate_scope(s)?;
            }
            let (inv, namespace) = live(
                &kube,
                kind,
                name.clone(),
                namespace,
                &scope,
                Also {
                    logs: false,
                    fetch_issuer: fetch_issuer.unwrap_or(true),
                    prove: None,
                },
                true,
            )?;
            let t = TargetRef { kind, namespace, name };
            // The target must exist (or be unreadable, which the manifest records).
            let probe = Request {
                target: t.clone(),
                at: None,
                now: now(),
                scopes: vec![],
                data_action: None,
            };
            doctor::facts(&inv, &probe).map_err(|e| Fatal { code: 3, message: e.0 })?;
            let (files, written) =
                collect::write::write(&output_dir, &inv, &t, redact).map_err(|m| Fatal { code: 2, message: m })?;
            let refused = inv.manifest.as_ref().map(|m| m.unreadable.len()).unwrap_or(0);
            let _ = writeln!(
                std::io::stderr(),
                "wrote {} file(s) to {} ({} read(s) refused, recorded in wi-snapshot.yaml); next: wi doctor {} -n {} --snapshot {}",
                files.len(),
                output_dir.display(),
                refused,
                written.display(),
                written.namespace,
                output_dir.display()
            );
            Ok(0)
        }
        Command::Demo { render } => {
            let inv = demo::inventory().map_err(|e| Fatal {
                code: 2,
                message: e.to_string(),
            })?;
            let (kind, name) = wi::target::parse(demo::TARGET).map_err(Fatal::usage)?;
            let req = Request {
                target: TargetRef {
                    kind,
                    namespace: demo::NAMESPACE.into(),
                    name,
                },
                at: demo::AT.parse().ok(),
                now: now(),
                scopes: vec![demo::SCOPE.into()],
                data_action: None,
            };
            if render.output == Output::Table {
                let _ = writeln!(
                    std::io::stderr(),
                    "wi demo: a deployment whose federated credential names the wrong namespace. The same as:\n  wi doctor {} -n {} --at {} --scope {} --snapshot <the embedded snapshot>\n",
                    demo::TARGET,
                    demo::NAMESPACE,
                    demo::AT,
                    demo::SCOPE
                );
            }
            diagnose(
                &inv,
                &req,
                Input {
                    kind: "demo".into(),
                    path: None,
                },
                &render,
            )
        }
        Command::Rules { format } => {
            let text = match format {
                RulesFormat::Table => rules_table(),
                RulesFormat::Markdown => wi::rules::catalog_markdown(),
                RulesFormat::Json => rules_json(),
            };
            write_out(&text)?;
            Ok(0)
        }
        Command::Explain {
            what,
            logs,
            namespace,
            output,
            kube,
        } => {
            let text = match (&what, &logs) {
                (Some(_), Some(_)) => return Err(Fatal::usage("pass either a text (or -) or --logs POD, not both")),
                (None, None) => {
                    return Err(Fatal::usage(
                        "wi explain needs a rule id, an error text, - (stdin) or --logs POD",
                    ));
                }
                (Some(w), None) => {
                    let id = w.trim();
                    let looks_like_rule = id.len() == 5
                        && id[..2].eq_ignore_ascii_case("WI")
                        && id[2..].chars().all(|c| c.is_ascii_digit());
                    if looks_like_rule {
                        let Some(r) = rules::find(id) else {
                            return Err(Fatal::usage(format!("no rule {id:?}; `wi rules` lists them")));
                        };
                        write_out(r.page)?;
                        return Ok(0);
                    }
                    if id == "-" {
                        let mut s = String::new();
                        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                            .map_err(|e| Fatal::usage(format!("cannot read stdin: {e}")))?;
                        s
                    } else {
                        w.clone()
                    }
                }
                (None, Some(pod)) => {
                    let (kind, name) = wi::target::parse(pod).map_err(Fatal::usage)?;
                    if kind != wi::facts::WorkloadKind::Pod {
                        return Err(Fatal::usage(format!("--logs takes a pod (pod/NAME), not {pod:?}")));
                    }
                    pod_logs(&kube, &name, namespace)?
                }
            };
            if text.trim().is_empty() {
                return Err(Fatal::usage("the text to explain is empty"));
            }
            let e = wi::explain::explain(&text);
            let out = match output {
                Output::Json => format!("{}\n", serde_json::to_string_pretty(&e).unwrap_or_default()),
                Output::Table => wi::explain::render(&e),
            };
            write_out(&out)?;
            Ok(0)
        }
    }
}

/// Parse kubectl's --request-timeout: `0` (none), or a number with ms, s, m or h.
fn request_timeout(s: &str) -> Result<Option<std::time::Duration>, Fatal> {
    let bad = || {
        Fatal::usage(format!(
            "--request-timeout {s:?} is not a duration (e.g. 10s, 1m, 500ms; 0 waits forever)"
        ))
    };
    let t = s.trim();
    if t == "0" {
        return Ok(None);
    }
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit() && c != '.').ok_or_else(bad)?);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(bad());
    }
    Ok(Some(std::time::Duration::from_secs_f64(secs)))
}

impl KubeArgs {
    /// `--cloud`, default AzureCloud.
    fn cloud(&self) -> &str {
        self.cloud.as_deref().unwrap_or("AzureCloud")
    }

    /// The kubectl-style connection, and the per-request timeout.
    fn connect(&self) -> Result<(collect::kube::Connect, Option<std::time::Duration>), Fatal> {
        let timeout = request_timeout(&self.request_timeout)?;
        let c = collect::kube::Connect {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            // A --cluster that is an ARM id names the Azure cluster, not a kubeconfig entry.
            cluster: self.cluster.clone().filter(|c| !c.starts_with("/subscriptions/")),
            user: self.user.clone(),
            as_user: self.as_user.clone(),
            as_groups: self.as_group.clone(),
            request_timeout: timeout,
        };
        Ok((c, timeout))
    }
}

/// The async runtime the live collectors run on (two workers: this machine kind has two cores).
fn runtime() -> Result<tokio::runtime::Runtime, Fatal> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Fatal {
            code: 2,
            message: format!("cannot start the async runtime: {e}"),
        })
}

/// The pod's recent logs, for `wi explain --logs`.
fn pod_logs(k: &KubeArgs, pod: &str, namespace: Option<String>) -> Result<String, Fatal> {
    let (connect, _) = k.connect()?;
    let rt = runtime()?;
    rt.block_on(async {
        let (client, default_ns) = collect::kube::connect(&connect)
            .await
            .map_err(|m| Fatal { code: 2, message: m })?;
        let ns = namespace.unwrap_or(default_ns);
        collect::kube::pod_logs(client, &ns, pod, 500)
            .await
            .map_err(|m| Fatal { code: 2, message: m })
    })
}

/// Collect the Azure half: the identity behind the client id the Kubernetes facts name.
async fn azure(
    k: &KubeArgs,
    inv: &mut collect::Inventory,
    facts: Option<&wi::facts::Facts>,
    scopes: &[String],
    timeout: Option<std::time::Duration>,
) -> Result<(), Fatal> {
    let opts = collect::azure_live::AzureOptions {
        cloud: k.cloud().to_string(),
        subscription: k
            .subscription
            .clone()
            .or_else(|| std::env::var("AZURE_SUBSCRIPTION_ID").ok().filter(|s| !s.is_empty())),
        cluster: k.cluster.clone().filter(|c| c.starts_with("/subscriptions/")),
        cluster_name: k.cluster_name.clone().zip(k.resource_group.clone()),
        timeout,
    };
    let az = collect::azure_live::Azure::new(&opts).map_err(Fatal::usage)?;
    let client_id = facts.and_then(|f| f.client_id.clone());
    // Key Vaults the pod's env names (no ARM id yet): found by name in the subscription.
    let vaults: Vec<String> = facts
        .iter()
        .flat_map(|f| f.scopes.iter())
        .filter(|s| s.scope.is_none() && s.resource_type.as_deref() == Some("Microsoft.KeyVault/vaults"))
        .map(|s| s.name.clone())
        .collect();
    collect::azure_live::collect(&az, inv, &opts, client_id.as_deref(), scopes, &vaults).await;
    Ok(())
}

/// What a live collection reads besides the facts themselves.
#[derive(Default)]
struct Also<'a> {
    /// The target pod's recent logs (`wi doctor --logs`).
    logs: bool,
    /// The issuer's discovery document and JWKS from outside.
    fetch_issuer: bool,
    /// `--probe`: made beside the Azure reads when the Kubernetes facts already name the
    /// tenant (else after them, when the identity's tenant is known).
    prove: Option<&'a collect::prove::Options>,
}

/// Collect the target's Kubernetes facts from the cluster (and, unless --no-azure, Azure's).
fn live(
    k: &KubeArgs,
    kind: wi::facts::WorkloadKind,
    name: String,
    namespace: Option<String>,
    scopes: &[String],
    also: Also,
    verbose: bool,
) -> Result<(collect::Inventory, String), Fatal> {
    let Also {
        logs,
        fetch_issuer,
        prove,
    } = also;
    let prove = prove.filter(|o| o.probe);
    let (connect, timeout) = k.connect()?;
    let rt = runtime()?;
    rt.block_on(async {
        let (client, default_ns) = collect::kube::connect(&connect)
            .await
            .map_err(|m| Fatal { code: 2, message: m })?;
        let namespace = namespace.unwrap_or(default_ns);
        let opts = collect::kube::Collect {
            target: TargetRef {
                kind,
                namespace: namespace.clone(),
                name,
            },
            token_request: !k.no_token_request,
        };
        let (mut inv, stats) = collect::kube::collect(client.clone(), &opts, timeout).await;
        // What the first pass tells: the pod whose logs to read, the issuer to fetch. Both
        // run beside the Azure collection, which waits on Entra and ARM anyway.
        // One pass over the Kubernetes facts serves all that follows: the client id and vaults
        // Azure is asked about, the pod whose logs to read, the issuer to fetch, the probe.
        let early = {
            let req = Request {
                target: opts.target.clone(),
                at: None,
                now: now(),
                scopes: scopes.to_vec(),
                data_action: None,
            };
            doctor::facts(&inv, &req).ok()
        };
        let log_pod = early
            .as_ref()
            .filter(|_| logs)
            .and_then(|f| f.pods.first().map(|p| p.name.clone()));
        let issuer = early
            .as_ref()
            .filter(|_| fetch_issuer)
            .and_then(|f| f.issuer_to_fetch());
        let early_probe = match (prove, &early) {
            (Some(o), Some(f)) if f.pod_tenant().is_some() => Some((o, collect::prove::raw_token(&inv, f))),
            _ => None,
        };
        let read_logs = async {
            match &log_pod {
                Some(p) => Some(collect::PodLogs {
                    pod: p.clone(),
                    text: collect::kube::pod_logs(client.clone(), &namespace, p, 500).await,
                }),
                None if logs => Some(collect::PodLogs {
                    pod: opts.target.display(),
                    text: Err("no running pod of the target to read logs from".into()),
                }),
                None => None,
            }
        };
        let fetch = async {
            match &issuer {
                Some(i) => Some(collect::issuer::fetch(i, timeout.unwrap_or(std::time::Duration::from_secs(30))).await),
                None => None,
            }
        };
        let exchange = async {
            match (&early_probe, &early) {
                (Some((o, raw)), Some(f)) => match collect::azure_live::endpoints(&o.cloud) {
                    Ok(ep) => Some(collect::prove::exchange(f, raw.as_ref(), scopes, o, &ep).await),
                    Err(_) => None, // validated before; the later pass reports it
                },
                _ => None,
            }
        };
        let mut az_inv = std::mem::take(&mut inv);
        let (got_logs, fetched, probed, (az, az_inv)) = futures::join!(read_logs, fetch, exchange, async {
            let r = if k.no_azure {
                Ok(())
            } else {
                azure(k, &mut az_inv, early.as_ref(), scopes, timeout).await
            };
            (r, az_inv)
        });
        inv = az_inv;
        inv.external_issuer = fetched;
        inv.probe = probed;
        az?;
        inv.logs.extend(got_logs);
        if verbose {
            let _ = writeln!(
                std::io::stderr(),
                "collected: {} requests in {} round trip(s)",
                stats.requests,
                stats.round_trips
            );
            if let Some(m) = &inv.manifest {
                for u in &m.unreadable {
                    let _ = writeln!(std::io::stderr(), "refused {}: {}", u.kind, u.reason);
                }
            }
        }
        Ok((inv, namespace))
    })
}

/// The clock, to the second (reports show it; nanoseconds are noise).
fn now() -> Timestamp {
    let t = Timestamp::now();
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

fn validate_namespace(ns: &str) -> Result<(), Fatal> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Fatal::usage(format!(
            "--namespace {ns:?} is not a valid namespace name (RFC 1123 label)"
        )))
    }
}

fn validate_scope(s: &str) -> Result<(), Fatal> {
    let parts: Vec<&str> = s.trim_end_matches('/').split('/').collect();
    let ok = s.starts_with('/')
        && parts.len() >= 3
        && (parts[1].eq_ignore_ascii_case("subscriptions") || parts[1].eq_ignore_ascii_case("providers"))
        && !s.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Fatal::usage(format!(
            "--scope {s:?} is not an ARM resource id (e.g. /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<kv>)"
        )))
    }
}

fn diagnose(inv: &collect::Inventory, req: &Request, input: Input, r: &RenderArgs) -> Result<u8, Fatal> {
    let facts = doctor::facts(inv, req).map_err(|e| Fatal { code: 3, message: e.0 })?;
    let report = doctor::report(&facts, input);
    // The process is about to exit: freeing tens of thousands of small allocations one by one
    // would cost more than the rules took (measured: ~0.3 s for 10,000 pods).
    std::mem::forget(facts);
    let color = match r.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal(),
    };
    let text = match r.output {
        Output::Json => render::json::render(&report),
        Output::Table => {
            let width = if std::io::stdout().is_terminal() {
                terminal_width()
            } else {
                None
            };
            render::table::render(
                &report,
                &Style {
                    color,
                    width,
                    verbose: r.verbose,
                },
            )
        }
    };
    write_out(&text)?;
    Ok(exit_code(&report, r.fail_on))
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).or(Some(120))
}

fn exit_code(r: &Report, fail_on: FailOn) -> u8 {
    match r.verdict {
        Status::Fail => 1,
        Status::Unknown => 4,
        Status::Warn if fail_on == FailOn::Warn => 1,
        _ => 0,
    }
}

/// Write to stdout; a closed pipe (`wi … | head`) is not an error.
fn write_out(text: &str) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fatal {
            code: 2,
            message: format!("cannot write the report: {e}"),
        }),
    }
}

fn print_files(inv: &collect::Inventory) {
    let mut err = std::io::stderr().lock();
    for f in &inv.files {
        for r in &f.recognised {
            let _ = writeln!(err, "read    {}: {r}", f.path);
        }
        for r in &f.ignored {
            let _ = writeln!(err, "ignored {}: {r}", f.path);
        }
    }
}

fn rules_table() -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    t.force_no_tty();
    t.set_header(vec!["RULE", "LINK", "SEVERITY", "TITLE"]);
    for r in REGISTRY {
        t.add_row(vec![
            r.id.to_string(),
            r.link.as_str().to_string(),
            format!("{:?}", r.severity).to_lowercase(),
            r.title.to_string(),
        ]);
    }
    format!("{t}\n")
}

fn rules_json() -> String {
    let v: Vec<serde_json::Value> = REGISTRY
        .iter()
        .map(|r| {
            serde_json::json!({"rule": r.id, "link": r.link, "severity": r.severity, "slug": r.slug, "title": r.title})
        })
        .collect();
    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
}
