//! `[package.metadata.layer]` and `[workspace.metadata.layer]`: the schema, its validation, and
//! how package keys override workspace defaults. Every error names the file and the key path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Kind, Result};
use crate::project::limits;

/// Where a layer's binaries go inside the zip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerKind {
    /// `extensions/<bin>`: Lambda starts every file there as an extension.
    #[default]
    Extension,
    /// `bootstrap` at the root: a custom runtime (exactly one bin).
    Runtime,
    /// `bin/<bin>`: on the function's PATH.
    Bin,
    /// the package's cdylib in `lib/`: on LD_LIBRARY_PATH.
    Lib,
    /// only the `include` entries.
    Files,
}

/// What builds the layer's binaries.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Builder {
    /// `cargo build`: the host's toolchain and linker.
    #[default]
    Cargo,
    /// `cargo zigbuild`: links against the oldest glibc of the layer's runtimes, from any host.
    Zigbuild,
    /// `cross build`: builds inside a Linux container (Docker or Podman).
    Cross,
}

impl Builder {
    pub fn name(self) -> &'static str {
        match self {
            Builder::Cargo => "cargo",
            Builder::Zigbuild => "zigbuild",
            Builder::Cross => "cross",
        }
    }
}

/// One `include` entry: a glob relative to the package, and a destination in the layer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Include {
    pub from: String,
    #[serde(default)]
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawStage {
    pub accounts: Option<Vec<String>>,
    pub organization: Option<String>,
    pub public: Option<bool>,
    /// Accounts that read the version through an organization or public grant, and so are
    /// verified and handed the ARN without a grant of their own.
    pub handoff_accounts: Option<Vec<String>>,
    /// This stage's `stage-role`.
    pub role: Option<String>,
    /// This stage's `parameter`.
    pub parameter: Option<String>,
    /// The stage a version must have been through before `promote` grants this one.
    pub after: Option<String>,
    /// The partition the stage's accounts are in: the stage is granted only in its regions.
    pub partition: Option<String>,
}

/// `[package.metadata.layer.overrides.<partition or region>]`: where a partition (`aws-cn`,
/// `aws-us-gov`) or one region publishes from, when it is not the layer's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Access {
    pub artifacts_account: Option<String>,
    pub role_arn: Option<String>,
    /// The AWS profile the credentials come from (another partition has other credentials).
    pub aws_profile: Option<String>,
    pub s3_bucket: Option<String>,
}

/// `[package.metadata.layer.architectures.<arch>]`: what differs for one architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawArch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The Rust target triple that builds this architecture (`--target` still overrides it).
    pub target: Option<String>,
}

/// The table exactly as written; every key optional so workspace defaults can fill gaps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLayer {
    pub name: Option<String>,
    pub description: Option<String>,
    pub kind: Option<LayerKind>,
    pub bins: Option<Vec<String>>,
    pub include: Option<Vec<Include>>,
    pub compatible_runtimes: Option<Vec<String>>,
    pub compatible_architectures: Option<Vec<String>>,
    pub builder: Option<Builder>,
    pub license: Option<String>,
    pub region: Option<String>,
    pub regions: Option<Vec<String>>,
    pub artifacts_account: Option<String>,
    pub role_arn: Option<String>,
    pub s3_bucket: Option<String>,
    /// The role assumed in each stage account to verify and hand off the version.
    pub stage_role: Option<String>,
    /// The SSM parameter in each stage account and region that holds the LayerVersionArn.
    pub parameter: Option<String>,
    /// Per partition or region: the artifacts account, role, credentials and bucket there.
    pub overrides: Option<BTreeMap<String, Access>>,
    pub signing_profile: Option<String>,
    pub profile_owner: Option<String>,
    pub stages: Option<BTreeMap<String, RawStage>>,
    pub architectures: Option<BTreeMap<String, RawArch>>,
    /// Environment variables every build of the layer gets.
    pub build_env: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    pub accounts: Vec<String>,
    pub organization: Option<String>,
    pub public: bool,
    pub handoff_accounts: Vec<String>,
    /// Granted only in this partition's regions; none: in every region.
    pub partition: Option<String>,
    /// The role template assumed in each of [`Stage::readers`], placeholders not filled in.
    pub role: Option<String>,
    /// The parameter template, placeholders not filled in.
    pub parameter: Option<String>,
    pub after: Option<String>,
}

