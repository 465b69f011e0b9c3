//! `cargo layer promote`: grant an already-published version to more stages, without packaging
//! or publishing. With `--manifest`, the version in AWS must still hold the exact bytes the
//! manifest describes: what was tested is what gets promoted.

use std::path::PathBuf;

use crate::aws;
use crate::aws::grant;
use crate::aws::layers::{Layer, VersionArn};
use crate::cli::PromoteArgs;
use crate::commands::publish::grant_step;
use crate::error::{Error, Kind, Result};
use crate::output::MessageFormat;
use crate::output::progress::Progress;
use crate::output::report;
use crate::project;
use crate::project::config::LayerConfig;
use crate::schema::{self, Manifest, Plan, Step};

/// The version to promote, as the user named it.
struct Target {
    name: String,
    region: Option<String>,
    account: Option<String>,
    version: i64,
    /// From a manifest: the content that was tested.
    code_sha256: Option<String>,
}

pub async fn run(args: &PromoteArgs, format: MessageFormat, progress: &Progress) -> Result<()> {
    let project = project::load(&args.select.selection())?;
    let target = target(args, &project.layers)?;
    let layer = pick_layer(&project.layers, &target)?;
    let region = check_region(layer, &target, args.aws.region.as_deref())?;
    let wanted = grant::wanted(layer, &args.stages)?;
    grant::check_policy_size(layer, region.as_deref())?;
    let expected_account = layer.artifacts_account.clone().or(target.account.clone());
    check_account(layer, &target)?;

    let session = aws::connect(
        &args.aws,
        region.as_deref(),
        layer.role_arn.as_deref(),
        expected_account.as_deref(),
    )
    .await?;
    let aws = session.region(region.as_deref())?;
    let caller = session.caller();
    let api = Layer {
        aws: &aws,
        name: &layer.name,
    };
    let version = api.existing(target.version).await?;
    let remote = version.code_sha256.clone().unwrap_or_default();
    if let Some(expected) = &target.code_sha256
        && &remote != expected
    {
        return Err(Error::new(
            Kind::Guard,
            format!(
                "version {} of {} holds CodeSha256 {remote}, but the manifest says {expected}; refusing to promote anything other than what was tested",
                version.number, layer.name
            ),
        ));
    }
    let step = progress.step(format!(
        "granting version {} to {}",
        version.number,
        args.stages.join(", ")
    ));
    let grants = grant::apply(&api, version.number, &wanted, args.dry_run, progress).await?;
    step.finish(report::grant_counts(&grants));
    if args.dry_run {
        let mut plan = Plan::new(
            "promote",
            "grant",
            &layer.name,
            &aws.region,
            &caller.account,
        )
        .on(&version);
        plan.grants = grants;
        report::plan(&plan, format, progress);
        return Ok(());
    }
    let verified = if target.code_sha256.is_some() {
        Step::new(
            "verify",
            "ok",
            Some("CodeSha256 matches the manifest".into()),
        )
    } else {
        Step::new("verify", "skipped", Some("no --manifest given".into()))
    };
    let manifest = Manifest {
        steps: vec![verified, grant_step(&grants)],
        grants,
        ..Manifest::for_version(
            "promote",
            &layer.name,
            &aws.region,
            caller.account.clone(),
            &version,
        )
    };
    report::manifest(&manifest, args.manifest.as_deref(), format, progress);
    report::finish(
        &[(manifest, PathBuf::new())],
        &[],
        args.output_file.as_deref(),
        progress,
    )
}

fn target(args: &PromoteArgs, layers: &[LayerConfig]) -> Result<Target> {
    if let Some(path) = &args.manifest {
        let m = schema::read(path)?;
        return Ok(Target {
            name: m.name,
            region: Some(m.region),
            account: Some(m.account),
            version: m.version,
            code_sha256: Some(m.code_sha256),
        });
    }
    if let Some(arn) = &args.arn {
        let parsed = VersionArn::parse(arn).ok_or_else(|| {
            Error::config(format!(
                "--arn {arn}: not a LayerVersionArn; it looks like arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION"
            ))
        })?;
        let partition = aws::partition(&parsed.region);
        if parsed.partition != partition {
            return Err(Error::new(
                Kind::Guard,
                format!(
                    "--arn {arn}: the partition is {}, but {} is in partition {partition}; ARNs of that region start with arn:{partition}:lambda:",
                    parsed.partition, parsed.region
                ),
            ));
        }
        return Ok(Target {
            name: parsed.name,
            region: Some(parsed.region),
            account: Some(parsed.account),
            version: parsed.version,
            code_sha256: None,
        });
    }
    let version = args
        .version
        .expect("clap requires one of --version, --arn, --manifest");
    match layers {
        [layer] => Ok(Target {
            name: layer.name.clone(),
            region: None,
            account: None,
            version,
            code_sha256: None,
        }),
        _ => Err(Error::config(
            "--version names a version of one layer, but several packages are selected; pick one with -p",
        )),
    }
}

fn pick_layer<'a>(layers: &'a [LayerConfig], target: &Target) -> Result<&'a LayerConfig> {
    layers.iter().find(|l| l.name == target.name).ok_or_else(|| {
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        Error::new(
            Kind::Guard,
            format!(
                "the version belongs to layer \"{}\", but the selected Cargo.toml configures {}; refusing to grant another layer's version",
                target.name,
                names.join(", ")
            ),
        )
    })
}

/// The version's region must be one the layer is configured for, and the one `--region` says.
fn check_region(
    layer: &LayerConfig,
    target: &Target,
    flag: Option<&str>,
) -> Result<Option<String>> {
    let Some(region) = target.region.clone() else {
        return layer.one_region(flag);
    };
    let other = |what: &str| {
        Error::new(
            Kind::Guard,
            format!(
                "the version is in {region}, but {what}; layers are regional and a grant never crosses regions"
            ),
        )
    };
    if let Some(flag) = flag
        && flag != region
    {
        return Err(other(&format!("--region is {flag}")));
    }
    if !layer.regions.is_empty() && !layer.regions.contains(&region) {
        return Err(other(&format!(
            "layer {} is configured for {}",
            layer.name,
            layer.regions.join(", ")
        )));
    }
    Ok(Some(region))
}

fn check_account(layer: &LayerConfig, target: &Target) -> Result<()> {
    match (&layer.artifacts_account, &target.account) {
        (Some(configured), Some(actual)) if configured != actual => Err(Error::new(
            Kind::Guard,
            format!(
                "the version lives in account {actual}, but artifacts-account is {configured}; promote versions of the artifacts account only"
            ),
        )),
        _ => Ok(()),
    }
}
