//! `cargo layer publish`: package, find or publish exactly one version for the content hash in
//! the artifacts account, grant it to the stages, and write the manifest where deploys read it.

use std::time::Duration;

use crate::aws::dedupe::{self, Identity};
use crate::aws::grant::{self, Wanted};
use crate::aws::layers::{Content, LayerApi, PublishInput, Version};
use crate::aws::{self, Session};
use crate::cli::PublishArgs;
use crate::commands::deliver::{self, grant_step, write_arn_file};
use crate::commands::{self, setup};
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{self, Run, human};
use crate::pack::{self, Packaged};
use crate::project::config::LayerConfig;
use crate::schema::{
    self, Manifest, Outcome, Plan, PlanAction, PlanCommand, ResultType, SearchMethod, Step,
    StepName, StepStatus,
};

pub async fn run(args: &PublishArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let flag = args.aws.region.as_deref();
    // Every local check before the build, and the build before any AWS call.
    let mut work = Vec::new();
    for layer in &setup.project.layers {
        grant::check_policy_size(layer, flag)?;
        work.push((
            grant::wanted(layer, &first_stages(layer, &args.stages)?)?,
            setup::regions(layer, flag)?,
        ));
    }
    let opts = pack::Options {
        selection: args.select.selection(),
        build: args.build.options(progress.is_quiet()),
        out_dir: args.out_dir.clone(),
    };
    let packaged = pack::pack_project(&setup.project, &opts, progress)?;
    let out_dir = pack::out_dir(&setup.project, opts.out_dir.as_deref());
    // One id for everything this run publishes: it proves which versions are its own.
    let run_id = dedupe::run_id();
    let mut run = Run::default();
    for (layer, (wanted, regions)) in packaged.iter().zip(&work) {
        let first = regions.first().cloned().flatten();
        let session = &setup.aws.session(&layer.layer, first.as_deref()).await?;
        let stages = &deliver::Stages {
            sessions: &setup.aws,
            from: session,
            layer: &layer.layer,
        };
        let git = schema::GitState::of(&layer.layer.package_root);
        progress.group(&format!(
            "publish {} ({} region(s))",
            layer.layer.name,
            regions.len()
        ));
        let results = commands::each_region(regions, progress, |region, progress| {
            let job = Job {
                packaged: layer,
                session,
                stages,
                region,
                wanted,
                run: &run_id,
                git: &git,
            };
            async move { publish_region(&job, args.dry_run, &progress).await }
        })
        .await;
        progress.end_group();
        deliver::write_manifests(&mut run, &layer.layer, &out_dir, regions, results)?;
    }
    write_arn_file(&run, args.output_file.as_deref())?;
    Ok(run)
}

/// The stages publish grants: the selected ones, else every stage that comes first. A stage with
/// `after` gets a version only once it has been through the stage before, which is promote's job.
fn first_stages(layer: &LayerConfig, selected: &[String]) -> Result<Vec<String>> {
    if let Some((name, before)) = selected
        .iter()
        .find_map(|n| Some((n, layer.stage(n).ok()?.after.as_deref()?)))
    {
        return Err(Error::new(
            Kind::Guard,
            format!("stage {name} comes after {before}: publish does not grant it a version that has not been through {before}"),
        )
        .fix(format!(
            "publish to {before}, then promote the tested version: {}",
            crate::hint::command("promote", &["--stage", name, "--manifest", "<the manifest publish wrote>"])
        )));
    }
    if !selected.is_empty() {
        return Ok(selected.to_vec());
    }
    Ok(layer
        .stages
        .iter()
        .filter(|(_, s)| s.after.is_none())
        .map(|(name, _)| name.clone())
        .collect())
}

/// One layer in one region, and what this run brings to it.
struct Job<'a> {
    packaged: &'a Packaged,
    session: &'a Session,
    stages: &'a deliver::Stages<'a>,
    region: Option<&'a str>,
    wanted: &'a [Wanted],
    run: &'a str,
    /// Read once per layer, not once per region.
    git: &'a schema::GitState,
}

