//! The GitHub Action and the workflows, offline.
//!
//! - action.yml and every workflow are checked with the same tools CI reviewers use:
//!   check-jsonschema (GitHub's schemas, vendored in the package), zizmor --offline, and
//!   shellcheck on each `run:` block. They come from PyPI into .venv (scripts/install-ci-tools.sh).
//! - The composite action's steps run here the way the runner runs them: inputs become the
//!   steps' `env:`, each script runs with `bash --noprofile --norc -eo pipefail {0}`,
//!   `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` are files, and outputs are parsed with the
//!   runner's file-command grammar (the emulator is `support::runner`). `install: none` uses
//!   the cargo-layer built for these tests, against the local moto server.
//!
//! Every network access of the tools is routed to a closed loopback port, so a check that
//! tried to go online would fail instead of silently depending on the Internet.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::moto::{self, fresh_account, lambda_as};
use crate::support::runner::{
    Runner, output_text, parse_file_command, runner_arch, runner_os, yaml,
};
use crate::support::{FilesCrate, repo_root, venv_bin};

// ---------------------------------------------------------------------------------------------
// The validators from .venv
// ---------------------------------------------------------------------------------------------

/// A .venv tool with every proxy variable pointing at a closed loopback port: offline for real.
fn offline(name: &str) -> Command {
    let mut cmd = Command::new(venv_bin(name));
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env(var, "http://127.0.0.1:9");
    }
    cmd.env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .current_dir(repo_root());
    cmd
}

/// .github/workflows/*.yml and examples/workflows/*.yml, relative to the repository root.
fn workflow_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [".github/workflows", "examples/workflows"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.unwrap().path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
            .map(|p| p.strip_prefix(repo_root()).unwrap().to_path_buf())
            .collect();
        assert!(!found.is_empty(), "no workflow in {dir}");
        found.sort();
        files.extend(found);
    }
    files
}

