//! The one promise: one immutable version per artifact, nothing deleted that the run cannot prove
//! it made, and every result naming what AWS holds. Each test reproduces one finding of the
//! trust audit against moto server (through the recording proxy where calls are counted or
//! faults injected).

use std::collections::BTreeSet;

use cargo_layer::pack::archive;

use crate::support::moto::{fresh_account, lambda_as, moto, role, tool};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, error_line, json, stderr};

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
prod = { accounts = ["333333333333"] }
"#;

const RUNTIME: &str = "provided.al2023";

/// The zip `package` wrote, and its CodeSha256.
fn packed(krate: &FilesCrate) -> (Vec<u8>, String) {
    krate.package();
    let zip = std::fs::read(krate.zip()).unwrap();
    let code = archive::code_sha256(&zip);
    (zip, code)
}

/// A zip of other content, leaving the crate as it was.
fn other_bytes(krate: &FilesCrate) -> Vec<u8> {
    krate.set_content("something else\n");
    let (zip, _) = packed(krate);
    krate.set_content("version one\n");
    krate.package();
    zip
}

/// A description with the content marker as the first cargo-layer releases wrote it (no run
/// id); markers of this form stay readable.
fn marked(text: &str, code: &str) -> String {
    format!("{text} [cargo-layer sha256:{code}]")
}

fn notes(out: &serde_json::Value) -> String {
    out["notes"]
        .as_array()
        .map(|n| {
            n.iter()
                .map(|n| n.as_str().unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn publish_json(krate: &FilesCrate, endpoint: &str) -> serde_json::Value {
    json(
        &krate
            .run(endpoint, &["publish", "-q", "--message-format", "json"])
            .success(),
    )
}

#[test]
fn a_copied_marker_on_other_bytes_is_never_deleted() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let lambda = lambda_as(&krate.account);
    let (zip, code) = packed(&krate);
    let real = lambda.publish_raw(&krate.name, zip, &marked("test layer", &code), &[RUNTIME]);
    // Another tool copies the marker onto different bytes, after the real version.
    let copied = marked("copied", &code);
    let copy = lambda.publish_raw(&krate.name, other_bytes(&krate), &copied, &[RUNTIME]);

    let proxy = Proxy::start();
    let out = publish_json(&krate, &proxy.endpoint);
    assert_eq!(out["version"], real);
    assert_eq!(out["published"], false);
    assert_eq!(lambda.versions(&krate.name), [copy, real]);
    assert!(
        !proxy.writes().contains(&"DeleteLayerVersion".to_string()),
        "{:?}",
        proxy.writes()
    );
}

#[test]
fn a_copied_marker_alone_is_not_reused_and_a_new_version_leaves_it_alone() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let lambda = lambda_as(&krate.account);
    let (_, code) = packed(&krate);
    let copied = marked("copied", &code);
    let copy = lambda.publish_raw(&krate.name, other_bytes(&krate), &copied, &[RUNTIME]);

    let out = publish_json(&krate, &moto().endpoint);
    let version = out["version"].as_i64().unwrap();
    assert_eq!(out["published"], true);
    assert_eq!(lambda.versions(&krate.name), [version, copy]);
    assert_eq!(lambda.code_sha256(&krate.name, version), code);
    assert!(
        notes(&out).contains(&format!("version {copy} carries this content's marker")),
        "{out}"
    );
}

#[test]
fn twins_from_earlier_runs_are_reused_oldest_first_and_never_deleted() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let lambda = lambda_as(&krate.account);
    let (zip, code) = packed(&krate);
    // Two pipelines raced and crashed before settling; a function already uses the newer one.
    let older = lambda.publish_raw(
        &krate.name,
        zip.clone(),
        &marked("first", &code),
        &[RUNTIME],
    );
    let newer = lambda.publish_raw(&krate.name, zip, &marked("second", &code), &[RUNTIME]);
    krate.run(&moto().endpoint, &["publish", "-q"]).success();

    let proxy = Proxy::start();
    let out = publish_json(&krate, &proxy.endpoint);
    assert_eq!(out["version"], older);
    assert_eq!(lambda.versions(&krate.name), [newer, older]);
    assert!(
        notes(&out).contains(&format!("version(s) {newer} also carry")),
        "{out}"
    );
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());
    let reads = proxy.calls().iter().filter(|c| c.is_lambda()).count();
    assert!(reads <= 3, "{:?}", proxy.calls());

    // status reports the twin.
    let status = json(
        &krate
            .run(&moto().endpoint, &["status", "--message-format", "json"])
            .success(),
    );
    let twin = status["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == newer)
        .unwrap();
    assert_eq!(twin["twin_of"], older, "{status}");
}

#[test]
fn the_hash_scan_reuses_the_oldest_confirmed_version() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let lambda = lambda_as(&krate.account);
    let (zip, _) = packed(&krate);
    let older = lambda.publish_foreign(&krate.name, zip.clone());
    let newer = lambda.publish_foreign(&krate.name, zip);
    let out = publish_json(&krate, &moto().endpoint);
    assert_eq!(out["dedupe"]["method"], "hash-scan");
    assert_eq!(out["version"], older);
    assert_eq!(lambda.versions(&krate.name), [newer, older]);
}

