//! What publish and promote both deliver once a version is chosen: the grants' step, the work
//! inside each stage account (read the exact version there, hand it its ARN in SSM), the
//! manifests and the ARN file.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::{StreamExt, stream};

use crate::aws::layers::{self, Read};
use crate::aws::{self, Session, SessionKey, Sessions};
use crate::commands;
use crate::error::{Error, Result};
use crate::output::{self, Delivered, Run};
use crate::project::config::{self, LayerConfig, Stage};
use crate::schema::{
    self, GrantResult, GrantStatus, HistoryEntry, Outcome, Parameter, ParameterHistory,
    ParameterStatus, StageAccount, Step, StepName, StepStatus, Unverified,
};

/// The grant step of a publish or promote result.
pub fn grant_step(grants: &[GrantResult]) -> Step {
    let failed = grants
        .iter()
        .filter(|g| g.status == GrantStatus::Failed)
        .count();
    if failed == 0 {
        Step::new(StepName::Grant, StepStatus::Ok, None)
    } else {
        Step::new(
            StepName::Grant,
            StepStatus::Failed,
            Some(format!("{failed} of {} grants failed", grants.len())),
        )
    }
}

/// `--output-file`: the bare ARNs, one per line, for scripts.
pub fn write_arn_file(run: &Run, path: Option<&Path>) -> Result<()> {
    let arns: String = run
        .results
        .iter()
        .filter_map(|d| match &d.outcome {
            Outcome::Manifest(m) => Some(format!("{}\n", m.layer_version_arn)),
            _ => None,
        })
        .collect();
    match path {
        Some(path) if !arns.is_empty() => output::write_atomic(path, arns.as_bytes()),
        _ => Ok(()),
    }
}

/// Write each region's manifest, in the configured order. Every manifest of the layer carries
/// the region -> ARN and region -> CodeSha256 maps of the regions that succeeded. A failed
/// region's manifest from an earlier run is removed: it names an older version as if current.
pub fn write_manifests(
    run: &mut Run,
    layer: &LayerConfig,
    out_dir: &Path,
    regions: &[Option<String>],
    results: Vec<Result<Outcome>>,
) -> Result<()> {
    let manifests = || {
        results.iter().filter_map(|r| match r {
            Ok(Outcome::Manifest(m)) => Some(m),
            _ => None,
        })
    };
    let arns: BTreeMap<String, String> = manifests()
        .map(|m| (m.header.region.clone(), m.layer_version_arn.clone()))
        .collect();
    let codes: BTreeMap<String, String> = manifests()
        .map(|m| (m.header.region.clone(), m.code_sha256.clone()))
        .collect();
    let signatures: BTreeMap<String, schema::Signature> = manifests()
        .filter_map(|m| Some((m.header.region.clone(), m.signature.clone()?)))
        .collect();
    let several = layer.regions.len() > 1;
    for (region, result) in regions.iter().zip(results) {
        match result {
            Ok(Outcome::Manifest(mut manifest)) => {
                manifest.layer_version_arns = arns.clone();
                manifest.code_sha256s = codes.clone();
                manifest.signatures = signatures.clone();
                let path =
                    schema::cargo_toml(out_dir, &layer.name, several, &manifest.header.region);
                output::write_atomic(&path, &output::to_pretty_json(&manifest))?;
                run.results.push(Delivered {
                    outcome: Outcome::Manifest(manifest),
                    file: Some(path),
                });
            }
            Ok(outcome) => run.push(outcome),
            Err(error) => {
                if let Some(region) = region.as_deref().filter(|_| several) {
                    remove_stale(&schema::cargo_toml(out_dir, &layer.name, true, region))?;
                }
                commands::failed(run, &layer.name, region.as_deref(), error)?;
            }
        }
    }
    Ok(())
}

