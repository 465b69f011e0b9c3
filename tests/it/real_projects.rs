//! What real layer projects configure (the AWS Lambda Web Adapter publishes
//! `LambdaAdapterLayerX86` and `LambdaAdapterLayerArm64` from musl builds, with descriptions like
//! `Layer for AWS Lambda Adapter x86_64: 1.0.0`): names, descriptions and targets per
//! architecture, build environment variables in Cargo.toml, and an honest commit.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::build_for_lambda::{crate_with_elfs, elf, unzip_one};
use crate::support::moto;
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, TempCrate, error_line, json, layer_crate, reports, stderr};

/// A two-architecture layer configured the Web Adapter's way; `top` goes into the main table,
/// `arm64` into the arm64 table.
fn per_arch(top: &str, arm64: &str) -> String {
    format!(
        r#"kind = "extension"
compatible-architectures = ["x86_64", "arm64"]
compatible-runtimes = ["provided.al2023"]
description = "Layer for the adapter {{arch}}: {{version}}"
build-env = {{ FIXTURE_AGENT = "fixture/{{version}}/{{arch}}" }}
{top}

[package.metadata.layer.architectures.x86_64]
name = "AdapterLayerX86"
target = "x86_64-unknown-linux-musl"

[package.metadata.layer.architectures.arm64]
name = "AdapterLayerArm64"
target = "aarch64-unknown-linux-musl"
{arm64}"#
    )
}

fn per_arch_crate(top: &str, arm64: &str) -> TempCrate {
    crate_with_elfs(
        &per_arch(top, arm64),
        &[
            ("x86_64-unknown-linux-musl/release/fixture", "x86_64-2.26"),
            ("aarch64-unknown-linux-musl/release/fixture", "aarch64-2.26"),
        ],
    )
}

#[test]
fn names_and_targets_per_architecture_with_placeholders() {
    let krate = per_arch_crate("", "");
    let packed = reports(&krate.package(&["--no-build", "--message-format", "json"]));
    let names: Vec<&str> = packed.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["AdapterLayerX86", "AdapterLayerArm64"]);
    for (report, arch, triple, file) in [
        (
            &packed[0],
            "x86_64",
            "x86_64-unknown-linux-musl",
            "x86_64-2.26",
        ),
        (
            &packed[1],
            "arm64",
            "aarch64-unknown-linux-musl",
            "aarch64-2.26",
        ),
    ] {
        assert_eq!(report["build"]["target"], triple, "{report}");
        assert_eq!(report["build"]["builder"], "cargo");
        assert_eq!(
            report["build"]["env"]["FIXTURE_AGENT"],
            format!("fixture/0.1.0/{arch}").as_str()
        );
        let zip = PathBuf::from(report["zip"].as_str().unwrap());
        assert_eq!(
            unzip_one(&zip, "extensions/fixture"),
            std::fs::read(elf(file)).unwrap()
        );
    }
    // -p takes a name set per architecture.
    let one = reports(&krate.package(&[
        "--no-build",
        "-p",
        "AdapterLayerArm64",
        "--message-format",
        "json",
    ]));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["name"], "AdapterLayerArm64");
    // --target still overrides the configured triple (and that build does not exist here).
    let out = krate.package(&["--no-build", "--target", "aarch64-unknown-linux-gnu"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
}

#[test]
fn descriptions_per_architecture_reach_lambda_and_the_manifest_records_the_build() {
    let account = moto::fresh_account();
    let krate = per_arch_crate(
        &format!(
            "region = \"{}\"\nartifacts-account = \"{account}\"",
            moto::REGION
        ),
        "description = \"arm64 build {version}\"",
    );
    let proxy = Proxy::start();
    let mut cmd = moto::tool(&proxy.endpoint);
    cmd.env("CARGO_TARGET_DIR", krate.target_dir())
        .args(["publish", "--no-build", "--message-format", "json"])
        .arg("--manifest-path")
        .arg(krate.manifest())
        .arg("--assume-role")
        .arg(moto::role(&account));
    let manifests = reports(&cmd.output().unwrap());
    let lambda = moto::lambda_as(&account);
    let description = |name: &str| {
        crate::support::block_on(async {
            lambda
                .client
                .get_layer_version()
                .layer_name(name)
                .version_number(1)
                .send()
                .await
                .unwrap()
                .description()
                .unwrap_or_default()
                .to_string()
        })
    };
    assert!(
        description("AdapterLayerX86")
            .starts_with("Layer for the adapter x86_64: 0.1.0 [cargo-layer sha256:"),
        "{}",
        description("AdapterLayerX86")
    );
    assert!(
        description("AdapterLayerArm64").starts_with("arm64 build 0.1.0 [cargo-layer sha256:"),
        "{}",
        description("AdapterLayerArm64")
    );
    for manifest in &manifests {
        assert!(
            manifest["build"]["target"]
                .as_str()
                .unwrap()
                .ends_with("-unknown-linux-musl")
        );
        let written = krate
            .target_dir()
            .join(format!("layer/{}.json", manifest["name"].as_str().unwrap()));
        let written: Value = serde_json::from_slice(&std::fs::read(written).unwrap()).unwrap();
        assert_eq!(written["build"], manifest["build"]);
    }
}

#[test]
fn build_env_reaches_the_build() {
    let krate = layer_crate(
        "kind = \"bin\"\ncompatible-architectures = [\"x86_64\"]\nbuild-env = { FIXTURE_AGENT = \"agent/{version}/{arch}\" }",
        &[(
            "src/main.rs",
            "fn main() { println!(\"{}\", env!(\"FIXTURE_AGENT\")); }\n",
        )],
    );
    let report = &reports(&krate.package(&["--message-format", "json"]))[0];
    let zip = PathBuf::from(report["zip"].as_str().unwrap());
    let binary = krate.target_dir().join("unzipped-fixture");
    std::fs::write(&binary, unzip_one(&zip, "bin/fixture")).unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&binary, executable).unwrap();
    let out = Command::new(&binary).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "agent/0.1.0/x86_64\n");
}

