//! `cargo layer status`: the newest versions, their content hash, and which stages and accounts
//! are granted or still missing compared with Cargo.toml.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws;
use crate::aws::dedupe::Identity;
use crate::aws::grant::{self, Wanted};
use crate::aws::layers::{Layer, Version};
use crate::aws::policy::{Policy, SID_PREFIX};
use crate::cli::StatusArgs;
use crate::error::Result;
use crate::output::progress::Progress;
use crate::output::{self, MessageFormat};
use crate::project;
use crate::project::config::LayerConfig;

#[derive(Debug, Serialize)]
pub struct StageStatus {
    pub granted: Vec<String>,
    pub missing: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct VersionStatus {
    pub version: i64,
    pub layer_version_arn: String,
    pub created: String,
    pub code_sha256: Option<String>,
    /// True when it holds the same bytes as the zip in target/layer.
    pub matches_local_zip: bool,
    pub stages: BTreeMap<String, StageStatus>,
    /// cargo-layer statements for stages or principals Cargo.toml no longer lists.
    pub stale_statements: Vec<String>,
    /// Statements other tools made.
    pub other_statements: Vec<String>,
    /// The oldest version shown that holds the same bytes and metadata: this one is a twin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin_of: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct LayerStatus {
    pub schema_version: u32,
    pub r#type: &'static str,
    pub name: String,
    pub region: String,
    pub account: String,
    pub versions: Vec<VersionStatus>,
}

pub async fn run(args: &StatusArgs, format: MessageFormat, progress: &Progress) -> Result<()> {
    let project = project::load(&args.select.selection())?;
    for layer in &project.layers {
        let region = layer.one_region(args.aws.region.as_deref())?;
        let session = aws::connect(
            &args.aws,
            region.as_deref(),
            layer.role_arn.as_deref(),
            layer.artifacts_account.as_deref(),
        )
        .await?;
        let aws = session.region(region.as_deref())?;
        let caller = session.caller().clone();
        let api = Layer {
            aws: &aws,
            name: &layer.name,
        };
        let local = local_code_sha256(&project.target_dir, &layer.name);
        let step = progress.step(format!("reading versions of {}", layer.name));
        let versions = versions(&api, args).await?;
        let wanted = grant::wanted(layer, &[])?;
        let mut rows = Vec::new();
        let versions_by_number = versions.clone();
        for version in versions {
            let policy = api.policy(version.number).await?;
            rows.push(version_status(
                layer,
                version,
                &policy,
                &wanted,
                local.as_deref(),
            ));
        }
        mark_twins(&mut rows, &versions_by_number);
        step.finish(format!("{} versions", rows.len()));
        let status = LayerStatus {
            schema_version: crate::schema::SCHEMA_VERSION,
            r#type: "status",
            name: layer.name.clone(),
            region: aws.region.clone(),
            account: caller.account,
            versions: rows,
        };
        match format {
            MessageFormat::Json => output::print_json(&status),
            MessageFormat::Human => print_table(&status),
        }
    }
    Ok(())
}

/// `--version N`, else the newest `--limit` versions (GetLayerVersion each, for the hash).
async fn versions(api: &Layer<'_>, args: &StatusArgs) -> Result<Vec<Version>> {
    if let Some(number) = args.version {
        let version = api.existing(number).await?;
        return Ok(vec![version]);
    }
    let mut listed = Vec::new();
    let mut next = None;
    loop {
        let page = api.list_page(next).await?;
        listed.extend(page.versions);
        next = page.next;
        if next.is_none() || listed.len() >= args.limit {
            break;
        }
    }
    listed.truncate(args.limit);
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
    version: Version,
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
        layer_version_arn: version.arn,
        created: version.created,
        matches_local_zip: local.is_some() && version.code_sha256.as_deref() == local,
        code_sha256: version.code_sha256,
        stages,
        stale_statements: ours,
        other_statements: others,
        twin_of: None,
    }
}

fn print_table(status: &LayerStatus) {
    println!(
        "{} in {} (account {}): {} version(s)",
        status.name,
        status.region,
        status.account,
        status.versions.len()
    );
    for v in &status.versions {
        let local = if v.matches_local_zip {
            "  = local zip"
        } else {
            ""
        };
        println!(
            "\nversion {:<5} created {}  CodeSha256 {}{local}",
            v.version,
            v.created,
            v.code_sha256.as_deref().unwrap_or("?")
        );
        if let Some(older) = v.twin_of {
            println!(
                "  twin       same content and metadata as version {older}, which publish reuses; deploy that one"
            );
        }
        for (stage, s) in &v.stages {
            let state = if s.missing.is_empty() {
                "granted".to_string()
            } else if s.granted.is_empty() {
                "not granted".to_string()
            } else {
                "partly granted".to_string()
            };
            let mut detail = Vec::new();
            if !s.granted.is_empty() {
                detail.push(format!("granted {}", s.granted.join(", ")));
            }
            if !s.missing.is_empty() {
                detail.push(format!("missing {}", s.missing.join(", ")));
            }
            println!("  {stage:<10} {state:<15} {}", detail.join("; "));
        }
        for sid in &v.stale_statements {
            println!(
                "  stale      {sid} (no longer in Cargo.toml; `cargo layer revoke` removes it)"
            );
        }
        for sid in &v.other_statements {
            println!("  other      {sid} (not made by cargo-layer)");
        }
    }
}