impl Job<'_> {
    fn identity(&self) -> Identity {
        let layer = &self.packaged.layer;
        Identity::new(
            &self.packaged.archive.code_sha256,
            &layer.compatible_runtimes,
            &self.packaged.architectures,
            layer.license.as_deref(),
        )
    }
}

async fn publish_region(job: &Job<'_>, dry_run: bool, progress: &Progress) -> Result<Outcome> {
    let packaged = job.packaged;
    let layer = &packaged.layer;
    let api = job.session.api(job.region, &layer.name)?;
    let caller = job.session.caller();
    let identity = job.identity();
    let step = progress.step(format!(
        "looking for {} in {} with CodeSha256 {}",
        layer.name, api.aws.region, identity.code_sha256
    ));
    let found = dedupe::find(&api, &identity).await?;
    step.finish(match &found.version {
        Some(v) => format!("version {} already holds this content", v.number),
        None => format!(
            "no version holds this content ({} listed)",
            found.search.versions_listed
        ),
    });
    let mut notes = found.notes.clone();
    if found.search.unmarked_unchecked > 0 {
        notes.push(format!(
            "{} older versions published by other tools were not compared by hash (only the newest {} are)",
            found.search.unmarked_unchecked,
            dedupe::FALLBACK_SCAN
        ));
    }
    if found.search.method == SearchMethod::HashScan {
        notes.push("found by comparing CodeSha256 of versions published by another tool".into());
    }
    if dry_run {
        return plan(&api, job, found, notes, progress)
            .await
            .map(Outcome::Plan);
    }
    // The reuse path never deletes anything.
    let (version, published) = match found.version {
        Some(version) => (version, false),
        None => publish_once(&api, job, &identity, &mut notes, progress).await?,
    };
    let step = progress.step(format!(
        "granting version {} in {} to {} principals",
        version.number,
        api.aws.region,
        job.wanted.len()
    ));
    let mut grants = grant::apply(&api, version.number, job.wanted, false, progress).await?;
    step.finish(human::grant_counts(&grants));
    let code_sha256 = version
        .code_sha256
        .as_deref()
        .unwrap_or(&identity.code_sha256);
    let handed = deliver::Handed {
        region: &api.aws.region,
        arn: &version.arn,
        code_sha256,
        git_commit: job.git.commit.as_deref(),
    };
    let stage_accounts = deliver::to_stages(job.stages, job.wanted, &handed, progress).await;
    deliver::mark(&mut grants, &stage_accounts);
    let header = (
        layer.name.as_str(),
        api.aws.region.as_str(),
        caller.account.as_str(),
    );
    let publish = if published {
        StepStatus::Ok
    } else {
        StepStatus::Reused
    };
    Ok(Outcome::Manifest(Manifest {
        sha256: Some(packaged.archive.sha256.clone()),
        unzipped_size: Some(packaged.archive.unzipped_size),
        published,
        dedupe: Some(found.search),
        steps: [
            Step::new(StepName::Package, StepStatus::Ok, None),
            Step::new(StepName::Publish, publish, None),
            grant_step(&grants),
        ]
        .into_iter()
        .chain(deliver::stage_steps(&stage_accounts))
        .collect(),
        grants,
        stage_accounts,
        notes,
        git_commit: job.git.commit.clone(),
        git_dirty: job.git.dirty,
        build: packaged.build.clone(),
        ..Manifest::for_version(ResultType::Publish, header, version.facts())
    }))
}

async fn plan(
    api: &LayerApi,
    job: &Job<'_>,
    found: dedupe::Found,
    notes: Vec<String>,
    progress: &Progress,
) -> Result<Plan> {
    let account = job.session.caller().account.as_str();
    let header = (
        job.packaged.layer.name.as_str(),
        api.aws.region.as_str(),
        account,
    );
    let mut plan = match &found.version {
        Some(version) => {
            let grants = grant::apply(api, version.number, job.wanted, true, progress).await?;
            version.plan(PlanCommand::Publish, PlanAction::Reuse, header, grants)
        }
        None => Plan {
            grants: job.wanted.iter().map(|w| w.planned()).collect(),
            ..Plan::new(PlanCommand::Publish, PlanAction::Publish, header)
        },
    };
    plan.code_sha256 = Some(job.packaged.archive.code_sha256.clone());
    plan.dedupe = Some(found.search);
    plan.notes = notes;
    Ok(plan)
}

