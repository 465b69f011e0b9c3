//! A layer in several regions, command by command: prune, status and promote act on every
//! region at once like publish, a region made to fail stops none of the others and is named,
//! and what a failed region leaves behind can no longer be promoted. Also status's comparison
//! with the local zip and its grant check, and prune's reasons for keeping a version.

use serde_json::Value;

use crate::support::moto::{fresh_account, lambda_as};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, error_line, json, json_lines, stderr};

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
prod = { accounts = ["333333333333"] }
"#;

const REGIONS: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];
/// The region each test makes fail.
const FAILING: &str = "eu-west-1";

fn in_regions(regions: &[&str]) -> FilesCrate {
    in_regions_with(regions, STAGES)
}

fn in_regions_with(regions: &[&str], stages: &str) -> FilesCrate {
    let krate = FilesCrate::new(&fresh_account(), stages);
    let list: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
    krate.edit(
        r#"region = "eu-central-1""#,
        &format!("regions = [{}]", list.join(", ")),
    );
    krate
}

/// Publish `contents` one after the other, each to every region.
fn publish_each(krate: &FilesCrate, proxy: &Proxy, contents: &[&str], extra: &[&str]) {
    for content in contents {
        krate.set_content(content);
        let mut args = vec!["publish", "-q"];
        args.extend(extra);
        krate.run(&proxy.endpoint, &args).success();
    }
}

fn regions_of(results: &[Value]) -> Vec<&str> {
    results
        .iter()
        .map(|o| o["region"].as_str().unwrap())
        .collect()
}

fn numbers(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().or_else(|| v["version"].as_i64()).unwrap())
        .collect()
}

fn manifest_of(krate: &FilesCrate, region: &str) -> std::path::PathBuf {
    krate
        .dir
        .path()
        .join(format!("target/layer/{}.{region}.json", krate.name))
}

fn fail(proxy: &Proxy, operation: &str) {
    proxy.fail_in_region(
        FAILING,
        operation,
        403,
        "AccessDeniedException",
        "denied here",
    );
}

#[test]
fn prune_attempts_every_region_and_names_the_failing_one() {
    // No stages, so only --keep decides.
    let krate = in_regions_with(&REGIONS, "");
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n", "two\n", "three\n"], &[]);
    fail(&proxy, "DeleteLayerVersion");
    let args = ["prune", "--keep", "1", "--message-format", "json"];
    let run = krate.run(&proxy.endpoint, &args).failure().code(7);
    let results = json_lines(&run);
    assert_eq!(regions_of(&results), REGIONS, "{results:?}");
    for out in &results {
        let failing = out["region"] == FAILING;
        let (deleted, left) = if failing {
            (vec![], vec![2, 1])
        } else {
            (vec![2, 1], vec![])
        };
        assert_eq!(numbers(&out["deleted"]), deleted, "{out}");
        let not_deleted = out.get("not_deleted").map(numbers).unwrap_or_default();
        assert_eq!(not_deleted, left, "{out}");
    }
    let error = error_line(&run);
    assert!(
        error.contains(FAILING) && error.contains("1 of 3 region(s) failed"),
        "{error}"
    );
    let deleted_in_us = proxy
        .calls_in("us-east-1")
        .iter()
        .filter(|c| c.operation == "DeleteLayerVersion")
        .count();
    assert_eq!(
        deleted_in_us, 2,
        "the region after the failing one is pruned too"
    );
}

#[test]
fn prune_protects_the_version_a_manifest_names_in_every_region() {
    let krate = in_regions_with(&REGIONS[..2], "");
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n"], &[]);
    let saved = krate.dir.path().join("v1.json");
    std::fs::copy(manifest_of(&krate, "eu-central-1"), &saved).unwrap();
    // Another layer's manifest protects nothing here, and says so.
    let other = krate.dir.path().join("other.json");
    let text = std::fs::read_to_string(&saved).unwrap();
    std::fs::write(&other, text.replace(&krate.name, "another-layer")).unwrap();
    publish_each(&krate, &proxy, &["two\n", "three\n"], &[]);
    let run = krate
        .run(
            &proxy.endpoint,
            &[
                "prune",
                "--keep",
                "1",
                "--message-format",
                "json",
                "--manifest",
                saved.to_str().unwrap(),
                "--manifest",
                other.to_str().unwrap(),
            ],
        )
        .success();
    for out in json_lines(&run) {
        assert_eq!(numbers(&out["deleted"]), [2], "{out}");
        let kept = &out["kept"][1];
        assert_eq!(kept["version"], 1, "{out}");
        assert_eq!(kept["reasons"][0]["reason"], "manifest", "{out}");
    }
    let err = stderr(&run);
    assert!(
        err.contains("other.json") && err.contains("protects nothing"),
        "{err}"
    );
    assert!(!err.contains("v1.json:"), "{err}");
}

