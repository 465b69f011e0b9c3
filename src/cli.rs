//! Command-line interface. Flags mirror cargo's where they mean the same thing.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::aws::AwsArgs;
use crate::output::MessageFormat;
use crate::pack::compile::BuildOptions;
use crate::project::Selection;
use crate::project::config::Builder;

#[derive(Debug, Parser)]
#[command(
    name = "cargo-layer",
    bin_name = "cargo layer",
    version,
    about = "Build, publish once, and share AWS Lambda layer versions across accounts",
    after_help = crate::error::exit_codes_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print only warnings and errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail on stderr.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Result format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the package and pack a reproducible layer zip into target/layer/.
    Package(PackageArgs),
    /// Package, publish once (or reuse the version with the same CodeSha256), and grant stages.
    Publish(PublishArgs),
    /// Grant an already-published version to more stages.
    Promote(PromoteArgs),
    /// Prove from inside each stage account that it can read the exact version, and that its
    /// parameter names it; writes nothing.
    Verify(VerifyArgs),
    /// Remove a stage's grants from one version.
    Revoke(RevokeArgs),
    /// Show versions, their CodeSha256, and which stages are granted or missing, in every region.
    Status(StatusArgs),
    /// Print the least-privilege IAM policy the publishing role needs.
    IamPolicy(IamPolicyArgs),
    /// Delete old versions in every region, keeping the newest N, those stages are granted, and
    /// those manifests name.
    Prune(PruneArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    Completions(CompletionsArgs),
    /// Write the man pages (cargo-layer.1 and one per command) into a directory.
    Man(ManArgs),
}

impl Command {
    /// The flags that select the packages, for the commands that read Cargo.toml.
    pub fn select(&self) -> Option<&SelectArgs> {
        match self {
            Command::Package(a) => Some(&a.select),
            Command::Publish(a) => Some(&a.select),
            Command::Promote(a) => Some(&a.select),
            Command::Verify(a) => Some(&a.select),
            Command::Revoke(a) => Some(&a.select),
            Command::Status(a) => Some(&a.select),
            Command::IamPolicy(a) => Some(&a.select),
            Command::Prune(a) => Some(&a.select),
            Command::Completions(_) | Command::Man(_) => None,
        }
    }

