//! The gallery: what every command prints, as insta snapshots in `tests/it/snapshots/` — the
//! human stdout and stderr, the JSON result, the GitHub step summary and outputs, and the error
//! lines. A change to any of them fails the suite until the snapshot is reviewed and accepted
//! (`cargo insta review`, or `INSTA_UPDATE=always` then `git diff`); CI never writes snapshots.
//!
//! Filters hide what changes between runs or machines: the test's account, ARNs' account parts,
//! CodeSha256 and hex SHA-256 values, run ids, temporary paths, timestamps, git commits, the
//! tool version, heredoc delimiters and durations.

use std::path::Path;
use std::process::Command;

use insta::Settings;
use serde_json::Value;

use crate::support::moto::{create_bucket, fresh_account, lambda_as, moto};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, Ran, cargo_layer, error_line, json, json_lines};

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
prod = { accounts = ["333333333333", "444444444444"], organization = "o-abcdefghij" }
"#;

/// A layer of files in a fresh account, in a git work tree (so results name the commit).
fn gallery_crate() -> FilesCrate {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    git(krate.dir.path(), &["init", "-q"]);
    git(krate.dir.path(), &["add", "."]);
    git(krate.dir.path(), &["commit", "-q", "-m", "gallery"]);
    krate
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=gallery",
            "-c",
            "user.email=gallery@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// Snapshot settings whose filters hide what changes between runs and machines.
fn settings(krate: &FilesCrate) -> Settings {
    let mut settings = Settings::clone_current();
    settings.set_omit_expression(true);
    let dir = krate.dir.path();
    for path in [dir.canonicalize().unwrap(), dir.to_path_buf()] {
        settings.add_filter(&regex::escape(&path.to_string_lossy()), "[CRATE]");
    }
    let temp = std::env::temp_dir();
    for path in [temp.canonicalize().unwrap(), temp] {
        let path = regex::escape(&path.to_string_lossy());
        settings.add_filter(&format!(r"{path}/\.tmp\w+"), "[TEMP]");
    }
    settings.add_filter(&krate.account, "[ACCOUNT]");
    settings.add_filter(
        r"(arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)\d{12}",
        "${1}[ACCOUNT]",
    );
    settings.add_filter(r"[A-Za-z0-9+/]{43}=", "[CODE_SHA256]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    settings.add_filter(r"\b[0-9a-f]{40}\b", "[COMMIT]");
    // Whether the checkout the test crates sit in has uncommitted changes.
    settings.add_filter(r#""git_dirty": ?(true|false)"#, r#""git_dirty":[DIRTY]"#);
    settings.add_filter(r"` with uncommitted changes \(`git_dirty`\)", "`[DIRTY]");
    settings.add_filter(r"(\| Commit \| `\[COMMIT\]`) \|", "$1[DIRTY] |");
    settings.add_filter(r"run:[0-9a-f]+", "run:[RUN]");
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "[TIMESTAMP]",
    );
    settings.add_filter(
        &format!("cargo-layer {}", regex::escape(env!("CARGO_PKG_VERSION"))),
        "cargo-layer [VERSION]",
    );
    settings.add_filter(r"ghadelimiter_[0-9a-f]+", "ghadelimiter_[ID]");
    settings.add_filter(r"\b\d+(\.\d+)?(ms|s)\b", "[DURATION]");
    settings
}

/// `args` for the gallery crate: the AWS commands against `endpoint` as its account's role,
/// `package` and `iam-policy` with no AWS at all.
fn command(krate: &FilesCrate, endpoint: &str, args: &[&str]) -> assert_cmd::Command {
    if matches!(args[0], "package" | "iam-policy") {
        let mut cmd = cargo_layer(&krate.dir.path().join("target"));
        cmd.args(args)
            .arg("--manifest-path")
            .arg(krate.manifest_path());
        return cmd;
    }
    krate.command(endpoint, args)
}

/// Exit code, stdout and stderr of a run, for a snapshot.
fn shown(ran: &impl Ran) -> String {
    let out = ran.output();
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `args` in GitHub Actions mode: what the run printed, then what it left in GITHUB_OUTPUT
/// and GITHUB_STEP_SUMMARY.
fn github(krate: &FilesCrate, endpoint: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let run = command(krate, endpoint, args)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    format!(
        "{}--- GITHUB_OUTPUT\n{}--- GITHUB_STEP_SUMMARY\n{}",
        shown(&run),
        read(&outputs),
        read(&summary)
    )
}

/// The one JSON result of a run that must have succeeded.
fn result(krate: &FilesCrate, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["--message-format", "json"]);
    json(&command(krate, &moto().endpoint, &args).assert().success())
}

#[test]
fn package() {
    let krate = gallery_crate();
    settings(&krate).bind(|| {
        let human = command(&krate, &moto().endpoint, &["package"])
            .assert()
            .success();
        insta::assert_snapshot!("package_human", shown(&human));
        insta::assert_json_snapshot!("package_json", result(&krate, &["package"]));
        insta::assert_snapshot!(
            "package_github",
            github(&krate, &moto().endpoint, &["package"])
        );
    });
}

#[test]
fn publish() {
    let krate = gallery_crate();
    let endpoint = &moto().endpoint;
    settings(&krate).bind(|| {
        let human = krate.run(endpoint, &["publish"]).success();
        insta::assert_snapshot!("publish_human", shown(&human));
        krate.set_content("version two\n");
        insta::assert_json_snapshot!("publish_json", result(&krate, &["publish"]));
        krate.set_content("version three\n");
        insta::assert_snapshot!("publish_github", github(&krate, endpoint, &["publish"]));
        // Unchanged: the same version again.
        insta::assert_snapshot!(
            "publish_again_github",
            github(&krate, endpoint, &["publish"])
        );
    });
}

#[test]
fn promote() {
    let krate = gallery_crate();
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    let manifest = krate.layer_manifest();
    let manifest = manifest.to_str().unwrap();
    settings(&krate).bind(|| {
        let human = krate
            .run(
                endpoint,
                &["promote", "--stage", "prod", "--manifest", manifest],
            )
            .success();
        insta::assert_snapshot!("promote_human", shown(&human));
        insta::assert_json_snapshot!(
            "promote_json",
            result(&krate, &["promote", "--stage", "prod", "--version", "1"])
        );
        insta::assert_snapshot!(
            "promote_github",
            github(
                &krate,
                endpoint,
                &["promote", "--stage", "dev", "--version", "1"]
            )
        );
    });
}

#[test]
fn revoke() {
    let krate = gallery_crate();
    let endpoint = &moto().endpoint;
    krate.run(endpoint, &["publish", "-q"]).success();
    settings(&krate).bind(|| {
        let human = krate
            .run(endpoint, &["revoke", "--stage", "dev", "--version", "1"])
            .success();
        insta::assert_snapshot!("revoke_human", shown(&human));
        let mut revoked = result(&krate, &["revoke", "--stage", "prod", "--version", "1"]);
        // `removed` follows the order the version's policy holds the statements in, which is
        // the order the concurrent grants landed; sorted so the snapshot is stable.
        revoked["removed"]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|g| g["statement_id"].to_string());
        insta::assert_json_snapshot!("revoke_json", revoked);
        krate
            .run(
                endpoint,
                &["promote", "-q", "--stage", "dev", "--version", "1"],
            )
            .success();
        insta::assert_snapshot!(
            "revoke_github",
            github(
                &krate,
                endpoint,
                &["revoke", "--stage", "dev", "--version", "1"]
            )
        );
        // An organization statement names the organization.
        krate
            .run(
                endpoint,
                &["promote", "-q", "--stage", "prod", "--version", "1"],
            )
            .success();
        let prod = krate
            .run(endpoint, &["revoke", "--stage", "prod", "--version", "1"])
            .success();
        insta::assert_snapshot!("revoke_organization_human", shown(&prod));
    });
}

#[test]
fn status() {
    let krate = gallery_crate();
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    krate.set_content("version two\n");
    krate.run(endpoint, &["publish", "-q"]).success();
    lambda_as(&krate.account).add_foreign_statement(&krate.name, 2, "hand-made", "555555555555");
    settings(&krate).bind(|| {
        let human = krate.run(endpoint, &["status"]).success();
        insta::assert_snapshot!("status_human", shown(&human));
        insta::assert_json_snapshot!("status_json", result(&krate, &["status"]));
        insta::assert_snapshot!("status_github", github(&krate, endpoint, &["status"]));
    });
}

#[test]
fn iam_policy() {
    let krate = gallery_crate();
    krate.edit(
        r#"region = "eu-central-1""#,
        "regions = [\"eu-central-1\", \"us-east-1\"]\ns3-bucket = \"artifacts-{account}-{region}\"",
    );
    settings(&krate).bind(|| {
        let run = command(&krate, &moto().endpoint, &["iam-policy"])
            .assert()
            .success();
        insta::assert_snapshot!("iam_policy", shown(&run));
    });
}

#[test]
fn prune() {
    let krate = gallery_crate();
    let endpoint = &moto().endpoint;
    for (content, stage) in [("one\n", "dev"), ("two\n", "dev"), ("three\n", "dev")] {
        krate.set_content(content);
        krate
            .run(endpoint, &["publish", "-q", "--stage", stage])
            .success();
    }
    for content in ["four\n", "five\n"] {
        krate.set_content(content);
        krate
            .run(endpoint, &["publish", "-q", "--stage", "prod"])
            .success();
    }
    settings(&krate).bind(|| {
        let plan = krate
            .run(
                endpoint,
                &["prune", "--keep", "1", "--keep-granted", "1", "--dry-run"],
            )
            .success();
        insta::assert_snapshot!("prune_dry_run_human", shown(&plan));
        insta::assert_json_snapshot!(
            "prune_dry_run_json",
            result(
                &krate,
                &["prune", "--keep", "1", "--keep-granted", "1", "--dry-run"]
            )
        );
        let human = krate
            .run(endpoint, &["prune", "--keep", "2", "--keep-granted", "1"])
            .success();
        insta::assert_snapshot!("prune_human", shown(&human));
        insta::assert_json_snapshot!(
            "prune_json",
            result(&krate, &["prune", "--keep", "1", "--keep-granted", "1"])
        );
        insta::assert_snapshot!(
            "prune_github",
            github(
                &krate,
                endpoint,
                &["prune", "--keep", "1", "--keep-granted", "1"]
            )
        );
    });
}

#[test]
fn dry_run() {
    let krate = gallery_crate();
    let endpoint = &moto().endpoint;
    settings(&krate).bind(|| {
        let human = krate.run(endpoint, &["publish", "--dry-run"]).success();
        insta::assert_snapshot!("dry_run_publish_human", shown(&human));
        insta::assert_json_snapshot!(
            "dry_run_publish_json",
            result(&krate, &["publish", "--dry-run"])
        );
        krate
            .run(endpoint, &["publish", "-q", "--stage", "dev"])
            .success();
        insta::assert_snapshot!(
            "dry_run_promote_github",
            github(
                &krate,
                endpoint,
                &["promote", "--stage", "prod", "--version", "1", "--dry-run"]
            )
        );
        insta::assert_json_snapshot!(
            "dry_run_revoke_json",
            result(
                &krate,
                &["revoke", "--stage", "dev", "--version", "1", "--dry-run"]
            )
        );
    });
}

#[test]
fn config_error() {
    let krate = gallery_crate();
    krate.edit(r#""444444444444""#, r#""44444""#);
    settings(&krate).bind(|| {
        let human = krate.run(&moto().endpoint, &["publish"]).failure();
        insta::assert_snapshot!("config_error_human", shown(&human));
        insta::assert_snapshot!(
            "config_error_github",
            github(&krate, &moto().endpoint, &["publish"])
        );
    });
}

#[test]
fn aws_error() {
    let krate = gallery_crate();
    let proxy = Proxy::start();
    let denied = || {
        proxy.fail(
            "PublishLayerVersion",
            1,
            403,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: lambda:PublishLayerVersion",
        )
    };
    settings(&krate).bind(|| {
        denied();
        let human = krate.run(&proxy.endpoint, &["publish"]).failure();
        insta::assert_snapshot!("aws_error_human", shown(&human));
        denied();
        insta::assert_snapshot!(
            "aws_error_github",
            github(&krate, &proxy.endpoint, &["publish"])
        );
    });
}

#[test]
fn regions_with_one_failing() {
    // Several regions, one without its bucket: the regions that worked, then the error. (The
    // regions run at once, so their progress lines interleave and are left out.)
    let krate = gallery_crate();
    krate.edit(
        r#"region = "eu-central-1""#,
        "regions = [\"eu-central-1\", \"us-east-1\"]\ns3-bucket = \"artifacts-{account}-{region}\"",
    );
    let bucket = format!("artifacts-{}-eu-central-1", krate.account);
    create_bucket(&krate.account, &bucket, "eu-central-1", false);
    settings(&krate).bind(|| {
        let run = krate
            .run(&moto().endpoint, &["publish", "--message-format", "json"])
            .failure()
            .code(7);
        insta::assert_json_snapshot!("regions_one_failing_json", json_lines(&run));
        insta::assert_snapshot!("regions_one_failing_error", error_line(&run));
    });
}

#[test]
fn partial_grant() {
    // A statement of stage dev already grants someone else: the grant fails (exit 8) and the
    // error names the revoke that clears it and the run that then finishes the job.
    let krate = gallery_crate();
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "prod"])
        .success();
    lambda_as(&krate.account).add_foreign_statement(
        &krate.name,
        1,
        "cargo-layer-dev-222222222222",
        "555555555555",
    );
    settings(&krate).bind(|| {
        let publish = krate
            .run(endpoint, &["publish", "--stage", "dev"])
            .failure();
        insta::assert_snapshot!("partial_grant_publish_error", error_line(&publish));
        let promote = krate
            .run(endpoint, &["promote", "--stage", "dev", "--version", "1"])
            .failure();
        insta::assert_snapshot!("partial_grant_promote_error", error_line(&promote));
    });
}

