//! Helpers shared by the integration tests: where things are, how to run the binary, and how to
//! write a throwaway crate.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

/// The cargo-layer repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `examples/<name>/Cargo.toml`.
pub fn example_manifest(name: &str) -> PathBuf {
    repo_root().join("examples").join(name).join("Cargo.toml")
}

/// The one CARGO_TARGET_DIR every example build shares, so each example compiles at most once
/// per `cargo test` (concurrent cargo runs lock it).
pub fn examples_target_dir() -> PathBuf {
    repo_root().join("target").join("test-examples")
}

/// `cargo-layer` as a plain process with a predictable environment: output for a pipe (no
/// GitHub Actions mode, no CI), no SOURCE_DATE_EPOCH, and the given target directory.
pub fn cargo_layer_process(target_dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-layer"));
    cmd.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CI")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("CARGO_TARGET_DIR", target_dir);
    cmd
}

/// The same, for assertions.
pub fn cargo_layer(target_dir: &Path) -> Command {
    Command::from_std(cargo_layer_process(target_dir))
}

/// A crate in a fresh temporary directory (canonical path, so it matches what cargo reports).
/// `files` are (relative path, contents); parent directories are created.
pub struct TempCrate {
    _dir: TempDir,
    pub root: PathBuf,
}

impl TempCrate {
    pub fn new(files: &[(&str, &str)]) -> TempCrate {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let root = std::fs::canonicalize(dir.path()).expect("canonicalize the temp dir");
        let krate = TempCrate { _dir: dir, root };
        for (path, contents) in files {
            krate.write(path, contents);
        }
        krate
    }

    pub fn write(&self, path: &str, contents: &str) -> PathBuf {
        let path = self.root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    pub fn target_dir(&self) -> PathBuf {
        self.root.join("target")
    }

    /// `cargo-layer package --manifest-path <this crate> <args>` with its own target dir.
    pub fn package(&self, args: &[&str]) -> Output {
        cargo_layer(&self.target_dir())
            .arg("package")
            .arg("--manifest-path")
            .arg(self.manifest())
            .args(args)
            .output()
            .expect("run cargo-layer")
    }

    /// Every `.zip` below the crate directory.
    pub fn zips(&self) -> Vec<PathBuf> {
        walkdir::WalkDir::new(&self.root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
            .map(|e| e.into_path())
            .collect()
    }
}

/// `[package]` of a crate called `fixture`, its own workspace, then `rest`.
pub fn fixture_manifest(rest: &str) -> String {
    format!(
        "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n{rest}\n"
    )
}

/// The stderr of a failed run: its last line must be the only `error: ` line.
pub fn error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors.len(),
        1,
        "expected one `error: ` line, stderr:\n{stderr}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("error: ")),
        "the error must be the last stderr line, stderr:\n{stderr}"
    );
    errors[0].to_string()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Assert success and return stdout.
pub fn success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "cargo-layer failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
    stdout(output)
}
