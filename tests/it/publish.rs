//! publish / promote / revoke / status against a real local Lambda and STS API (moto server).
//! Every test works in an account of its own.

use crate::support::moto::{self, fresh_account, lambda_as, moto};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, examples_target_dir, json, json_lines, repo_root, stderr};

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
prod = { accounts = ["333333333333", "444444444444"], organization = "o-abcdefghij" }
"#;

fn sids(stage: &str, accounts: &[&str]) -> Vec<String> {
    accounts
        .iter()
        .map(|a| format!("cargo-layer-{stage}-{a}"))
        .collect()
}

fn all_sids() -> Vec<String> {
    let mut all = sids("dev", &["222222222222"]);
    all.extend(sids("prod", &["333333333333", "444444444444"]));
    all.push("cargo-layer-prod-org-o-abcdefghij".into());
    all.sort();
    all
}

#[test]
fn first_publish_creates_one_version_grants_every_stage_and_writes_results() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let arn_file = krate.dir.path().join("out/arn.txt");
    let run = krate
        .run(
            &moto().endpoint,
            &[
                "publish",
                "--message-format",
                "json",
                "--output-file",
                arn_file.to_str().unwrap(),
            ],
        )
        .success();
    let out = json(&run);
    let arn = format!(
        "arn:aws:lambda:eu-central-1:{}:layer:{}:1",
        krate.account, krate.name
    );
    assert_eq!(out["layer_version_arn"], arn.as_str());
    assert_eq!(out["version"], 1);
    assert_eq!(out["published"], true);
    assert_eq!(out["region"], "eu-central-1");
    assert_eq!(out["account"], krate.account.as_str());
    let zip = std::fs::read(krate.zip()).unwrap();
    assert_eq!(
        out["code_sha256"],
        cargo_layer::pack::archive::code_sha256(&zip).as_str()
    );
    assert_eq!(out["zip_size"], zip.len() as u64);
    let grants = out["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 4);
    assert!(grants.iter().all(|g| g["status"] == "added"), "{grants:?}");
    assert!(
        grants
            .iter()
            .any(|g| g["organization"] == "o-abcdefghij" && g["principal"] == "*")
    );

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(krate.layer_manifest()).unwrap()).unwrap();
    assert_eq!(manifest, out, "the manifest holds what stdout printed");
    assert_eq!(
        std::fs::read_to_string(&arn_file).unwrap(),
        format!("{arn}\n")
    );

    let lambda = lambda_as(&krate.account);
    assert_eq!(lambda.versions(&krate.name), vec![1]);
    assert_eq!(lambda.statement_ids(&krate.name, 1), all_sids());
    assert_eq!(
        lambda.code_sha256(&krate.name, 1),
        out["code_sha256"].as_str().unwrap()
    );
}

#[test]
fn unchanged_republish_reuses_the_version_with_no_write_and_at_most_three_reads() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    krate.run(&moto().endpoint, &["publish", "-q"]).success();
    let proxy = Proxy::start();
    let run = krate
        .run(&proxy.endpoint, &["publish", "--message-format", "json"])
        .success();
    let out = json(&run);
    assert_eq!(out["published"], false);
    assert_eq!(out["version"], 1);
    assert_eq!(out["dedupe"]["method"], "marker");
    assert!(
        out["grants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["status"] == "present")
    );
    let calls = proxy.calls();
    let writes: Vec<_> = calls.iter().filter(|c| c.is_lambda_write()).collect();
    assert!(
        writes.is_empty(),
        "no write call on an unchanged re-run: {writes:?}"
    );
    let reads = calls.iter().filter(|c| c.is_lambda()).count();
    assert!(
        reads <= 3,
        "at most 3 Lambda reads, made {reads}: {calls:?}"
    );
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), vec![1]);
}

