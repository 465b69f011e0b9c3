//! `cargo layer package` end to end on the examples. Each example is built at most once per run,
//! into the shared `target/test-examples`; everything after that uses `--no-build`.

use std::io::{Cursor, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use zip::ZipArchive;

use crate::support::{
    TempCrate, cargo_layer, code_sha256, error_line, example_manifest, examples_target_dir,
    layer_crate, repo_root, reports, sha256_hex, stderr, success, which,
};

/// `package --manifest-path <manifest> <args>` against the shared example target dir.
fn package_example(example: &str, args: &[&str]) -> std::process::Output {
    cargo_layer(&examples_target_dir())
        .arg("package")
        .arg("--manifest-path")
        .arg(example_manifest(example))
        .args(args)
        .output()
        .expect("run cargo-layer")
}

/// The one real build of examples/hello-extension, and its JSON report.
fn hello() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(|| {
        let out = package_example("hello-extension", &["--message-format", "json"]);
        let mut reports = reports(&out);
        assert_eq!(reports.len(), 1, "one layer");
        reports.remove(0)
    })
}

/// The one real build of examples/workspace, and its JSON reports.
fn workspace() -> &'static [Value] {
    static REPORTS: OnceLock<Vec<Value>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let out = package_example("workspace", &["--message-format", "json"]);
        reports(&out)
    })
}

fn str_field<'a>(report: &'a Value, key: &str) -> &'a str {
    report[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is a string in {report}"))
}

/// The zip a report points at, checked against the report's digests and size.
fn zip_of(report: &Value) -> Vec<u8> {
    let bytes = std::fs::read(str_field(report, "zip")).expect("the reported zip exists");
    assert_eq!(code_sha256(&bytes), str_field(report, "code_sha256"));
    assert_eq!(sha256_hex(&bytes), str_field(report, "sha256"));
    assert_eq!(report["zip_size"].as_u64(), Some(bytes.len() as u64));
    bytes
}

/// (path, mode, size) of the report's entries.
fn entries(report: &Value) -> Vec<(String, String, u64)> {
    report["entries"]
        .as_array()
        .expect("entries is an array")
        .iter()
        .map(|e| {
            (
                str_field(e, "path").to_string(),
                str_field(e, "mode").to_string(),
                e["size"].as_u64().expect("size is a number"),
            )
        })
        .collect()
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    std::fs::canonicalize(a).unwrap() == std::fs::canonicalize(b).unwrap()
}

// ---- examples/hello-extension ----

#[test]
fn hello_extension_report_matches_its_zip() {
    let report = hello();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["type"], "package");
    assert_eq!(report["name"], "hello-extension");
    assert_eq!(report["package"], "hello-extension");
    assert_eq!(report["kind"], "extension");
    assert_eq!(
        report["compatible_runtimes"],
        serde_json::json!(["provided.al2023"])
    );
    assert_eq!(
        report["compatible_architectures"],
        serde_json::json!([host_arch()])
    );
    let zip = Path::new(str_field(report, "zip"));
    assert!(
        same_file(
            zip,
            &examples_target_dir().join("layer/hello-extension.zip")
        ),
        "default output is <target-dir>/layer/<name>.zip, got {}",
        zip.display()
    );
    let bytes = zip_of(report);
    let listed = entries(report);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let (path, mode, size) = &listed[0];
    assert_eq!(
        (path.as_str(), mode.as_str()),
        ("extensions/hello-extension", "0755")
    );
    let binary = std::fs::metadata(examples_target_dir().join("release/hello-extension")).unwrap();
    assert_eq!(*size, binary.len());
    assert_eq!(report["unzipped_size"].as_u64(), Some(binary.len()));

    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    assert_eq!(names, ["extensions/", "extensions/hello-extension"]);
    let entry = archive.by_name("extensions/hello-extension").unwrap();
    assert_eq!(entry.unix_mode(), Some(0o100755));
    assert_eq!(entry.last_modified(), Some(zip::DateTime::default()));
}

#[test]
fn hello_extension_zip_lists_as_executable_in_unzip() {
    let Some(unzip) = which("unzip") else {
        eprintln!("unzip is not installed; skipping the unzip -Z check");
        return;
    };
    let zip = str_field(hello(), "zip");
    let out = std::process::Command::new(unzip)
        .args(["-Z", zip])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.ends_with(" extensions/hello-extension"))
        .unwrap_or_else(|| panic!("no extensions/hello-extension in:\n{listing}"));
    assert!(line.starts_with("-rwxr-xr-x "), "{line}");
    assert!(line.contains(" unx "), "made on Unix: {line}");
    let dir = listing
        .lines()
        .find(|l| l.ends_with(" extensions/"))
        .unwrap_or_else(|| panic!("no extensions/ in:\n{listing}"));
    assert!(dir.starts_with("drwxr-xr-x "), "{dir}");
}

