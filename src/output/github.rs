//! GitHub Actions: with `GITHUB_ACTIONS=true`, every run also writes its step outputs
//! (`GITHUB_OUTPUT`, with `result-json` for every command) and a Markdown step summary
//! (`GITHUB_STEP_SUMMARY`), errors become `::error` annotations on the Cargo.toml line that
//! caused them, and the log is grouped with `::group::` (see `progress.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::output::human;
use crate::output::human::plan_action;
use crate::output::json::to_json_line;
use crate::output::run::{Failure, Run};
use crate::output::workflow::{escape_data, escape_property};
use crate::schema::{
    GrantResult, GrantStatus, LayerStatus, LookedInto, Manifest, Outcome, Package, Plan, Pruned,
    ResultType, Revoked, StageAccount, Verified,
};

/// The files GitHub's runner reads, found once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Github {
    pub output: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub workspace: Option<PathBuf>,
}

impl Github {
    pub fn from_env() -> Option<Github> {
        if !std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            return None;
        }
        let path = |name| std::env::var_os(name).map(PathBuf::from);
        Some(Github {
            output: path("GITHUB_OUTPUT"),
            summary: path("GITHUB_STEP_SUMMARY"),
            workspace: path("GITHUB_WORKSPACE"),
        })
    }

    /// The step outputs and summary of a whole run.
    pub fn write(&self, run: &Run) -> std::io::Result<()> {
        if let Some(file) = &self.output {
            append(file, &format_outputs(&outputs(run)))?;
        }
        if let Some(file) = &self.summary {
            append(file, &summary(run))?;
        }
        for failure in &run.failures {
            eprintln!(
                "::error title=cargo-layer {} {}::{}",
                failure.layer,
                failure.region,
                escape_data(&failure.error.to_string())
            );
        }
        Ok(())
    }

    /// `::error` for a failed run, pointing at the file and line when the cause is in one. The
    /// file is made relative to the workspace when it lies inside it, since GitHub matches
    /// annotations to repository paths.
    pub fn annotation(&self, err: &Error) -> String {
        let message = escape_data(&err.to_string());
        let Some(location) = &err.location else {
            return format!("::error title=cargo-layer::{message}");
        };
        let file = self
            .workspace
            .as_deref()
            .and_then(|root| relative(&location.file, root))
            .unwrap_or_else(|| location.file.clone());
        let mut properties = format!("file={}", escape_property(&file.to_string_lossy()));
        if let Some(line) = location.line {
            properties.push_str(&format!(",line={line}"));
        }
        format!("::error {properties},title=cargo-layer::{message}")
    }
}

/// `file` relative to `root`, also when one of them is reached through a symlink (such as
/// macOS's /tmp), or `None` when it lies outside.
fn relative(file: &Path, root: &Path) -> Option<PathBuf> {
    if let Ok(rel) = file.strip_prefix(root) {
        return Some(rel.to_path_buf());
    }
    let file = file.canonicalize().ok()?;
    let root = root.canonicalize().ok()?;
    file.strip_prefix(root).ok().map(Path::to_path_buf)
}

/// Every result as JSON lines in `result-json`; the version outputs from the last manifest or
/// plan; `layers` maps each layer to its region -> ARN map.
fn outputs(run: &Run) -> Vec<(&'static str, String)> {
    let json: Vec<String> = run
        .results
        .iter()
        .map(|d| to_json_line(&d.outcome))
        .collect();
    let dry_run = run
        .results
        .iter()
        .any(|d| matches!(d.outcome, Outcome::Plan(_)));
    let mut outputs = vec![
        ("dry-run", dry_run.to_string()),
        ("result-json", json.join("\n")),
    ];
    let mut layers: BTreeMap<&str, &BTreeMap<String, String>> = BTreeMap::new();
    let mut last = None;
    for delivered in &run.results {
        match &delivered.outcome {
            Outcome::Manifest(m) => {
                layers.insert(&m.header.name, &m.layer_version_arns);
                last = Some(manifest_outputs(m, delivered.file.as_deref()));
            }
            Outcome::Plan(p) => last = Some(plan_outputs(p)),
            _ => {}
        }
    }
    outputs.extend(last.unwrap_or_default());
    outputs.extend(stage_outputs(run));
    if !layers.is_empty() {
        let map = serde_json::to_string(&layers).expect("a map serializes");
        outputs.push(("layers", map));
    }
    outputs
}

