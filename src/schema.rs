//! Every result cargo-layer hands over, in one place: what `--message-format json` prints, what
//! the manifest file holds, and what the GitHub outputs carry. Each result starts with the same
//! header (`schema_version`, `type`, `name`, `region`, `account`). `docs/results.schema.json` is
//! generated from these types; `SCHEMA_VERSION` changes only when a field changes meaning or
//! goes away, never when one is added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind, Result};

pub const SCHEMA_VERSION: u32 = 1;

/// What kind of result an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ResultType {
    Package,
    Publish,
    Promote,
    /// A dry run of publish, promote or revoke.
    Plan,
    Revoke,
    Status,
    Prune,
    /// `verify`: the version, as each stage account sees it.
    Verify,
}

/// The fields every result starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    pub schema_version: u32,
    pub r#type: ResultType,
    /// The layer name.
    pub name: String,
    /// The AWS region; empty (and left out) for `package`, which makes no AWS call.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// The artifacts account; empty (and left out) for `package`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account: String,
}

impl Header {
    pub fn new(r#type: ResultType, name: &str, region: &str, account: &str) -> Header {
        Header {
            schema_version: SCHEMA_VERSION,
            r#type,
            name: name.into(),
            region: region.into(),
            account: account.into(),
        }
    }
}

/// One result of a run, whichever command made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "cargo-layer result")]
// A run holds one result per layer and region: boxing the largest saves nothing worth it.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    Package(Package),
    /// `publish` and `promote`.
    Manifest(Manifest),
    Plan(Plan),
    Revoke(Revoked),
    Status(LayerStatus),
    Prune(Pruned),
    Verify(Verified),
}

impl Outcome {
    pub fn header(&self) -> &Header {
        match self {
            Outcome::Package(r) => &r.header,
            Outcome::Manifest(r) => &r.header,
            Outcome::Plan(r) => &r.header,
            Outcome::Revoke(r) => &r.header,
            Outcome::Status(r) => &r.header,
            Outcome::Prune(r) => &r.header,
            Outcome::Verify(r) => &r.header,
        }
    }
}

// ---- package -------------------------------------------------------------------------------

/// One file as stored in the zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
    pub path: String,
    /// Unix permission bits as an octal string, e.g. "0755".
    pub mode: String,
    pub size: u64,
}

/// `cargo layer package`: the zip of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Package {
    #[serde(flatten)]
    pub header: Header,
    /// The cargo package the layer comes from.
    pub package: String,
    /// `extension`, `runtime`, `bin`, `lib` or `files`.
    pub kind: String,
    pub zip: PathBuf,
    pub code_sha256: String,
    pub sha256: String,
    pub zip_size: u64,
    pub unzipped_size: u64,
    pub compatible_architectures: Vec<String>,
    pub compatible_runtimes: Vec<String>,
    /// What built the binaries (none for a `files` layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInputs>,
    pub entries: Vec<Entry>,
}

/// What built a layer's binaries: part of what its bytes depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BuildInputs {
    /// `cargo`, `zigbuild` or `cross`.
    pub builder: String,
    /// The `--target` the builder was given (zigbuild's carries the glibc); none: the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `build-env` as the build saw it, placeholders filled in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

// ---- publish and promote -------------------------------------------------------------------

/// `ok`, `reused`, `failed` or `skipped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Ok,
    Reused,
    Failed,
    Skipped,
}

/// A part of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StepName {
    Package,
    /// A layer with `signing-profile`: the zip was signed by AWS Signer (`reused` when the
    /// version that holds the artifact was signed before).
    Sign,
    Publish,
    /// `promote --manifest`: the version in AWS still holds the manifest's CodeSha256.
    Compare,
    Grant,
    /// From inside each stage account and region (`stage-role`): the exact version reads, with
    /// the CodeSha256 that was published.
    Verify,
    /// Each stage account's SSM parameter (`parameter`) names the version.
    Handoff,
}