/// Remove a manifest an earlier run wrote, if there is one.
fn remove_stale(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Stage accounts handled at once in one region; sessions are shared across regions.
pub const ACCOUNTS_AT_ONCE: usize = 10;

/// What the stage-side work needs: where sessions come from and the layer.
pub struct Stages<'a> {
    pub sessions: &'a Sessions<'a>,
    /// The artifacts account's session: the stage roles trust it.
    pub from: &'a Session,
    pub layer: &'a LayerConfig,
}

/// The version the stages must read, and what the hand-off says about it.
pub struct Handed<'a> {
    pub region: &'a str,
    pub arn: &'a str,
    pub code_sha256: &'a str,
    pub git_commit: Option<&'a str>,
    /// This run created the version: no parameter can name it yet, so none is read first.
    pub created: bool,
}

/// Write the parameters (publish, promote), or only compare them (verify).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

impl Stages<'_> {
    /// Every account of `stages` that has a stage role, in this region: verified from inside,
    /// then (with `parameter`) handed the ARN or checked, concurrently.
    pub async fn visit(
        &self,
        stages: &[&str],
        version: &Handed<'_>,
        mode: Mode,
    ) -> Vec<StageAccount> {
        let mut work: Vec<(&str, &Stage, &str)> = Vec::new();
        for name in stages {
            let granted_here = |s: &&Stage| s.role.is_some() && s.is_in(version.region);
            let Some(stage) = self.layer.stages.get(*name).filter(granted_here) else {
                continue;
            };
            work.extend(stage.readers().into_iter().map(|a| (*name, stage, a)));
        }
        stream::iter(work)
            .map(|(name, stage, account)| self.account(name, stage, account, version, mode))
            .buffered(ACCOUNTS_AT_ONCE)
            .collect()
            .await
    }

    async fn account(
        &self,
        name: &str,
        stage: &Stage,
        account: &str,
        version: &Handed<'_>,
        mode: Mode,
    ) -> StageAccount {
        let fill = |template: &str| {
            let partition = aws::partition(version.region);
            config::fill(template, account, &self.layer.name, name, partition)
        };
        let role = fill(stage.role.as_deref().unwrap_or_default());
        let parameter = stage.parameter.as_deref().map(fill);
        let mut result = StageAccount {
            stage: name.to_string(),
            account: account.to_string(),
            verified: false,
            unverified: None,
            error: None,
            parameter: None,
        };
        let key = SessionKey::stage(&role, account, name);
        let session = match self.sessions.open_from(self.from, &key).await {
            Ok(session) => session,
            Err(error) => {
                result.unverified = Some(Unverified::NoSession);
                result.error = Some(error.to_string());
                result.parameter = parameter.map(|name| skipped(name, mode));
                return result;
            }
        };
        match verify(&session, version).await {
            Ok(()) => result.verified = true,
            Err((why, error)) => {
                result.unverified = Some(why);
                result.error = Some(error);
            }
        }
        if let Some(name) = parameter {
            let client = session.ssm(version.region);
            result.parameter = Some(match (mode, result.verified) {
                (Mode::Write, false) => skipped(name, mode),
                (Mode::Write, true) => hand_off(&client, name, version).await,
                (Mode::Check, _) => check(&client, name, version).await,
            });
        }
        result
    }
}