/// With stage roles: every stage account in every region, and whether all of them can use the
/// version and hold its ARN (`verified`).
fn stage_outputs(run: &Run) -> Vec<(&'static str, String)> {
    let mut seen = Vec::new();
    for delivered in &run.results {
        let (header, accounts) = match &delivered.outcome {
            Outcome::Manifest(m) => (&m.header, &m.stage_accounts),
            Outcome::Verify(v) => (&v.header, &v.stage_accounts),
            _ => continue,
        };
        seen.extend(accounts.iter().map(|a| (header.region.as_str(), a)));
    }
    if seen.is_empty() {
        return Vec::new();
    }
    let verified = seen.iter().all(|(_, a)| a.is_done());
    let list: Vec<serde_json::Value> = seen
        .iter()
        .map(|(region, a)| {
            serde_json::json!({
                "stage": a.stage,
                "account": a.account,
                "region": region,
                "verified": a.verified,
                "parameter": a.parameter.as_ref().map(|p| &p.name),
            })
        })
        .collect();
    vec![
        ("verified", verified.to_string()),
        ("stage-accounts", serde_json::Value::from(list).to_string()),
    ]
}

fn manifest_outputs(m: &Manifest, file: Option<&Path>) -> Vec<(&'static str, String)> {
    let arns = serde_json::to_string(&m.layer_version_arns).expect("a map serializes");
    let mut outputs = vec![
        ("layer-version-arn", m.layer_version_arn.clone()),
        ("layer-arn", m.layer_arn.clone()),
        ("version", m.version.to_string()),
        ("code-sha256", m.code_sha256.clone()),
        ("published", m.published.to_string()),
        ("region", m.header.region.clone()),
        ("layer-version-arns", arns),
    ];
    if let Some(file) = file {
        outputs.push(("layer-manifest", file.to_string_lossy().into_owned()));
    }
    outputs
}

