//! `cargo layer prune --keep N`: delete old versions, which count against the account's 75 GB of
//! code storage, without touching what is in use. The whole plan is known before the first
//! delete: the newest N stay, and so do the version each stage uses now (the newest one with
//! that stage's cargo-layer grant), every version a given manifest names, and every version
//! another tool published (no cargo-layer marker, or bytes that do not match it) unless
//! `--include-foreign`.

use std::collections::BTreeMap;

use crate::aws::dedupe;
use crate::aws::layers::{LayerApi, Version};
use crate::aws::policy;
use crate::cli::PruneArgs;
use crate::commands::setup;
use crate::error::Result;
use crate::output::Run;
use crate::output::progress::Progress;
use crate::project::config::LayerConfig;
use crate::schema::{self, Header, Kept, Outcome, Pruned, ResultType};

pub async fn run(args: &PruneArgs, progress: &Progress) -> Result<Run> {
    let mut setup = setup::load(&args.select, &args.aws).await?;
    let manifests = args
        .manifest
        .iter()
        .map(|path| schema::read_manifest(path))
        .collect::<Result<Vec<_>>>()?;
    let mut run = Run::default();
    for layer in &setup.project.layers {
        let regions = setup::regions(layer, args.aws.region.as_deref())?;
        let first = regions.first().cloned().flatten();
        let session = setup.aws.session(layer, first.as_deref()).await?;
        for region in &regions {
            let api = session.api(region.as_deref(), &layer.name)?;
            let protected: Vec<i64> = manifests
                .iter()
                .filter(|m| m.header.name == layer.name && m.header.region == api.aws.region)
                .map(|m| m.version)
                .collect();
            let triage = triage(&api, layer, args, &protected, progress).await?;
            let mut deleted = Vec::new();
            if args.dry_run {
                deleted = triage.delete;
            } else {
                for number in triage.delete {
                    crate::interrupt::check()?;
                    api.delete(number).await?;
                    deleted.push(number);
                }
            }
            let account = &session.caller().account;
            run.push(Outcome::Prune(Pruned {
                header: Header::new(ResultType::Prune, &layer.name, &api.aws.region, account),
                dry_run: args.dry_run,
                kept: triage.kept,
                deleted,
            }));
        }
    }
    Ok(run)
}

struct Triage {
    kept: Vec<Kept>,
    delete: Vec<i64>,
}

/// Decide about every version before anything is deleted.
async fn triage(
    api: &LayerApi,
    layer: &LayerConfig,
    args: &PruneArgs,
    protected: &[i64],
    progress: &Progress,
) -> Result<Triage> {
    let step = progress.step(format!("reading the versions of {}", layer.name));
    let versions = api.list(None).await?;
    let mut reasons: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for version in versions.iter().take(usize::from(args.keep)) {
        reasons
            .entry(version.number)
            .or_default()
            .push(format!("one of the newest {}", args.keep));
    }
    for (stage, number) in stages_in_use(api, layer, &versions).await? {
        reasons
            .entry(number)
            .or_default()
            .push(format!("stage {stage} uses it (its newest grant)"));
    }
    for number in protected {
        reasons
            .entry(*number)
            .or_default()
            .push("named in a --manifest".into());
    }
    let mut delete = Vec::new();
    let unprotected: Vec<&Version> = versions
        .iter()
        .filter(|v| !reasons.contains_key(&v.number))
        .collect();
    for version in unprotected {
        if args.include_foreign || is_ours(api, version).await? {
            delete.push(version.number);
        } else {
            reasons.entry(version.number).or_default().push(
                "published by another tool (no confirmed cargo-layer marker); --include-foreign deletes it".into(),
            );
        }
    }
    step.finish(format!(
        "{} versions: keep {}, delete {}",
        versions.len(),
        reasons.len(),
        delete.len()
    ));
    let kept = reasons
        .into_iter()
        .rev()
        .map(|(version, reasons)| Kept { version, reasons })
        .collect();
    Ok(Triage { kept, delete })
}

/// For each stage of Cargo.toml, the newest version carrying one of its cargo-layer grants.
async fn stages_in_use(
    api: &LayerApi,
    layer: &LayerConfig,
    versions: &[Version],
) -> Result<Vec<(String, i64)>> {
    let mut missing: Vec<&String> = layer.stages.keys().collect();
    let mut found = Vec::new();
    for version in versions {
        if missing.is_empty() {
            break;
        }
        let policy = api.policy(version.number).await?;
        missing.retain(|stage| {
            let granted = policy
                .statements
                .iter()
                .any(|s| policy::owned_by(&s.sid, stage).is_some());
            if granted {
                found.push((stage.to_string(), version.number));
            }
            !granted
        });
    }
    Ok(found)
}

/// A version is cargo-layer's when its marker names the bytes GetLayerVersion reports.
async fn is_ours(api: &LayerApi, version: &Version) -> Result<bool> {
    let Some(marker) = dedupe::read_marker(&version.description) else {
        return Ok(false);
    };
    let held = api.get(version.number).await?;
    Ok(held.and_then(|v| v.code_sha256).as_deref() == Some(marker.code_sha256))
}
