//! `cargo layer promote`: grant an already-published version to more stages, without packaging
//! or publishing. With `--manifest`, every region the manifest's `layer_version_arns` names is
//! promoted, concurrently, and each region's version in AWS must still hold the exact bytes the
//! manifest records for that region: what was tested is what gets promoted.

use crate::aws::grant::{self, Wanted};
use crate::aws::layers::{LayerApi, Version, VersionArn};
use crate::aws::{Session, SessionKey};
use crate::cli::PromoteArgs;
use crate::commands::deliver::{self, Handed, Mode, Stages, grant_step, write_arn_file};
use crate::commands::pick::{self, Pick};
use crate::commands::{self, setup};
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Delivered, Run, human};
use crate::project::config::LayerConfig;
use crate::schema::{
    Manifest, Outcome, PlanAction, PlanCommand, ResultType, Step, StepName, StepStatus,
};

pub async fn run(args: &PromoteArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let layers = &setup.project.layers;
    let flag = args.aws.region.as_deref();
    let picks = pick::picks(&args.which, flag, layers)?;
    // Every check before the first AWS call.
    let groups = pick::by_layer(&picks, layers, flag)?;
    let mut work = Vec::new();
    for (layer, group) in groups {
        grant::check_policy_size(layer, flag)?;
        work.push((layer, group, grant::wanted(layer, &args.stages)?));
    }
    let mut run = Run::default();
    // A layer that configures no region is promoted where the environment points.
    let environment = setup.aws.environment_region();
    for (layer, group, wanted) in &work {
        // Each region's account is confirmed before the first grant in any of them.
        let mut sessions = Vec::new();
        for pick in group {
            let region = pick.region.as_deref().or(environment);
            let key = SessionKey::artifacts(&args.aws, layer, region, pick.account.as_deref());
            sessions.push(setup.aws.open(&key, region).await?);
        }
        let stages: Vec<Stages> = sessions
            .iter()
            .map(|from| Stages {
                sessions: &setup.aws,
                from,
                layer,
            })
            .collect();
        promote_layer(
            &mut run,
            args,
            &stages,
            group,
            wanted,
            environment,
            progress,
        )
        .await?;
    }
    write_arn_file(&run, args.output_file.as_deref())?;
    Ok(run)
}