#[test]
fn runtimes_and_license_are_part_of_a_version_and_the_manifest_says_what_aws_holds() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let lambda = lambda_as(&krate.account);
    let first = publish_json(&krate, &moto().endpoint);
    assert_eq!(first["version"], 1);

    krate.edit(
        r#"compatible-runtimes = ["provided.al2023"]"#,
        r#"compatible-runtimes = ["provided.al2023", "provided.al2"]"#,
    );
    let out = publish_json(&krate, &moto().endpoint);
    assert_eq!(out["version"], 2);
    assert_eq!(out["published"], true);
    assert!(notes(&out).contains("compatible-runtimes"), "{out}");
    let held: BTreeSet<String> = lambda.runtimes(&krate.name, 2).into_iter().collect();
    let reported: BTreeSet<String> = out["compatible_runtimes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(reported, held);
    assert_eq!(held.len(), 2);

    krate.edit(r#"kind = "files""#, "kind = \"files\"\nlicense = \"MIT\"");
    let out = publish_json(&krate, &moto().endpoint);
    assert_eq!(out["version"], 3);
    assert_eq!(out["license"], "MIT");
    assert!(notes(&out).contains("license"), "{out}");

    // The description alone is not part of the artifact.
    krate.edit(
        r#"description = "test layer""#,
        r#"description = "test layer, reworded""#,
    );
    let out = publish_json(&krate, &moto().endpoint);
    assert_eq!(out["version"], 3);
    assert_eq!(out["published"], false);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(krate.layer_manifest()).unwrap()).unwrap();
    assert_eq!(written["license"], "MIT");
}

#[test]
fn the_manifest_file_name_follows_the_configured_regions() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    krate.edit(
        r#"region = "eu-central-1""#,
        r#"regions = ["eu-central-1", "us-east-1"]"#,
    );
    let out = json(
        &krate
            .run(
                &moto().endpoint,
                &[
                    "publish",
                    "--region",
                    "us-east-1",
                    "--message-format",
                    "json",
                ],
            )
            .success(),
    );
    let dir = krate.dir.path().join("target/layer");
    let regional = dir.join(format!("{}.us-east-1.json", krate.name));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&regional).unwrap()).unwrap();
    assert_eq!(written, out);
    assert!(!krate.layer_manifest().exists(), "no {}.json", krate.name);
}

