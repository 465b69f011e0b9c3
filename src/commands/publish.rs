//! `cargo layer publish`: package, find or publish exactly one version for the content hash in
//! the artifacts account, grant it to the stages, and write the manifest where deploys read it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aws::Session;
use crate::aws::dedupe::{self, Identity};
use crate::aws::grant::{self, Wanted};
use crate::aws::layers::LayerApi;
use crate::cli::PublishArgs;
use crate::commands::once::{self, Artifact, Signer};
use crate::commands::{self, grant_step, setup, write_arn_file};
use crate::error::{Error, Result};
use crate::output::progress::Progress;
use crate::output::{self, Delivered, Run, human};
use crate::pack::{self, Packaged};
use crate::project::config::LayerConfig;
use crate::schema::{
    self, Manifest, Outcome, Plan, PlanAction, PlanCommand, ResultType, SearchMethod, Step,
    StepName, StepStatus,
};

pub async fn run(args: &PublishArgs, progress: &Progress) -> Result<Run> {
    let mut setup = setup::load(&args.select, &args.aws).await?;
    let flag = args.aws.region.as_deref();
    // Every local check before the build, and the build before any AWS call.
    let mut work = Vec::new();
    for layer in &setup.project.layers {
        grant::check_policy_size(layer, flag)?;
        work.push((
            grant::wanted(layer, &args.stages)?,
            setup::regions(layer, flag)?,
        ));
    }
    let opts = pack::Options {
        selection: args.select.selection(),
        build: args.build.options(progress.is_quiet()),
        out_dir: args.out_dir.clone(),
    };
    let packaged = pack::pack_project(&setup.project, &opts, progress)?;
    // Signing profiles and buckets are checked in every region before the first write.
    let mut signers = Vec::new();
    for (layer, (_, regions)) in packaged.iter().zip(&work) {
        let first = regions.first().cloned().flatten();
        let session = setup.aws.session(&layer.layer, first.as_deref()).await?;
        signers.push(preflight(session, &layer.layer, regions).await?);
    }
    let out_dir = pack::out_dir(&setup.project, opts.out_dir.as_deref());
    // One id for everything this run publishes: it proves which versions are its own.
    let run_id = dedupe::run_id();
    let mut run = Run::default();
    for ((layer, (wanted, regions)), signers) in packaged.iter().zip(&work).zip(&signers) {
        let first = regions.first().cloned().flatten();
        let session = setup.aws.session(&layer.layer, first.as_deref()).await?;
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
                region,
                wanted,
                run: &run_id,
                git: &git,
                signer: signers
                    .iter()
                    .find(|(r, _)| r.as_deref() == region)
                    .and_then(|(_, s)| s.as_ref()),
            };
            async move { publish_region(&job, args.dry_run, &progress).await }
        })
        .await;
        progress.end_group();
        record(&mut run, &layer.layer, &out_dir, regions, results)?;
    }
    write_arn_file(&run, args.output_file.as_deref())?;
    Ok(run)
}

/// The signer of each region of a layer with `signing-profile` ([`once::preflight`]).
async fn preflight(
    session: &Session,
    layer: &crate::project::config::LayerConfig,
    regions: &[Option<String>],
) -> Result<Vec<(Option<String>, Option<Signer>)>> {
    let mut signers = Vec::new();
    for region in regions {
        let signer = match &layer.signing {
            Some(_) => {
                let aws = session.region(region.as_deref())?;
                once::preflight(session, layer, &aws.region).await?
            }
            None => None,
        };
        signers.push((region.clone(), signer));
    }
    Ok(signers)
}

