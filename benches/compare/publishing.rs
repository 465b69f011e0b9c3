//! Everything that talks to the local Lambda and STS API (one moto server), through the
//! recording proxy of the test suite: API cost, end to end against the AWS CLI and cargo-lambda,
//! and fan-out behind a proxy that adds 80 ms to every call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::aws::{self, FilesCrate, proxy::Proxy};
use crate::measure::{self, Run};
use crate::tree;

/// Calls the proxy saw, by kind.
#[derive(Debug, Default, Clone)]
pub struct Calls {
    pub lambda_reads: usize,
    pub lambda_writes: usize,
    pub sts: usize,
    pub by_operation: BTreeMap<String, usize>,
}

impl Calls {
    fn of(proxy: &Proxy) -> Calls {
        let mut calls = Calls::default();
        for call in proxy.calls() {
            *calls
                .by_operation
                .entry(call.operation.clone())
                .or_default() += 1;
            if call.is_lambda_write() {
                calls.lambda_writes += 1;
            } else if call.is_lambda() {
                calls.lambda_reads += 1;
            } else {
                calls.sts += 1;
            }
        }
        calls
    }

    pub fn summary(&self) -> String {
        format!(
            "{} Lambda writes, {} Lambda reads, {} STS",
            self.lambda_writes, self.lambda_reads, self.sts
        )
    }

