//! Bad input on the AWS side: each case gets a one-line error that names the AWS action or the
//! cause and the fix, a documented exit code, and no write it should not make. AWS's own error
//! answers (which moto never gives) are injected by the loopback proxy in their real form.

use crate::support::moto::{self, fresh_account, lambda_as, moto};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, error_line, stderr};

const STAGES: &str = r#"dev = { accounts = ["222222222222"] }"#;

/// A test layer in a fresh account, reached through a recording proxy.
fn behind_proxy() -> (FilesCrate, Proxy) {
    (FilesCrate::new(&fresh_account(), STAGES), Proxy::start())
}

#[test]
fn expired_credentials_are_a_credentials_error() {
    let (krate, proxy) = behind_proxy();
    proxy.fail(
        "GetCallerIdentity",
        1,
        403,
        "ExpiredToken",
        "The security token included in the request is expired",
    );
    let run = krate.run(&proxy.endpoint, &["publish"]).failure().code(6);
    let line = error_line(&run);
    assert!(
        line.contains("sts:GetCallerIdentity") && line.contains("expired"),
        "{line}"
    );
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());
}

#[test]
fn missing_credentials_are_a_credentials_error() {
    let (krate, proxy) = behind_proxy();
    let mut cmd = moto::tool(&proxy.endpoint);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["publish", "--manifest-path"])
        .arg(krate.manifest_path());
    let run = cmd.assert().failure().code(6);
    let line = error_line(&run);
    assert!(
        line.contains("credentials") && line.contains("AWS_PROFILE"),
        "{line}"
    );
    assert!(lambda_as(&krate.account).versions(&krate.name).is_empty());
}

#[test]
fn a_missing_aws_profile_is_named() {
    let (krate, proxy) = behind_proxy();
    let mut cmd = moto::tool(&proxy.endpoint);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "artifacts")
        .args(["publish", "--manifest-path"])
        .arg(krate.manifest_path());
    let run = cmd.assert().failure().code(6);
    let line = error_line(&run);
    assert!(
        line.contains("the AWS profile in use is \"artifacts\" (AWS_PROFILE)"),
        "{line}"
    );
    assert!(line.contains("[profile artifacts]"), "{line}");
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());
}

#[test]
fn access_denied_on_publish_names_the_missing_action() {
    let (krate, proxy) = behind_proxy();
    proxy.fail(
        "PublishLayerVersion",
        1,
        403,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: lambda:PublishLayerVersion",
    );
    let run = krate.run(&proxy.endpoint, &["publish"]).failure().code(7);
    let line = error_line(&run);
    assert!(
        line.contains("allow `lambda:PublishLayerVersion`"),
        "{line}"
    );
    assert!(line.contains("cargo layer iam-policy"), "{line}");
    assert!(lambda_as(&krate.account).versions(&krate.name).is_empty());
}

#[test]
fn access_denied_on_listing_stops_before_any_write() {
    let (krate, proxy) = behind_proxy();
    proxy.fail(
        "ListLayerVersions",
        1,
        403,
        "AccessDeniedException",
        "not authorized",
    );
    let run = krate.run(&proxy.endpoint, &["publish"]).failure().code(7);
    assert!(error_line(&run).contains("lambda:ListLayerVersions"));
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());
}

#[test]
fn a_full_policy_advises_an_organization_grant() {
    let (krate, proxy) = behind_proxy();
    proxy.fail(
        "AddLayerVersionPermission",
        1,
        400,
        "PolicyLengthExceededException",
        "The final policy size (20540) is bigger than the limit (20480).",
    );
    let run = krate
        .run(&proxy.endpoint, &["publish", "--message-format", "json"])
        .failure()
        .code(8);
    let line = error_line(&run);
    assert!(line.contains("PolicyLengthExceededException"), "{line}");
    assert!(
        line.contains("organization = \\\"o-") || line.contains("organization = \"o-"),
        "{line}"
    );
}

#[test]
fn throttling_past_every_attempt_says_so() {
    let (krate, proxy) = behind_proxy();
    proxy.fail(
        "ListLayerVersions",
        99,
        429,
        "TooManyRequestsException",
        "Rate exceeded",
    );
    let run = krate
        .run(&proxy.endpoint, &["publish", "--max-attempts", "2"])
        .failure()
        .code(7);
    let line = error_line(&run);
    assert!(
        line.contains("throttling") && line.contains("--max-attempts"),
        "{line}"
    );
    assert_eq!(
        proxy.count("ListLayerVersions"),
        2,
        "--max-attempts 2 means two attempts"
    );
}

#[test]
fn promoting_a_missing_version_fails_without_writes() {
    let (krate, proxy) = behind_proxy();
    let run = krate
        .run(
            &proxy.endpoint,
            &["promote", "--stage", "dev", "--version", "42"],
        )
        .failure()
        .code(7);
    assert!(error_line(&run).contains("version 42"), "{}", stderr(&run));
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());
}

#[test]
fn an_unreadable_manifest_is_a_config_error() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let bad = krate.dir.path().join("not-a-manifest.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let run = krate
        .run(
            &moto().endpoint,
            &[
                "promote",
                "--stage",
                "dev",
                "--manifest",
                bad.to_str().unwrap(),
            ],
        )
        .failure()
        .code(3);
    assert!(error_line(&run).contains("not a cargo-layer manifest"));
    let missing = krate
        .run(
            &moto().endpoint,
            &[
                "promote",
                "--stage",
                "dev",
                "--manifest",
                "/nonexistent/m.json",
            ],
        )
        .failure()
        .code(3);
    assert!(error_line(&missing).contains("cannot read it"));
}

#[test]
fn a_malformed_role_arn_is_refused_before_aws() {
    let (krate, proxy) = behind_proxy();
    let mut cmd = moto::tool(&proxy.endpoint);
    cmd.args([
        "publish",
        "--assume-role",
        "arn:aws:iam::12:role/x",
        "--manifest-path",
    ])
    .arg(krate.manifest_path());
    let run = cmd.assert().failure().code(3);
    assert!(error_line(&run).contains("--assume-role"));
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
}

#[test]
fn a_region_the_layer_is_not_configured_for_and_a_malformed_arn_are_refused() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let run = krate
        .run(
            &moto().endpoint,
            &[
                "promote",
                "--stage",
                "dev",
                "--arn",
                "arn:aws:lambda:eu-central-1:1:layer",
            ],
        )
        .failure()
        .code(3);
    assert!(error_line(&run).contains("not a LayerVersionArn"));
    let run = krate
        .run(
            &moto().endpoint,
            &[
                "promote",
                "--stage",
                "dev",
                "--version",
                "1",
                "--region",
                "us-east-1",
            ],
        )
        .failure()
        .code(3);
    assert!(
        error_line(&run).contains("--region us-east-1 is not a region of layer"),
        "{}",
        stderr(&run)
    );
}