/// What one part of the run came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub step: StepName,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Step {
    pub fn new(step: StepName, status: StepStatus, detail: Option<String>) -> Self {
        Step {
            step,
            status,
            detail,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GrantStatus {
    Added,
    Present,
    Failed,
    /// Only in dry-run plans.
    WouldAdd,
    /// Only from `revoke`.
    Removed,
    /// Only in `revoke --dry-run` plans.
    WouldRemove,
}

impl GrantStatus {
    /// The status as people read it.
    pub fn word(self) -> &'static str {
        match self {
            GrantStatus::Added => "added",
            GrantStatus::Present => "present",
            GrantStatus::Failed => "failed",
            GrantStatus::WouldAdd => "would add",
            GrantStatus::Removed => "removed",
            GrantStatus::WouldRemove => "would remove",
        }
    }
}

/// One statement of a version's policy, for one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GrantResult {
    pub stage: String,
    /// A 12-digit account, or `*` for an organization or everyone.
    pub principal: String,
    pub organization: Option<String>,
    pub statement_id: String,
    pub status: GrantStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `stage-role`: whether every account this grant reaches (the account, or the stage's
    /// `handoff-accounts`) read the exact version from inside; see `stage_accounts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Why not, when `verified` is false (the first account's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified: Option<Unverified>,
}

impl GrantResult {
    /// Who the grant reaches, as people read it.
    pub fn grantee(&self) -> String {
        match &self.organization {
            Some(org) => format!("organization {org}"),
            None if self.principal == "*" => "every AWS account".to_string(),
            None => self.principal.clone(),
        }
    }
}

/// How the version holding an artifact was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SearchMethod {
    /// A version whose description carries this content's cargo-layer marker.
    Marker,
    /// A version without a marker, compared by GetLayerVersion.
    HashScan,
    /// No version holds the artifact.
    #[default]
    None,
}

/// How an existing version was (or was not) found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Search {
    pub method: SearchMethod,
    pub versions_listed: usize,
    /// Versions without a cargo-layer marker compared by GetLayerVersion.
    pub unmarked_checked: usize,
    /// Versions without a marker that were not compared (older than the fallback scan).
    pub unmarked_unchecked: usize,
}

/// The result of `publish` and `promote`: printed with `--message-format json`, written to
/// `target/layer/<name>.json` (the manifest), and read back by `promote --manifest` as the
/// guard that what was tested is what gets promoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Manifest {
    #[serde(flatten)]
    pub header: Header,
    pub tool: String,
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
    /// What the version in AWS holds.
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
    /// Region -> CodeSha256 of the version `layer_version_arns` names there: what
    /// `promote --manifest` checks in each region before granting. For a signed layer it is
    /// the signed zip's, different in each region; `sha256` is the artifact cargo-layer built.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub code_sha256s: BTreeMap<String, String>,
    /// How the version was signed (a layer with `signing-profile`); none when unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// Region -> how the version `layer_version_arns` names there was signed: what
    /// `promote --manifest` checks in each region before granting.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signatures: BTreeMap<String, Signature>,
    pub grants: Vec<GrantResult>,
    /// With `stage-role`: each account of the granted stages, verified from inside and handed
    /// the ARN in this region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_accounts: Vec<StageAccount>,
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// True when the work tree had uncommitted changes: the zip may hold more than `git_commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
    /// What built the binaries this run packed (none for a `files` layer, or a promote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInputs>,
}

/// How Lambda says a version was signed: the signing profile version (what a consumer's
/// CodeSigningConfig allows) and the AWS Signer job that signed the zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Signature {
    pub profile_version_arn: String,
    pub job_arn: String,
}

/// What the manifest says about one existing version.
pub struct VersionFacts<'a> {
    pub number: i64,
    pub arn: &'a str,
    pub layer_arn: &'a str,
    pub code_sha256: Option<&'a str>,
    pub code_size: Option<u64>,
    pub runtimes: &'a [String],
    pub architectures: &'a [String],
    pub license: Option<&'a str>,
    pub signature: Option<Signature>,
}