impl Stage {
    /// Granted to everyone and to no account or organization of its own.
    pub fn only_public(&self) -> bool {
        self.accounts.is_empty() && self.organization.is_none() && self.handoff_accounts.is_empty()
    }

    /// The stage is granted in `region`: it names no partition, or the region's.
    pub fn is_in(&self, region: &str) -> bool {
        self.partition
            .as_deref()
            .is_none_or(|p| p == crate::aws::partition(region))
    }

    /// The accounts that must be able to read the version: the granted accounts, then the
    /// `handoff-accounts`.
    pub fn readers(&self) -> Vec<&str> {
        let mut readers: Vec<&str> = self.accounts.iter().map(String::as_str).collect();
        for account in &self.handoff_accounts {
            if !readers.contains(&account.as_str()) {
                readers.push(account);
            }
        }
        readers
    }
}

/// `stage-role` and `parameter` with `{account}`, `{name}`, `{stage}` and `{partition}` filled in.
pub fn fill(template: &str, account: &str, name: &str, stage: &str, partition: &str) -> String {
    template
        .replace("{account}", account)
        .replace("{name}", name)
        .replace("{stage}", stage)
        .replace("{partition}", partition)
}

/// A layer's configuration after merging and validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerConfig {
    pub package: String,
    pub cargo_toml: PathBuf,
    pub package_root: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub kind: LayerKind,
    /// The bins that go into the layer: `bins`, else every bin target (none for lib and files).
    pub bins: Vec<String>,
    /// The package's cdylib target name, for `kind = "lib"`.
    pub cdylib: Option<String>,
    pub include: Vec<Include>,
    pub compatible_runtimes: Vec<String>,
    /// None means: from `--target`, else the host.
    pub compatible_architectures: Option<Vec<String>>,
    pub builder: Builder,
    /// One of the per-architecture layers a two-architecture configuration becomes.
    pub split: bool,
    pub license: Option<String>,
    pub regions: Vec<String>,
    pub artifacts_account: Option<String>,
    pub role_arn: Option<String>,
    /// Bucket template for uploads through S3 (`{region}` and `{account}` are filled in).
    pub s3_bucket: Option<String>,
    /// `overrides`, by partition or region: read them through [`LayerConfig::access`].
    pub overrides: BTreeMap<String, Access>,
    /// `signing-profile` (and `profile-owner`): sign each zip with AWS Signer before publishing.
    pub signing: Option<Signing>,
    pub stages: BTreeMap<String, Stage>,
    /// Where `include` was written (the package's table or the workspace's), for errors.
    pub include_origin: KeyOrigin,
    /// The package's version, for `{version}` in names, descriptions and `build-env`.
    pub version: String,
    /// Per-architecture names, descriptions and targets, before placeholders are filled in.
    pub architectures: BTreeMap<String, RawArch>,
    /// The target triple from `architectures.<arch>.target`, once the layer has one architecture.
    pub target: Option<String>,
    /// `build-env`, placeholders filled in once the layer has one architecture.
    pub build_env: BTreeMap<String, String>,
}

/// The AWS Signer profile that signs the layer's zips: StartSigningJob and GetSigningProfile
/// take a profile by name, with the owner's account for a profile of another account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    pub profile: String,
    pub owner: Option<String>,
}

/// The file and table a key was written in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyOrigin {
    pub file: PathBuf,
    pub prefix: String,
}

/// A metadata table and where it was written, for error messages.
pub struct Source<'a> {
    pub file: &'a Path,
    pub prefix: &'a str,
}

impl Source<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> Error {
        let path = if key.is_empty() {
            self.prefix.to_string()
        } else if key.starts_with('[') {
            format!("{}{key}", self.prefix)
        } else {
            format!("{}.{key}", self.prefix)
        };
        Error::new(Kind::Config, message).at(self.file, path)
    }
}