/// A plan names a version only when it would act on an existing one.
fn plan_outputs(plan: &Plan) -> Vec<(&'static str, String)> {
    let mut outputs = vec![("region", plan.header.region.clone())];
    if let (Some(version), Some(arn)) = (plan.version, &plan.layer_version_arn) {
        outputs.push(("version", version.to_string()));
        outputs.push(("layer-version-arn", arn.clone()));
    }
    if let Some(code) = &plan.code_sha256 {
        outputs.push(("code-sha256", code.clone()));
    }
    outputs
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

/// The step summary of a run: one section per result, one per failed region.
pub fn summary(run: &Run) -> String {
    let mut md = String::new();
    for delivered in &run.results {
        md.push_str(&match &delivered.outcome {
            Outcome::Package(p) => package_summary(p),
            Outcome::Manifest(m) => manifest_summary(m),
            Outcome::Plan(p) => plan_summary(p),
            Outcome::Revoke(r) => revoke_summary(r),
            Outcome::Status(s) => status_summary(s),
            Outcome::Prune(p) => prune_summary(p),
            Outcome::Verify(v) => verify_summary(v),
        });
    }
    for failure in &run.failures {
        md.push_str(&failure_summary(failure));
    }
    md
}

fn table(rows: &[(&str, String)]) -> String {
    let mut md = String::from("| | |\n|---|---|\n");
    for (name, value) in rows {
        md.push_str(&format!("| {name} | {value} |\n"));
    }
    md
}

fn notes(notes: &[String]) -> String {
    notes.iter().map(|n| format!("\n> {n}\n")).collect()
}

fn package_summary(p: &Package) -> String {
    let rows = [
        ("Zip", format!("`{}`", p.zip.display())),
        ("CodeSha256", format!("`{}`", p.code_sha256)),
        ("Zip size", format!("{} bytes", p.zip_size)),
        ("Unzipped size", format!("{} bytes", p.unzipped_size)),
        ("Files", p.entries.len().to_string()),
    ];
    format!(
        "### Lambda layer `{}` — packed\n\n{}\n",
        p.header.name,
        table(&rows)
    )
}

/// What was published or reused, and every grant, grouped per stage.
pub fn manifest_summary(m: &Manifest) -> String {
    let action = match (m.header.r#type, m.published) {
        (ResultType::Publish, true) => "published (new version)",
        (ResultType::Publish, false) => "reused (same CodeSha256)",
        _ => "promoted",
    };
    let mut rows = vec![
        ("LayerVersionArn", format!("`{}`", m.layer_version_arn)),
        (
            "Region / account",
            format!("{} / {}", m.header.region, m.header.account),
        ),
        ("CodeSha256", format!("`{}`", m.code_sha256)),
        ("Zip size", format!("{} bytes", m.zip_size)),
    ];
    if let Some(unzipped) = m.unzipped_size {
        rows.push(("Unzipped size", format!("{unzipped} bytes")));
    }
    if let Some(commit) = &m.git_commit {
        let state = match m.git_dirty {
            Some(true) => " with uncommitted changes (`git_dirty`)",
            _ => "",
        };
        rows.push(("Commit", format!("`{commit}`{state}")));
    }
    format!(
        "### Lambda layer `{}` version {} — {action}\n\n{}{}{}{}\n",
        m.header.name,
        m.version,
        table(&rows),
        grants_per_stage(&m.grants),
        stage_accounts(&m.stage_accounts),
        notes(&m.notes)
    )
}

/// Each stage account, as it sees the version, and its parameter.
fn stage_accounts(accounts: &[StageAccount]) -> String {
    if accounts.is_empty() {
        return String::new();
    }
    let mut md =
        String::from("\n| Stage | Account | Uses this version | Parameter |\n|---|---|---|---|\n");
    for a in accounts {
        let read = match a.unverified {
            None if a.verified => "yes".to_string(),
            why => format!(
                "**no** ({})",
                why.map_or("unverified", human::unverified_word)
            ),
        };
        let parameter = a
            .parameter
            .as_ref()
            .map(|p| format!("`{}` {}", p.name, human::parameter_word(p)))
            .unwrap_or_default();
        md.push_str(&format!(
            "| {} | {} | {read} | {parameter} |\n",
            a.stage, a.account
        ));
    }
    md
}

fn verify_summary(v: &Verified) -> String {
    let rows = [
        ("LayerVersionArn", format!("`{}`", v.layer_version_arn)),
        ("CodeSha256", format!("`{}`", v.code_sha256)),
    ];
    format!(
        "### Lambda layer `{}` version {} in {} — verified from the stage accounts\n\n{}{}\n",
        v.header.name,
        v.version,
        v.header.region,
        table(&rows),
        stage_accounts(&v.stage_accounts)
    )
}

/// A dry run: what would happen, and that nothing did.
pub fn plan_summary(plan: &Plan) -> String {
    let mut rows = Vec::new();
    if let Some(arn) = &plan.layer_version_arn {
        rows.push(("LayerVersionArn", format!("`{arn}`")));
    }
    rows.push((
        "Region / account",
        format!("{} / {}", plan.header.region, plan.header.account),
    ));
    if let Some(code) = &plan.code_sha256 {
        rows.push(("CodeSha256", format!("`{code}`")));
    }
    format!(
        "### Dry run: Lambda layer `{}` — {} (nothing changed)\n\n{}{}{}\n",
        plan.header.name,
        plan_action(plan),
        table(&rows),
        grants_per_stage(&plan.grants),
        notes(&plan.notes)
    )
}

fn revoke_summary(r: &Revoked) -> String {
    format!(
        "### Lambda layer `{}` version {} — revoked from stage {}\n\n{}\n",
        r.header.name,
        r.version,
        r.stage,
        grants_per_stage(&r.removed)
    )
}

fn status_summary(s: &LayerStatus) -> String {
    let mut md = format!(
        "### Lambda layer `{}` in {} — {}\n\n| Version | CodeSha256 | Stages granted | Missing |\n|---|---|---|---|\n",
        s.header.name,
        s.header.region,
        s.shown()
    );
    for v in &s.versions {
        let granted: Vec<&str> = v
            .stages
            .iter()
            .filter(|(_, st)| st.is_granted())
            .map(|(name, _)| name.as_str())
            .collect();
        let missing: Vec<&str> = v
            .stages
            .iter()
            .filter(|(_, st)| !st.is_granted())
            .map(|(name, _)| name.as_str())
            .collect();
        md.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            v.version,
            v.code_sha256.as_deref().unwrap_or("?"),
            granted.join(", "),
            missing.join(", ")
        ));
    }
    md.push('\n');
    md.push_str(&used_by_summary(s));
    md
}

