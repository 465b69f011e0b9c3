//! Test support for everything that talks to AWS: a real local Lambda and STS API (moto
//! server on 127.0.0.1, port 0), one fresh account per test through sts:AssumeRole, the
//! environment that keeps the developer's own AWS files out of the way, and a loopback proxy
//! that records every call and can inject faults.
#![allow(dead_code)]

pub mod proxy;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub const REGION: &str = "eu-central-1";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The moto server this test binary shares; each test isolates itself by account.
pub struct Moto {
    pub endpoint: String,
    _child: Child,
}

// Kills moto when the test process is gone, since statics are never dropped.
const WATCHDOG: &str = r#"
import os, subprocess, sys, time
parent = os.getppid()
server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
try:
    while server.poll() is None and os.getppid() == parent:
        time.sleep(0.2)
finally:
    server.kill()
"#;

fn moto_python() -> PathBuf {
    if let Some(python) = std::env::var_os("MOTO_PYTHON") {
        return PathBuf::from(python);
    }
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists() && has_moto(&python),
        "moto is not installed in {}; run ./scripts/test.sh, which installs moto==5.2.1 there (or set MOTO_PYTHON)",
        python.display()
    );
    python
}

fn has_moto(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import moto.server, flask_cors"])
        .status()
        .is_ok_and(|s| s.success())
}

pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let mut child = Command::new(moto_python())
            .args(["-c", WATCHDOG])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto server");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("moto server exited before it printed its port")
                .unwrap();
            if let Some(rest) = line.split("Running on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
        // moto logs every request on stderr; keep draining it so it never blocks.
        std::thread::spawn(move || for _ in lines {});
        Moto {
            endpoint,
            _child: child,
        }
    })
}

/// A 12-digit account no other test in this process uses.
pub fn fresh_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:012}",
        200_000_000_000 + NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Environment for the tool: dummy keys (moto maps them to 123456789012), the emulator
/// endpoint, and the AWS config files pointed away from the developer's own.
pub fn aws_env(cmd: &mut Command, endpoint: &str) {
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "GITHUB_ACTIONS",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "SOURCE_DATE_EPOCH",
    ] {
        cmd.env_remove(var);
    }
    let nowhere = std::env::temp_dir().join("cargo-layer-tests-no-aws-config");
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret")
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", nowhere.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", nowhere.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CI", "true");
}

/// `cargo-layer` with the AWS test environment, as a plain process.
pub fn tool_process(endpoint: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("cargo-layer"));
    aws_env(&mut cmd, endpoint);
    cmd
}

/// `cargo-layer` with the AWS test environment.
pub fn tool(endpoint: &str) -> assert_cmd::Command {
    assert_cmd::Command::from_std(tool_process(endpoint))
}

pub fn role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/layer-publisher")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The shared target directory for building the examples in tests.
pub fn example_target_dir() -> PathBuf {
    repo_root().join("target").join("test-examples")
}

async fn base_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(cargo_layer::aws::http_client())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(&moto().endpoint)
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "dummy-secret",
            None,
            None,
            "tests",
        ))
        .load()
        .await
}

async fn assume(account: &str) -> aws_sdk_lambda::config::Credentials {
    let assumed = aws_sdk_sts::Client::new(&base_config().await)
        .assume_role()
        .role_arn(role(account))
        .role_session_name("tests")
        .send()
        .await
        .expect("sts:AssumeRole against moto");
    let c = assumed.credentials().unwrap();
    aws_sdk_lambda::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    )
}

/// Session credentials for `account`: (key id, secret, session token).
pub fn assumed_keys(account: &str) -> (String, String, String) {
    let c = runtime().block_on(assume(account));
    (
        c.access_key_id().to_string(),
        c.secret_access_key().to_string(),
        c.session_token().unwrap_or_default().to_string(),
    )
}

/// A Lambda client acting as `account`, straight against moto, for checking its state.
pub fn lambda_as(account: &str) -> Lambda {
    let rt = runtime();
    let client = rt.block_on(async {
        let credentials = assume(account).await;
        let config = base_config()
            .await
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .build();
        aws_sdk_lambda::Client::new(&config)
    });
    Lambda { rt, client }
}

/// Create `bucket` in `region` as `account` (path-style, as against any emulator), versioned or not.
pub fn create_bucket(account: &str, bucket: &str, region: &str, versioned: bool) {
    let rt = runtime();
    rt.block_on(async {
        let credentials = assume(account).await;
        let config = base_config()
            .await
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .region(aws_config::Region::new(region.to_string()))
                .force_path_style(true)
                .build(),
        );
        let mut create = s3.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.expect("s3:CreateBucket against moto");
        if versioned {
            s3.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("s3:PutBucketVersioning against moto");
        }
    });
}

/// Blocking helpers over the SDK for assertions.
pub struct Lambda {
    rt: tokio::runtime::Runtime,
    pub client: aws_sdk_lambda::Client,
}

impl Lambda {
    /// Version numbers of a layer, newest first.
    pub fn versions(&self, layer: &str) -> Vec<i64> {
        self.rt.block_on(async {
            match self
                .client
                .list_layer_versions()
                .layer_name(layer)
                .send()
                .await
            {
                Ok(out) => out.layer_versions().iter().map(|v| v.version()).collect(),
                Err(_) => Vec::new(),
            }
        })
    }