impl Stages<'_> {
    /// `status --stage`: the last `keep` entries of each stage account's parameter in `region`.
    pub async fn history(
        &self,
        stages: &[String],
        region: &str,
        keep: usize,
    ) -> Vec<ParameterHistory> {
        let mut work: Vec<(&str, &Stage, &str)> = Vec::new();
        for name in stages {
            let Some(stage) = self.layer.stages.get(name).filter(|s| s.is_in(region)) else {
                continue;
            };
            work.extend(
                stage
                    .readers()
                    .into_iter()
                    .map(|a| (name.as_str(), stage, a)),
            );
        }
        stream::iter(work)
            .map(|(name, stage, account)| async move {
                let partition = aws::partition(region);
                let fill = |t: &str| config::fill(t, account, &self.layer.name, name, partition);
                let role = fill(stage.role.as_deref().unwrap_or_default());
                let parameter = fill(stage.parameter.as_deref().unwrap_or_default());
                let key = SessionKey::stage(&role, account, name);
                let read = async {
                    let session = self.sessions.open_from(self.from, &key).await?;
                    aws::ssm::history(&session.ssm(region), &parameter, keep).await
                };
                let (entries, error) = match read.await {
                    Ok(entries) => (entries, None),
                    Err(error) => (Vec::new(), Some(error.to_string())),
                };
                ParameterHistory {
                    stage: name.to_string(),
                    account: account.to_string(),
                    parameter,
                    entries: entries
                        .into_iter()
                        .map(|e| HistoryEntry {
                            version: e.version,
                            value: e.value,
                            written: e.written,
                            description: e.description,
                        })
                        .collect(),
                    error,
                }
            })
            .buffered(ACCOUNTS_AT_ONCE)
            .collect()
            .await
    }
}

/// The stage account reads the exact version by its ARN, with the published CodeSha256.
async fn verify(
    session: &Session,
    version: &Handed<'_>,
) -> std::result::Result<(), (Unverified, String)> {
    let aws = session
        .region(Some(version.region))
        .map_err(|e| (Unverified::Failed, e.to_string()))?;
    match layers::read(&aws, version.arn).await {
        Ok(Read::Found { code_sha256 }) if code_sha256 == version.code_sha256 => Ok(()),
        Ok(Read::Found { code_sha256 }) => Err((
            Unverified::OtherBytes,
            format!(
                "it reads CodeSha256 {code_sha256}, but {} was published",
                version.code_sha256
            ),
        )),
        Ok(Read::Denied(message)) => Err((
            Unverified::Denied,
            format!(
                "lambda:GetLayerVersionByArn was denied ({message}); the version's policy does not grant this account"
            ),
        )),
        Err(error) => Err((Unverified::Failed, error.to_string())),
    }
}

/// Write the parameter when it names another value: every write adds a history entry. A
/// version this run created names a new ARN (Lambda never reuses version numbers), so its
/// parameter is written without reading it first.
async fn hand_off(client: &aws_sdk_ssm::Client, name: String, version: &Handed<'_>) -> Parameter {
    let description = description(version);
    let written = async {
        let held = match version.created {
            true => None,
            false => aws::ssm::get(client, &name).await?,
        };
        match held {
            Some(entry) if entry.value == version.arn => Ok(ParameterStatus::Present),
            _ => aws::ssm::put(client, &name, version.arn, &description)
                .await
                .map(|_| ParameterStatus::Written),
        }
    };
    match written.await {
        Ok(status) => parameter(name, status, None, None),
        Err(error) => failed(name, error),
    }
}

/// `verify`: the parameter names the version.
async fn check(client: &aws_sdk_ssm::Client, name: String, version: &Handed<'_>) -> Parameter {
    match aws::ssm::get(client, &name).await {
        Ok(Some(entry)) if entry.value == version.arn => {
            parameter(name, ParameterStatus::Present, None, None)
        }
        Ok(Some(entry)) => parameter(name, ParameterStatus::Differs, Some(entry.value), None),
        Ok(None) => parameter(name, ParameterStatus::Missing, None, None),
        Err(error) => failed(name, error),
    }
}

/// SSM descriptions hold up to 1024 characters; this is far less.
fn description(version: &Handed<'_>) -> String {
    let commit = version
        .git_commit
        .map(|c| format!(", git commit {c}"))
        .unwrap_or_default();
    format!(
        "Lambda layer version handed off by cargo-layer: CodeSha256 {}{commit}",
        version.code_sha256
    )
}

