//! `cargo layer status`: the newest versions, their content hash, and which stages and accounts
//! are granted or still missing compared with Cargo.toml, in every configured region at once
//! (`--region` narrows it to one); with `--where-used`, the functions of the stage accounts that
//! use a version of it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::aws::Session;
use crate::aws::dedupe::{Identity, read_marker};
use crate::aws::grant::{self, Wanted};
use crate::aws::layers::{LayerApi, Version};
use crate::aws::policy::{Policy, SID_PREFIX};
use crate::cli::StatusArgs;
use crate::commands::deliver::Stages;
use crate::commands::once::{Chain, Evidence};
use crate::commands::{self, setup, used};
use crate::error::{Error, Kind, Result};
use crate::output::Run;
use crate::output::progress::Progress;
use crate::pack;
use crate::pack::archive::sha256_hex;
use crate::project::config::{LayerConfig, Stage};
use crate::schema::{Header, LayerStatus, Outcome, ResultType, StageStatus, UsedBy, VersionStatus};

pub async fn run(args: &StatusArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let out_dir = pack::out_dir(&setup.project, args.out_dir.as_deref());
    for layer in &setup.project.layers {
        check_stages(layer, &args.stages)?;
        if args.where_used {
            check_where_used(layer)?;
        }
    }
    let mut run = Run::default();
    for layer in &setup.project.layers {
        let regions = setup::regions(layer, args.aws.region.as_deref())?;
        let opened = &commands::Opened::open(&setup.aws, layer, &regions).await?;
        let local = local_code_sha256(&out_dir, &layer.name);
        let results = commands::each_region(&regions, progress, |region, progress| {
            let local = local.as_deref();
            let (session, stages) = (opened.session(region), opened.stages(region));
            async move {
                let stages = &stages;
                let mut status =
                    region_status(session, layer, region, args, local, &progress).await?;
                if let Outcome::Status(status) = &mut status
                    && !args.stages.is_empty()
                {
                    let region = status.header.region.clone();
                    status.handoffs = stages.history(&args.stages, &region, args.history).await;
                }
                if let Outcome::Status(status) = &mut status
                    && args.where_used
                {
                    where_used(stages, session, status, &progress).await?;
                }
                Ok(status)
            }
        })
        .await;
        for (region, result) in regions.iter().zip(results) {
            commands::record(&mut run, &layer.name, region.as_deref(), result)?;
        }
    }
    Ok(run)
}

/// `--stage` names stages whose accounts hold a parameter to read.
fn check_stages(layer: &LayerConfig, stages: &[String]) -> Result<()> {
    for name in stages {
        let stage = layer.stage(name)?;
        if stage.role.is_none() || stage.parameter.is_none() {
            return Err(Error::new(
                Kind::Config,
                format!(
                    "--stage {name}: the stage hands off no parameter, so it has no history to show"
                ),
            )
            .at(&layer.cargo_toml, "package.metadata.layer.parameter")
            .fix("set `stage-role` and `parameter` to hand each stage account the ARN"));
        }
    }
    Ok(())
}

/// `--where-used` looks into stage accounts through their stage role.
fn check_where_used(layer: &LayerConfig) -> Result<()> {
    let reachable = |s: &Stage| s.role.is_some() && !s.readers().is_empty();
    if layer.stages.values().any(reachable) {
        return Ok(());
    }
    Err(Error::new(
        Kind::Config,
        format!(
            "--where-used: no stage of layer {} has a stage role, so no stage account can be looked into",
            layer.name
        ),
    )
    .at(&layer.cargo_toml, "package.metadata.layer.stage-role")
    .fix(format!(
        "set `stage-role` to a role in each stage account that may list its functions; {} prints what it needs",
        crate::hint::command("iam-policy", &["--stage-role"])
    )))
}

/// `--where-used`: the function versions of the stage accounts that use a version of the layer
/// in this region, and whether that version still holds a grant that reaches their account.
async fn where_used(
    stages: &Stages<'_>,
    session: &Session,
    status: &mut LayerStatus,
    progress: &Progress,
) -> Result<()> {
    let region = status.header.region.clone();
    let api = session.api(Some(&region), &stages.layer.name)?;
    let seen = used::look(stages, &region, progress).await;
    let mut policies: BTreeMap<i64, Policy> = BTreeMap::new();
    for used in seen.uses {
        let policy = match policies.entry(used.version) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(api.policy(used.version).await?),
        };
        let grants = used::reaching(stages.layer, &used.account)?;
        status.used_by.push(UsedBy {
            granted: used::holds(policy, &grants),
            stage: used.stage,
            account: used.account,
            region: region.clone(),
            function: used.function,
            qualifier: used.qualifier,
            aliases: used.aliases,
            version: used.version,
        });
    }
    status.looked_into = seen.looked_into;
    Ok(())
}

