//! Stage accounts, from inside: through `stage-role`, each stage account reads the exact version
//! by its ARN (the harness decides by the version's policy, as AWS does) and is handed the ARN in
//! its own SSM parameter; `verify` checks both without writing; `after` keeps a version from
//! skipping a stage; `status --stage` shows what each account was handed.

use serde_json::{Value, json};

use crate::support::aws_like::join_organization;
use crate::support::moto::{REGION, fresh_account, lambda_as, parameter};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, error_line, json_lines, load_error, stderr};

const ROLE: &str = "arn:aws:iam::{account}:role/layer-consumer";

/// A files layer whose stages (TOML under `[package.metadata.layer.stages]`) are reached
/// through the stage role, each account handed `/layers/<name>`.
pub(crate) fn with_stages(stages: &str) -> FilesCrate {
    let krate = FilesCrate::new(&fresh_account(), stages);
    let owner = format!("artifacts-account = \"{}\"", krate.account);
    krate.edit(
        &owner,
        &format!("{owner}\nstage-role = \"{ROLE}\"\nparameter = \"/layers/{{name}}\""),
    );
    krate
}

pub(crate) fn stage_role(account: &str) -> String {
    ROLE.replace("{account}", account)
}

fn results(krate: &FilesCrate, proxy: &Proxy, args: &[&str]) -> (Vec<Value>, std::process::Output) {
    let mut all = args.to_vec();
    all.extend(["--message-format", "json"]);
    let out = krate.command(&proxy.endpoint, &all).output().unwrap();
    (json_lines(&out), out)
}