impl Manifest {
    /// What every result about one version holds, as AWS reports it; callers fill in the rest.
    pub fn for_version(r#type: ResultType, header: (&str, &str, &str), v: VersionFacts) -> Self {
        let (name, region, account) = header;
        Manifest {
            header: Header::new(r#type, name, region, account),
            tool: tool(),
            layer_arn: v.layer_arn.into(),
            layer_version_arn: v.arn.into(),
            version: v.number,
            code_sha256: v.code_sha256.unwrap_or_default().into(),
            zip_size: v.code_size.unwrap_or_default(),
            sha256: None,
            unzipped_size: None,
            published: false,
            dedupe: None,
            compatible_runtimes: v.runtimes.to_vec(),
            compatible_architectures: v.architectures.to_vec(),
            license: v.license.map(str::to_string),
            layer_version_arns: BTreeMap::from([(region.to_string(), v.arn.to_string())]),
            code_sha256s: v
                .code_sha256
                .map(|code| BTreeMap::from([(region.to_string(), code.to_string())]))
                .unwrap_or_default(),
            signatures: v
                .signature
                .clone()
                .map(|s| BTreeMap::from([(region.to_string(), s)]))
                .unwrap_or_default(),
            signature: v.signature,
            grants: Vec::new(),
            stage_accounts: Vec::new(),
            steps: Vec::new(),
            notes: Vec::new(),
            git_commit: None,
            git_dirty: None,
            build: None,
        }
    }
}

// ---- stage accounts ------------------------------------------------------------------------

/// Why a stage account cannot use the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Unverified {
    /// GetLayerVersionByArn was refused: the version's policy does not grant the account.
    Denied,
    /// The account reads another CodeSha256 than the one published.
    OtherBytes,
    /// The stage role could not be assumed, or belongs to another account.
    NoSession,
    /// Another AWS error; see `error`.
    Failed,
}

/// What the stage's SSM parameter came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterStatus {
    /// Written: it named another value, or did not exist.
    Written,
    /// It already names the version; nothing was written.
    Present,
    /// Not written (or, from `verify`, not read): the account cannot use the version, or no
    /// session reached it.
    Skipped,
    Failed,
    /// From `verify`: it names another value (`value`).
    Differs,
    /// From `verify`: it does not exist.
    Missing,
}

/// The SSM parameter of one stage account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Parameter {
    pub name: String,
    pub status: ParameterStatus,
    /// What it holds, when that is not the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One stage account, in the result's region, as seen from inside it through the stage role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StageAccount {
    pub stage: String,
    pub account: String,
    /// The account read the exact version by its ARN, with the CodeSha256 that was published.
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified: Option<Unverified>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<Parameter>,
}

impl StageAccount {
    /// Verified, and its parameter (if any) names the version.
    pub fn is_done(&self) -> bool {
        self.verified
            && self.parameter.as_ref().is_none_or(|p| {
                matches!(
                    p.status,
                    ParameterStatus::Written | ParameterStatus::Present
                )
            })
    }
}

/// `cargo layer verify`: one version in one region, as every account of the selected stages
/// sees it. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verified {
    #[serde(flatten)]
    pub header: Header,
    pub layer_version_arn: String,
    pub version: i64,
    /// What the artifacts account holds (or the manifest recorded): what each account must read.
    pub code_sha256: String,
    pub stage_accounts: Vec<StageAccount>,
}

// ---- dry runs ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlanCommand {
    Publish,
    Promote,
    Revoke,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlanAction {
    /// Publish a new version.
    Publish,
    /// Reuse the version that holds this artifact.
    Reuse,
    /// Grant an existing version to more stages.
    Grant,
    /// Remove a stage's grants.
    Revoke,
}

/// What `--dry-run` prints for publish, promote and revoke: what the command would do, with no
/// write made. One shape for all three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    #[serde(flatten)]
    pub header: Header,
    pub command: PlanCommand,
    pub action: PlanAction,
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
    pub fn new(command: PlanCommand, action: PlanAction, header: (&str, &str, &str)) -> Plan {
        let (name, region, account) = header;
        Plan {
            header: Header::new(ResultType::Plan, name, region, account),
            command,
            action,
            version: None,
            layer_version_arn: None,
            code_sha256: None,
            dedupe: None,
            grants: Vec::new(),
            notes: Vec::new(),
        }
    }
}

// ---- revoke --------------------------------------------------------------------------------

