//! The cargo side: run `cargo metadata`, pick the packages to act on, and read their layer
//! configuration (workspace defaults first, package keys on top).

pub mod cargo_toml;
pub mod config;
pub mod limits;
pub mod runtimes;

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, Package, TargetKind};

use crate::error::{Error, Kind, Result};
use config::{LayerConfig, LayerKind, PackageInfo, RawLayer, Source};

pub struct Project {
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    pub layers: Vec<LayerConfig>,
}

/// Which packages to act on, as the user selected them.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub cargo_toml: Option<PathBuf>,
    pub packages: Vec<String>,
}

pub fn load(selection: &Selection) -> Result<Project> {
    let metadata = run_cargo_metadata(selection.cargo_toml.as_deref())?;
    let workspace_manifest = metadata
        .workspace_root
        .join("Cargo.toml")
        .into_std_path_buf();
    let workspace_raw = workspace_defaults(&metadata, &workspace_manifest)?;
    let (packages, layer_names) = select(&metadata, selection)?;
    let mut layers = Vec::new();
    for pkg in packages {
        let layer = layer_config(pkg, workspace_raw.clone(), &workspace_manifest)?;
        layers.extend(per_architecture(layer)?);
    }
    if !layer_names.is_empty() {
        layers.retain(|l| l.split && layer_names.contains(&l.name));
        if let Some(missing) = layer_names
            .iter()
            .find(|n| !layers.iter().any(|l| &&l.name == n))
        {
            return Err(Error::new(Kind::Config, format!("-p {missing}: no such layer")).fix("a layer is split into <name>-x86_64 and <name>-arm64 only when compatible-architectures lists both"));
        }
    }
    Ok(Project {
        workspace_root: metadata.workspace_root.clone().into_std_path_buf(),
        target_dir: metadata.target_directory.clone().into_std_path_buf(),
        layers,
    })
}

fn run_cargo_metadata(cargo_toml: Option<&Path>) -> Result<Metadata> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(path) = cargo_toml {
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

/// The layer names a two-architecture layer becomes: `<name>-x86_64` and `<name>-arm64`.
const ARCH_SUFFIXES: [&str; 2] = ["x86_64", "arm64"];

/// A layer that carries binaries for both architectures becomes one layer per architecture,
/// each with its own build, zip, version and grants (as layer vendors publish them). A `files`
/// layer stays one layer with both architectures.
fn per_architecture(layer: LayerConfig) -> Result<Vec<LayerConfig>> {
    let two = layer
        .compatible_architectures
        .as_ref()
        .is_some_and(|archs| archs.len() == 2);
    if !two || layer.kind == LayerKind::Files {
        return Ok(vec![layer]);
    }
    ARCH_SUFFIXES
        .iter()
        .map(|arch| {
            let name = format!("{}-{arch}", layer.name);
            check_split_name(&layer, &name)?;
            Ok(LayerConfig {
                name,
                compatible_architectures: Some(vec![arch.to_string()]),
                split: true,
                ..layer.clone()
            })
        })
        .collect()
}

fn check_split_name(layer: &LayerConfig, name: &str) -> Result<()> {
    let mut checks = vec![limits::layer_name(name)];
    checks.extend(
        layer
            .regions
            .iter()
            .map(|region| limits::version_arn_length(name, region)),
    );
    for check in checks {
        check.map_err(|message| {
            Error::new(
                Kind::Config,
                format!(
                    "{message} (with two compatible-architectures the layer is published as {name})"
                ),
            )
            .at(&layer.cargo_toml, "package.metadata.layer.name")
        })?;
    }
    Ok(())
}

/// `-p` wins (a package, or a per-architecture layer such as `my-ext-arm64`); else the package of
/// the manifest in use, if it has layer metadata; else every workspace member that has it.
/// Also returns the per-architecture layer names that `-p` picked.
fn select<'a>(
    metadata: &'a Metadata,
    selection: &Selection,
) -> Result<(Vec<&'a Package>, Vec<String>)> {
    let members = metadata.workspace_packages();
    if !selection.packages.is_empty() {
        let mut packages: Vec<&Package> = Vec::new();
        let mut layer_names = Vec::new();
        for name in &selection.packages {
            let pkg = match members.iter().find(|p| p.name.as_str() == name) {
                Some(pkg) => pkg,
                None => {
                    layer_names.push(name.clone());
                    split_owner(&members, name)?
                }
            };
            if !packages.iter().any(|p| p.id == pkg.id) {
                packages.push(pkg);
            }
        }
        if !layer_names.is_empty() && layer_names.len() != selection.packages.len() {
            return Err(Error::new(
                Kind::Config,
                "-p: pick either packages or per-architecture layers, not both",
            ));
        }
        return Ok((packages, layer_names));
    }
    let current = current_manifest(selection.cargo_toml.as_deref());
    if let Some(pkg) = members
        .iter()
        .find(|p| current.as_deref() == Some(p.manifest_path.as_std_path()))
        && has_layer_metadata(pkg)
    {
        return Ok((vec![pkg], Vec::new()));
    }
    let with_layer: Vec<&Package> = members
        .into_iter()
        .filter(|p| has_layer_metadata(p))
        .collect();
    if with_layer.is_empty() {
        return Err(Error::new(
            Kind::Config,
            "no package here has a [package.metadata.layer] table",
        )
        .fix("add one to Cargo.toml (see the README), or pick a package with -p"));
    }
    Ok((with_layer, Vec::new()))
}

/// The package whose layer `-p <name>-<arch>` names. The layer name may differ from the package
/// name, so each candidate's layer table is read.
fn split_owner<'a>(members: &[&'a Package], spec: &str) -> Result<&'a Package> {
    let not_found = || {
        let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
        Error::new(
            Kind::Config,
            format!(
                "-p {spec}: no such package in this workspace (nor a per-architecture layer <name>-x86_64 or <name>-arm64); members are: {}",
                names.join(", ")
            ),
        )
    };
    let base = ARCH_SUFFIXES
        .iter()
        .find_map(|arch| spec.strip_suffix(&format!("-{arch}")))
        .ok_or_else(not_found)?;
    members
        .iter()
        .copied()
        .filter(|p| has_layer_metadata(p))
        .find(|p| {
            let name = p.metadata["layer"]
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or(p.name.as_str());
            name == base
        })
        .ok_or_else(not_found)
}

/// The Cargo.toml cargo itself would use: `--manifest-path`, else the nearest one upwards.
fn current_manifest(cargo_toml: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = cargo_toml {
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
        cargo_toml: manifest,
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
