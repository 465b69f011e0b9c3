//! Runs the layer's builder (`cargo build`, `cargo zigbuild` or `cross build`) for its target and
//! collects the artifact paths cargo reports, so the layer never guesses where a binary ended up
//! (target triples, profiles, CARGO_TARGET_DIR). The target comes from `--target`, else from
//! `compatible-architectures`, else the host; every missing tool is reported before the build.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, TargetKind};

use crate::error::{Error, Kind, Result};
use crate::pack::binary;
use crate::pack::layout::Artifacts;
use crate::project::config::{Builder, LayerConfig, LayerKind};
use crate::project::runtimes::Glibc;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--target`, at most one per architecture; each replaces the default triple of its
    /// architecture.
    pub targets: Vec<String>,
    /// `--builder`, over the configuration's `builder`.
    pub builder: Option<Builder>,
    /// Cargo profile name; `release` unless the user chose another.
    pub profile: String,
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    pub locked: bool,
    pub no_build: bool,
    pub quiet: bool,
}

/// How one layer is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub builder: Builder,
    /// The cargo target triple; None builds for the host (artifacts in `target/<profile>`).
    pub target: Option<String>,
    /// The Lambda architecture the binaries are built for.
    pub arch: &'static str,
    /// The oldest glibc of the layer's runtimes: what zigbuild links against.
    pub glibc: Glibc,
}

impl Build {
    /// What the builder is given as `--target`: zigbuild takes the glibc after the triple.
    pub fn build_target(&self) -> Option<String> {
        let target = self.target.as_deref()?;
        if self.builder == Builder::Zigbuild && target.ends_with("-linux-gnu") {
            return Some(format!("{target}.{}", self.glibc));
        }
        Some(target.to_string())
    }
}

/// Decide builder and target for a layer that builds (not `kind = "files"`).
pub fn build_for(layer: &LayerConfig, opts: &BuildOptions, glibc: Glibc) -> Result<Build> {
    let builder = opts.builder.unwrap_or(layer.builder);
    let given = given_targets(&opts.targets)?;
    let configured = layer
        .compatible_architectures
        .as_deref()
        .filter(|archs| archs.len() == 1)
        .map(|archs| archs[0].as_str());
    let (arch, target) = match configured {
        Some(arch) => configured_target(layer, arch, &given, builder)?,
        None => unconfigured_target(layer, &given, builder)?,
    };
    Ok(Build {
        builder,
        target,
        arch,
        glibc,
    })
}

/// The `--target`s with their architectures; at most one per architecture.
fn given_targets(targets: &[String]) -> Result<Vec<(&'static str, String)>> {
    let mut given: Vec<(&'static str, String)> = Vec::new();
    for triple in targets {
        let arch = binary::arch_of_triple(triple).ok_or_else(|| {
            Error::new(
                Kind::Config,
                format!("--target {triple}: Lambda runs only x86_64 and aarch64"),
            )
            .fix("pick one of those targets")
        })?;
        if let Some((_, other)) = given.iter().find(|(a, _)| *a == arch) {
            return Err(Error::new(
                Kind::Config,
                format!("--target {triple} and --target {other} both build {arch}"),
            )
            .fix("give at most one --target per architecture"));
        }
        given.push((arch, triple.clone()));
    }
    Ok(given)
}

fn configured_target(
    layer: &LayerConfig,
    arch: &str,
    given: &[(&'static str, String)],
    builder: Builder,
) -> Result<(&'static str, Option<String>)> {
    let arch = binary::arch_name(arch);
    if let Some((_, triple)) = given.iter().find(|(a, _)| *a == arch) {
        return Ok((arch, Some(triple.clone())));
    }
    // A per-architecture layer builds its own default when --target is for the other half.
    if let Some((other, triple)) = given.first().filter(|_| !layer.split) {
        return Err(Error::new(
            Kind::Config,
            format!(
                "--target {triple} builds {other} binaries, but layer {} has compatible-architectures = [\"{arch}\"]; pass --target {} or change compatible-architectures",
                layer.name,
                binary::default_triple(arch)
            ),
        ));
    }
    let target = layer.target.clone();
    Ok((arch, target.or_else(|| default_target(arch, builder))))
}

fn unconfigured_target(
    layer: &LayerConfig,
    given: &[(&'static str, String)],
    builder: Builder,
) -> Result<(&'static str, Option<String>)> {
    match given {
        [] => {
            let arch = binary::host_arch().ok_or_else(|| {
                Error::new(Kind::Config, format!("this host ({}) is not an architecture Lambda runs", std::env::consts::ARCH)).fix("set compatible-architectures or pass --target x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu")
            })?;
            Ok((arch, default_target(arch, builder)))
        }
        [(arch, triple)] => Ok((arch, Some(triple.clone()))),
        _ => Err(Error::new(Kind::Config, format!("is not set, so layer {} is built for one target, but several --target were given", layer.name)).fix("set compatible-architectures = [\"x86_64\", \"arm64\"] to build one layer per architecture").at(&layer.cargo_toml, "package.metadata.layer.compatible-architectures")),
    }
}

/// Lambda runs Linux: a plain `cargo build` for the host only when the host is Linux on that
/// architecture; every other case names the Linux target.
fn default_target(arch: &str, builder: Builder) -> Option<String> {
    let native = cfg!(target_os = "linux") && binary::host_arch() == Some(arch);
    if builder == Builder::Cargo && native {
        None
    } else {
        Some(binary::default_triple(arch).to_string())
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Build the layer's package (unless `--no-build`) and return what it produced.
pub fn build(
    layer: &LayerConfig,
    plan: &Build,
    opts: &BuildOptions,
    target_dir: &Path,
) -> Result<Artifacts> {
    if layer.kind == LayerKind::Files {
        return Ok(Artifacts::default());
    }
    if opts.no_build {
        return Ok(existing_artifacts(layer, plan, opts, target_dir));
    }
    let mut cmd = builder_command(plan)?;
    cmd.envs(&layer.build_env);
    if let Some(target) = &plan.target {
        check_target_installed(target, plan.builder, &layer.package_root)?;
    }
    cmd.arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&layer.cargo_toml)
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
    if let Some(target) = plan.build_target() {
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
    let artifacts = run_build(cmd, layer, plan.builder)?;
    if plan.builder == Builder::Cross {
        // cross reports paths inside its container; the files are in the mounted target dir.
        return Ok(existing_artifacts(layer, plan, opts, target_dir));
    }
    Ok(artifacts)
}

/// `cargo build`, `cargo-zigbuild zigbuild` or `cross build`, once the tool is known to be there.
fn builder_command(build: &Build) -> Result<Command> {
    match build.builder {
        Builder::Cargo => {
            let mut cmd = cargo();
            cmd.arg("build");
            Ok(cmd)
        }
        Builder::Zigbuild => {
            let program = find_program("cargo-zigbuild").ok_or_else(|| {
                Error::new(Kind::Build, "builder = \"zigbuild\" needs cargo-zigbuild, which is not on PATH").fix("install it with `pip install cargo-zigbuild` (brings zig), or `cargo install --locked cargo-zigbuild` plus zig from https://ziglang.org/download/")
            })?;
            let mut cmd = Command::new(&program);
            // What cargo runs for `cargo zigbuild`.
            cmd.arg("zigbuild");
            if let Some(python) = zig_python(&program)? {
                cmd.env("CARGO_ZIGBUILD_PYTHON_PATH", python);
            }
            Ok(cmd)
        }
        Builder::Cross => {
            let program = find_program("cross").ok_or_else(|| {
                Error::new(Kind::Build, "builder = \"cross\" needs cross, which is not on PATH").fix("install it with `cargo install cross --git https://github.com/cross-rs/cross` (it builds in Docker or Podman)")
            })?;
            let mut cmd = Command::new(program);
            cmd.arg("build");
            Ok(cmd)
        }
    }
}

