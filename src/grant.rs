//! Sharing one exact version with each stage: read the policy, add only the statements that are
//! missing, under deterministic IDs, and never touch a statement cargo-layer did not make.

use serde::{Deserialize, Serialize};

use crate::aws;
use crate::config::LayerConfig;
use crate::error::Result;
use crate::layers::Layer;
use crate::policy::{self, Policy, Target};
use crate::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Added,
    Present,
    Failed,
    /// Only in `--dry-run` plans.
    WouldAdd,
    /// Only from `revoke`.
    Removed,
    /// Only in `revoke --dry-run` plans.
    WouldRemove,
}

impl Status {
    /// The status as people read it.
    pub fn word(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Present => "present",
            Status::Failed => "failed",
            Status::WouldAdd => "would add",
            Status::Removed => "removed",
            Status::WouldRemove => "would remove",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantResult {
    pub stage: String,
    pub principal: String,
    pub organization: Option<String>,
    pub statement_id: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One statement a stage should have on the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub stage: String,
    pub target: Target,
}

impl Wanted {
    pub fn principal(&self) -> &str {
        match &self.target {
            Target::Account(account) => account,
            Target::Organization(_) | Target::Public => "*",
        }
    }

    pub fn organization(&self) -> Option<&str> {
        match &self.target {
            Target::Organization(org) => Some(org),
            _ => None,
        }
    }

    pub fn statement_id(&self) -> String {
        policy::statement_id(&self.stage, &self.target)
    }

    /// The plan entry for a grant that is not there yet.
    pub fn planned(&self) -> GrantResult {
        self.result(Status::WouldAdd, None)
    }

    fn result(&self, status: Status, error: Option<String>) -> GrantResult {
        GrantResult {
            stage: self.stage.clone(),
            principal: self.principal().to_string(),
            organization: self.organization().map(str::to_string),
            statement_id: self.statement_id(),
            status,
            error,
        }
    }

    fn matches(&self, statement: &policy::Statement) -> bool {
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
        let mut push = |target| {
            out.push(Wanted {
                stage: name.clone(),
                target,
            })
        };
        for account in &stage.accounts {
            push(Target::Account(account.clone()));
        }
        if let Some(org) = &stage.organization {
            push(Target::Organization(org.clone()));
        }
        if stage.public {
            push(Target::Public);
        }
    }
    Ok(out)
}

/// Make sure every wanted statement is on `version`. Failures are reported per grant, not
/// raised, so the caller can record them and a re-run can finish the job.
pub async fn apply(
    layer: &Layer<'_>,
    version: i64,
    wanted: &[Wanted],
    dry_run: bool,
    progress: &Progress,
) -> Result<Vec<GrantResult>> {
    let mut policy = match layer.policy(version).await {
        Ok(policy) => policy,
        // The version exists whatever happens here: record the failure on every grant so the
        // caller still writes its ARN, and a re-run finishes the job.
        Err(err) if !dry_run => {
            return Ok(wanted
                .iter()
                .map(|g| g.result(Status::Failed, Some(err.message.clone())))
                .collect());
        }
        Err(err) => return Err(err),
    };
    let mut results = Vec::with_capacity(wanted.len());
    for grant in wanted {
        let result = match policy.get(&grant.statement_id()) {
            Some(existing) => present(grant, existing),
            None if dry_run => grant.result(Status::WouldAdd, None),
            None => add(layer, version, grant, &mut policy).await?,
        };
        progress.debug(format!(
            "grant {} -> {:?}",
            result.statement_id, result.status
        ));
        results.push(result);
    }
    Ok(results)
}

fn present(grant: &Wanted, existing: &policy::Statement) -> GrantResult {
    if grant.matches(existing) {
        grant.result(Status::Present, None)
    } else {
        grant.result(
            Status::Failed,
            Some(format!(
                "statement {} exists but grants {} instead; remove it (cargo layer revoke --stage {}) and run again",
                existing.sid, existing.principal, grant.stage
            )),
        )
    }
}

async fn add(
    layer: &Layer<'_>,
    version: i64,
    grant: &Wanted,
    policy: &mut Policy,
) -> Result<GrantResult> {
    let sid = grant.statement_id();
    match layer
        .add_permission(version, &sid, grant.principal(), grant.organization())
        .await
    {
        Ok(()) => Ok(grant.result(Status::Added, None)),
        // Someone (a concurrent run) added it between our read and our write: read again.
        Err(e) if aws::error_code(&e) == Some("ResourceConflictException") => {
            *policy = layer.policy(version).await?;
            Ok(match policy.get(&sid) {
                Some(existing) => present(grant, existing),
                None => grant.result(
                    Status::Failed,
                    Some(format!("AddLayerVersionPermission reported a conflict for {sid}, but the policy does not hold it")),
                ),
            })
        }
        Err(e) => {
            let resource = format!("layer {} version {version}", layer.name);
            let err = aws::sdk_error("lambda:AddLayerVersionPermission", &resource, e);
            Ok(grant.result(Status::Failed, Some(err.message)))
        }
    }
}

pub fn any_failed(results: &[GrantResult]) -> bool {
    results.iter().any(|g| g.status == Status::Failed)
}