/// One layer in each region it is promoted in (`stages[i]` works through the session of
/// `picks[i]`'s region): every region's version is read and checked against the manifest before
/// the first grant, then the grants go region by region at once.
async fn promote_layer(
    run: &mut Run,
    args: &PromoteArgs,
    stages: &[Stages<'_>],
    picks: &[&Pick],
    wanted: &[Wanted],
    environment: Option<&str>,
    progress: &Progress,
) -> Result<()> {
    let regions: Vec<Option<String>> = picks
        .iter()
        .map(|p| p.region.clone().or(environment.map(str::to_string)))
        .collect();
    let layer = stages[0].layer;
    let pick_in = |i: usize| picks[i];
    let index = |region: Option<&str>| {
        regions
            .iter()
            .position(|r| r.as_deref() == region)
            .expect("the region comes from this list")
    };
    let checked = commands::each_region(&regions, progress, |region, _| async move {
        let (pick, stages) = (pick_in(index(region)), &stages[index(region)]);
        let version = compared(stages.from, layer, pick, region).await?;
        check_after(stages, &version, &args.stages).await?;
        Ok(version)
    })
    .await;
    // A version that does not hold what the manifest says, or skipped a stage, stops the whole
    // promotion.
    if let Some(refused) = checked
        .iter()
        .find_map(|r| r.as_ref().err().filter(|e| e.kind == Kind::Guard))
    {
        return Err(refused.clone());
    }
    let versions = &checked;
    let results = commands::each_region(&regions, progress, |region, progress| {
        let version = versions[index(region)].as_ref();
        let (pick, stages) = (pick_in(index(region)), &stages[index(region)]);
        async move {
            let version = version.map_err(Error::clone)?;
            let api = stages.from.api(region, &layer.name)?;
            let wanted = grant::in_region(layer, wanted, &api.aws.region);
            promote_region(&api, stages, pick, version, &wanted, args, &progress).await
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

/// The version in AWS, compared with the CodeSha256 the manifest records for its region.
async fn compared(
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
    stages: &Stages<'_>,
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
    let mut grants = grant::apply(api, version.number, wanted, args.dry_run, progress).await?;
    step.finish(human::grant_counts(&grants));
    let account = &stages.from.caller().account;
    let header = (api.name.as_str(), api.aws.region.as_str(), account.as_str());
    if args.dry_run {
        let plan = version.plan(PlanCommand::Promote, PlanAction::Grant, header, grants);
        return Ok(Outcome::Plan(plan));
    }
    let compared = if pick.code_sha256.is_some() {
        let detail = Some(match pick.signature {
            Some(_) => "CodeSha256 and signature match the manifest".into(),
            None => "CodeSha256 matches the manifest".into(),
        });
        Step::new(StepName::Compare, StepStatus::Ok, detail)
    } else {
        let detail = Some("no --manifest given".into());
        Step::new(StepName::Compare, StepStatus::Skipped, detail)
    };
    let handed = Handed {
        region: &api.aws.region,
        arn: &version.arn,
        code_sha256: version.code_sha256.as_deref().unwrap_or_default(),
        git_commit: pick.git_commit.as_deref(),
        created: false,
    };
    let stage_accounts = deliver::to_stages(stages, wanted, &handed, progress).await;
    deliver::mark(&mut grants, &stage_accounts);
    let mut steps = vec![compared, grant_step(&grants)];
    steps.extend(deliver::stage_steps(&stage_accounts));
    Ok(Outcome::Manifest(Manifest {
        steps,
        grants,
        stage_accounts,
        ..Manifest::for_version(ResultType::Promote, header, version.facts())
    }))
}

/// `after`: a stage gets only a version that has been through the stage before it: that stage's
/// grants are on the version and, when it has a stage role, its accounts read it now.
async fn check_after(stages: &Stages<'_>, version: &Version, selected: &[String]) -> Result<()> {
    let layer = stages.layer;
    let region = version_region(version);
    for name in selected {
        let Some(before) = layer.stages.get(name).and_then(|s| s.after.as_deref()) else {
            continue;
        };
        let api = stages.from.api(Some(&region), &layer.name)?;
        let policy = api.policy(version.number).await?;
        let missing: Vec<String> = grant::wanted(layer, &[before.to_string()])?
            .into_iter()
            .filter(|w| !policy.get(&w.statement_id()).is_some_and(|s| w.matches(s)))
            .map(|w| w.statement_id())
            .collect();
        let skipped = |why: String| skipped(layer, version, &region, name, before, why);
        if !missing.is_empty() {
            return Err(skipped(format!(
                "it lacks {before}'s grant ({})",
                missing.join(", ")
            )));
        }
        let handed = Handed {
            region: &region,
            arn: &version.arn,
            code_sha256: version.code_sha256.as_deref().unwrap_or_default(),
            git_commit: None,
            created: false,
        };
        let unusable: Vec<String> = stages
            .visit(&[before], &handed, Mode::Check)
            .await
            .into_iter()
            .filter(|a| !a.verified)
            .map(|a| format!("{} ({})", a.account, a.error.unwrap_or_default()))
            .collect();
        if !unusable.is_empty() {
            return Err(skipped(format!(
                "stage {before} cannot use it now: {}",
                unusable.join("; ")
            )));
        }
    }
    Ok(())
}

/// The region of a version, from its ARN.
fn version_region(version: &Version) -> String {
    VersionArn::parse(&version.arn)
        .map(|a| a.region)
        .unwrap_or_default()
}

fn skipped(
    layer: &LayerConfig,
    version: &Version,
    region: &str,
    stage: &str,
    before: &str,
    why: String,
) -> Error {
    let number = version.number.to_string();
    Error::new(
        Kind::Guard,
        format!(
            "stage {stage} comes after {before}, and version {number} of {} in {region} has not been through {before}: {why}",
            layer.name
        ),
    )
    .fix(format!(
        "promote it to {before} first ({}), test it there, then promote it to {stage}",
        crate::hint::for_layer("promote", &layer.name, region, &["--stage", before, "--version", &number])
    ))
}
