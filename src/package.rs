//! `cargo layer package`: build, map, check and zip each selected layer. Every check runs before
//! any zip is written, so a failed run leaves the previous zips untouched.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::archive::{self, Archive, StoredEntry};
use crate::binary;
use crate::compile::{self, BuildOptions};
use crate::config::{LayerConfig, LayerKind};
use crate::error::{Error, Kind, Result};
use crate::layout;
use crate::limits::{MAX_UNZIPPED_BYTES, MAX_ZIP_BYTES};
use crate::output::{self, MessageFormat};
use crate::progress::Progress;
use crate::project::{self, Project, Selection};

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
}

/// The `--message-format json` object for one packaged layer (schema version 1).
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub schema_version: u32,
    pub r#type: &'static str,
    pub name: &'a str,
    pub package: &'a str,
    pub kind: LayerKind,
    pub zip: &'a Path,
    pub code_sha256: &'a str,
    pub sha256: &'a str,
    pub zip_size: u64,
    pub unzipped_size: u64,
    pub compatible_architectures: &'a [String],
    pub compatible_runtimes: &'a [String],
    pub entries: &'a [StoredEntry],
}

impl Packaged {
    pub fn report(&self) -> Report<'_> {
        Report {
            schema_version: 1,
            r#type: "package",
            name: &self.layer.name,
            package: &self.layer.package,
            kind: self.layer.kind,
            zip: &self.zip_path,
            code_sha256: &self.archive.code_sha256,
            sha256: &self.archive.sha256,
            zip_size: self.archive.bytes.len() as u64,
            unzipped_size: self.archive.unzipped_size,
            compatible_architectures: &self.architectures,
            compatible_runtimes: &self.layer.compatible_runtimes,
            entries: &self.archive.entries,
        }
    }
}

/// `cargo layer package`.
pub fn run(opts: &Options, format: MessageFormat, progress: &Progress) -> Result<Vec<Packaged>> {
    let (_, packaged) = package_all(opts, progress)?;
    for layer in &packaged {
        print(layer, format);
    }
    Ok(packaged)
}

pub fn print(layer: &Packaged, format: MessageFormat) {
    match format {
        MessageFormat::Json => output::print_json(&layer.report()),
        MessageFormat::Human => {
            let a = &layer.archive;
            println!("{}  {}", layer.layer.name, layer.zip_path.display());
            println!(
                "  zip size       {} ({} bytes)",
                output::human_size(a.bytes.len() as u64),
                a.bytes.len()
            );
            println!(
                "  unzipped size  {} ({} bytes)",
                output::human_size(a.unzipped_size),
                a.unzipped_size
            );
            println!("  sha256         {}", a.sha256);
            println!("  CodeSha256     {}", a.code_sha256);
        }
    }
}

/// Load the project, then pack every selected layer and write the zips.
pub fn package_all(opts: &Options, progress: &Progress) -> Result<(Project, Vec<Packaged>)> {
    let project = project::load(&opts.selection)?;
    let packaged = pack_project(&project, opts, progress)?;
    Ok((project, packaged))
}

/// Pack every layer of a loaded project in memory, then write all the zips.
pub fn pack_project(
    project: &Project,
    opts: &Options,
    progress: &Progress,
) -> Result<Vec<Packaged>> {
    check_unique_names(project)?;
    let out_dir = out_dir(project, opts);
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

pub fn out_dir(project: &Project, opts: &Options) -> PathBuf {
    opts.out_dir
        .clone()
        .unwrap_or_else(|| project.target_dir.join("layer"))
}

fn check_unique_names(project: &Project) -> Result<()> {
    for (i, layer) in project.layers.iter().enumerate() {
        if let Some(other) = project.layers[..i].iter().find(|l| l.name == layer.name) {
            return Err(Error::at_key(
                Kind::Config,
                &layer.manifest_path,
                "package.metadata.layer.name",
                format!(
                    "\"{}\" is also the layer name of package `{}`; give each package its own layer name",
                    layer.name, other.package
                ),
            ));
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
    let architectures = architectures(layer, opts.build.target.as_deref())?;
    if !opts.build.no_build && layer.kind != LayerKind::Files {
        progress.info(format!(
            "building {} ({} profile{})",
            layer.package,
            opts.build.profile,
            opts.build
                .target
                .as_deref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default()
        ));
    }
    let artifacts = compile::build(layer, &opts.build, &project.target_dir)?;
    let step = progress.step(format!("packing layer {}", layer.name));
    let entries = layout::plan(layer, &artifacts)?;
    for entry in entries.iter().filter(|e| e.built) {
        binary::check(&entry.source, &architectures)?;
    }
    check_unzipped_size(&entries)?;
    let archive = crate::cache::build(
        &entries,
        archive::timestamp()?,
        &project.target_dir,
        &out_dir.join(format!("{}.zip", layer.name)),
    )?
    .archive;
    check_zip_size(&archive)?;
    let zip_path = out_dir.join(format!("{}.zip", layer.name));
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
    })
}

/// `compatible-architectures`, else the `--target` architecture, else the host's.
fn architectures(layer: &LayerConfig, target: Option<&str>) -> Result<Vec<String>> {
    if let Some(archs) = &layer.compatible_architectures {
        return Ok(archs.clone());
    }
    if layer.kind == LayerKind::Files {
        return Ok(Vec::new());
    }
    let arch = match target {
        Some(triple) => binary::arch_of_triple(triple).ok_or_else(|| {
            Error::config(format!(
                "--target {triple}: Lambda runs only x86_64 and aarch64; pick one of those targets"
            ))
        })?,
        None => binary::host_arch().ok_or_else(|| {
            Error::config(format!(
                "this host ({}) is not an architecture Lambda runs; pass --target x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu",
                std::env::consts::ARCH
            ))
        })?,
    };
    Ok(vec![arch.to_string()])
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
        return Err(Error::package(format!(
            "the layer unzips to {total} bytes, over Lambda's limit of {MAX_UNZIPPED_BYTES} bytes for a function and all its layers; largest entries: {}",
            largest(sizes)
        )));
    }
    Ok(())
}

fn check_zip_size(archive: &Archive) -> Result<()> {
    let size = archive.bytes.len() as u64;
    if size > MAX_ZIP_BYTES {
        let sizes = archive
            .entries
            .iter()
            .map(|e| (e.size, e.path.clone()))
            .collect();
        return Err(Error::package(format!(
            "the zip is {size} bytes, over the {MAX_ZIP_BYTES}-byte limit for a direct upload to Lambda; largest entries: {}; strip debug info (profile.release.strip = true) or move large files out of the layer",
            largest(sizes)
        )));
    }
    Ok(())
}
