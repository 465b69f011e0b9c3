//! Where a run's region comes from: `--region`, Cargo.toml, or the environment (AWS_REGION,
//! AWS_DEFAULT_REGION, the AWS profile). One rule for every command, and every region is checked
//! (its syntax, the LayerVersionArn length it makes) before any AWS call.

use crate::support::moto::{REGION, fresh_account};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, cargo_layer, error_line, json, stdout};

const STAGES: &str = r#"dev = { accounts = ["222222222222"] }"#;

/// A layer whose Cargo.toml names no region, reached through a recording proxy.
fn without_region() -> (FilesCrate, Proxy) {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    krate.edit(&format!("region = \"{REGION}\"\n"), "");
    (krate, Proxy::start())
}

#[test]
fn a_malformed_aws_region_is_a_config_error_before_any_call() {
    let (krate, proxy) = without_region();
    for command in [
        &["publish"][..],
        &["status"],
        &["revoke", "--stage", "dev", "--version", "1"],
    ] {
        let run = krate
            .command(&proxy.endpoint, command)
            .env("AWS_REGION", "us-east-1; rm -rf /")
            .assert()
            .failure()
            .code(3);
        let line = error_line(&run);
        assert!(
            line.contains("AWS_REGION: \"us-east-1; rm -rf /\" is not an AWS region code"),
            "{line}"
        );
    }
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
}

#[test]
fn a_malformed_profile_region_names_the_profile() {
    let (krate, proxy) = without_region();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[profile ci]\nregion = eu_west_1\n").unwrap();
    let run = krate
        .command(&proxy.endpoint, &["status"])
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", config.path())
        .env("AWS_PROFILE", "ci")
        .assert()
        .failure()
        .code(3);
    let line = error_line(&run);
    assert!(line.contains("the region of AWS profile \"ci\""), "{line}");
    assert!(line.contains("eu_west_1"), "{line}");
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
}

/// 51 characters of a GovCloud version ARN are not the name or the region: a 77-character name
/// fits eu-central-1 (12) and not ap-southeast-2 (14).
#[test]
fn the_arn_length_is_checked_for_the_region_the_run_uses() {
    let (krate, proxy) = without_region();
    let name = "n".repeat(77);
    krate.edit(
        "kind = \"files\"",
        &format!("kind = \"files\"\nname = \"{name}\""),
    );
    let dry_run = krate
        .command(
            &proxy.endpoint,
            &["publish", "--dry-run", "--message-format", "json"],
        )
        .env("AWS_REGION", "eu-central-1")
        .assert()
        .success();
    assert_eq!(json(&dry_run)["region"], "eu-central-1");
    proxy.clear();
    for (flag, env, from) in [
        (None, "ap-southeast-2", "AWS_REGION"),
        (Some("ap-southeast-2"), "eu-central-1", "--region"),
    ] {
        let mut args = vec!["publish"];
        args.extend(flag.map(|r| ["--region", r]).into_iter().flatten());
        let run = krate
            .command(&proxy.endpoint, &args)
            .env("AWS_REGION", env)
            .assert()
            .failure()
            .code(3);
        let line = error_line(&run);
        assert!(
            line.contains("longer than 140 characters in ap-southeast-2"),
            "{line}"
        );
        assert!(
            line.contains(&format!("(the region from {from})")),
            "{line}"
        );
        assert!(line.contains("package.metadata.layer.name"), "{line}");
    }
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
}

#[test]
fn iam_policy_takes_the_region_from_the_environment_as_publish_does() {
    let (krate, _proxy) = without_region();
    let policy = |env: &[(&str, &str)]| {
        let mut cmd = cargo_layer(&krate.dir.path().join("target"));
        cmd.args(["iam-policy", "--manifest-path"])
            .arg(krate.manifest_path())
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd.envs(env.iter().copied());
        cmd.assert()
    };
    let run = policy(&[("AWS_REGION", "ap-south-2")]).success();
    let text = stdout(&run);
    assert!(text.contains("arn:aws:lambda:ap-south-2:"), "{text}");
    assert!(!String::from_utf8_lossy(&run.get_output().stderr).contains("region"));
    let run = policy(&[]).success();
    assert!(stdout(&run).contains("arn:aws:lambda:*:"));
    let warned = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(warned.contains("AWS_REGION"), "{warned}");
    let run = policy(&[("AWS_REGION", "ap-south-2; x")]).failure().code(3);
    assert!(error_line(&run).contains("AWS_REGION"));
}