/// (configuration, key the error names, words it holds)
const REFUSED: [(&str, &str, &str); 6] = [
    (
        "compatible-runtimes = [\"provided.al2023\"]\nname = \"fixture-{arch}\"",
        "package.metadata.layer.name",
        "uses {arch}, but the layer has no single architecture",
    ),
    (
        "compatible-architectures = [\"x86_64\"]\ndescription = \"v{semver}\"",
        "package.metadata.layer.description",
        "holds {semver}; the placeholders are {version} and {arch}",
    ),
    (
        "compatible-architectures = [\"x86_64\"]\n[package.metadata.layer.architectures.arm64]\nname = \"x\"",
        "package.metadata.layer.architectures.arm64",
        "compatible-architectures does not list \"arm64\"",
    ),
    (
        "compatible-architectures = [\"arm64\"]\n[package.metadata.layer.architectures.arm64]\ntarget = \"x86_64-unknown-linux-musl\"",
        "package.metadata.layer.architectures.arm64.target",
        "does not build Linux arm64 binaries",
    ),
    (
        "compatible-architectures = [\"x86_64\"]\nbuild-env = { \"NOT-A-NAME\" = \"x\" }",
        "package.metadata.layer.build-env.NOT-A-NAME",
        "is not an environment variable name",
    ),
    (
        "compatible-architectures = [\"x86_64\", \"arm64\"]\nregion = \"eu-central-1\"\n[package.metadata.layer.architectures.arm64]\nname = \"AdapterArm64-{version}\"",
        "package.metadata.layer.architectures.arm64.name",
        "contains '.'",
    ),
];

#[test]
fn placeholders_and_per_architecture_keys_are_checked_before_any_build() {
    for (config, key, words) in REFUSED {
        let krate = layer_crate(&format!("kind = \"extension\"\n{config}"), &[]);
        let out = krate.package(&["--no-build"]);
        let line = error_line(&out);
        assert_eq!(out.status.code(), Some(3), "{config}: {line}");
        assert!(
            line.contains(key) && line.contains(words),
            "{config}: {line}"
        );
    }
    // The ARN limit holds for the expanded name.
    let long = "n".repeat(80);
    let krate = layer_crate(
        &format!(
            "kind = \"extension\"\ncompatible-architectures = [\"x86_64\", \"arm64\"]\nregion = \"ap-southeast-5\"\n[package.metadata.layer.architectures.x86_64]\nname = \"{long}-{{arch}}\""
        ),
        &[],
    );
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(
        line.contains("package.metadata.layer.architectures.x86_64.name")
            && line.contains("longer than 140 characters in ap-southeast-5"),
        "{line}"
    );
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn the_manifest_says_when_the_work_tree_had_uncommitted_changes() {
    let krate = FilesCrate::new(
        &moto::fresh_account(),
        "dev = { accounts = [\"222222222222\"] }",
    );
    let root = krate.manifest_path().parent().unwrap().to_path_buf();
    git(&root, &["init", "-q"]);
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "one"]);
    let clean = json(
        &krate
            .run(
                &moto::moto().endpoint,
                &["publish", "-q", "--message-format", "json"],
            )
            .success(),
    );
    assert_eq!(clean["git_dirty"], false, "{clean}");
    assert!(clean["git_commit"].is_string());
    krate.set_content("changed, not committed\n");
    let dirty = json(
        &krate
            .run(
                &moto::moto().endpoint,
                &["publish", "-q", "--message-format", "json"],
            )
            .success(),
    );
    assert_eq!(dirty["git_dirty"], true, "{dirty}");
    assert_eq!(dirty["git_commit"], clean["git_commit"]);
}

