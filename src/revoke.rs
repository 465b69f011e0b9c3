//! `cargo layer revoke`: remove one stage's cargo-layer statements from one version. Statements
//! anyone else made stay untouched.

use serde::Serialize;

use crate::aws;
use crate::cli::RevokeArgs;
use crate::error::{Error, Result};
use crate::grant::{GrantResult, Status};
use crate::layers::Layer;
use crate::limits;
use crate::output::{self, MessageFormat};
use crate::policy::{self, Target};
use crate::progress::Progress;
use crate::project;

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
    let aws = aws::connect(&args.aws, region.as_deref(), layer.role_arn.as_deref()).await?;
    aws.guard_account(layer.artifacts_account.as_deref())
        .await?;
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
            Status::WouldAdd
        } else if api
            .remove_permission(version.number, &statement.sid)
            .await?
        {
            Status::Removed
        } else {
            continue;
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
    let result = Revoked {
        schema_version: crate::manifest::SCHEMA_VERSION,
        r#type: if args.dry_run { "plan" } else { "revoke" },
        name: layer.name.clone(),
        region: aws.region.clone(),
        layer_version_arn: version.arn,
        version: version.number,
        stage: args.stage.clone(),
        removed,
    };
    print(&result, args.dry_run, format);
    progress.info(format!("note: {STILL_WORKS}"));
    Ok(())
}

fn print(result: &Revoked, dry_run: bool, format: MessageFormat) {
    if format == MessageFormat::Json {
        output::print_json(result);
        return;
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    if result.removed.is_empty() {
        println!(
            "stage {} has no cargo-layer grant on {}; nothing to remove",
            result.stage, result.layer_version_arn
        );
    }
    for grant in &result.removed {
        println!(
            "{verb} {} ({}) from {}",
            grant.statement_id, grant.principal, result.layer_version_arn
        );
    }
}
