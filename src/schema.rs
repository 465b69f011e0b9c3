//! The result of publish and promote: printed with `--message-format json`, written to
//! `target/layer/<name>.json`, and read back by `promote --manifest` as the immutability guard.
//! `schema_version` changes only when a field changes meaning or goes away.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::aws::dedupe::Search;
use crate::aws::grant::GrantResult;
use crate::aws::layers::Version;
use crate::error::{Error, Kind, Result};
use crate::project::config::LayerConfig;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    /// `ok`, `reused`, `failed` or `skipped`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Step {
    pub fn new(step: &str, status: &str, detail: Option<String>) -> Self {
        Step {
            step: step.into(),
            status: status.into(),
            detail,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// `publish` or `promote`.
    pub r#type: String,
    pub tool: String,
    pub name: String,
    pub region: String,
    pub account: String,
    pub layer_arn: String,
    pub layer_version_arn: String,
    pub version: i64,
    pub code_sha256: String,
    pub zip_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unzipped_size: Option<u64>,
    /// True when this run created the version.
    pub published: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<Search>,
    #[serde(default)]
    pub compatible_runtimes: Vec<String>,
    #[serde(default)]
    pub compatible_architectures: Vec<String>,
    /// The LicenseInfo the version holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Region -> LayerVersionArn for every region of this layer the run handled successfully.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layer_version_arns: BTreeMap<String, String>,
    pub grants: Vec<GrantResult>,
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

impl Manifest {
    /// What every result about one version holds, as AWS reports it; callers fill in the rest.
    pub fn for_version(
        kind: &str,
        name: &str,
        region: &str,
        account: String,
        version: &Version,
    ) -> Manifest {
        Manifest {
            schema_version: SCHEMA_VERSION,
            r#type: kind.into(),
            tool: tool(),
            name: name.into(),
            region: region.into(),
            account,
            layer_arn: version.layer_arn.clone(),
            layer_version_arn: version.arn.clone(),
            version: version.number,
            code_sha256: version.code_sha256.clone().unwrap_or_default(),
            zip_size: version.code_size.unwrap_or_default(),
            sha256: None,
            unzipped_size: None,
            published: false,
            dedupe: None,
            compatible_runtimes: version.runtimes.clone(),
            compatible_architectures: version.architectures.clone(),
            license: version.license.clone(),
            layer_version_arns: BTreeMap::from([(region.to_string(), version.arn.clone())]),
            grants: Vec::new(),
            steps: Vec::new(),
            notes: Vec::new(),
            git_commit: None,
        }
    }
}

/// What `--dry-run` prints for publish, promote and revoke: what the command would do, with no
/// write made. One shape for all three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub schema_version: u32,
    /// Always `plan`.
    pub r#type: String,
    /// `publish`, `promote` or `revoke`.
    pub command: String,
    pub name: String,
    pub region: String,
    pub account: String,
    /// `publish` (a new version), `reuse`, `grant` or `revoke`.
    pub action: String,
    /// The version acted on; none when a new one would be published.
    pub version: Option<i64>,
    pub layer_version_arn: Option<String>,
    pub code_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<Search>,
    /// With status `would-add`, `present` or `would-remove`.
    pub grants: Vec<GrantResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    pub fn new(command: &str, action: &str, name: &str, region: &str, account: &str) -> Plan {
        Plan {
            schema_version: SCHEMA_VERSION,
            r#type: "plan".into(),
            command: command.into(),
            name: name.into(),
            region: region.into(),
            account: account.into(),
            action: action.into(),
            version: None,
            layer_version_arn: None,
            code_sha256: None,
            dedupe: None,
            grants: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The plan acts on this existing version.
    pub fn on(mut self, version: &Version) -> Plan {
        self.version = Some(version.number);
        self.layer_version_arn = Some(version.arn.clone());
        self.code_sha256 = version.code_sha256.clone();
        self
    }
}

pub fn tool() -> String {
    format!("cargo-layer {}", env!("CARGO_PKG_VERSION"))
}

/// `target/layer/<name>.json`, or `<name>.<region>.json` when Cargo.toml configures several
/// regions for the layer (whichever regions one run publishes to, so a file never goes stale).
pub fn path(out_dir: &Path, layer: &LayerConfig, region: &str) -> PathBuf {
    let name = &layer.name;
    if layer.regions.len() > 1 {
        out_dir.join(format!("{name}.{region}.json"))
    } else {
        out_dir.join(format!("{name}.json"))
    }
}

pub fn read(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            Kind::Config,
            format!(
                "--manifest {}: cannot read it ({e}); pass the JSON that publish wrote",
                path.display()
            ),
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            Kind::Config,
            format!(
                "--manifest {}: not a cargo-layer manifest ({e})",
                path.display()
            ),
        )
    })?;
    if manifest.schema_version > SCHEMA_VERSION {
        return Err(Error::new(
            Kind::Config,
            format!(
                "--manifest {}: schema_version {} is newer than this cargo-layer understands ({SCHEMA_VERSION}); upgrade cargo-layer",
                path.display(),
                manifest.schema_version
            ),
        ));
    }
    Ok(manifest)
}

/// The commit being published, when the package lives in a git work tree.
pub fn git_commit(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}