/// `cargo layer revoke`: the statements removed from one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Revoked {
    #[serde(flatten)]
    pub header: Header,
    pub layer_version_arn: String,
    pub version: i64,
    pub stage: String,
    pub removed: Vec<GrantResult>,
}

// ---- status --------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StageStatus {
    pub granted: Vec<String>,
    pub missing: Vec<String>,
    /// Grantees whose statement has cargo-layer's statement ID for this stage but grants another
    /// principal or organization (edited, or made by something else): not granted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatched: Vec<String>,
}

impl StageStatus {
    /// Every grantee the stage wants holds its statement, and nothing else holds its IDs.
    pub fn is_granted(&self) -> bool {
        self.missing.is_empty() && self.mismatched.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VersionStatus {
    pub version: i64,
    pub layer_version_arn: String,
    pub created: String,
    pub code_sha256: Option<String>,
    /// How it was signed; none when it is unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// True when it holds the artifact of the zip in the out dir (`--out-dir`, default
    /// target/layer) with the runtimes, architectures and license Cargo.toml configures: its
    /// CodeSha256 is the zip's, or it is signed, its marker names the zip, and its evidence
    /// (signing job -> source object version -> recorded SHA-256) chains to the zip.
    pub matches_local_zip: bool,
    pub stages: BTreeMap<String, StageStatus>,
    /// cargo-layer statements for stages or principals Cargo.toml no longer lists.
    pub stale_statements: Vec<String>,
    /// Statements other tools made.
    pub other_statements: Vec<String>,
    /// The oldest version shown that holds the same bytes and metadata: this one is a twin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin_of: Option<i64>,
}

/// `cargo layer status`: the newest versions of one layer in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LayerStatus {
    #[serde(flatten)]
    pub header: Header,
    pub versions: Vec<VersionStatus>,
    /// How many versions the layer has in this region; absent with `--version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_versions: Option<usize>,
    /// With `--stage`: each stage account's parameter history in this region, the stage's
    /// record of the versions handed to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handoffs: Vec<ParameterHistory>,
    /// With `--where-used`: each stage account looked into for the functions that use the layer
    /// in this region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub looked_into: Vec<LookedInto>,
    /// With `--where-used`: every function version in those accounts whose layers include a
    /// version of this layer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub used_by: Vec<UsedBy>,
}

/// A stage account whose functions were listed through its stage role, in the result's region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LookedInto {
    /// The first stage that names the account.
    pub stage: String,
    pub account: String,
    /// Why its functions could not be listed (completely): the role could not be assumed,
    /// or a call was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One function version of a stage account that uses a version of the layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UsedBy {
    pub stage: String,
    pub account: String,
    pub region: String,
    pub function: String,
    /// The function's version: `$LATEST` or a published version's number.
    pub qualifier: String,
    /// The function's aliases that send traffic to that version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The layer version it uses.
    pub version: i64,
    /// The layer version's policy still holds a grant of Cargo.toml that reaches the account:
    /// without one, a redeploy of the function is refused.
    pub granted: bool,
}

/// The last entries of one stage account's parameter, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ParameterHistory {
    pub stage: String,
    pub account: String,
    pub parameter: String,
    pub entries: Vec<HistoryEntry>,
    /// Why the history could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryEntry {
    /// The parameter's version number.
    pub version: i64,
    /// The LayerVersionArn handed over.
    pub value: String,
    /// When, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl LayerStatus {
    /// "showing 1 of 5 versions", or "5 version(s)" when every version is shown.
    pub fn shown(&self) -> String {
        match self.total_versions {
            Some(total) if total > self.versions.len() => {
                format!("showing {} of {total} versions", self.versions.len())
            }
            _ => format!("{} version(s)", self.versions.len()),
        }
    }
}

// ---- prune ---------------------------------------------------------------------------------