/// PublishLayerVersion is not idempotent. Before any retry, look for the version a lost
/// response may have created; after publishing, defer to an older twin a concurrent run made,
/// deleting only this run's own duplicate.
async fn publish_once(
    api: &LayerApi,
    job: &Job<'_>,
    identity: &Identity,
    notes: &mut Vec<String>,
    progress: &Progress,
) -> Result<(Version, bool)> {
    let packaged = job.packaged;
    let layer = &packaged.layer;
    let description =
        dedupe::description(layer.description.as_deref(), &identity.code_sha256, job.run);
    let staged = stage(api, job, progress).await?;
    let input = PublishInput {
        content: match &staged {
            Some(location) => Content::S3(location),
            None => Content::Zip(&packaged.archive.bytes),
        },
        description: &description,
        license: layer.license.as_deref(),
        runtimes: &layer.compatible_runtimes,
        architectures: &packaged.architectures,
    };
    let max = api.aws.max_attempts;
    let mut attempt = 1;
    let step = progress.step(format!(
        "publishing {} ({})",
        layer.name,
        output::human_size(packaged.archive.bytes.len() as u64)
    ));
    let (created, own) = loop {
        match api.publish_attempt(&input).await {
            Ok(version) => break (version, true),
            Err(err) if aws::is_transient(&err) && attempt < max => {
                progress.warn(format!(
                    "lambda:PublishLayerVersion attempt {attempt} of {max} failed ({}); checking whether it went through before retrying",
                    aws::sdk_error("lambda:PublishLayerVersion", &layer.name, err)
                ));
                tokio::time::sleep(backoff(attempt)).await;
                if let Some(version) = dedupe::find(api, identity).await?.version {
                    notes.push(format!(
                        "publish attempt {attempt} may have reached Lambda although its response was lost; using version {} instead of publishing again",
                        version.number
                    ));
                    break (version, false);
                }
                attempt += 1;
            }
            Err(err) => {
                step.fail();
                let resource = format!("layer {} in {}", layer.name, api.aws.region);
                return Err(aws::sdk_error("lambda:PublishLayerVersion", &resource, err));
            }
        }
    };
    check_hash(&created, &identity.code_sha256)?;
    step.finish(format!("using version {}", created.number));
    let number = created.number;
    let survivor = dedupe::settle(api, created, own, identity, job.run, notes).await?;
    if survivor.number != number {
        progress.info(format!(
            "  another run published the same content first; using version {}",
            survivor.number
        ));
    }
    let published = own && survivor.number == number
        || dedupe::read_marker(&survivor.description).and_then(|m| m.run) == Some(job.run);
    Ok((survivor, published))
}

/// Zips over the direct-upload limit, and every zip of a layer with `s3-bucket`, go up to S3
/// first (in the layer's region); a zip the bucket already holds is not sent again.
async fn stage(
    api: &LayerApi,
    job: &Job<'_>,
    progress: &Progress,
) -> Result<Option<crate::aws::s3::Location>> {
    let layer = &job.packaged.layer;
    let archive = &job.packaged.archive;
    let region = &api.aws.region;
    // Packaging already refused a zip over the direct-upload limit without a bucket.
    let Some(bucket) = layer.bucket(region, &job.session.caller().account) else {
        return Ok(None);
    };
    let client = job.session.s3(region);
    crate::aws::s3::stage(&client, &bucket, &layer.name, archive, progress)
        .await
        .map(Some)
}

fn check_hash(version: &Version, code: &str) -> Result<()> {
    match version.code_sha256.as_deref() {
        Some(remote) if remote == code => Ok(()),
        remote => Err(Error::new(Kind::Guard, format!("Lambda reports CodeSha256 {} for the new version {}, but the local zip is {code}; the upload was altered on the way", remote.unwrap_or("(none)"), version.arn)).fix("delete that version and publish again")),
    }
}

/// Exponential backoff with full jitter, capped at 20 s.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = (200u64 << attempt.min(7)).min(20_000);
    Duration::from_millis(fastrand::u64(cap_ms / 2..=cap_ms))
}