#[test]
fn prune_keeps_the_version_a_stage_was_rolled_back_to() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n", "two\n"], &[]); // 1 and 2: dev and prod
    // prod is rolled back to 1 (its grant on 1 is still there); dev moves on to 3.
    publish_each(&krate, &proxy, &["three\n"], &["--stage", "dev"]);
    let args = ["prune", "--keep", "1", "--message-format", "json"];
    let out = json(&krate.run(&proxy.endpoint, &args).success());
    assert_eq!(numbers(&out["kept"]), [3, 2, 1], "{out}");
    assert!(numbers(&out["deleted"]).is_empty(), "{out}");
    let reasons = &out["kept"][2]["reasons"];
    assert!(
        reasons
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reason"] == "granted" && r["stage"] == "prod" && r["keep_granted"] == 3),
        "{out}"
    );
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), [3, 2, 1]);
    let help = krate.run(&proxy.endpoint, &["prune", "--help"]).success();
    assert!(
        crate::support::stdout(&help).contains("--keep-granted"),
        "prune --help names the flag"
    );
}

#[test]
fn status_shows_every_region_and_a_failing_one_alone_fails() {
    let krate = in_regions(&REGIONS);
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n"], &[]);
    fail(&proxy, "ListLayerVersions");
    let run = krate
        .run(&proxy.endpoint, &["status", "--message-format", "json"])
        .failure()
        .code(7);
    let results = json_lines(&run);
    assert_eq!(regions_of(&results), ["eu-central-1", "us-east-1"]);
    let error = error_line(&run);
    assert!(error.contains(FAILING), "{error}");
    // --region narrows it to one.
    let one = json_lines(
        &krate
            .run(
                &proxy.endpoint,
                &[
                    "status",
                    "--region",
                    "us-east-1",
                    "--message-format",
                    "json",
                ],
            )
            .success(),
    );
    assert_eq!(regions_of(&one), ["us-east-1"]);
}

