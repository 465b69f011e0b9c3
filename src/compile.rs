//! Runs `cargo build` for a layer's targets and collects the artifact paths cargo reports, so the
//! layer never guesses where a binary ended up (target triples, profiles, CARGO_TARGET_DIR).

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, TargetKind};

use crate::config::{LayerConfig, LayerKind};
use crate::error::{Error, Kind, Result};
use crate::layout::Artifacts;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub target: Option<String>,
    /// Cargo profile name; `release` unless the user chose another.
    pub profile: String,
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    pub locked: bool,
    pub no_build: bool,
    pub quiet: bool,
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Build the layer's package (unless `--no-build`) and return what it produced.
pub fn build(layer: &LayerConfig, opts: &BuildOptions, target_dir: &Path) -> Result<Artifacts> {
    if layer.kind == LayerKind::Files {
        return Ok(Artifacts::default());
    }
    if opts.no_build {
        return Ok(existing_artifacts(layer, opts, target_dir));
    }
    let mut cmd = cargo();
    cmd.arg("build")
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&layer.manifest_path)
        .arg("--profile")
        .arg(&opts.profile);
    match layer.kind {
        LayerKind::Lib => {
            cmd.arg("--lib");
        }
        _ => {
            for bin in &layer.bins {
                cmd.arg("--bin").arg(bin);
            }
        }
    }
    if let Some(target) = &opts.target {
        cmd.arg("--target").arg(target);
    }
    if !opts.features.is_empty() {
        cmd.arg("--features").arg(opts.features.join(","));
    }
    for (on, flag) in [
        (opts.all_features, "--all-features"),
        (opts.no_default_features, "--no-default-features"),
        (opts.locked, "--locked"),
        (opts.quiet, "--quiet"),
    ] {
        if on {
            cmd.arg(flag);
        }
    }
    run_build(cmd, layer)
}

fn run_build(mut cmd: Command, layer: &LayerConfig) -> Result<Artifacts> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::new(Kind::Build, format!("could not run cargo build: {e}")))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut artifacts = Artifacts::default();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message = message
            .map_err(|e| Error::new(Kind::Build, format!("could not read cargo's output: {e}")))?;
        let Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        if artifact.manifest_path.as_std_path() != layer.manifest_path {
            continue;
        }
        if let Some(exe) = artifact.executable {
            artifacts
                .bins
                .insert(artifact.target.name.clone(), exe.into_std_path_buf());
        } else if artifact.target.kind.contains(&TargetKind::CDyLib) {
            artifacts.cdylib = artifact
                .filenames
                .iter()
                .find(|f| f.extension() == Some("so"))
                .map(|f| f.clone().into_std_path_buf());
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::new(Kind::Build, format!("cargo build did not finish: {e}")))?;
    crate::interrupt::check()?;
    if !status.success() {
        return Err(Error::new(
            Kind::Build,
            format!(
                "cargo build failed for package `{}` ({status}); fix the errors above",
                layer.package
            ),
        ));
    }
    Ok(artifacts)
}

/// Where cargo puts artifacts for this profile and target: `target/[triple/]<dir>`.
pub fn profile_dir(target_dir: &Path, opts: &BuildOptions) -> PathBuf {
    let dir = match opts.profile.as_str() {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    match &opts.target {
        Some(triple) => target_dir.join(triple).join(dir),
        None => target_dir.join(dir),
    }
}

/// `--no-build`: take what an earlier build left, and let layout report anything missing.
fn existing_artifacts(layer: &LayerConfig, opts: &BuildOptions, target_dir: &Path) -> Artifacts {
    let dir = profile_dir(target_dir, opts);
    let bins = layer
        .bins
        .iter()
        .map(|bin| (bin.clone(), dir.join(bin)))
        .filter(|(_, path)| path.is_file())
        .collect();
    let cdylib = layer
        .cdylib
        .as_ref()
        .map(|name| dir.join(format!("lib{}.so", name.replace('-', "_"))))
        .filter(|path| path.is_file());
    Artifacts { bins, cdylib }
}
