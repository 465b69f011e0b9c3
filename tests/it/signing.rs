//! Signed layers: AWS Signer signs each artifact once, and the artifact, not the signed zip,
//! stays the identity of a version. moto has Signer profiles but no signing jobs; the harness
//! emulates them ([`crate::support::signing_jobs`]).

use serde_json::Value;

use crate::support::load_error;
use crate::support::moto::{self, create_bucket, fresh_account, lambda_as, moto};
use crate::support::proxy::Proxy;
use crate::support::signing_jobs::{fail_jobs, started};
use crate::support::{FilesCrate, code_sha256, error_line, json, stderr};

const STAGES: &str = r#"dev = { accounts = ["222222222222"] }"#;
const PROFILE: &str = "LayerSigner";
const LAMBDA: &str = "AWSLambda-SHA384-ECDSA";

/// A files layer in a fresh account that signs with `PROFILE` through a bucket, versioned or
/// not; the profile is made for `platform` (none: no profile at all).
fn signed_crate(versioned: bool, platform: Option<&str>) -> (FilesCrate, String) {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let account = krate.account.clone();
    krate.edit(
        &format!("artifacts-account = \"{account}\""),
        &format!(
            "artifacts-account = \"{account}\"\ns3-bucket = \"artifacts-{{account}}-{{region}}\"\nsigning-profile = \"{PROFILE}\""
        ),
    );
    create_bucket(&account, &bucket(&krate), moto::REGION, versioned);
    let version_arn = platform
        .map(|p| moto::signing_profile(&account, PROFILE, p))
        .unwrap_or_default();
    (krate, version_arn)
}

fn bucket(krate: &FilesCrate) -> String {
    format!("artifacts-{}-{}", krate.account, moto::REGION)
}

/// The hex SHA-256 of the zip the last run built.
fn local_sha256(krate: &FilesCrate) -> String {
    crate::support::sha256_hex(&std::fs::read(krate.zip()).unwrap())
}

/// Delete the one unsigned object version holding the artifact `sha256` (what a lifecycle rule
/// or a person does): the evidence of every version signed from it is gone.
fn delete_unsigned(krate: &FilesCrate, sha256: &str) {
    let key = format!("cargo-layer/{}/{sha256}.zip", krate.name);
    let objects = moto::object_versions(&krate.account, &bucket(krate), &key);
    let [object] = objects.as_slice() else {
        panic!("one object version of {key}: {objects:?}");
    };
    let (key, version) = object.split_once('@').unwrap();
    moto::delete_object_version(&krate.account, &bucket(krate), key, version);
}

/// Versions 1, 2 and 3 of three artifacts, each signed; the hex SHA-256 of each artifact.
fn three_signed_versions(krate: &FilesCrate) -> Vec<String> {
    ["one\n", "two\n", "three\n"]
        .iter()
        .enumerate()
        .map(|(i, content)| {
            krate.set_content(content);
            assert_eq!(publish(krate)["version"], i + 1);
            local_sha256(krate)
        })
        .collect()
}

fn prune(krate: &FilesCrate) -> Value {
    let args = [
        "prune",
        "--keep",
        "1",
        "--keep-granted",
        "1",
        "--message-format",
        "json",
    ];
    json(&krate.run(&moto().endpoint, &args).success())
}

fn publish(krate: &FilesCrate) -> Value {
    json(
        &krate
            .run(&moto().endpoint, &["publish", "--message-format", "json"])
            .success(),
    )
}

fn step<'a>(out: &'a Value, name: &str) -> &'a Value {
    out["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no {name} step: {out}"))
}

