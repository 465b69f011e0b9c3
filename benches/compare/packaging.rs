//! Packaging each input tree: `cargo layer package --no-build` against Info-ZIP `zip -X -r -6`,
//! cold (no cache) and as an unchanged re-pack after touching every file.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::measure::{self, Run};
use crate::tree;

pub struct Packaging {
    pub tree: &'static str,
    pub files: usize,
    pub tree_bytes: u64,
    pub layer_cold: Vec<Run>,
    pub layer_repack: Vec<Run>,
    pub zip: Vec<Run>,
    pub layer_zip_bytes: u64,
    pub zip_bytes: u64,
    pub threads: usize,
    pub real: bool,
}

const MANIFEST: &str = r#"[package]
name = "bench-tree"
version = "0.1.0"
edition = "2024"

[workspace]

[package.metadata.layer]
kind = "files"
include = [{ from = "tree", to = "" }]
"#;

pub fn run(work: &Path, tool: &Path, runs: usize, tree: &tree::Tree, index: usize) -> Packaging {
    let dir = work.join(format!("packaging-{index}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), MANIFEST).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    eprintln!("bench: generating {}", tree.name);
    let files = (tree.make)(&dir.join("tree"));
    let layer_zip = dir.join("target/layer/bench-tree.zip");
    let info_zip = dir.join("info.zip");
    let package = package_command(tool, &dir);
    let zip = zip_command(&dir, &info_zip);
    // Warm the page cache and the tools once, so every measured run reads from memory.
    measure::run(&zip);
    measure::run(&package);
    let mut result = Packaging {
        tree: tree.name,
        files: files.len(),
        tree_bytes: tree::total(&files),
        layer_cold: Vec::new(),
        layer_repack: Vec::new(),
        zip: Vec::new(),
        layer_zip_bytes: 0,
        zip_bytes: 0,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        real: tree.real,
    };
    for i in 0..runs {
        eprintln!("bench: packaging run {}/{runs}", i + 1);
        let _ = std::fs::remove_file(&info_zip);
        result.zip.push(measure::run(&zip));
        let _ = std::fs::remove_dir_all(cargo_layer::pack::cache::dir(&dir.join("target")));
        let _ = std::fs::remove_file(&layer_zip);
        result.layer_cold.push(measure::run(&package));
        measure::touch_all(&dir.join("tree"));
        result.layer_repack.push(measure::run(&package));
    }
    result.layer_zip_bytes = size(&layer_zip);
    result.zip_bytes = size(&info_zip);
    for zip in [&layer_zip, &info_zip] {
        let test = Command::new("unzip").arg("-tq").arg(zip).output().unwrap();
        assert!(test.status.success(), "unzip -t {}", zip.display());
    }
    result
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn package_command(tool: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(tool);
    cmd.args(["package", "--no-build", "-q", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CARGO_TARGET_DIR")
        .stdout(std::process::Stdio::null());
    cmd
}

fn zip_command(dir: &Path, out: &PathBuf) -> Command {
    let mut cmd = Command::new("zip");
    cmd.args(["-X", "-r", "-6", "-q"])
        .arg(out)
        .arg("tree")
        .current_dir(dir);
    cmd
}
