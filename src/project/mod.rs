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
use limits::ARCH_NAMES as ARCH_SUFFIXES;

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

/// A layer that carries binaries for both architectures becomes one layer per architecture,
/// each with its own build, zip, version and grants (as layer vendors publish them). A `files`
/// layer stays one layer with both architectures. Placeholders are filled in once each layer
/// has its architecture, and the limits are checked on what they expand to.
fn per_architecture(layer: LayerConfig) -> Result<Vec<LayerConfig>> {
    let archs = layer.compatible_architectures.clone().unwrap_or_default();
    if archs.len() == 2 && layer.kind != LayerKind::Files {
        return ARCH_SUFFIXES
            .iter()
            .map(|arch| for_architecture(&layer, Some(arch), true))
            .collect();
    }
    let arch = match archs.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    Ok(vec![for_architecture(&layer, arch, false)?])
}

/// The layer as published for `arch` (None: no single architecture).
fn for_architecture(layer: &LayerConfig, arch: Option<&str>, split: bool) -> Result<LayerConfig> {
    let over = arch
        .and_then(|a| layer.architectures.get(a))
        .cloned()
        .unwrap_or_default();
    let arch_key = |key: &str| format!("architectures.{}.{key}", arch.unwrap_or_default());
    let (name, name_key) = match (&over.name, arch) {
        (Some(name), Some(_)) => (name.clone(), arch_key("name")),
        (None, Some(arch)) if split => (half_name(&layer.name, arch), "name".to_string()),
        _ => (layer.name.clone(), "name".to_string()),
    };
    let at = |key: &str, message: String| {
        Error::new(Kind::Config, message)
            .at(&layer.cargo_toml, format!("package.metadata.layer.{key}"))
    };
    let fill = |text: &str, key: &str| {
        expand(text, &layer.version, arch).map_err(|message| at(key, message))
    };
    let name = fill(&name, &name_key)?;
    let description = match (&over.description, &layer.description) {
        (Some(text), _) => Some(fill(text, &arch_key("description"))?),
        (None, Some(text)) => Some(fill(text, "description")?),
        (None, None) => None,
    };
    let mut build_env = layer.build_env.clone();
    for (var, value) in build_env.iter_mut() {
        *value = fill(value, &format!("build-env.{var}"))?;
    }
    let expanded = LayerConfig {
        name,
        description,
        build_env,
        target: over.target.clone(),
        compatible_architectures: arch
            .map(|a| vec![a.to_string()])
            .or_else(|| layer.compatible_architectures.clone()),
        split,
        ..layer.clone()
    };
    check_expanded(&expanded, &name_key, &arch_key("description"), &over)?;
    Ok(expanded)
}

/// The name template of one half of a two-architecture layer that sets no name of its own:
/// `name` as written when it places `{arch}` itself, else `<name>-<arch>`.
fn half_name(name: &str, arch: &str) -> String {
    match name.contains("{arch}") {
        true => name.to_string(),
        false => format!("{name}-{arch}"),
    }
}

/// `{version}` and `{arch}` filled in; `{arch}` needs the layer to have one architecture.
pub fn expand(
    text: &str,
    version: &str,
    arch: Option<&str>,
) -> std::result::Result<String, String> {
    let text = text.replace("{version}", version);
    match arch {
        Some(arch) => Ok(text.replace("{arch}", arch)),
        None if text.contains("{arch}") => Err(format!(
            "\"{text}\" uses {{arch}}, but the layer has no single architecture; set compatible-architectures"
        )),
        None => Ok(text),
    }
}

/// The limits hold for the names and descriptions the placeholders expanded to.
fn check_expanded(
    layer: &LayerConfig,
    name_key: &str,
    arch_description_key: &str,
    over: &config::RawArch,
) -> Result<()> {
    let name = &layer.name;
    let mut checks = vec![limits::layer_name(name)];
    checks.extend(
        layer
            .regions
            .iter()
            .map(|region| limits::version_arn_length(name, region)),
    );
    let published_as = |message: String| match layer.split {
        true => format!(
            "{message} (with two compatible-architectures the layer is published as {name})"
        ),
        false => message,
    };
    for check in checks {
        check.map_err(|message| {
            Error::new(Kind::Config, published_as(message)).at(
                &layer.cargo_toml,
                format!("package.metadata.layer.{name_key}"),
            )
        })?;
    }
    if let Some(text) = &layer.description {
        let key = match over.description {
            Some(_) => arch_description_key,
            None => "description",
        };
        limits::description(text).map_err(|message| {
            Error::new(Kind::Config, message)
                .at(&layer.cargo_toml, format!("package.metadata.layer.{key}"))
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

/// The package whose layer `-p <layer>` names: `<name>-<arch>`, or a name set per architecture
/// (`architectures.<arch>.name`). The layer name may differ from the package name, so each
/// candidate's layer table is read.
fn split_owner<'a>(members: &[&'a Package], spec: &str) -> Result<&'a Package> {
    members
        .iter()
        .copied()
        .filter(|p| has_layer_metadata(p))
        .find(|p| split_names(p).iter().any(|name| name == spec))
        .ok_or_else(|| {
            let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
            Error::new(
                Kind::Config,
                format!(
                    "-p {spec}: no such package in this workspace (nor a per-architecture layer of one); members are: {}",
                    names.join(", ")
                ),
            )
        })
}

/// The names the halves of a package's two-architecture layer would get.
fn split_names(pkg: &Package) -> Vec<String> {
    let table = &pkg.metadata["layer"];
    let name = table["name"].as_str().unwrap_or(pkg.name.as_str());
    let version = pkg.version.to_string();
    ARCH_SUFFIXES
        .iter()
        .filter_map(|arch| {
            let own = table["architectures"][arch]["name"].as_str();
            let template = own.map_or_else(|| half_name(name, arch), str::to_string);
            expand(&template, &version, Some(arch)).ok()
        })
        .collect()
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
        version: pkg.version.to_string(),
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