/// `status --where-used`: the function versions that use the layer, one row each.
fn used_by_summary(s: &LayerStatus) -> String {
    if s.looked_into.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "#### Used by functions of the stage accounts\n\n| Stage | Account | Function | Version | Granted |\n|---|---|---|---|---|\n",
    );
    for u in &s.used_by {
        let aliases = match u.aliases.as_slice() {
            [] => String::new(),
            names => format!(" (alias {})", names.join(", ")),
        };
        let granted = if u.granted { "yes" } else { "**no**" };
        md.push_str(&format!(
            "| {} | {} | `{}:{}`{aliases} | {} | {granted} |\n",
            u.stage, u.account, u.function, u.qualifier, u.version
        ));
    }
    md.push('\n');
    md.push_str(&unseen(&s.looked_into));
    md
}

/// The stage accounts that could not be looked into, and why.
fn unseen(accounts: &[LookedInto]) -> String {
    let mut md = String::new();
    for a in accounts {
        if let Some(error) = &a.error {
            md.push_str(&format!(
                "> Could not look into stage account {} (stage {}): {}\n\n",
                a.account,
                a.stage,
                error.replace('\n', " ")
            ));
        }
    }
    md
}

fn prune_summary(p: &Pruned) -> String {
    let verb = if p.dry_run { "would delete" } else { "deleted" };
    let mut md = format!(
        "### Lambda layer `{}` in {} — pruned: {verb} {}, kept {}\n\n| Version | Kept because |\n|---|---|\n",
        p.header.name,
        p.header.region,
        p.deleted.len(),
        p.kept.len()
    );
    for kept in &p.kept {
        md.push_str(&format!("| {} | {} |\n", kept.version, kept.sentence()));
    }
    md.push('\n');
    md.push_str(&unseen(&p.looked_into));
    md
}

fn failure_summary(f: &Failure) -> String {
    format!(
        "### Lambda layer `{}` in {} — ❌ failed\n\n> {}\n\n",
        f.layer,
        f.region,
        f.error.to_string().replace('\n', " ")
    )
}

