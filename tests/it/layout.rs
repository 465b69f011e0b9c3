//! Where files land in the layer, in-process through `cargo_layer::pack::layout::map`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use cargo_layer::error::Kind;
use cargo_layer::pack::layout::{Artifacts, Entry, map};
use cargo_layer::project::config::LayerKind;
use tempfile::TempDir;

use crate::support::layer_config;

/// A package directory with files at (path, contents, mode).
fn package(files: &[(&str, &str, u32)]) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    for (path, contents, mode) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    (dir, root)
}

/// Artifacts for bins built at `<root>/target/release/<bin>`.
fn built(root: &Path, bins: &[&str]) -> Artifacts {
    let dir = root.join("target/release");
    std::fs::create_dir_all(&dir).unwrap();
    let mut artifacts = Artifacts::default();
    for bin in bins {
        let path = dir.join(bin);
        std::fs::write(&path, format!("binary {bin}")).unwrap();
        artifacts.bins.insert(bin.to_string(), path);
    }
    artifacts
}

/// (path, mode) of each entry.
fn paths(entries: &[Entry]) -> Vec<(String, u32)> {
    entries.iter().map(|e| (e.path.clone(), e.mode)).collect()
}

fn p(path: &str, mode: u32) -> (String, u32) {
    (path.to_string(), mode)
}

#[test]
fn extension_bins_go_to_extensions() {
    let (_dir, root) = package(&[]);
    let artifacts = built(&root, &["zeta", "alpha"]);
    let entries = map(
        &layer_config(&root, LayerKind::Extension, &["zeta", "alpha"], &[]),
        &artifacts,
    )
    .unwrap();
    assert_eq!(
        paths(&entries),
        [p("extensions/alpha", 0o755), p("extensions/zeta", 0o755)]
    );
    assert!(entries.iter().all(|e| e.built));
    assert_eq!(entries[0].source, artifacts.bins["alpha"]);
    assert_eq!(entries[1].source, artifacts.bins["zeta"]);
}

#[test]
fn runtime_bin_becomes_bootstrap() {
    let (_dir, root) = package(&[]);
    let artifacts = built(&root, &["my-runtime"]);
    let entries = map(
        &layer_config(&root, LayerKind::Runtime, &["my-runtime"], &[]),
        &artifacts,
    )
    .unwrap();
    assert_eq!(paths(&entries), [p("bootstrap", 0o755)]);
    assert_eq!(entries[0].source, artifacts.bins["my-runtime"]);
    assert!(entries[0].built);
}

#[test]
fn bin_kind_goes_to_bin() {
    let (_dir, root) = package(&[]);
    let artifacts = built(&root, &["tool"]);
    let entries = map(
        &layer_config(&root, LayerKind::Bin, &["tool"], &[]),
        &artifacts,
    )
    .unwrap();
    assert_eq!(paths(&entries), [p("bin/tool", 0o755)]);
}

#[test]
fn lib_kind_goes_to_lib() {
    let (_dir, root) = package(&[("target/release/libfixture.so", "ELF", 0o644)]);
    let artifacts = Artifacts {
        bins: BTreeMap::new(),
        cdylib: Some(root.join("target/release/libfixture.so")),
        searched: Vec::new(),
    };
    let entries = map(&layer_config(&root, LayerKind::Lib, &[], &[]), &artifacts).unwrap();
    assert_eq!(paths(&entries), [p("lib/libfixture.so", 0o755)]);
    assert!(entries[0].built);
}

#[test]
fn files_kind_has_only_includes() {
    let (_dir, root) = package(&[("config/app.yaml", "a: 1", 0o644)]);
    // Stray artifacts are ignored for kind = "files".
    let artifacts = built(&root, &["tool"]);
    let entries = map(
        &layer_config(
            &root,
            LayerKind::Files,
            &[],
            &[("config/*.yaml", "config/")],
        ),
        &artifacts,
    )
    .unwrap();
    assert_eq!(paths(&entries), [p("config/app.yaml", 0o644)]);
    assert!(!entries[0].built);
    assert_eq!(entries[0].source, root.join("config/app.yaml"));
}

#[test]
fn missing_artifact_is_a_package_error() {
    let (_dir, root) = package(&[]);
    let err = map(
        &layer_config(&root, LayerKind::Extension, &["ghost"], &[]),
        &Artifacts::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Package);
    assert!(err.message.contains("`ghost`"), "{err}");
    assert!(err.message.contains("not built"), "{err}");
}

const TREE: &[(&str, &str, u32)] = &[
    ("assets/a.txt", "a", 0o644),
    ("assets/sub/b.txt", "b", 0o644),
    ("assets/sub/deeper/c.txt", "c", 0o644),
];