#[test]
fn touched_and_chmodded_binary_packs_to_the_same_code_sha256() {
    let built = hello();
    // A target dir of our own with the built binary, given a new mtime and mode 0700, so the
    // shared build stays untouched for cargo's freshness checks.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let binary = target.join("release/hello-extension");
    std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
    std::fs::copy(
        examples_target_dir().join("release/hello-extension"),
        &binary,
    )
    .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&binary)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        .unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o700)).unwrap();

    let out = cargo_layer(&target)
        .arg("package")
        .arg("--manifest-path")
        .arg(example_manifest("hello-extension"))
        .args(["--no-build", "--message-format", "json"])
        .output()
        .unwrap();
    let again = reports(&out);
    assert_eq!(again.len(), 1);
    assert_eq!(
        str_field(&again[0], "code_sha256"),
        str_field(built, "code_sha256")
    );
    assert!(same_file(
        Path::new(str_field(&again[0], "zip")),
        &target.join("layer/hello-extension.zip")
    ));
    let bytes = zip_of(&again[0]);
    assert!(bytes == zip_of(built), "identical bytes");
}

#[test]
fn human_output_on_stdout_progress_on_stderr() {
    let built = hello();
    let out_dir = tempfile::tempdir().unwrap();
    let out = package_example(
        "hello-extension",
        &["--no-build", "--out-dir", out_dir.path().to_str().unwrap()],
    );
    let stdout = success(&out);
    let zip = out_dir.path().join("hello-extension.zip");
    assert!(zip.is_file());
    assert!(
        stdout.starts_with(&format!("hello-extension  {}\n", zip.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "  CodeSha256     {}\n",
            str_field(built, "code_sha256")
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "  sha256         {}\n",
            str_field(built, "sha256")
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("packing"), "progress stays off stdout");
    let stderr = stderr(&out);
    assert!(stderr.contains("packing layer hello-extension"), "{stderr}");
    assert!(!stderr.contains("CodeSha256"), "results stay off stderr");

    // -q: results only.
    let quiet = package_example(
        "hello-extension",
        &[
            "-q",
            "--no-build",
            "--out-dir",
            out_dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(success(&quiet), stdout);
    assert_eq!(crate::support::stderr(&quiet), "");
}

// ---- examples/workspace ----

#[test]
fn workspace_packs_both_layers() {
    let reports = workspace();
    let names: Vec<&str> = reports.iter().map(|r| str_field(r, "name")).collect();
    assert_eq!(names, ["shared-tools", "app-config-files"]);

    let tools = &reports[0];
    assert_eq!(tools["kind"], "bin");
    let binary = std::fs::metadata(examples_target_dir().join("release/shared-tools")).unwrap();
    assert_eq!(
        entries(tools),
        [(
            "bin/shared-tools".to_string(),
            "0755".to_string(),
            binary.len()
        )]
    );
    zip_of(tools);

    let files = &reports[1];
    assert_eq!(files["kind"], "files");
    assert_eq!(files["package"], "app-config");
    assert_eq!(files["compatible_architectures"], serde_json::json!([]));
    let root = repo_root().join("examples/workspace/app-config/config");
    let app = std::fs::read(root.join("app.yaml")).unwrap();
    let endpoints = std::fs::read(root.join("endpoints.yaml")).unwrap();
    assert_eq!(
        entries(files),
        [
            (
                "config/app.yaml".to_string(),
                "0644".to_string(),
                app.len() as u64
            ),
            (
                "config/endpoints.yaml".to_string(),
                "0644".to_string(),
                endpoints.len() as u64
            ),
        ]
    );
    let mut zip = ZipArchive::new(Cursor::new(zip_of(files))).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    assert_eq!(
        names,
        ["config/", "config/app.yaml", "config/endpoints.yaml"]
    );
    let mut data = Vec::new();
    zip.by_name("config/app.yaml")
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    assert_eq!(data, app);
}

/// `-p app-config --no-build --out-dir <dir> --message-format json` (+ `extra`), with env.
fn app_config(out_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = cargo_layer(&examples_target_dir());
    cmd.arg("package")
        .arg("--manifest-path")
        .arg(example_manifest("workspace"))
        .args(["-p", "app-config", "--no-build", "--message-format", "json"])
        .arg("--out-dir")
        .arg(out_dir)
        .args(extra);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

#[test]
fn dash_p_packs_one_layer_into_out_dir() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = app_config(out_dir.path(), &[], &[]);
    let reports = reports(&out);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["name"], "app-config-files");
    let zip = out_dir.path().join("app-config-files.zip");
    assert_eq!(Path::new(str_field(&reports[0], "zip")), zip);
    zip_of(&reports[0]);
    let written: Vec<String> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        written,
        ["app-config-files.zip"],
        "no other layer, no temp files"
    );
    let mode = std::fs::metadata(&zip).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "the zip is readable by others");
    // Same content as the full workspace run.
    assert_eq!(
        str_field(&reports[0], "code_sha256"),
        str_field(&workspace()[1], "code_sha256")
    );
}

#[test]
fn invoked_through_cargo_as_cargo_layer_layer() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = cargo_layer(&examples_target_dir())
        .args(["layer", "package", "--manifest-path"])
        .arg(example_manifest("workspace"))
        .args(["-p", "app-config", "--no-build", "-q", "--out-dir"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    success(&out);
    assert!(out_dir.path().join("app-config-files.zip").is_file());
}

#[test]
fn source_date_epoch_sets_entry_times() {
    let plain = tempfile::tempdir().unwrap();
    let dated = tempfile::tempdir().unwrap();
    let base = reports(&app_config(plain.path(), &[], &[]));
    let out = app_config(dated.path(), &[], &[("SOURCE_DATE_EPOCH", "1700000000")]);
    let later = reports(&out);
    assert_ne!(
        str_field(&base[0], "code_sha256"),
        str_field(&later[0], "code_sha256")
    );
    let zip = ZipArchive::new(Cursor::new(zip_of(&later[0]))).unwrap();
    for i in 0..zip.len() {
        let entry = zip.by_index_data(i).unwrap();
        assert_eq!(
            entry.last_modified().unwrap().to_string(),
            "2023-11-14 22:13:20"
        );
    }
}

#[test]
fn bad_source_date_epoch_is_a_config_error() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = app_config(out_dir.path(), &[], &[("SOURCE_DATE_EPOCH", "soon")]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(line.contains("SOURCE_DATE_EPOCH=\"soon\""), "{line}");
    assert_eq!(std::fs::read_dir(out_dir.path()).unwrap().count(), 0);
}

#[test]
fn usage_error_exits_2() {
    let out = cargo_layer(&examples_target_dir())
        .args(["package", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// ---- binaries Lambda cannot run ----

/// A bin crate `fixture` with `layer` as its layer table and `binary` put where
/// `--no-build` looks for it.
fn crate_with_binary(layer: &str, binary: impl FnOnce(&Path)) -> TempCrate {
    let krate = layer_crate(layer, &[]);
    let path = krate.target_dir().join("release/fixture");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    binary(&path);
    krate
}

#[test]
fn shell_script_instead_of_elf_fails() {
    let krate = crate_with_binary("kind = \"extension\"", |path| {
        std::fs::write(path, "#!/bin/sh\necho hi\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains(
            &krate
                .target_dir()
                .join("release/fixture")
                .display()
                .to_string()
        )
    );
    assert!(line.contains("not an executable binary"), "{line}");
    assert!(line.contains("ELF"), "{line}");
    assert!(krate.zips().is_empty());
}

#[test]
fn architecture_mismatch_fails() {
    let (wanted, actual) = match host_arch() {
        "arm64" => ("x86_64", "arm64"),
        _ => ("arm64", "x86_64"),
    };
    // The cargo-layer executable itself is a host ELF binary, put where the build for the
    // configured architecture would have put the binary.
    let triple = match wanted {
        "arm64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    };
    let krate = crate_with_binary(
        &format!("kind = \"extension\"\ncompatible-architectures = [\"{wanted}\"]"),
        |path| {
            let path = path
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .join(triple)
                .join("release/fixture");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_cargo-layer"), path).unwrap()
        },
    );
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains(&format!(
            "is an {actual} binary but compatible-architectures includes \"{wanted}\""
        )),
        "{line}"
    );
    assert!(krate.zips().is_empty());
}

#[test]
fn missing_binary_with_no_build_fails() {
    let krate = crate_with_binary("kind = \"bin\"", |_| {});
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(line.contains("`fixture`"), "{line}");
    assert!(line.contains("not built"), "{line}");
}

#[test]
fn target_lambda_does_not_run_is_a_config_error() {
    let krate = crate_with_binary("kind = \"extension\"", |_| {});
    let out = krate.package(&["--no-build", "--target", "riscv64gc-unknown-linux-gnu"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(line.contains("riscv64gc-unknown-linux-gnu"), "{line}");
}

#[test]
fn iam_policy_is_scoped_to_the_layer_arns() {
    let out = cargo_layer(&examples_target_dir())
        .args(["iam-policy", "--manifest-path"])
        .arg(example_manifest("hello-extension"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layer = "arn:aws:lambda:eu-central-1:111111111111:layer:hello-extension";
    assert_eq!(
        policy["Statement"][0]["Resource"],
        serde_json::json!([layer])
    );
    assert_eq!(
        policy["Statement"][1]["Resource"],
        serde_json::json!([format!("{layer}:*")])
    );
    let actions: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    for needed in [
        "lambda:PublishLayerVersion",
        "lambda:ListLayerVersions",
        "lambda:GetLayerVersion",
        "lambda:GetLayerVersionPolicy",
        "lambda:AddLayerVersionPermission",
        "lambda:RemoveLayerVersionPermission",
    ] {
        assert!(
            actions.contains(&needed),
            "{needed} missing from {actions:?}"
        );
    }
}