/// `#### Grants per stage`, then one table row per grant, the rows of a stage together and the
/// stages in the order the run handled them.
fn grants_per_stage(grants: &[GrantResult]) -> String {
    let mut md = String::from("\n#### Grants per stage\n\n");
    if grants.is_empty() {
        md.push_str("No stage was granted in this run.\n");
        return md;
    }
    let mut stages: Vec<&str> = Vec::new();
    for g in grants {
        if !stages.contains(&g.stage.as_str()) {
            stages.push(&g.stage);
        }
    }
    md.push_str("| Stage | Principal | Statement | Status |\n|---|---|---|---|\n");
    for stage in stages {
        for g in grants.iter().filter(|g| g.stage == stage) {
            let who = match &g.organization {
                Some(org) => format!("organization `{org}`"),
                None if g.principal == "*" => "every AWS account".into(),
                None => format!("`{}`", g.principal),
            };
            let status = match g.status {
                GrantStatus::Failed => format!(
                    "❌ failed: {}",
                    g.error.as_deref().unwrap_or("").replace('|', "\\|")
                ),
                GrantStatus::Added | GrantStatus::Present => format!("✅ {}", g.status.word()),
                other => other.word().to_string(),
            };
            md.push_str(&format!(
                "| {stage} | {who} | `{}` | {status} |\n",
                g.statement_id
            ));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use crate::schema::VersionFacts;

    #[test]
    fn annotation_names_the_file_relative_to_the_workspace_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("crates/demo/Cargo.toml");
        let github = Github {
            workspace: Some(dir.path().to_path_buf()),
            ..Github::default()
        };
        let mut err = Error::new(Kind::Config, "\"33\" is not a 12-digit AWS account ID")
            .at(&file, "package.metadata.layer.stages.prod.accounts[1]");
        err.location.as_mut().unwrap().line = Some(14);
        let annotation = github.annotation(&err);
        assert!(
            annotation
                .starts_with("::error file=crates/demo/Cargo.toml,line=14,title=cargo-layer::"),
            "{annotation}"
        );
        assert!(annotation.ends_with("is not a 12-digit AWS account ID"));

        // Outside the workspace the path stays as it is (escaped); no line, no line property.
        let elsewhere = Github {
            workspace: Some(PathBuf::from("/elsewhere")),
            ..Github::default()
        };
        let err = Error::new(Kind::Config, "bad").at(&file, "package.metadata.other");
        let annotation = elsewhere.annotation(&err);
        let path = escape_property(&file.to_string_lossy());
        assert!(
            annotation.starts_with(&format!("::error file={path},title=cargo-layer::")),
            "{annotation}"
        );

        let err = Error::new(Kind::Aws, "access denied\nsecond line 100%");
        assert_eq!(
            Github::default().annotation(&err),
            "::error title=cargo-layer::access denied%0Asecond line 100%25"
        );
    }

    fn grant(stage: &str, principal: &str, org: Option<&str>, status: GrantStatus) -> GrantResult {
        GrantResult {
            stage: stage.into(),
            principal: principal.into(),
            organization: org.map(str::to_string),
            statement_id: format!("cargo-layer-{stage}-{}", org.unwrap_or(principal)),
            status,
            error: (status == GrantStatus::Failed).then(|| "AccessDenied | no".to_string()),
            verified: None,
            unverified: None,
        }
    }

    fn manifest(grants: Vec<GrantResult>) -> Manifest {
        let arn = "arn:aws:lambda:eu-central-1:123456789012:layer:demo:3";
        let facts = VersionFacts {
            number: 3,
            arn,
            layer_arn: "arn:aws:lambda:eu-central-1:123456789012:layer:demo",
            code_sha256: Some("abc="),
            code_size: Some(10),
            runtimes: &[],
            architectures: &[],
            license: None,
            signature: None,
        };
        let header = ("demo", "eu-central-1", "123456789012");
        Manifest {
            unzipped_size: Some(20),
            published: true,
            grants,
            ..Manifest::for_version(ResultType::Publish, header, facts)
        }
    }

    #[test]
    fn summary_lists_every_grant_grouped_per_stage() {
        let m = manifest(vec![
            grant("dev", "111111111111", None, GrantStatus::Added),
            grant("prod", "222222222222", None, GrantStatus::Present),
            grant("dev", "444444444444", None, GrantStatus::Failed),
            grant("prod", "*", Some("o-abcdefghij"), GrantStatus::Added),
            grant("public", "*", None, GrantStatus::WouldAdd),
        ]);
        let md = manifest_summary(&m);
        assert!(md.contains("version 3 — published (new version)"), "{md}");
        assert!(md.contains("#### Grants per stage"), "{md}");
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| dev ")).collect();
        assert_eq!(
            rows,
            [
                "| dev | `111111111111` | `cargo-layer-dev-111111111111` | ✅ added |",
                "| dev | `444444444444` | `cargo-layer-dev-444444444444` | ❌ failed: AccessDenied \\| no |",
            ]
        );
        let dev = md.find("| dev |").unwrap();
        let prod = md.find("| prod |").unwrap();
        let last_dev = md.rfind("| dev |").unwrap();
        assert!(
            dev < prod && last_dev < prod,
            "rows grouped per stage: {md}"
        );
        assert!(
            md.contains("| prod | organization `o-abcdefghij` |"),
            "{md}"
        );
        assert!(md.contains("| public | every AWS account |"), "{md}");

        let none = manifest_summary(&manifest(Vec::new()));
        assert!(none.contains("No stage was granted in this run."), "{none}");
    }

    #[test]
    fn every_run_sets_result_json_and_dry_run() {
        let mut run = Run::default();
        run.push(Outcome::Manifest(manifest(Vec::new())));
        let names: Vec<&str> = outputs(&run).iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"result-json") && names.contains(&"layers"));
        assert!(outputs(&run).contains(&("dry-run", "false".to_string())));
        let plan = Plan::new(
            crate::schema::PlanCommand::Publish,
            crate::schema::PlanAction::Publish,
            ("demo", "eu-central-1", "123456789012"),
        );
        let mut run = Run::default();
        run.push(Outcome::Plan(plan));
        let outputs = outputs(&run);
        assert!(outputs.contains(&("dry-run", "true".to_string())));
        assert!(!outputs.iter().any(|(n, _)| *n == "version"), "{outputs:?}");
    }

    #[test]
    fn outputs_use_a_heredoc_only_for_multi_line_values() {
        let text = format_outputs(&[("version", "3".into()), ("result-json", "{\n}".into())]);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("version=3"));
        let open = lines.next().unwrap();
        let delimiter = open.strip_prefix("result-json<<ghadelimiter_").unwrap();
        assert_eq!(lines.next(), Some("{"));
        assert_eq!(lines.next(), Some("}"));
        assert_eq!(
            lines.next(),
            Some(format!("ghadelimiter_{delimiter}").as_str())
        );
        assert_eq!(lines.next(), None);
    }
}