/// A layer in an `aws` region and an `aws-cn` region: each partition publishes under its own
/// account, through its own role, with its own credentials (an AWS profile), and its stage is
/// granted only there.
#[test]
fn each_partition_publishes_under_its_own_account_role_and_credentials() {
    let (global, china) = (moto::fresh_account(), moto::fresh_account());
    let krate = FilesCrate::new(
        &global,
        "dev = { accounts = [\"222222222222\"], partition = \"aws\" }\ndev-cn = { accounts = [\"333333333333\"], partition = \"aws-cn\" }",
    );
    krate.edit(
        "region = \"eu-central-1\"",
        &format!(
            "regions = [\"eu-central-1\", \"cn-north-1\"]\nrole-arn = \"{}\"",
            moto::role(&global)
        ),
    );
    let text = std::fs::read_to_string(krate.manifest_path()).unwrap();
    std::fs::write(
        krate.manifest_path(),
        format!(
            "{text}\n[package.metadata.layer.overrides.aws-cn]\nartifacts-account = \"{china}\"\nrole-arn = \"arn:aws-cn:iam::{china}:role/layer-publisher\"\naws-profile = \"china\"\n"
        ),
    )
    .unwrap();
    let config = krate.dir.path().join("aws-config");
    std::fs::write(
        &config,
        "[profile china]\naws_access_key_id = AKIACHINAEXAMPLE0001\naws_secret_access_key = china-secret\n",
    )
    .unwrap();
    let proxy = Proxy::start();
    let out = moto::tool(&proxy.endpoint)
        .args(["publish", "--message-format", "json", "--manifest-path"])
        .arg(krate.manifest_path())
        .env("AWS_CONFIG_FILE", &config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let results = crate::support::json_lines(&out);
    let by_region = |region: &str| {
        results
            .iter()
            .find(|r| r["region"] == region)
            .unwrap_or_else(|| panic!("no result for {region}"))
    };
    let (eu, cn) = (by_region("eu-central-1"), by_region("cn-north-1"));
    assert_eq!(eu["account"], global.as_str());
    assert_eq!(cn["account"], china.as_str());
    let cn_arn = cn["layer_version_arn"].as_str().unwrap();
    assert!(
        cn_arn.starts_with(&format!("arn:aws-cn:lambda:cn-north-1:{china}:layer:")),
        "{cn_arn}"
    );
    // Each partition's stage is granted only in its own partition.
    let principals = |r: &Value| -> Vec<String> {
        r["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["principal"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(principals(eu), ["222222222222"]);
    assert_eq!(principals(cn), ["333333333333"]);
    // The manifest and the GitHub `layers` output keep both regions' ARNs.
    assert_eq!(eu["layer_version_arns"]["cn-north-1"], cn_arn);
    // The China role was assumed with the profile's credentials, the global one with the
    // environment's.
    let assumed: Vec<(String, String)> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.operation == "AssumeRole")
        .map(|c| (c.region, c.key))
        .collect();
    assert!(
        assumed.contains(&("cn-north-1".to_string(), "AKIACHINAEXAMPLE0001".to_string())),
        "{assumed:?}"
    );
    assert!(
        assumed
            .iter()
            .any(|(r, k)| r == "eu-central-1" && k == "AKIAIOSFODNN7EXAMPLE"),
        "{assumed:?}"
    );
    let publishes: Vec<(String, String)> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.operation == "PublishLayerVersion")
        .map(|c| (c.region, c.account))
        .collect();
    assert_eq!(publishes.len(), 2);
    assert!(publishes.contains(&("cn-north-1".to_string(), china.clone())));
    assert!(publishes.contains(&("eu-central-1".to_string(), global.clone())));
}

#[test]
fn overrides_and_stage_partitions_are_checked_before_any_aws_call() {
    let two = "regions = [\"eu-central-1\", \"cn-north-1\"]";
    let cases = [
        (
            format!("{two}\n[package.metadata.layer.overrides.mars]\nrole-arn = \"arn:aws:iam::111111111111:role/p\""),
            "package.metadata.layer.overrides.mars: \"mars\" is neither a partition",
        ),
        (
            format!("{two}\n[package.metadata.layer.overrides.us-west-2]\nartifacts-account = \"111111111111\""),
            "package.metadata.layer.overrides.us-west-2: is not one of the layer's regions",
        ),
        (
            format!("{two}\n[package.metadata.layer.overrides.aws-cn]\nrole-arn = \"arn:aws:iam::111111111111:role/p\""),
            "package.metadata.layer.overrides.aws-cn.role-arn: is a role of partition aws, but overrides.aws-cn is in partition aws-cn",
        ),
        (
            format!("{two}\n[package.metadata.layer.stages.dev]\naccounts = [\"222222222222\"]"),
            "package.metadata.layer.stages.dev: the regions span the partitions aws, aws-cn",
        ),
        (
            "region = \"eu-central-1\"\n[package.metadata.layer.stages.dev]\naccounts = [\"222222222222\"]\npartition = \"aws-cn\"".to_string(),
            "package.metadata.layer.stages.dev.partition: is aws-cn, but no region of the layer is in it",
        ),
        (
            format!("{two}\n[package.metadata.layer.overrides.aws-cn]\naws-profile = \"two words\""),
            "package.metadata.layer.overrides.aws-cn.aws-profile: \"two words\" is not an AWS profile name",
        ),
    ];
    for (keys, expected) in cases {
        let error = crate::support::load_error(&keys).to_string();
        assert!(error.contains(expected), "{keys}\n{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}
