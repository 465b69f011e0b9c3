//! GitHub Actions mode: when `GITHUB_ACTIONS=true`, results also go to `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY`, and errors become `::error` annotations.

pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Workflow-command data must not carry raw `%`, CR or LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `::error` annotation for a failed run, pointing at the file when the cause is in one.
pub fn annotate_error(err: &crate::error::Error) {
    if !enabled() {
        return;
    }
    let message = escape_data(&err.to_string());
    match &err.location {
        Some(location) => eprintln!(
            "::error file={},title=cargo-layer::{message}",
            escape_property(&location.file.to_string_lossy())
        ),
        None => eprintln!("::error title=cargo-layer::{message}"),
    }
}

/// Workflow-command properties additionally must not carry raw ':' or ','.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

use std::io::Write;
use std::path::Path;

use crate::grant::Status;
use crate::manifest::Manifest;

/// Append the result to `GITHUB_OUTPUT` and a Markdown summary to `GITHUB_STEP_SUMMARY`.
pub fn write_result(m: &Manifest, manifest_path: Option<&Path>) -> std::io::Result<()> {
    if !enabled() {
        return Ok(());
    }
    if let Some(file) = std::env::var_os("GITHUB_OUTPUT") {
        let json = serde_json::to_string(m).map_err(std::io::Error::other)?;
        let mut outputs = vec![
            ("layer-version-arn", m.layer_version_arn.clone()),
            ("layer-arn", m.layer_arn.clone()),
            ("version", m.version.to_string()),
            ("code-sha256", m.code_sha256.clone()),
            ("published", m.published.to_string()),
            ("region", m.region.clone()),
            ("result-json", json),
        ];
        if let Some(path) = manifest_path {
            outputs.push(("layer-manifest", path.to_string_lossy().into_owned()));
        }
        append(Path::new(&file), &format_outputs(&outputs))?;
    }
    if let Some(file) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        append(Path::new(&file), &summary(m))?;
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// `name=value` lines; any value with a newline uses a heredoc with a random delimiter that
/// the value cannot contain, as the runner's file-command grammar requires.
pub fn format_outputs(outputs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains('\n') || value.contains('\r') {
            let delimiter = loop {
                let candidate = format!("ghadelimiter_{:016x}", fastrand::u64(..));
                if !value.contains(&candidate) {
                    break candidate;
                }
            };
            text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    text
}

/// The step summary: what was published or reused, and every grant per stage.
pub fn summary(m: &Manifest) -> String {
    let action = match (m.r#type.as_str(), m.published) {
        ("publish", true) => "published (new version)",
        ("publish", false) => "reused (same CodeSha256)",
        _ => "promoted",
    };
    let mut md = format!(
        "### Lambda layer `{}` version {} — {action}\n\n",
        m.name, m.version
    );
    md.push_str("| | |\n|---|---|\n");
    md.push_str(&format!(
        "| LayerVersionArn | `{}` |\n",
        m.layer_version_arn
    ));
    md.push_str(&format!(
        "| Region / account | {} / {} |\n",
        m.region, m.account
    ));
    md.push_str(&format!("| CodeSha256 | `{}` |\n", m.code_sha256));
    md.push_str(&format!("| Zip size | {} bytes |\n", m.zip_size));
    if let Some(unzipped) = m.unzipped_size {
        md.push_str(&format!("| Unzipped size | {unzipped} bytes |\n"));
    }
    if let Some(commit) = &m.git_commit {
        md.push_str(&format!("| Commit | `{commit}` |\n"));
    }
    md.push_str("\n| Stage | Principal | Statement | Status |\n|---|---|---|---|\n");
    for g in &m.grants {
        let who = match &g.organization {
            Some(org) => format!("organization `{org}`"),
            None if g.principal == "*" => "every AWS account".into(),
            None => format!("`{}`", g.principal),
        };
        let status = match g.status {
            Status::Failed => format!("❌ failed: {}", g.error.as_deref().unwrap_or("")),
            Status::Added => "✅ added".into(),
            Status::Present => "✅ present".into(),
            Status::WouldAdd => "would add".into(),
            Status::Removed => "removed".into(),
        };
        md.push_str(&format!(
            "| {} | {who} | `{}` | {status} |\n",
            g.stage, g.statement_id
        ));
    }
    for note in &m.notes {
        md.push_str(&format!("\n> {note}\n"));
    }
    md.push('\n');
    md
}
