//! How publish and promote hand their result over: the bare ARN (human) or the manifest (JSON)
//! on stdout, a readable summary on stderr, the `--output-file`, and GitHub Actions outputs.

use std::path::{Path, PathBuf};

use crate::aws::grant::{GrantResult, Status};
use crate::error::{Error, Kind, Result};
use crate::output::github;
use crate::output::progress::Progress;
use crate::output::{self, MessageFormat};
use crate::schema::{Manifest, Plan};

pub fn manifest(m: &Manifest, path: Option<&Path>, format: MessageFormat, progress: &Progress) {
    match format {
        MessageFormat::Json => output::print_json(m),
        // Only the ARN, so `ARN=$(cargo layer publish -q)` works.
        MessageFormat::Human => println!("{}", m.layer_version_arn),
    }
    let what = match (m.r#type.as_str(), m.published) {
        ("publish", true) => "published",
        ("publish", false) => "reused (same CodeSha256)",
        _ => "promoted",
    };
    progress.info(format!(
        "{} version {} in {} (account {}): {what}",
        m.name, m.version, m.region, m.account
    ));
    progress.info(format!("  CodeSha256  {}", m.code_sha256));
    if let Some(path) = path {
        progress.info(format!("  manifest    {}", path.display()));
    }
    for line in grant_lines(&m.grants) {
        progress.info(line);
    }
    for note in &m.notes {
        progress.info(format!("  note: {note}"));
    }
    if let Err(err) = github::write_result(m, path) {
        progress.warn(format!("could not write GitHub Actions outputs: {err}"));
    }
}

/// What a dry run would do, in a few words.
pub fn plan_action(plan: &Plan) -> String {
    let version = plan.version.map(|v| v.to_string()).unwrap_or_default();
    match plan.action.as_str() {
        "publish" => "would publish a new version".to_string(),
        "reuse" => format!("would reuse version {version}"),
        "revoke" => format!("would revoke grants from version {version}"),
        _ => format!("would promote version {version}"),
    }
}

/// A dry run: the plan on stdout (human lines or JSON), and GitHub outputs marked as a plan.
pub fn plan(plan: &Plan, format: MessageFormat, progress: &Progress) {
    if format == MessageFormat::Json {
        output::print_json(plan);
    }
    let arn = plan
        .layer_version_arn
        .as_deref()
        .map(|arn| format!(" ({arn})"))
        .unwrap_or_default();
    let head = format!(
        "dry run: {} in {} (account {}): {}{arn}",
        plan.name,
        plan.region,
        plan.account,
        plan_action(plan)
    );
    let notes = plan.notes.iter().map(|n| format!("  note: {n}"));
    let lines = std::iter::once(head)
        .chain(grant_lines(&plan.grants))
        .chain(notes);
    for line in lines {
        if format == MessageFormat::Human {
            println!("{line}");
        } else {
            progress.info(line);
        }
    }
    if let Err(err) = github::write_plan(plan) {
        progress.warn(format!("could not write GitHub Actions outputs: {err}"));
    }
}

fn grant_lines(grants: &[GrantResult]) -> Vec<String> {
    grants
        .iter()
        .map(|g| {
            let who = match &g.organization {
                Some(org) => format!("organization {org}"),
                None if g.principal == "*" => "every AWS account".to_string(),
                None => g.principal.clone(),
            };
            let status = match g.status {
                Status::Failed => "FAILED",
                other => other.word(),
            };
            let error = g
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            format!("  {:<8} {:<28} {status}{error}", g.stage, who)
        })
        .collect()
}

pub fn grant_counts(grants: &[GrantResult]) -> String {
    let count = |s: Status| grants.iter().filter(|g| g.status == s).count();
    let mut parts = Vec::new();
    for (status, word) in [
        (Status::Added, "added"),
        (Status::Present, "already present"),
        (Status::Failed, "failed"),
    ] {
        let n = count(status);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    if parts.is_empty() {
        "no grants configured".into()
    } else {
        parts.join(", ")
    }
}

/// One region of a layer failed; the others go on.
pub fn region_failed(layer: &str, region: &str, err: &Error, progress: &Progress) {
    progress.warn(format!("{layer} in {region} failed: {err}"));
    if let Err(e) = github::write_failure(layer, region, err) {
        progress.warn(format!("could not write the GitHub Actions summary: {e}"));
    }
}

/// Write the ARN file, then fail if a region failed (with its exit code) or any grant failed
/// (the partial-failure code).
pub fn finish(
    manifests: &[(Manifest, PathBuf)],
    failures: &[(String, Error)],
    output_file: Option<&Path>,
    progress: &Progress,
) -> Result<()> {
    if let Some(path) = output_file
        && !manifests.is_empty()
    {
        let arns: String = manifests
            .iter()
            .map(|(m, _)| format!("{}\n", m.layer_version_arn))
            .collect();
        output::write_atomic(path, arns.as_bytes())?;
        progress.debug(format!("wrote {}", path.display()));
    }
    if let Some((_, first)) = failures.first() {
        let each: Vec<String> = failures
            .iter()
            .map(|(region, err)| format!("{region}: {}", err.message))
            .collect();
        return Err(Error::new(
            first.kind,
            format!(
                "{} region(s) failed ({}); the other regions are done, and running the same command again finishes only what is missing",
                failures.len(),
                each.join("; ")
            ),
        ));
    }
    let failed: Vec<String> = manifests
        .iter()
        .flat_map(|(m, _)| m.grants.iter().filter(|g| g.status == Status::Failed))
        .map(|g| {
            format!(
                "{} ({})",
                g.statement_id,
                g.error.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        Kind::Partial,
        format!(
            "the version is in place but {} grant(s) failed: {}; the manifest records them, and running the same command again adds only what is missing",
            failed.len(),
            failed.join("; ")
        ),
    ))
}
