//! Sharing one exact version with each stage: read the policy, add only the statements that are
//! missing, under deterministic IDs, and never touch a statement cargo-layer did not make.

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::aws;
use crate::aws::layers::LayerApi;
use crate::aws::policy::{self, Grantee};
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::project::config::LayerConfig;
use crate::schema::{GrantResult, GrantStatus};

/// One statement a stage should have on the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub stage: String,
    pub grantee: Grantee,
}

impl Wanted {
    pub fn principal(&self) -> &str {
        match &self.grantee {
            Grantee::Account(account) => account,
            Grantee::Organization(_) | Grantee::Public => "*",
        }
    }

    pub fn organization(&self) -> Option<&str> {
        match &self.grantee {
            Grantee::Organization(org) => Some(org),
            _ => None,
        }
    }

    pub fn statement_id(&self) -> String {
        policy::statement_id(&self.stage, &self.grantee)
    }

    /// The plan entry for a grant that is not there yet.
    pub fn planned(&self) -> GrantResult {
        self.result(GrantStatus::WouldAdd, None)
    }

    fn result(&self, status: GrantStatus, error: Option<String>) -> GrantResult {
        GrantResult {
            stage: self.stage.clone(),
            principal: self.principal().to_string(),
            organization: self.organization().map(str::to_string),
            statement_id: self.statement_id(),
            status,
            error,
            verified: None,
            unverified: None,
        }
    }

    /// The statement grants exactly this principal and organization.
    pub fn matches(&self, statement: &policy::Statement) -> bool {
        statement.principal == self.principal()
            && statement.organization.as_deref() == self.organization()
    }
}

/// The statements of the selected stages (every stage when none is selected).
pub fn wanted(layer: &LayerConfig, stages: &[String]) -> Result<Vec<Wanted>> {
    let names: Vec<&String> = if stages.is_empty() {
        layer.stages.keys().collect()
    } else {
        stages.iter().collect()
    };
    let mut out = Vec::new();
    for name in names {
        let stage = layer.stage(name)?;
        let mut push = |grantee| {
            out.push(Wanted {
                stage: name.clone(),
                grantee,
            })
        };
        for account in &stage.accounts {
            push(Grantee::Account(account.clone()));
        }
        if let Some(org) = &stage.organization {
            push(Grantee::Organization(org.clone()));
        }
        if stage.public {
            push(Grantee::Public);
        }
    }
    Ok(out)
}

/// The statements of `wanted` whose stage is granted in `region` (a stage with `partition` only
/// in that partition's regions).
pub fn in_region(layer: &LayerConfig, wanted: &[Wanted], region: &str) -> Vec<Wanted> {
    wanted
        .iter()
        .filter(|w| layer.stages.get(&w.stage).is_none_or(|s| s.is_in(region)))
        .cloned()
        .collect()
}

/// Grants added at once to one version.
const GRANTS_AT_ONCE: usize = 4;
/// Attempts for one grant whose AddLayerVersionPermission keeps answering a conflict.
const CONFLICT_ATTEMPTS: u64 = 3;

/// Make sure every wanted statement is on `version`. Failures are reported per grant, not
/// raised, so the caller can record them and a re-run can finish the job.
pub async fn apply(
    layer: &LayerApi,
    version: i64,
    wanted: &[Wanted],
    dry_run: bool,
    progress: &Progress,
) -> Result<Vec<GrantResult>> {
    let policy = match layer.policy(version).await {
        Ok(policy) => policy,
        // The version exists whatever happens here: record the failure on every grant so the
        // caller still writes its ARN, and a re-run finishes the job.
        Err(err) if !dry_run => {
            return Ok(wanted
                .iter()
                .map(|g| g.result(GrantStatus::Failed, Some(err.to_string())))
                .collect());
        }
        Err(err) => return Err(err),
    };
    let policy = &policy;
    stream::iter(wanted)
        .map(|grant| async move {
            let result = match policy.get(&grant.statement_id()) {
                Some(existing) => present(layer, version, grant, existing),
                None if dry_run => grant.result(GrantStatus::WouldAdd, None),
                None => add(layer, version, grant).await?,
            };
            progress.debug(format!(
                "grant {} -> {:?}",
                result.statement_id, result.status
            ));
            Ok(result)
        })
        .buffered(GRANTS_AT_ONCE)
        .try_collect()
        .await
}

fn present(
    layer: &LayerApi,
    version: i64,
    grant: &Wanted,
    existing: &policy::Statement,
) -> GrantResult {
    if grant.matches(existing) {
        return grant.result(GrantStatus::Present, None);
    }
    let number = version.to_string();
    let revoke = crate::hint::for_layer(
        "revoke",
        &layer.name,
        &layer.aws.region,
        &["--stage", &grant.stage, "--version", &number],
    );
    grant.result(
        GrantStatus::Failed,
        Some(format!(
            "statement {} exists but grants {} instead; remove it with {revoke}, then run again",
            existing.sid,
            grantee(existing)
        )),
    )
}

