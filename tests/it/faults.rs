//! The fault suite: a loopback proxy between the tool and moto injects throttling, 500, 503,
//! connection resets and responses dropped after moto applied the request, into every Lambda
//! call at a seeded rate. Whatever happens, the end state must be exactly one version for the
//! content hash, every grant in place, and a manifest that tells the truth.

use std::collections::BTreeSet;

use crate::support::moto::{self, fresh_account, lambda_as};
use crate::support::proxy::{ALL_FAULTS, Proxy};
use crate::support::{FilesCrate, ctrl_c, json, stderr, wait_for};

/// Probability that any one Lambda call meets a fault.
const RATE: f64 = 0.3;
/// Seeded runs per test function (two functions: 20 runs).
const SEEDS: u64 = 10;

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
prod = { accounts = ["333333333333"], organization = "o-abcdefghij" }
"#;

fn expected_sids() -> BTreeSet<String> {
    [
        "cargo-layer-dev-222222222222",
        "cargo-layer-prod-333333333333",
        "cargo-layer-prod-org-o-abcdefghij",
    ]
    .map(String::from)
    .into()
}

/// Publish through a faulty proxy; if the faults outlast every attempt, the run must fail
/// cleanly and a re-run must finish the job.
fn publish_through_faults(krate: &FilesCrate, proxy: &Proxy) -> serde_json::Value {
    for _ in 0..3 {
        let run = krate.run(
            &proxy.endpoint,
            &[
                "publish",
                "-q",
                "--message-format",
                "json",
                "--max-attempts",
                "8",
            ],
        );
        let output = run.get_output();
        if output.status.success() {
            return json(&run);
        }
        let code = output.status.code();
        assert!(
            matches!(code, Some(7) | Some(8)),
            "a failed run exits 7 or 8, not {code:?}: {}",
            stderr(&run)
        );
    }
    panic!("three runs did not converge");
}

fn check_end_state(krate: &FilesCrate, out: &serde_json::Value) {
    let lambda = lambda_as(&krate.account);
    let versions = lambda.versions(&krate.name);
    assert_eq!(
        versions.len(),
        1,
        "exactly one version for one content hash: {versions:?}"
    );
    let version = versions[0];
    assert_eq!(out["version"], version);
    let zip = std::fs::read(krate.zip()).unwrap();
    let code = cargo_layer::pack::archive::code_sha256(&zip);
    assert_eq!(lambda.code_sha256(&krate.name, version), code);
    assert_eq!(out["code_sha256"], code.as_str());
    // moto stores a retried AddLayerVersionPermission twice where AWS answers
    // ResourceConflictException, so compare the set of statement IDs.
    let sids: BTreeSet<String> = lambda
        .statement_ids(&krate.name, version)
        .into_iter()
        .collect();
    assert_eq!(sids, expected_sids());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(krate.layer_manifest()).unwrap()).unwrap();
    assert_eq!(&manifest, out, "the manifest is what the last run printed");
    assert!(
        manifest["grants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["status"] != "failed")
    );
    assert!(
        manifest["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] != "failed")
    );
}

fn seeded_runs(first_seed: u64) {
    for seed in first_seed..first_seed + SEEDS {
        let krate = FilesCrate::new(&fresh_account(), STAGES);
        let proxy = Proxy::start();
        proxy.inject(RATE, seed, &ALL_FAULTS);
        let out = publish_through_faults(&krate, &proxy);
        check_end_state(&krate, &out);
        // An unchanged re-run under faults still changes nothing.
        let again = publish_through_faults(&krate, &proxy);
        check_end_state(&krate, &again);
        let faults = proxy.calls().iter().filter(|c| c.fault.is_some()).count();
        eprintln!(
            "seed {seed}: {} calls, {faults} faults injected",
            proxy.calls().len()
        );
    }
}

#[test]
fn converges_under_faults_seeds_1_to_10() {
    seeded_runs(1);
}

#[test]
fn converges_under_faults_seeds_11_to_20() {
    seeded_runs(11);
}

#[test]
fn a_lost_publish_response_is_found_instead_of_publishing_twice() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    // moto creates the version, but the tool never hears back.
    proxy.drop_response("PublishLayerVersion", 1);
    let out = json(
        &krate
            .run(&proxy.endpoint, &["publish", "--message-format", "json"])
            .success(),
    );
    assert_eq!(
        proxy.count("PublishLayerVersion"),
        1,
        "no blind retry of PublishLayerVersion"
    );
    assert_eq!(out["version"], 1);
    assert!(
        out["notes"][0]
            .as_str()
            .unwrap()
            .contains("response was lost"),
        "{}",
        out["notes"]
    );
    check_end_state(&krate, &out);
}

