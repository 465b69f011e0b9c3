//! Throwaway crates: [`TempCrate`] for packing, [`FilesCrate`] for the AWS commands.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use cargo_layer::project::config::{Include, KeyOrigin, LayerConfig, LayerKind};
use tempfile::TempDir;

use super::cargo_layer;
use super::moto::{REGION, moto, role, tool};
use super::proxy::Proxy;

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

/// A bin crate `fixture` whose `[package.metadata.layer]` body is `layer`, plus `files` (which
/// may replace its `src/main.rs`).
pub fn layer_crate(layer: &str, files: &[(&str, &str)]) -> TempCrate {
    let manifest = fixture_manifest(&format!("[package.metadata.layer]\n{layer}"));
    let krate = TempCrate::new(&[("Cargo.toml", &manifest), ("src/main.rs", "fn main() {}\n")]);
    for (path, contents) in files {
        krate.write(path, contents);
    }
    krate
}

/// The configuration of a layer `fixture` rooted at `root`, for planning its layout in-process;
/// `include` is (from, to) pairs.
pub fn layer_config(
    root: &Path,
    kind: LayerKind,
    bins: &[&str],
    include: &[(&str, &str)],
) -> LayerConfig {
    LayerConfig {
        package: "fixture".into(),
        cargo_toml: root.join("Cargo.toml"),
        package_root: root.to_path_buf(),
        name: "fixture".into(),
        description: None,
        kind,
        bins: bins.iter().map(|b| b.to_string()).collect(),
        cdylib: (kind == LayerKind::Lib).then(|| "fixture".to_string()),
        include: include
            .iter()
            .map(|(from, to)| Include {
                from: from.to_string(),
                to: to.to_string(),
            })
            .collect(),
        include_origin: KeyOrigin {
            file: root.join("Cargo.toml"),
            prefix: "package.metadata.layer".into(),
        },
        ..Default::default()
    }
}

/// A package whose layer is only files (no compilation), owned by `account`.
pub struct FilesCrate {
    pub dir: TempDir,
    pub account: String,
    pub name: String,
    /// Where runs aimed at moto go instead, so every AWS call is checked against the IAM policy
    /// when the crate is dropped.
    proxy: OnceLock<Proxy>,
}

impl FilesCrate {
    /// `stages` is TOML placed under `[package.metadata.layer.stages]`.
    pub fn new(account: &str, stages: &str) -> FilesCrate {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("files-{account}");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
description = "test layer"

[workspace]

[package.metadata.layer]
kind = "files"
include = [{{ from = "config/*", to = "config/" }}]
compatible-runtimes = ["provided.al2023"]
region = "{REGION}"
artifacts-account = "{account}"

[package.metadata.layer.stages]
{stages}
"#
            ),
        )
        .unwrap();
        let krate = FilesCrate {
            dir,
            account: account.to_string(),
            name,
            proxy: OnceLock::new(),
        };
        krate.set_content("version one\n");
        krate
    }

    pub fn set_content(&self, text: &str) {
        std::fs::write(self.dir.path().join("config/settings.txt"), text).unwrap();
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.path().join("Cargo.toml")
    }

    pub fn layer_manifest(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("target/layer/{}.json", self.name))
    }

    pub fn zip(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("target/layer/{}.zip", self.name))
    }

    /// `cargo-layer package`: no AWS involved.
    pub fn package(&self) {
        cargo_layer(&self.dir.path().join("target"))
            .args(["package", "-q", "--manifest-path"])
            .arg(self.manifest_path())
            .assert()
            .success();
    }

    /// `cargo-layer <args> --manifest-path ...` against `endpoint`, assuming the test account.
    pub fn run(&self, endpoint: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        self.command(endpoint, args).assert()
    }

    /// The command `run` runs, to add to its environment first. A run aimed at moto itself
    /// goes through this crate's recording proxy.
    pub fn command(&self, endpoint: &str, args: &[&str]) -> assert_cmd::Command {
        let endpoint = if endpoint == moto().endpoint {
            &self.proxy().endpoint
        } else {
            endpoint
        };
        let mut cmd = tool(endpoint);
        cmd.args(args)
            .arg("--manifest-path")
            .arg(self.manifest_path())
            .arg("--assume-role")
            .arg(role(&self.account));
        cmd
    }

    /// The recording proxy runs aimed at moto go through.
    pub fn proxy(&self) -> &Proxy {
        self.proxy.get_or_init(Proxy::start)
    }

    /// Replace `from` with `to` in the crate's Cargo.toml.
    pub fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.manifest_path()).unwrap();
        assert!(text.contains(from), "Cargo.toml has no {from:?}: {text}");
        std::fs::write(self.manifest_path(), text.replace(from, to)).unwrap();
    }
}

/// `project::load` of a files layer whose table ends with `keys`: the error, in one line.
pub fn load_error(keys: &str) -> cargo_layer::error::Error {
    let krate = TempCrate::new(&[
        (
            "Cargo.toml",
            &fixture_manifest(&format!(
                "[package.metadata.layer]\nkind = \"files\"\ninclude = [{{ from = \"config/*\", to = \"config/\" }}]\n{keys}"
            )),
        ),
        ("config/settings.txt", "x\n"),
        ("src/lib.rs", ""),
    ]);
    let loaded = cargo_layer::project::load(&cargo_layer::project::Selection {
        cargo_toml: Some(krate.manifest()),
        packages: Vec::new(),
    });
    let error = loaded.err().expect("the configuration is refused");
    assert_eq!(error.kind, cargo_layer::error::Kind::Config, "{error}");
    error
}