#[test]
fn changed_content_publishes_a_new_version_and_grants_only_that_version() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    krate
        .run(&moto().endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    krate.set_content("version two\n");
    let out = json(
        &krate
            .run(&moto().endpoint, &["publish", "--message-format", "json"])
            .success(),
    );
    assert_eq!(out["version"], 2);
    assert_eq!(out["published"], true);
    let lambda = lambda_as(&krate.account);
    assert_eq!(lambda.versions(&krate.name), vec![2, 1]);
    assert_eq!(lambda.statement_ids(&krate.name, 2), all_sids());
    assert_eq!(
        lambda.statement_ids(&krate.name, 1),
        sids("dev", &["222222222222"]),
        "the old version keeps exactly what it had"
    );
}

#[test]
fn stage_selection_grants_only_the_named_stages_and_rejects_unknown_ones() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let lambda = lambda_as(&krate.account);
    let run = krate
        .run(&moto().endpoint, &["publish", "--stage", "nope"])
        .failure()
        .code(3);
    assert!(
        stderr(&run).contains("no stage \"nope\""),
        "{}",
        stderr(&run)
    );
    assert!(
        lambda.versions(&krate.name).is_empty(),
        "no AWS write before validation"
    );

    krate
        .run(&moto().endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    assert_eq!(
        lambda.statement_ids(&krate.name, 1),
        sids("dev", &["222222222222"])
    );
    krate
        .run(&moto().endpoint, &["publish", "-q", "--stage", "prod"])
        .success();
    assert_eq!(lambda.statement_ids(&krate.name, 1), all_sids());
    assert_eq!(lambda.versions(&krate.name), vec![1]);
}

#[test]
fn promote_grants_the_tested_version_and_refuses_a_tampered_manifest() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    let lambda = lambda_as(&krate.account);
    let manifest = krate.layer_manifest();

    let mut tampered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    tampered["code_sha256"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    let tampered_path = krate.dir.path().join("tampered.json");
    std::fs::write(&tampered_path, tampered.to_string()).unwrap();
    let run = krate
        .run(
            endpoint,
            &[
                "promote",
                "--stage",
                "prod",
                "--manifest",
                tampered_path.to_str().unwrap(),
            ],
        )
        .failure()
        .code(9);
    assert!(
        stderr(&run).contains("refusing to promote"),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        lambda.statement_ids(&krate.name, 1),
        sids("dev", &["222222222222"])
    );

    let out = json(
        &krate
            .run(
                endpoint,
                &[
                    "promote",
                    "--stage",
                    "prod",
                    "--manifest",
                    manifest.to_str().unwrap(),
                    "--message-format",
                    "json",
                ],
            )
            .success(),
    );
    assert_eq!(out["type"], "promote");
    assert_eq!(out["version"], 1);
    assert_eq!(out["steps"][0]["status"], "ok");
    assert_eq!(lambda.statement_ids(&krate.name, 1), all_sids());
    assert_eq!(
        lambda.versions(&krate.name),
        vec![1],
        "promote never publishes"
    );
}

#[test]
fn promote_by_version_or_arn_checks_existence_region_and_layer() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    let lambda = lambda_as(&krate.account);

    krate
        .run(endpoint, &["promote", "--stage", "prod", "--version", "1"])
        .success();
    assert_eq!(lambda.statement_ids(&krate.name, 1), all_sids());

    let missing = krate
        .run(endpoint, &["promote", "--stage", "prod", "--version", "7"])
        .failure()
        .code(7);
    assert!(
        stderr(&missing).contains("does not exist"),
        "{}",
        stderr(&missing)
    );

    let other_region = format!(
        "arn:aws:lambda:us-east-1:{}:layer:{}:1",
        krate.account, krate.name
    );
    let run = krate
        .run(
            endpoint,
            &["promote", "--stage", "prod", "--arn", &other_region],
        )
        .failure()
        .code(9);
    assert!(stderr(&run).contains("regional"), "{}", stderr(&run));

    let other_layer = format!(
        "arn:aws:lambda:eu-central-1:{}:layer:someone-else:1",
        krate.account
    );
    krate
        .run(
            endpoint,
            &["promote", "--stage", "prod", "--arn", &other_layer],
        )
        .failure()
        .code(9);
}