/// `name` on PATH, as the shell would find it.
fn find_program(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// cargo-zigbuild runs zig as `python3 -m ziglang` (the PyPI `ziglang` package) or as `zig` on
/// PATH. A pip, pipx or venv install puts ziglang beside cargo-zigbuild, where the `python3` on
/// PATH may not see it: point cargo-zigbuild at the Python next to its own executable. Returns
/// that Python, or None when zig is found the way cargo-zigbuild looks by itself.
fn zig_python(cargo_zigbuild: &Path) -> Result<Option<PathBuf>> {
    if std::env::var_os("CARGO_ZIGBUILD_PYTHON_PATH").is_some()
        || std::env::var_os("CARGO_ZIGBUILD_ZIG_PATH").is_some()
    {
        return Ok(None);
    }
    let real = std::fs::canonicalize(cargo_zigbuild).unwrap_or(cargo_zigbuild.to_path_buf());
    let beside = real.parent().map(|dir| dir.join("python3"));
    if let Some(python) = beside.filter(|p| p.is_file() && runs(p, &["-m", "ziglang", "version"])) {
        return Ok(Some(python));
    }
    let python3 = find_program("python3");
    let zig = find_program("zig");
    if python3.is_some_and(|p| runs(&p, &["-m", "ziglang", "version"]))
        || zig.is_some_and(|z| runs(&z, &["version"]))
    {
        return Ok(None);
    }
    Err(Error::new(Kind::Build, format!("builder = \"zigbuild\": cargo-zigbuild is installed ({}) but zig is not", cargo_zigbuild.display())).fix("install zig with `pip install ziglang` into the same environment as cargo-zigbuild, or put zig from https://ziglang.org/download/ on PATH"))
}

fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Stop before the build when the target's standard library is missing, instead of leaving the
/// user to decode rustc's "can't find crate for `std`". cross brings its own toolchain.
fn check_target_installed(target: &str, builder: Builder, package_root: &Path) -> Result<()> {
    if builder == Builder::Cross || target.ends_with(".json") {
        return Ok(());
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    // From the package directory, so a rust-toolchain.toml there picks the toolchain.
    let Ok(output) = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(package_root)
        .output()
    else {
        return Ok(());
    };
    if !output.status.success() {
        return Ok(());
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let std_dir = sysroot.join("lib/rustlib").join(target).join("lib");
    if std_dir.is_dir() {
        return Ok(());
    }
    Err(Error::new(
        Kind::Build,
        format!(
            "the Rust standard library for {target} is not installed (no {})",
            std_dir.display()
        ),
    )
    .fix(format!(
        "run `rustup target add {target}`, then build again"
    )))
}

fn run_build(mut cmd: Command, layer: &LayerConfig, builder: Builder) -> Result<Artifacts> {
    let tool = builder_name(builder);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::new(Kind::Build, format!("could not run {tool}: {e}")))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut artifacts = Artifacts::default();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message = message
            .map_err(|e| Error::new(Kind::Build, format!("could not read cargo's output: {e}")))?;
        let Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        if artifact.manifest_path.as_std_path() != layer.cargo_toml {
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
        .map_err(|e| Error::new(Kind::Build, format!("{tool} did not finish: {e}")))?;
    crate::interrupt::check()?;
    if !status.success() {
        return Err(Error::new(
            Kind::Build,
            format!("{tool} failed for package `{}` ({status})", layer.package),
        )
        .fix("fix the errors above"));
    }
    Ok(artifacts)
}

fn builder_name(builder: Builder) -> &'static str {
    match builder {
        Builder::Cargo => "cargo build",
        Builder::Zigbuild => "cargo zigbuild",
        Builder::Cross => "cross build",
    }
}

/// Where cargo puts artifacts for this profile and target: `target/[triple/]<dir>`.
pub fn profile_dir(target_dir: &Path, target: Option<&str>, opts: &BuildOptions) -> PathBuf {
    let dir = match opts.profile.as_str() {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    match target {
        Some(triple) => target_dir.join(triple).join(dir),
        None => target_dir.join(dir),
    }
}

/// `--no-build`: take what an earlier build left where this plan's build puts it, and let layout
/// report anything missing, naming the directories looked in.
fn existing_artifacts(
    layer: &LayerConfig,
    plan: &Build,
    opts: &BuildOptions,
    target_dir: &Path,
) -> Artifacts {
    let dirs = built_dirs(plan, opts, target_dir);
    let complete = |found: &Artifacts| match layer.kind {
        LayerKind::Lib => found.cdylib.is_some(),
        _ => found.bins.len() == layer.bins.len(),
    };
    dirs.iter()
        .map(|dir| artifacts_in(layer, dir))
        .find(complete)
        .unwrap_or(Artifacts {
            searched: dirs,
            ..Artifacts::default()
        })
}

/// Where a build for this plan may have left its files, the plan's own place first. The host's
/// architecture is built into `target/<profile>` without `--target` and into
/// `target/<triple>/<profile>` with it: with the plain cargo builder, either will do.
fn built_dirs(plan: &Build, opts: &BuildOptions, target_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![profile_dir(target_dir, plan.target.as_deref(), opts)];
    let host_triple = binary::default_triple(plan.arch);
    let native = cfg!(target_os = "linux") && binary::host_arch() == Some(plan.arch);
    if plan.builder == Builder::Cargo && native {
        match plan.target.as_deref() {
            None => dirs.push(profile_dir(target_dir, Some(host_triple), opts)),
            Some(triple) if triple == host_triple => dirs.push(profile_dir(target_dir, None, opts)),
            Some(_) => {}
        }
    }
    dirs
}

fn artifacts_in(layer: &LayerConfig, dir: &Path) -> Artifacts {
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
    Artifacts {
        bins,
        cdylib,
        searched: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(archs: Option<&[&str]>, split: bool) -> LayerConfig {
        LayerConfig {
            name: "ext".into(),
            compatible_architectures: archs.map(|a| a.iter().map(|s| s.to_string()).collect()),
            split,
            ..Default::default()
        }
    }

    fn opts(targets: &[&str], builder: Option<Builder>) -> BuildOptions {
        BuildOptions {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            builder,
            ..Default::default()
        }
    }

    const AL2: Glibc = Glibc::new(2, 26);

    #[test]
    fn zigbuild_appends_the_runtime_glibc_to_gnu_targets_only() {
        let planned = build_for(
            &layer(Some(&["arm64"]), false),
            &opts(&[], Some(Builder::Zigbuild)),
            AL2,
        )
        .unwrap();
        assert_eq!(planned.target.as_deref(), Some("aarch64-unknown-linux-gnu"));
        assert_eq!(
            planned.build_target().as_deref(),
            Some("aarch64-unknown-linux-gnu.2.26")
        );
        let musl = opts(&["x86_64-unknown-linux-musl"], Some(Builder::Zigbuild));
        let planned = build_for(&layer(None, false), &musl, AL2).unwrap();
        assert_eq!(
            planned.build_target().as_deref(),
            Some("x86_64-unknown-linux-musl")
        );
        assert_eq!(planned.arch, "x86_64");
    }

    #[test]
    fn cargo_builds_for_the_host_only_when_it_is_linux_on_that_architecture() {
        let planned = build_for(&layer(Some(&["arm64"]), false), &opts(&[], None), AL2).unwrap();
        let native = cfg!(target_os = "linux") && binary::host_arch() == Some("arm64");
        assert_eq!(planned.target.is_none(), native);
        let planned = build_for(&layer(Some(&["x86_64"]), false), &opts(&[], None), AL2).unwrap();
        let native = cfg!(target_os = "linux") && binary::host_arch() == Some("x86_64");
        assert_eq!(planned.target.is_none(), native);
        // cross always names the target: it picks the container image by it.
        let planned = build_for(
            &layer(Some(&["x86_64"]), false),
            &opts(&[], Some(Builder::Cross)),
            AL2,
        )
        .unwrap();
        assert_eq!(planned.target.as_deref(), Some("x86_64-unknown-linux-gnu"));
    }

    #[test]
    fn a_target_replaces_its_architectures_triple_in_a_split_layer() {
        let given = opts(&["aarch64-unknown-linux-musl"], None);
        let arm = build_for(&layer(Some(&["arm64"]), true), &given, AL2).unwrap();
        assert_eq!(arm.target.as_deref(), Some("aarch64-unknown-linux-musl"));
        let x86 = build_for(&layer(Some(&["x86_64"]), true), &given, AL2).unwrap();
        assert_eq!(x86.arch, "x86_64");
        assert_ne!(x86.target.as_deref(), Some("aarch64-unknown-linux-musl"));
        // Not split: the same --target contradicts the configuration.
        let err = build_for(&layer(Some(&["x86_64"]), false), &given, AL2).unwrap_err();
        assert_eq!(err.exit_code(), 3);
    }

    #[test]
    fn the_builder_flag_wins_over_the_configuration() {
        let mut configured = layer(Some(&["x86_64"]), false);
        configured.builder = Builder::Zigbuild;
        assert_eq!(
            build_for(&configured, &opts(&[], None), AL2)
                .unwrap()
                .builder,
            Builder::Zigbuild
        );
        let planned = build_for(&configured, &opts(&[], Some(Builder::Cargo)), AL2).unwrap();
        assert_eq!(planned.builder, Builder::Cargo);
    }
}
