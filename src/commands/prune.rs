//! `cargo layer prune --keep N`: delete old versions, which count against the account's 75 GB of
//! code storage, without touching what is in use. The whole plan is known before the first
//! delete: the newest N stay, and so do the version each stage uses now (the newest one with
//! that stage's cargo-layer grant), every version a given manifest names, and every version
//! another tool published (no cargo-layer marker, or bytes that do not match it) unless
//! `--include-foreign`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws;
use crate::aws::dedupe;
use crate::aws::layers::{Layer, Version};
use crate::aws::policy;
use crate::cli::PruneArgs;
use crate::error::Result;
use crate::output::progress::Progress;
use crate::output::{self, MessageFormat};
use crate::project;
use crate::project::config::LayerConfig;
use crate::schema::{self, SCHEMA_VERSION};

const STILL_WORKS: &str = "functions that already use a deleted version keep working; new deployments and configuration updates can no longer use it";

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub version: i64,
    pub reasons: Vec<String>,
}

/// What prune kept and why, and what it deleted (or would, with `--dry-run`).
#[derive(Debug, Serialize)]
pub struct Pruned {
    pub schema_version: u32,
    pub r#type: &'static str,
    pub name: String,
    pub region: String,
    pub account: String,
    pub dry_run: bool,
    pub kept: Vec<Kept>,
    pub deleted: Vec<i64>,
}

pub async fn run(args: &PruneArgs, format: MessageFormat, progress: &Progress) -> Result<()> {
    let project = project::load(&args.select.selection())?;
    let manifests = args
        .manifest
        .iter()
        .map(|path| schema::read(path))
        .collect::<Result<Vec<_>>>()?;
    let mut sessions = aws::Sessions::default();
    for layer in &project.layers {
        let regions = match args.aws.region.as_deref() {
            Some(flag) => vec![layer.one_region(Some(flag))?],
            None if layer.regions.is_empty() => vec![None],
            None => layer.regions.iter().cloned().map(Some).collect(),
        };
        let session = sessions
            .get(
                &args.aws,
                regions.first().cloned().flatten().as_deref(),
                layer.role_arn.as_deref(),
                layer.artifacts_account.as_deref(),
            )
            .await?;
        for region in &regions {
            let aws = session.region(region.as_deref())?;
            let api = Layer {
                aws: &aws,
                name: &layer.name,
            };
            let protected: Vec<i64> = manifests
                .iter()
                .filter(|m| m.name == layer.name && m.region == aws.region)
                .map(|m| m.version)
                .collect();
            let plan = plan(&api, layer, args, &protected, progress).await?;
            let mut result = Pruned {
                schema_version: SCHEMA_VERSION,
                r#type: "prune",
                name: layer.name.clone(),
                region: aws.region.clone(),
                account: session.caller().account.clone(),
                dry_run: args.dry_run,
                kept: plan.kept,
                deleted: Vec::new(),
            };
            if args.dry_run {
                result.deleted = plan.delete;
            } else {
                for number in plan.delete {
                    crate::interrupt::check()?;
                    api.delete(number).await?;
                    result.deleted.push(number);
                }
            }
            print(&result, format, progress);
        }
    }
    Ok(())
}

struct Plan {
    kept: Vec<Kept>,
    delete: Vec<i64>,
}

/// Decide about every version before anything is deleted.
async fn plan(
    api: &Layer<'_>,
    layer: &LayerConfig,
    args: &PruneArgs,
    protected: &[i64],
    progress: &Progress,
) -> Result<Plan> {
    let step = progress.step(format!("reading the versions of {}", layer.name));
    let versions = all_versions(api).await?;
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
    Ok(Plan { kept, delete })
}

/// Every version, newest first.
async fn all_versions(api: &Layer<'_>) -> Result<Vec<Version>> {
    let mut versions = Vec::new();
    let mut next = None;
    loop {
        let page = api.list_page(next).await?;
        versions.extend(page.versions);
        next = page.next;
        if next.is_none() {
            break;
        }
    }
    versions.sort_by_key(|v| std::cmp::Reverse(v.number));
    Ok(versions)
}

/// For each stage of Cargo.toml, the newest version carrying one of its cargo-layer grants.
async fn stages_in_use(
    api: &Layer<'_>,
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
async fn is_ours(api: &Layer<'_>, version: &Version) -> Result<bool> {
    let Some(marker) = dedupe::read_marker(&version.description) else {
        return Ok(false);
    };
    let held = api.get(version.number).await?;
    Ok(held.and_then(|v| v.code_sha256).as_deref() == Some(marker.code_sha256))
}

fn print(result: &Pruned, format: MessageFormat, progress: &Progress) {
    if format == MessageFormat::Json {
        output::print_json(result);
    } else {
        let verb = if result.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        println!(
            "{} in {} (account {}): keep {}, {verb} {}",
            result.name,
            result.region,
            result.account,
            result.kept.len(),
            result.deleted.len()
        );
        for kept in &result.kept {
            println!("  keep    {:<6} {}", kept.version, kept.reasons.join("; "));
        }
        for number in &result.deleted {
            println!("  {verb:<7} {number}");
        }
    }
    if !result.deleted.is_empty() {
        progress.info(format!("note: {STILL_WORKS}"));
    }
}
