//! Many regions at once, zips over 50 MB through S3, stages too large for one policy refused
//! up front, organization and public grants, and prune, against moto server.

use crate::support::moto::{create_bucket, fresh_account, lambda_as, moto};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, json, json_lines, stderr};

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
prod = { accounts = ["333333333333"] }
"#;

fn bucket(account: &str, region: &str) -> String {
    format!("artifacts-{account}-{region}")
}

/// The crate's layer in three regions, through `artifacts-<account>-<region>` buckets.
fn three_regions(krate: &FilesCrate) {
    krate.edit(
        r#"region = "eu-central-1""#,
        r#"regions = ["eu-central-1", "eu-west-1", "us-east-1"]
s3-bucket = "artifacts-{account}-{region}""#,
    );
}

#[test]
fn a_region_without_its_bucket_fails_alone_and_a_rerun_finishes_it() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    three_regions(&krate);
    for region in ["eu-central-1", "us-east-1"] {
        create_bucket(
            &krate.account,
            &bucket(&krate.account, region),
            region,
            false,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs");
    let run = krate
        .command(&moto().endpoint, &["publish", "--message-format", "json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .assert()
        .failure()
        .code(7);
    let done = json_lines(&run);
    let regions: Vec<&str> = done.iter().map(|o| o["region"].as_str().unwrap()).collect();
    assert_eq!(regions, ["eu-central-1", "us-east-1"]);
    let err = stderr(&run);
    let missing = bucket(&krate.account, "eu-west-1");
    assert!(
        err.contains("eu-west-1") && err.contains(&missing) && err.contains("does not exist"),
        "{err}"
    );
    // Each successful region's manifest holds the region -> ARN map of the run.
    for out in &done {
        let arns = out["layer_version_arns"].as_object().unwrap();
        assert_eq!(arns.len(), 2, "{out}");
    }
    let outputs = std::fs::read_to_string(outputs).unwrap();
    assert!(outputs.contains("layer-version-arns="), "{outputs}");

    create_bucket(&krate.account, &missing, "eu-west-1", false);
    let again = json_lines(
        &krate
            .run(&moto().endpoint, &["publish", "--message-format", "json"])
            .success(),
    );
    let published: Vec<(&str, bool)> = again
        .iter()
        .map(|o| {
            (
                o["region"].as_str().unwrap(),
                o["published"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        published,
        [
            ("eu-central-1", false),
            ("eu-west-1", true),
            ("us-east-1", false)
        ]
    );
    assert_eq!(again[0]["layer_version_arns"].as_object().unwrap().len(), 3);
}

#[test]
fn a_layer_over_50_mb_goes_through_s3_once() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    // Incompressible bytes, so the zip is over the 52,428,800-byte direct upload limit.
    let mut big = vec![0u8; 53_000_000];
    fastrand::Rng::with_seed(7).fill(&mut big);
    std::fs::write(krate.dir.path().join("config/model.bin"), big).unwrap();
    let refused = krate.run(&moto().endpoint, &["publish"]).failure().code(5);
    assert!(
        stderr(&refused).contains("s3-bucket"),
        "{}",
        stderr(&refused)
    );

    let name = bucket(&krate.account, "eu-central-1");
    create_bucket(&krate.account, &name, "eu-central-1", true);
    krate.edit(
        r#"region = "eu-central-1""#,
        "region = \"eu-central-1\"\ns3-bucket = \"artifacts-{account}-{region}\"",
    );
    let proxy = Proxy::start();
    let out = json(
        &krate
            .run(
                &proxy.endpoint,
                &["publish", "-q", "--message-format", "json"],
            )
            .success(),
    );
    let zip = std::fs::read(krate.zip()).unwrap();
    assert!(zip.len() > 52_428_800);
    let code = cargo_layer::pack::archive::code_sha256(&zip);
    assert_eq!(out["code_sha256"], code.as_str());
    let lambda = lambda_as(&krate.account);
    assert_eq!(lambda.code_sha256(&krate.name, 1), code);
    assert_eq!(
        proxy.count("UploadPart"),
        4,
        "53 MB in 16 MiB parts: {:?}",
        proxy.calls()
    );

    // A new version of the same zip (other runtimes) finds the object and uploads nothing.
    krate.edit(
        r#"compatible-runtimes = ["provided.al2023"]"#,
        r#"compatible-runtimes = ["provided.al2023", "provided.al2"]"#,
    );
    proxy.clear();
    let out = json(
        &krate
            .run(
                &proxy.endpoint,
                &["publish", "-q", "--message-format", "json"],
            )
            .success(),
    );
    assert_eq!(out["version"], 2);
    let uploads: Vec<String> = proxy
        .calls()
        .into_iter()
        .map(|c| c.operation)
        .filter(|op| op.contains("Upload") || op == "PutObject")
        .collect();
    assert!(uploads.is_empty(), "{uploads:?}");
}

#[test]
fn organization_and_public_grants_work_in_every_region() {
    let krate = FilesCrate::new(
        &fresh_account(),
        r#"
dev = { organization = "o-abcdefghij" }
world = { public = true }
"#,
    );
    krate.edit(
        r#"region = "eu-central-1""#,
        r#"regions = ["eu-central-1", "ap-southeast-2"]"#,
    );
    let outs = json_lines(
        &krate
            .run(&moto().endpoint, &["publish", "--message-format", "json"])
            .success(),
    );
    assert_eq!(outs.len(), 2);
    for out in &outs {
        let grants: Vec<(&str, &str)> = out["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["statement_id"].as_str().unwrap(),
                    g["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            grants,
            [
                ("cargo-layer-dev-org-o-abcdefghij", "added"),
                ("cargo-layer-world-public", "added")
            ],
            "{out}"
        );
    }
}

#[test]
fn a_stage_too_large_for_one_policy_is_refused_before_any_version_exists() {
    let accounts: Vec<String> = (0..400)
        .map(|i| format!("\"{:012}\"", 500_000_000_000u64 + i))
        .collect();
    let krate = FilesCrate::new(
        &fresh_account(),
        &format!("prod = {{ accounts = [{}] }}", accounts.join(", ")),
    );
    let proxy = Proxy::start();
    let run = krate.run(&proxy.endpoint, &["publish"]).failure().code(3);
    let err = stderr(&run);
    assert!(
        err.contains("stages.prod.accounts") && err.contains("organization"),
        "{err}"
    );
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
    assert!(lambda_as(&krate.account).versions(&krate.name).is_empty());
}

#[test]
fn prune_keeps_the_newest_the_versions_stages_use_and_what_manifests_name() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    let lambda = lambda_as(&krate.account);
    let publish = |content: &str, stage: Option<&str>| {
        krate.set_content(content);
        let mut args = vec!["publish", "-q"];
        if let Some(stage) = stage {
            args.extend(["--stage", stage]);
        }
        krate.run(endpoint, &args).success();
    };
    publish("one\n", None); // 1: dev and prod
    publish("two\n", Some("dev")); // 2
    let saved = krate.dir.path().join("v2.json");
    std::fs::copy(krate.layer_manifest(), &saved).unwrap();
    krate.set_content("foreign\n");
    krate.package();
    let foreign = lambda.publish_foreign(&krate.name, std::fs::read(krate.zip()).unwrap()); // 3
    publish("four\n", Some("dev")); // 4
    publish("five\n", Some("dev")); // 5
    assert_eq!(lambda.versions(&krate.name), [5, 4, foreign, 2, 1]);

    let prune = |extra: &[&str]| {
        let mut args = vec![
            "prune",
            "--keep",
            "1",
            "--keep-granted",
            "1",
            "--message-format",
            "json",
        ];
        args.extend(extra);
        json(&krate.run(endpoint, &args).success())
    };
    let kept = |out: &serde_json::Value| -> Vec<i64> {
        out["kept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["version"].as_i64().unwrap())
            .collect()
    };
    let plan = prune(&["--dry-run", "--manifest", saved.to_str().unwrap()]);
    assert_eq!(kept(&plan), [5, foreign, 2, 1], "{plan}");
    assert_eq!(plan["deleted"], serde_json::json!([4]));
    assert_eq!(
        lambda.versions(&krate.name).len(),
        5,
        "a dry run deletes nothing"
    );
    let reasons = plan["kept"].to_string();
    assert!(
        reasons.contains(r#"{"reason":"granted","stage":"prod","keep_granted":1}"#),
        "{reasons}"
    );
    assert!(reasons.contains(r#"{"reason":"foreign"}"#), "{reasons}");

    let out = prune(&[]);
    assert_eq!(out["deleted"], serde_json::json!([4, 2]));
    assert_eq!(lambda.versions(&krate.name), [5, foreign, 1]);

    let out = prune(&["--include-foreign"]);
    assert_eq!(out["deleted"], serde_json::json!([foreign]));
    assert_eq!(lambda.versions(&krate.name), [5, 1]);
}