#[test]
fn arns_carry_the_partition_of_their_region() {
    // An account belongs to one partition: a stage granted in three needs no account of its own.
    let krate = FilesCrate::new(&fresh_account(), "dev = { public = true }");
    // `--region` picks one of the configured regions, for iam-policy as for publish.
    krate.edit(
        r#"region = "eu-central-1""#,
        r#"regions = ["eu-central-1", "cn-north-1", "us-gov-west-1"]"#,
    );
    let proxy = Proxy::start();
    for (region, partition) in [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")] {
        let run = tool(&proxy.endpoint)
            .args(["iam-policy", "--region", region, "--manifest-path"])
            .arg(krate.manifest_path())
            .assert()
            .success();
        let policy = String::from_utf8_lossy(&run.get_output().stdout).to_string();
        assert!(
            policy.contains(&format!("arn:{partition}:lambda:{region}:")),
            "{policy}"
        );
        assert!(!policy.contains("arn:aws:"), "{policy}");
    }
    let arn = format!(
        "arn:aws:lambda:cn-north-1:{}:layer:{}:1",
        krate.account, krate.name
    );
    let run = krate
        .run(
            "http://127.0.0.1:9",
            &["promote", "--stage", "dev", "--arn", &arn],
        )
        .failure()
        .code(9);
    let line = error_line(&run);
    assert!(
        line.contains("partition") && line.contains("aws-cn"),
        "{line}"
    );
}

#[test]
fn dry_runs_say_what_they_would_do_in_one_plan_shape() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "dev"])
        .success();

    let run = krate
        .run(
            endpoint,
            &["promote", "--stage", "prod", "--version", "1", "--dry-run"],
        )
        .success();
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).to_string();
    let all = format!("{stdout}{}", stderr(&run));
    assert!(stdout.contains("would promote version 1"), "{stdout}");
    assert!(!all.contains("promoted"), "{all}");

    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let plan = json(
        &krate
            .command(
                endpoint,
                &[
                    "promote",
                    "--stage",
                    "prod",
                    "--version",
                    "1",
                    "--dry-run",
                    "--message-format",
                    "json",
                ],
            )
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .assert()
            .success(),
    );
    assert_eq!(
        (&plan["type"], &plan["command"], &plan["action"]),
        (&"plan".into(), &"promote".into(), &"grant".into())
    );
    assert_eq!(plan["grants"][0]["status"], "would-add");
    let outputs = std::fs::read_to_string(outputs).unwrap();
    assert!(outputs.contains("dry-run=true\n"), "{outputs}");
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(summary.starts_with("### Dry run:"), "{summary}");
    assert!(!summary.contains("promoted"), "{summary}");

    let plan = json(
        &krate
            .run(
                endpoint,
                &[
                    "revoke",
                    "--stage",
                    "dev",
                    "--version",
                    "1",
                    "--dry-run",
                    "--message-format",
                    "json",
                ],
            )
            .success(),
    );
    assert_eq!(
        (&plan["type"], &plan["command"]),
        (&"plan".into(), &"revoke".into())
    );
    assert_eq!(plan["grants"][0]["status"], "would-remove");
    let publish_plan = json(
        &krate
            .run(
                endpoint,
                &["publish", "--dry-run", "--message-format", "json"],
            )
            .success(),
    );
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    for key in [
        "schema_version",
        "type",
        "command",
        "name",
        "region",
        "account",
        "action",
    ] {
        assert!(
            keys(&publish_plan).contains(&key.to_string()),
            "{publish_plan}"
        );
        assert!(keys(&plan).contains(&key.to_string()), "{plan}");
    }
    assert_eq!(
        lambda_as(&krate.account).statement_ids(&krate.name, 1),
        ["cargo-layer-dev-222222222222"]
    );
}

#[test]
fn a_revoke_whose_response_was_lost_reports_the_grant_removed() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    krate
        .run(&moto().endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    let proxy = Proxy::start();
    proxy.drop_response("RemoveLayerVersionPermission", 1);
    let out = json(
        &krate
            .run(
                &proxy.endpoint,
                &[
                    "revoke",
                    "--stage",
                    "dev",
                    "--version",
                    "1",
                    "--message-format",
                    "json",
                ],
            )
            .success(),
    );
    assert_eq!(out["removed"][0]["status"], "removed", "{out}");
    assert_eq!(
        out["removed"][0]["statement_id"],
        "cargo-layer-dev-222222222222"
    );
    let removes = proxy.count("RemoveLayerVersionPermission");
    assert!(
        removes >= 2,
        "the lost call was retried: {:?}",
        proxy.calls()
    );
    assert!(
        lambda_as(&krate.account)
            .statement_ids(&krate.name, 1)
            .is_empty()
    );
}

