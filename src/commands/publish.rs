//! `cargo layer publish`: package, find or publish exactly one version for the content hash in
//! the artifacts account, grant it to the stages, and write the result where deploys read it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{StreamExt, stream};

use crate::aws::dedupe::{self, Identity};
use crate::aws::grant::{self, GrantResult, Status, Wanted};
use crate::aws::layers::{Content, Layer, PublishInput, Version};
use crate::aws::{self, Session};
use crate::cli::PublishArgs;
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::report;
use crate::output::{self, MessageFormat};
use crate::pack::{self, Packaged};
use crate::project;
use crate::project::config::LayerConfig;
use crate::project::limits::MAX_ZIP_BYTES;
use crate::schema::{self, Manifest, Plan, Step};

/// Regions published at once; within a region, grants go four at a time (see `grant`).
const REGIONS_AT_ONCE: usize = 8;

pub async fn run(args: &PublishArgs, format: MessageFormat, progress: &Progress) -> Result<()> {
    let opts = pack::Options {
        selection: args.select.selection(),
        build: args.build.options(progress.is_quiet()),
        out_dir: args.out_dir.clone(),
    };
    let project = project::load(&opts.selection)?;
    // Every local check before the build, and the build before any AWS call.
    let wanted = project
        .layers
        .iter()
        .map(|layer| grant::wanted(layer, &args.stages))
        .collect::<Result<Vec<_>>>()?;
    let regions = project
        .layers
        .iter()
        .map(|layer| regions(layer, args.aws.region.as_deref()))
        .collect::<Result<Vec<_>>>()?;
    for layer in &project.layers {
        grant::check_policy_size(layer, args.aws.region.as_deref())?;
    }
    let packaged = pack::pack_project(&project, &opts, progress)?;
    let out_dir = pack::out_dir(&project, &opts);
    // One id for everything this run publishes: it proves which versions are its own.
    let run = dedupe::run_id();
    let mut sessions = aws::Sessions::default();
    let mut done = Done::default();
    for ((layer, wanted), regions) in packaged.iter().zip(&wanted).zip(regions) {
        let config = &layer.layer;
        let session = sessions
            .get(
                &args.aws,
                regions.first().cloned().flatten().as_deref(),
                config.role_arn.as_deref(),
                config.artifacts_account.as_deref(),
            )
            .await?;
        let targets: Vec<Target> = regions
            .iter()
            .map(|region| Target {
                packaged: layer,
                session,
                region: region.as_deref(),
                wanted,
                run: &run,
            })
            .collect();
        progress.group(&format!(
            "publish {} ({} region(s))",
            config.name,
            targets.len()
        ));
        // A failing region neither stops nor hides the others: every result is collected.
        let results: Vec<Result<Outcome>> = stream::iter(&targets)
            .map(|target| publish_region(target, args, progress))
            .buffered(REGIONS_AT_ONCE)
            .collect()
            .await;
        progress.end_group();
        done.record(config, &out_dir, &targets, results, format, progress)?;
    }
    report::finish(
        &done.manifests,
        &done.failures,
        args.output_file.as_deref(),
        progress,
    )
}

/// What the run has handed out so far, and the regions that failed.
#[derive(Default)]
struct Done {
    manifests: Vec<(Manifest, PathBuf)>,
    failures: Vec<(String, Error)>,
}

