//! What the integration tests share: where things are, how to run the binary and read what it
//! printed, throwaway crates ([`fixtures`]), the moto server ([`moto`]) behind a layer that
//! answers as strictly as AWS ([`aws_like`]), the recording proxy that checks every AWS call
//! against `cargo layer iam-policy` ([`proxy`], [`iam`]), and the GitHub runner emulator
//! ([`runner`]).

pub mod aws_like;
pub mod fixtures;
pub mod functions;
pub mod iam;
pub mod moto;
pub mod proxy;
pub mod runner;
pub mod signing_jobs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

pub use fixtures::{
    FilesCrate, TempCrate, fixture_manifest, layer_config, layer_crate, load_error,
};

// ---- where things are ----

/// The cargo-layer repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `examples/<name>/Cargo.toml`.
pub fn example_manifest(name: &str) -> PathBuf {
    repo_root().join("examples").join(name).join("Cargo.toml")
}

/// The one CARGO_TARGET_DIR every example build shares, so each example compiles at most once
/// per `cargo test` (concurrent cargo runs lock it).
pub fn examples_target_dir() -> PathBuf {
    repo_root().join("target").join("test-examples")
}

/// A tool that `./scripts/test.sh` installs into `.venv/bin`.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = repo_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing; run ./scripts/test.sh, which installs moto, check-jsonschema, zizmor, shellcheck, cargo-zigbuild and zig into .venv (scripts/install-*.sh)",
        path.display()
    );
    path
}

/// `program` on PATH, if it is installed.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

// ---- digests, computed here rather than by the crate under test ----

/// base64 of the raw SHA-256: what Lambda reports as `CodeSha256`.
pub fn code_sha256(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// The SHA-256 in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    <sha2::Sha256 as sha2::Digest>::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- running the binary ----

/// `cargo-layer` as a plain process with a predictable environment: output for a pipe (no
/// GitHub Actions mode, no CI), no SOURCE_DATE_EPOCH, and the given target directory.
pub fn cargo_layer_process(target_dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-layer"));
    cmd.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CI")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("CARGO_TARGET_DIR", target_dir);
    cmd
}

/// The same, for assertions.
pub fn cargo_layer(target_dir: &Path) -> Command {
    Command::from_std(cargo_layer_process(target_dir))
}

/// Poll `ready` every 50 ms for at most 60 s; whether it came true.
pub fn wait_for(ready: impl Fn() -> bool) -> bool {
    (0..1200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        ready()
    })
}

/// Press Ctrl-C: SIGINT to `child`, as a terminal sends it.
pub fn ctrl_c(child: &std::process::Child) {
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

// ---- what a run printed ----

/// A finished run: a plain `Output`, or assert_cmd's `Assert`.
pub trait Ran {
    fn output(&self) -> &Output;
}

impl Ran for Output {
    fn output(&self) -> &Output {
        self
    }
}

impl Ran for assert_cmd::assert::Assert {
    fn output(&self) -> &Output {
        self.get_output()
    }
}

pub fn stdout(ran: &impl Ran) -> String {
    String::from_utf8(ran.output().stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(ran: &impl Ran) -> String {
    String::from_utf8_lossy(&ran.output().stderr).into_owned()
}

/// Assert success and return stdout.
pub fn success(ran: &impl Ran) -> String {
    let output = ran.output();
    assert!(
        output.status.success(),
        "cargo-layer failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        stderr(ran)
    );
    stdout(ran)
}

/// The stderr of a failed run: its last line must be the only `error: ` line.
pub fn error_line(ran: &impl Ran) -> String {
    let stderr = stderr(ran);
    let lines: Vec<&str> = stderr.lines().collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors.len(),
        1,
        "expected one `error: ` line, stderr:\n{stderr}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("error: ")),
        "the error must be the last stderr line, stderr:\n{stderr}"
    );
    errors[0].to_string()
}

/// The one JSON object on stdout.
pub fn json(ran: &impl Ran) -> Value {
    let stdout = String::from_utf8_lossy(&ran.output().stdout).to_string();
    let value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
    follows_the_schema(&value);
    value
}

/// One JSON object per stdout line, whether the run succeeded or not.
pub fn json_lines(ran: &impl Ran) -> Vec<Value> {
    String::from_utf8_lossy(&ran.output().stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .inspect(follows_the_schema)
        .collect()
}

/// Every result a test reads from cargo-layer must validate against the published schema
/// (docs/results.schema.json), so downstream tools can rely on it. Other JSON (the IAM policy
/// document) carries no `schema_version` and is not a result.
pub fn follows_the_schema(value: &Value) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    if value.get("schema_version").is_none() {
        return;
    }
    let validator = SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("docs/results.schema.json")).unwrap();
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
    });
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "a result does not follow docs/results.schema.json: {errors:?}\n{value}"
    );
}

/// The JSON lines of a run that must have succeeded.
pub fn reports(ran: &impl Ran) -> Vec<Value> {
    success(ran);
    json_lines(ran)
}

// ---- async helpers ----

/// Run a future to completion on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

pub type Reply = Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>>;

/// An HTTP/1 server on a fresh 127.0.0.1 port, on a thread of its own, answering each request
/// with `handle`. An error from `handle` closes the connection without a response.
pub fn serve<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handle = handle.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(handle);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
    });
    address
}

/// The versions a `status` result marks as holding the local zip.
pub fn marked_local(status: &Value) -> Vec<i64> {
    status["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["matches_local_zip"] == true)
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}