fn skipped(name: String, mode: Mode) -> Parameter {
    match mode {
        Mode::Write => parameter(
            name,
            ParameterStatus::Skipped,
            None,
            Some("not written while the account cannot use the version".into()),
        ),
        Mode::Check => parameter(
            name,
            ParameterStatus::Skipped,
            None,
            Some("not read without a session in the account".into()),
        ),
    }
}

fn failed(name: String, error: Error) -> Parameter {
    parameter(name, ParameterStatus::Failed, None, Some(error.to_string()))
}

fn parameter(
    name: String,
    status: ParameterStatus,
    value: Option<String>,
    error: Option<String>,
) -> Parameter {
    Parameter {
        name,
        status,
        value,
        error,
    }
}

/// The stage-side work after the grants of `wanted`'s stages, with a progress line.
pub async fn to_stages(
    stages: &Stages<'_>,
    wanted: &[crate::aws::grant::Wanted],
    version: &Handed<'_>,
    progress: &crate::output::progress::Progress,
) -> Vec<StageAccount> {
    let names = stage_names(wanted);
    if !names.iter().any(|n| {
        stages
            .layer
            .stages
            .get(*n)
            .is_some_and(|s| s.role.is_some())
    }) {
        return Vec::new();
    }
    let step = progress.step(format!(
        "verifying {} in {} from inside the stage accounts",
        version.arn, version.region
    ));
    let accounts = stages.visit(&names, version, Mode::Write).await;
    let unverified = accounts.iter().filter(|a| !a.verified).count();
    match unverified {
        0 => step.finish(format!("{} stage account(s) read it", accounts.len())),
        n => step.finish(format!(
            "{n} of {} stage account(s) cannot use it",
            accounts.len()
        )),
    }
    accounts
}

/// Each grant says whether every account it reaches could use the version: its own account,
/// or for an organization or public grant the stage's `handoff-accounts`.
pub fn mark(grants: &mut [GrantResult], accounts: &[StageAccount]) {
    for grant in grants {
        let reached: Vec<&StageAccount> = accounts
            .iter()
            .filter(|a| a.stage == grant.stage)
            .filter(|a| grant.principal == "*" || a.account == grant.principal)
            .collect();
        if reached.is_empty() {
            continue;
        }
        grant.verified = Some(reached.iter().all(|a| a.verified));
        grant.unverified = reached.iter().find_map(|a| a.unverified);
    }
}

/// The verify and hand-off steps of a result, when the stages have roles.
pub fn stage_steps(accounts: &[StageAccount]) -> Vec<Step> {
    if accounts.is_empty() {
        return Vec::new();
    }
    let unverified = accounts.iter().filter(|a| !a.verified).count();
    let verify = match unverified {
        0 => Step::new(StepName::Verify, StepStatus::Ok, None),
        n => Step::new(
            StepName::Verify,
            StepStatus::Failed,
            Some(format!(
                "{n} of {} stage accounts cannot use the version",
                accounts.len()
            )),
        ),
    };
    let parameters: Vec<&Parameter> = accounts
        .iter()
        .filter_map(|a| a.parameter.as_ref())
        .collect();
    if parameters.is_empty() {
        return vec![verify];
    }
    let not_handed = parameters
        .iter()
        .filter(|p| {
            !matches!(
                p.status,
                ParameterStatus::Written | ParameterStatus::Present
            )
        })
        .count();
    let handoff = match not_handed {
        0 => Step::new(StepName::Handoff, StepStatus::Ok, None),
        n => Step::new(
            StepName::Handoff,
            StepStatus::Failed,
            Some(format!(
                "{n} of {} parameters do not name the version",
                parameters.len()
            )),
        ),
    };
    vec![verify, handoff]
}

/// The stage names of `wanted`, each once, in order.
pub fn stage_names(wanted: &[crate::aws::grant::Wanted]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for w in wanted {
        if !names.contains(&w.stage.as_str()) {
            names.push(&w.stage);
        }
    }
    names
}