/// (account, verified, parameter status) of a result's stage accounts.
fn seen(result: &Value) -> Vec<(String, bool, String)> {
    result["stage_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap().to_string(),
                a["verified"].as_bool().unwrap(),
                a["parameter"]["status"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn sorted(mut v: Vec<(String, bool, String)>) -> Vec<(String, bool, String)> {
    v.sort();
    v
}

#[test]
fn every_stage_account_reads_the_version_and_holds_its_arn_and_a_rerun_writes_nothing() {
    let (a, b, c) = (fresh_account(), fresh_account(), fresh_account());
    let krate = with_stages(&format!(
        "dev = {{ accounts = [\"{a}\", \"{b}\"] }}\ntest = {{ accounts = [\"{c}\"] }}"
    ));
    let regions = [REGION, "us-west-2"];
    krate.edit(
        &format!("region = \"{REGION}\""),
        &format!("regions = [\"{}\", \"{}\"]", regions[0], regions[1]),
    );
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&a, &b, &c]);
    let (first, out) = results(&krate, &proxy, &["publish"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(first.len(), 2, "one result per region");
    for result in &first {
        let written: Vec<_> = [&a, &b, &c]
            .iter()
            .map(|x| (x.to_string(), true, "written".to_string()))
            .collect();
        assert_eq!(sorted(seen(result)), sorted(written));
        assert!(
            result["grants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["verified"] == true),
            "{result}"
        );
        let region = result["region"].as_str().unwrap();
        let arn = result["layer_version_arn"].as_str().unwrap();
        for account in [&a, &b, &c] {
            let name = format!("/layers/{}", krate.name);
            let held = parameter(account, region, &name).map(|(value, _)| value);
            assert_eq!(held.as_deref(), Some(arn), "{account} in {region}");
        }
    }
    let steps: Vec<&str> = first[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["package", "publish", "grant", "verify", "handoff"]);
    // A version this run created names a new ARN: its parameters are written without a read.
    assert_eq!(proxy.count("GetParameter"), 0, "{:?}", proxy.calls());
    assert_eq!(proxy.count("PutParameter"), 6);

    proxy.clear();
    let (again, out) = results(&krate, &proxy, &["publish"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        proxy.count("PutParameter"),
        0,
        "an unchanged re-run writes no parameter"
    );
    for result in &again {
        assert!(
            seen(result).iter().all(|(_, ok, p)| *ok && p == "present"),
            "{result}"
        );
    }
    // Each stage role was assumed once for both regions.
    assert_eq!(proxy.count("AssumeRole"), 1 + 3, "{:?}", proxy.calls());

    let (verified, out) = results(
        &krate,
        &proxy,
        &[
            "verify",
            "--stage",
            "dev",
            "--stage",
            "test",
            "--manifest",
            krate
                .dir
                .path()
                .join(format!("target/layer/{}.{REGION}.json", krate.name))
                .to_str()
                .unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        verified.len(),
        2,
        "verify covers every region of the manifest"
    );
    for result in &verified {
        assert_eq!(result["type"], "verify");
        assert_eq!(seen(result).len(), 3, "{result}");
        assert!(seen(result).iter().all(|(_, ok, p)| *ok && p == "present"));
    }
}

#[test]
fn a_grant_removed_behind_its_back_makes_verify_fail_naming_the_account_and_region() {
    let (a, b) = (fresh_account(), fresh_account());
    let krate = with_stages(&format!("dev = {{ accounts = [\"{a}\", \"{b}\"] }}"));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&a, &b]);
    krate.run(&proxy.endpoint, &["publish", "-q"]).success();
    lambda_as(&krate.account).remove_statement(&krate.name, 1, &format!("cargo-layer-dev-{b}"));
    proxy.clear();
    let (verified, out) = results(
        &krate,
        &proxy,
        &["verify", "--stage", "dev", "--version", "1"],
    );
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    let error = error_line(&out);
    assert!(
        error.contains(&b) && error.contains(REGION) && error.contains("denied"),
        "{error}"
    );
    assert!(!error.contains(&a), "{error}");
    let by_account = |x: &str| {
        verified[0]["stage_accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["account"] == x)
            .unwrap()
            .clone()
    };
    assert_eq!(by_account(&b)["unverified"], "denied");
    assert_eq!(by_account(&a)["verified"], true);
    assert!(proxy.writes().is_empty(), "verify writes nothing");
    assert_eq!(proxy.count("PutParameter"), 0);

    // Publish again: the grant comes back, the account reads the version again.
    krate.run(&proxy.endpoint, &["publish", "-q"]).success();
    let (_, out) = results(
        &krate,
        &proxy,
        &["verify", "--stage", "dev", "--version", "1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_parameter_that_names_another_version_fails_verify_and_publish_rewrites_it() {
    let a = fresh_account();
    let krate = with_stages(&format!("dev = {{ accounts = [\"{a}\"] }}"));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&a]);
    krate.run(&proxy.endpoint, &["publish", "-q"]).success();
    krate.set_content("version two\n");
    krate.run(&proxy.endpoint, &["publish", "-q"]).success();
    let name = format!("/layers/{}", krate.name);
    let (value, version) = parameter(&a, REGION, &name).unwrap();
    assert!(value.ends_with(":2"), "{value}");
    assert_eq!(version, 2, "one history entry per version handed over");
    // Version 1 is still granted, but the parameter hands over version 2.
    let (verified, out) = results(
        &krate,
        &proxy,
        &["verify", "--stage", "dev", "--version", "1"],
    );
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    let entry = &verified[0]["stage_accounts"][0];
    assert_eq!(entry["verified"], true);
    assert_eq!(entry["parameter"]["status"], "differs");
    assert_eq!(entry["parameter"]["value"].as_str(), Some(value.as_str()));

    let (status, out) = results(&krate, &proxy, &["status", "--stage", "dev"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let history = &status[0]["handoffs"][0];
    assert_eq!(history["account"], a.as_str());
    let values: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(values.len(), 2, "{history}");
    assert!(
        values[0].ends_with(":1") && values[1].ends_with(":2"),
        "{values:?}"
    );
}

#[test]
fn a_stage_role_that_cannot_be_assumed_is_named_and_the_other_accounts_finish() {
    let (a, b) = (fresh_account(), fresh_account());
    let krate = with_stages(&format!("dev = {{ accounts = [\"{a}\", \"{b}\"] }}"));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&a, &b]);
    proxy.refuse_role(&stage_role(&b));
    let (published, out) = results(&krate, &proxy, &["publish"]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    let error = error_line(&out);
    assert!(
        error.contains(&stage_role(&b)),
        "the role is named: {error}"
    );
    assert!(
        error.contains("iam-policy") && error.contains("--stage-role"),
        "and the fix: {error}"
    );
    assert_eq!(
        sorted(seen(&published[0])),
        sorted(vec![
            (a.clone(), true, "written".into()),
            (b.clone(), false, "skipped".into()),
        ])
    );
    assert!(
        krate.layer_manifest().exists(),
        "the manifest is written all the same"
    );
    let name = format!("/layers/{}", krate.name);
    assert!(parameter(&a, REGION, &name).is_some());
    assert!(parameter(&b, REGION, &name).is_none());
}

#[test]
fn after_refuses_a_version_that_skipped_a_stage_and_allows_the_right_order() {
    let (t, p) = (fresh_account(), fresh_account());
    let krate = with_stages(&format!(
        "test = {{ accounts = [\"{t}\"] }}\nprod = {{ accounts = [\"{p}\"], after = \"test\" }}"
    ));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&t, &p]);
    // publish grants only the stages that come first.
    let (published, out) = results(&krate, &proxy, &["publish"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stages: Vec<&str> = published[0]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["test"]);
    let out = krate
        .command(&proxy.endpoint, &["publish", "--stage", "prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));

    // A version without test's grant cannot go to prod, in a dry run or not.
    krate.set_content("untested\n");
    krate
        .run(&proxy.endpoint, &["publish", "-q", "--stage", "test"])
        .success();
    krate
        .run(
            &proxy.endpoint,
            &["revoke", "-q", "--stage", "test", "--version", "2"],
        )
        .success();
    proxy.clear();
    for dry in [true, false] {
        let mut args = vec!["promote", "--stage", "prod", "--version", "2"];
        if dry {
            args.push("--dry-run");
        }
        let out = krate.command(&proxy.endpoint, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
        let error = error_line(&out);
        assert!(
            error.contains("prod comes after test")
                && error.contains("promote")
                && error.contains("--stage test"),
            "{error}"
        );
    }
    assert!(proxy.writes().is_empty(), "refused before any write");

    // Version 1 went through test: prod gets it.
    let (promoted, out) = results(
        &krate,
        &proxy,
        &["promote", "--stage", "prod", "--version", "1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        seen(&promoted[0]),
        vec![(p.clone(), true, "written".into())]
    );

    // A grant is not enough when test's account cannot read the version now.
    krate
        .run(
            &proxy.endpoint,
            &["promote", "-q", "--stage", "test", "--version", "2"],
        )
        .success();
    proxy.refuse_role(&stage_role(&t));
    let out = krate
        .command(
            &proxy.endpoint,
            &["promote", "--stage", "prod", "--version", "2"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(
        error_line(&out).contains("cannot use it now"),
        "{}",
        error_line(&out)
    );
}

#[test]
fn an_organization_stage_hands_off_to_its_named_accounts_and_an_outsider_is_denied() {
    let (member, outsider) = (fresh_account(), fresh_account());
    let org = format!("o-{}", &member[..10]);
    join_organization(&member, &org);
    let krate = with_stages(&format!(
        "shared = {{ organization = \"{org}\", handoff-accounts = [\"{member}\", \"{outsider}\"] }}"
    ));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&member, &outsider]);
    let (published, out) = results(&krate, &proxy, &["publish"]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert_eq!(
        sorted(seen(&published[0])),
        sorted(vec![
            (member.clone(), true, "written".into()),
            (outsider.clone(), false, "skipped".into()),
        ])
    );
    let grant = &published[0]["grants"][0];
    assert_eq!(
        grant["verified"], false,
        "the organization grant does not reach everyone named"
    );
    assert_eq!(grant["unverified"], "denied");
    assert!(error_line(&out).contains(&outsider));
}

#[test]
fn stage_keys_are_checked_before_any_aws_call() {
    let dev = "[package.metadata.layer.stages.dev]\naccounts = [\"222222222222\"]";
    let cases = [
        (
            format!("stage-role = \"arn:aws:iam::{{acount}}:role/c\"\n{dev}"),
            "package.metadata.layer.stage-role: \"arn:aws:iam::{acount}:role/c\" holds {acount}",
        ),
        (
            format!("stage-role = \"layer-consumer\"\n{dev}"),
            "package.metadata.layer.stage-role: \"layer-consumer\" is not an IAM role ARN",
        ),
        (
            format!("stage-role = \"arn:aws:iam::111111111111:role/c\"\n{dev}"),
            "is assumed in account 222222222222, but names a role of another account",
        ),
        (
            format!("stage-role = \"{ROLE}\"\nparameter = \"/aws/layers/{{name}}\"\n{dev}"),
            "package.metadata.layer.parameter: \"/aws/layers/{name}\": names starting with \"aws\"",
        ),
        (
            format!("stage-role = \"{ROLE}\"\nparameter = \"layers/{{name}}\"\n{dev}"),
            "a parameter hierarchy starts with '/'",
        ),
        (
            format!("{dev}\nafter = \"tst\""),
            "package.metadata.layer.stages.dev.after: names no stage: \"tst\"",
        ),
        (
            format!("{dev}\nafter = \"prod\"\n[package.metadata.layer.stages.prod]\naccounts = [\"333333333333\"]\nafter = \"dev\""),
            "makes a cycle (dev -> prod -> dev)",
        ),
        (
            format!("{dev}\nparameter = \"/layers/x\""),
            "package.metadata.layer.stages.dev.parameter: needs a role in the stage's accounts",
        ),
        (
            "[package.metadata.layer.stages.shared]\norganization = \"o-abcdefghij\"\nhandoff-accounts = [\"2222\"]".to_string(),
            "package.metadata.layer.stages.shared.handoff-accounts[0]: \"2222\" is not a 12-digit",
        ),
    ];
    for (keys, expected) in cases {
        let error = load_error(&keys).to_string();
        assert!(error.contains(expected), "{keys}\n{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}

/// The statement of `policy` with this Sid.
fn sid<'a>(policy: &'a Value, sid: &str) -> &'a Value {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid} in {policy}"))
}

/// `iam-policy` with the stage roles: the publisher may assume them, and `--stage-role` prints
/// the role's permissions and trust, or a CloudFormation template that creates it.
fn iam_policy(krate: &FilesCrate, args: &[&str]) -> Value {
    let out = crate::support::cargo_layer(&krate.dir.path().join("target"))
        .arg("iam-policy")
        .args(args)
        .arg("--manifest-path")
        .arg(krate.manifest_path())
        .output()
        .unwrap();
    crate::support::json(&out)
}

#[test]
fn iam_policy_prints_what_the_stage_role_needs_and_a_template_that_creates_it() {
    let (a, b) = (fresh_account(), fresh_account());
    let krate = with_stages(&format!("dev = {{ accounts = [\"{a}\", \"{b}\"] }}"));
    let layer = format!(
        "arn:aws:lambda:{REGION}:{}:layer:{}",
        krate.account, krate.name
    );

    let publisher = iam_policy(&krate, &[]);
    let assume = publisher["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "sts:AssumeRole")
        .expect("the publisher may assume the stage roles");
    assert_eq!(assume["Resource"], json!([stage_role(&a), stage_role(&b)]));

    let role = iam_policy(&krate, &["--stage-role"]);
    let principal = format!("arn:aws:iam::{}:root", krate.account);
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"],
        json!([principal])
    );
    let read = sid(&role["PolicyDocument"], "ReadTheLayerVersions");
    assert_eq!(read["Action"], "lambda:GetLayerVersion");
    assert_eq!(read["Resource"], json!([format!("{layer}:*")]));
    assert_eq!(
        sid(&role["PolicyDocument"], "HandOffTheArn")["Resource"],
        json!([format!(
            "arn:aws:ssm:{REGION}:*:parameter/layers/{}",
            krate.name
        )])
    );

    // The template is one CloudFormation accepts (cfn-lint checks resources, properties and
    // the IAM documents), and each stack names its own account.
    let template = iam_policy(&krate, &["--stage-role", "--format", "cloudformation"]);
    let resource = &template["Resources"]["StageRole1"];
    assert_eq!(resource["Type"], "AWS::IAM::Role");
    assert_eq!(resource["Properties"]["RoleName"], "layer-consumer");
    let policy = &resource["Properties"]["Policies"][0]["PolicyDocument"];
    assert_eq!(
        sid(policy, "HandOffTheArn")["Resource"],
        json!([{"Fn::Sub": format!("arn:aws:ssm:{REGION}:${{AWS::AccountId}}:parameter/layers/{}", krate.name)}])
    );
    let file = krate.dir.path().join("stage-role.json");
    std::fs::write(&file, template.to_string()).unwrap();
    let lint = std::process::Command::new(crate::support::venv_bin("cfn-lint"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
}
