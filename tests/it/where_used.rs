//! What each stage runs: through the stage roles, `status --where-used` lists the function
//! versions of the stage accounts (`$LATEST`, published versions, their aliases) that use a
//! version of the layer, and `prune` never deletes one of those versions. The functions are
//! emulated by the harness (`support::functions`): moto cannot create a function that uses
//! another account's layer.

use serde_json::{Value, json};

use crate::stages::{stage_role, with_stages};
use crate::support::functions;
use crate::support::moto::{REGION, fresh_account, lambda_as};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, error_line, json_lines, stderr, stdout};

fn arn(krate: &FilesCrate, version: i64) -> String {
    format!(
        "arn:aws:lambda:{REGION}:{}:layer:{}:{version}",
        krate.account, krate.name
    )
}

/// Publish `count` versions, each with other content, granted to `stages` (all when empty).
fn publish(krate: &FilesCrate, proxy: &Proxy, count: usize, stages: &[&str]) {
    for i in 0..count {
        krate.set_content(&format!("content {i}\n"));
        let mut args = vec!["publish", "-q"];
        for stage in stages {
            args.extend(["--stage", stage]);
        }
        krate.run(&proxy.endpoint, &args).success();
    }
}

/// The step summary a run writes in GitHub Actions.
fn summary(krate: &FilesCrate, proxy: &Proxy, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.md");
    krate
        .command(&proxy.endpoint, args)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.path().join("outputs"))
        .env("GITHUB_STEP_SUMMARY", &path)
        .assert()
        .success();
    std::fs::read_to_string(path).unwrap()
}

fn results(krate: &FilesCrate, proxy: &Proxy, args: &[&str]) -> (Vec<Value>, std::process::Output) {
    let mut all = args.to_vec();
    all.extend(["--message-format", "json"]);
    let out = krate.command(&proxy.endpoint, &all).output().unwrap();
    (json_lines(&out), out)
}

/// (account, function, qualifier, aliases, version, granted) of each `used_by` entry, sorted.
fn used_by(status: &Value) -> Vec<(String, String, String, Vec<String>, i64, bool)> {
    let mut entries: Vec<_> = status["used_by"]
        .as_array()
        .unwrap_or_else(|| panic!("no used_by: {status}"))
        .iter()
        .map(|u| {
            assert_eq!(u["region"], REGION);
            (
                u["account"].as_str().unwrap().to_string(),
                u["function"].as_str().unwrap().to_string(),
                u["qualifier"].as_str().unwrap().to_string(),
                u["aliases"]
                    .as_array()
                    .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
                u["version"].as_i64().unwrap(),
                u["granted"].as_bool().unwrap(),
            )
        })
        .collect();
    entries.sort();
    entries
}

/// The kept versions of a prune result and their reasons.
fn kept(pruned: &Value) -> Vec<(i64, Vec<Value>)> {
    pruned["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["version"].as_i64().unwrap(),
                k["reasons"].as_array().unwrap().clone(),
            )
        })
        .collect()
}