    /// The AWS flags, for the commands that talk to AWS.
    pub fn aws(&self) -> Option<&AwsArgs> {
        match self {
            Command::Publish(a) => Some(&a.aws),
            Command::Promote(a) => Some(&a.aws),
            Command::Verify(a) => Some(&a.aws),
            Command::Revoke(a) => Some(&a.aws),
            Command::Status(a) => Some(&a.aws),
            Command::Prune(a) => Some(&a.aws),
            Command::Package(_)
            | Command::IamPolicy(_)
            | Command::Completions(_)
            | Command::Man(_) => None,
        }
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Package to act on (repeatable); default: the current package, or every workspace member
    /// with [package.metadata.layer].
    #[arg(short, long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// Path to Cargo.toml.
    #[arg(long = "manifest-path", value_name = "PATH")]
    pub cargo_toml: Option<PathBuf>,
}

impl SelectArgs {
    pub fn selection(&self) -> Selection {
        Selection {
            cargo_toml: self.cargo_toml.clone(),
            packages: self.package.clone(),
        }
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct BuildArgs {
    /// Build for this target triple, e.g. aarch64-unknown-linux-musl; repeatable, one per
    /// architecture. Default: from compatible-architectures, else the host.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Vec<String>,
    /// What builds the binaries (over `builder` in Cargo.toml): cargo, zigbuild (links against
    /// the runtimes' glibc, from any host) or cross.
    #[arg(long, value_enum, value_name = "BUILDER")]
    pub builder: Option<Builder>,
    /// Build with the release profile (the default).
    #[arg(long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with this cargo profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Features to enable (comma or space separated, repeatable).
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Enable all features.
    #[arg(long)]
    pub all_features: bool,
    /// Do not enable the `default` feature.
    #[arg(long)]
    pub no_default_features: bool,
    /// Require Cargo.lock to be up to date.
    #[arg(long)]
    pub locked: bool,
    /// Do not run cargo build; pack what an earlier build left in the target directory.
    #[arg(long)]
    pub no_build: bool,
}

impl BuildArgs {
    pub fn options(&self, quiet: bool) -> BuildOptions {
        BuildOptions {
            targets: self.target.clone(),
            builder: self.builder,
            profile: self.profile.clone().unwrap_or_else(|| "release".into()),
            features: self
                .features
                .iter()
                .flat_map(|f| f.split([',', ' ']))
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            locked: self.locked,
            no_build: self.no_build,
            quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub build: BuildArgs,
    /// Directory for the zips; default: <target-dir>/layer.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Grant only this stage (repeatable); default: every stage in Cargo.toml.
    #[arg(long = "stage", value_name = "STAGE")]
    pub stages: Vec<String>,
    /// Print what would be published and granted; make no AWS write.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write the bare LayerVersionArn to this file (one line per layer and region).
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Directory for the zips and manifests; default: <target-dir>/layer.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Which version a command acts on: exactly one of these.
#[derive(Debug, Args)]
#[group(id = "which", required = true, multiple = false)]
pub struct VersionArgs {
    /// Version number, of the layer Cargo.toml configures; needs --region when the layer has
    /// several regions, since version numbers differ per region.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub version: Option<i64>,
    /// LayerVersionArn.
    #[arg(long, value_name = "ARN")]
    pub arn: Option<String>,
    /// Manifest written by `publish` (repeatable): every region of its `layer_version_arns`,
    /// each only if its version still holds the CodeSha256 recorded there.
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Stage to grant (repeatable).
    #[arg(long = "stage", value_name = "STAGE", required = true)]
    pub stages: Vec<String>,
    #[command(flatten)]
    pub which: VersionArgs,
    /// Print the grants that would be added; make no AWS write.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write the bare LayerVersionArn to this file.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Stage whose accounts read the version, through its stage role (repeatable).
    #[arg(long = "stage", value_name = "STAGE", required = true)]
    pub stages: Vec<String>,
    #[command(flatten)]
    pub which: VersionArgs,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Stage whose grants to remove.
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// Version number to remove them from.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub version: i64,
    /// Print what would be removed; make no AWS write.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Show only this version.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub version: Option<i64>,
    /// How many of the newest versions to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub limit: usize,
    /// Where `package` or `publish` wrote the zip to compare with; default: <target-dir>/layer.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Also show the history of this stage's parameter in each of its accounts (repeatable):
    /// the versions handed to it, newest last.
    #[arg(long = "stage", value_name = "STAGE")]
    pub stages: Vec<String>,
    /// How many entries of each parameter's history to show.
    #[arg(long, value_name = "N", default_value_t = 5, requires = "stages")]
    pub history: usize,
    /// Also list, through each stage role, the functions of the stage accounts (`$LATEST`,
    /// published versions and their aliases) whose layers include a version of this layer.
    #[arg(long)]
    pub where_used: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// How many of the newest versions to keep.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..), required = true)]
    pub keep: u16,
    /// Also keep, for each stage, the newest N versions that carry its grant: after a rollback
    /// a stage runs an older version, which still carries its grant.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub keep_granted: u16,
    /// Print what would be deleted and why the rest is kept; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep every version this manifest names, in each region of its `layer_version_arns`
    /// (repeatable): what a deploy still references.
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    /// Also delete old versions that other tools published.
    #[arg(long)]
    pub include_foreign: bool,
    /// Also delete old versions shared with an AWS Organization or with every account. Without
    /// it, such a version is kept whatever --keep-granted says: accounts nobody can list may
    /// deploy it.
    #[arg(long)]
    pub include_shared: bool,
}

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Scope the policy to this region instead of the configured ones.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Print what the stage role (`stage-role`) needs in each stage account, and its trust
    /// policy for the publishing role, instead of the publishing role's policy.
    #[arg(long)]
    pub stage_role: bool,
    /// `json`: the policy documents; `cloudformation`: a template that creates the stage role,
    /// ready for a StackSet across the organization (with --stage-role).
    #[arg(long, value_enum, default_value = "json", requires = "stage_role")]
    pub format: PolicyFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyFormat {
    Json,
    Cloudformation,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory for the pages; created if missing.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}
