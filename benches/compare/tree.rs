//! Generated, deterministic inputs: files that deflate like executables (instruction-like code,
//! mangled symbol names, debug records, a little noise, zero-filled padding) and small text
//! files, from seeded PRNGs so every run packs the same bytes.

use std::path::{Path, PathBuf};

/// Words mangled symbol names are made of.
const WORDS: &[&str] = &[
    "core", "fmt", "alloc", "vec", "string", "option", "result", "iter", "map", "into", "from",
    "clone", "drop", "new", "with", "len", "push", "pop", "get", "insert", "remove", "lambda",
    "layer", "runtime", "tokio", "hyper", "http", "request", "response", "error", "display",
    "debug", "serde", "json", "value", "parse", "write", "read", "buffer", "bytes", "slice",
    "unwrap", "expect", "panic", "thread", "sync", "arc", "mutex", "future", "poll", "ready",
];

const BLOCK: usize = 4096;

/// How much of an executable is zero-filled padding and tables; the rest is code, symbol names,
/// debug records and a little noise in fixed proportions.
pub struct Profile {
    pub sparse: f64,
}

/// Like release binaries: deflate -6 packs it about 3.3 times (the issue's tree of real
/// binaries: 3.3; this crate's own release binary: 3.0), at about the speed it packs them.
pub const RELEASE_BINARY: Profile = Profile { sparse: 0.25 };

/// Like a binary with debug info and padding: about 4.3 times. A 200 MB tree needs that ratio
/// to fit Lambda's 50 MiB direct-upload limit, which `cargo layer package` enforces.
pub const DEBUG_BINARY: Profile = Profile { sparse: 0.5 };

/// `len` bytes that compress like an executable, from `seed`.
pub fn executable(len: usize, seed: u64, profile: &Profile) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let symbols: Vec<Vec<u8>> = (0..3000).map(|_| symbol(&mut rng)).collect();
    // Code 30 : symbols 30 : debug records 20 : noise 2, scaled to what padding leaves.
    let scale = (1.0 - profile.sparse) / 0.82;
    let mut string_offset = 0u32;
    let mut out = Vec::with_capacity(len + BLOCK);
    while out.len() < len {
        let kind = rng.f64() / scale;
        let block = if kind < 0.30 {
            code_block(&mut rng)
        } else if kind < 0.60 {
            symbol_block(&mut rng, &symbols)
        } else if kind < 0.80 {
            debug_block(&mut rng, &mut string_offset)
        } else if kind < 0.82 {
            (0..BLOCK).map(|_| rng.u8(..)).collect()
        } else {
            sparse_block(&mut rng)
        };
        out.extend_from_slice(&block[..BLOCK]);
    }
    out.truncate(len);
    out
}

/// A Rust-style mangled name with its hash, NUL-terminated.
fn symbol(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut name = b"_ZN".to_vec();
    for _ in 0..rng.usize(2..6) {
        let word = WORDS[rng.usize(..WORDS.len())];
        name.extend_from_slice(format!("{}{word}", word.len()).as_bytes());
    }
    name.extend_from_slice(format!("17h{:016x}E\0", rng.u64(..)).as_bytes());
    name
}

/// x86-64 instructions of one function: a few call targets and stack offsets, common opcodes.
fn code_block(rng: &mut fastrand::Rng) -> Vec<u8> {
    let targets: Vec<[u8; 4]> = (0..4).map(|_| rng.u32(..1 << 24).to_le_bytes()).collect();
    let offsets: Vec<u8> = (0..4).map(|_| rng.u8(..64) * 8).collect();
    let mut b = Vec::with_capacity(BLOCK + 8);
    while b.len() < BLOCK {
        let target = targets[rng.usize(..4)];
        let offset = offsets[rng.usize(..4)];
        match rng.u8(..14) {
            0 => b.extend_from_slice(&[&[0xe8][..], &target].concat()),
            1 => b.extend_from_slice(&[0x48, 0x89, 0xc0 | (rng.u8(..8) << 3) | rng.u8(..8)]),
            2 => b.extend_from_slice(&[0x48, 0x8b, 0x44, 0x24, offset]),
            3 => b.extend_from_slice(&[0x48, 0x8b, 0x45, offset]),
            4 => b.extend_from_slice(&[0xc3, 0x0f, 0x1f, 0x44, 0, 0]),
            5 => b.extend_from_slice(&[0x55, 0x48, 0x89, 0xe5]),
            6 => b.extend_from_slice(&[0x48, 0x83, 0xec, offset]),
            7 => b.extend_from_slice(&[0x74, rng.u8(..128)]),
            8 => b.extend_from_slice(
                &[&[0x0f, 0x84][..], &rng.u32(..1 << 12).to_le_bytes()].concat(),
            ),
            9 => b.extend_from_slice(&[&[0x48, 0x8d, 0x3d][..], &target].concat()),
            10 => b.extend_from_slice(&[0x41, 0x5c + rng.u8(..4)]),
            11 => b.extend_from_slice(&[0x48, 0x85, 0xc0]),
            12 => b.extend_from_slice(&[0x31, 0xc0]),
            _ => b.extend_from_slice(&[0x89, 0xc0 | rng.u8(..64)]),
        }
    }
    b
}