/// Parse one `layer` table. Unknown keys and wrong types are errors naming the key path.
pub fn parse_raw(value: &serde_json::Value, source: &Source) -> Result<RawLayer> {
    let raw: RawLayer = serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        source.err(&key, describe_serde_error(&e.inner().to_string()))
    })?;
    validate_raw(&raw, source)?;
    Ok(raw)
}

fn describe_serde_error(message: &str) -> String {
    if message.starts_with("unknown field") {
        format!("{message}; see the configuration reference in the README")
    } else if message.starts_with("unknown variant `") && message.contains("`zigbuild`") {
        format!("{message} for `builder`")
    } else if message.starts_with("unknown variant") {
        format!("{message} for `kind`")
    } else {
        message.to_string()
    }
}

/// A check of one value: the problem and its fix as one sentence.
type Rule = fn(&str) -> std::result::Result<(), String>;

/// Key-by-key checks that need no other table.
pub fn validate_raw(raw: &RawLayer, src: &Source) -> Result<()> {
    let singles: [(&Option<String>, Rule, &str); 11] = [
        (&raw.name, limits::name_template, "name"),
        (&raw.description, limits::text_template, "description"),
        (&raw.license, limits::license, "license"),
        (&raw.region, limits::region, "region"),
        (&raw.artifacts_account, limits::account, "artifacts-account"),
        (&raw.role_arn, limits::role_arn, "role-arn"),
        (&raw.s3_bucket, limits::bucket_template, "s3-bucket"),
        (&raw.stage_role, limits::stage_role_template, "stage-role"),
        (&raw.parameter, limits::parameter_template, "parameter"),
        (
            &raw.signing_profile,
            limits::signing_profile,
            "signing-profile",
        ),
        (&raw.profile_owner, limits::account, "profile-owner"),
    ];
    for (value, rule, key) in singles {
        if let Some(value) = value {
            check(rule(value), src, key)?;
        }
    }
    if let Some(runtimes) = &raw.compatible_runtimes {
        check_list(runtimes, src, "compatible-runtimes", limits::runtime)?;
        check(limits::runtimes_count(runtimes), src, "compatible-runtimes")?;
    }
    if let Some(archs) = &raw.compatible_architectures {
        check_list(archs, src, "compatible-architectures", limits::architecture)?;
        check(
            limits::architectures_count(archs),
            src,
            "compatible-architectures",
        )?;
    }
    if raw.region.is_some() && raw.regions.is_some() {
        return Err(src.err("regions", "set either `region` or `regions`, not both"));
    }
    if let Some(regions) = &raw.regions {
        if regions.is_empty() {
            return Err(src.err(
                "regions",
                "is empty; list at least one region or remove the key",
            ));
        }
        check_list(regions, src, "regions", limits::region)?;
        check_unique(regions, src, "regions")?;
    }
    for (i, include) in raw.include.iter().flatten().enumerate() {
        check(
            limits::include_from(&include.from),
            src,
            &format!("include[{i}].from"),
        )?;
        check(
            limits::include_to(&include.to),
            src,
            &format!("include[{i}].to"),
        )?;
    }
    for (name, stage) in raw.stages.iter().flatten() {
        validate_stage(name, stage, src)?;
    }
    for (key, access) in raw.overrides.iter().flatten() {
        validate_override(key, access, src)?;
    }
    for (arch, over) in raw.architectures.iter().flatten() {
        validate_arch(arch, over, raw.compatible_architectures.as_deref(), src)?;
    }
    for (name, value) in raw.build_env.iter().flatten() {
        let key = format!("build-env.{name}");
        check(limits::env_name(name), src, &key)?;
        check(limits::text_template(value), src, &key)?;
    }
    Ok(())
}

fn validate_arch(arch: &str, over: &RawArch, archs: Option<&[String]>, src: &Source) -> Result<()> {
    let key = format!("architectures.{arch}");
    check(limits::architecture(arch), src, &key)?;
    if !archs.is_some_and(|archs| archs.iter().any(|a| a == arch)) {
        return Err(src.err(
            &key,
            format!("compatible-architectures does not list \"{arch}\"; add it there or remove this table"),
        ));
    }
    if let Some(name) = &over.name {
        check(limits::name_template(name), src, &format!("{key}.name"))?;
    }
    if let Some(text) = &over.description {
        check(
            limits::text_template(text),
            src,
            &format!("{key}.description"),
        )?;
    }
    if let Some(triple) = &over.target {
        check(limits::target(arch, triple), src, &format!("{key}.target"))?;
    }
    Ok(())
}