#[test]
fn status_with_another_accounts_credentials_is_refused() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let configured = fresh_account();
    krate.edit(
        &format!(r#"artifacts-account = "{}""#, krate.account),
        &format!(r#"artifacts-account = "{configured}""#),
    );
    let run = krate.run(&moto().endpoint, &["status"]).failure().code(6);
    let line = error_line(&run);
    assert!(
        line.contains(&krate.account) && line.contains(&configured),
        "{line}"
    );
}

#[test]
fn a_failed_assume_role_is_one_line_naming_the_role_and_the_fix() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    proxy.fail(
        "AssumeRole",
        1,
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole",
    );
    let run = krate.run(&proxy.endpoint, &["publish"]).failure().code(6);
    let line = error_line(&run);
    assert!(line.contains("sts:AssumeRole"), "{line}");
    assert!(line.contains(&role(&krate.account)), "{line}");
    assert!(
        line.contains("AccessDenied") && line.contains("trust policy"),
        "{line}"
    );
    assert!(proxy.writes().is_empty());
}

#[test]
fn a_role_is_assumed_once_per_run_whatever_the_regions() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    krate.edit(
        r#"region = "eu-central-1""#,
        r#"regions = ["eu-central-1", "us-east-1"]"#,
    );
    let proxy = Proxy::start();
    krate.run(&proxy.endpoint, &["publish", "-q"]).success();
    assert_eq!(proxy.count("AssumeRole"), 1, "{:?}", proxy.calls());
}

#[test]
fn a_failed_policy_read_after_publishing_still_hands_out_the_arn() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    proxy.fail(
        "GetLayerVersionPolicy",
        1,
        403,
        "AccessDeniedException",
        "User is not authorized to perform: lambda:GetLayerVersionPolicy",
    );
    let run = krate
        .run(
            &proxy.endpoint,
            &["publish", "-q", "--message-format", "json"],
        )
        .failure()
        .code(8);
    let out = json(&run);
    assert_eq!(out["version"], 1);
    assert!(out["layer_version_arn"].as_str().unwrap().ends_with(":1"));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(krate.layer_manifest()).unwrap()).unwrap();
    assert_eq!(written, out);
    assert!(out["grants"].as_array().unwrap().iter().all(|g| {
        g["status"] == "failed"
            && g["error"]
                .as_str()
                .unwrap()
                .contains("lambda:GetLayerVersionPolicy")
    }));
    // A re-run finishes the grants on the same version.
    let again = publish_json(&krate, &proxy.endpoint);
    assert_eq!(again["version"], 1);
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), [1]);
}

/// AWS lists at most 50 versions a page, so the cost of an unchanged re-run grows by one
/// ListLayerVersions per page in front of the match: 3 Lambda reads with the match on the first
/// page, 5 with it on the third (the README states the cost per page).
#[test]
fn an_unchanged_rerun_costs_one_list_call_per_page_before_the_match() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    krate.run(&moto().endpoint, &["publish", "-q"]).success();
    let lambda = lambda_as(&krate.account);
    let other = other_bytes(&krate);
    let other_code = archive::code_sha256(&other);
    for _ in 0..110 {
        lambda.publish_raw(
            &krate.name,
            other.clone(),
            &marked("later", &other_code),
            &[RUNTIME],
        );
    }
    let proxy = Proxy::start();
    let out = publish_json(&krate, &proxy.endpoint);
    assert_eq!(out["version"], 1, "{out}");
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());
    let reads: Vec<String> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.is_lambda())
        .map(|c| c.operation)
        .collect();
    assert_eq!(
        reads,
        [
            "ListLayerVersions",
            "ListLayerVersions",
            "ListLayerVersions",
            "GetLayerVersion",
            "GetLayerVersionPolicy"
        ],
        "the match is on page 3 of 111 versions"
    );
}
