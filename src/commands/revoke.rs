//! `cargo layer revoke`: remove one stage's cargo-layer statements from one version. Statements
//! anyone else made stay untouched.

use serde::Serialize;

use crate::aws;
use crate::aws::grant::{GrantResult, Status};
use crate::aws::layers::Layer;
use crate::aws::policy::{self, Target};
use crate::cli::RevokeArgs;
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::report;
use crate::output::{self, MessageFormat};
use crate::project;
use crate::project::limits;
use crate::schema::Plan;

#[derive(Debug, Serialize)]
pub struct Revoked {
    pub schema_version: u32,
    pub r#type: &'static str,
    pub name: String,
    pub region: String,
    pub layer_version_arn: String,
    pub version: i64,
    pub stage: String,
    pub removed: Vec<GrantResult>,
}

const STILL_WORKS: &str = "functions that already use this version keep working; only new deployments and configuration updates that reference it from those accounts are refused";

pub async fn run(args: &RevokeArgs, format: MessageFormat, progress: &Progress) -> Result<()> {
    let project = project::load(&args.select.selection())?;
    let layer = project::one_layer(&project, "revoke")?;
    limits::stage_name(&args.stage).map_err(|m| Error::config(format!("--stage: {m}")))?;
    if !layer.stages.contains_key(&args.stage) {
        progress.warn(format!(
            "stage \"{}\" is not in Cargo.toml; removing whatever cargo-layer granted it before",
            args.stage
        ));
    }
    let region = layer.one_region(args.aws.region.as_deref())?;
    let session = aws::connect(
        &args.aws,
        region.as_deref(),
        layer.role_arn.as_deref(),
        layer.artifacts_account.as_deref(),
    )
    .await?;
    let aws = session.region(region.as_deref())?;
    let api = Layer {
        aws: &aws,
        name: &layer.name,
    };
    let version = api.existing(args.version).await?;
    let policy = api.policy(version.number).await?;
    let mut removed = Vec::new();
    for statement in &policy.statements {
        let Some(target) = policy::owned_by(&statement.sid, &args.stage) else {
            continue;
        };
        let status = if args.dry_run {
            Status::WouldRemove
        } else {
            remove(&api, version.number, &statement.sid).await?
        };
        removed.push(GrantResult {
            stage: args.stage.clone(),
            principal: statement.principal.clone(),
            organization: match target {
                Target::Organization(org) => Some(org),
                _ => None,
            },
            statement_id: statement.sid.clone(),
            status,
            error: None,
        });
    }
    if args.dry_run {
        let account = &session.caller().account;
        let mut plan =
            Plan::new("revoke", "revoke", &layer.name, &aws.region, account).on(&version);
        plan.grants = removed;
        report::plan(&plan, format, progress);
    } else {
        let result = Revoked {
            schema_version: crate::schema::SCHEMA_VERSION,
            r#type: "revoke",
            name: layer.name.clone(),
            region: aws.region.clone(),
            layer_version_arn: version.arn,
            version: version.number,
            stage: args.stage.clone(),
            removed,
        };
        print(&result, format);
    }
    progress.info(format!("note: {STILL_WORKS}"));
    Ok(())
}

/// Remove one statement. A 404 can mean a retry whose first attempt already removed it (the
/// response was lost): the policy, read again, says whether it is gone.
async fn remove(api: &Layer<'_>, version: i64, sid: &str) -> Result<Status> {
    if api.remove_permission(version, sid).await? {
        return Ok(Status::Removed);
    }
    if api.policy(version).await?.get(sid).is_none() {
        return Ok(Status::Removed);
    }
    Err(Error::new(
        Kind::Aws,
        format!(
            "lambda:RemoveLayerVersionPermission answered that {sid} is not on version {version} of {}, yet the policy still holds it; run the revoke again",
            api.name
        ),
    ))
}

fn print(result: &Revoked, format: MessageFormat) {
    if format == MessageFormat::Json {
        output::print_json(result);
        return;
    }
    if result.removed.is_empty() {
        println!(
            "stage {} has no cargo-layer grant on {}; nothing to remove",
            result.stage, result.layer_version_arn
        );
    }
    for grant in &result.removed {
        println!(
            "removed {} ({}) from {}",
            grant.statement_id, grant.principal, result.layer_version_arn
        );
    }
}
