//! `cargo layer status`: the newest versions, their content hash, and which stages and accounts
//! are granted or still missing compared with Cargo.toml.

use std::collections::BTreeMap;

use crate::aws::dedupe::Identity;
use crate::aws::grant::{self, Wanted};
use crate::aws::layers::{LayerApi, Version};
use crate::aws::policy::{Policy, SID_PREFIX};
use crate::cli::StatusArgs;
use crate::commands::setup;
use crate::error::Result;
use crate::output::Run;
use crate::output::progress::Progress;
use crate::project::config::LayerConfig;
use crate::schema::{Header, LayerStatus, Outcome, ResultType, StageStatus, VersionStatus};

pub async fn run(args: &StatusArgs, progress: &Progress) -> Result<Run> {
    let mut setup = setup::load(&args.select, &args.aws).await?;
    let mut run = Run::default();
    for layer in &setup.project.layers {
        let region = layer.one_region(args.aws.region.as_deref())?;
        let session = setup.aws.session(layer, region.as_deref()).await?;
        let api = session.api(region.as_deref(), &layer.name)?;
        let local = local_code_sha256(&setup.project.target_dir, &layer.name);
        let step = progress.step(format!("reading versions of {}", layer.name));
        let versions = versions(&api, args).await?;
        let wanted = grant::wanted(layer, &[])?;
        let mut rows = Vec::new();
        for version in &versions {
            let policy = api.policy(version.number).await?;
            rows.push(version_status(
                layer,
                version,
                &policy,
                &wanted,
                local.as_deref(),
            ));
        }
        mark_twins(&mut rows, &versions);
        step.finish(format!("{} versions", rows.len()));
        let account = &session.caller().account;
        run.push(Outcome::Status(LayerStatus {
            header: Header::new(ResultType::Status, &layer.name, &api.aws.region, account),
            versions: rows,
        }));
    }
    Ok(run)
}

/// `--version N`, else the newest `--limit` versions (GetLayerVersion each, for the hash).
async fn versions(api: &LayerApi, args: &StatusArgs) -> Result<Vec<Version>> {
    if let Some(number) = args.version {
        let version = api.existing(number).await?;
        return Ok(vec![version]);
    }
    let listed = api.list(Some(args.limit)).await?;
    let mut versions = Vec::with_capacity(listed.len());
    for item in listed {
        versions.push(api.get(item.number).await?.unwrap_or(item));
    }
    Ok(versions)
}

/// Versions holding the same artifact (bytes, runtimes, architectures, license) point at the
/// oldest of them, which is the one publish reuses.
fn mark_twins(rows: &mut [VersionStatus], versions: &[Version]) {
    for row in rows.iter_mut() {
        let Some(this) = versions.iter().find(|v| v.number == row.version) else {
            continue;
        };
        let Some(code) = this.code_sha256.as_deref() else {
            continue;
        };
        let identity = Identity::new(
            code,
            &this.runtimes,
            &this.architectures,
            this.license.as_deref(),
        );
        row.twin_of = versions
            .iter()
            .filter(|v| v.number < this.number && v.code_sha256.as_deref() == Some(code))
            .filter(|v| identity.differences(v).is_empty())
            .map(|v| v.number)
            .min();
    }
}

fn local_code_sha256(target_dir: &std::path::Path, name: &str) -> Option<String> {
    let bytes = std::fs::read(target_dir.join("layer").join(format!("{name}.zip"))).ok()?;
    Some(crate::pack::archive::code_sha256(&bytes))
}

fn version_status(
    layer: &LayerConfig,
    version: &Version,
    policy: &Policy,
    wanted: &[Wanted],
    local: Option<&str>,
) -> VersionStatus {
    let mut stages: BTreeMap<String, StageStatus> = layer
        .stages
        .keys()
        .map(|name| {
            let status = StageStatus {
                granted: Vec::new(),
                missing: Vec::new(),
            };
            (name.clone(), status)
        })
        .collect();
    for grant in wanted {
        let who = match grant.organization() {
            Some(org) => org.to_string(),
            None => grant.principal().to_string(),
        };
        let stage = stages
            .get_mut(&grant.stage)
            .expect("wanted comes from these stages");
        if policy.get(&grant.statement_id()).is_some() {
            stage.granted.push(who);
        } else {
            stage.missing.push(who);
        }
    }
    let known: Vec<String> = wanted.iter().map(Wanted::statement_id).collect();
    let (ours, others): (Vec<_>, Vec<_>) = policy
        .statements
        .iter()
        .filter(|s| !known.contains(&s.sid))
        .map(|s| s.sid.clone())
        .partition(|sid| sid.starts_with(SID_PREFIX));
    VersionStatus {
        version: version.number,
        layer_version_arn: version.arn.clone(),
        created: version.created.clone(),
        matches_local_zip: local.is_some() && version.code_sha256.as_deref() == local,
        code_sha256: version.code_sha256.clone(),
        stages,
        stale_statements: ours,
        other_statements: others,
        twin_of: None,
    }
}
