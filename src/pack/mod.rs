//! Packing: build, map, check and zip each selected layer. Every check runs before any zip is
//! written, so a failed run leaves the previous zips untouched.

pub mod archive;
pub mod binary;
pub mod cache;
pub mod compile;
pub mod layout;

use std::path::{Path, PathBuf};

use crate::error::{Error, Kind, Result};
use crate::output;
use crate::output::progress::Progress;
use crate::project::config::{Builder, LayerConfig, LayerKind};
use crate::project::limits::{MAX_UNZIPPED_BYTES, MAX_ZIP_BYTES};
use crate::project::runtimes::{self, Glibc, Os, Runtime};
use crate::project::{Project, Selection};
use crate::schema::BuildInputs;
use archive::Archive;
use compile::BuildOptions;
use layout::Artifacts;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub selection: Selection,
    pub build: BuildOptions,
    pub out_dir: Option<PathBuf>,
}

/// A layer packed in memory and written to `zip_path`.
#[derive(Debug, Clone)]
pub struct Packaged {
    pub layer: LayerConfig,
    pub archive: Archive,
    pub zip_path: PathBuf,
    pub architectures: Vec<String>,
    /// What built the binaries (none for a `files` layer).
    pub build: Option<BuildInputs>,
}

/// Pack every layer of a loaded project in memory, then write all the zips.
pub fn pack_project(
    project: &Project,
    opts: &Options,
    progress: &Progress,
) -> Result<Vec<Packaged>> {
    check_unique_names(project)?;
    warn_deprecated(project, progress);
    let out_dir = out_dir(project, opts.out_dir.as_deref());
    let mut packaged = Vec::new();
    for layer in &project.layers {
        packaged.push(pack(layer, project, opts, &out_dir, progress)?);
        crate::interrupt::check()?;
    }
    for layer in &packaged {
        crate::interrupt::check()?;
        output::write_atomic(&layer.zip_path, &layer.archive.bytes)?;
    }
    Ok(packaged)
}

/// Where zips and manifests go: `--out-dir`, else `<target-dir>/layer`.
pub fn out_dir(project: &Project, flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(|| default_dir(&project.target_dir))
}

/// `<target-dir>/layer`, the one place this path is made.
pub fn default_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("layer")
}

/// The zip of layer `name` in `out_dir`.
pub fn zip_path(out_dir: &Path, name: &str) -> PathBuf {
    out_dir.join(format!("{name}.zip"))
}

fn check_unique_names(project: &Project) -> Result<()> {
    for (i, layer) in project.layers.iter().enumerate() {
        if let Some(other) = project.layers[..i].iter().find(|l| l.name == layer.name) {
            return Err(Error::new(
                Kind::Config,
                format!(
                    "\"{}\" is also the layer name of package `{}`",
                    layer.name, other.package
                ),
            )
            .fix("give each package its own layer name")
            .at(&layer.cargo_toml, "package.metadata.layer.name"));
        }
    }
    Ok(())
}

fn pack(
    layer: &LayerConfig,
    project: &Project,
    opts: &Options,
    out_dir: &Path,
    progress: &Progress,
) -> Result<Packaged> {
    let runtime = oldest_runtime(layer, progress);
    let plan = match layer.kind {
        LayerKind::Files => None,
        _ => Some(compile::build_for(layer, &opts.build, runtime.glibc())?),
    };
    let architectures = architectures(layer, plan.as_ref());
    let artifacts = match &plan {
        Some(plan) => {
            if !opts.build.no_build {
                progress.info(building(layer, plan, &opts.build));
            }
            compile::build(layer, plan, &opts.build, &project.target_dir)?
        }
        None => Artifacts::default(),
    };
    let step = progress.step(format!("packing layer {}", layer.name));
    let entries = layout::map(layer, &artifacts)?;
    check_binaries(layer, &entries, &architectures, runtime)?;
    check_unzipped_size(&entries)?;
    let zip_path = zip_path(out_dir, &layer.name);
    let mtime = archive::timestamp()?;
    let build = plan.as_ref().map(|plan| BuildInputs {
        builder: plan.builder.name().to_string(),
        target: plan.build_target(),
        env: layer.build_env.clone(),
    });
    let archive = cache::build(
        &entries,
        mtime,
        build.as_ref(),
        &project.target_dir,
        &zip_path,
    )?
    .archive;
    check_zip_size(layer, &archive)?;
    let files = archive.entries.len();
    step.finish(format!(
        "{} {} ({files} file{})",
        layer.name,
        output::human_size(archive.bytes.len() as u64),
        if files == 1 { "" } else { "s" }
    ));
    Ok(Packaged {
        layer: layer.clone(),
        archive,
        zip_path,
        architectures,
        build,
    })
}

/// "building <package> (release profile, <target>, zigbuild)".
fn building(layer: &LayerConfig, plan: &compile::Build, opts: &BuildOptions) -> String {
    let mut text = format!("building {} ({} profile", layer.package, opts.profile);
    if let Some(target) = plan.build_target() {
        text.push_str(&format!(", {target}"));
    }
    if plan.builder != Builder::Cargo {
        text.push_str(&format!(", {}", plan.builder.name()));
    }
    text.push(')');
    text
}

/// The runtime with the oldest glibc among `compatible-runtimes`; provided.al2023 when none are
/// listed.
fn oldest_runtime(layer: &LayerConfig, progress: &Progress) -> &'static Runtime {
    if layer.compatible_runtimes.is_empty() {
        progress.debug(format!(
            "layer {} lists no compatible-runtimes; checking its binaries against {} (glibc {})",
            layer.name,
            runtimes::DEFAULT_RUNTIME,
            Os::AmazonLinux2023.glibc()
        ));
    }
    runtimes::oldest(&runtimes::of_layer(&layer.compatible_runtimes))
        .or_else(|| runtimes::find(runtimes::DEFAULT_RUNTIME))
        .expect("the runtime table lists the default runtime")
}