#[test]
fn directory_include_keeps_its_name_and_relative_paths() {
    let (_dir, root) = package(TREE);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("assets", "")]),
        &Artifacts::default(),
    )
    .unwrap();
    assert_eq!(
        paths(&entries),
        [
            p("assets/a.txt", 0o644),
            p("assets/sub/b.txt", 0o644),
            p("assets/sub/deeper/c.txt", 0o644),
        ]
    );
}

#[test]
fn directory_include_into_a_directory() {
    let (_dir, root) = package(TREE);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("assets", "share/")]),
        &Artifacts::default(),
    )
    .unwrap();
    let got: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    assert_eq!(
        got,
        [
            "share/assets/a.txt",
            "share/assets/sub/b.txt",
            "share/assets/sub/deeper/c.txt"
        ]
    );
}

#[test]
fn glob_matching_directories_keeps_paths_below_the_glob_base() {
    let (_dir, root) = package(TREE);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("assets/*", "./data/")]),
        &Artifacts::default(),
    )
    .unwrap();
    let got: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    assert_eq!(
        got,
        ["data/a.txt", "data/sub/b.txt", "data/sub/deeper/c.txt"]
    );
}

#[test]
fn recursive_glob() {
    let (_dir, root) = package(&[
        ("assets/a.txt", "a", 0o644),
        ("assets/sub/b.txt", "b", 0o644),
        ("assets/sub/skip.md", "m", 0o644),
    ]);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("assets/**/*.txt", "t/")]),
        &Artifacts::default(),
    )
    .unwrap();
    let got: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    assert_eq!(got, ["t/a.txt", "t/sub/b.txt"]);
}

#[test]
fn double_star_takes_every_file_below_a_directory_without_subfolders() {
    let (_dir, root) = package(&[
        ("lib/liba.so", "a", 0o755),
        ("lib/libb.so", "b", 0o644),
        ("lib/.hidden", "h", 0o644),
        ("other.txt", "o", 0o644),
    ]);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("lib/**", "lib/")]),
        &Artifacts::default(),
    )
    .unwrap();
    assert_eq!(
        paths(&entries),
        [p("lib/liba.so", 0o755), p("lib/libb.so", 0o644)]
    );
}

#[test]
fn double_star_keeps_nested_paths_below_the_glob_base() {
    let (_dir, root) = package(&[
        ("lib/liba.so", "a", 0o644),
        ("lib/python/mod.py", "m", 0o644),
        ("lib/python/pkg/init.py", "i", 0o644),
    ]);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("lib/**", "")]),
        &Artifacts::default(),
    )
    .unwrap();
    let got: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    assert_eq!(got, ["liba.so", "python/mod.py", "python/pkg/init.py"]);
}

#[test]
fn double_star_in_the_middle_matches_zero_or_more_directories() {
    let (_dir, root) = package(&[
        ("share/x.yaml", "0", 0o644),
        ("share/a/x.yaml", "1", 0o644),
        ("share/a/b/x.yaml", "2", 0o644),
        ("share/a/b/y.txt", "n", 0o644),
    ]);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("share/**/x.yaml", "etc/")]),
        &Artifacts::default(),
    )
    .unwrap();
    let got: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    assert_eq!(got, ["etc/a/b/x.yaml", "etc/a/x.yaml", "etc/x.yaml"]);
}

#[test]
fn star_does_not_match_dotfiles() {
    let (_dir, root) = package(&[
        ("config/app.yaml", "a", 0o644),
        ("config/.secret.yaml", "s", 0o644),
    ]);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("config/*.yaml", "")]),
        &Artifacts::default(),
    )
    .unwrap();
    let got: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    assert_eq!(got, ["app.yaml"]);
}

#[test]
fn to_without_slash_renames_one_file() {
    let (_dir, root) = package(&[("config/app.yaml", "a", 0o644)]);
    let entries = map(
        &layer_config(
            &root,
            LayerKind::Files,
            &[],
            &[("config/app.yaml", "etc/app.yml")],
        ),
        &Artifacts::default(),
    )
    .unwrap();
    assert_eq!(paths(&entries), [p("etc/app.yml", 0o644)]);
    assert_eq!(entries[0].source, root.join("config/app.yaml"));
}

#[test]
fn plain_file_include_keeps_only_its_name() {
    let (_dir, root) = package(&[("config/app.yaml", "a", 0o644)]);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("config/app.yaml", "etc/")]),
        &Artifacts::default(),
    )
    .unwrap();
    assert_eq!(paths(&entries), [p("etc/app.yaml", 0o644)]);
}