impl Done {
    /// Write and report each region's result, in the configured order. Every manifest of the
    /// layer carries the region -> ARN map of the regions that succeeded.
    fn record(
        &mut self,
        layer: &LayerConfig,
        out_dir: &Path,
        targets: &[Target<'_>],
        results: Vec<Result<Outcome>>,
        format: MessageFormat,
        progress: &Progress,
    ) -> Result<()> {
        let arns: BTreeMap<String, String> = results
            .iter()
            .filter_map(|r| match r {
                Ok(Outcome::Done(m)) => Some((m.region.clone(), m.layer_version_arn.clone())),
                _ => None,
            })
            .collect();
        for (target, result) in targets.iter().zip(results) {
            match result {
                Ok(Outcome::Planned(plan)) => report::plan(&plan, format, progress),
                Ok(Outcome::Done(mut manifest)) => {
                    manifest.layer_version_arns = arns.clone();
                    let path = schema::path(out_dir, layer, &manifest.region);
                    output::write_atomic(&path, &output::to_pretty_json(&manifest))?;
                    report::manifest(&manifest, Some(&path), format, progress);
                    self.manifests.push((manifest, path));
                }
                Err(err) if err.kind == Kind::Interrupted => return Err(err),
                Err(err) => {
                    let region = target.region.unwrap_or("the default region").to_string();
                    report::region_failed(&layer.name, &region, &err, progress);
                    self.failures.push((region, err));
                }
            }
        }
        Ok(())
    }
}

enum Outcome {
    Planned(Plan),
    Done(Manifest),
}

/// One layer in one region, and what this run brings to it.
struct Target<'a> {
    packaged: &'a Packaged,
    session: &'a Session,
    region: Option<&'a str>,
    wanted: &'a [Wanted],
    run: &'a str,
}

impl Target<'_> {
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

/// The configured regions, unless `--region` picks one; `None` means the environment's.
fn regions(layer: &LayerConfig, flag: Option<&str>) -> Result<Vec<Option<String>>> {
    if flag.is_some() || layer.regions.is_empty() {
        return Ok(vec![layer.one_region(flag)?]);
    }
    Ok(layer.regions.iter().cloned().map(Some).collect())
}

