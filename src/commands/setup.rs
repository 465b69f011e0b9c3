//! What every command that talks to AWS does first, in one place: check the AWS flags, load
//! Cargo.toml, pick the regions, and connect once per role. Every local check runs here, before
//! any build or AWS call.

use crate::aws::client::Profile;
use crate::aws::{self, AwsArgs, Sessions, Sourced};
use crate::cli::SelectArgs;
use crate::error::{Error, Kind, Result};
use crate::project::config::LayerConfig;
use crate::project::{self, Project, limits};

pub struct Setup<'a> {
    pub project: Project,
    pub aws: Sessions<'a>,
}

/// Check the AWS flags, load the selected layers, and check the regions the run will use.
pub async fn load<'a>(select: &SelectArgs, args: &'a AwsArgs) -> Result<Setup<'a>> {
    if let Some(role) = &args.assume_role {
        limits::role_arn(role)
            .map_err(|m| Error::new(Kind::Config, format!("--assume-role: {m}")))?;
    }
    check_flag(args.region.as_deref())?;
    let project = project::load(&select.selection())?;
    crate::hint::selected(
        project
            .layers
            .iter()
            .map(|l| (l.name.clone(), l.pick()))
            .collect(),
    );
    let profile = aws::client::profile(args);
    let environment = environment_region(&project.layers, args.region.as_deref(), profile).await?;
    for layer in &project.layers {
        check_arn_length(layer, args.region.as_deref(), environment.as_ref())?;
    }
    Ok(Setup {
        project,
        aws: Sessions::new(args, environment),
    })
}

/// `--region`, when given, is a region code.
pub fn check_flag(flag: Option<&str>) -> Result<()> {
    match flag {
        Some(region) => {
            limits::region(region).map_err(|m| Error::new(Kind::Config, format!("--region: {m}")))
        }
        None => Ok(()),
    }
}

/// The environment's region, when some layer will use it: no `--region`, and no region in its
/// Cargo.toml.
pub async fn environment_region(
    layers: &[LayerConfig],
    flag: Option<&str>,
    profile: Option<Profile>,
) -> Result<Option<Sourced>> {
    if flag.is_some() || layers.iter().all(|l| !l.regions.is_empty()) {
        return Ok(None);
    }
    aws::environment_region(profile.as_ref()).await
}

/// Lambda caps a LayerVersionArn at 140 characters: check it for every region the run uses,
/// wherever that region came from, before any write.
pub fn check_arn_length(
    layer: &LayerConfig,
    flag: Option<&str>,
    environment: Option<&Sourced>,
) -> Result<()> {
    let used: Vec<(&str, Option<&str>)> = match (flag, environment) {
        (Some(region), _) => vec![(region, Some("--region"))],
        (None, _) if !layer.regions.is_empty() => {
            layer.regions.iter().map(|r| (r.as_str(), None)).collect()
        }
        (None, Some(env)) => vec![(env.region.as_str(), Some(env.from.as_str()))],
        (None, None) => Vec::new(),
    };
    for (region, from) in used {
        limits::version_arn_length(&layer.name, region).map_err(|m| {
            let from = from
                .map(|f| format!(" (the region from {f})"))
                .unwrap_or_default();
            Error::new(Kind::Config, format!("{m}{from}"))
                .at(&layer.cargo_toml, "package.metadata.layer.name")
        })?;
    }
    Ok(())
}

/// The regions a command acts on: `--region` (one of the configured ones), else every
/// configured region, else the environment's (`None`, resolved and checked by [`load`]).
pub fn regions(layer: &LayerConfig, flag: Option<&str>) -> Result<Vec<Option<String>>> {
    if flag.is_some() || layer.regions.is_empty() {
        return Ok(vec![layer.one_region(flag)?]);
    }
    Ok(layer.regions.iter().cloned().map(Some).collect())
}

/// Commands that act on one version act on one layer.
pub fn one_layer<'p>(project: &'p Project, command: &str) -> Result<&'p LayerConfig> {
    match project.layers.as_slice() {
        [layer] => Ok(layer),
        layers => {
            let names: Vec<&str> = layers.iter().map(|l| l.package.as_str()).collect();
            Err(Error::new(
                Kind::Config,
                format!(
                    "{command} acts on one layer, but {} packages are selected ({})",
                    layers.len(),
                    names.join(", ")
                ),
            )
            .fix("pick one with -p"))
        }
    }
}
