//! `cargo layer prune --keep N`: delete old versions, which count against the account's 75 GB of
//! code storage, without touching what is in use. The whole plan is known before the first
//! delete: the newest N stay, and so do the newest `--keep-granted` versions carrying each
//! stage's cargo-layer grant (a rollback grants an older version again), every version a given
//! manifest names in each region, and every version another tool published (no cargo-layer
//! marker, or bytes that do not match it) or that is signed without evidence chaining to its
//! marker (`commands::once`'s proof) unless `--include-foreign`. With stage roles, every
//! version a function of a stage account uses stays, and so does every version still granted to
//! a stage account that could not be looked into. Every region is pruned,
//! concurrently; a failing region does not stop the others.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::aws::Session;
use crate::aws::dedupe;
use crate::aws::layers::{LayerApi, Version, VersionArn};
use crate::aws::policy::{self, Policy};
use crate::cli::PruneArgs;
use crate::commands::once::{Chain, Evidence};
use crate::commands::used::{self, Seen, Use};
use crate::commands::{self, setup};
use crate::error::{Error, Result};
use crate::output::Run;
use crate::output::progress::Progress;
use crate::pack::archive::sha256_hex;
use crate::project::config::LayerConfig;
use crate::schema::{self, Header, KeepReason, Kept, Manifest, Outcome, Pruned, ResultType};

