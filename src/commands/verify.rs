//! `cargo layer verify`: from inside each account of the selected stages, read the exact version
//! by its ARN and compare its CodeSha256 with the published one, and check that the stage's
//! parameter names it. Nothing is written; the run succeeds only when every account, in every
//! region, can use the version.

use crate::aws::SessionKey;
use crate::cli::VerifyArgs;
use crate::commands::deliver::{Handed, Mode, Stages};
use crate::commands::pick::{self, Pick};
use crate::commands::{self, setup};
use crate::error::{Error, Kind, Result};
use crate::output::Run;
use crate::output::progress::Progress;
use crate::project::config::LayerConfig;
use crate::schema::{Header, Outcome, ResultType, Verified};

pub async fn run(args: &VerifyArgs, progress: &Progress) -> Result<Run> {
    let setup = setup::load(&args.select, &args.aws).await?;
    let layers = &setup.project.layers;
    let flag = args.aws.region.as_deref();
    let picks = pick::picks(&args.which, flag, layers)?;
    let groups = pick::by_layer(&picks, layers, flag)?;
    for (layer, _) in &groups {
        check_stages(layer, &args.stages)?;
    }
    let environment = setup.aws.environment_region();
    let mut run = Run::default();
    for (layer, group) in &groups {
        let regions: Vec<Option<String>> = group
            .iter()
            .map(|p| p.region.clone().or(environment.map(str::to_string)))
            .collect();
        let results = commands::each_region(&regions, progress, |region, progress| {
            let pick = group[regions
                .iter()
                .position(|r| r.as_deref() == region)
                .unwrap_or(0)];
            let key = SessionKey::artifacts(&args.aws, layer, region, pick.account.as_deref());
            let sessions = &setup.aws;
            async move {
                let from = &sessions.open(&key, region).await?;
                let stages = Stages {
                    sessions,
                    from,
                    layer,
                };
                verify_region(&stages, pick, region, &args.stages, &progress).await
            }
        })
        .await;
        for (region, result) in regions.iter().zip(results) {
            commands::record(&mut run, &layer.name, region.as_deref(), result)?;
        }
    }
    Ok(run)
}

/// Every selected stage exists and has a stage role to read through.
fn check_stages(layer: &LayerConfig, stages: &[String]) -> Result<()> {
    for name in stages {
        if layer.stage(name)?.role.is_none() {
            return Err(Error::new(
                Kind::Config,
                format!("stage {name} has no stage role, so nothing can read from inside its accounts"),
            )
            .at(&layer.cargo_toml, "package.metadata.layer.stage-role")
            .fix("set `stage-role` (or `role` on the stage) to a role in each stage account; `cargo layer iam-policy --stage-role` prints what it needs"));
        }
    }
    Ok(())
}

async fn verify_region(
    stages: &Stages<'_>,
    pick: &Pick,
    region: Option<&str>,
    selected: &[String],
    progress: &Progress,
) -> Result<Outcome> {
    let layer = stages.layer;
    let api = stages.from.api(region, &layer.name)?;
    let version = api.existing(pick.version).await?;
    let held = version.code_sha256.clone().unwrap_or_default();
    // With a manifest, what was tested is what every account must read.
    let code_sha256 = pick.code_sha256.clone().unwrap_or(held);
    let step = progress.step(format!(
        "reading {} from inside the accounts of {}",
        version.arn,
        selected.join(", ")
    ));
    let handed = Handed {
        region: &api.aws.region,
        arn: &version.arn,
        code_sha256: &code_sha256,
        git_commit: None,
        created: false,
    };
    let names: Vec<&str> = selected.iter().map(String::as_str).collect();
    let accounts = stages.visit(&names, &handed, Mode::Check).await;
    let done = accounts.iter().filter(|a| a.is_done()).count();
    step.finish(format!(
        "{done} of {} stage account(s) verified",
        accounts.len()
    ));
    Ok(Outcome::Verify(Verified {
        header: Header::new(
            ResultType::Verify,
            &layer.name,
            &api.aws.region,
            &stages.from.caller().account,
        ),
        layer_version_arn: version.arn.clone(),
        version: version.number,
        code_sha256,
        stage_accounts: accounts,
    }))
}