    pub fn operations(&self) -> String {
        self.by_operation
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const STAGES: &str = r#"dev = { accounts = ["222222222222"] }
test = { accounts = ["333333333333"] }
prod = { accounts = ["444444444444"] }"#;

pub struct ApiCost {
    pub first: Calls,
    pub rerun: Calls,
    pub versions: usize,
}

/// A first publish with 3 stages, and an unchanged re-publish of a layer with 300 versions.
pub fn api_cost() -> ApiCost {
    let moto = aws::moto();
    let proxy = Proxy::start();
    let first = FilesCrate::new(&aws::fresh_account(), STAGES);
    first.run(&proxy.endpoint, &["publish", "-q"]).success();
    let first_calls = Calls::of(&proxy);

    eprintln!("bench: publishing 299 earlier releases for the re-publish measure");
    let account = aws::fresh_account();
    let krate = FilesCrate::new(&account, STAGES);
    let lambda = aws::lambda_as(&account);
    let runtime = runtime();
    for i in 0..299 {
        let bytes = format!("an earlier release {i}").into_bytes();
        runtime.block_on(publish_release(&lambda.client, &krate.name, bytes));
    }
    krate.run(&moto.endpoint, &["publish", "-q"]).success();
    let versions = lambda.versions(&krate.name).len();
    proxy.clear();
    krate.run(&proxy.endpoint, &["publish", "-q"]).success();
    ApiCost {
        first: first_calls,
        rerun: Calls::of(&proxy),
        versions,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A version as an earlier cargo-layer release published it: its content hash in the marker.
async fn publish_release(client: &aws_sdk_lambda::Client, layer: &str, zip: Vec<u8>) {
    let code = cargo_layer::pack::archive::code_sha256(&zip);
    let marker = cargo_layer::aws::dedupe::marker(&code, "00000000");
    client
        .publish_layer_version()
        .layer_name(layer)
        .description(marker)
        .content(
            aws_sdk_lambda::types::LayerVersionContentInput::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// CodeSize of the newest version of `layer`.
fn code_size(account: &str, layer: &str) -> u64 {
    let lambda = aws::lambda_as(account);
    let Some(&newest) = lambda.versions(layer).first() else {
        return 0;
    };
    let out = runtime()
        .block_on(
            lambda
                .client
                .get_layer_version()
                .layer_name(layer)
                .version_number(newest)
                .send(),
        )
        .unwrap();
    out.content().map_or(0, |c| c.code_size() as u64)
}

/// Credentials of `account` (a session from sts:AssumeRole) and the endpoint, for any tool.
fn as_account(cmd: &mut Command, endpoint: &str, keys: &(String, String, String)) {
    aws::aws_env(cmd, endpoint);
    cmd.env("AWS_ACCESS_KEY_ID", &keys.0)
        .env("AWS_SECRET_ACCESS_KEY", &keys.1)
        .env("AWS_SESSION_TOKEN", &keys.2)
        .env("AWS_DEFAULT_REGION", aws::REGION)
        .env_remove("CARGO_TARGET_DIR");
}

pub struct Contender {
    pub name: &'static str,
    pub first: Result<Vec<Run>, String>,
    pub rerun: Result<Vec<Run>, String>,
    pub first_calls: Calls,
    pub rerun_calls: Calls,
    pub code_size: u64,
}

pub struct EndToEnd {
    pub unzipped_bytes: u64,
    pub contenders: Vec<Contender>,
}

/// The extension crate: binary `ext` (prebuilt, `--no-build`) plus assets, three stages.
fn extension_manifest(layer: &str, account: &str) -> String {
    format!(
        r#"[package]
name = "bench-ext"
version = "0.1.0"
edition = "2024"

[workspace]

[[bin]]
name = "ext"
path = "src/main.rs"

[package.metadata.layer]
name = "{layer}"
kind = "extension"
include = [{{ from = "assets", to = "" }}]
compatible-runtimes = ["provided.al2023"]
region = "{region}"
artifacts-account = "{account}"

[package.metadata.layer.stages]
{STAGES}
"#,
        region = aws::REGION
    )
}

/// The same layer (an extension binary and its assets, about 45 MB zipped) published with
/// cargo-layer, the AWS CLI and cargo-lambda, first runs and unchanged re-runs.
pub fn end_to_end(work: &Path, tool: &Path, runs: usize) -> EndToEnd {
    let dir = work.join("e2e");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    eprintln!("bench: generating the end-to-end layer");
    let payload = tree::executable(64 << 20, 500, &tree::RELEASE_BINARY);
    let elf = tree::elf(&dir.join("target/release"), "ext", &payload);
    let assets = tree::assets(&dir);
    let unzipped_bytes = std::fs::metadata(&elf).unwrap().len() + tree::total(&assets);
    let account = aws::fresh_account();
    let keys = aws::assumed_keys(&account);
    let proxy = Proxy::start();
    let ctx = Context {
        dir,
        elf,
        tool: tool.to_path_buf(),
        account,
        keys,
        proxy,
    };
    let contenders = vec![
        ctx.contender("cargo layer publish", "layer", runs, Context::cargo_layer),
        ctx.contender("AWS CLI: zip + 4 calls", "cli", runs, Context::aws_cli),
        ctx.contender(
            "cargo lambda deploy --extension",
            "lambda",
            runs,
            Context::cargo_lambda,
        ),
    ];
    EndToEnd {
        unzipped_bytes,
        contenders,
    }
}

struct Context {
    dir: PathBuf,
    elf: PathBuf,
    tool: PathBuf,
    account: String,
    keys: (String, String, String),
    proxy: Proxy,
}

/// One run of a contender on `layer`; `first` for a first run.
type Step = fn(&Context, &str, bool) -> Result<Run, String>;

impl Context {
    /// `runs` first runs (each on a new layer), then `runs` unchanged re-runs of the last one
    /// after touching every input.
    fn contender(&self, name: &'static str, id: &str, runs: usize, step: Step) -> Contender {
        eprintln!("bench: end to end, {name}");
        let mut contender = Contender {
            name,
            first: Ok(Vec::new()),
            rerun: Ok(Vec::new()),
            first_calls: Calls::default(),
            rerun_calls: Calls::default(),
            code_size: 0,
        };
        let layer = |i: usize| format!("e2e-{id}-{i}");
        for i in 0..runs {
            self.proxy.clear();
            match step(self, &layer(i), true) {
                Ok(run) => push(&mut contender.first, run),
                Err(e) => {
                    contender.first = Err(e.clone());
                    contender.rerun = Err(e);
                    return contender;
                }
            }
            contender.first_calls = Calls::of(&self.proxy);
        }
        contender.code_size = code_size(&self.account, &layer(runs - 1));
        for _ in 0..runs {
            measure::touch_all(&self.dir.join("assets"));
            measure::touch_all(&self.dir.join("target/release"));
            self.proxy.clear();
            match step(self, &layer(runs - 1), false) {
                Ok(run) => push(&mut contender.rerun, run),
                Err(e) => {
                    contender.rerun = Err(e);
                    return contender;
                }
            }
            contender.rerun_calls = Calls::of(&self.proxy);
        }
        contender
    }

    fn env(&self, cmd: &mut Command) {
        as_account(cmd, &self.proxy.endpoint, &self.keys);
    }

    /// Package, publish (or reuse) and grant the 3 stages; a first run starts without
    /// target/layer, as a fresh CI checkout does.
    fn cargo_layer(&self, layer: &str, first: bool) -> Result<Run, String> {
        std::fs::write(
            self.dir.join("Cargo.toml"),
            extension_manifest(layer, &self.account),
        )
        .unwrap();
        if first {
            let _ = std::fs::remove_dir_all(self.dir.join("target/layer"));
        }
        let mut cmd = Command::new(&self.tool);
        cmd.args(["publish", "--no-build", "-q", "--manifest-path"])
            .arg(self.dir.join("Cargo.toml"));
        self.env(&mut cmd);
        measure::try_run(&cmd).map(|(run, _)| run)
    }

    /// What a pipeline without cargo-layer runs: zip, publish-layer-version, one
    /// add-layer-version-permission per stage.
    fn aws_cli(&self, layer: &str, _first: bool) -> Result<Run, String> {
        let stage = self.dir.join("cli-stage");
        if !stage.exists() {
            std::fs::create_dir_all(stage.join("extensions")).unwrap();
            std::fs::hard_link(&self.elf, stage.join("extensions/ext")).unwrap();
            copy_tree(&self.dir.join("assets"), &stage.join("assets"));
        }
        let zip = self.dir.join("cli-layer.zip");
        let _ = std::fs::remove_file(&zip);
        let mut pack = Command::new("zip");
        pack.args(["-X", "-r", "-6", "-q"])
            .arg(&zip)
            .arg(".")
            .current_dir(&stage);
        let mut total = measure::try_run(&pack)?.0;
        let mut publish = self.aws_cli_command(&["publish-layer-version", "--layer-name", layer]);
        publish
            .arg("--zip-file")
            .arg(format!("fileb://{}", zip.display()))
            .args(["--compatible-runtimes", "provided.al2023"])
            .args(["--query", "Version", "--output", "text"]);
        let (run, version) = measure::try_run(&publish)?;
        add(&mut total, run);
        let version = version.trim();
        for (sid, principal) in [
            ("dev", "222222222222"),
            ("test", "333333333333"),
            ("prod", "444444444444"),
        ] {
            let grant = self.aws_cli_command(&[
                "add-layer-version-permission",
                "--layer-name",
                layer,
                "--version-number",
                version,
                "--statement-id",
                sid,
                "--action",
                "lambda:GetLayerVersion",
                "--principal",
                principal,
            ]);
            add(&mut total, measure::try_run(&grant)?.0);
        }
        Ok(total)
    }

    fn aws_cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(aws::repo_root().join(".venv/bin/aws"));
        cmd.arg("lambda")
            .args(args)
            .args(["--endpoint-url", &self.proxy.endpoint]);
        self.env(&mut cmd);
        cmd
    }

    /// `cargo lambda deploy --extension` with the prebuilt binary and the assets.
    fn cargo_lambda(&self, layer: &str, _first: bool) -> Result<Run, String> {
        let mut deploy = Command::new(aws::repo_root().join(".venv/bin/cargo-lambda"));
        deploy
            .args(["lambda", "deploy", "--extension", "--binary-path"])
            .arg(&self.elf)
            .args(["--include", "assets"])
            .args(["--compatible-runtimes", "provided.al2023"])
            .args(["--region", aws::REGION])
            .args(["--endpoint-url", &self.proxy.endpoint])
            .arg(layer)
            .current_dir(&self.dir);
        self.env(&mut deploy);
        measure::try_run(&deploy).map(|(run, _)| run)
    }
}

fn push(runs: &mut Result<Vec<Run>, String>, run: Run) {
    if let Ok(runs) = runs {
        runs.push(run);
    }
}

/// Steps of one pipeline: times add up, the peak is the highest.
fn add(total: &mut Run, run: Run) {
    total.seconds += run.seconds;
    total.cpu_seconds += run.cpu_seconds;
    total.peak_rss = total.peak_rss.max(run.peak_rss);
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::hard_link(entry.path(), &target).unwrap();
        }
    }
}

/// First publishes of a large and a small configuration, every call 80 ms late.
pub struct FanOut {
    pub small: Vec<Run>,
    pub big: Vec<Run>,
    pub small_calls: Calls,
    pub big_calls: Calls,
}

impl FanOut {
    pub fn calls(calls: &Calls) -> usize {
        calls.by_operation.values().sum()
    }
}

const REGIONS: [&str; 5] = [
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-west-2",
    "ap-southeast-2",
];

/// Every operation a first publish makes, with or without stage roles: the proxy holds each
/// call of these for 80 ms, and a run that makes any other call stops the benchmark.
const STALLED: [&str; 12] = [
    "ListLayerVersions",
    "PublishLayerVersion",
    "GetLayerVersion",
    "GetLayerVersionByArn",
    "DeleteLayerVersion",
    "GetLayerVersionPolicy",
    "AddLayerVersionPermission",
    "RemoveLayerVersionPermission",
    "GetCallerIdentity",
    "AssumeRole",
    "GetParameter",
    "PutParameter",
];

/// The stage role and parameter every stage account is reached through and handed.
const HANDOFF: &str = r#"stage-role = "arn:aws:iam::{account}:role/layer-consumer"
parameter = "/layers/{name}"
"#;

/// One configuration of a fan-out measure: regions, and each stage's accounts.
struct Shape<'a> {
    regions: &'a [&'a str],
    stages: Vec<(&'static str, Vec<String>)>,
    /// Verify and hand off in every stage account (`stage-role`, `parameter`).
    handoff: bool,
}

fn fanout_manifest(name: &str, account: &str, shape: &Shape) -> String {
    let regions: Vec<String> = shape.regions.iter().map(|r| format!("\"{r}\"")).collect();
    let mut text = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[workspace]

[package.metadata.layer]
kind = "files"
include = [{{ from = "config/*", to = "config/" }}]
regions = [{}]
artifacts-account = "{account}"
"#,
        regions.join(", ")
    );
    if shape.handoff {
        text.push_str(HANDOFF);
    }
    for (stage, accounts) in &shape.stages {
        let list: Vec<String> = accounts.iter().map(|a| format!("\"{a}\"")).collect();
        text.push_str(&format!(
            "\n[package.metadata.layer.stages.{stage}]\naccounts = [{}]\n",
            list.join(", ")
        ));
    }
    text
}

/// A proxy that holds every call of [`STALLED`] for 80 ms.
fn stalling_proxy() -> Proxy {
    let proxy = Proxy::start();
    for op in STALLED {
        proxy.stall(op, usize::MAX, Duration::from_millis(80));
    }
    proxy
}

/// A first publish of a new layer in a fresh artifacts account, shaped by `shape`.
fn first_publish(work: &Path, tool: &Path, proxy: &Proxy, shape: &Shape) -> (Run, Calls) {
    let account = aws::fresh_account();
    let keys = aws::assumed_keys(&account);
    let dir = work.join(format!("fanout-{account}"));
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(dir.join("config/settings.txt"), "fan-out\n").unwrap();
    let name = format!("fanout-{account}");
    std::fs::write(
        dir.join("Cargo.toml"),
        fanout_manifest(&name, &account, shape),
    )
    .unwrap();
    let mut cmd = Command::new(tool);
    cmd.args(["publish", "-q", "--manifest-path"])
        .arg(dir.join("Cargo.toml"));
    as_account(&mut cmd, &proxy.endpoint, &keys);
    proxy.clear();
    let run = measure::run(&cmd);
    let calls = Calls::of(proxy);
    let unstalled: Vec<&String> = calls
        .by_operation
        .keys()
        .filter(|op| !STALLED.contains(&op.as_str()))
        .collect();
    assert!(
        unstalled.is_empty(),
        "the run made calls the proxy did not hold: {unstalled:?}; add them to STALLED"
    );
    (run, calls)
}

/// `runs` times the small shape, then the big one; both made afresh for each run.
fn compare(
    work: &Path,
    tool: &Path,
    runs: usize,
    what: &str,
    proxy: &Proxy,
    shape: impl Fn(bool) -> Shape<'static>,
) -> FanOut {
    let mut result = FanOut {
        small: Vec::new(),
        big: Vec::new(),
        small_calls: Calls::default(),
        big_calls: Calls::default(),
    };
    // moto loads a service's code on its first call: an unmeasured run keeps that out.
    eprintln!("bench: {what} warm-up");
    first_publish(work, tool, proxy, &shape(false));
    for i in 0..runs {
        eprintln!("bench: {what} run {}/{runs}", i + 1);
        for big in [false, true] {
            let (run, calls) = first_publish(work, tool, proxy, &shape(big));
            if big {
                result.big.push(run);
                result.big_calls = calls;
            } else {
                result.small.push(run);
                result.small_calls = calls;
            }
        }
    }
    result
}

/// Accounts 300000000001 and up: grants only, no one looks from inside them.
fn numbered(from: u64, count: usize) -> Vec<String> {
    (0..count as u64)
        .map(|i| (300_000_000_001 + from + i).to_string())
        .collect()
}

/// 5 regions x 24 grants against 1 region x 4 grants, first publishes, every call 80 ms late.
pub fn fan_out(work: &Path, tool: &Path, runs: usize) -> FanOut {
    let proxy = stalling_proxy();
    compare(work, tool, runs, "fan-out", &proxy, |big| {
        if big {
            Shape {
                regions: &REGIONS,
                stages: vec![
                    ("dev", numbered(0, 8)),
                    ("test", numbered(8, 8)),
                    ("prod", numbered(16, 8)),
                ],
                handoff: false,
            }
        } else {
            Shape {
                regions: &REGIONS[..1],
                stages: vec![("dev", numbered(0, 2)), ("prod", numbered(2, 2))],
                handoff: false,
            }
        }
    })
}

/// Fresh stage accounts (so no run sees another's parameters), known to the proxy as the stage
/// role's: their calls are checked against `cargo layer iam-policy --stage-role`.
fn stage_accounts(proxy: &Proxy, count: usize) -> Vec<String> {
    let accounts: Vec<String> = (0..count).map(|_| aws::fresh_account()).collect();
    let names: Vec<&str> = accounts.iter().map(String::as_str).collect();
    proxy.stage_accounts(&names);
    accounts
}

/// 5 regions x 3 stages x 10 accounts against 1 region x 1 stage x 1 account, first publishes
/// with verify and hand-off in every stage account and region, every call 80 ms late.
pub fn stages(work: &Path, tool: &Path, runs: usize) -> FanOut {
    let proxy = stalling_proxy();
    compare(work, tool, runs, "stages", &proxy, |big| {
        if big {
            Shape {
                regions: &REGIONS,
                stages: vec![
                    ("dev", stage_accounts(&proxy, 10)),
                    ("test", stage_accounts(&proxy, 10)),
                    ("prod", stage_accounts(&proxy, 10)),
                ],
                handoff: true,
            }
        } else {
            Shape {
                regions: &REGIONS[..1],
                stages: vec![("prod", stage_accounts(&proxy, 1))],
                handoff: true,
            }
        }
    })
}
