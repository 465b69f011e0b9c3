//! Ctrl-C while `package` runs cargo build: the run stops at a safe point with exit 130 and
//! writes no zip and leaves no temporary file.

use crate::support::{TempCrate, cargo_layer_process, ctrl_c, fixture_manifest, wait_for};

#[test]
fn ctrl_c_during_the_build_writes_nothing_and_exits_130() {
    let manifest = fixture_manifest("[package.metadata.layer]\nkind = \"bin\"\n");
    // The build script says it started, then takes a while.
    let build_rs = r#"fn main() {
        std::fs::write(std::env::var("BUILD_STARTED").unwrap(), "").unwrap();
        std::thread::sleep(std::time::Duration::from_secs(3));
    }"#;
    let krate = TempCrate::new(&[
        ("Cargo.toml", &manifest),
        ("build.rs", build_rs),
        ("src/main.rs", "fn main() {}\n"),
    ]);
    let started = krate.root.join("build-started");
    let child = cargo_layer_process(&krate.target_dir())
        .args(["package", "-q", "--manifest-path"])
        .arg(krate.manifest())
        .env("BUILD_STARTED", &started)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let building = wait_for(|| started.exists());
    assert!(building, "the build script never ran");
    ctrl_c(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("error: interrupted"), "{stderr}");
    assert!(krate.zips().is_empty(), "no zip after an interrupted run");
    let temporaries: Vec<_> = walkdir::WalkDir::new(&krate.root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".cargo-layer-"))
        .collect();
    assert!(temporaries.is_empty(), "{temporaries:?}");
}