    pub fn code_sha256(&self, layer: &str, version: i64) -> String {
        self.rt.block_on(async {
            let out = self
                .client
                .get_layer_version()
                .layer_name(layer)
                .version_number(version)
                .send()
                .await
                .unwrap();
            out.content().unwrap().code_sha256().unwrap().to_string()
        })
    }

    /// Statement IDs on a version's policy (empty when it has none).
    pub fn statement_ids(&self, layer: &str, version: i64) -> Vec<String> {
        self.rt.block_on(async {
            let Ok(out) = self
                .client
                .get_layer_version_policy()
                .layer_name(layer)
                .version_number(version)
                .send()
                .await
            else {
                return Vec::new();
            };
            let policy =
                cargo_layer::aws::policy::Policy::parse(out.policy().unwrap(), None).unwrap();
            let mut sids: Vec<String> = policy.statements.into_iter().map(|s| s.sid).collect();
            sids.sort();
            sids
        })
    }

    /// Add a statement the way another tool would.
    pub fn add_foreign_statement(&self, layer: &str, version: i64, sid: &str, principal: &str) {
        self.rt.block_on(async {
            self.client
                .add_layer_version_permission()
                .layer_name(layer)
                .version_number(version)
                .statement_id(sid)
                .action("lambda:GetLayerVersion")
                .principal(principal)
                .send()
                .await
                .unwrap();
        });
    }

    /// Publish bytes the way another tool would: no cargo-layer marker, and the runtime the
    /// test crates declare.
    pub fn publish_foreign(&self, layer: &str, zip: Vec<u8>) -> i64 {
        self.publish_raw(
            layer,
            zip,
            "published by another tool",
            &["provided.al2023"],
        )
    }

    /// PublishLayerVersion with exactly this description and these runtimes.
    pub fn publish_raw(
        &self,
        layer: &str,
        zip: Vec<u8>,
        description: &str,
        runtimes: &[&str],
    ) -> i64 {
        self.rt.block_on(async {
            self.client
                .publish_layer_version()
                .layer_name(layer)
                .description(description)
                .set_compatible_runtimes(Some(
                    runtimes
                        .iter()
                        .map(|r| aws_sdk_lambda::types::Runtime::from(*r))
                        .collect(),
                ))
                .content(
                    aws_sdk_lambda::types::LayerVersionContentInput::builder()
                        .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .version()
        })
    }

    /// The compatible runtimes AWS holds for a version.
    pub fn runtimes(&self, layer: &str, version: i64) -> Vec<String> {
        self.rt.block_on(async {
            let out = self
                .client
                .get_layer_version()
                .layer_name(layer)
                .version_number(version)
                .send()
                .await
                .unwrap();
            out.compatible_runtimes()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        })
    }
}

/// A package whose layer is only files (no compilation), owned by `account`.
pub struct FilesCrate {
    pub dir: tempfile::TempDir,
    pub account: String,
    pub name: String,
}

impl FilesCrate {
    /// `stages` is TOML placed under `[package.metadata.layer.stages]`.
    pub fn new(account: &str, stages: &str) -> FilesCrate {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("files-{account}");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
description = "test layer"

[workspace]

[package.metadata.layer]
kind = "files"
include = [{{ from = "config/*", to = "config/" }}]
compatible-runtimes = ["provided.al2023"]
region = "{REGION}"
artifacts-account = "{account}"

[package.metadata.layer.stages]
{stages}
"#
            ),
        )
        .unwrap();
        let krate = FilesCrate {
            dir,
            account: account.to_string(),
            name,
        };
        krate.set_content("version one\n");
        krate
    }

    pub fn set_content(&self, text: &str) {
        std::fs::write(self.dir.path().join("config/settings.txt"), text).unwrap();
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.path().join("Cargo.toml")
    }

    pub fn layer_manifest(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("target/layer/{}.json", self.name))
    }

    pub fn zip(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("target/layer/{}.zip", self.name))
    }

    /// `cargo-layer package`: no AWS involved.
    pub fn package(&self) {
        let mut cmd = assert_cmd::Command::cargo_bin("cargo-layer").unwrap();
        cmd.args(["package", "-q", "--manifest-path"])
            .arg(self.manifest_path())
            .assert()
            .success();
    }

    /// `cargo-layer <args> --manifest-path ...` against `endpoint`, assuming the test account.
    pub fn run(&self, endpoint: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        self.command(endpoint, args).assert()
    }

    /// The command `run` runs, to add to its environment first.
    pub fn command(&self, endpoint: &str, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = tool(endpoint);
        cmd.args(args)
            .arg("--manifest-path")
            .arg(self.manifest_path())
            .arg("--assume-role")
            .arg(role(&self.account));
        cmd
    }

    /// Replace `from` with `to` in the crate's Cargo.toml.
    pub fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.manifest_path()).unwrap();
        assert!(text.contains(from), "Cargo.toml has no {from:?}: {text}");
        std::fs::write(self.manifest_path(), text.replace(from, to)).unwrap();
    }
}

/// The one JSON object on stdout.
pub fn json(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"))
}

pub fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).to_string()
}
