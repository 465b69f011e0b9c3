//! GitHub Actions mode: when `GITHUB_ACTIONS=true`, results also go to `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY`, errors become `::error` annotations on the Cargo.toml line that caused
//! them, and the log is grouped with `::group::` (see `progress.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::aws::grant::{GrantResult, Status};
use crate::error::Error;
use crate::schema::{Manifest, Plan};

pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Workflow-command data must not carry raw `%`, CR or LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command properties additionally must not carry raw ':' or ','.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::error` annotation for a failed run, pointing at the file (and line) when the cause is in one.
pub fn annotate_error(err: &Error) {
    if !enabled() {
        return;
    }
    let workspace = std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from);
    eprintln!("{}", error_annotation(err, workspace.as_deref()));
}

/// The `::error` workflow command for `err`. The file is made relative to the workspace when it
/// lies inside it, since GitHub matches annotations to repository paths. The line comes from
/// looking the error's key up in the file; when the file cannot be read or the key is not
/// found, the annotation names the file only.
pub fn error_annotation(err: &Error, workspace: Option<&Path>) -> String {
    let message = escape_data(&err.to_string());
    let Some(location) = &err.location else {
        return format!("::error title=cargo-layer::{message}");
    };
    let file = workspace
        .and_then(|root| relative(&location.file, root))
        .unwrap_or_else(|| location.file.clone());
    let mut properties = format!("file={}", escape_property(&file.to_string_lossy()));
    let line = location.key.as_deref().and_then(|key| {
        let text = std::fs::read_to_string(&location.file).ok()?;
        key_line(&text, key)
    });
    if let Some(line) = line {
        properties.push_str(&format!(",line={line}"));
    }
    format!("::error {properties},title=cargo-layer::{message}")
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

// ---------------------------------------------------------------------------------------------
// Finding the line of a key in Cargo.toml.
//
// Errors name their key as a dotted path with array indices, for example
// `package.metadata.layer.stages.prod.accounts[1]` or `package.metadata.layer.include[0].from`.
// TOML lets the same key be written in several shapes, and all of these point at the same key:
//
//     [package.metadata.layer.stages.prod]          # a table header, then the key
//     accounts = ["111111111111", "222222222222"]
//
//     [package.metadata.layer.stages]               # an inline table
//     prod = { accounts = ["111111111111", "222222222222"] }
//
//     [package.metadata.layer]                      # a dotted key
//     stages.prod.accounts = ["111111111111", "222222222222"]
//
//     [[package.metadata.layer.include]]            # the first entry of an array of tables
//     from = "config/*"
//
// The lookup is line-based rather than a full TOML parse, because the parsed value no longer
// knows its line. Each header line and each `key = value` line stands for a full key path
// (the current table plus the dotted key). A line is a candidate when its path and the error's
// path agree on every segment they share; the candidate agreeing on the most segments wins,
// the first one on a tie. A line inside a multi-line string could in principle look like a
// key; the only cost of that is a wrong line number, never a failed run.
// ---------------------------------------------------------------------------------------------

/// One segment of a key path: the key and, for arrays, which element.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    name: String,
    index: Option<usize>,
}

/// The 1-based line of `key` (as in [`crate::error::Location::key`]) in the TOML `text`.
///
/// The match must at least reach the `*.metadata.layer` table (three segments) or cover the
/// whole key when it is shorter, so an error never points at an unrelated `[package]` header.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    let target = parse_key_path(key)?;
    let needed = target.len().min(3);
    let mut table: Vec<Segment> = Vec::new();
    // How often each `[[array.of.tables]]` header was seen, to tell its entries apart.
    let mut array_tables: Vec<(Vec<String>, usize)> = Vec::new();
    let mut best: Option<(usize, usize)> = None; // (segments matched, line number)

    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (path, inline) = if let Some(rest) = line.strip_prefix("[[") {
            // `[[a.b]]`: a new element of the array `a.b`; its index is how many came before.
            let Some((names, _)) = parse_dotted(rest, ']') else {
                continue;
            };
            let count = match array_tables.iter_mut().find(|(n, _)| *n == names) {
                Some((_, count)) => {
                    *count += 1;
                    *count - 1
                }
                None => {
                    array_tables.push((names.clone(), 1));
                    0
                }
            };
            let mut path = plain(&names);
            if let Some(last) = path.last_mut() {
                last.index = Some(count);
            }
            table = path.clone();
            (path, None)
        } else if let Some(rest) = line.strip_prefix('[') {
            // `[a.b]`: every following key belongs to table `a.b`.
            let Some((names, _)) = parse_dotted(rest, ']') else {
                continue;
            };
            table = plain(&names);
            (table.clone(), None)
        } else {
            // `a.b = value`: the key path is the current table plus the dotted key.
            let Some((names, value)) = parse_dotted(line, '=') else {
                continue;
            };
            let mut path = table.clone();
            path.extend(plain(&names));
            (path, Some(value.trim()))
        };

        let Some(mut matched) = agreeing_segments(&path, &target) else {
            continue;
        };
        // `prod = { accounts = [...] }`: the next segment of the key may sit in the inline table
        // on this same line, which makes this line more precise than a bare `prod` key.
        if let (Some(value), Some(next)) = (inline, target.get(matched))
            && matched == path.len()
            && value.starts_with('{')
            && inline_has_key(value, &next.name)
        {
            matched += 1;
        }
        if matched >= needed && best.is_none_or(|(most, _)| matched > most) {
            best = Some((matched, number + 1));
        }
    }
    best.map(|(_, line)| line)
}

/// `package.metadata.layer.stages.prod.accounts[1]` into segments; `None` if it is empty.
fn parse_key_path(key: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.split(']').next()?.parse().ok()),
            None => (part, None),
        };
        if name.is_empty() {
            return None;
        }
        segments.push(Segment {
            name: name.to_string(),
            index,
        });
    }
    Some(segments)
}

fn plain(names: &[String]) -> Vec<Segment> {
    names
        .iter()
        .map(|name| Segment {
            name: name.clone(),
            index: None,
        })
        .collect()
}

/// How many segments `line` and `target` share, if they agree on every segment both have.
/// An index only has to agree when both sides name one: `accounts = [...]` holds
/// `accounts[1]`, but the second `[[include]]` table does not hold `include[0]`.
fn agreeing_segments(line: &[Segment], target: &[Segment]) -> Option<usize> {
    let shared = line.len().min(target.len());
    let agree = line.iter().zip(target).all(|(l, t)| {
        l.name == t.name
            && match (l.index, t.index) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    });
    agree.then_some(shared)
}

/// A dotted key (`a.b`, `"quoted".b`, `'literal'.c`) up to `end` (`=` or `]`): the key's
/// names and the rest of the line after `end`. `None` when the text is not a key at all, such
/// as the `{ from = ... }` line of a multi-line array.
fn parse_dotted(text: &str, end: char) -> Option<(Vec<String>, &str)> {
    let mut names = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let (name, after) = if let Some(quoted) = rest.strip_prefix('"') {
            basic_string(quoted)?
        } else if let Some(quoted) = rest.strip_prefix('\'') {
            let close = quoted.find('\'')?;
            (quoted[..close].to_string(), &quoted[close + 1..])
        } else {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            if len == 0 {
                return None;
            }
            (rest[..len].to_string(), &rest[len..])
        };
        names.push(name);
        let after = after.trim_start();
        if let Some(next) = after.strip_prefix('.') {
            rest = next.trim_start();
        } else if let Some(value) = after.strip_prefix(end) {
            return Some((names, value));
        } else {
            return None;
        }
    }
}

/// The body of a `"..."` key after its opening quote: the unescaped name and what follows.
fn basic_string(text: &str) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((name, &text[i + 1..])),
            '\\' => name.push(chars.next()?.1),
            c => name.push(c),
        }
    }
    None
}

/// Whether the inline table `{ a = 1, b = [...] }` has the key `name` at its top level
/// (after `{` or `,`, followed by `=`).
fn inline_has_key(value: &str, name: &str) -> bool {
    value.match_indices(name).any(|(at, _)| {
        let before = value[..at].trim_end();
        let after = value[at + name.len()..].trim_start();
        (before.ends_with('{') || before.ends_with(',')) && after.starts_with('=')
    })
}

// ---------------------------------------------------------------------------------------------
// Outputs and the step summary.
// ---------------------------------------------------------------------------------------------

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
            ("dry-run", "false".into()),
            (
                "layer-version-arns",
                serde_json::to_string(&m.layer_version_arns).map_err(std::io::Error::other)?,
            ),
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

/// A region that failed: an annotation, and a line in the step summary next to the regions
/// that succeeded.
pub fn write_failure(layer: &str, region: &str, err: &Error) -> std::io::Result<()> {
    if !enabled() {
        return Ok(());
    }
    eprintln!(
        "::error title=cargo-layer {layer} {region}::{}",
        escape_data(&err.to_string())
    );
    if let Some(file) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let text = format!(
            "### Lambda layer `{layer}` in {region} — ❌ failed\n\n> {}\n\n",
            err.to_string().replace('\n', " ")
        );
        append(Path::new(&file), &text)?;
    }
    Ok(())
}

/// A dry run's outputs and summary, marked as a plan: `dry-run=true`, and the version only when
/// the plan acts on an existing one.
pub fn write_plan(plan: &Plan) -> std::io::Result<()> {
    if !enabled() {
        return Ok(());
    }
    if let Some(file) = std::env::var_os("GITHUB_OUTPUT") {
        let json = serde_json::to_string(plan).map_err(std::io::Error::other)?;
        let mut outputs = vec![
            ("dry-run", "true".to_string()),
            ("region", plan.region.clone()),
            ("result-json", json),
        ];
        if let (Some(version), Some(arn)) = (plan.version, &plan.layer_version_arn) {
            outputs.push(("version", version.to_string()));
            outputs.push(("layer-version-arn", arn.clone()));
        }
        if let Some(code) = &plan.code_sha256 {
            outputs.push(("code-sha256", code.clone()));
        }
        append(Path::new(&file), &format_outputs(&outputs))?;
    }
    if let Some(file) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        append(Path::new(&file), &plan_summary(plan))?;
    }
    Ok(())
}

/// The step summary of a dry run: what would happen, and that nothing did.
pub fn plan_summary(plan: &Plan) -> String {
    let mut md = format!(
        "### Dry run: Lambda layer `{}` — {} (nothing changed)\n\n",
        plan.name,
        crate::output::report::plan_action(plan)
    );
    md.push_str("| | |\n|---|---|\n");
    if let Some(arn) = &plan.layer_version_arn {
        md.push_str(&format!("| LayerVersionArn | `{arn}` |\n"));
    }
    md.push_str(&format!(
        "| Region / account | {} / {} |\n",
        plan.region, plan.account
    ));
    if let Some(code) = &plan.code_sha256 {
        md.push_str(&format!("| CodeSha256 | `{code}` |\n"));
    }
    md.push_str(&grants_per_stage(&plan.grants));
    for note in &plan.notes {
        md.push_str(&format!("\n> {note}\n"));
    }
    md.push('\n');
    md
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

/// The step summary: what was published or reused, and every grant, grouped per stage.
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
    md.push_str(&grants_per_stage(&m.grants));
    for note in &m.notes {
        md.push_str(&format!("\n> {note}\n"));
    }
    md.push('\n');
    md
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
                Status::Failed => format!(
                    "❌ failed: {}",
                    g.error.as_deref().unwrap_or("").replace('|', "\\|")
                ),
                Status::Added | Status::Present => format!("✅ {}", g.status.word()),
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

    const TABLES: &str = r#"[package]
name = "demo"
version = "0.1.0"

[package.metadata.layer]
kind = "files"
region = "eu-central-1"

[package.metadata.layer.stages.dev]
accounts = ["111111111111"]

[package.metadata.layer.stages.prod]
# the production accounts
accounts = ["222222222222", "33"]
organization = "o-abcdefghij"
"#;

    #[test]
    fn key_under_a_table_header_points_at_the_key_line() {
        let key = "package.metadata.layer.stages.prod.accounts[1]";
        assert_eq!(key_line(TABLES, key), Some(14));
        assert_eq!(
            key_line(TABLES, "package.metadata.layer.stages.prod.organization"),
            Some(15)
        );
        assert_eq!(
            key_line(TABLES, "package.metadata.layer.stages.dev.accounts[0]"),
            Some(10)
        );
        assert_eq!(key_line(TABLES, "package.metadata.layer.region"), Some(7));
    }

    #[test]
    fn a_key_that_is_absent_points_at_the_deepest_table_that_holds_it() {
        // No `public` key in prod: its header is the place to add it.
        assert_eq!(
            key_line(TABLES, "package.metadata.layer.stages.prod.public"),
            Some(12)
        );
        assert_eq!(key_line(TABLES, "package.metadata.layer"), Some(5));
        // A parent table named only through its sub-tables: the first of them.
        assert_eq!(key_line(TABLES, "package.metadata.layer.stages"), Some(9));
    }

    #[test]
    fn inline_tables_and_dotted_keys_point_at_their_line() {
        let inline = r#"[package]
name = "demo"

[package.metadata.layer.stages]
dev = { accounts = ["111111111111"] }
prod = { organization = "o-abcdefghij", accounts = ["222222222222", "33"] }
"#;
        let key = "package.metadata.layer.stages.prod.accounts[1]";
        assert_eq!(key_line(inline, key), Some(6));
        assert_eq!(
            key_line(inline, "package.metadata.layer.stages.dev.accounts[0]"),
            Some(5)
        );

        let dotted = r#"[package]
name = "demo"
metadata.layer.kind = "files"

[package.metadata.layer]
stages.dev.accounts = ["111111111111"]
stages.prod.accounts = ["222222222222", "33"]
"#;
        assert_eq!(key_line(dotted, key), Some(7));
        assert_eq!(key_line(dotted, "package.metadata.layer.kind"), Some(3));
    }

    #[test]
    fn arrays_of_tables_are_told_apart_by_index() {
        let text = r#"[package]
name = "demo"

[[package.metadata.layer.include]]
from = "a/*"
to = "a/"

[[package.metadata.layer.include]]
from = "../escape"
to = "b/"
"#;
        assert_eq!(
            key_line(text, "package.metadata.layer.include[1].from"),
            Some(9)
        );
        assert_eq!(
            key_line(text, "package.metadata.layer.include[0].to"),
            Some(6)
        );
        let inline = "[package.metadata.layer]\ninclude = [{ from = \"../x\", to = \"x/\" }]\n";
        assert_eq!(
            key_line(inline, "package.metadata.layer.include[0].from"),
            Some(2)
        );
    }

    #[test]
    fn quoted_keys_workspace_tables_and_lines_that_are_not_keys() {
        let text = r#"[workspace]
members = ["a"]

[workspace.metadata."layer"]
include = [
  { from = "x/*", to = "x/" },
]
'role-arn' = "arn:aws:iam::1:role/x"
"#;
        assert_eq!(key_line(text, "workspace.metadata.layer.role-arn"), Some(8));
        assert_eq!(
            key_line(text, "workspace.metadata.layer.include[0].from"),
            Some(5)
        );
    }

    #[test]
    fn no_line_when_the_key_is_not_in_the_file() {
        // Only `[package]` matches, which is not the layer table: no line rather than a wrong one.
        let text = "[package]\nname = \"demo\"\n";
        assert_eq!(key_line(text, "package.metadata.layer.stages.prod"), None);
        assert_eq!(key_line("", "package.metadata.layer"), None);
        assert_eq!(key_line(TABLES, ""), None);
        // A key on another stage's table does not count.
        let other = "[package.metadata.layer.stages.dev]\naccounts = [\"1\"]\n";
        assert_eq!(
            key_line(other, "package.metadata.layer.stages.prod.accounts[0]"),
            None
        );
    }

    #[test]
    fn annotation_names_the_file_relative_to_the_workspace_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("crates/demo/Cargo.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, TABLES).unwrap();
        let err = Error::at_key(
            Kind::Config,
            &file,
            "package.metadata.layer.stages.prod.accounts[1]",
            "\"33\" is not a 12-digit AWS account ID",
        );
        let annotation = error_annotation(&err, Some(dir.path()));
        assert!(
            annotation
                .starts_with("::error file=crates/demo/Cargo.toml,line=14,title=cargo-layer::"),
            "{annotation}"
        );
        assert!(annotation.ends_with("is not a 12-digit AWS account ID"));

        // Outside the workspace the path stays as it is (escaped), and an unknown key drops
        // the line but keeps the file.
        let err = Error::at_key(Kind::Config, &file, "package.metadata.other", "bad");
        let annotation = error_annotation(&err, Some(Path::new("/elsewhere")));
        let path = escape_property(&file.to_string_lossy());
        assert!(
            annotation.starts_with(&format!("::error file={path},title=cargo-layer::")),
            "{annotation}"
        );

        let err = Error::new(Kind::Aws, "access denied\nsecond line 100%");
        assert_eq!(
            error_annotation(&err, None),
            "::error title=cargo-layer::access denied%0Asecond line 100%25"
        );
    }

    fn grant(stage: &str, principal: &str, org: Option<&str>, status: Status) -> GrantResult {
        GrantResult {
            stage: stage.into(),
            principal: principal.into(),
            organization: org.map(str::to_string),
            statement_id: format!("cargo-layer-{stage}-{}", org.unwrap_or(principal)),
            status,
            error: (status == Status::Failed).then(|| "AccessDenied | no".to_string()),
        }
    }

    fn manifest(grants: Vec<GrantResult>) -> Manifest {
        Manifest {
            schema_version: 1,
            r#type: "publish".into(),
            tool: "cargo-layer test".into(),
            name: "demo".into(),
            region: "eu-central-1".into(),
            account: "123456789012".into(),
            layer_arn: "arn:aws:lambda:eu-central-1:123456789012:layer:demo".into(),
            layer_version_arn: "arn:aws:lambda:eu-central-1:123456789012:layer:demo:3".into(),
            version: 3,
            code_sha256: "abc=".into(),
            zip_size: 10,
            sha256: None,
            unzipped_size: Some(20),
            published: true,
            dedupe: None,
            compatible_runtimes: Vec::new(),
            compatible_architectures: Vec::new(),
            license: None,
            layer_version_arns: Default::default(),
            grants,
            steps: Vec::new(),
            notes: Vec::new(),
            git_commit: None,
        }
    }

    #[test]
    fn summary_lists_every_grant_grouped_per_stage() {
        let m = manifest(vec![
            grant("dev", "111111111111", None, Status::Added),
            grant("prod", "222222222222", None, Status::Present),
            grant("dev", "444444444444", None, Status::Failed),
            grant("prod", "*", Some("o-abcdefghij"), Status::Added),
            grant("public", "*", None, Status::WouldAdd),
        ]);
        let md = summary(&m);
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

        let none = summary(&manifest(Vec::new()));
        assert!(none.contains("No stage was granted in this run."), "{none}");
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