#[test]
fn action_and_workflows_match_githubs_schemas_offline() {
    let out = offline("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-actions", "action.yml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "action.yml: {}", output_text(&out));

    let out = offline("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(workflow_files())
        .output()
        .unwrap();
    assert!(out.status.success(), "workflows: {}", output_text(&out));
}

#[test]
fn the_schema_check_really_rejects_a_broken_action() {
    // Guards the check above against passing vacuously (say, a schema that accepts anything).
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("action.yml");
    std::fs::write(
        &broken,
        "name: x\ndescription: x\nruns:\n  using: composite\n  steps:\n    - run: echo\n      shelll: bash\n",
    )
    .unwrap();
    let out = offline("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-actions"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", output_text(&out));
}

#[test]
fn zizmor_finds_nothing_in_the_action_and_workflows() {
    let out = offline("zizmor")
        .args(["--offline", "--no-progress", "action.yml"])
        .args(workflow_files())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
}

/// Every `run:` script in a YAML document, with a label naming where it is and its shell.
fn run_blocks(doc: &Value, file: &str) -> Vec<(String, String, String)> {
    let mut blocks = Vec::new();
    let mut step_blocks = |steps: &Value, default_shell: Option<&str>, label: &str| {
        for (i, step) in steps.as_array().into_iter().flatten().enumerate() {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let shell = step["shell"]
                .as_str()
                .or(default_shell)
                .unwrap_or("bash")
                .to_string();
            let name = step["name"].as_str().or(step["id"].as_str()).unwrap_or("");
            blocks.push((
                format!("{label} step {} ({name})", i + 1),
                shell,
                script.to_string(),
            ));
        }
    };
    let workflow_shell = doc["defaults"]["run"]["shell"].as_str();
    step_blocks(&doc["runs"]["steps"], None, file);
    for (job_name, job) in doc["jobs"].as_object().into_iter().flatten() {
        let shell = job["defaults"]["run"]["shell"].as_str().or(workflow_shell);
        step_blocks(&job["steps"], shell, &format!("{file} job {job_name}"));
    }
    blocks
}

/// `${{ expr }}` replaced by a plain word. A word has no meaning to the shell whatever quoting
/// surrounds it, so shellcheck sees the script's real structure.
fn without_expressions(script: &str) -> String {
    let mut out = String::new();
    let mut rest = script;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed ${{{{ in: {script}"));
        out.push_str("GHA_EXPRESSION");
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_run_block_passes_shellcheck() {
    assert_eq!(
        without_expressions("echo \"${{ a }}\"-${{b}}"),
        "echo \"GHA_EXPRESSION\"-GHA_EXPRESSION"
    );
    let mut files = vec![PathBuf::from("action.yml")];
    files.extend(workflow_files());
    let docs = yaml(&files);
    let dir = tempfile::tempdir().unwrap();
    let mut scripts = Vec::new();
    let mut labels = Vec::new();
    for (file, doc) in files.iter().zip(&docs) {
        let file = file.to_string_lossy();
        for (label, shell, script) in run_blocks(doc, &file) {
            if file == "action.yml" {
                // Inputs reach the action's scripts only through env: (issue 4).
                assert!(
                    !script.contains("${{"),
                    "{label}: a ${{{{ }}}} expression inside run:; pass it through env: instead"
                );
            }
            let shebang = match shell.as_str() {
                "bash" => "#!/usr/bin/env bash",
                "sh" => "#!/bin/sh",
                other => panic!("{label}: shell {other} is not checked; add it here"),
            };
            let path = dir.path().join(format!("block-{}.sh", scripts.len() + 1));
            std::fs::write(
                &path,
                format!("{shebang}\n{}\n", without_expressions(&script)),
            )
            .unwrap();
            labels.push(format!("{} = {label}", path.display()));
            scripts.push(path);
        }
    }
    assert!(
        scripts.len() >= 10,
        "expected the run blocks of the action and the workflows, found {}",
        scripts.len()
    );
    let out = offline("shellcheck")
        .args(["--norc", "--severity=style"])
        .args(&scripts)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\nscripts:\n{}",
        output_text(&out),
        labels.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The runner's file commands
// ---------------------------------------------------------------------------------------------

#[test]
fn file_command_grammar_matches_the_runner() {
    let text = "a=1\n\nb<<EOF\nline one\nline=two\n\nEOF\nc=x<<y\nd<<E=F\nv\nE=F\r\na=2\n";
    let values = parse_file_command(text).unwrap();
    assert_eq!(values["a"], "2", "a later value replaces an earlier one");
    assert_eq!(values["b"], "line one\nline=two\n");
    assert_eq!(values["c"], "x<<y", "'=' before '<<' is a plain value");
    assert_eq!(
        values["d"], "v",
        "the delimiter may hold '='; CRLF ends a line"
    );
    assert_eq!(parse_file_command("e<<X\nX").unwrap()["e"], "");
    assert!(parse_file_command("e<<X\nno end\n").is_err());
    assert!(parse_file_command("just text\n").is_err());
    assert!(parse_file_command("=value\n").is_err());
    assert!(parse_file_command("a<<b<<c\n").is_err());

    // What the binary writes parses back to the same values.
    let written = cargo_layer::output::github::format_outputs(&[
        ("one", "1".into()),
        ("json", "{\n  \"k\": \"v=<<\"\n}".into()),
    ]);
    let values = parse_file_command(&written).unwrap();
    assert_eq!(values["one"], "1");
    assert_eq!(values["json"], "{\n  \"k\": \"v=<<\"\n}");
}

// ---------------------------------------------------------------------------------------------
// The action end to end against moto
// ---------------------------------------------------------------------------------------------

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
test = { accounts = ["333333333333"] }
prod = { accounts = ["444444444444", "555555555555"], organization = "o-abcdefghij" }
"#;

fn row(stage: &str, principal: &str, sid: &str, status: &str) -> String {
    format!("| {stage} | {principal} | `{sid}` | {status} |")
}

#[test]
fn publish_through_the_action_sets_the_outputs_and_lists_the_grants_per_stage() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    // The package is the workspace itself, as after actions/checkout: no manifest-path.
    let runner = Runner::new(krate.dir.path()).aws();
    let role = moto::role(&krate.account);
    let run = runner.run(&[
        ("command", "publish"),
        ("stages", "dev"),
        ("assume-role", &role),
        ("install", "none"),
    ]);
    assert!(run.success, "{}", run.log);
    assert_eq!(run.steps["plan"]["method"], "none");
    assert!(
        run.log
            .contains("--- skipped: Restore cargo-layer built from source"),
        "{}",
        run.log
    );

    let arn = format!(
        "arn:aws:lambda:{}:{}:layer:{}:1",
        moto::REGION,
        krate.account,
        krate.name
    );
    let out = &run.outputs;
    assert_eq!(out["layer-version-arn"], arn);
    assert_eq!(out["layer-arn"], arn.trim_end_matches(":1"));
    assert_eq!(out["version"], "1");
    assert_eq!(out["published"], "true");
    assert_eq!(out["region"], moto::REGION);
    let zip = std::fs::read(krate.zip()).unwrap();
    assert_eq!(
        out["code-sha256"],
        cargo_layer::pack::archive::code_sha256(&zip)
    );
    let manifest_path = Path::new(&out["layer-manifest"]);
    assert!(manifest_path.is_file(), "{manifest_path:?}");
    assert_eq!(
        manifest_path.canonicalize().unwrap(),
        krate.layer_manifest().canonicalize().unwrap()
    );
    let result: Value = serde_json::from_str(&out["result-json"]).unwrap();
    let manifest: Value = serde_json::from_slice(&std::fs::read(manifest_path).unwrap()).unwrap();
    assert_eq!(result, manifest, "result-json is the manifest");
    assert_eq!(result["layer_version_arn"], arn.as_str());

    // The summary: the version, then every grant of this run, per stage.
    let summary = &run.summary;
    assert!(
        summary.contains(&format!(
            "### Lambda layer `{}` version 1 — published (new version)",
            krate.name
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| LayerVersionArn | `{arn}` |")),
        "{summary}"
    );
    assert!(summary.contains("#### Grants per stage"), "{summary}");
    assert!(
        summary.contains(&row(
            "dev",
            "`222222222222`",
            "cargo-layer-dev-222222222222",
            "✅ added"
        )),
        "{summary}"
    );
    assert!(
        !summary.contains("| prod |"),
        "only dev was granted: {summary}"
    );

    // The log: the command line, and the binary's groups.
    assert!(
        run.log
            .contains("$ cargo layer publish --message-format json --stage dev --assume-role"),
        "{}",
        run.log
    );
    assert!(run.log.contains("::group::publish"), "{}", run.log);
    assert_eq!(
        lambda_as(&krate.account).statement_ids(&krate.name, 1),
        ["cargo-layer-dev-222222222222"]
    );
}

#[test]
fn promote_through_the_action_grants_the_manifests_version_and_status_reports_it() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let role = moto::role(&krate.account);
    let manifest_path = krate.manifest_path();
    let manifest_path = manifest_path.to_str().unwrap();

    // The publish job.
    let publish = Runner::new(krate.dir.path()).aws().run(&[
        ("command", "publish"),
        ("stages", "dev"),
        ("assume-role", &role),
        ("install", "none"),
    ]);
    assert!(publish.success, "{}", publish.log);
    let published_arn = publish.outputs["layer-version-arn"].clone();

    // The promote job: the manifest arrives as a downloaded artifact in another workspace.
    let workspace = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(workspace.path().join("layer-manifest")).unwrap();
    std::fs::copy(
        &publish.outputs["layer-manifest"],
        workspace
            .path()
            .join(format!("layer-manifest/{}.json", krate.name)),
    )
    .unwrap();
    let downloaded = format!("layer-manifest/{}.json", krate.name);
    let runner = Runner::new(workspace.path()).aws();
    let run = runner.run(&[
        ("command", "promote"),
        ("manifest-path", manifest_path),
        ("layer-manifest", &downloaded),
        ("stages", "test\nprod\n"),
        ("assume-role", &role),
        ("install", "none"),
    ]);
    assert!(run.success, "{}", run.log);
    let out = &run.outputs;
    assert_eq!(out["layer-version-arn"], published_arn, "the same version");
    assert_eq!(out["version"], "1");
    assert_eq!(out["published"], "false");
    assert_eq!(out["code-sha256"], publish.outputs["code-sha256"]);
    assert_eq!(out["layer-manifest"], downloaded);
    let result: Value = serde_json::from_str(&out["result-json"]).unwrap();
    assert_eq!(result["type"], "promote");
    assert_eq!(result["steps"][0]["step"], "compare");
    assert_eq!(result["steps"][0]["status"], "ok");

    let summary = &run.summary;
    assert!(summary.contains("version 1 — promoted"), "{summary}");
    for expected in [
        row(
            "test",
            "`333333333333`",
            "cargo-layer-test-333333333333",
            "✅ added",
        ),
        row(
            "prod",
            "`444444444444`",
            "cargo-layer-prod-444444444444",
            "✅ added",
        ),
        row(
            "prod",
            "`555555555555`",
            "cargo-layer-prod-555555555555",
            "✅ added",
        ),
        row(
            "prod",
            "organization `o-abcdefghij`",
            "cargo-layer-prod-org-o-abcdefghij",
            "✅ added",
        ),
    ] {
        assert!(summary.contains(&expected), "{expected}\n{summary}");
    }
    assert!(
        summary.find("| test |").unwrap() < summary.find("| prod |").unwrap(),
        "{summary}"
    );
    assert!(!summary.contains("| dev |"), "dev was not part of this run");
    assert!(run.log.contains("--stage test --stage prod"), "{}", run.log);
    assert_eq!(
        lambda_as(&krate.account).versions(&krate.name),
        [1],
        "promote never publishes"
    );

    // status writes no outputs itself: the action hands its stdout over as result-json.
    let status = runner.run(&[
        ("command", "status"),
        ("manifest-path", manifest_path),
        ("version", "1"),
        ("assume-role", &role),
        ("install", "none"),
    ]);
    assert!(status.success, "{}", status.log);
    let report: Value = serde_json::from_str(status.outputs["result-json"].trim()).unwrap();
    let version = &report["versions"][0];
    assert_eq!(version["version"], 1);
    assert_eq!(version["stages"]["prod"]["missing"], serde_json::json!([]));
    assert_eq!(
        version["stages"]["test"]["granted"],
        serde_json::json!(["333333333333"])
    );
    assert_eq!(status.outputs["layer-version-arn"], "");
}

#[test]
fn a_publish_dry_run_hands_over_the_plan_and_publishes_nothing() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let role = moto::role(&krate.account);
    let run = Runner::new(krate.dir.path()).aws().run(&[
        ("command", "publish"),
        ("stages", "dev, prod"),
        ("dry-run", "true"),
        ("assume-role", &role),
        ("install", "none"),
    ]);
    assert!(run.success, "{}", run.log);
    // The plan is the step's stdout, passed on by the action as a heredoc output.
    let plan: Value = serde_json::from_str(&run.outputs["result-json"]).unwrap();
    assert_eq!(plan["type"], "plan");
    assert_eq!(plan["action"], "publish");
    let stages: Vec<&str> = plan["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["dev", "prod", "prod", "prod"]);
    assert_eq!(
        run.outputs["layer-version-arn"], "",
        "nothing was published"
    );
    assert!(
        run.log.contains("--stage dev --stage prod --assume-role"),
        "{}",
        run.log
    );
    assert!(run.log.contains("--dry-run"), "{}", run.log);
    assert!(lambda_as(&krate.account).versions(&krate.name).is_empty());
}

#[test]
fn package_through_the_action_hands_over_the_report() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    // No AWS at all; the crate sits in a sub-directory of the workspace.
    let workspace = krate.dir.path().parent().unwrap();
    let sub = krate.dir.path().file_name().unwrap().to_str().unwrap();
    let run = Runner::new(workspace).run(&[
        ("command", "package"),
        ("working-directory", sub),
        ("manifest-path", "Cargo.toml"),
        ("install", "none"),
    ]);
    assert!(run.success, "{}", run.log);
    let report: Value = serde_json::from_str(&run.outputs["result-json"]).unwrap();
    assert_eq!(report["type"], "package");
    let zip = std::fs::read(krate.zip()).unwrap();
    assert_eq!(
        report["code_sha256"],
        cargo_layer::pack::archive::code_sha256(&zip).as_str()
    );
    assert_eq!(run.outputs["layer-version-arn"], "");
}

#[test]
fn a_config_error_is_annotated_on_its_cargo_toml_line() {
    let krate = FilesCrate::new(
        &fresh_account(),
        "dev = { accounts = [\"222222222222\"] }\nprod = { accounts = [\"444444444444\", \"55\"] }\n",
    );
    let text = std::fs::read_to_string(krate.manifest_path()).unwrap();
    let line = text.lines().position(|l| l.starts_with("prod = ")).unwrap() + 1;
    // No AWS environment at all: the config is checked before any AWS call.
    let run = Runner::new(krate.dir.path()).run(&[("command", "publish"), ("install", "none")]);
    assert!(!run.success);
    assert_eq!(run.failed_step.as_deref(), Some("cargo layer"));
    let expected = format!("::error file=Cargo.toml,line={line},title=cargo-layer::");
    let annotation = run
        .log
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("no annotation in:\n{}", run.log));
    assert!(annotation.starts_with(&expected), "{annotation}");
    assert!(
        annotation.contains("package.metadata.layer.stages.prod.accounts[1]"),
        "{annotation}"
    );
    assert_eq!(run.outputs["layer-version-arn"], "");
}

#[test]
fn inputs_that_do_not_apply_to_the_command_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::new(dir.path());
    for (inputs, message) in [
        (
            vec![
                ("command", "promote"),
                ("target", "x86_64-unknown-linux-gnu"),
            ],
            "input target does not apply to command promote",
        ),
        (
            vec![("command", "package"), ("stages", "dev")],
            "input stages does not apply to command package",
        ),
        (
            vec![("command", "status"), ("dry-run", "true")],
            "input dry-run does not apply to command status",
        ),
        (
            vec![("command", "publish"), ("dry-run", "yes")],
            "dry-run must be true or false",
        ),
        (vec![("command", "deploy")], "command must be publish"),
    ] {
        let mut inputs = inputs;
        inputs.push(("install", "none"));
        let run = runner.run(&inputs);
        assert!(!run.success, "{inputs:?}");
        assert_eq!(run.failed_step.as_deref(), Some("cargo layer"));
        assert!(
            run.log
                .contains(&format!("::error title=cargo-layer::{message}")),
            "{inputs:?}: {}",
            run.log
        );
    }
}

/// A copy of the action's files with its own dist/checksums.txt, to test the install choice.
fn action_copy(checksums: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["action.yml", "Cargo.toml", "Cargo.lock"] {
        std::fs::copy(repo_root().join(file), dir.path().join(file)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    for entry in std::fs::read_dir(repo_root().join("src")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        std::fs::copy(
            &path,
            dir.path().join("src").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::create_dir_all(dir.path().join("dist")).unwrap();
    std::fs::write(dir.path().join("dist/checksums.txt"), checksums).unwrap();
    dir
}

#[test]
fn install_auto_takes_the_committed_checksum_or_falls_back_to_cargo() {
    let version = env!("CARGO_PKG_VERSION");
    let target = match (runner_os(), runner_arch()) {
        ("Linux", "X64") => "x86_64-unknown-linux-gnu",
        ("Linux", "ARM64") => "aarch64-unknown-linux-gnu",
        ("macOS", "X64") => "x86_64-apple-darwin",
        ("macOS", "ARM64") => "aarch64-apple-darwin",
        _ => return, // no prebuilt binaries for this platform
    };
    let sha = "0".repeat(63) + "1";
    let url = format!(
        "https://github.com/example/cargo-layer/releases/download/v{version}/cargo-layer-v{version}-{target}.tar.gz"
    );
    let other = format!(
        "{}  https://example.com/cargo-layer-v{version}-riscv64gc-unknown-linux-gnu.tar.gz\n",
        "f".repeat(64)
    );
    let workspace = tempfile::tempdir().unwrap();

    // The committed line for this version and runner: a verified download.
    let action = action_copy(&format!("# comment\n{other}{sha}  {url}\n"));
    let runner = Runner::with_action_path(workspace.path(), action.path());
    let run = runner.run_until(&[("install", "auto")], Some("plan"));
    assert!(run.success, "{}", run.log);
    let plan = &run.steps["plan"];
    assert_eq!(plan["method"], "prebuilt");
    assert_eq!(plan["sha256"], sha);
    assert_eq!(plan["url"], url);
    assert_eq!(plan["target"], target);

    // No line (only comments and other targets): build from the action's source, cached per
    // runner and source.
    let action = action_copy(&format!("# nothing released\n{other}"));
    let runner = Runner::with_action_path(workspace.path(), action.path());
    let run = runner.run_until(&[("install", "auto")], Some("plan"));
    assert!(run.success, "{}", run.log);
    let plan = &run.steps["plan"];
    assert_eq!(plan["method"], "cargo");
    assert!(
        plan["cache-key"].starts_with(&format!(
            "cargo-layer-{}-{}-{version}-",
            runner_os(),
            runner_arch()
        )),
        "{plan:?}"
    );
    assert!(plan["cache-dir"].starts_with(&runner.temp.path().to_string_lossy().to_string()));

    // install: prebuilt insists on a committed checksum.
    let run = runner.run_until(&[("install", "prebuilt")], Some("plan"));
    assert!(!run.success);
    assert!(
        run.log.contains("dist/checksums.txt has no SHA-256 for"),
        "{}",
        run.log
    );

    // Another version than the action's source cannot be built from it.
    let run = runner.run_until(
        &[("install", "auto"), ("tool-version", "v9.9.9")],
        Some("plan"),
    );
    assert!(!run.success);
    assert!(
        run.log.contains("tool-version 9.9.9 has no prebuilt"),
        "{}",
        run.log
    );

    let run = runner.run_until(&[("install", "brew")], Some("plan"));
    assert!(!run.success);
    assert!(run.log.contains("install must be auto"), "{}", run.log);
}

#[test]
fn the_repository_checksums_file_only_holds_well_formed_lines() {
    let text = std::fs::read_to_string(repo_root().join("dist/checksums.txt")).unwrap();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 2, "{line}");
        assert!(
            fields[0].len() == 64 && fields[0].bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}"
        );
        assert!(
            fields[1].starts_with("https://") && fields[1].ends_with(".tar.gz"),
            "{line}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Pinned actions
// ---------------------------------------------------------------------------------------------

/// What is wrong with the `uses:` reference on a line, if anything: another action must be
/// pinned to a full commit SHA with the release it is in as a comment (`@<40 hex> # v1.2.3`).
fn unpinned(line: &str) -> Option<String> {
    let value = line
        .trim()
        .trim_start_matches("- ")
        .strip_prefix("uses:")?
        .trim();
    let (reference, comment) = value.split_once(" #").unwrap_or((value, ""));
    // The action in this checkout, and the documented placeholder for a user's own copy.
    if reference.starts_with("./") || reference.starts_with("your-org/") {
        return None;
    }
    let Some((_, sha)) = reference.split_once('@') else {
        return Some(format!("{reference}: no @ref"));
    };
    if sha.len() != 40
        || !sha
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Some(format!("{reference}: not a full commit SHA"));
    }
    if !comment.trim_start().starts_with('v') {
        return Some(format!(
            "{reference}: no `# vX.Y.Z` comment naming the release"
        ));
    }
    None
}

#[test]
fn every_action_reference_is_pinned_to_a_full_commit_sha() {
    let sha = "11bd71901bbe5b1630ceea73d27597364c9af683";
    assert_eq!(
        unpinned(&format!("- uses: actions/checkout@{sha} # v4.2.2")),
        None
    );
    assert_eq!(
        unpinned("        uses: ./ # zizmor: ignore[self-repository]"),
        None
    );
    assert!(unpinned("- uses: actions/checkout@v4").is_some());
    assert!(unpinned(&format!("  uses: actions/checkout@{}", &sha[..39])).is_some());
    assert!(unpinned(&format!("  uses: actions/checkout@{sha}")).is_some());
    assert!(unpinned("  uses: actions/checkout").is_some());

    let mut files = vec![PathBuf::from("action.yml")];
    files.extend(workflow_files());
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.trim().trim_start_matches("- ").starts_with("uses:") {
                checked += 1;
            }
            if let Some(problem) = unpinned(line) {
                panic!("{}:{}: {problem}", file.display(), number + 1);
            }
        }
    }
    assert!(checked >= 20, "found only {checked} uses:");
}

// ---------------------------------------------------------------------------------------------
// attest: true
// ---------------------------------------------------------------------------------------------

const ATTEST: &str = "actions/attest-build-provenance";
const ATTESTATION_URL: &str = "https://github.com/example-org/layers/attestations/123456";

#[test]
fn attest_attests_the_published_zip_by_its_sha256_and_hands_over_the_url() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let role = moto::role(&krate.account);
    let runner = Runner::new(krate.dir.path()).aws().id_token().stub(
        ATTEST,
        true,
        &[("attestation-url", ATTESTATION_URL)],
    );
    let run = runner.run(&[
        ("command", "publish"),
        ("stages", "dev"),
        ("assume-role", &role),
        ("install", "none"),
        ("attest", "true"),
    ]);
    assert!(run.success, "{}", run.log);

    // The subject is the zip as packed and uploaded, named after the layer, with the SHA-256
    // the manifest records.
    let zip = std::fs::read(krate.zip()).unwrap();
    let sha256 = crate::support::sha256_hex(&zip);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(krate.layer_manifest()).unwrap()).unwrap();
    assert_eq!(manifest["sha256"], sha256.as_str());
    let with = &run.with["attest"];
    let subjects = std::fs::read_to_string(&with["subject-checksums"]).unwrap();
    assert_eq!(subjects, format!("{sha256}  {}.zip\n", krate.name));
    assert_eq!(with.len(), 1, "{with:?}");

    assert_eq!(run.outputs["attestation-url"], ATTESTATION_URL);
    assert_eq!(run.outputs["published"], "true");
    assert!(run.summary.contains("#### Provenance"), "{}", run.summary);
    assert!(
        run.summary.contains(&format!(
            "`gh attestation verify {}.zip --repo {}`",
            krate.name,
            crate::support::runner::REPOSITORY
        )),
        "{}",
        run.summary
    );
    assert!(run.summary.contains(&sha256), "{}", run.summary);
}

#[test]
fn attest_after_package_attests_the_zip_on_disk() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let runner = Runner::new(krate.dir.path()).id_token().stub(
        ATTEST,
        true,
        &[("attestation-url", ATTESTATION_URL)],
    );
    let run = runner.run(&[
        ("command", "package"),
        ("install", "none"),
        ("attest", "true"),
    ]);
    assert!(run.success, "{}", run.log);
    let sha256 = crate::support::sha256_hex(&std::fs::read(krate.zip()).unwrap());
    let subjects = std::fs::read_to_string(&run.with["attest"]["subject-checksums"]).unwrap();
    assert_eq!(subjects, format!("{sha256}  {}.zip\n", krate.name));
    assert_eq!(run.outputs["attestation-url"], ATTESTATION_URL);
}

#[test]
fn attest_fails_with_the_reason_when_github_stores_no_attestation() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    // What a private repository outside GitHub Enterprise Cloud gets: the attest action fails.
    let runner = Runner::new(krate.dir.path())
        .id_token()
        .visibility("private")
        .stub(ATTEST, false, &[]);
    let run = runner.run(&[
        ("command", "package"),
        ("install", "none"),
        ("attest", "true"),
    ]);
    assert!(!run.success);
    assert_eq!(run.failed_step.as_deref(), Some("Attestation"));
    assert!(
        run.log.contains(
            "::error title=cargo-layer::attest: true, but GitHub stored no attestation: it does so only for public repositories and on GitHub Enterprise Cloud (this repository is private)"
        ),
        "{}",
        run.log
    );
    assert_eq!(run.outputs["attestation-url"], "");
    assert!(!run.summary.contains("#### Provenance"), "{}", run.summary);
}

#[test]
fn attest_is_refused_before_any_build_without_an_oidc_token_or_with_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    // No stub: the attest action must never be reached.
    let runner = Runner::new(dir.path());
    for (inputs, message) in [
        (
            vec![("command", "package"), ("attest", "true")],
            "attest: true needs the job's permissions id-token: write and attestations: write",
        ),
        (
            vec![("command", "status"), ("attest", "true")],
            "input attest does not apply to command status",
        ),
        (
            vec![("command", "promote"), ("attest", "true")],
            "input attest does not apply to command promote",
        ),
        (
            vec![("command", "package"), ("attest", "yes")],
            "attest must be true or false",
        ),
    ] {
        let mut inputs = inputs;
        inputs.push(("install", "none"));
        let run = runner.run(&inputs);
        assert!(!run.success, "{inputs:?}");
        assert_eq!(
            run.failed_step.as_deref(),
            Some("cargo layer"),
            "{inputs:?}"
        );
        assert!(
            run.log
                .contains(&format!("::error title=cargo-layer::{message}")),
            "{inputs:?}: {}",
            run.log
        );
    }
    let run = Runner::new(dir.path()).id_token().run(&[
        ("command", "publish"),
        ("dry-run", "true"),
        ("attest", "true"),
        ("install", "none"),
    ]);
    assert!(!run.success);
    assert!(
        run.log
            .contains("::error title=cargo-layer::attest: true does not apply to a dry run"),
        "{}",
        run.log
    );
}
