//! What every command that talks to AWS does first, in one place: check the AWS flags, load
//! Cargo.toml, pick the regions, and connect once per role. Every local check runs here, before
//! any build or AWS call.

use crate::aws::{AwsArgs, Sessions};
use crate::cli::SelectArgs;
use crate::error::{Error, Kind, Result};
use crate::project::config::LayerConfig;
use crate::project::{self, Project, limits};

pub struct Setup<'a> {
    pub project: Project,
    pub aws: Sessions<'a>,
}

/// Check the AWS flags, then load the selected layers.
pub fn load<'a>(select: &SelectArgs, args: &'a AwsArgs) -> Result<Setup<'a>> {
    if let Some(role) = &args.assume_role {
        limits::role_arn(role)
            .map_err(|m| Error::new(Kind::Config, format!("--assume-role: {m}")))?;
    }
    if let Some(region) = &args.region {
        limits::region(region).map_err(|m| Error::new(Kind::Config, format!("--region: {m}")))?;
    }
    Ok(Setup {
        project: project::load(&select.selection())?,
        aws: Sessions::new(args),
    })
}

/// The regions a command acts on: `--region` (one of the configured ones), else every
/// configured region, else the environment's (`None`).
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