#[test]
fn a_failed_grant_is_recorded_and_a_rerun_finishes_it_without_a_new_version() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    proxy.fail(
        "AddLayerVersionPermission",
        1,
        403,
        "AccessDeniedException",
        "User is not authorized to perform: lambda:AddLayerVersionPermission",
    );
    let run = krate
        .run(&proxy.endpoint, &["publish", "--message-format", "json"])
        .failure()
        .code(8);
    let out = json(&run);
    let failed: Vec<_> = out["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("lambda:AddLayerVersionPermission")
    );
    assert_eq!(
        out["steps"][1]["status"], "ok",
        "the publish step succeeded"
    );
    assert_eq!(
        out["steps"][2]["status"], "failed",
        "the grant step did not"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(krate.layer_manifest()).unwrap()).unwrap();
    assert_eq!(manifest, out, "the manifest records the partial result");
    let line = stderr(&run);
    assert!(
        line.contains("records them; `cargo layer publish --message-format json")
            && line.contains("adds only what is missing"),
        "the error names the manifest and the run to repeat: {line}"
    );

    let out = json(
        &krate
            .run(&proxy.endpoint, &["publish", "--message-format", "json"])
            .success(),
    );
    assert_eq!(out["published"], false);
    let statuses: BTreeSet<&str> = out["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["added", "present"].into());
    check_end_state(&krate, &out);
}

#[test]
fn two_publishers_under_faults_converge_on_one_version() {
    for seed in [101, 102, 103] {
        let krate = FilesCrate::new(&fresh_account(), STAGES);
        let proxies = [Proxy::start(), Proxy::start()];
        for (i, proxy) in proxies.iter().enumerate() {
            proxy.inject(RATE, seed * 10 + i as u64, &ALL_FAULTS);
        }
        let outs: Vec<serde_json::Value> = std::thread::scope(|s| {
            let runs: Vec<_> = proxies
                .iter()
                .map(|proxy| s.spawn(|| publish_through_faults(&krate, proxy)))
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert_eq!(
            outs[0]["version"], outs[1]["version"],
            "both runs report the same version"
        );
        let lambda = lambda_as(&krate.account);
        assert_eq!(lambda.versions(&krate.name).len(), 1, "seed {seed}");
    }
}

#[test]
fn ctrl_c_leaves_no_half_written_files() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    proxy.stall("PublishLayerVersion", 1, std::time::Duration::from_secs(30));
    let child = moto::tool_process(&proxy.endpoint)
        .args(["publish", "-q", "--manifest-path"])
        .arg(krate.manifest_path())
        .arg("--assume-role")
        .arg(moto::role(&krate.account))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the publish request is in flight, then press Ctrl-C.
    let in_flight = wait_for(|| proxy.count("PublishLayerVersion") > 0);
    assert!(
        in_flight,
        "the publish call never started: {:?}",
        proxy.calls()
    );
    ctrl_c(&child);
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let layer_dir = krate.dir.path().join("target/layer");
    let leftovers: Vec<_> = std::fs::read_dir(&layer_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp") || name.starts_with(".cargo-layer-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
    assert!(
        !krate.layer_manifest().exists(),
        "no manifest for a run that did not finish"
    );
    let zip = std::fs::read(krate.zip()).unwrap();
    assert!(
        zip::ZipArchive::new(std::io::Cursor::new(zip)).is_ok(),
        "the zip is whole"
    );
}