#[test]
fn first_publish_signs_once_and_an_unchanged_rerun_starts_no_job_and_publishes_nothing() {
    let (krate, profile_version) = signed_crate(true, Some(LAMBDA));
    let first = publish(&krate);
    assert_eq!(first["published"], true);
    assert_eq!(first["version"], 1);
    assert_eq!(started(&krate.account), 1, "one signing job");
    assert_eq!(step(&first, "sign")["status"], "ok");
    // Two hashes: the artifact cargo-layer built, and the signed zip AWS holds.
    let artifact = code_sha256(&std::fs::read(krate.zip()).unwrap());
    assert_ne!(
        first["code_sha256"],
        artifact.as_str(),
        "AWS holds the signed zip"
    );
    assert_eq!(
        first["sha256"],
        crate::support::sha256_hex(&std::fs::read(krate.zip()).unwrap()).as_str()
    );
    let signature = &first["signature"];
    assert_eq!(signature["profile_version_arn"], profile_version.as_str());
    assert!(
        signature["job_arn"]
            .as_str()
            .unwrap()
            .contains(":/signing-jobs/"),
        "{first}"
    );
    assert_eq!(first["signatures"][moto::REGION], *signature);
    let lambda = lambda_as(&krate.account);
    assert_eq!(
        lambda.code_sha256(&krate.name, 1),
        first["code_sha256"].as_str().unwrap()
    );
    // The signed zip is under the layer's signed prefix, next to the one unsigned object.
    let signed = moto::object_versions(
        &krate.account,
        &bucket(&krate),
        &format!("cargo-layer/{}/signed/", krate.name),
    );
    assert_eq!(signed.len(), 1, "{signed:?}");

    let again = publish(&krate);
    assert_eq!(again["published"], false);
    assert_eq!(again["version"], 1);
    assert_eq!(again["dedupe"]["method"], "marker");
    assert_eq!(step(&again, "sign")["status"], "reused");
    assert_eq!(again["signature"], *signature);
    assert_eq!(
        started(&krate.account),
        1,
        "an unchanged re-run starts no signing job"
    );
    assert_eq!(lambda.versions(&krate.name), vec![1]);

    let status = json(
        &krate
            .run(&moto().endpoint, &["status", "--message-format", "json"])
            .success(),
    );
    assert_eq!(status["versions"][0]["signature"], *signature, "{status}");
}

#[test]
fn a_version_whose_evidence_is_gone_is_neither_reused_nor_deleted() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    publish(&krate);
    // The unsigned object version the job signed is deleted: the chain from version 1 to the
    // artifact breaks.
    delete_unsigned(&krate, &local_sha256(&krate));
    let again = publish(&krate);
    assert_eq!(again["version"], 2, "version 1 is not reused");
    assert_eq!(again["published"], true);
    let notes = again["notes"].to_string();
    assert!(
        notes.contains("version 1 is not confirmed to hold this artifact")
            && notes.contains("is gone")
            && notes.contains("not reused, not deleted"),
        "{notes}"
    );
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), vec![2, 1]);
}

#[test]
fn a_changed_artifact_signs_and_publishes_once() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    publish(&krate);
    krate.set_content("version two\n");
    let second = publish(&krate);
    assert_eq!(second["published"], true);
    assert_eq!(second["version"], 2);
    assert_eq!(started(&krate.account), 2);
    let again = publish(&krate);
    assert_eq!(again["version"], 2);
    assert_eq!(again["published"], false);
    assert_eq!(started(&krate.account), 2);
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), vec![2, 1]);
}

#[test]
fn a_failed_signing_job_fails_the_run_with_its_reason_and_publishes_nothing() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    fail_jobs(&krate.account, "Signing failed: the certificate expired");
    let refused = krate.run(&moto().endpoint, &["publish"]).failure();
    assert_eq!(refused.get_output().status.code(), Some(7));
    let line = error_line(&refused);
    assert!(
        line.contains("signer:StartSigningJob")
            && line.contains("failed: Signing failed: the certificate expired"),
        "{line}"
    );
    assert!(lambda_as(&krate.account).versions(&krate.name).is_empty());
}

/// The run stops with exit 3 naming `key` and `words`, before any write.
fn refused_before_any_write(krate: &FilesCrate, key: &str, words: &[&str]) {
    let proxy = Proxy::start();
    let refused = krate.run(&proxy.endpoint, &["publish"]).failure();
    assert_eq!(
        refused.get_output().status.code(),
        Some(3),
        "{}",
        stderr(&refused)
    );
    let line = error_line(&refused);
    assert!(line.contains(key), "{line}");
    for word in words {
        assert!(line.contains(word), "{word}: {line}");
    }
    let writes: Vec<String> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.is_write())
        .map(|c| c.operation)
        .collect();
    assert!(writes.is_empty(), "no write before the checks: {writes:?}");
    assert_eq!(started(&krate.account), 0);
}

#[test]
fn an_unversioned_bucket_is_refused_before_any_write() {
    let (krate, _) = signed_crate(false, Some(LAMBDA));
    refused_before_any_write(
        &krate,
        "package.metadata.layer.s3-bucket",
        &["versioning never enabled", "put-bucket-versioning"],
    );
}

