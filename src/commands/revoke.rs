//! `cargo layer revoke`: remove one stage's cargo-layer statements from one version. Statements
//! anyone else made stay untouched.

use crate::aws::layers::LayerApi;
use crate::aws::policy::{self, Grantee};
use crate::cli::RevokeArgs;
use crate::commands::setup;
use crate::error::{Error, Kind, Result};
use crate::output::Run;
use crate::output::progress::Progress;
use crate::project::limits;
use crate::schema::{
    GrantResult, GrantStatus, Header, Outcome, PlanAction, PlanCommand, ResultType, Revoked,
};

pub async fn run(args: &RevokeArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let layer = setup::one_layer(&setup.project, "revoke")?.clone();
    limits::stage_name(&args.stage)
        .map_err(|m| Error::new(Kind::Config, format!("--stage: {m}")))?;
    if !layer.stages.contains_key(&args.stage) {
        progress.warn(format!(
            "stage \"{}\" is not in Cargo.toml; removing whatever cargo-layer granted it before",
            args.stage
        ));
    }
    let region = layer.one_region(args.aws.region.as_deref())?;
    let session = &setup.aws.session(&layer, region.as_deref()).await?;
    let api = session.api(region.as_deref(), &layer.name)?;
    let version = api.existing(args.version).await?;
    let policy = api.policy(version.number).await?;
    let mut removed = Vec::new();
    for statement in &policy.statements {
        let Some(grantee) = policy::owned_by(&statement.sid, &args.stage) else {
            continue;
        };
        let status = if args.dry_run {
            GrantStatus::WouldRemove
        } else {
            remove(&api, version.number, &statement.sid).await?
        };
        removed.push(GrantResult {
            stage: args.stage.clone(),
            principal: statement.principal.clone(),
            organization: match grantee {
                Grantee::Organization(org) => Some(org),
                _ => None,
            },
            statement_id: statement.sid.clone(),
            status,
            error: None,
            verified: None,
            unverified: None,
        });
    }
    // The policy lists statements in the order they landed; results list them by ID.
    removed.sort_by(|a, b| a.statement_id.cmp(&b.statement_id));
    let account = session.caller().account.as_str();
    let header = (layer.name.as_str(), api.aws.region.as_str(), account);
    let mut run = Run::default();
    if args.dry_run {
        let plan = version.plan(PlanCommand::Revoke, PlanAction::Revoke, header, removed);
        run.push(Outcome::Plan(plan));
    } else {
        let (name, region, account) = header;
        run.push(Outcome::Revoke(Revoked {
            header: Header::new(ResultType::Revoke, name, region, account),
            layer_version_arn: version.arn,
            version: version.number,
            stage: args.stage.clone(),
            removed,
        }));
    }
    Ok(run)
}

/// Remove one statement. A 404 can mean a retry whose first attempt already removed it (the
/// response was lost): the policy, read again, says whether it is gone.
async fn remove(api: &LayerApi, version: i64, sid: &str) -> Result<GrantStatus> {
    if api.remove_permission(version, sid).await? {
        return Ok(GrantStatus::Removed);
    }
    if api.policy(version).await?.get(sid).is_none() {
        return Ok(GrantStatus::Removed);
    }
    Err(Error::new(Kind::Aws, format!("lambda:RemoveLayerVersionPermission answered that {sid} is not on version {version} of {}, yet the policy still holds it", api.name)).fix("run the revoke again"))
}