#[test]
fn promote_manifest_grants_every_region_after_checking_each_hash() {
    let krate = in_regions(&REGIONS[..2]);
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n"], &["--stage", "dev"]);
    let manifest = manifest_of(&krate, "eu-central-1");
    let written: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(written["code_sha256s"].as_object().unwrap().len(), 2);

    // A region whose version holds other bytes than the manifest records: nothing is granted.
    let tampered = krate.dir.path().join("tampered.json");
    let mut changed = written.clone();
    changed["code_sha256s"]["eu-west-1"] = "AAAA".into();
    std::fs::write(&tampered, changed.to_string()).unwrap();
    proxy.clear();
    let args = ["promote", "--stage", "prod", "--manifest"];
    let mut refused = args.to_vec();
    refused.push(tampered.to_str().unwrap());
    let run = krate.run(&proxy.endpoint, &refused).failure().code(9);
    assert!(error_line(&run).contains("eu-west-1"), "{}", stderr(&run));
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());

    // A manifest without the hash of a region cannot promote it.
    let old = krate.dir.path().join("old.json");
    let mut before = written.clone();
    before.as_object_mut().unwrap().remove("code_sha256s");
    std::fs::write(&old, before.to_string()).unwrap();
    let mut unchecked = args.to_vec();
    unchecked.push(old.to_str().unwrap());
    let run = krate.run(&proxy.endpoint, &unchecked).failure().code(9);
    assert!(
        error_line(&run).contains("no CodeSha256 for eu-west-1"),
        "{}",
        stderr(&run)
    );
    assert!(proxy.writes().is_empty(), "{:?}", proxy.writes());

    // Both manifests of the run may be given: each region is promoted once.
    let west = manifest_of(&krate, "eu-west-1");
    let mut both = args.to_vec();
    both.extend([
        manifest.to_str().unwrap(),
        "--manifest",
        west.to_str().unwrap(),
        "--message-format",
        "json",
    ]);
    let results = json_lines(&krate.run(&proxy.endpoint, &both).success());
    assert_eq!(regions_of(&results), ["eu-central-1", "eu-west-1"]);
    for out in &results {
        assert_eq!(out["steps"][0]["status"], "ok", "{out}");
        let prod: Vec<&Value> = out["grants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["stage"] == "prod")
            .collect();
        assert_eq!(prod[0]["status"], "added", "{out}");
    }

    // --version cannot name one version for several regions.
    let run = krate
        .run(
            &proxy.endpoint,
            &["promote", "--stage", "prod", "--version", "1"],
        )
        .failure()
        .code(3);
    assert!(
        error_line(&run).contains("differ per region"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn a_failed_region_leaves_no_stale_manifest() {
    let krate = in_regions(&REGIONS[..2]);
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n"], &[]);
    assert!(manifest_of(&krate, FAILING).exists());
    fail(&proxy, "PublishLayerVersion");
    krate.set_content("two\n");
    krate.run(&proxy.endpoint, &["publish"]).failure().code(7);
    assert!(
        !manifest_of(&krate, FAILING).exists(),
        "the failed region's manifest of the earlier run names an older version as if current"
    );
    let fresh: Value =
        serde_json::from_slice(&std::fs::read(manifest_of(&krate, "eu-central-1")).unwrap())
            .unwrap();
    assert_eq!(fresh["version"], 2);
    assert_eq!(fresh["layer_version_arns"].as_object().unwrap().len(), 1);
}

#[test]
fn every_line_of_a_multi_region_run_names_its_region() {
    let krate = in_regions(&REGIONS);
    let proxy = Proxy::start();
    fail(&proxy, "PublishLayerVersion");
    let run = krate.run(&proxy.endpoint, &["publish"]).failure().code(7);
    let err = stderr(&run);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("no version holds this content") || l.contains("granting"))
        .collect();
    assert_eq!(lines.len(), 3 + 2, "{err}");
    for line in lines {
        assert!(
            REGIONS.iter().any(|r| line.contains(&format!("[{r}]"))),
            "{line}"
        );
    }
    assert!(
        error_line(&run).contains("1 of 3 region(s) failed"),
        "{err}"
    );
}

#[test]
fn a_single_region_failure_does_not_speak_of_other_regions() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    proxy.fail_in_region(
        "eu-central-1",
        "PublishLayerVersion",
        403,
        "AccessDeniedException",
        "no",
    );
    let run = krate.run(&proxy.endpoint, &["publish"]).failure().code(7);
    let error = error_line(&run);
    assert!(error.contains("eu-central-1"), "{error}");
    assert!(!error.contains("other regions"), "{error}");
}

#[test]
fn status_compares_with_the_zip_in_out_dir_packed_for_this_configuration() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    let elsewhere = krate.dir.path().join("elsewhere");
    krate.set_content("one\n");
    let out_dir = elsewhere.to_str().unwrap();
    krate
        .run(&proxy.endpoint, &["publish", "-q", "--out-dir", out_dir])
        .success(); // 1, zip in elsewhere/
    publish_each(&krate, &proxy, &["two\n"], &[]); // 2, zip in target/layer
    // The same bytes as 1, with other runtimes: not what this configuration publishes.
    let zip = std::fs::read(elsewhere.join(format!("{}.zip", krate.name))).unwrap();
    let lambda = lambda_as(&krate.account);
    let twin = lambda.publish_raw(&krate.name, zip, "another tool", &["provided.al2"]);
    let args = ["status", "--message-format", "json", "--out-dir", out_dir];
    let out = json(&krate.run(&proxy.endpoint, &args).success());
    let matching = crate::support::marked_local(&out);
    assert_eq!(matching, [1], "not {twin} (other runtimes) nor 2: {out}");
}

#[test]
fn status_limit_says_how_many_it_shows() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n", "two\n", "three\n"], &[]);
    let run = krate
        .run(&proxy.endpoint, &["status", "--limit", "1"])
        .success();
    let shown = crate::support::stdout(&run);
    assert!(shown.contains("showing 1 of 3 versions"), "{shown}");
}

