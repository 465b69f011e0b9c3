//! `cargo layer publish`: package, find or publish exactly one version for the content hash in
//! the artifacts account, grant it to the stages, and write the manifest where deploys read it.

use crate::aws::dedupe::{self, Identity};
use crate::aws::grant::{self, Wanted};
use crate::aws::layers::LayerApi;
use crate::aws::{self, Session};
use crate::cli::PublishArgs;
use crate::commands::deliver::{self, grant_step, write_arn_file};
use crate::commands::once::{self, Artifact, Signer};
use crate::commands::{self, setup};
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Run, human};
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
    // Every region's account (each partition's or region's own, where one is configured), and
    // signing profiles and buckets, are checked before the first write.
    let mut prepared = Vec::new();
    for (layer, (_, regions)) in packaged.iter().zip(&work) {
        prepared.push(prepare(&setup.aws, &layer.layer, regions).await?);
    }
    let out_dir = pack::out_dir(&setup.project, opts.out_dir.as_deref());
    // One id for everything this run publishes: it proves which versions are its own.
    let run_id = dedupe::run_id();
    let mut run = Run::default();
    for ((layer, (wanted, regions)), prepared) in packaged.iter().zip(&work).zip(&prepared) {
        let git = schema::GitState::of(&layer.layer.package_root);
        progress.group(&format!(
            "publish {} ({} region(s))",
            layer.layer.name,
            regions.len()
        ));
        let results = commands::each_region(regions, progress, |region, progress| {
            let ready = prepared
                .iter()
                .find(|p| p.region.as_deref() == region)
                .expect("every region was prepared");
            let job = Job {
                packaged: layer,
                session: &ready.session,
                stages: deliver::Stages {
                    sessions: &setup.aws,
                    from: &ready.session,
                    layer: &layer.layer,
                },
                region,
                wanted,
                run: &run_id,
                git: &git,
                signer: ready.signer.as_ref(),
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

/// One region, ready to publish in: its session, its account confirmed, and for a layer with
/// `signing-profile` its signer ([`once::preflight`]).
struct Prepared {
    region: Option<String>,
    session: Session,
    signer: Option<Signer>,
}

async fn prepare(
    sessions: &aws::Sessions<'_>,
    layer: &LayerConfig,
    regions: &[Option<String>],
) -> Result<Vec<Prepared>> {
    let mut prepared = Vec::new();
    let opened = commands::Opened::open(sessions, layer, regions).await?;
    for region in regions {
        let session = opened.session(region.as_deref()).clone();
        let signer = match &layer.signing {
            Some(_) => {
                let aws = session.region(region.as_deref())?;
                once::preflight(&session, layer, &aws.region).await?
            }
            None => None,
        };
        prepared.push(Prepared {
            region: region.clone(),
            session,
            signer,
        });
    }
    Ok(prepared)
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
    stages: deliver::Stages<'a>,
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
    let wanted = &grant::in_region(layer, job.wanted, &api.aws.region);
    let mut grants = grant::apply(&api, version.number, wanted, false, progress).await?;
    step.finish(human::grant_counts(&grants));
    // What AWS holds: for a signed layer, the signed zip's hash, not the artifact's.
    let handed = deliver::Handed {
        region: &api.aws.region,
        arn: &version.arn,
        code_sha256: version.code_sha256.as_deref().unwrap_or_default(),
        git_commit: job.git.commit.as_deref(),
        created: published,
    };
    let stage_accounts = deliver::to_stages(&job.stages, wanted, &handed, progress).await;
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