/// Warn once per deprecated runtime, whichever layers list it.
fn warn_deprecated(project: &Project, progress: &Progress) {
    let today = runtimes::today();
    let mut seen: Vec<&str> = Vec::new();
    for layer in &project.layers {
        for runtime in runtimes::of_layer(&layer.compatible_runtimes) {
            if seen.contains(&runtime.id) || layer.compatible_runtimes.is_empty() {
                continue;
            }
            seen.push(runtime.id);
            if let Some(warning) = runtimes::deprecation_warning(runtime, today) {
                progress.warn(warning);
            }
        }
    }
}

/// Every built binary must be a Linux ELF of the layer's architectures; every ELF executable or
/// shared object among the includes too. None may need a newer glibc than the oldest runtime.
fn check_binaries(
    layer: &LayerConfig,
    entries: &[layout::Entry],
    architectures: &[String],
    runtime: &Runtime,
) -> Result<()> {
    for entry in entries {
        let elf = if entry.built {
            binary::check(&entry.source, architectures)?
        } else {
            match binary::inspect(&entry.source)? {
                Some(elf) if elf.loadable => {
                    binary::check_arch(&entry.source, &elf, architectures)?;
                    elf
                }
                _ => continue,
            }
        };
        if let Some(needed) = elf.glibc.filter(|needed| *needed > runtime.glibc()) {
            return Err(glibc_error(layer, entry, &elf, needed, runtime));
        }
    }
    Ok(())
}

fn glibc_error(
    layer: &LayerConfig,
    entry: &layout::Entry,
    elf: &binary::Elf,
    needed: Glibc,
    runtime: &Runtime,
) -> Error {
    let have = runtime.glibc();
    let id = runtime.id;
    let which = if layer.compatible_runtimes.is_empty() {
        format!(
            "compatible-runtimes is empty, so {id} is assumed, which runs on {} with glibc {have}",
            runtime.os.name()
        )
    } else {
        format!(
            "runtime {id} runs on {} with glibc {have}",
            runtime.os.name()
        )
    };
    let arch = elf.arch.unwrap_or("x86_64");
    let musl = if arch == "arm64" {
        "aarch64-unknown-linux-musl"
    } else {
        "x86_64-unknown-linux-musl"
    };
    let drop = if layer.compatible_runtimes.is_empty() {
        String::new()
    } else {
        format!(", or remove \"{id}\" from compatible-runtimes")
    };
    let fix = if entry.built {
        format!(
            "build with builder = \"zigbuild\" (links against glibc {have}), or for a musl target (--target {musl}){drop}"
        )
    } else {
        format!(
            "rebuild that file against glibc {have} or older (for example with zig cc -target {}-linux-gnu.{have}) or statically{drop}",
            if arch == "arm64" { "aarch64" } else { "x86_64" }
        )
    };
    Error::new(Kind::Package, format!("{} ({} in layer {}) needs GLIBC_{needed}, but {which}: it would fail at cold start with `version 'GLIBC_{needed}' not found`", entry.source.display(), entry.path, layer.name)).fix(fix.to_string())
}

/// `compatible-architectures`, else the architecture the layer is built for.
fn architectures(layer: &LayerConfig, plan: Option<&compile::Build>) -> Vec<String> {
    if let Some(archs) = &layer.compatible_architectures {
        return archs.clone();
    }
    plan.map(|plan| vec![plan.arch.to_string()])
        .unwrap_or_default()
}

fn largest(mut sizes: Vec<(u64, String)>) -> String {
    sizes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    sizes
        .iter()
        .take(3)
        .map(|(size, path)| format!("{path} ({})", output::human_size(*size)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_unzipped_size(entries: &[layout::Entry]) -> Result<()> {
    let mut sizes = Vec::new();
    for entry in entries {
        let meta =
            std::fs::metadata(&entry.source).map_err(|e| Error::io("read", &entry.source, e))?;
        sizes.push((meta.len(), entry.path.clone()));
    }
    let total: u64 = sizes.iter().map(|s| s.0).sum();
    if total > MAX_UNZIPPED_BYTES {
        return Err(Error::new(
            Kind::Package,
            format!(
                "the layer unzips to {total} bytes, over Lambda's limit of {MAX_UNZIPPED_BYTES} bytes for a function and all its layers; largest entries: {}",
                largest(sizes)
            ),
        ));
    }
    Ok(())
}

/// Over 50 MB a zip cannot go to Lambda directly; it goes through S3 when `s3-bucket` is set.
fn check_zip_size(layer: &LayerConfig, archive: &Archive) -> Result<()> {
    let size = archive.bytes.len() as u64;
    if size > MAX_ZIP_BYTES && layer.s3_bucket.is_none() {
        let sizes = archive
            .entries
            .iter()
            .map(|e| (e.size, e.path.clone()))
            .collect();
        return Err(Error::new(Kind::Package, format!("is not set, and the zip is {size} bytes, over the {MAX_ZIP_BYTES}-byte limit for a direct upload to Lambda; set s3-bucket = \"<bucket>-{{region}}\" to publish through S3, or make the layer smaller (largest entries: {}", largest(sizes))).fix("profile.release.strip = true drops debug info)").at(&layer.cargo_toml, "package.metadata.layer.s3-bucket"));
    }
    Ok(())
}