/// Why prune keeps a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum KeepReason {
    /// Among the newest `--keep` versions.
    Newest { keep: u16 },
    /// Carries one of the stage's cargo-layer grants, within its newest `--keep-granted`.
    Granted { stage: String, keep_granted: u16 },
    /// A `--manifest` names it for this region.
    Manifest { file: PathBuf },
    /// Another tool published it (no confirmed cargo-layer marker); `--include-foreign` deletes it.
    Foreign,
    /// It is signed and carries a cargo-layer marker, but its evidence (signing job -> source
    /// object version -> recorded SHA-256) does not chain to the marker's artifact, for the
    /// reason in `why`: it is not provably cargo-layer's. `--include-foreign` deletes it.
    Unconfirmed { why: String },
    /// Its policy shares it with an AWS Organization (`organization`) or with every account (no
    /// `organization`); `--include-shared` deletes it.
    Shared { organization: Option<String> },
    /// A function of a stage account uses it (`$LATEST` or the published versions in
    /// `qualifiers`): a redeploy or configuration change of it would fail once it is deleted.
    UsedByFunction {
        function: String,
        account: String,
        region: String,
        qualifiers: Vec<String>,
    },
    /// It is still granted to a stage account whose functions could not be listed (see
    /// `looked_into`): one of them may use it.
    Unseen { stage: String, account: String },
}

impl KeepReason {
    /// The reason as people read it.
    pub fn sentence(&self) -> String {
        match self {
            KeepReason::Newest { keep } => format!("one of the newest {keep}"),
            KeepReason::Granted {
                stage,
                keep_granted: 1,
            } => format!("stage {stage} is granted it (its newest granted version)"),
            KeepReason::Granted {
                stage,
                keep_granted,
            } => format!(
                "stage {stage} is granted it (one of its newest {keep_granted} granted versions)"
            ),
            KeepReason::Manifest { file } => format!("named in --manifest {}", file.display()),
            KeepReason::Foreign => "published by another tool (no confirmed cargo-layer marker); --include-foreign deletes it".into(),
            KeepReason::Unconfirmed { why } => format!("signed, and not proven cargo-layer's: {why}; --include-foreign deletes it"),
            KeepReason::Shared { organization } => {
                let with = match organization {
                    Some(org) => format!("organization {org}"),
                    None => "every AWS account".to_string(),
                };
                format!("shared with {with}, whose accounts nobody can list; --include-shared deletes it")
            }
            KeepReason::UsedByFunction {
                function,
                account,
                region,
                ..
            } => format!("used by {function} in {account}/{region}"),
            KeepReason::Unseen { stage, account } => format!(
                "granted to account {account} (stage {stage}), whose functions could not be listed"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Kept {
    pub version: i64,
    pub reasons: Vec<KeepReason>,
}

impl Kept {
    /// Every reason, as one sentence.
    pub fn sentence(&self) -> String {
        let each: Vec<String> = self.reasons.iter().map(KeepReason::sentence).collect();
        each.join("; ")
    }
}

/// `cargo layer prune`: what was kept and why, and what was deleted (or would be, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Pruned {
    #[serde(flatten)]
    pub header: Header,
    pub dry_run: bool,
    pub kept: Vec<Kept>,
    pub deleted: Vec<i64>,
    /// Versions the plan deletes that were left in place because a delete failed (the region's
    /// error says which); empty when every delete went through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_deleted: Vec<i64>,
    /// With `stage-role`: each stage account looked into for the functions that use the layer,
    /// in this region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub looked_into: Vec<LookedInto>,
}

// ---- the manifest file ---------------------------------------------------------------------

pub fn tool() -> String {
    format!("cargo-layer {}", env!("CARGO_PKG_VERSION"))
}

/// `<out dir>/<name>.json`, or `<name>.<region>.json` when Cargo.toml configures several regions
/// for the layer (whichever regions one run publishes to, so a file never goes stale).
pub fn cargo_toml(out_dir: &Path, name: &str, several_regions: bool, region: &str) -> PathBuf {
    if several_regions {
        out_dir.join(format!("{name}.{region}.json"))
    } else {
        out_dir.join(format!("{name}.json"))
    }
}

pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            Kind::Config,
            format!("--manifest {shown}: cannot read it ({e})"),
        )
        .fix("pass the JSON that publish wrote")
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            Kind::Config,
            format!("--manifest {shown}: not a cargo-layer manifest ({e})"),
        )
        .fix("pass the JSON that publish wrote (target/layer/<name>.json)")
    })?;
    let version = manifest.header.schema_version;
    if version > SCHEMA_VERSION {
        return Err(Error::new(
            Kind::Config,
            format!(
                "--manifest {shown}: schema_version {version} is newer than this cargo-layer understands ({SCHEMA_VERSION})"
            ),
        )
        .fix("upgrade cargo-layer"));
    }
    Ok(manifest)
}