#[test]
fn where_used_lists_the_functions_of_two_stage_accounts_one_behind_an_alias() {
    let (a, b) = (fresh_account(), fresh_account());
    let krate = with_stages(&format!(
        "dev = {{ accounts = [\"{a}\"] }}\ntest = {{ accounts = [\"{b}\"] }}"
    ));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&a, &b]);
    publish(&krate, &proxy, 2, &[]);
    // Fifty functions that use nothing put `orders` on ListFunctions' second page.
    for i in 0..50 {
        functions::create(&a, REGION, &format!("filler-{i:02}"), &[]);
    }
    // orders: version 1 (alias live) runs layer version 1, $LATEST moved on to version 2.
    functions::create(&a, REGION, "orders", &[&arn(&krate, 1)]);
    let published = functions::publish(&a, REGION, "orders");
    functions::alias(&a, REGION, "orders", "live", &published);
    functions::update(&a, REGION, "orders", &[&arn(&krate, 2)]);
    // billing in the test account runs version 2, which test is no longer granted.
    functions::create(&b, REGION, "billing", &[&arn(&krate, 2)]);
    krate
        .run(
            &proxy.endpoint,
            &["revoke", "-q", "--stage", "test", "--version", "2"],
        )
        .success();
    // A function of another account's layer of the same name is not this layer.
    let other = arn(&krate, 1).replace(&krate.account, &fresh_account());
    functions::create(&b, REGION, "elsewhere", &[&other]);

    proxy.clear();
    let (status, out) = results(&krate, &proxy, &["status", "--where-used"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = |x: &str| x.to_string();
    assert_eq!(
        used_by(&status[0]),
        vec![
            (a.clone(), s("orders"), s("$LATEST"), vec![], 2, true),
            (a.clone(), s("orders"), s("1"), vec![s("live")], 1, true),
            (b.clone(), s("billing"), s("$LATEST"), vec![], 2, false),
        ]
    );
    let mut looked: Vec<Value> = status[0]["looked_into"].as_array().unwrap().clone();
    looked.sort_by_key(|l| l["stage"].as_str().unwrap().to_string());
    assert_eq!(
        looked,
        [
            json!({"stage": "dev", "account": a}),
            json!({"stage": "test", "account": b})
        ]
    );
    // Every page, with every published version: two pages in dev's account, one in test's.
    assert_eq!(proxy.count("ListFunctions"), 3, "{:?}", proxy.calls());
    assert!(proxy.writes().is_empty(), "status writes nothing");

    let human = krate
        .run(&proxy.endpoint, &["status", "--where-used"])
        .success();
    let text = stdout(&human);
    assert!(
        text.contains("used by functions of 2 stage account(s)"),
        "{text}"
    );
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}: {text}"))
            .to_string()
    };
    assert!(
        line("orders:1 (alias live)").contains("uses version 1, granted"),
        "{text}"
    );
    assert!(
        line("orders:$LATEST").contains("uses version 2, granted"),
        "{text}"
    );
    assert!(line("billing:$LATEST").contains("NOT GRANTED"), "{text}");
    assert!(line("billing").contains(&b), "{text}");

    let md = summary(&krate, &proxy, &["status", "--where-used"]);
    assert!(
        md.contains(&format!(
            "| dev | {a} | `orders:1` (alias live) | 1 | yes |"
        )) && md.contains(&format!("| test | {b} | `billing:$LATEST` | 2 | **no** |")),
        "{md}"
    );
}

#[test]
fn prune_keeps_a_version_only_a_function_uses_and_deletes_one_nothing_uses() {
    let a = fresh_account();
    let krate = with_stages(&format!("dev = {{ accounts = [\"{a}\"] }}"));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&a]);
    publish(&krate, &proxy, 4, &[]);
    // A published version of a function, behind an alias, runs version 2; $LATEST runs none.
    functions::create(&a, REGION, "orders", &[&arn(&krate, 2)]);
    let published = functions::publish(&a, REGION, "orders");
    functions::alias(&a, REGION, "orders", "live", &published);
    functions::update(&a, REGION, "orders", &[]);

    let prune = ["prune", "--keep", "1", "--keep-granted", "1"];
    proxy.clear();
    let mut dry = prune.to_vec();
    dry.push("--dry-run");
    let (plan, out) = results(&krate, &proxy, &dry);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(proxy.writes().is_empty(), "a dry run deletes nothing");
    let expected_reason = json!({
        "reason": "used-by-function",
        "function": "orders",
        "account": a,
        "region": REGION,
        "qualifiers": ["1"],
    });
    let planned = kept(&plan[0]);
    assert_eq!(
        planned.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        [4, 2],
        "{}",
        plan[0]
    );
    assert_eq!(planned[1].1, [expected_reason]);
    assert_eq!(plan[0]["deleted"], json!([3, 1]));
    let human = krate.run(&proxy.endpoint, &dry).success();
    assert!(
        stdout(&human).contains(&format!("used by orders in {a}/{REGION}")),
        "{}",
        stdout(&human)
    );

    let (pruned, out) = results(&krate, &proxy, &prune);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(kept(&pruned[0]), planned, "the dry run showed this plan");
    assert_eq!(pruned[0]["deleted"], json!([3, 1]));
    assert_eq!(
        pruned[0]["looked_into"],
        json!([{"stage": "dev", "account": a}])
    );
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), [4, 2]);
}