async fn region_status(
    session: &Session,
    layer: &LayerConfig,
    region: Option<&str>,
    args: &StatusArgs,
    local: Option<&str>,
    progress: &Progress,
) -> Result<Outcome> {
    let api = session.api(region, &layer.name)?;
    let step = progress.step(format!(
        "reading versions of {} in {}",
        layer.name, api.aws.region
    ));
    let (versions, total) = versions(&api, args).await?;
    let wanted = grant::wanted(layer, &[])?;
    let (signer, s3) = (session.signer(&api.aws.region), session.s3(&api.aws.region));
    let evidence = Evidence {
        signer: &signer,
        s3: &s3,
    };
    let mut rows = Vec::new();
    for version in &versions {
        let policy = api.policy(version.number).await?;
        let packed_here = match local {
            Some(code) => holds_local(layer, version, code, &evidence).await?,
            None => false,
        };
        rows.push(version_status(
            layer,
            version,
            &policy,
            &wanted,
            packed_here,
        ));
    }
    mark_twins(&mut rows, &versions);
    let status = LayerStatus {
        header: Header::new(
            ResultType::Status,
            &layer.name,
            &api.aws.region,
            &session.caller().account,
        ),
        versions: rows,
        total_versions: total,
        handoffs: Vec::new(),
        looked_into: Vec::new(),
        used_by: Vec::new(),
    };
    step.finish(status.shown());
    Ok(Outcome::Status(status))
}

/// `--version N`, else the newest `--limit` versions (GetLayerVersion each, for the hash), and
/// how many versions there are.
async fn versions(api: &LayerApi, args: &StatusArgs) -> Result<(Vec<Version>, Option<usize>)> {
    if let Some(number) = args.version {
        let version = api.existing(number).await?;
        return Ok((vec![version], None));
    }
    let listed = api.list(None).await?;
    let total = listed.len();
    let mut versions = Vec::with_capacity(args.limit.min(total));
    for item in listed.into_iter().take(args.limit) {
        versions.push(api.get(item.number).await?.unwrap_or(item));
    }
    Ok((versions, Some(total)))
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

fn local_code_sha256(out_dir: &std::path::Path, name: &str) -> Option<String> {
    let bytes = std::fs::read(pack::zip_path(out_dir, name)).ok()?;
    Some(crate::pack::archive::code_sha256(&bytes))
}

/// The version holds the local zip's artifact with the runtimes, license and (when Cargo.toml
/// names them) architectures that publishing this configuration gives it: it holds the zip's
/// bytes, or it is signed, its marker names the zip, and its evidence chains to it (the
/// publish-once protocol's proof; a signed zip's CodeSha256 is never the local zip's).
async fn holds_local(
    layer: &LayerConfig,
    version: &Version,
    local: &str,
    evidence: &Evidence<'_>,
) -> Result<bool> {
    let architectures = layer
        .compatible_architectures
        .as_deref()
        .unwrap_or(&version.architectures);
    let identity = Identity::new(
        local,
        &layer.compatible_runtimes,
        architectures,
        layer.license.as_deref(),
    );
    if !identity.same_metadata(version) {
        return Ok(false);
    }
    if version.code_sha256.as_deref() == Some(local) {
        return Ok(true);
    }
    let marked = read_marker(&version.description).is_some_and(|m| m.artifact == local);
    let (true, Some(job_arn), Some(sha256)) = (marked, &version.signing_job_arn, sha256_hex(local))
    else {
        return Ok(false);
    };
    Ok(evidence.follow(job_arn, &sha256).await? == Chain::Holds)
}

fn version_status(
    layer: &LayerConfig,
    version: &Version,
    policy: &Policy,
    wanted: &[Wanted],
    matches_local_zip: bool,
) -> VersionStatus {
    let mut stages: BTreeMap<String, StageStatus> = layer
        .stages
        .keys()
        .map(|name| (name.clone(), StageStatus::default()))
        .collect();
    for grant in wanted {
        let who = match grant.organization() {
            Some(org) => org.to_string(),
            None => grant.principal().to_string(),
        };
        let stage = stages
            .get_mut(&grant.stage)
            .expect("wanted comes from these stages");
        // Our statement ID on a statement that grants someone else is not this grant.
        match policy.get(&grant.statement_id()) {
            Some(statement) if grant.matches(statement) => stage.granted.push(who),
            Some(_) => stage.mismatched.push(who),
            None => stage.missing.push(who),
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
        matches_local_zip,
        code_sha256: version.code_sha256.clone(),
        signature: version.signature(),
        stages,
        stale_statements: ours,
        other_statements: others,
        twin_of: None,
    }
}