#[test]
fn region_error() {
    let krate = gallery_crate();
    krate.edit(r#"region = "eu-central-1""#, "");
    settings(&krate).bind(|| {
        let run = command(&krate, &moto().endpoint, &["publish"])
            .env("AWS_REGION", "us-east-1; rm -rf /")
            .assert()
            .failure();
        insta::assert_snapshot!("region_error", shown(&run));
    });
}

#[test]
fn stage_accounts() {
    // dev's account reads the version and is handed it; prod's second account cannot be reached.
    let krate = gallery_crate();
    let owner = format!("artifacts-account = \"{}\"", krate.account);
    krate.edit(
        &owner,
        &format!("{owner}\nstage-role = \"arn:aws:iam::{{account}}:role/layer-consumer\"\nparameter = \"/layers/{{name}}\""),
    );
    krate.edit("organization = \"o-abcdefghij\"", "after = \"dev\"");
    let stages = ["222222222222", "333333333333", "444444444444"];
    krate.proxy().stage_accounts(&stages);
    krate
        .proxy()
        .refuse_role("arn:aws:iam::444444444444:role/layer-consumer");
    let endpoint = &moto().endpoint;
    settings(&krate).bind(|| {
        let publish = krate.run(endpoint, &["publish"]).success();
        insta::assert_snapshot!("stage_accounts_publish", shown(&publish));
        let promote = krate
            .run(endpoint, &["promote", "--stage", "prod", "--version", "1"])
            .failure();
        insta::assert_snapshot!("stage_accounts_promote", shown(&promote));
        insta::assert_snapshot!(
            "stage_accounts_verify_github",
            github(
                &krate,
                endpoint,
                &[
                    "verify",
                    "--stage",
                    "dev",
                    "--stage",
                    "prod",
                    "--version",
                    "1"
                ]
            )
        );
        let status = krate.run(endpoint, &["status", "--stage", "dev"]).success();
        insta::assert_snapshot!("stage_accounts_status", shown(&status));
    });
}

#[test]
fn help() {
    for command in ["package", "promote"] {
        let run = crate::support::cargo_layer(&std::env::temp_dir())
            .args([command, "--help"])
            .env("COLUMNS", "100")
            .assert()
            .success();
        insta::assert_snapshot!(format!("help_{command}"), shown(&run));
    }
}
