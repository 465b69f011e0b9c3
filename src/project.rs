//! The cargo side: run `cargo metadata`, pick the packages to act on, and read their layer
//! configuration (workspace defaults first, package keys on top).

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, Package, TargetKind};

use crate::config::{self, LayerConfig, PackageInfo, RawLayer, Source};
use crate::error::{Error, Kind, Result};

pub struct Project {
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    pub layers: Vec<LayerConfig>,
}

/// Which packages to act on, as the user selected them.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub manifest_path: Option<PathBuf>,
    pub packages: Vec<String>,
}

pub fn load(selection: &Selection) -> Result<Project> {
    let metadata = run_cargo_metadata(selection.manifest_path.as_deref())?;
    let workspace_manifest = metadata
        .workspace_root
        .join("Cargo.toml")
        .into_std_path_buf();
    let workspace_raw = workspace_defaults(&metadata, &workspace_manifest)?;
    let packages = select(&metadata, selection)?;
    let layers = packages
        .into_iter()
        .map(|pkg| layer_config(pkg, workspace_raw.clone(), &workspace_manifest))
        .collect::<Result<Vec<_>>>()?;
    Ok(Project {
        workspace_root: metadata.workspace_root.clone().into_std_path_buf(),
        target_dir: metadata.target_directory.clone().into_std_path_buf(),
        layers,
    })
}

fn run_cargo_metadata(manifest_path: Option<&Path>) -> Result<Metadata> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(path) = manifest_path {
        cmd.manifest_path(path);
    }
    cmd.exec().map_err(|err| match err {
        cargo_metadata::Error::CargoMetadata { stderr } => Error::new(
            Kind::Config,
            format!(
                "cargo metadata failed: {}",
                stderr.trim().replace('\n', " | ")
            ),
        ),
        other => Error::new(Kind::Config, format!("cargo metadata failed: {other}")),
    })
}

fn workspace_defaults(metadata: &Metadata, manifest: &Path) -> Result<RawLayer> {
    match metadata.workspace_metadata.get("layer") {
        None => Ok(RawLayer::default()),
        Some(value) => config::parse_raw(
            value,
            &Source {
                file: manifest,
                prefix: "workspace.metadata.layer",
            },
        ),
    }
}

fn has_layer_metadata(pkg: &Package) -> bool {
    pkg.metadata.get("layer").is_some()
}

/// `-p` wins; else the package of the manifest in use, if it has layer metadata; else every
/// workspace member that has it.
fn select<'a>(metadata: &'a Metadata, selection: &Selection) -> Result<Vec<&'a Package>> {
    let members = metadata.workspace_packages();
    if !selection.packages.is_empty() {
        return selection
            .packages
            .iter()
            .map(|name| {
                members
                    .iter()
                    .find(|p| p.name.as_str() == name)
                    .copied()
                    .ok_or_else(|| {
                        let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                        Error::config(format!(
                            "-p {name}: no such package in this workspace; members are: {}",
                            names.join(", ")
                        ))
                    })
            })
            .collect();
    }
    let current = current_manifest(selection.manifest_path.as_deref());
    if let Some(pkg) = members
        .iter()
        .find(|p| current.as_deref() == Some(p.manifest_path.as_std_path()))
        && has_layer_metadata(pkg)
    {
        return Ok(vec![pkg]);
    }
    let with_layer: Vec<&Package> = members
        .into_iter()
        .filter(|p| has_layer_metadata(p))
        .collect();
    if with_layer.is_empty() {
        return Err(Error::config(
            "no package here has a [package.metadata.layer] table; add one to Cargo.toml (see the README), or pick a package with -p",
        ));
    }
    Ok(with_layer)
}

/// The Cargo.toml cargo itself would use: `--manifest-path`, else the nearest one upwards.
fn current_manifest(manifest_path: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = manifest_path {
        return std::fs::canonicalize(path).ok();
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join("Cargo.toml"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

fn layer_config(
    pkg: &Package,
    workspace_raw: RawLayer,
    workspace_manifest: &Path,
) -> Result<LayerConfig> {
    let manifest = pkg.manifest_path.as_std_path();
    let source = Source {
        file: manifest,
        prefix: "package.metadata.layer",
    };
    let package_raw = match pkg.metadata.get("layer") {
        Some(value) => config::parse_raw(value, &source)?,
        None => RawLayer::default(),
    };
    let bin_targets = pkg
        .targets
        .iter()
        .filter(|t| t.kind.contains(&TargetKind::Bin))
        .map(|t| t.name.as_str())
        .collect();
    let info = PackageInfo {
        name: pkg.name.as_str(),
        manifest_path: manifest,
        description: pkg.description.as_deref(),
        license: pkg.license.as_deref(),
        bin_targets,
        cdylib: pkg
            .targets
            .iter()
            .find(|t| t.kind.contains(&TargetKind::CDyLib))
            .map(|t| t.name.as_str()),
    };
    let include_inherited = package_raw.include.is_none() && workspace_raw.include.is_some();
    let mut layer = config::resolve(config::merge(workspace_raw, package_raw), &info, &source)?;
    if include_inherited {
        layer.include_origin = config::KeyOrigin {
            file: workspace_manifest.to_path_buf(),
            prefix: "workspace.metadata.layer".into(),
        };
    }
    Ok(layer)
}

/// Commands that act on one version act on one layer.
pub fn one_layer<'a>(project: &'a Project, command: &str) -> Result<&'a LayerConfig> {
    match project.layers.as_slice() {
        [layer] => Ok(layer),
        layers => {
            let names: Vec<&str> = layers.iter().map(|l| l.package.as_str()).collect();
            Err(Error::config(format!(
                "{command} acts on one layer, but {} packages are selected ({}); pick one with -p",
                layers.len(),
                names.join(", ")
            )))
        }
    }
}
