//! Building for Lambda from this host with real tools: cargo-zigbuild and zig from `.venv`
//! (installed by scripts/install-zigbuild.sh), real aarch64 and x86_64 ELF files made by
//! `zig cc`, and host builds whose glibc needs the runtimes cannot meet.
//!
//! These machines have only the x86_64 Rust standard library, so nothing here builds Rust for
//! aarch64: arm64 layers are packed with `--no-build` from zig-made ELF files.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::moto;
use crate::support::proxy::Proxy;
use crate::support::{
    TempCrate, cargo_layer, error_line, example_manifest, examples_target_dir, fixture_manifest,
    layer_crate, repo_root, reports, stderr, success, venv_bin,
};

// ---- tools from .venv ----

/// PATH without any `.venv/bin`, so a test decides where the tools come from.
fn path_without_venv() -> Vec<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|dir| !dir.ends_with(".venv/bin"))
        .collect()
}

fn join_path(dirs: &[PathBuf]) -> std::ffi::OsString {
    std::env::join_paths(dirs).unwrap()
}

/// A directory holding only a symlink to the venv's cargo-zigbuild, as `pipx` installs it: the
/// `python3` on PATH does not have zig, the one beside the real executable does.
fn pipx_style_bin() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo_root().join("target/test-zigbuild/bin");
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("cargo-zigbuild");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(venv_bin("cargo-zigbuild"), &link).unwrap();
        dir
    })
}

/// PATH with cargo-zigbuild reachable only through the pipx-style symlink.
fn zigbuild_path() -> std::ffi::OsString {
    let mut dirs = vec![pipx_style_bin().to_path_buf()];
    dirs.extend(path_without_venv());
    join_path(&dirs)
}

/// Real ELF files from `zig cc`, made once per run: (name, zig target, extra flags).
pub(crate) fn elf(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = repo_root().join("target/test-zigbuild/elf");
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("hello.c");
        std::fs::write(
            &source,
            "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
        )
        .unwrap();
        for (out, target, flags) in [
            ("aarch64-2.26", "aarch64-linux-gnu.2.26", &[][..]),
            ("x86_64-2.26", "x86_64-linux-gnu.2.26", &[][..]),
            ("x86_64-2.34", "x86_64-linux-gnu.2.34", &[][..]),
            (
                "libhello-aarch64.so",
                "aarch64-linux-gnu.2.26",
                &["-shared", "-fPIC"][..],
            ),
        ] {
            let status = Command::new(venv_bin("python"))
                .args(["-m", "ziglang", "cc", "-target", target])
                .args(flags)
                .arg("-o")
                .arg(dir.join(out))
                .arg(&source)
                .status()
                .unwrap();
            assert!(status.success(), "zig cc -target {target} failed");
        }
        dir
    });
    dir.join(name)
}

fn copy_executable(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

fn entry_paths(report: &Value) -> Vec<&str> {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect()
}

/// The one file at `path` inside a zip.
pub(crate) fn unzip_one(zip: &Path, path: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut file = archive.by_name(path).unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

fn highest_glibc(path: &Path) -> Option<cargo_layer::project::runtimes::Glibc> {
    cargo_layer::pack::binary::inspect(path)
        .unwrap()
        .expect("an ELF file")
        .glibc
}

fn glibc(text: &str) -> cargo_layer::project::runtimes::Glibc {
    cargo_layer::project::runtimes::Glibc::parse(text).unwrap()
}

// ---- reading glibc needs ----

#[test]
fn glibc_needs_agree_with_readelf() {
    // binutils' readelf is the reference: the highest GLIBC_x.y in its version-needs listing.
    for file in [
        PathBuf::from(env!("CARGO_BIN_EXE_cargo-layer")),
        elf("x86_64-2.34"),
        elf("aarch64-2.26"),
        elf("libhello-aarch64.so"),
    ] {
        let out = Command::new("readelf")
            .arg("-V")
            .arg(&file)
            .output()
            .expect("readelf (binutils) is installed");
        let text = String::from_utf8_lossy(&out.stdout);
        let highest = text
            .split(|c: char| c.is_whitespace())
            .filter_map(|word| word.strip_prefix("GLIBC_"))
            .filter_map(cargo_layer::project::runtimes::Glibc::parse)
            .max();
        assert!(highest.is_some(), "{} needs some glibc", file.display());
        assert_eq!(highest_glibc(&file), highest, "{}", file.display());
    }
    assert_eq!(highest_glibc(&elf("x86_64-2.34")), Some(glibc("2.34")));
}

// ---- cargo-zigbuild for provided.al2 ----

/// The one zigbuild of examples/glibc-al2 (builder = "zigbuild", provided.al2), and its report.
fn zigbuilt() -> &'static (Value, String) {
    static BUILT: OnceLock<(Value, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = cargo_layer(&examples_target_dir())
            .env("PATH", zigbuild_path())
            .args(["package", "--message-format", "json", "--manifest-path"])
            .arg(example_manifest("glibc-al2"))
            .output()
            .unwrap();
        let report = reports(&out).remove(0);
        (report, stderr(&out))
    })
}

