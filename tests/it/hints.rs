//! Every command cargo-layer suggests works as printed: each test makes a run fail (or warn) the
//! way a user meets it, takes the suggested `cargo layer ...` commands out of what it printed,
//! and runs them in the same place with the same environment.

use crate::support::moto::{fresh_account, lambda_as, moto, tool};
use crate::support::proxy::Proxy;
use crate::support::{FilesCrate, error_line, stdout};

const STAGES: &str = r#"
dev = { accounts = ["222222222222"] }
prod = { accounts = ["333333333333"], organization = "o-abcdefghij" }
"#;

/// The `cargo layer ...` commands a text suggests, in backquotes, split as a shell splits them.
fn suggested(text: &str) -> Vec<Vec<String>> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| quoted.starts_with("cargo layer "))
        .map(|quoted| shlex::split(quoted).unwrap_or_else(|| panic!("not shell words: {quoted}")))
        .collect()
}

/// Run a suggested command as the user would (`cargo layer` is this binary), against moto.
fn run(words: &[String]) -> assert_cmd::assert::Assert {
    assert_eq!(words[..2], ["cargo", "layer"], "{words:?}");
    tool(&moto().endpoint).args(&words[2..]).assert()
}

#[test]
fn a_suggested_command_is_found_and_split() {
    let words =
        suggested("x; `cargo layer revoke --manifest-path 'a b/Cargo.toml' --stage dev` and `ls`");
    assert_eq!(
        words,
        [[
            "cargo",
            "layer",
            "revoke",
            "--manifest-path",
            "a b/Cargo.toml",
            "--stage",
            "dev"
        ]]
    );
}

/// A grant whose statement ID another principal holds fails (exit 8). The error names the
/// revoke that clears the stage (with its version) and the run that then finishes the grants.
#[test]
fn the_commands_a_failed_grant_suggests_run() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "prod"])
        .success();
    let lambda = lambda_as(&krate.account);
    lambda.add_foreign_statement(
        &krate.name,
        1,
        "cargo-layer-dev-222222222222",
        "555555555555",
    );
    for args in [
        &["promote", "--stage", "dev", "--version", "1"][..],
        &["publish", "--stage", "dev"][..],
    ] {
        let failed = krate.run(endpoint, args).failure().code(8);
        let line = error_line(&failed);
        let commands = suggested(&line);
        assert_eq!(
            commands.len(),
            2,
            "a revoke, then the same run again: {line}"
        );
        assert_eq!(commands[0][2], "revoke", "{line}");
        assert!(
            commands[0].windows(2).any(|w| w == ["--version", "1"]),
            "{line}"
        );
        assert_eq!(commands[1][2], args[0], "{line}");
        if args[0] == "promote" {
            assert!(
                !line.contains("records them"),
                "promote writes no manifest: {line}"
            );
        } else {
            assert!(
                line.contains(&format!("{}.json records them", krate.name)),
                "{line}"
            );
        }
        for command in &commands {
            run(command).success();
        }
        let granted = krate
            .run(endpoint, &["status", "--message-format", "json"])
            .success();
        let dev = &crate::support::json(&granted)["versions"][0]["stages"]["dev"];
        assert_eq!(dev["missing"], serde_json::json!([]), "{dev}");
        // The conflict again, for the next case.
        run(&commands[0]).success();
        lambda.add_foreign_statement(
            &krate.name,
            1,
            "cargo-layer-dev-222222222222",
            "555555555555",
        );
    }
}

/// A version that does not exist: the error names the status that lists the versions.
#[test]
fn the_command_a_missing_version_suggests_runs() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    let failed = krate
        .run(endpoint, &["revoke", "--stage", "dev", "--version", "7"])
        .failure()
        .code(7);
    let line = error_line(&failed);
    let commands = suggested(&line);
    assert_eq!(commands.len(), 1, "{line}");
    assert_eq!(commands[0][2], "status", "{line}");
    let listed = stdout(&run(&commands[0]).success());
    assert!(listed.contains("version 1 "), "{listed}");
}

/// A statement for an account Cargo.toml no longer lists: status names the revoke for it.
#[test]
fn the_command_status_suggests_for_a_stale_grant_runs() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let endpoint = &moto().endpoint;
    krate
        .run(endpoint, &["publish", "-q", "--stage", "dev"])
        .success();
    let lambda = lambda_as(&krate.account);
    lambda.add_foreign_statement(
        &krate.name,
        1,
        "cargo-layer-dev-999999999999",
        "999999999999",
    );
    let status = stdout(&krate.run(endpoint, &["status"]).success());
    let stale = status
        .lines()
        .find(|l| l.contains("stale"))
        .unwrap_or_else(|| panic!("{status}"));
    let commands = suggested(stale);
    assert_eq!(commands.len(), 1, "{stale}");
    run(&commands[0]).success();
    let ids = lambda.statement_ids(&krate.name, 1);
    assert!(
        !ids.iter().any(|id| id.starts_with("cargo-layer-dev-")),
        "{ids:?}"
    );
}

/// Access denied: the error names iam-policy for the same Cargo.toml.
#[test]
fn the_command_access_denied_suggests_runs() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    let proxy = Proxy::start();
    proxy.fail(
        "PublishLayerVersion",
        1,
        403,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: lambda:PublishLayerVersion",
    );
    let failed = krate.run(&proxy.endpoint, &["publish"]).failure().code(7);
    let line = error_line(&failed);
    let commands = suggested(&line);
    assert_eq!(
        commands.len(),
        2,
        "iam-policy, then the same run again: {line}"
    );
    assert_eq!(commands[0][2], "iam-policy", "{line}");
    let policy = stdout(&run(&commands[0]).success());
    assert!(policy.contains("lambda:PublishLayerVersion"), "{policy}");
    assert_eq!(commands[1][2], "publish", "{line}");
    run(&commands[1]).success();
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), [1]);
}