/// A string table: names of one module, repeated.
fn symbol_block(rng: &mut fastrand::Rng, symbols: &[Vec<u8>]) -> Vec<u8> {
    let local: Vec<&Vec<u8>> = (0..40)
        .map(|_| &symbols[rng.usize(..symbols.len())])
        .collect();
    let mut b = Vec::with_capacity(BLOCK + 128);
    while b.len() < BLOCK {
        b.extend_from_slice(local[rng.usize(..local.len())]);
    }
    b
}

/// DWARF-like records: a skewed abbreviation code, a growing string offset, small numbers and
/// a few type references.
fn debug_block(rng: &mut fastrand::Rng, string_offset: &mut u32) -> Vec<u8> {
    let refs: Vec<[u8; 4]> = (0..6).map(|_| rng.u32(..1 << 20).to_le_bytes()).collect();
    let mut b = Vec::with_capacity(BLOCK + 16);
    while b.len() < BLOCK {
        *string_offset = string_offset.wrapping_add(rng.u32(1..40));
        b.push(skewed(rng, 0.4).min(40) + 1);
        b.extend_from_slice(&string_offset.to_le_bytes());
        b.extend_from_slice(&[rng.u8(..8), 0]);
        b.extend_from_slice(&refs[rng.usize(..6)]);
        b.push(skewed(rng, 0.5) + 1);
    }
    b
}

/// An exponentially distributed small number (mean 1/rate), as a byte.
fn skewed(rng: &mut fastrand::Rng, rate: f64) -> u8 {
    let value = -(1.0 - rng.f64()).ln() / rate;
    value.min(200.0) as u8
}

/// Zero-filled padding and tables with a few values set.
fn sparse_block(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut block = vec![0; BLOCK];
    for _ in 0..40 {
        block[rng.usize(..BLOCK)] = rng.u8(..);
    }
    block
}