#[test]
fn zigbuild_for_provided_al2_packs_a_binary_that_needs_at_most_glibc_2_26() {
    let (report, stderr) = zigbuilt();
    assert!(
        stderr.contains("x86_64-unknown-linux-gnu.2.26, zigbuild"),
        "{stderr}"
    );
    assert_eq!(
        report["compatible_runtimes"],
        serde_json::json!(["provided.al2"])
    );
    let zip = PathBuf::from(report["zip"].as_str().unwrap());
    let packed = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(packed.path(), unzip_one(&zip, "bin/glibc-al2")).unwrap();
    let needed = highest_glibc(packed.path()).expect("a dynamically linked binary");
    assert!(needed <= glibc("2.26"), "needs GLIBC_{needed}");

    // The artifact is where cargo puts --target builds, and it runs.
    let built = examples_target_dir().join("x86_64-unknown-linux-gnu/release/glibc-al2");
    let out = Command::new(&built).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("glibc-al2 runs on glibc 2."));

    // --no-build looks for it there too, and packs the same bytes.
    let again = cargo_layer(&examples_target_dir())
        .args([
            "package",
            "--no-build",
            "--message-format",
            "json",
            "--manifest-path",
        ])
        .arg(example_manifest("glibc-al2"))
        .output()
        .unwrap();
    assert_eq!(reports(&again)[0]["code_sha256"], report["code_sha256"]);
}

#[test]
fn provided_al2_is_deprecated_and_the_run_says_so() {
    let (_, stderr) = zigbuilt();
    assert!(
        stderr.contains("warning: runtime provided.al2 was deprecated on 2026-06-30"),
        "{stderr}"
    );
    assert!(
        stderr.contains("creating functions with it is blocked since 2026-07-31"),
        "{stderr}"
    );
    assert!(
        stderr.contains("updating them is blocked since 2026-08-31"),
        "{stderr}"
    );
}

// ---- host builds the runtimes cannot run ----