/// One `overrides.<partition or region>` table: its key and each value.
fn validate_override(key: &str, access: &Access, src: &Source) -> Result<()> {
    let at = format!("overrides.{key}");
    let partition = if limits::PARTITIONS.contains(&key) {
        key
    } else {
        check(limits::region(key), src, &at).map_err(|_| {
            src.err(
                &at,
                format!(
                    "\"{key}\" is neither a partition ({}) nor a region code",
                    limits::PARTITIONS.join(", ")
                ),
            )
        })?;
        crate::aws::partition(key)
    };
    if let Some(account) = &access.artifacts_account {
        check(
            limits::account(account),
            src,
            &format!("{at}.artifacts-account"),
        )?;
    }
    if let Some(role) = &access.role_arn {
        let key = format!("{at}.role-arn");
        check(limits::role_arn(role), src, &key)?;
        let named = role.split(':').nth(1).unwrap_or_default();
        if named != partition {
            return Err(src.err(
                &key,
                format!("is a role of partition {named}, but {at} is in partition {partition}; credentials of one partition cannot assume a role of another"),
            ));
        }
    }
    if let Some(profile) = &access.aws_profile
        && (profile.is_empty() || profile.chars().any(char::is_whitespace))
    {
        return Err(src.err(
            &format!("{at}.aws-profile"),
            format!(
                "\"{profile}\" is not an AWS profile name; name a [profile ...] of ~/.aws/config"
            ),
        ));
    }
    if let Some(bucket) = &access.s3_bucket {
        check(
            limits::bucket_template(bucket),
            src,
            &format!("{at}.s3-bucket"),
        )?;
    }
    Ok(())
}

fn validate_stage(name: &str, stage: &RawStage, src: &Source) -> Result<()> {
    let key = format!("stages.{name}");
    check(limits::stage_name(name), src, &key)?;
    let accounts = stage.accounts.as_deref().unwrap_or_default();
    for (i, account) in accounts.iter().enumerate() {
        let key = format!("{key}.accounts[{i}]");
        if account == "*" {
            return Err(src.err(
                &key,
                "\"*\" would share the layer with every AWS account; remove it and set `public = true` on the stage if that is really meant",
            ));
        }
        check(limits::account(account), src, &key)?;
    }
    check_unique(accounts, src, &format!("{key}.accounts"))?;
    if let Some(org) = &stage.organization {
        check(
            limits::organization(org),
            src,
            &format!("{key}.organization"),
        )?;
    }
    if let Some(partition) = &stage.partition
        && !limits::PARTITIONS.contains(&partition.as_str())
    {
        return Err(src.err(
            &format!("{key}.partition"),
            format!(
                "\"{partition}\" is not a partition; use one of {}",
                limits::PARTITIONS.join(", ")
            ),
        ));
    }
    let handoff = stage.handoff_accounts.as_deref().unwrap_or_default();
    for (i, account) in handoff.iter().enumerate() {
        check(
            limits::account(account),
            src,
            &format!("{key}.handoff-accounts[{i}]"),
        )?;
    }
    check_unique(handoff, src, &format!("{key}.handoff-accounts"))?;
    if let Some(role) = &stage.role {
        check(
            limits::stage_role_template(role),
            src,
            &format!("{key}.role"),
        )?;
    }
    if let Some(parameter) = &stage.parameter {
        check(
            limits::parameter_template(parameter),
            src,
            &format!("{key}.parameter"),
        )?;
    }
    if accounts.is_empty() && stage.organization.is_none() && stage.public != Some(true) {
        return Err(src.err(
            &key,
            "grants nothing; add `accounts`, an `organization`, or `public = true`",
        ));
    }
    Ok(())
}

fn check(result: std::result::Result<(), String>, src: &Source, key: &str) -> Result<()> {
    result.map_err(|message| src.err(key, message))
}

fn check_list(values: &[String], src: &Source, key: &str, rule: Rule) -> Result<()> {
    for (i, value) in values.iter().enumerate() {
        check(rule(value), src, &format!("{key}[{i}]"))?;
    }
    Ok(())
}