/// Who a statement grants, as people read it.
fn grantee(statement: &policy::Statement) -> String {
    match &statement.organization {
        Some(org) => format!("organization {org}"),
        None if statement.principal == "*" => "every AWS account".to_string(),
        None => statement.principal.clone(),
    }
}

async fn add(layer: &LayerApi, version: i64, grant: &Wanted) -> Result<GrantResult> {
    let sid = grant.statement_id();
    let mut attempt = 1;
    loop {
        let added = layer
            .add_permission(version, &sid, grant.principal(), grant.organization())
            .await;
        let err = match added {
            Ok(()) => return Ok(grant.result(GrantStatus::Added, None)),
            Err(e) => e,
        };
        if aws::error_code(&err) != Some("ResourceConflictException") {
            let resource = format!("layer {} version {version}", layer.name);
            let err = aws::sdk_error("lambda:AddLayerVersionPermission", &resource, err);
            return Ok(grant.result(GrantStatus::Failed, Some(err.to_string())));
        }
        // Either the statement is there already (a concurrent run added it), or another update
        // of the policy was in progress: the policy, read again, tells which.
        if let Some(existing) = layer.policy(version).await?.get(&sid) {
            return Ok(present(layer, version, grant, existing));
        }
        if attempt == CONFLICT_ATTEMPTS {
            return Ok(grant.result(
                GrantStatus::Failed,
                Some(format!("lambda:AddLayerVersionPermission kept reporting a conflict for {sid}, and the policy does not hold it; run again")),
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
        attempt += 1;
    }
}

/// Lambda's limit for a layer version's policy is not documented; about 20 KB is where AWS
/// answers PolicyLengthExceededException.
pub const POLICY_LIMIT: usize = 20 * 1024;

/// Refuse, before any write, grants that could never fit in one version's policy: every
/// configured stage ends up on the same version once it is promoted everywhere.
pub fn check_policy_size(layer: &LayerConfig, region: Option<&str>) -> Result<()> {
    let all = wanted(layer, &[])?;
    let regions: Vec<&str> = match region {
        Some(region) => vec![region],
        None if layer.regions.is_empty() => vec!["ap-southeast-5"],
        None => layer.regions.iter().map(String::as_str).collect(),
    };
    let size = regions
        .iter()
        .map(|region| policy_size(layer, region, &all))
        .max()
        .unwrap_or_default();
    if size <= POLICY_LIMIT {
        return Ok(());
    }
    let (stage, accounts) = layer
        .stages
        .iter()
        .map(|(name, stage)| (name.as_str(), stage.accounts.len()))
        .max_by_key(|(_, n)| *n)
        .unwrap_or_default();
    Err(Error::new(Kind::Config, format!("the {} grants of all stages make a policy of about {size} bytes on each version, over the ~{POLICY_LIMIT} bytes Lambda allows for a layer version's policy", all.len())).fix(format!("share stage {stage}'s {accounts} accounts through their AWS Organization instead (organization = \"o-...\")")).at(&layer.cargo_toml, format!("package.metadata.layer.stages.{stage}.accounts")))
}

/// The size of the policy these grants make, as AWS stores it (the longest version number).
fn policy_size(layer: &LayerConfig, region: &str, grants: &[Wanted]) -> usize {
    let partition = aws::partition(region);
    let account = layer.access(Some(region)).artifacts_account;
    let account = account.as_deref().unwrap_or("123456789012");
    let grants = in_region(layer, grants, region);
    let resource = format!(
        "arn:{partition}:lambda:{region}:{account}:layer:{}:99999999",
        layer.name
    );
    let statements: Vec<serde_json::Value> = grants
        .iter()
        .map(|grant| {
            let mut statement = serde_json::json!({
                "Sid": grant.statement_id(),
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:GetLayerVersion",
                "Resource": resource,
            });
            if let Grantee::Account(id) = &grant.grantee {
                statement["Principal"] =
                    serde_json::json!({ "AWS": format!("arn:{partition}:iam::{id}:root") });
            }
            if let Some(org) = grant.organization() {
                statement["Condition"] =
                    serde_json::json!({ "StringEquals": { "aws:PrincipalOrgID": org } });
            }
            statement
        })
        .collect();
    let policy =
        serde_json::json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements });
    policy.to_string().len()
}

pub fn any_failed(results: &[GrantResult]) -> bool {
    results.iter().any(|g| g.status == GrantStatus::Failed)
}
