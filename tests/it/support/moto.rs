//! A real local Lambda, S3 and STS API for the tests: moto server on 127.0.0.1 (port 0), one
//! server for the whole test binary, one fresh account per test through sts:AssumeRole, and the
//! environment that keeps the developer's own AWS files out of the way.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{aws_like, block_on, repo_root, serve};

pub const REGION: &str = "eu-central-1";

/// The moto server this test binary shares; each test isolates itself by account.
pub struct Moto {
    /// Where tests send AWS calls: moto behind the layer that answers like AWS
    /// ([`super::aws_like`]).
    pub endpoint: String,
    /// moto itself; only the AWS-like layers talk to it.
    pub upstream: String,
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
        let upstream = endpoint.trim_start_matches("http://").to_string();
        let like_aws = serve(move |req: hyper::Request<hyper::body::Incoming>| {
            let upstream = upstream.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = http_body_util::BodyExt::collect(body).await?.to_bytes();
                aws_like::answer(&upstream, parts, body).await
            }
        });
        Moto {
            endpoint: format!("http://{like_aws}"),
            upstream: endpoint,
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

/// What aws-actions/configure-aws-credentials would leave, aimed at `endpoint`: dummy keys
/// (moto maps them to 123456789012), the region, and the AWS config files pointed away from the
/// developer's own.
pub fn aws_vars(endpoint: &str) -> Vec<(&'static str, String)> {
    let nowhere = std::env::temp_dir().join("cargo-layer-tests-no-aws-config");
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "dummy-secret".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        (
            "AWS_CONFIG_FILE",
            nowhere.join("config").to_string_lossy().into(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            nowhere.join("credentials").to_string_lossy().into(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// Environment for the tool: [`aws_vars`], no other AWS or GitHub settings, and CI.
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
    cmd.envs(aws_vars(endpoint)).env("CI", "true");
}

/// `cargo-layer` with the AWS test environment, as a plain process.
pub fn tool_process(endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-layer"));
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

/// An S3 client acting as `account` in `region`, straight against moto (path-style, as against
/// any emulator).
async fn s3_as(account: &str, region: &str) -> aws_sdk_s3::Client {
    let config = config_as(account).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .region(aws_config::Region::new(region.to_string()))
            .force_path_style(true)
            .build(),
    )
}

/// The SDK configuration of `account`, straight against moto.
async fn config_as(account: &str) -> aws_config::SdkConfig {
    let credentials = assume(account).await;
    base_config()
        .await
        .into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .build()
}

/// Session credentials for `account`: (key id, secret, session token).
pub fn assumed_keys(account: &str) -> (String, String, String) {
    let c = block_on(assume(account));
    (
        c.access_key_id().to_string(),
        c.secret_access_key().to_string(),
        c.session_token().unwrap_or_default().to_string(),
    )
}

/// A Lambda client acting as `account`, straight against moto, for checking its state.
pub fn lambda_as(account: &str) -> Lambda {
    let rt = runtime();
    let client = rt.block_on(async { aws_sdk_lambda::Client::new(&config_as(account).await) });
    Lambda { rt, client }
}

/// Create `bucket` in `region` as `account` (path-style, as against any emulator), versioned or not.
pub fn create_bucket(account: &str, bucket: &str, region: &str, versioned: bool) {
    block_on(async {
        let s3 = s3_as(account, region).await;
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

/// SSM parameter `name` as `account` reads it in `region`: its value and version.
pub fn parameter(account: &str, region: &str, name: &str) -> Option<(String, i64)> {
    runtime().block_on(async {
        let config = config_as(account).await;
        let ssm = aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(&config)
                .region(aws_config::Region::new(region.to_string()))
                .build(),
        );
        let out = ssm.get_parameter().name(name).send().await.ok()?;
        let p = out.parameter()?;
        Some((p.value()?.to_string(), p.version()))
    })
}

/// Blocking helpers over the SDK for assertions.
pub struct Lambda {
    rt: tokio::runtime::Runtime,
    pub client: aws_sdk_lambda::Client,
}

impl Lambda {
    /// Version numbers of a layer, newest first, from every page.
    pub fn versions(&self, layer: &str) -> Vec<i64> {
        self.rt.block_on(async {
            let pages = self
                .client
                .list_layer_versions()
                .layer_name(layer)
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await;
            pages
                .into_iter()
                .map_while(Result::ok)
                .map(|v| v.version())
                .collect()
        })
    }

    pub fn code_sha256(&self, layer: &str, version: i64) -> String {
        let out = self.get(layer, version);
        out.content().unwrap().code_sha256().unwrap().to_string()
    }

    fn get(
        &self,
        layer: &str,
        version: i64,
    ) -> aws_sdk_lambda::operation::get_layer_version::GetLayerVersionOutput {
        self.rt.block_on(async {
            self.client
                .get_layer_version()
                .layer_name(layer)
                .version_number(version)
                .send()
                .await
                .unwrap()
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

    /// Remove a statement behind cargo-layer's back, the way a person at the console would.
    pub fn remove_statement(&self, layer: &str, version: i64, sid: &str) {
        self.rt.block_on(async {
            self.client
                .remove_layer_version_permission()
                .layer_name(layer)
                .version_number(version)
                .statement_id(sid)
                .send()
                .await
                .unwrap();
        });
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

    /// PublishLayerVersion from one S3 object version: the CodeSha256 Lambda reports, or the
    /// error code.
    pub fn publish_from_s3(
        &self,
        layer: &str,
        bucket: &str,
        key: &str,
        version: &str,
    ) -> Result<String, String> {
        self.rt.block_on(async {
            self.client
                .publish_layer_version()
                .layer_name(layer)
                .content(
                    aws_sdk_lambda::types::LayerVersionContentInput::builder()
                        .s3_bucket(bucket)
                        .s3_key(key)
                        .s3_object_version(version)
                        .build(),
                )
                .send()
                .await
                .map(|out| out.content().unwrap().code_sha256().unwrap().to_string())
                .map_err(|e| {
                    aws_sdk_lambda::error::ProvideErrorMetadata::code(&e)
                        .unwrap_or("Unknown")
                        .to_string()
                })
        })
    }

    /// The compatible runtimes AWS holds for a version.
    pub fn runtimes(&self, layer: &str, version: i64) -> Vec<String> {
        self.get(layer, version)
            .compatible_runtimes()
            .iter()
            .map(|r| r.as_str().to_string())
            .collect()
    }
}

/// An AWS Signer client acting as `account` in `region`, straight against moto.
fn signer_as(account: &str, region: &str) -> aws_sdk_signer::Client {
    block_on(async {
        let config = config_as(account).await;
        aws_sdk_signer::Client::from_conf(
            aws_sdk_signer::config::Builder::from(&config)
                .region(aws_config::Region::new(region.to_string()))
                .build(),
        )
    })
}

/// Create signing profile `name` for `platform` as `account` in REGION; its version ARN.
pub fn signing_profile(account: &str, name: &str, platform: &str) -> String {
    let signer = signer_as(account, REGION);
    block_on(async {
        signer
            .put_signing_profile()
            .profile_name(name)
            .platform_id(platform)
            .send()
            .await
            .expect("signer:PutSigningProfile against moto")
            .profile_version_arn()
            .unwrap()
            .to_string()
    })
}

/// CancelSigningProfile, as an administrator would revoke a profile for new signatures.
pub fn cancel_signing_profile(account: &str, name: &str) {
    let signer = signer_as(account, REGION);
    block_on(async {
        signer
            .cancel_signing_profile()
            .profile_name(name)
            .send()
            .await
            .expect("signer:CancelSigningProfile against moto");
    });
}

/// The object versions of `bucket` under `prefix`, as `account`.
pub fn object_versions(account: &str, bucket: &str, prefix: &str) -> Vec<String> {
    block_on(async {
        let s3 = s3_as(account, REGION).await;
        let out = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("s3:ListObjectVersions against moto");
        out.versions()
            .iter()
            .map(|v| {
                format!(
                    "{}@{}",
                    v.key().unwrap_or_default(),
                    v.version_id().unwrap_or_default()
                )
            })
            .collect()
    })
}

/// Delete one object version of `bucket` as `account` (what a lifecycle rule or a person does).
pub fn delete_object_version(account: &str, bucket: &str, key: &str, version: &str) {
    block_on(async {
        let s3 = s3_as(account, REGION).await;
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .expect("s3:DeleteObject against moto");
    });
}

/// PutObject as `account`: the new object version's id.
pub fn put_object(account: &str, bucket: &str, key: &str, body: Vec<u8>) -> String {
    block_on(async {
        let s3 = s3_as(account, REGION).await;
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .expect("s3:PutObject against moto")
            .version_id()
            .unwrap()
            .to_string()
    })
}