/// What git says of the work tree a package lives in (nothing outside one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitState {
    /// HEAD: the commit being published.
    pub commit: Option<String>,
    /// Whether the tree has uncommitted changes, ignored files aside.
    pub dirty: Option<bool>,
}

impl GitState {
    pub fn of(dir: &Path) -> GitState {
        let commit = git(dir, &["rev-parse", "HEAD"])
            .map(|out| out.trim().to_string())
            .filter(|commit| !commit.is_empty());
        let dirty = git(dir, &["status", "--porcelain"]).map(|out| !out.is_empty());
        GitState { commit, dirty }
    }
}

/// `git -C dir args`: its stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The JSON Schema of every result, as committed in `docs/results.schema.json`. It is strict:
/// an object holds only the fields its type declares, and a result's `type` selects its shape.
/// Reading a manifest stays lenient (`read_manifest` ignores fields a newer version added).
pub fn json_schema() -> String {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(Outcome)).expect("a schema serializes");
    close_objects(&mut schema);
    tie_types(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// Each result shape and the `type` values it carries. Every shape but `package`, which makes no
/// AWS call, has a region and an account.
fn shapes() -> Vec<(std::borrow::Cow<'static, str>, Vec<ResultType>)> {
    use ResultType as T;
    vec![
        (Package::schema_name(), vec![T::Package]),
        (Manifest::schema_name(), vec![T::Publish, T::Promote]),
        (Plan::schema_name(), vec![T::Plan]),
        (Revoked::schema_name(), vec![T::Revoke]),
        (LayerStatus::schema_name(), vec![T::Status]),
        (Pruned::schema_name(), vec![T::Prune]),
        (Verified::schema_name(), vec![T::Verify]),
    ]
}

const AWS_HEADER: [&str; 2] = ["region", "account"];

/// `additionalProperties: false` on every object with declared fields (maps keep their schema).
fn close_objects(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(object) => {
            if object.contains_key("properties") && !object.contains_key("additionalProperties") {
                object.insert("additionalProperties".into(), false.into());
            }
            object.values_mut().for_each(close_objects);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Exactly one shape per result, chosen by its `type`.
fn tie_types(schema: &mut serde_json::Value) {
    let root = schema.as_object_mut().expect("the schema is an object");
    let shapes_list = root.remove("anyOf").expect("results are a union of shapes");
    root.insert("oneOf".into(), shapes_list);
    // Each shape now names its own `type` values.
    schema["$defs"]
        .as_object_mut()
        .expect("the schema has definitions")
        .remove(ResultType::schema_name().as_ref());
    for (name, types) in shapes() {
        let package = types == [ResultType::Package];
        let shape = &mut schema["$defs"][name.as_ref()];
        let property = &mut shape["properties"]["type"];
        assert!(property.is_object(), "result shape {name} has a `type`");
        *property = serde_json::json!({ "enum": types });
        let properties = shape["properties"]
            .as_object_mut()
            .expect("a shape has fields");
        if package {
            AWS_HEADER
                .iter()
                .for_each(|field| drop(properties.remove(*field)));
        } else {
            let required = shape["required"]
                .as_array_mut()
                .expect("a shape requires fields");
            required.extend(AWS_HEADER.map(serde_json::Value::from));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = "docs/results.schema.json";

    /// The committed schema is what the types say. `CARGO_LAYER_BLESS=1 cargo test` rewrites it.
    #[test]
    fn the_committed_schema_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
        let generated = json_schema();
        if std::env::var_os("CARGO_LAYER_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{COMMITTED} is out of date; run `CARGO_LAYER_BLESS=1 cargo test --lib schema` and commit it"
        );
    }
}
