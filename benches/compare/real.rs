//! Real inputs, because generated ones hide how a compressor does on real code: a static musl
//! binary and a large glibc binary from pinned PyPI wheels (downloaded once with the `.venv`'s
//! pip into target/bench-inputs, kept across runs), and the Rust toolchain's own libraries.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tree::File;

/// A binary inside a pinned wheel: `pip download` fetches `requirement` for `platform`.
struct Wheel {
    requirement: &'static str,
    platform: &'static str,
    /// The binary's path inside the wheel.
    member: &'static str,
}

/// cargo-zigbuild 0.24.0: a 4.1 MB static musl Rust binary (its wheel is tagged manylinux).
const MUSL: Wheel = Wheel {
    requirement: "cargo-zigbuild==0.24.0",
    platform: "manylinux2014_x86_64",
    member: "cargo_zigbuild-0.24.0.data/scripts/cargo-zigbuild",
};

/// zizmor 1.32.0: a 27.5 MB Rust binary linked against glibc, with its symbols.
const GLIBC: Wheel = Wheel {
    requirement: "zizmor==1.32.0",
    platform: "manylinux_2_28_x86_64",
    member: "zizmor-1.32.0.data/scripts/zizmor",
};

pub fn musl(root: &Path) -> Vec<File> {
    vec![extract(&MUSL, root)]
}

pub fn glibc(root: &Path) -> Vec<File> {
    vec![extract(&GLIBC, root)]
}

/// Every file of `$(rustc --print sysroot)/lib/rustlib/<host>/lib`: .rlib and .so files.
pub fn rustlib(root: &Path) -> Vec<File> {
    let sysroot = rustc(&["--print", "sysroot"]);
    let host = rustc(&["-vV"])
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string();
    let lib = Path::new(sysroot.trim()).join(format!("lib/rustlib/{host}/lib"));
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&lib).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let to = root.join("lib").join(entry.file_name());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let size = std::fs::copy(entry.path(), &to).unwrap();
            files.push(File { size });
        }
    }
    files
}

fn rustc(args: &[&str]) -> String {
    let out = Command::new("rustc")
        .args(args)
        .output()
        .expect("run rustc");
    String::from_utf8(out.stdout).unwrap()
}

/// The wheel's binary, written to `root/bin/<name>` with mode 0755.
fn extract(wheel: &Wheel, root: &Path) -> File {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(download(wheel)).unwrap()).unwrap();
    let mut member = zip.by_name(wheel.member).unwrap();
    let name = Path::new(wheel.member).file_name().unwrap();
    let to = root.join("bin").join(name);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let mut out = std::fs::File::create(&to).unwrap();
    let size = std::io::copy(&mut member, &mut out).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    File { size }
}

/// The wheel file, downloaded from PyPI on first use.
fn download(wheel: &Wheel) -> PathBuf {
    let dir = crate::aws::repo_root().join("target/bench-inputs");
    let (name, version) = wheel.requirement.split_once("==").unwrap();
    let prefix = format!("{}-{version}-", name.replace('-', "_"));
    let find = || {
        std::fs::read_dir(&dir).ok()?.find_map(|e| {
            let path = e.ok()?.path();
            let file = path.file_name()?.to_str()?;
            (file.starts_with(&prefix) && file.ends_with(".whl")).then_some(path)
        })
    };
    if let Some(path) = find() {
        return path;
    }
    eprintln!("bench: downloading {} from PyPI", wheel.requirement);
    let pip = crate::aws::repo_root().join(".venv/bin/pip");
    let status = Command::new(pip)
        .args([
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .args([
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--platform",
        ])
        .arg(wheel.platform)
        .arg("-d")
        .arg(&dir)
        .arg(wheel.requirement)
        .status()
        .expect("run .venv/bin/pip (./scripts/install-moto.sh creates .venv)");
    assert!(status.success(), "pip download {}", wheel.requirement);
    find().expect("pip downloaded the wheel")
}