pub async fn run(args: &PruneArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let manifests = args
        .manifest
        .iter()
        .map(|path| Ok((path.clone(), schema::read_manifest(path)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut run = Run::default();
    let mut protecting = vec![false; manifests.len()];
    for layer in &setup.project.layers {
        let regions = setup::regions(layer, args.aws.region.as_deref())?;
        let opened = &commands::Opened::open(&setup.aws, layer, &regions).await?;
        let results = commands::each_region(&regions, progress, |region, progress| {
            let manifests = &manifests;
            let (session, stages) = (opened.session(region), opened.stages(region));
            let account = &session.caller().account;
            async move {
                let stages = &stages;
                let api = session.api(region, &layer.name)?;
                let protected = protected(manifests, &layer.name, &api.aws.region);
                let seen = used::look(stages, &api.aws.region, &progress).await;
                let triage =
                    triage(session, &api, layer, args, &protected, &seen, &progress).await?;
                let header = Header::new(ResultType::Prune, &layer.name, &api.aws.region, account);
                let (mut pruned, error) = prune_region(&api, args, header, triage).await;
                pruned.looked_into = seen.looked_into;
                Ok((pruned, error))
            }
        })
        .await;
        for (i, (_, manifest)) in manifests.iter().enumerate() {
            protecting[i] |= regions.iter().any(|r| {
                let region = r.clone().unwrap_or_else(|| manifest.header.region.clone());
                manifest.header.name == layer.name && version_in(manifest, &region).is_some()
            });
        }
        for (region, result) in regions.iter().zip(results) {
            match result {
                Ok((pruned, error)) => {
                    run.push(Outcome::Prune(pruned));
                    if let Some(error) = error {
                        commands::failed(&mut run, &layer.name, region.as_deref(), error)?;
                    }
                }
                Err(error) => commands::failed(&mut run, &layer.name, region.as_deref(), error)?,
            }
        }
    }
    for ((path, manifest), protects) in manifests.iter().zip(protecting) {
        if !protects {
            progress.warn(format!(
                "--manifest {}: it names layer {} in {}, which this run does not prune; it protects nothing here",
                path.display(),
                manifest.header.name,
                regions_of(manifest).join(", ")
            ));
        }
    }
    Ok(run)
}

/// Delete what the triage left, stopping at the first failed delete: the result says what was
/// deleted before it and what is left, next to the error.
async fn prune_region(
    api: &LayerApi,
    args: &PruneArgs,
    header: Header,
    triage: Triage,
) -> (Pruned, Option<Error>) {
    let mut pruned = Pruned {
        header,
        dry_run: args.dry_run,
        kept: triage.kept,
        deleted: Vec::new(),
        not_deleted: Vec::new(),
        looked_into: Vec::new(),
    };
    if args.dry_run {
        pruned.deleted = triage.delete;
        return (pruned, None);
    }
    let mut error = None;
    for number in triage.delete {
        if error.is_none() {
            let done = match crate::interrupt::check() {
                Ok(()) => api.delete(number).await,
                Err(stopped) => Err(stopped),
            };
            match done {
                Ok(()) => pruned.deleted.push(number),
                Err(e) => error = Some(e),
            }
        }
        if error.is_some() {
            pruned.not_deleted.push(number);
        }
    }
    (pruned, error)
}

/// The versions the manifests of layer `name` name in `region`, with the file that names each.
fn protected(manifests: &[(PathBuf, Manifest)], name: &str, region: &str) -> Vec<(i64, PathBuf)> {
    manifests
        .iter()
        .filter(|(_, m)| m.header.name == name)
        .filter_map(|(path, m)| Some((version_in(m, region)?, path.clone())))
        .collect()
}

/// The version a manifest names in `region`: from its region -> ARN map, else its own.
fn version_in(manifest: &Manifest, region: &str) -> Option<i64> {
    match manifest.layer_version_arns.get(region) {
        Some(arn) => VersionArn::parse(arn).map(|a| a.version),
        None => (manifest.header.region == region).then_some(manifest.version),
    }
}

fn regions_of(manifest: &Manifest) -> Vec<String> {
    if manifest.layer_version_arns.is_empty() {
        return vec![manifest.header.region.clone()];
    }
    manifest.layer_version_arns.keys().cloned().collect()
}

struct Triage {
    kept: Vec<Kept>,
    delete: Vec<i64>,
}

/// Decide about every version before anything is deleted.
async fn triage(
    session: &Session,
    api: &LayerApi,
    layer: &LayerConfig,
    args: &PruneArgs,
    protected: &[(i64, PathBuf)],
    seen: &Seen,
    progress: &Progress,
) -> Result<Triage> {
    let step = progress.step(format!(
        "reading the versions of {} in {}",
        layer.name, api.aws.region
    ));
    let versions = api.list(None).await?;
    let mut reasons: BTreeMap<i64, Vec<KeepReason>> = BTreeMap::new();
    for version in versions.iter().take(usize::from(args.keep)) {
        reasons
            .entry(version.number)
            .or_default()
            .push(KeepReason::Newest { keep: args.keep });
    }
    let mut policies = BTreeMap::new();
    let granted = granted(api, layer, &versions, args.keep_granted, &mut policies).await?;
    for (stage, number) in granted {
        reasons
            .entry(number)
            .or_default()
            .push(KeepReason::Granted {
                stage,
                keep_granted: args.keep_granted,
            });
    }
    for (number, file) in protected {
        reasons
            .entry(*number)
            .or_default()
            .push(KeepReason::Manifest { file: file.clone() });
    }
    for (number, reason) in used_by(&seen.uses, &api.aws.region) {
        reasons.entry(number).or_default().push(reason);
    }
    for looked in seen.unseen() {
        let grants = used::reaching(layer, &looked.account)?;
        for version in &versions {
            if used::holds(
                policy_of(api, version.number, &mut policies).await?,
                &grants,
            ) {
                reasons
                    .entry(version.number)
                    .or_default()
                    .push(KeepReason::Unseen {
                        stage: looked.stage.clone(),
                        account: looked.account.clone(),
                    });
            }
        }
    }
    let (signer, s3) = (session.signer(&api.aws.region), session.s3(&api.aws.region));
    let evidence = Evidence {
        signer: &signer,
        s3: &s3,
    };
    let mut delete = Vec::new();
    let unprotected: Vec<&Version> = versions
        .iter()
        .filter(|v| !reasons.contains_key(&v.number))
        .collect();
    for version in unprotected {
        let shared = match args.include_shared {
            true => None,
            false => shared(api, version.number, &mut policies).await?,
        };
        if let Some(reason) = shared {
            reasons.entry(version.number).or_default().push(reason);
        } else if args.include_foreign {
            delete.push(version.number);
        } else {
            match owner(api, &evidence, version).await? {
                Owner::Ours => delete.push(version.number),
                Owner::Foreign => reasons
                    .entry(version.number)
                    .or_default()
                    .push(KeepReason::Foreign),
                Owner::Unconfirmed(why) => reasons
                    .entry(version.number)
                    .or_default()
                    .push(KeepReason::Unconfirmed { why }),
            }
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

/// One reason per layer version, function and account, naming the function's versions that
/// use the layer version.
fn used_by(uses: &[Use], region: &str) -> Vec<(i64, KeepReason)> {
    let mut reasons: Vec<(i64, KeepReason)> = Vec::new();
    for used in uses {
        let same = reasons
            .iter_mut()
            .find_map(|(number, reason)| match reason {
                KeepReason::UsedByFunction {
                    function,
                    account,
                    qualifiers,
                    ..
                } if *number == used.version
                    && *function == used.function
                    && *account == used.account =>
                {
                    Some(qualifiers)
                }
                _ => None,
            });
        match same {
            Some(qualifiers) => qualifiers.push(used.qualifier.clone()),
            None => reasons.push((
                used.version,
                KeepReason::UsedByFunction {
                    function: used.function.clone(),
                    account: used.account.clone(),
                    region: region.to_string(),
                    qualifiers: vec![used.qualifier.clone()],
                },
            )),
        }
    }
    reasons
}

/// For each stage of Cargo.toml, the newest `per_stage` versions carrying one of its cargo-layer
/// grants: after a rollback the stage runs an older version, which still carries its grant.
async fn granted(
    api: &LayerApi,
    layer: &LayerConfig,
    versions: &[Version],
    per_stage: u16,
    policies: &mut BTreeMap<i64, Policy>,
) -> Result<Vec<(String, i64)>> {
    let mut left: BTreeMap<&String, u16> = layer.stages.keys().map(|s| (s, per_stage)).collect();
    let mut found = Vec::new();
    for version in versions {
        if left.values().all(|n| *n == 0) {
            break;
        }
        let policy = policy_of(api, version.number, policies).await?;
        for (stage, n) in left.iter_mut().filter(|(_, n)| **n > 0) {
            let carries = policy
                .statements
                .iter()
                .any(|s| policy::owned_by(&s.sid, stage).is_some());
            if carries {
                found.push((stage.to_string(), version.number));
                *n -= 1;
            }
        }
    }
    Ok(found)
}

/// Why a version is shared beyond accounts anyone can list: a statement of its policy (cargo-layer's
/// or not) grants `*`, to one organization or to everyone.
async fn shared(
    api: &LayerApi,
    number: i64,
    policies: &mut BTreeMap<i64, Policy>,
) -> Result<Option<KeepReason>> {
    let policy = policy_of(api, number, policies).await?;
    let wide: Vec<_> = policy
        .statements
        .iter()
        .filter(|s| s.principal == "*")
        .collect();
    let Some(first) = wide.first() else {
        return Ok(None);
    };
    // Public when any statement is; else the (first) organization.
    let organization = match wide.iter().any(|s| s.organization.is_none()) {
        true => None,
        false => first.organization.clone(),
    };
    Ok(Some(KeepReason::Shared { organization }))
}

/// A version's policy, read at most once per triage.
async fn policy_of<'p>(
    api: &LayerApi,
    number: i64,
    policies: &'p mut BTreeMap<i64, Policy>,
) -> Result<&'p Policy> {
    use std::collections::btree_map::Entry;
    Ok(match policies.entry(number) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(new) => new.insert(api.policy(number).await?),
    })
}

/// Whose a version is, as far as it can be proven.
enum Owner {
    Ours,
    /// No marker, or a marker the version's bytes do not confirm.
    Foreign,
    /// Signed, with a marker, but its evidence does not chain to the marker's artifact: why.
    Unconfirmed(String),
}

/// A version is cargo-layer's when its marker names the bytes GetLayerVersion reports, or, for
/// a signed version, the artifact its evidence chains to (the publish-once protocol's proof).
/// Evidence that cannot be read proves nothing: the version is kept, saying why.
async fn owner(api: &LayerApi, evidence: &Evidence<'_>, version: &Version) -> Result<Owner> {
    let Some(marker) = dedupe::read_marker(&version.description) else {
        return Ok(Owner::Foreign);
    };
    let Some(held) = api.get(version.number).await? else {
        return Ok(Owner::Foreign);
    };
    if held.code_sha256.as_deref() == Some(marker.artifact) {
        return Ok(Owner::Ours);
    }
    let (Some(job_arn), Some(sha256)) = (&held.signing_job_arn, sha256_hex(marker.artifact)) else {
        return Ok(Owner::Foreign);
    };
    Ok(match evidence.follow(job_arn, &sha256).await {
        Ok(Chain::Holds) => Owner::Ours,
        Ok(Chain::Broken(why)) => Owner::Unconfirmed(why),
        Err(e) => Owner::Unconfirmed(format!("its evidence could not be read ({e})")),
    })
}
