//! `cargo layer promote`: grant an already-published version to more stages, without packaging
//! or publishing. With `--manifest`, the version in AWS must still hold the exact bytes the
//! manifest describes: what was tested is what gets promoted.

use crate::aws;
use crate::aws::grant;
use crate::aws::layers::VersionArn;
use crate::cli::PromoteArgs;
use crate::commands::publish::{grant_step, write_arn_file};
use crate::commands::setup;
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Delivered, Run, human};
use crate::project::config::LayerConfig;
use crate::schema::{
    self, Manifest, Outcome, PlanAction, PlanCommand, ResultType, Step, StepName, StepStatus,
};

/// The version to promote, as the user named it.
struct Pick {
    name: String,
    region: Option<String>,
    account: Option<String>,
    version: i64,
    /// From a manifest: the content that was tested.
    code_sha256: Option<String>,
}

pub async fn run(args: &PromoteArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let layers = &setup.project.layers;
    let pick = pick(args, layers)?;
    let layer = pick_layer(layers, &pick)?;
    let region = check_region(layer, &pick, args.aws.region.as_deref())?;
    let wanted = grant::wanted(layer, &args.stages)?;
    grant::check_policy_size(layer, region.as_deref())?;
    check_account(layer, &pick)?;
    let account = layer.artifacts_account.clone().or(pick.account.clone());
    let role = layer.role_arn.as_deref();
    let region = region.or(setup.aws.environment_region().map(str::to_string));
    let session = aws::connect(&args.aws, region.as_deref(), role, account.as_deref()).await?;
    let api = session.api(region.as_deref(), &layer.name)?;
    let caller = session.caller();
    let version = api.existing(pick.version).await?;
    let remote = version.code_sha256.clone().unwrap_or_default();
    if let Some(expected) = &pick.code_sha256
        && &remote != expected
    {
        return Err(Error::new(
            Kind::Guard,
            format!(
                "version {} of {} holds CodeSha256 {remote}, but the manifest says {expected}",
                version.number, layer.name
            ),
        )
        .fix("refusing to promote anything other than what was tested"));
    }
    let step = progress.step(format!(
        "granting version {} to {}",
        version.number,
        args.stages.join(", ")
    ));
    let grants = grant::apply(&api, version.number, &wanted, args.dry_run, progress).await?;
    step.finish(human::grant_counts(&grants));
    let header = (
        layer.name.as_str(),
        api.aws.region.as_str(),
        caller.account.as_str(),
    );
    let mut run = Run::default();
    if args.dry_run {
        let plan = version.plan(PlanCommand::Promote, PlanAction::Grant, header, grants);
        run.push(Outcome::Plan(plan));
        return Ok(run);
    }
    let verified = if pick.code_sha256.is_some() {
        let detail = Some("CodeSha256 matches the manifest".into());
        Step::new(StepName::Verify, StepStatus::Ok, detail)
    } else {
        let detail = Some("no --manifest given".into());
        Step::new(StepName::Verify, StepStatus::Skipped, detail)
    };
    let manifest = Manifest {
        steps: vec![verified, grant_step(&grants)],
        grants,
        ..Manifest::for_version(ResultType::Promote, header, version.facts())
    };
    run.results.push(Delivered {
        outcome: Outcome::Manifest(manifest),
        file: args.manifest.clone(),
    });
    write_arn_file(&run, args.output_file.as_deref())?;
    Ok(run)
}

fn pick(args: &PromoteArgs, layers: &[LayerConfig]) -> Result<Pick> {
    if let Some(path) = &args.manifest {
        let m = schema::read_manifest(path)?;
        return Ok(Pick {
            name: m.header.name,
            region: Some(m.header.region),
            account: Some(m.header.account),
            version: m.version,
            code_sha256: Some(m.code_sha256),
        });
    }
    if let Some(arn) = &args.arn {
        let parsed = VersionArn::parse(arn).ok_or_else(|| {
            Error::new(Kind::Config, format!("--arn {arn}: not a LayerVersionArn"))
                .fix("it looks like arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION")
        })?;
        let partition = aws::partition(&parsed.region);
        if parsed.partition != partition {
            return Err(Error::new(
                Kind::Guard,
                format!(
                    "--arn {arn}: the partition is {}, but {} is in partition {partition}",
                    parsed.partition, parsed.region
                ),
            )
            .fix(format!(
                "ARNs of that region start with arn:{partition}:lambda:"
            )));
        }
        return Ok(Pick {
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
        [layer] => Ok(Pick {
            name: layer.name.clone(),
            region: None,
            account: None,
            version,
            code_sha256: None,
        }),
        _ => Err(Error::new(
            Kind::Config,
            "--version names a version of one layer, but several packages are selected",
        )
        .fix("pick one with -p")),
    }
}

fn pick_layer<'a>(layers: &'a [LayerConfig], pick: &Pick) -> Result<&'a LayerConfig> {
    layers.iter().find(|l| l.name == pick.name).ok_or_else(|| {
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        Error::new(
            Kind::Guard,
            format!(
                "the version belongs to layer \"{}\", but the selected Cargo.toml configures {}",
                pick.name,
                names.join(", ")
            ),
        )
        .fix("refusing to grant another layer's version")
    })
}

/// The version's region must be one the layer is configured for, and the one `--region` says.
fn check_region(layer: &LayerConfig, pick: &Pick, flag: Option<&str>) -> Result<Option<String>> {
    let Some(region) = pick.region.clone() else {
        return layer.one_region(flag);
    };
    let other = |what: &str| {
        Error::new(
            Kind::Guard,
            format!("the version is in {region}, but {what}"),
        )
        .fix("layers are regional and a grant never crosses regions")
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

fn check_account(layer: &LayerConfig, pick: &Pick) -> Result<()> {
    match (&layer.artifacts_account, &pick.account) {
        (Some(configured), Some(actual)) if configured != actual => Err(Error::new(
            Kind::Guard,
            format!("the version lives in account {actual}, but artifacts-account is {configured}"),
        )
        .fix("promote versions of the artifacts account only")),
        _ => Ok(()),
    }
}