#[test]
fn include_modes_follow_the_exec_bit_only() {
    let (_dir, root) = package(&[
        ("scripts/run.sh", "#!/bin/sh", 0o700),
        ("scripts/group-exec.sh", "#!/bin/sh", 0o610),
        ("scripts/data-private", "d", 0o600),
        ("scripts/data-shared", "d", 0o664),
        ("scripts/data-readonly", "d", 0o444),
    ]);
    let entries = map(
        &layer_config(&root, LayerKind::Files, &[], &[("scripts/*", "bin/")]),
        &Artifacts::default(),
    )
    .unwrap();
    assert_eq!(
        paths(&entries),
        [
            p("bin/data-private", 0o644),
            p("bin/data-readonly", 0o644),
            p("bin/data-shared", 0o644),
            p("bin/group-exec.sh", 0o755),
            p("bin/run.sh", 0o755),
        ]
    );
}

#[test]
fn files_lambda_starts_are_always_executable() {
    let (_dir, root) = package(&[
        ("ext/watcher", "#!/bin/sh", 0o644),
        ("ext/conf/watcher.json", "{}", 0o644),
        ("rt/bootstrap", "#!/bin/sh", 0o600),
    ]);
    let entries = map(
        &layer_config(
            &root,
            LayerKind::Files,
            &[],
            &[
                ("ext/watcher", "extensions/"),
                ("ext/conf/watcher.json", "extensions/conf/"),
                ("rt/bootstrap", "bootstrap"),
            ],
        ),
        &Artifacts::default(),
    )
    .unwrap();
    assert_eq!(
        paths(&entries),
        [
            p("bootstrap", 0o755),
            p("extensions/conf/watcher.json", 0o644),
            p("extensions/watcher", 0o755),
        ]
    );
}

#[test]
fn output_is_sorted_whatever_the_include_order() {
    let (_dir, root) = package(&[
        ("z.txt", "z", 0o644),
        ("m/a.txt", "a", 0o644),
        ("b.txt", "b", 0o644),
    ]);
    let artifacts = built(&root, &["tool"]);
    let includes = [("z.txt", ""), ("m/*", "docs/"), ("b.txt", "")];
    let forward = map(
        &layer_config(&root, LayerKind::Bin, &["tool"], &includes),
        &artifacts,
    )
    .unwrap();
    let mut reversed_includes = includes;
    reversed_includes.reverse();
    let backward = map(
        &layer_config(&root, LayerKind::Bin, &["tool"], &reversed_includes),
        &artifacts,
    )
    .unwrap();
    let got: Vec<&str> = forward.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(got, ["b.txt", "bin/tool", "docs/a.txt", "z.txt"]);
    // The same files, paths and modes; only which `include` index each came from differs.
    let files = |entries: &[cargo_layer::pack::layout::Entry]| -> Vec<_> {
        entries
            .iter()
            .map(|e| (e.path.clone(), e.source.clone(), e.mode, e.built))
            .collect()
    };
    assert_eq!(files(&forward), files(&backward));
}

#[test]
fn duplicate_destination_is_an_error() {
    let (_dir, root) = package(&[("a/x.txt", "a", 0o644), ("b/x.txt", "b", 0o644)]);
    let err = map(
        &layer_config(
            &root,
            LayerKind::Files,
            &[],
            &[("a/*.txt", "same/"), ("b/*.txt", "same/")],
        ),
        &Artifacts::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Package);
    assert_eq!(err.exit_code(), 5);
    assert!(err.message.contains("same/x.txt"), "{err}");
    assert!(err.message.contains("a/x.txt"), "{err}");
    assert!(err.message.contains("b/x.txt"), "{err}");
}

#[test]
fn include_colliding_with_a_built_binary_is_an_error() {
    let (_dir, root) = package(&[("tool", "script", 0o755)]);
    let artifacts = built(&root, &["tool"]);
    let err = map(
        &layer_config(&root, LayerKind::Bin, &["tool"], &[("tool", "bin/")]),
        &artifacts,
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Package);
    assert!(err.message.contains("bin/tool"), "{err}");
}

#[test]
fn file_and_directory_clash_is_an_error() {
    let (_dir, root) = package(&[("notes.txt", "n", 0o644)]);
    let artifacts = built(&root, &["tool"]);
    let err = map(
        &layer_config(&root, LayerKind::Bin, &["tool"], &[("notes.txt", "bin")]),
        &artifacts,
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Package);
    assert!(
        err.message.contains("bin is both a file"),
        "expected a file/directory clash on `bin`: {err}"
    );
    assert!(err.message.contains("notes.txt"), "{err}");
}

#[test]
fn include_errors_name_the_manifest_and_key() {
    let (_dir, root) = package(&[("a.txt", "a", 0o644)]);
    let err = map(
        &layer_config(
            &root,
            LayerKind::Files,
            &[],
            &[("a.txt", ""), ("nothing/*", "")],
        ),
        &Artifacts::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Package);
    let location = err.location.as_ref().expect("a location");
    assert_eq!(location.file, root.join("Cargo.toml"));
    assert_eq!(
        location.key.as_deref(),
        Some("package.metadata.layer.include[1].from")
    );
}