#[test]
fn status_does_not_call_a_statement_granted_when_it_grants_someone_else() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n"], &["--stage", "dev"]);
    // cargo-layer's statement ID for prod, granting another account.
    lambda_as(&krate.account).add_foreign_statement(
        &krate.name,
        1,
        "cargo-layer-prod-333333333333",
        "999999999999",
    );
    let args = ["status", "--message-format", "json"];
    let out = json(&krate.run(&proxy.endpoint, &args).success());
    let prod = &out["versions"][0]["stages"]["prod"];
    assert_eq!(prod["granted"], serde_json::json!([]), "{out}");
    assert_eq!(
        prod["mismatched"],
        serde_json::json!(["333333333333"]),
        "{out}"
    );
    let human = crate::support::stdout(&krate.run(&proxy.endpoint, &["status"]).success());
    let line = human
        .lines()
        .find(|l| l.trim_start().starts_with("prod"))
        .unwrap();
    assert!(line.contains("mismatched"), "{human}");
}

#[test]
fn a_delete_that_fails_half_way_reports_what_was_deleted_before_it() {
    let krate = FilesCrate::new(&fresh_account(), "");
    let proxy = Proxy::start();
    publish_each(&krate, &proxy, &["one\n", "two\n", "three\n"], &[]);
    // The first delete goes through (held a moment), the second is refused.
    proxy.stall("DeleteLayerVersion", 1, std::time::Duration::from_millis(1));
    proxy.fail(
        "DeleteLayerVersion",
        1,
        403,
        "AccessDeniedException",
        "denied",
    );
    let args = ["prune", "--keep", "1", "--message-format", "json"];
    let run = krate.run(&proxy.endpoint, &args).failure().code(7);
    let out = &json_lines(&run)[0];
    assert_eq!(numbers(&out["deleted"]), [2], "{out}");
    assert_eq!(numbers(&out["not_deleted"]), [1], "{out}");
    let error = error_line(&run);
    assert!(
        error.contains("eu-central-1") && error.contains("DeleteLayerVersion"),
        "{error}"
    );
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), [3, 1]);
}

/// Accounts that use a public or organization version cannot be listed, so prune keeps such a
/// version whatever `--keep-granted` says, until `--include-shared`.
#[test]
fn prune_keeps_what_an_organization_or_everyone_may_use_unless_told() {
    let krate = FilesCrate::new(
        &fresh_account(),
        "prod = { accounts = [\"333333333333\"], organization = \"o-abcdefghij\" }",
    );
    let proxy = Proxy::start();
    publish_each(
        &krate,
        &proxy,
        &["one\n", "two\n", "three\n", "four\n"],
        &[],
    );
    // Version 1 is also public, through a statement another tool wrote.
    lambda_as(&krate.account).add_foreign_statement(&krate.name, 1, "everyone", "*");
    let args = [
        "prune",
        "--keep",
        "1",
        "--keep-granted",
        "1",
        "--dry-run",
        "--message-format",
        "json",
    ];
    let out = json(&krate.run(&proxy.endpoint, &args).success());
    assert_eq!(numbers(&out["kept"]), [4, 3, 2, 1], "{out}");
    assert!(numbers(&out["deleted"]).is_empty(), "{out}");
    let reason = |i: usize| out["kept"][i]["reasons"][0].clone();
    assert_eq!(reason(1)["reason"], "shared", "{out}");
    assert_eq!(reason(1)["organization"], "o-abcdefghij", "{out}");
    assert_eq!(reason(3)["reason"], "shared", "{out}");
    assert!(reason(3)["organization"].is_null(), "{out}");
    let human = krate
        .run(
            &proxy.endpoint,
            &["prune", "--keep", "1", "--keep-granted", "1", "--dry-run"],
        )
        .success();
    let text = crate::support::stdout(&human) + &crate::support::stderr(&human);
    assert!(
        text.contains("shared with organization o-abcdefghij")
            && text.contains("shared with every AWS account"),
        "{text}"
    );
    let all = [
        "prune",
        "--keep",
        "1",
        "--keep-granted",
        "1",
        "--include-shared",
        "--message-format",
        "json",
    ];
    let out = json(&krate.run(&proxy.endpoint, &all).success());
    assert_eq!(numbers(&out["deleted"]), [3, 2, 1], "{out}");
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), [4]);
}