#[test]
fn revoke_removes_only_its_own_statements_and_status_reports_what_is_missing() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate.run(endpoint, &["publish", "-q"]).success();
    let lambda = lambda_as(&krate.account);
    lambda.add_foreign_statement(&krate.name, 1, "hand-made", "555555555555");

    let run = krate
        .run(
            endpoint,
            &[
                "revoke",
                "--stage",
                "prod",
                "--version",
                "1",
                "--message-format",
                "json",
            ],
        )
        .success();
    let out = json(&run);
    assert_eq!(out["removed"].as_array().unwrap().len(), 3);
    assert!(stderr(&run).contains("keep working"), "{}", stderr(&run));
    let mut expected = sids("dev", &["222222222222"]);
    expected.push("hand-made".into());
    assert_eq!(lambda.statement_ids(&krate.name, 1), expected);

    let status = json(
        &krate
            .run(endpoint, &["status", "--message-format", "json"])
            .success(),
    );
    let version = &status["versions"][0];
    assert_eq!(version["version"], 1);
    assert_eq!(version["matches_local_zip"], true);
    assert_eq!(
        version["stages"]["dev"]["granted"],
        serde_json::json!(["222222222222"])
    );
    assert_eq!(version["stages"]["dev"]["missing"], serde_json::json!([]));
    assert_eq!(
        version["stages"]["prod"]["missing"],
        serde_json::json!(["333333333333", "444444444444", "o-abcdefghij"])
    );
    assert_eq!(
        version["other_statements"],
        serde_json::json!(["hand-made"])
    );

    let human = krate.run(endpoint, &["status"]).success();
    let text = String::from_utf8_lossy(&human.get_output().stdout).to_string();
    assert!(
        text.contains("not granted") && text.contains("hand-made"),
        "{text}"
    );
}

#[test]
fn credentials_of_another_account_are_refused_before_any_write() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    // No --assume-role: the dummy keys are moto's default account 123456789012.
    let proxy = Proxy::start();
    let mut cmd = moto::tool(&proxy.endpoint);
    let run = cmd
        .args([
            "publish",
            "--manifest-path",
            krate.manifest_path().to_str().unwrap(),
        ])
        .assert()
        .failure()
        .code(6);
    let err = stderr(&run);
    assert!(
        err.contains("123456789012") && err.contains(&krate.account),
        "{err}"
    );
    assert!(lambda_as("123456789012").versions(&krate.name).is_empty());
    assert!(lambda_as(&krate.account).versions(&krate.name).is_empty());
}

#[test]
fn dry_run_plans_without_any_write_call() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    let out = json(
        &krate
            .run(
                &proxy.endpoint,
                &["publish", "--dry-run", "--message-format", "json"],
            )
            .success(),
    );
    assert_eq!(out["type"], "plan");
    assert_eq!(out["action"], "publish");
    assert!(
        out["grants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["status"] == "would-add")
    );
    assert!(
        !proxy.calls().iter().any(|c| c.is_lambda_write()),
        "{:?}",
        proxy.calls()
    );
    assert!(lambda_as(&krate.account).versions(&krate.name).is_empty());
    assert!(
        !krate.layer_manifest().exists(),
        "a dry run writes no manifest"
    );

    krate
        .run(&moto().endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    proxy.clear();
    let out = json(
        &krate
            .run(
                &proxy.endpoint,
                &["publish", "--dry-run", "--message-format", "json"],
            )
            .success(),
    );
    assert_eq!(out["action"], "reuse");
    assert_eq!(out["version"], 1);
    let statuses: Vec<&str> = out["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["present", "would-add", "would-add", "would-add"]);
    assert!(!proxy.calls().iter().any(|c| c.is_lambda_write()));
}

#[test]
fn a_version_published_by_another_tool_is_found_by_hash() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate.package();
    let lambda = lambda_as(&krate.account);
    let foreign = lambda.publish_foreign(&krate.name, std::fs::read(krate.zip()).unwrap());
    let out = json(
        &krate
            .run(endpoint, &["publish", "--message-format", "json"])
            .success(),
    );
    assert_eq!(out["version"], foreign);
    assert_eq!(out["published"], false);
    assert_eq!(out["dedupe"]["method"], "hash-scan");
    assert_eq!(lambda.versions(&krate.name), vec![foreign]);
}

#[test]
fn concurrent_publishers_of_the_same_content_end_on_one_version() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = moto().endpoint.clone();
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    krate
                        .run(&endpoint, &["publish", "-q", "--message-format", "json"])
                        .success()
                })
            })
            .collect();
        let versions: Vec<i64> = runs
            .into_iter()
            .map(|r| json(&r.join().unwrap())["version"].as_i64().unwrap())
            .collect();
        assert!(
            versions.windows(2).all(|w| w[0] == w[1]),
            "all runs report one version: {versions:?}"
        );
    });
    let lambda = lambda_as(&krate.account);
    assert_eq!(lambda.versions(&krate.name).len(), 1);
}