#[test]
fn a_stage_account_that_cannot_be_looked_into_is_named_and_prune_finishes_the_others() {
    let (a, b) = (fresh_account(), fresh_account());
    let krate = with_stages(&format!(
        "dev = {{ accounts = [\"{a}\"] }}\ntest = {{ accounts = [\"{b}\"] }}"
    ));
    let proxy = Proxy::start();
    proxy.stage_accounts(&[&a, &b]);
    publish(&krate, &proxy, 5, &["dev"]);
    for version in ["1", "3"] {
        krate
            .run(
                &proxy.endpoint,
                &["promote", "-q", "--stage", "test", "--version", version],
            )
            .success();
    }
    functions::create(&a, REGION, "orders", &[&arn(&krate, 2)]);
    proxy.refuse_role(&stage_role(&b));

    proxy.clear();
    let (pruned, out) = results(
        &krate,
        &proxy,
        &["prune", "--keep", "1", "--keep-granted", "1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let result = &pruned[0];
    // 5: newest; 3: test's newest grant; 2: used in dev's account; 1: still granted to the
    // test account, which nobody could look into. Only 4 goes.
    assert_eq!(result["deleted"], json!([4]), "{result}");
    let reasons = |version: i64| {
        kept(result)
            .into_iter()
            .find(|(v, _)| *v == version)
            .map(|(_, r)| r)
            .unwrap_or_default()
    };
    assert!(
        reasons(2).iter().any(|r| r["reason"] == "used-by-function"),
        "{result}"
    );
    let unseen = json!({"reason": "unseen", "stage": "test", "account": b});
    assert_eq!(reasons(1), std::slice::from_ref(&unseen));
    assert!(reasons(3).contains(&unseen), "{result}");
    let looked = result["looked_into"].as_array().unwrap();
    let of = |x: &str| looked.iter().find(|l| l["account"] == x).unwrap().clone();
    assert!(of(&a).get("error").is_none(), "{result}");
    let error = of(&b)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("sts:AssumeRole") && error.contains(&stage_role(&b)),
        "{error}"
    );
    assert!(
        stderr(&out).contains(&format!(
            "could not look into stage account {b} (stage test)"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        lambda_as(&krate.account).versions(&krate.name),
        [5, 3, 2, 1]
    );

    let dry = ["prune", "--keep", "1", "--dry-run"];
    let human = krate.run(&proxy.endpoint, &dry).success();
    let named = format!("could not look into stage account {b} (stage test)");
    assert!(stdout(&human).contains(&named), "{}", stdout(&human));
    let md = summary(&krate, &proxy, &dry);
    assert!(md.contains(&format!("> C{}", &named[1..])), "{md}");
}

#[test]
fn where_used_without_a_stage_role_is_a_config_error() {
    let krate = FilesCrate::new(
        &fresh_account(),
        &format!("dev = {{ accounts = [\"{}\"] }}", fresh_account()),
    );
    let proxy = Proxy::start();
    let out = krate
        .command(&proxy.endpoint, &["status", "--where-used"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let error = error_line(&out);
    assert!(
        error.contains("--where-used")
            && error.contains("package.metadata.layer.stage-role")
            && error.contains("iam-policy")
            && error.contains("--stage-role"),
        "{error}"
    );
    assert!(proxy.writes().is_empty());
}
