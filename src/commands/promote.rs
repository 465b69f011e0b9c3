//! `cargo layer promote`: grant an already-published version to more stages, without packaging
//! or publishing. With `--manifest`, every region the manifest's `layer_version_arns` names is
//! promoted, concurrently, and each region's version in AWS must still hold the exact bytes the
//! manifest records for that region: what was tested is what gets promoted.

use std::path::PathBuf;

use crate::aws::grant::{self, Wanted};
use crate::aws::layers::{LayerApi, Version, VersionArn};
use crate::aws::{self, Session};
use crate::cli::PromoteArgs;
use crate::commands::{self, grant_step, setup, write_arn_file};
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Delivered, Run, human};
use crate::project::config::LayerConfig;
use crate::schema::{
    self, Manifest, Outcome, PlanAction, PlanCommand, ResultType, Step, StepName, StepStatus,
};

/// The version to promote in one region, as the user named it.
struct Pick {
    name: String,
    region: Option<String>,
    account: Option<String>,
    version: i64,
    /// From a manifest: the content that was tested in this region.
    code_sha256: Option<String>,
    /// From a manifest: how the version tested in this region was signed (none: unsigned).
    signature: Option<schema::Signature>,
    /// The manifest it comes from.
    file: Option<PathBuf>,
}

pub async fn run(args: &PromoteArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let layers = &setup.project.layers;
    let flag = args.aws.region.as_deref();
    let picks = narrow(picks(args, layers)?, flag)?;
    // Every check before the first AWS call.
    let mut groups: Vec<(&LayerConfig, Vec<&Pick>)> = Vec::new();
    for pick in &picks {
        let layer = pick_layer(layers, pick)?;
        check_region(layer, pick, flag)?;
        check_account(layer, pick)?;
        match groups.iter_mut().find(|(l, _)| l.name == layer.name) {
            Some((_, group)) => group.push(pick),
            None => groups.push((layer, vec![pick])),
        }
    }
    let mut work = Vec::new();
    for (layer, group) in groups {
        grant::check_policy_size(layer, flag)?;
        work.push((layer, group, grant::wanted(layer, &args.stages)?));
    }
    let mut run = Run::default();
    // A layer that configures no region is promoted where the environment points.
    let environment = setup.aws.environment_region();
    for (layer, group, wanted) in &work {
        promote_layer(&mut run, args, layer, group, wanted, environment, progress).await?;
    }
    write_arn_file(&run, args.output_file.as_deref())?;
    Ok(run)
}

/// One layer in each region it is promoted in: every region's version is read and checked
/// against the manifest before the first grant, then the grants go region by region at once.
async fn promote_layer(
    run: &mut Run,
    args: &PromoteArgs,
    layer: &LayerConfig,
    picks: &[&Pick],
    wanted: &[Wanted],
    environment: Option<&str>,
    progress: &Progress,
) -> Result<()> {
    let regions: Vec<Option<String>> = picks
        .iter()
        .map(|p| p.region.clone().or(environment.map(str::to_string)))
        .collect();
    let first = regions.first().cloned().flatten();
    let account = layer.artifacts_account.clone().or(picks[0].account.clone());
    let role = args
        .aws
        .assume_role
        .as_deref()
        .or(layer.role_arn.as_deref());
    let session = &aws::connect(&args.aws, first.as_deref(), role, account.as_deref()).await?;
    let pick_in = |i: usize| picks[i];
    let index = |region: Option<&str>| {
        regions
            .iter()
            .position(|r| r.as_deref() == region)
            .expect("the region comes from this list")
    };
    let checked = commands::each_region(&regions, progress, |region, _| async move {
        verified(session, layer, pick_in(index(region)), region).await
    })
    .await;
    // A version that does not hold what the manifest says stops the whole promotion.
    if let Some(refused) = checked
        .iter()
        .find_map(|r| r.as_ref().err().filter(|e| e.kind == Kind::Guard))
    {
        return Err(refused.clone());
    }
    let versions = &checked;
    let results = commands::each_region(&regions, progress, |region, progress| {
        let version = versions[index(region)].as_ref();
        let pick = pick_in(index(region));
        async move {
            let version = version.map_err(Error::clone)?;
            let api = session.api(region, &layer.name)?;
            let account = &session.caller().account;
            promote_region(&api, account, pick, version, wanted, args, &progress).await
        }
    })
    .await;
    for ((region, result), pick) in regions.iter().zip(results).zip(picks) {
        match result {
            Ok(outcome) => run.results.push(Delivered {
                outcome,
                file: pick.file.clone(),
            }),
            Err(error) => commands::failed(run, &layer.name, region.as_deref(), error)?,
        }
    }
    Ok(())
}