#[test]
fn a_missing_revoked_or_wrong_platform_profile_is_refused_before_any_write() {
    let key = "package.metadata.layer.signing-profile";
    let (missing, _) = signed_crate(true, None);
    refused_before_any_write(&missing, key, &["no signing profile \"LayerSigner\""]);
    let (wrong, _) = signed_crate(true, Some("AWSIoTDeviceManagement-SHA256-ECDSA"));
    refused_before_any_write(
        &wrong,
        key,
        &["AWSIoTDeviceManagement-SHA256-ECDSA", LAMBDA],
    );
    let (revoked, _) = signed_crate(true, Some(LAMBDA));
    moto::cancel_signing_profile(&revoked.account, PROFILE);
    refused_before_any_write(&revoked, key, &["is Canceled, not Active"]);
}

#[test]
fn two_racing_signed_runs_end_with_one_version() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    let proxy = Proxy::start();
    // Both runs have looked and found nothing before either publishes.
    proxy.stall("StartSigningJob", 2, std::time::Duration::from_secs(3));
    let versions: Vec<i64> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let ran = krate
                        .run(&proxy.endpoint, &["publish", "--message-format", "json"])
                        .success();
                    json(&ran)["version"].as_i64().unwrap()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(versions[0], versions[1], "both runs report one version");
    assert_eq!(started(&krate.account), 2, "the runs raced: each signed");
    assert_eq!(
        lambda_as(&krate.account).versions(&krate.name),
        vec![versions[0]]
    );
}

#[test]
fn promote_refuses_a_manifest_whose_version_is_unsigned_or_signed_by_another_profile() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    let account = krate.account.clone();
    // Version 1: signed with another profile; version 2: unsigned; version 3: as configured.
    moto::signing_profile(&account, "OtherSigner", LAMBDA);
    krate.edit(
        "signing-profile = \"LayerSigner\"",
        "signing-profile = \"OtherSigner\"",
    );
    let other = publish(&krate);
    krate.edit("signing-profile = \"OtherSigner\"\n", "");
    krate.set_content("unsigned\n");
    let unsigned = publish(&krate);
    assert!(unsigned.get("signature").is_none(), "{unsigned}");
    krate.edit(
        "s3-bucket = \"artifacts-{account}-{region}\"",
        "s3-bucket = \"artifacts-{account}-{region}\"\nsigning-profile = \"LayerSigner\"",
    );
    krate.set_content("version one\n");
    let signed = publish(&krate);
    assert_eq!(
        signed["version"], 3,
        "the other profile's version is not reused"
    );
    assert!(
        signed["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("is signed by profile version")),
        "{signed}"
    );
    let manifest = krate.layer_manifest();
    let text = std::fs::read_to_string(&manifest).unwrap();
    // What was tested: the manifest as publish wrote it passes.
    let promote = |edited: &str| {
        std::fs::write(&manifest, edited).unwrap();
        let mut cmd = krate.command(&moto().endpoint, &["promote", "--stage", "dev"]);
        cmd.arg("--manifest").arg(&manifest);
        cmd.assert()
    };
    promote(&text).success();
    // The same manifest pointed at another version, with that version's own CodeSha256.
    let retarget = |to: &Value| {
        let mut m: Value = serde_json::from_str(&text).unwrap();
        let arn = to["layer_version_arn"].clone();
        let code = to["code_sha256"].clone();
        m["layer_version_arn"] = arn.clone();
        m["layer_version_arns"][moto::REGION] = arn;
        m["code_sha256"] = code.clone();
        m["code_sha256s"][moto::REGION] = code;
        m["version"] = to["version"].clone();
        m.to_string()
    };
    let refused = promote(&retarget(&unsigned)).failure();
    assert_eq!(refused.get_output().status.code(), Some(9));
    assert!(
        error_line(&refused).contains("is not signed"),
        "{}",
        stderr(&refused)
    );
    let refused = promote(&retarget(&other)).failure();
    assert_eq!(refused.get_output().status.code(), Some(9));
    let line = error_line(&refused);
    assert!(
        line.contains("is signed by profile version") && line.contains("OtherSigner"),
        "{line}"
    );
}