fn check_unique(values: &[String], src: &Source, key: &str) -> Result<()> {
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            return Err(src.err(
                &format!("{key}[{i}]"),
                format!("\"{value}\" is listed twice; remove the duplicate"),
            ));
        }
    }
    Ok(())
}

/// Package keys override workspace keys one by one. A package `region` also replaces a
/// workspace `regions` (they are one setting), and a package stage replaces the workspace stage
/// of the same name whole.
pub fn merge(workspace: RawLayer, package: RawLayer) -> RawLayer {
    let (region, regions) = if package.region.is_some() || package.regions.is_some() {
        (package.region, package.regions)
    } else {
        (workspace.region, workspace.regions)
    };
    let stages = match (workspace.stages, package.stages) {
        (Some(mut base), Some(over)) => {
            base.extend(over);
            Some(base)
        }
        (base, over) => over.or(base),
    };
    RawLayer {
        name: package.name.or(workspace.name),
        description: package.description.or(workspace.description),
        kind: package.kind.or(workspace.kind),
        bins: package.bins.or(workspace.bins),
        include: package.include.or(workspace.include),
        compatible_runtimes: package
            .compatible_runtimes
            .or(workspace.compatible_runtimes),
        compatible_architectures: package
            .compatible_architectures
            .or(workspace.compatible_architectures),
        builder: package.builder.or(workspace.builder),
        license: package.license.or(workspace.license),
        region,
        regions,
        artifacts_account: package.artifacts_account.or(workspace.artifacts_account),
        role_arn: package.role_arn.or(workspace.role_arn),
        s3_bucket: package.s3_bucket.or(workspace.s3_bucket),
        stage_role: package.stage_role.or(workspace.stage_role),
        overrides: package.overrides.or(workspace.overrides),
        parameter: package.parameter.or(workspace.parameter),
        signing_profile: package.signing_profile.or(workspace.signing_profile),
        profile_owner: package.profile_owner.or(workspace.profile_owner),
        stages,
        architectures: package.architectures.or(workspace.architectures),
        build_env: package.build_env.or(workspace.build_env),
    }
}

/// `signing-profile` (a name, or a profile ARN that also names the owner) with `profile-owner`;
/// signing needs `s3-bucket`, since Signer reads and writes S3 objects only.
fn signing(raw: &RawLayer, src: &Source) -> Result<Option<Signing>> {
    let Some(profile) = &raw.signing_profile else {
        if raw.profile_owner.is_some() {
            return Err(src.err(
                "profile-owner",
                "is set without signing-profile; name the profile to sign with, or remove the key",
            ));
        }
        return Ok(None);
    };
    if raw.s3_bucket.is_none() {
        return Err(src.err("signing-profile", "needs s3-bucket: AWS Signer signs an S3 object version, so set s3-bucket to a bucket with versioning enabled in the layer's region"));
    }
    let (profile, from_arn) = limits::signing_profile_parts(profile);
    let owner = match (from_arn, &raw.profile_owner) {
        (Some(a), Some(b)) if a != *b => {
            return Err(src.err("profile-owner", format!("is {b}, but signing-profile is a profile ARN of account {a}; remove profile-owner or make them agree")));
        }
        (a, b) => a.or(b.clone()),
    };
    Ok(Some(Signing { profile, owner }))
}

/// What a cargo package contributes besides its metadata table.
pub struct PackageInfo<'a> {
    pub name: &'a str,
    pub version: String,
    pub cargo_toml: &'a Path,
    pub description: Option<&'a str>,
    pub license: Option<&'a str>,
    pub bin_targets: Vec<&'a str>,
    pub cdylib: Option<&'a str>,
}