/// The version in AWS, checked against the CodeSha256 the manifest records for its region.
async fn verified(
    session: &Session,
    layer: &LayerConfig,
    pick: &Pick,
    region: Option<&str>,
) -> Result<Version> {
    let api = session.api(region, &layer.name)?;
    let version = api.existing(pick.version).await?;
    let remote = version.code_sha256.clone().unwrap_or_default();
    if let Some(expected) = &pick.code_sha256
        && &remote != expected
    {
        return Err(Error::new(
            Kind::Guard,
            format!(
                "version {} of {} in {} holds CodeSha256 {remote}, but the manifest says {expected}",
                version.number, layer.name, api.aws.region
            ),
        )
        .fix("refusing to promote anything other than what was tested, in any region"));
    }
    if pick.file.is_some() {
        check_signature(layer, pick, &version, &api.aws.region)?;
    }
    Ok(version)
}

/// A manifest's version must be signed by the profile version the manifest records; and a
/// layer with `signing-profile` promotes only a signed version.
fn check_signature(
    layer: &LayerConfig,
    pick: &Pick,
    version: &Version,
    region: &str,
) -> Result<()> {
    let held = version.signing_profile_version_arn.as_deref();
    let refuse = |what: String| {
        Err(Error::new(
            Kind::Guard,
            format!(
                "version {} of {} in {region} {what}",
                version.number, layer.name
            ),
        )
        .fix("refusing to promote anything other than what was tested and signed, in any region"))
    };
    match (&pick.signature, held) {
        (Some(wanted), Some(held)) if held == wanted.profile_version_arn => Ok(()),
        (Some(wanted), Some(held)) => refuse(format!(
            "is signed by profile version {held}, but the manifest records {}",
            wanted.profile_version_arn
        )),
        (Some(wanted), None) => refuse(format!(
            "is not signed, but the manifest records signing profile version {}",
            wanted.profile_version_arn
        )),
        (None, _) if layer.signing.is_some() => refuse(
            "is recorded as unsigned by the manifest, but Cargo.toml sets signing-profile".into(),
        ),
        (None, _) => Ok(()),
    }
}

/// Grant the checked version in one region, and say what came of it.
async fn promote_region(
    api: &LayerApi,
    account: &str,
    pick: &Pick,
    version: &Version,
    wanted: &[Wanted],
    args: &PromoteArgs,
    progress: &Progress,
) -> Result<Outcome> {
    let step = progress.step(format!(
        "granting version {} in {} to {}",
        version.number,
        api.aws.region,
        args.stages.join(", ")
    ));
    let grants = grant::apply(api, version.number, wanted, args.dry_run, progress).await?;
    step.finish(human::grant_counts(&grants));
    let header = (api.name.as_str(), api.aws.region.as_str(), account);
    if args.dry_run {
        let plan = version.plan(PlanCommand::Promote, PlanAction::Grant, header, grants);
        return Ok(Outcome::Plan(plan));
    }
    let verified = if pick.code_sha256.is_some() {
        let detail = Some("CodeSha256 matches the manifest".into());
        Step::new(StepName::Verify, StepStatus::Ok, detail)
    } else {
        let detail = Some("no --manifest given".into());
        Step::new(StepName::Verify, StepStatus::Skipped, detail)
    };
    Ok(Outcome::Manifest(Manifest {
        steps: vec![verified, grant_step(&grants)],
        grants,
        ..Manifest::for_version(ResultType::Promote, header, version.facts())
    }))
}

fn picks(args: &PromoteArgs, layers: &[LayerConfig]) -> Result<Vec<Pick>> {
    if !args.manifest.is_empty() {
        let mut picks: Vec<Pick> = Vec::new();
        for path in &args.manifest {
            for pick in manifest_picks(path)? {
                let same = picks
                    .iter()
                    .find(|p| p.name == pick.name && p.region == pick.region);
                match same {
                    Some(p) if p.version == pick.version => {}
                    Some(p) => {
                        return Err(Error::new(
                            Kind::Config,
                            format!(
                                "--manifest {} and --manifest {} name different versions of {} in {}",
                                p.file.as_deref().unwrap_or(path).display(),
                                path.display(),
                                pick.name,
                                pick.region.as_deref().unwrap_or("the default region")
                            ),
                        )
                        .fix("pass one manifest per layer"));
                    }
                    None => picks.push(pick),
                }
            }
        }
        return Ok(picks);
    }
    if let Some(arn) = &args.arn {
        let parsed = VersionArn::parse(arn).ok_or_else(|| {
            Error::new(Kind::Config, format!("--arn {arn}: not a LayerVersionArn"))
                .fix("it looks like arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION")
        })?;
        check_partition(arn, &parsed)?;
        return Ok(vec![Pick {
            name: parsed.name,
            region: Some(parsed.region),
            account: Some(parsed.account),
            version: parsed.version,
            code_sha256: None,
            signature: None,
            file: None,
        }]);
    }
    let version = args
        .version
        .expect("clap requires one of --version, --arn, --manifest");
    let [layer] = layers else {
        return Err(Error::new(
            Kind::Config,
            "--version names a version of one layer, but several packages are selected",
        )
        .fix("pick one with -p"));
    };
    if layer.regions.len() > 1 && args.aws.region.is_none() {
        return Err(Error::new(
            Kind::Config,
            format!(
                "--version {version}: layer {} is configured for several regions ({}), and version numbers differ per region",
                layer.name,
                layer.regions.join(", ")
            ),
        )
        .fix("name the region with --region, or pass --manifest to promote every region of a publish"));
    }
    Ok(vec![Pick {
        name: layer.name.clone(),
        region: layer.one_region(args.aws.region.as_deref())?,
        account: None,
        version,
        code_sha256: None,
        signature: None,
        file: None,
    }])
}

