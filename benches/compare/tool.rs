//! The tool itself: a cold release build, the binary's size, and start-up time.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub struct Tool {
    /// Seconds for `cargo build --release --locked` into an empty target directory, or why it
    /// failed.
    pub cold_build: Option<Result<f64, String>>,
    pub binary_bytes: u64,
    /// Mean seconds of `cargo-layer --version`.
    pub startup: f64,
}

/// With `cold_build`, the binary measured is the one that build made (a plain release build);
/// without, the benchmark's own build of it.
pub fn run(work: &Path, tool: &Path, cold_build: bool) -> Tool {
    if !cold_build {
        return Tool {
            cold_build: None,
            binary_bytes: std::fs::metadata(tool).unwrap().len(),
            startup: startup(tool, 50),
        };
    }
    let target = work.join("cold-build-target");
    let built = target.join("release/cargo-layer");
    let seconds = build_cold(&target);
    // Without a build of its own, measure the benchmark's build of the binary.
    let binary = if seconds.is_ok() {
        built.as_path()
    } else {
        tool
    };
    let tool = Tool {
        binary_bytes: std::fs::metadata(binary).unwrap().len(),
        startup: startup(binary, 50),
        cold_build: Some(seconds),
    };
    let _ = std::fs::remove_dir_all(&target);
    tool
}

fn startup(tool: &Path, runs: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        let out = Command::new(tool).arg("--version").output().unwrap();
        assert!(out.status.success());
    }
    start.elapsed().as_secs_f64() / f64::from(runs)
}

/// The time a user's `cargo install` (or a CI cache miss) pays, with the crates already
/// downloaded.
fn build_cold(target: &Path) -> Result<f64, String> {
    eprintln!("bench: cold release build (takes minutes)");
    let _ = std::fs::remove_dir_all(target);
    let start = Instant::now();
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(crate::aws::repo_root().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reason = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("cargo build failed");
        return Err(format!("the cold build failed: {reason}"));
    }
    Ok(seconds)
}