#[test]
fn credentials_from_the_environment_publish_the_example_extension() {
    // As aws-actions/configure-aws-credentials exports them: keys plus a session token.
    let account = "111111111111"; // examples/hello-extension's artifacts-account
    let lambda = lambda_as(account);
    let (key, secret, token) = moto::assumed_keys(account);
    let proxy = Proxy::start();
    let mut cmd = moto::tool(&proxy.endpoint);
    cmd.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token)
        .env("CARGO_TARGET_DIR", examples_target_dir())
        .args([
            "publish",
            "--manifest-path",
            repo_root()
                .join("examples/hello-extension/Cargo.toml")
                .to_str()
                .unwrap(),
            "--stage",
            "dev",
            "--message-format",
            "json",
        ]);
    let out = json(&cmd.assert().success());
    assert_eq!(out["name"], "hello-extension");
    let version = out["version"].as_i64().unwrap();
    assert!(lambda.versions("hello-extension").contains(&version));
    assert_eq!(
        lambda.statement_ids("hello-extension", version),
        vec!["cargo-layer-dev-222222222222".to_string()]
    );
}

#[test]
fn several_regions_get_one_version_each_and_a_manifest_each() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let manifest = std::fs::read_to_string(krate.manifest_path())
        .unwrap()
        .replace(
            "region = \"eu-central-1\"",
            "regions = [\"eu-central-1\", \"us-east-1\"]",
        );
    std::fs::write(krate.manifest_path(), manifest).unwrap();
    let run = krate
        .run(
            &moto().endpoint,
            &["publish", "--stage", "dev", "--message-format", "json"],
        )
        .success();
    let outs = json_lines(&run);
    let regions: Vec<&str> = outs.iter().map(|o| o["region"].as_str().unwrap()).collect();
    assert_eq!(regions, ["eu-central-1", "us-east-1"]);
    for out in &outs {
        let region = out["region"].as_str().unwrap();
        assert!(
            out["layer_version_arn"]
                .as_str()
                .unwrap()
                .contains(&format!(":{region}:"))
        );
        let path = krate
            .dir
            .path()
            .join(format!("target/layer/{}.{region}.json", krate.name));
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(&written, out);
    }
    // --region picks one of them.
    let run = krate
        .run(
            &moto().endpoint,
            &[
                "publish",
                "--stage",
                "dev",
                "--region",
                "us-east-1",
                "--message-format",
                "json",
            ],
        )
        .success();
    let outs = json_lines(&run);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0]["published"], false);
}

#[test]
fn the_workspace_example_publishes_both_layers_with_inherited_defaults() {
    let (key, secret, token) = moto::assumed_keys("111111111111");
    let proxy = Proxy::start();
    let mut cmd = moto::tool(&proxy.endpoint);
    cmd.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token)
        .env("CARGO_TARGET_DIR", examples_target_dir().join("workspace"))
        .args([
            "publish",
            "--stage",
            "dev",
            "--message-format",
            "json",
            "--manifest-path",
        ])
        .arg(repo_root().join("examples/workspace/Cargo.toml"));
    let outs = json_lines(&cmd.assert().success());
    let names: Vec<&str> = outs.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shared-tools", "app-config-files"]);
    for out in &outs {
        assert_eq!(
            out["account"], "111111111111",
            "artifacts-account from the workspace"
        );
        assert_eq!(
            out["grants"][0]["statement_id"],
            "cargo-layer-dev-222222222222"
        );
    }
}