async fn publish_region(
    target: &Target<'_>,
    args: &PublishArgs,
    progress: &Progress,
) -> Result<Outcome> {
    let packaged = target.packaged;
    let layer = &packaged.layer;
    let aws = target.session.region(target.region)?;
    let caller = target.session.caller();
    progress.debug(format!(
        "credentials: {} in account {}",
        caller.arn, caller.account
    ));
    let api = Layer {
        aws: &aws,
        name: &layer.name,
    };
    let identity = target.identity();
    let step = progress.step(format!(
        "looking for {} with CodeSha256 {}",
        layer.name, identity.code_sha256
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
    if found.search.method == "hash-scan" {
        notes.push("found by comparing CodeSha256 of versions published by another tool".into());
    }
    if args.dry_run {
        return plan(
            &api,
            packaged,
            &caller.account,
            found,
            notes,
            target.wanted,
            progress,
        )
        .await
        .map(Outcome::Planned);
    }
    // The reuse path never deletes anything.
    let (version, published) = match found.version {
        Some(version) => (version, false),
        None => publish_once(&api, target, &identity, &mut notes, progress).await?,
    };
    let step = progress.step(format!(
        "granting version {} to {} principals",
        version.number,
        target.wanted.len()
    ));
    let grants = grant::apply(&api, version.number, target.wanted, false, progress).await?;
    step.finish(report::grant_counts(&grants));
    Ok(Outcome::Done(Manifest {
        sha256: Some(packaged.archive.sha256.clone()),
        unzipped_size: Some(packaged.archive.unzipped_size),
        published,
        dedupe: Some(found.search),
        steps: vec![
            Step::new("package", "ok", None),
            Step::new("publish", if published { "ok" } else { "reused" }, None),
            grant_step(&grants),
        ],
        grants,
        notes,
        git_commit: schema::git_commit(&layer.package_root),
        ..Manifest::for_version(
            "publish",
            &layer.name,
            &aws.region,
            caller.account.clone(),
            &version,
        )
    }))
}

pub fn grant_step(grants: &[GrantResult]) -> Step {
    let failed = grants.iter().filter(|g| g.status == Status::Failed).count();
    if failed == 0 {
        Step::new("grant", "ok", None)
    } else {
        Step::new(
            "grant",
            "failed",
            Some(format!("{failed} of {} grants failed", grants.len())),
        )
    }
}

async fn plan(
    api: &Layer<'_>,
    packaged: &Packaged,
    account: &str,
    found: dedupe::Found,
    notes: Vec<String>,
    wanted: &[Wanted],
    progress: &Progress,
) -> Result<Plan> {
    let (action, grants) = match &found.version {
        Some(version) => (
            "reuse",
            grant::apply(api, version.number, wanted, true, progress).await?,
        ),
        None => ("publish", wanted.iter().map(|w| w.planned()).collect()),
    };
    let base = Plan::new(
        "publish",
        action,
        &packaged.layer.name,
        &api.aws.region,
        account,
    );
    let mut plan = match &found.version {
        Some(version) => base.on(version),
        None => base,
    };
    plan.code_sha256 = Some(packaged.archive.code_sha256.clone());
    plan.dedupe = Some(found.search);
    plan.grants = grants;
    plan.notes = notes;
    Ok(plan)
}

/// PublishLayerVersion is not idempotent. Before any retry, look for the version a lost
/// response may have created; after publishing, defer to an older twin a concurrent run made,
/// deleting only this run's own duplicate.
async fn publish_once(
    api: &Layer<'_>,
    target: &Target<'_>,
    identity: &Identity,
    notes: &mut Vec<String>,
    progress: &Progress,
) -> Result<(Version, bool)> {
    let packaged = target.packaged;
    let layer = &packaged.layer;
    let description = dedupe::description(
        layer.description.as_deref(),
        &identity.code_sha256,
        target.run,
    );
    let staged = stage(api, target, progress).await?;
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
                    aws::sdk_error("lambda:PublishLayerVersion", &layer.name, err).message
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
    let survivor = dedupe::settle(api, created, own, identity, target.run, notes).await?;
    if survivor.number != number {
        progress.info(format!(
            "  another run published the same content first; using version {}",
            survivor.number
        ));
    }
    let published = own && survivor.number == number
        || dedupe::read_marker(&survivor.description).and_then(|m| m.run) == Some(target.run);
    Ok((survivor, published))
}

/// Zips over the direct-upload limit, and every zip of a layer with `s3-bucket`, go up to S3
/// first (in the layer's region); a zip the bucket already holds is not sent again.
async fn stage(
    api: &Layer<'_>,
    target: &Target<'_>,
    progress: &Progress,
) -> Result<Option<crate::aws::s3::Location>> {
    let layer = &target.packaged.layer;
    let archive = &target.packaged.archive;
    let region = &api.aws.region;
    let Some(bucket) = layer.bucket(region, &target.session.caller().account) else {
        // `package` refuses such a zip without a bucket; this guards library callers.
        if archive.bytes.len() as u64 > MAX_ZIP_BYTES {
            return Err(Error::package(format!(
                "the zip of {} is over the {MAX_ZIP_BYTES}-byte direct upload limit; set package.metadata.layer.s3-bucket",
                layer.name
            )));
        }
        return Ok(None);
    };
    let client = target.session.s3(region);
    crate::aws::s3::stage(&client, &bucket, &layer.name, archive, progress)
        .await
        .map(Some)
}

fn check_hash(version: &Version, code: &str) -> Result<()> {
    match version.code_sha256.as_deref() {
        Some(remote) if remote == code => Ok(()),
        remote => Err(Error::new(
            Kind::Guard,
            format!(
                "Lambda reports CodeSha256 {} for the new version {}, but the local zip is {code}; the upload was altered on the way; delete that version and publish again",
                remote.unwrap_or("(none)"),
                version.arn
            ),
        )),
    }
}

/// Exponential backoff with full jitter, capped at 20 s.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = (200u64 << attempt.min(7)).min(20_000);
    Duration::from_millis(fastrand::u64(cap_ms / 2..=cap_ms))
}