/// Turn the merged table into a checked configuration for one package.
pub fn resolve(raw: RawLayer, pkg: &PackageInfo, src: &Source) -> Result<LayerConfig> {
    let kind = raw.kind.unwrap_or(LayerKind::Extension);
    let signing = signing(&raw, src)?;
    let name = match raw.name {
        Some(name) => name,
        None => {
            check(limits::layer_name(pkg.name), src, "name")?;
            pkg.name.to_string()
        }
    };
    let description = match raw.description {
        Some(text) => Some(text),
        None => inherited(src, "description", pkg.description, limits::description)?,
    };
    let license = match raw.license {
        Some(text) => Some(text),
        None => inherited(src, "license", pkg.license, limits::license)?,
    };
    check_bins(kind, raw.bins.as_deref(), pkg, src)?;
    let include = raw.include.unwrap_or_default();
    if kind == LayerKind::Files && include.is_empty() {
        return Err(src.err(
            "include",
            "kind = \"files\" needs at least one `include` entry",
        ));
    }
    let regions = match (raw.region, raw.regions) {
        (Some(region), _) => vec![region],
        (None, Some(regions)) => regions,
        (None, None) => Vec::new(),
    };
    let stages = stages(
        raw.stages.unwrap_or_default(),
        &raw.stage_role,
        &raw.parameter,
    );
    check_stages(&stages, src)?;
    let overrides = raw.overrides.unwrap_or_default();
    check_partitions(&regions, &stages, &overrides, src)?;
    let package_root = pkg
        .cargo_toml
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok(LayerConfig {
        package: pkg.name.to_string(),
        cargo_toml: pkg.cargo_toml.to_path_buf(),
        package_root,
        name,
        description,
        kind,
        bins: resolved_bins(kind, raw.bins, pkg),
        cdylib: pkg.cdylib.map(str::to_string),
        include,
        compatible_runtimes: raw.compatible_runtimes.unwrap_or_default(),
        compatible_architectures: raw.compatible_architectures,
        builder: raw.builder.unwrap_or_default(),
        split: false,
        license,
        regions,
        artifacts_account: raw.artifacts_account,
        role_arn: raw.role_arn,
        s3_bucket: raw.s3_bucket,
        overrides,
        signing,
        stages,
        include_origin: KeyOrigin {
            file: src.file.to_path_buf(),
            prefix: src.prefix.to_string(),
        },
        version: pkg.version.clone(),
        architectures: raw.architectures.unwrap_or_default(),
        target: None,
        build_env: raw.build_env.unwrap_or_default(),
    })
}

/// Each stage with the layer's `stage-role` and `parameter` where it sets none of its own.
fn stages(
    raw: BTreeMap<String, RawStage>,
    role: &Option<String>,
    parameter: &Option<String>,
) -> BTreeMap<String, Stage> {
    raw.into_iter()
        .map(|(name, stage)| {
            let stage = Stage {
                accounts: stage.accounts.unwrap_or_default(),
                organization: stage.organization,
                public: stage.public.unwrap_or(false),
                handoff_accounts: stage.handoff_accounts.unwrap_or_default(),
                partition: stage.partition,
                role: stage.role.or(role.clone()),
                parameter: stage.parameter.or(parameter.clone()),
                after: stage.after,
            };
            (name, stage)
        })
        .collect()
}

/// What only the merged stages can tell: `after` names another stage and makes no cycle, a
/// stage role lives in the account it is assumed in, and a parameter or `handoff-accounts` has
/// a role to work through.
fn check_stages(stages: &BTreeMap<String, Stage>, src: &Source) -> Result<()> {
    for (name, stage) in stages {
        let key = format!("stages.{name}");
        if let Some(after) = &stage.after {
            check_after(stages, name, after, src)?;
        }
        let Some(role) = &stage.role else {
            if stage.parameter.is_some() {
                return Err(src.err(
                    &format!("{key}.parameter"),
                    "needs a role in the stage's accounts to write it; set `stage-role`",
                ));
            }
            if !stage.handoff_accounts.is_empty() {
                return Err(src.err(&format!("{key}.handoff-accounts"), "needs a role in those accounts to verify and hand off the version; set `stage-role`"));
            }
            continue;
        };
        for account in stage.readers() {
            let filled = fill(role, account, "layer", name, "aws");
            if limits::role_account(&filled) != Some(account) {
                return Err(src.err(
                    &key,
                    format!("the stage role {role} is assumed in account {account}, but names a role of another account; write {{account}} where the account goes"),
                ));
            }
        }
    }
    Ok(())
}

