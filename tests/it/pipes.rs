//! stdout closed by its reader (`cargo layer status | head -1`, `| true`): the run ends quietly,
//! as Unix tools do, with no panic, and what it did in AWS stays recorded.

use std::process::{Output, Stdio};

use crate::support::moto::{fresh_account, lambda_as, moto, role, tool_process};
use crate::support::{FilesCrate, cargo_layer_process};

const STAGES: &str = r#"dev = { accounts = ["222222222222"] }"#;

/// Run `cmd` with a stdout whose reading end is already closed.
fn with_closed_stdout(mut cmd: std::process::Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped());
    cmd.output().unwrap()
}

fn aws(krate: &FilesCrate, args: &[&str]) -> std::process::Command {
    let mut cmd = tool_process(&moto().endpoint);
    cmd.args(args)
        .arg("--manifest-path")
        .arg(krate.manifest_path())
        .arg("--assume-role")
        .arg(role(&krate.account));
    cmd
}

fn quiet_success(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let krate = FilesCrate::new(&fresh_account(), STAGES);
    // publish: the version, its grants and the manifest are all there.
    let out = with_closed_stdout(aws(&krate, &["publish"]));
    quiet_success(&out);
    assert_eq!(lambda_as(&krate.account).versions(&krate.name), [1]);
    assert!(krate.layer_manifest().is_file());
    // -q: nothing at all on stderr either.
    let out = with_closed_stdout(aws(&krate, &["status", "-q"]));
    quiet_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let out = with_closed_stdout(aws(&krate, &["status", "--message-format", "json"]));
    quiet_success(&out);
    // No AWS at all.
    let mut policy = cargo_layer_process(&krate.dir.path().join("target"));
    policy
        .args(["iam-policy", "--manifest-path"])
        .arg(krate.manifest_path());
    quiet_success(&with_closed_stdout(policy));
}