/// Small text: YAML/JSON-like configuration and notices.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        let key = WORDS[rng.usize(..WORDS.len())];
        let value = WORDS[rng.usize(..WORDS.len())];
        let line = match rng.usize(..3) {
            0 => format!("{key}_{}: {value}\n", rng.u16(..1000)),
            1 => format!("  \"{key}\": {{ \"{value}\": {} }},\n", rng.u32(..100_000)),
            _ => format!("# {key} {value} {key} configuration\n"),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

/// One generated file.
pub struct File {
    pub size: u64,
}

/// A packaging input: what it stands for and how to make it.
pub struct Tree {
    pub name: &'static str,
    pub make: fn(&Path) -> Vec<File>,
    /// Real files (see real.rs): measured for size and time, without the speed and memory
    /// targets, which are set on the generated trees.
    pub real: bool,
}

pub const TREES: [Tree; 5] = [
    Tree {
        name: "about 200 MB: 4 large executables, 6 libraries, 400 small files; packs about 4.3×",
        make: two_hundred_mb,
        real: false,
    },
    Tree {
        name: "the issue's tree: 159 MB of release-like executables in 62 files, the largest 62 MB; packs about 3.3×",
        make: issue_shape,
        real: false,
    },
    Tree {
        name: "a static musl binary: cargo-zigbuild 0.24.0 from PyPI",
        make: crate::real::musl,
        real: true,
    },
    Tree {
        name: "a large glibc binary: zizmor 1.32.0 from PyPI",
        make: crate::real::glibc,
        real: true,
    },
    Tree {
        name: "many mid-size files: the Rust toolchain's lib/rustlib/<host>/lib",
        make: crate::real::rustlib,
        real: true,
    },
];

/// About 200 MB: four large executables, six shared-library-sized ones, and 400 small files
/// (helper binaries and configuration).
fn two_hundred_mb(root: &Path) -> Vec<File> {
    let mut files = Vec::new();
    for (i, mb) in [60, 46, 36, 22].iter().enumerate() {
        let data = executable(mb << 20, 100 + i as u64, &DEBUG_BINARY);
        files.push(write(root, &format!("bin/tool{i}"), &data));
    }
    for i in 0..6 {
        let data = executable((2 + i) << 20, 200 + i as u64, &DEBUG_BINARY);
        files.push(write(root, &format!("lib/libdep{i}.so"), &data));
    }
    let mut rng = fastrand::Rng::with_seed(7);
    for i in 0..400 {
        let size = rng.usize(1 << 10..96 << 10);
        let (path, data) = if i % 3 == 0 {
            (
                format!("share/bin/helper{i:03}"),
                executable(size, 1000 + i, &DEBUG_BINARY),
            )
        } else {
            (
                format!("share/etc/{}/conf{i:03}.yaml", i % 7),
                text(size, 1000 + i),
            )
        };
        files.push(write(root, &path, &data));
    }
    files
}

/// The shape of the tree in the issue: 159 MB of real binaries in 62 files, the largest 62 MB.
fn issue_shape(root: &Path) -> Vec<File> {
    let mut files = Vec::new();
    for (i, mb) in [62, 30, 20, 12, 8].iter().enumerate() {
        let data = executable(mb << 20, 600 + i as u64, &RELEASE_BINARY);
        files.push(write(root, &format!("bin/app{i}"), &data));
    }
    let mut rng = fastrand::Rng::with_seed(11);
    let weights: Vec<f64> = (0..57).map(|_| 0.2 + rng.f64()).collect();
    let sum: f64 = weights.iter().sum();
    let rest = ((159 - 132) << 20) as f64;
    for (i, weight) in weights.iter().enumerate() {
        let size = (rest * weight / sum) as usize;
        let data = executable(size, 700 + i as u64, &RELEASE_BINARY);
        files.push(write(root, &format!("lib/part{i:02}.so"), &data));
    }
    files
}

/// The end-to-end layer's assets: two plugin libraries and small configs beside the extension.
pub fn assets(root: &Path) -> Vec<File> {
    let mut files = Vec::new();
    for (i, mb) in [48, 36].iter().enumerate() {
        let data = executable(mb << 20, 300 + i as u64, &RELEASE_BINARY);
        files.push(write(root, &format!("assets/plugin{i}.so"), &data));
    }
    for i in 0..40 {
        let data = text(8 << 10, 400 + i);
        files.push(write(root, &format!("assets/conf/{i:02}.yaml"), &data));
    }
    files
}

fn write(root: &Path, path: &str, data: &[u8]) -> File {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(&full, data).unwrap();
    File {
        size: data.len() as u64,
    }
}

pub fn total(files: &[File]) -> u64 {
    files.iter().map(|f| f.size).sum()
}

/// A static x86_64 Linux executable that exits at once and carries `payload` in .rodata (as a
/// real binary carries its code and data), made with the system's gcc and assembler.
pub fn elf(dir: &Path, name: &str, payload: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let blob = dir.join(format!("{name}.payload"));
    std::fs::write(&blob, payload).unwrap();
    let source = dir.join(format!("{name}.S"));
    std::fs::write(
        &source,
        format!(
            ".globl _start\n.text\n_start:\n  mov $60, %eax\n  xor %edi, %edi\n  syscall\n.section .rodata\n.incbin \"{}\"\n",
            blob.display()
        ),
    )
    .unwrap();
    let out = dir.join(name);
    let status = std::process::Command::new("gcc")
        .args(["-nostdlib", "-static", "-o"])
        .arg(&out)
        .arg(&source)
        .status()
        .expect("gcc (Debian package gcc) is needed to make the extension binary");
    assert!(status.success(), "gcc failed to link {}", out.display());
    std::fs::remove_file(&blob).unwrap();
    out
}