/// A region override is for a configured region; a stage's partition is one the layer publishes
/// in; and when the regions span partitions, each stage that names accounts or an organization
/// says which partition they are in (an account belongs to one).
fn check_partitions(
    regions: &[String],
    stages: &BTreeMap<String, Stage>,
    overrides: &BTreeMap<String, Access>,
    src: &Source,
) -> Result<()> {
    let partitions: Vec<&str> = {
        let mut all: Vec<&str> = regions.iter().map(|r| crate::aws::partition(r)).collect();
        all.dedup();
        all.sort();
        all.dedup();
        all
    };
    for key in overrides.keys() {
        let is_region = !limits::PARTITIONS.contains(&key.as_str());
        if is_region && !regions.is_empty() && !regions.contains(key) {
            return Err(src.err(
                &format!("overrides.{key}"),
                format!("is not one of the layer's regions ({}); add it to `regions` or remove the table", regions.join(", ")),
            ));
        }
    }
    for (name, stage) in stages {
        let key = format!("stages.{name}");
        match &stage.partition {
            Some(p) if !regions.is_empty() && !partitions.contains(&p.as_str()) => {
                return Err(src.err(
                    &format!("{key}.partition"),
                    format!(
                        "is {p}, but no region of the layer is in it ({})",
                        regions.join(", ")
                    ),
                ));
            }
            None if partitions.len() > 1 && !stage.only_public() => {
                return Err(src.err(
                    &key,
                    format!("the regions span the partitions {}, and an account or organization belongs to one; set `partition` on the stage", partitions.join(", ")),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `after` names another stage, and following `after` from any stage ends.
fn check_after(
    stages: &BTreeMap<String, Stage>,
    name: &str,
    after: &str,
    src: &Source,
) -> Result<()> {
    let key = format!("stages.{name}.after");
    if !stages.contains_key(after) {
        let known: Vec<&str> = stages.keys().map(String::as_str).collect();
        return Err(src.err(
            &key,
            format!(
                "names no stage: \"{after}\"; the stages are: {}",
                known.join(", ")
            ),
        ));
    }
    let mut seen = vec![name];
    let mut next = Some(after);
    while let Some(stage) = next {
        if seen.contains(&stage) {
            return Err(src.err(
                &key,
                format!(
                    "makes a cycle ({} -> {stage}); one stage must come first",
                    seen.join(" -> ")
                ),
            ));
        }
        seen.push(stage);
        next = stages.get(stage).and_then(|s| s.after.as_deref());
    }
    Ok(())
}

/// A value the layer takes from `[package]`; a problem is reported at the key that holds it.
fn inherited(src: &Source, key: &str, value: Option<&str>, rule: Rule) -> Result<Option<String>> {
    let cargo_package = Source {
        file: src.file,
        prefix: "package",
    };
    if let Some(text) = value {
        rule(text).map_err(|m| {
            cargo_package.err(
                key,
                format!("{m}, or set package.metadata.layer.{key} for the layer"),
            )
        })?;
    }
    Ok(value.map(str::to_string))
}

fn check_bins(
    kind: LayerKind,
    bins: Option<&[String]>,
    pkg: &PackageInfo,
    src: &Source,
) -> Result<()> {
    if let Some(bins) = bins {
        if matches!(kind, LayerKind::Files | LayerKind::Lib) {
            return Err(src.err(
                "bins",
                format!(
                    "has no effect with kind = \"{}\"; remove it",
                    kind_name(kind)
                ),
            ));
        }
        for (i, bin) in bins.iter().enumerate() {
            if !pkg.bin_targets.contains(&bin.as_str()) {
                return Err(src.err(
                    &format!("bins[{i}]"),
                    format!(
                        "package `{}` has no bin target named \"{bin}\"; its bins are: {}",
                        pkg.name,
                        list_or_none(&pkg.bin_targets)
                    ),
                ));
            }
        }
        check_unique(bins, src, "bins")?;
    }
    let count = bins.map_or(pkg.bin_targets.len(), <[String]>::len);
    match kind {
        LayerKind::Runtime if count != 1 => Err(src.err(
            "bins",
            format!("kind = \"runtime\" needs exactly one bin for `bootstrap`, found {count}; list it in `bins`"),
        )),
        LayerKind::Extension | LayerKind::Bin if count == 0 => Err(src.err(
            "kind",
            format!("kind = \"{}\" needs a bin target, and package `{}` has none", kind_name(kind), pkg.name),
        )),
        LayerKind::Lib if pkg.cdylib.is_none() => Err(src.err(
            "kind",
            format!(
                "kind = \"lib\" needs a cdylib; add `[lib] crate-type = [\"cdylib\"]` to package `{}`",
                pkg.name
            ),
        )),
        _ => Ok(()),
    }
}

fn resolved_bins(kind: LayerKind, bins: Option<Vec<String>>, pkg: &PackageInfo) -> Vec<String> {
    match kind {
        LayerKind::Lib | LayerKind::Files => Vec::new(),
        _ => bins.unwrap_or_else(|| pkg.bin_targets.iter().map(|s| s.to_string()).collect()),
    }
}

pub fn kind_name(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::Extension => "extension",
        LayerKind::Runtime => "runtime",
        LayerKind::Bin => "bin",
        LayerKind::Lib => "lib",
        LayerKind::Files => "files",
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

impl LayerConfig {
    /// What `-p` takes to pick this layer alone: a per-architecture layer's own name, else its
    /// package.
    pub fn pick(&self) -> String {
        if self.split {
            self.name.clone()
        } else {
            self.package.clone()
        }
    }

    /// The bucket for `region`: its `s3-bucket` template with `{region}` and `{account}` filled in.
    pub fn bucket(&self, region: &str, account: &str) -> Option<String> {
        self.access(Some(region))
            .s3_bucket
            .map(|t| t.replace("{region}", region).replace("{account}", account))
    }

    /// Where `region` publishes from: each key from the region's override, else its
    /// partition's, else the layer's own.
    pub fn access(&self, region: Option<&str>) -> Access {
        let mut access = Access {
            artifacts_account: self.artifacts_account.clone(),
            role_arn: self.role_arn.clone(),
            aws_profile: None,
            s3_bucket: self.s3_bucket.clone(),
        };
        let Some(region) = region else {
            return access;
        };
        let layers = [
            self.overrides.get(crate::aws::partition(region)),
            self.overrides.get(region),
        ];
        for over in layers.into_iter().flatten() {
            let take = |mine: &mut Option<String>, theirs: &Option<String>| {
                if theirs.is_some() {
                    *mine = theirs.clone();
                }
            };
            take(&mut access.artifacts_account, &over.artifacts_account);
            take(&mut access.role_arn, &over.role_arn);
            take(&mut access.aws_profile, &over.aws_profile);
            take(&mut access.s3_bucket, &over.s3_bucket);
        }
        access
    }

    /// The stage table, or a config error naming the stages that exist.
    pub fn stage(&self, name: &str) -> Result<&Stage> {
        self.stages.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.stages.keys().map(String::as_str).collect();
            Error::new(
                Kind::Config,
                format!(
                    "has no stage \"{name}\"; the stages are: {}",
                    list_or_none(&known)
                ),
            )
            .at(&self.cargo_toml, "package.metadata.layer.stages")
        })
    }

    /// The one region a command that acts on a single version uses: `--region`, else the only
    /// configured region, else the environment's (None).
    pub fn one_region(&self, flag: Option<&str>) -> Result<Option<String>> {
        match (flag, self.regions.as_slice()) {
            (Some(region), []) => Ok(Some(region.to_string())),
            (Some(region), regions) if regions.iter().any(|r| r == region) => {
                Ok(Some(region.to_string()))
            }
            (Some(region), regions) => Err(Error::new(
                Kind::Config,
                format!(
                    "--region {region} is not a region of layer {} ({})",
                    self.name,
                    regions.join(", ")
                ),
            )
            .fix("add it to `regions` in Cargo.toml")),
            (None, []) => Ok(None),
            (None, [region]) => Ok(Some(region.clone())),
            (None, regions) => Err(Error::new(
                Kind::Config,
                format!(
                    "layer {} is configured for several regions ({})",
                    self.name,
                    regions.join(", ")
                ),
            )
            .fix("pick one with --region")),
        }
    }
}