#[test]
fn host_build_for_provided_al2_is_refused() {
    let krate = layer_crate(
        "kind = \"extension\"\ncompatible-runtimes = [\"provided.al2023\", \"provided.al2\"]",
        &[("src/main.rs", "fn main() { println!(\"hi\"); }\n")],
    );
    let out = krate.package(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    let binary = krate.target_dir().join("release/fixture");
    for needle in [
        &format!("{} (extensions/fixture in layer fixture)", binary.display()),
        "needs GLIBC_2.3",
        "runtime provided.al2 runs on Amazon Linux 2 with glibc 2.26",
        "version 'GLIBC_2.",
        "builder = \"zigbuild\" (links against glibc 2.26)",
        "--target x86_64-unknown-linux-musl",
        "remove \"provided.al2\" from compatible-runtimes",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from: {line}");
    }
    assert!(krate.zips().is_empty(), "no zip before every check passes");
}

#[test]
fn arc4random_needs_glibc_2_36_which_provided_al2023_refuses() {
    // glibc 2.36 added arc4random; provided.al2023 has 2.34. No compatible-runtimes: the check
    // assumes provided.al2023 and says so with --verbose.
    let krate = layer_crate(
        "kind = \"bin\"",
        &[(
            "src/main.rs",
            "unsafe extern \"C\" {\n    fn arc4random() -> u32;\n}\n\nfn main() {\n    println!(\"{}\", unsafe { arc4random() });\n}\n",
        )],
    );
    let out = krate.package(&["-v"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    for needle in [
        "(bin/fixture in layer fixture) needs GLIBC_2.36",
        "compatible-runtimes is empty, so provided.al2023 is assumed, which runs on Amazon Linux 2023 with glibc 2.34",
        "builder = \"zigbuild\"",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from: {line}");
    }
    assert!(
        stderr(&out).contains("lists no compatible-runtimes; checking its binaries against provided.al2023 (glibc 2.34)"),
        "{}",
        stderr(&out)
    );
    assert!(krate.zips().is_empty());
}

#[test]
fn an_included_elf_file_is_checked_against_the_runtimes_too() {
    let krate = TempCrate::new(&[
        (
            "Cargo.toml",
            &fixture_manifest(
                "[package.metadata.layer]\nkind = \"files\"\ncompatible-runtimes = [\"provided.al2\"]\ninclude = [{ from = \"vendor/**\", to = \"bin/\" }]",
            ),
        ),
        ("src/lib.rs", ""),
    ]);
    let tool = krate.root.join("vendor/tool");
    copy_executable(&elf("x86_64-2.34"), &tool);
    krate.write("vendor/README.txt", "not an ELF file, never inspected\n");
    let out = krate.package(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    for needle in [
        &format!(
            "{} (bin/tool in layer fixture) needs GLIBC_2.34",
            tool.display()
        ),
        "rebuild that file against glibc 2.26 or older (for example with zig cc -target x86_64-linux-gnu.2.26)",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from: {line}");
    }
    // The same file built against 2.26 passes.
    copy_executable(&elf("x86_64-2.26"), &tool);
    let report = &reports(&krate.package(&["--message-format", "json"]))[0];
    assert_eq!(entry_paths(report), ["bin/README.txt", "bin/tool"]);
}

#[test]
fn an_included_shared_object_of_the_other_architecture_is_refused() {
    let krate = TempCrate::new(&[
        (
            "Cargo.toml",
            &fixture_manifest(
                "[package.metadata.layer]\nkind = \"files\"\ncompatible-architectures = [\"x86_64\"]\ninclude = [{ from = \"lib/*.so\", to = \"lib/\" }]",
            ),
        ),
        ("src/lib.rs", ""),
    ]);
    let lib = krate.root.join("lib/libhello.so");
    copy_executable(&elf("libhello-aarch64.so"), &lib);
    let out = krate.package(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains(&format!(
            "{} is an arm64 binary but compatible-architectures includes \"x86_64\"",
            lib.display()
        )),
        "{line}"
    );
}

// ---- missing tools ----

#[test]
fn a_missing_builder_names_the_command_that_installs_it() {
    let krate = layer_crate("kind = \"bin\"\nbuilder = \"zigbuild\"", &[]);
    let empty = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        cargo_layer(&krate.target_dir())
            .env("PATH", empty.path())
            .arg("package")
            .arg("--manifest-path")
            .arg(krate.manifest())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(4), "{line}");
    assert!(
        line.contains("cargo-zigbuild, which is not on PATH"),
        "{line}"
    );
    assert!(
        line.contains("`pip install cargo-zigbuild` (brings zig)"),
        "{line}"
    );
    assert!(
        line.contains("`cargo install --locked cargo-zigbuild` plus zig"),
        "{line}"
    );

    // --builder overrides Cargo.toml.
    let out = run(&["--builder", "cross"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(4), "{line}");
    assert!(
        line.contains("`cargo install cross --git https://github.com/cross-rs/cross`"),
        "{line}"
    );
    assert!(krate.zips().is_empty());
}

#[test]
fn cargo_zigbuild_without_zig_says_how_to_get_zig() {
    // A cargo-zigbuild with no Python or zig beside it (as `cargo install` leaves it), and a
    // PATH whose python3 has no ziglang and that has no zig.
    let krate = layer_crate("kind = \"bin\"\nbuilder = \"zigbuild\"", &[]);
    let bin = tempfile::tempdir().unwrap();
    copy_executable(
        &venv_bin("cargo-zigbuild"),
        &bin.path().join("cargo-zigbuild"),
    );
    let path = join_path(&[bin.path().to_path_buf(), "/usr/bin".into(), "/bin".into()]);
    let out = cargo_layer(&krate.target_dir())
        .env("PATH", path)
        .env_remove("CARGO_ZIGBUILD_PYTHON_PATH")
        .env_remove("CARGO_ZIGBUILD_ZIG_PATH")
        .arg("package")
        .arg("--manifest-path")
        .arg(krate.manifest())
        .output()
        .unwrap();
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(4), "{line}");
    assert!(line.contains("cargo-zigbuild is installed"), "{line}");
    assert!(
        line.contains("but zig is not; install zig with `pip install ziglang`"),
        "{line}"
    );
}

#[test]
fn arm64_without_the_rust_target_stops_with_rustup_target_add() {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let std_dir = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim())
        .join("lib/rustlib/aarch64-unknown-linux-gnu");
    assert!(
        !std_dir.exists(),
        "this test needs a toolchain without the aarch64-unknown-linux-gnu standard library ({} exists)",
        std_dir.display()
    );
    let krate = layer_crate(
        "kind = \"extension\"\ncompatible-architectures = [\"arm64\"]",
        &[],
    );
    let out = krate.package(&[]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(4), "{line}");
    assert!(
        line.contains("the Rust standard library for aarch64-unknown-linux-gnu is not installed"),
        "{line}"
    );
    assert!(
        line.contains("run `rustup target add aarch64-unknown-linux-gnu`"),
        "{line}"
    );
    assert!(
        !stderr(&out).contains("Compiling"),
        "stopped before cargo ran"
    );
}

// ---- the architecture from the configuration ----

/// A bin crate `fixture` with `layer` and zig-made ELF files at (path below target/, file).
pub(crate) fn crate_with_elfs(layer: &str, elfs: &[(&str, &str)]) -> TempCrate {
    let krate = layer_crate(layer, &[]);
    for (at, file) in elfs {
        copy_executable(&elf(file), &krate.target_dir().join(at));
    }
    krate
}

#[test]
fn arm64_from_the_configuration_packs_the_aarch64_build() {
    let krate = crate_with_elfs(
        "kind = \"extension\"\ncompatible-architectures = [\"arm64\"]",
        &[("aarch64-unknown-linux-gnu/release/fixture", "aarch64-2.26")],
    );
    let report = &reports(&krate.package(&["--no-build", "--message-format", "json"]))[0];
    assert_eq!(report["name"], "fixture");
    assert_eq!(
        report["compatible_architectures"],
        serde_json::json!(["arm64"])
    );
    assert_eq!(entry_paths(report), ["extensions/fixture"]);
    assert_eq!(report["entries"][0]["mode"], "0755");
    let zip = PathBuf::from(report["zip"].as_str().unwrap());
    assert_eq!(
        unzip_one(&zip, "extensions/fixture"),
        std::fs::read(elf("aarch64-2.26")).unwrap()
    );

    // --target for the other architecture contradicts the configuration.
    let out = krate.package(&["--no-build", "--target", "x86_64-unknown-linux-gnu"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(
        line.contains("--target x86_64-unknown-linux-gnu builds x86_64 binaries, but layer fixture has compatible-architectures = [\"arm64\"]"),
        "{line}"
    );

    // Two --target for one architecture.
    let out = krate.package(&[
        "--no-build",
        "--target",
        "aarch64-unknown-linux-gnu",
        "--target",
        "aarch64-unknown-linux-musl",
    ]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(line.contains("both build arm64"), "{line}");
}

/// A host-architecture build lands in `target/release` without `--target` and in
/// `target/<triple>/release` with it; `--no-build` takes either, the requested one first, and
/// names both when neither is there.
#[test]
fn no_build_finds_the_host_build_with_or_without_target() {
    let (triple, elf_26, elf_34) = match std::env::consts::ARCH {
        "aarch64" => ("aarch64-unknown-linux-gnu", "aarch64-2.26", "aarch64-2.26"),
        _ => ("x86_64-unknown-linux-gnu", "x86_64-2.26", "x86_64-2.34"),
    };
    let krate = crate_with_elfs(
        "kind = \"extension\"",
        &[(&format!("{triple}/release/fixture"), elf_26)],
    );
    let packed = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--no-build", "--message-format", "json"]);
        let report = &reports(&krate.package(&args))[0];
        unzip_one(
            Path::new(report["zip"].as_str().unwrap()),
            "extensions/fixture",
        )
    };
    // Only the --target build is there: a plain --no-build finds it.
    assert_eq!(packed(&[]), std::fs::read(elf(elf_26)).unwrap());
    // Both are there: each run takes the one it asked for.
    copy_executable(&elf(elf_34), &krate.target_dir().join("release/fixture"));
    assert_eq!(packed(&[]), std::fs::read(elf(elf_34)).unwrap());
    assert_eq!(
        packed(&["--target", triple]),
        std::fs::read(elf(elf_26)).unwrap()
    );
    // Only the plain build: --target finds that one.
    std::fs::remove_file(krate.target_dir().join(triple).join("release/fixture")).unwrap();
    assert_eq!(
        packed(&["--target", triple]),
        std::fs::read(elf(elf_34)).unwrap()
    );
    // Neither: the error names both places.
    std::fs::remove_file(krate.target_dir().join("release/fixture")).unwrap();
    let out = krate.package(&["--no-build", "--target", triple]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    for dir in [
        krate.target_dir().join(triple).join("release"),
        krate.target_dir().join("release"),
    ] {
        assert!(line.contains(&dir.display().to_string()), "{line}");
    }
}

#[test]
fn a_musl_target_overrides_the_default_triple() {
    let krate = crate_with_elfs(
        "kind = \"bin\"\ncompatible-architectures = [\"arm64\"]",
        &[("aarch64-unknown-linux-musl/release/fixture", "aarch64-2.26")],
    );
    let out = krate.package(&["--no-build", "--target", "aarch64-unknown-linux-musl"]);
    success(&out);
    // Without --target the gnu triple's directory is empty.
    let out = krate.package(&["--no-build"]);
    assert_eq!(out.status.code(), Some(5), "{}", error_line(&out));
}

#[test]
fn an_x86_64_binary_where_arm64_is_configured_is_refused() {
    let krate = crate_with_elfs(
        "kind = \"extension\"\ncompatible-architectures = [\"arm64\"]",
        &[("aarch64-unknown-linux-gnu/release/fixture", "x86_64-2.26")],
    );
    let out = krate.package(&["--no-build"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains("is an x86_64 binary but compatible-architectures includes \"arm64\"; build with --target aarch64-unknown-linux-gnu"),
        "{line}"
    );
}

// ---- both architectures: one layer each ----

const TWO_ARCHS: &str = "kind = \"extension\"\ncompatible-architectures = [\"x86_64\", \"arm64\"]\ncompatible-runtimes = [\"provided.al2023\", \"provided.al2\"]";

#[test]
fn two_architectures_make_two_layers_from_their_own_builds() {
    // Host build for x86_64 (target/release), --target build for arm64.
    let krate = crate_with_elfs(
        TWO_ARCHS,
        &[
            ("release/fixture", "x86_64-2.26"),
            ("aarch64-unknown-linux-gnu/release/fixture", "aarch64-2.26"),
        ],
    );
    let reports = reports(&krate.package(&["--no-build", "--message-format", "json"]));
    let names: Vec<&str> = reports
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fixture-x86_64", "fixture-arm64"]);
    for (report, arch, file) in [
        (&reports[0], "x86_64", "x86_64-2.26"),
        (&reports[1], "arm64", "aarch64-2.26"),
    ] {
        assert_eq!(
            report["compatible_architectures"],
            serde_json::json!([arch])
        );
        let zip = PathBuf::from(report["zip"].as_str().unwrap());
        assert!(
            zip.ends_with(format!("layer/fixture-{arch}.zip")),
            "{}",
            zip.display()
        );
        assert_eq!(
            unzip_one(&zip, "extensions/fixture"),
            std::fs::read(elf(file)).unwrap()
        );
    }
    assert_ne!(reports[0]["code_sha256"], reports[1]["code_sha256"]);

    // -p picks one per-architecture layer.
    let one = crate::support::reports(&krate.package(&[
        "--no-build",
        "-p",
        "fixture-arm64",
        "--message-format",
        "json",
    ]));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["name"], "fixture-arm64");
}

#[test]
fn zigbuild_with_two_architectures_looks_in_both_target_directories() {
    let krate = crate_with_elfs(
        &format!("{TWO_ARCHS}\nbuilder = \"zigbuild\""),
        &[
            ("x86_64-unknown-linux-gnu/release/fixture", "x86_64-2.26"),
            ("aarch64-unknown-linux-gnu/release/fixture", "aarch64-2.26"),
        ],
    );
    let reports = reports(&krate.package(&["--no-build", "--message-format", "json"]));
    assert_eq!(reports.len(), 2);
    // A --target for one architecture replaces that half's triple only.
    let out = krate.package(&["--no-build", "--target", "aarch64-unknown-linux-musl"]);
    let line = error_line(&out);
    assert_eq!(out.status.code(), Some(5), "{line}");
    assert!(
        line.contains("binary `fixture` of package `fixture` was not built"),
        "{line}"
    );
}

#[test]
fn a_files_layer_with_two_architectures_stays_one_layer() {
    let krate = TempCrate::new(&[
        (
            "Cargo.toml",
            &fixture_manifest(
                "[package.metadata.layer]\nkind = \"files\"\ncompatible-architectures = [\"x86_64\", \"arm64\"]\ninclude = [{ from = \"config/**\", to = \"config/\" }]",
            ),
        ),
        ("config/app.yaml", "a: 1\n"),
        ("src/lib.rs", ""),
    ]);
    let reports = reports(&krate.package(&["--message-format", "json"]));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["name"], "fixture");
    assert_eq!(
        reports[0]["compatible_architectures"],
        serde_json::json!(["x86_64", "arm64"])
    );
}

#[test]
fn two_architectures_publish_two_versions_with_their_own_grants_and_manifests() {
    let account = moto::fresh_account();
    let krate = crate_with_elfs(
        &format!(
            "{TWO_ARCHS}\nregion = \"{}\"\nartifacts-account = \"{account}\"\n[package.metadata.layer.stages.dev]\naccounts = [\"222222222222\"]",
            moto::REGION
        ),
        &[
            ("release/fixture", "x86_64-2.26"),
            ("aarch64-unknown-linux-gnu/release/fixture", "aarch64-2.26"),
        ],
    );
    let proxy = Proxy::start();
    let publish = || {
        let mut cmd = moto::tool(&proxy.endpoint);
        cmd.env("CARGO_TARGET_DIR", krate.target_dir())
            .args([
                "publish",
                "--no-build",
                "--message-format",
                "json",
                "--manifest-path",
            ])
            .arg(krate.manifest())
            .arg("--assume-role")
            .arg(moto::role(&account));
        let out = cmd.output().unwrap();
        reports(&out)
    };
    let manifests = publish();
    let lambda = moto::lambda_as(&account);
    assert_eq!(manifests.len(), 2);
    for (manifest, arch) in manifests.iter().zip(["x86_64", "arm64"]) {
        let name = format!("fixture-{arch}");
        assert_eq!(manifest["name"], name.as_str());
        assert_eq!(manifest["published"], true);
        assert_eq!(manifest["version"], 1);
        assert_eq!(
            manifest["layer_version_arn"],
            format!("arn:aws:lambda:{}:{account}:layer:{name}:1", moto::REGION).as_str()
        );
        assert_eq!(lambda.versions(&name), [1]);
        assert_eq!(
            lambda.code_sha256(&name, 1),
            manifest["code_sha256"].as_str().unwrap()
        );
        assert_eq!(
            lambda.statement_ids(&name, 1),
            ["cargo-layer-dev-222222222222"]
        );
        let written = krate.target_dir().join(format!("layer/{name}.json"));
        let written: Value = serde_json::from_slice(&std::fs::read(written).unwrap()).unwrap();
        assert_eq!(written["code_sha256"], manifest["code_sha256"]);
    }
    // Unchanged: both reused, no new version.
    let again = publish();
    assert!(
        again
            .iter()
            .all(|m| m["published"] == false && m["version"] == 1)
    );
    assert_eq!(lambda.versions("fixture-arm64"), [1]);
}