/// Write each region's manifest, in the configured order. Every manifest of the layer carries
/// the region -> ARN and region -> CodeSha256 maps of the regions that succeeded. A failed
/// region's manifest from an earlier run is removed: it names an older version as if current.
fn record(
    run: &mut Run,
    layer: &LayerConfig,
    out_dir: &Path,
    regions: &[Option<String>],
    results: Vec<Result<Outcome>>,
) -> Result<()> {
    let manifests = || {
        results.iter().filter_map(|r| match r {
            Ok(Outcome::Manifest(m)) => Some(m),
            _ => None,
        })
    };
    let arns: BTreeMap<String, String> = manifests()
        .map(|m| (m.header.region.clone(), m.layer_version_arn.clone()))
        .collect();
    let codes: BTreeMap<String, String> = manifests()
        .map(|m| (m.header.region.clone(), m.code_sha256.clone()))
        .collect();
    let signatures: BTreeMap<String, schema::Signature> = manifests()
        .filter_map(|m| Some((m.header.region.clone(), m.signature.clone()?)))
        .collect();
    let several = layer.regions.len() > 1;
    for (region, result) in regions.iter().zip(results) {
        match result {
            Ok(Outcome::Manifest(mut manifest)) => {
                manifest.layer_version_arns = arns.clone();
                manifest.code_sha256s = codes.clone();
                manifest.signatures = signatures.clone();
                let path =
                    schema::cargo_toml(out_dir, &layer.name, several, &manifest.header.region);
                output::write_atomic(&path, &output::to_pretty_json(&manifest))?;
                run.results.push(Delivered {
                    outcome: Outcome::Manifest(manifest),
                    file: Some(path),
                });
            }
            Ok(outcome) => run.push(outcome),
            Err(error) => {
                if let Some(region) = region.as_deref().filter(|_| several) {
                    remove_stale(&schema::cargo_toml(out_dir, &layer.name, true, region))?;
                }
                commands::failed(run, &layer.name, region.as_deref(), error)?;
            }
        }
    }
    Ok(())
}

/// Remove a manifest an earlier run wrote, if there is one.
fn remove_stale(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// One layer in one region, and what this run brings to it.
struct Job<'a> {
    packaged: &'a Packaged,
    session: &'a Session,
    region: Option<&'a str>,
    wanted: &'a [Wanted],
    run: &'a str,
    /// Read once per layer, not once per region.
    git: &'a schema::GitState,
    /// For a layer with `signing-profile`: what signs in this region, already checked.
    signer: Option<&'a Signer>,
}

impl Job<'_> {
    fn artifact(&self) -> Artifact<'_> {
        let layer = &self.packaged.layer;
        Artifact {
            identity: Identity::new(
                &self.packaged.archive.code_sha256,
                &layer.compatible_runtimes,
                &self.packaged.architectures,
                layer.license.as_deref(),
            ),
            sha256: &self.packaged.archive.sha256,
            signer: self.signer,
        }
    }
}

async fn publish_region(job: &Job<'_>, dry_run: bool, progress: &Progress) -> Result<Outcome> {
    let packaged = job.packaged;
    let layer = &packaged.layer;
    let api = job.session.api(job.region, &layer.name)?;
    let caller = job.session.caller();
    let artifact = job.artifact();
    let step = progress.step(format!(
        "looking for {} in {} with artifact digest {}",
        layer.name, api.aws.region, artifact.identity.artifact
    ));
    let found = once::find(&api, &artifact).await?;
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
            once::FALLBACK_SCAN
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
        None => {
            let publish = once::Publish {
                api: &api,
                session: job.session,
                packaged,
                artifact: &artifact,
                run: job.run,
            };
            let done = once::publish(&publish, &mut notes, progress).await?;
            (done.version, done.published)
        }
    };
    let step = progress.step(format!(
        "granting version {} in {} to {} principals",
        version.number,
        api.aws.region,
        job.wanted.len()
    ));
    let grants = grant::apply(&api, version.number, job.wanted, false, progress).await?;
    step.finish(human::grant_counts(&grants));
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
            Some(Step::new(StepName::Package, StepStatus::Ok, None)),
            job.signer.map(|s| {
                let detail = Some(format!("profile version {}", s.profile.version_arn));
                Step::new(StepName::Sign, publish, detail)
            }),
            Some(Step::new(StepName::Publish, publish, None)),
            Some(grant_step(&grants)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        grants,
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
    found: once::Found,
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
    if found.version.is_none() {
        plan.code_sha256 = Some(job.packaged.archive.code_sha256.clone());
    }
    plan.dedupe = Some(found.search);
    plan.notes = notes;
    if let (Some(signer), None) = (job.signer, &plan.version) {
        plan.notes.push(format!(
            "would sign the zip with profile version {} before publishing; the signed zip's CodeSha256 is known only then",
            signer.profile.version_arn
        ));
    }
    Ok(plan)
}