#[test]
fn signing_keys_are_checked_before_any_aws_call() {
    let cases = [
        (
            "signing-profile = \"LayerSigner\"",
            "package.metadata.layer.signing-profile: needs s3-bucket",
        ),
        (
            "s3-bucket = \"b-{region}\"\nsigning-profile = \"Layer-Signer\"",
            "package.metadata.layer.signing-profile: \"Layer-Signer\" is not a signing profile",
        ),
        (
            "s3-bucket = \"b-{region}\"\nsigning-profile = \"arn:aws:signer:eu-central-1:12345:/signing-profiles/P1\"",
            "is not a signing profile",
        ),
        (
            "profile-owner = \"111111111111\"",
            "package.metadata.layer.profile-owner: is set without signing-profile",
        ),
        (
            "s3-bucket = \"b-{region}\"\nsigning-profile = \"arn:aws:signer:eu-central-1:111111111111:/signing-profiles/P1\"\nprofile-owner = \"222222222222\"",
            "package.metadata.layer.profile-owner: is 222222222222, but signing-profile is a profile ARN of account 111111111111",
        ),
    ];
    for (keys, expected) in cases {
        let error = load_error(keys).to_string();
        assert!(error.contains(expected), "{keys}: {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}

/// The harness is as strict as Lambda where moto is not: PublishLayerVersion reads the object
/// version it is given (moto reads the latest), and refuses one that does not exist.
#[test]
fn the_harness_publishes_the_s3_object_version_asked_for() {
    let account = fresh_account();
    let bucket = format!("objects-{account}");
    create_bucket(&account, &bucket, moto::REGION, true);
    let zip = |text: &str| {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("a.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, text.as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    };
    let (old, new) = (zip("old"), zip("new"));
    let old_version = moto::put_object(&account, &bucket, "layer.zip", old.clone());
    let new_version = moto::put_object(&account, &bucket, "layer.zip", new.clone());
    let lambda = lambda_as(&account);
    let published =
        |version: &str| lambda.publish_from_s3("objects", &bucket, "layer.zip", version);
    assert_eq!(published(&old_version), Ok(code_sha256(&old)));
    assert_eq!(published(&new_version), Ok(code_sha256(&new)));
    assert_eq!(
        published("not-a-version"),
        Err("InvalidParameterValueException".to_string())
    );
}

#[test]
fn prune_deletes_old_signed_versions_of_its_own_and_keeps_the_newest() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    three_signed_versions(&krate);
    let pruned = prune(&krate);
    assert_eq!(pruned["deleted"], serde_json::json!([2, 1]), "{pruned}");
    let kept = &pruned["kept"];
    assert_eq!(kept.as_array().unwrap().len(), 1, "{pruned}");
    assert_eq!(kept[0]["version"], 3);
    assert_eq!(kept[0]["reasons"][0]["reason"], "newest");
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), vec![3]);
}

#[test]
fn prune_keeps_a_signed_version_whose_evidence_is_gone_and_says_why() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    let artifacts = three_signed_versions(&krate);
    delete_unsigned(&krate, &artifacts[0]);
    let pruned = prune(&krate);
    assert_eq!(pruned["deleted"], serde_json::json!([2]), "{pruned}");
    let first = pruned["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["version"] == 1)
        .unwrap_or_else(|| panic!("version 1 is kept: {pruned}"));
    let reason = &first["reasons"][0];
    assert_eq!(reason["reason"], "unconfirmed", "{pruned}");
    let why = reason["why"].as_str().unwrap();
    assert!(
        why.contains("is gone") && why.contains(&artifacts[0]),
        "{why}"
    );
    let human = krate
        .run(
            &moto().endpoint,
            &["prune", "--keep", "1", "--keep-granted", "1", "--dry-run"],
        )
        .success();
    let shown = String::from_utf8_lossy(&human.get_output().stdout).to_string();
    assert!(shown.contains("not proven cargo-layer's"), "{shown}");
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), vec![3, 1]);
}

#[test]
fn status_marks_the_signed_version_that_holds_the_local_artifact() {
    let (krate, _) = signed_crate(true, Some(LAMBDA));
    publish(&krate);
    krate.set_content("version two\n");
    publish(&krate);
    let status = || {
        let out = krate
            .run(&moto().endpoint, &["status", "--message-format", "json"])
            .success();
        crate::support::marked_local(&json(&out))
    };
    assert_eq!(status(), vec![2], "the local zip is version 2's artifact");
    // The marker alone is no proof: without the evidence, nothing holds the local zip.
    delete_unsigned(&krate, &local_sha256(&krate));
    assert_eq!(status(), Vec::<i64>::new());
}