/// One pick per region of the manifest's `layer_version_arns`, each with the CodeSha256 the
/// manifest records for that region.
fn manifest_picks(path: &std::path::Path) -> Result<Vec<Pick>> {
    let m = schema::read_manifest(path)?;
    let shown = path.display();
    let own = &m.header.region;
    // The manifest's own version is named twice; both must say the same.
    let mut arns = m.layer_version_arns.clone();
    let mut codes = m.code_sha256s.clone();
    let arn = arns
        .entry(own.clone())
        .or_insert(m.layer_version_arn.clone());
    let code = codes.entry(own.clone()).or_insert(m.code_sha256.clone());
    let mut signatures = m.signatures.clone();
    if let Some(signature) = &m.signature {
        signatures.entry(own.clone()).or_insert(signature.clone());
    }
    let signed_alike = signatures.get(own) == m.signature.as_ref();
    if *arn != m.layer_version_arn || *code != m.code_sha256 || !signed_alike {
        return Err(Error::new(
            Kind::Guard,
            format!("--manifest {shown}: layer_version_arn, code_sha256 and signature disagree with layer_version_arns.{own}, code_sha256s.{own} and signatures.{own}"),
        )
        .fix("the manifest was edited; refusing to promote anything other than what was tested"));
    }
    let mut picks = Vec::new();
    for (region, arn) in arns {
        let parsed = VersionArn::parse(&arn).ok_or_else(|| {
            Error::new(
                Kind::Config,
                format!("--manifest {shown}: layer_version_arns.{region} is not a LayerVersionArn ({arn})"),
            )
            .fix("pass the JSON that publish wrote")
        })?;
        let code = codes.get(&region).cloned().ok_or_else(|| {
            Error::new(
                Kind::Guard,
                format!("--manifest {shown}: it records no CodeSha256 for {region}, so the version there cannot be checked"),
            )
            .fix("publish again with this cargo-layer to record each region's CodeSha256, or promote that region with --arn")
        })?;
        if parsed.name != m.header.name || parsed.region != region {
            return Err(Error::new(
                Kind::Guard,
                format!("--manifest {shown}: layer_version_arns.{region} names {arn}, another layer or region"),
            )
            .fix("refusing to promote a version the manifest does not describe"));
        }
        picks.push(Pick {
            name: m.header.name.clone(),
            signature: signatures.get(&region).cloned(),
            region: Some(region),
            account: Some(parsed.account),
            version: parsed.version,
            code_sha256: Some(code),
            file: Some(path.to_path_buf()),
        });
    }
    Ok(picks)
}

/// `--region` narrows a multi-region promotion to that region.
fn narrow(picks: Vec<Pick>, flag: Option<&str>) -> Result<Vec<Pick>> {
    let Some(flag) = flag else {
        return Ok(picks);
    };
    if picks.iter().any(|p| p.region.as_deref() == Some(flag))
        || picks.iter().all(|p| p.region.is_none())
    {
        return Ok(picks
            .into_iter()
            .filter(|p| p.region.is_none() || p.region.as_deref() == Some(flag))
            .collect());
    }
    let found: Vec<&str> = picks.iter().filter_map(|p| p.region.as_deref()).collect();
    Err(Error::new(
        Kind::Guard,
        format!(
            "the version is in {}, but --region is {flag}",
            found.join(", ")
        ),
    )
    .fix("layers are regional and a grant never crosses regions"))
}

fn check_partition(arn: &str, parsed: &VersionArn) -> Result<()> {
    let partition = aws::partition(&parsed.region);
    if parsed.partition == partition {
        return Ok(());
    }
    Err(Error::new(
        Kind::Guard,
        format!(
            "--arn {arn}: the partition is {}, but {} is in partition {partition}",
            parsed.partition, parsed.region
        ),
    )
    .fix(format!(
        "ARNs of that region start with arn:{partition}:lambda:"
    )))
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

/// The version's region must be one the layer is configured for.
fn check_region(layer: &LayerConfig, pick: &Pick, flag: Option<&str>) -> Result<()> {
    let Some(region) = &pick.region else {
        return layer.one_region(flag).map(|_| ());
    };
    if !layer.regions.is_empty() && !layer.regions.contains(region) {
        return Err(Error::new(
            Kind::Guard,
            format!(
                "the version is in {region}, but layer {} is configured for {}",
                layer.name,
                layer.regions.join(", ")
            ),
        )
        .fix("layers are regional and a grant never crosses regions"));
    }
    Ok(())
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
