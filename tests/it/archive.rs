//! The reproducible zip writer, in-process: a golden digest, byte-identical output whatever the
//! host metadata of the sources, the stored metadata read back, and a property test.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Cursor, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use cargo_layer::pack::archive::{self, Archive};
use cargo_layer::pack::layout::{self, Artifacts, Entry};
use cargo_layer::project::config::LayerKind;
use proptest::prelude::*;
use zip::{CompressionMethod, DateTime, ZipArchive};

use crate::support::{code_sha256, layer_config, sha256_hex, which};

/// GOLDEN: the CodeSha256 of the fixture tree below, packed with the default timestamp.
///
/// If this changes, the zip bytes changed: the compression backend (libdeflate through
/// libdeflater; zip writes the entries), the deflate level or another writer option moved.
/// Every layer would then get a new CodeSha256, which breaks dedupe against versions that are
/// already published. Do not just update the constant: find out what changed and treat it as a
/// breaking release (it moved once, from zlib-rs to libdeflate: see CHANGELOG.md).
const GOLDEN_CODE_SHA256: &str = "dOhyovbGZ6iz8n+BnnY8IA1/6awWnhdzRwueTpxvarM=";
/// The same digest in hex.
const GOLDEN_SHA256: &str = "74e872a2f6c667a8b3f27f819e763c200d7fe9ac169e1773470b9e4e9c6f6ab3";

/// Knuth's MMIX LCG: a deterministic byte stream without a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// ~100 KB of text made of LCG-chosen words (so deflate's match finder matters), then 4 KB of
/// LCG noise.
fn payload() -> Vec<u8> {
    const WORDS: &[&str] = &[
        "lambda",
        "layer",
        "zip",
        "deflate",
        "extension",
        "runtime",
        "bootstrap",
        "opt",
        "arn",
        "region",
        "account",
        "stage",
        "\n",
    ];
    let mut lcg = Lcg(42);
    let mut out = Vec::with_capacity(104 * 1024);
    while out.len() < 100 * 1024 {
        out.extend_from_slice(WORDS[(lcg.next() % WORDS.len() as u64) as usize].as_bytes());
        out.push(b' ');
    }
    out.extend((0..4096).map(|_| lcg.next() as u8));
    out
}

/// (path in the layer, contents, executable)
fn fixture() -> Vec<(&'static str, Vec<u8>, bool)> {
    vec![
        ("bin/tool", b"#!/bin/sh\necho tool\n".to_vec(), true),
        ("config/app.yaml", b"log_level: info\n".to_vec(), false),
        ("config/empty", Vec::new(), false),
        ("data/payload.txt", payload(), false),
        ("extensions/watcher", b"#!/bin/sh\nexit 0\n".to_vec(), true),
        ("lib/nested/deep/readme.txt", b"deep\n".to_vec(), false),
    ]
}

/// Write the fixture under `root` in the given order, with the given source modes and mtime.
fn write_tree(root: &Path, order: &[usize], file_mode: u32, exec_mode: u32, mtime: SystemTime) {
    let files = fixture();
    for &i in order {
        let (path, contents, exec) = &files[i];
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        let mode = if *exec { exec_mode } else { file_mode };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
}

/// Entries for the fixture written at `root`, built by hand (independent of layout).
fn fixture_entries(root: &Path) -> Vec<Entry> {
    fixture()
        .into_iter()
        .map(|(path, _, exec)| Entry {
            path: path.to_string(),
            source: root.join(path),
            mode: if exec { 0o755 } else { 0o644 },
            built: false,
            include: None,
        })
        .collect()
}

fn packed_fixture() -> Archive {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[0, 1, 2, 3, 4, 5],
        0o644,
        0o755,
        SystemTime::now(),
    );
    archive::build(&fixture_entries(dir.path()), DateTime::default()).unwrap()
}

#[test]
fn golden_code_sha256() {
    let archive = packed_fixture();
    assert_eq!(
        (archive.code_sha256.as_str(), archive.sha256.as_str()),
        (GOLDEN_CODE_SHA256, GOLDEN_SHA256),
        "the zip bytes changed; see the comment on GOLDEN_CODE_SHA256"
    );
}

#[test]
fn digests_describe_the_bytes() {
    let archive = packed_fixture();
    assert_eq!(archive.sha256, sha256_hex(&archive.bytes));
    assert_eq!(archive.code_sha256, code_sha256(&archive.bytes));
    assert_eq!(archive.code_sha256, archive::code_sha256(&archive.bytes));
    let sizes: u64 = fixture().iter().map(|f| f.1.len() as u64).sum();
    assert_eq!(archive.unzipped_size, sizes);
    let stored: Vec<(&str, &str, u64)> = archive
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.mode.as_str(), e.size))
        .collect();
    let expected: Vec<(&str, &str, u64)> = fixture()
        .iter()
        .map(|(p, c, x)| (*p, if *x { "0755" } else { "0644" }, c.len() as u64))
        .collect();
    assert_eq!(stored, expected, "entries list files only, sorted");
}

/// Pack a fixture tree through layout (so modes come from the source files) the way
/// `kind = "files"` with `include = [{ from = "tree" }]` does.
fn pack_tree_via_layout(package_root: &Path) -> Archive {
    let layer = layer_config(package_root, LayerKind::Files, &[], &[("tree", "")]);
    let entries = layout::map(&layer, &Artifacts::default()).unwrap();
    archive::build(&entries, DateTime::default()).unwrap()
}

#[test]
fn host_metadata_does_not_change_the_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let new = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    // Different order, group/other bits, owner-only vs shared, and mtimes.
    write_tree(
        &a.path().join("tree"),
        &[0, 1, 2, 3, 4, 5],
        0o600,
        0o700,
        old,
    );
    write_tree(
        &b.path().join("tree"),
        &[5, 3, 1, 4, 2, 0],
        0o664,
        0o775,
        new,
    );
    let first = pack_tree_via_layout(a.path());
    let second = pack_tree_via_layout(b.path());
    assert_eq!(first.code_sha256, second.code_sha256);
    assert!(first.bytes == second.bytes, "identical bytes");
    // And the same as the hand-made entries under the layer path `tree/...`.
    assert_eq!(first.entries.len(), fixture().len());
    assert!(first.entries.iter().all(|e| e.path.starts_with("tree/")));

    // The exec bit is content: flipping it must change the digest.
    let config = b.path().join("tree/config/app.yaml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_ne!(
        pack_tree_via_layout(b.path()).code_sha256,
        first.code_sha256
    );
    // So is a byte of content.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&config, b"log_level: debug\n").unwrap();
    assert_ne!(
        pack_tree_via_layout(b.path()).code_sha256,
        first.code_sha256
    );
}

#[test]
fn timestamp_changes_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[0, 1, 2, 3, 4, 5],
        0o644,
        0o755,
        SystemTime::now(),
    );
    let entries = fixture_entries(dir.path());
    let default = archive::build(&entries, DateTime::default()).unwrap();
    let later = archive::build(&entries, archive::datetime_from_epoch(1_700_000_000)).unwrap();
    assert_ne!(default.code_sha256, later.code_sha256);
    let zip = ZipArchive::new(Cursor::new(later.bytes)).unwrap();
    for i in 0..zip.len() {
        let t = zip.by_index_data(i).unwrap().last_modified().unwrap();
        assert_eq!(t.to_string(), "2023-11-14 22:13:20");
    }
}

#[test]
fn stored_metadata_reads_back() {
    let archive = packed_fixture();
    let mut zip = ZipArchive::new(Cursor::new(archive.bytes.clone())).unwrap();
    let expected_dirs = [
        "bin/",
        "config/",
        "data/",
        "extensions/",
        "lib/",
        "lib/nested/",
        "lib/nested/deep/",
    ];
    let files: BTreeMap<&str, (Vec<u8>, bool)> =
        fixture().into_iter().map(|(p, c, x)| (p, (c, x))).collect();
    let mut names = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        assert_eq!(
            entry.last_modified(),
            Some(DateTime::default()),
            "{name}: 1980-01-01 00:00:00"
        );
        assert_eq!(
            entry.last_modified().unwrap().to_string(),
            "1980-01-01 00:00:00"
        );
        assert_eq!(entry.system(), zip::System::Unix, "{name}");
        assert_eq!(
            entry.extra_data_fields().count(),
            0,
            "{name}: no host extra fields"
        );
        assert!(entry.comment().is_empty(), "{name}");
        if entry.is_dir() {
            assert!(
                expected_dirs.contains(&name.as_str()),
                "unexpected dir {name}"
            );
            assert_eq!(entry.unix_mode(), Some(0o40755), "{name}");
        } else {
            let (contents, exec) = &files[name.as_str()];
            let mode = if *exec { 0o100755 } else { 0o100644 };
            assert_eq!(
                entry.unix_mode(),
                Some(mode),
                "{name}: {:o}",
                entry.unix_mode().unwrap()
            );
            // What deflate does not shrink (the empty file, a few bytes of script) is stored.
            let method = if contents.len() > 32 {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            };
            assert_eq!(entry.compression(), method, "{name}");
            if name == "data/payload.txt" {
                assert!(
                    entry.compressed_size() < entry.size() / 2,
                    "the word payload must actually be compressed"
                );
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            assert!(&data == contents, "{name}: contents round-trip");
        }
        names.push(name);
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted by name");
    let expected: BTreeSet<&str> = expected_dirs
        .iter()
        .copied()
        .chain(files.keys().copied())
        .collect();
    let got: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(got, expected);
    assert!(zip.comment().is_empty());
}

#[test]
fn unzip_accepts_the_archive() {
    if which("unzip").is_none() {
        eprintln!("unzip not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("fixture.zip");
    std::fs::write(&zip, packed_fixture().bytes).unwrap();
    let out = std::process::Command::new("unzip")
        .arg("-tq")
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unzip -t: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Files of several sizes, some like text, some noise, one empty, in three directories.
fn mixed_tree(root: &Path) -> Vec<Entry> {
    let mut lcg = Lcg(7);
    let words = payload();
    let sizes = [0, 1, 4095, 262_144, 700_000, 1_500_000, 3_000_000];
    let mut entries: Vec<Entry> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let path = format!("d{}/f{i}.bin", i % 3);
            let source = root.join(&path);
            std::fs::create_dir_all(source.parent().unwrap()).unwrap();
            let data: Vec<u8> = (0..size)
                .map(|j| {
                    if (j / 8192) % 3 == 0 {
                        lcg.next() as u8
                    } else {
                        words[j % words.len()]
                    }
                })
                .collect();
            std::fs::write(&source, data).unwrap();
            Entry {
                path,
                source,
                mode: if i % 2 == 0 { 0o644 } else { 0o755 },
                built: false,
                include: None,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

#[test]
fn thread_count_does_not_change_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let entries = mixed_tree(dir.path());
    let mtime = archive::datetime_from_epoch(1_700_000_000);
    let one = archive::build_with_threads(&entries, mtime, 1).unwrap();
    for threads in [2, 3, 8] {
        let packed = archive::build_with_threads(&entries, mtime, threads).unwrap();
        assert!(packed.bytes == one.bytes, "{threads} threads");
    }
    let golden = tempfile::tempdir().unwrap();
    write_tree(
        golden.path(),
        &[5, 4, 3, 2, 1, 0],
        0o600,
        0o700,
        SystemTime::now(),
    );
    for threads in [1, 4] {
        let packed = archive::build_with_threads(
            &fixture_entries(golden.path()),
            DateTime::default(),
            threads,
        )
        .unwrap();
        assert_eq!(packed.code_sha256, GOLDEN_CODE_SHA256, "{threads} threads");
    }
}

#[test]
fn missing_source_is_an_error() {
    let entries = [Entry {
        path: "gone".into(),
        source: "/nonexistent/cargo-layer-test/gone".into(),
        mode: 0o644,
        built: false,
        include: None,
    }];
    let err = archive::build(&entries, DateTime::default()).unwrap_err();
    assert!(
        err.message.contains("/nonexistent/cargo-layer-test/gone"),
        "{err}"
    );
}

#[test]
fn epoch_conversion() {
    let t = archive::datetime_from_epoch(1_700_000_000);
    assert_eq!(t.to_string(), "2023-11-14 22:13:20");
    // Zip cannot store dates before 1980.
    assert_eq!(archive::datetime_from_epoch(0), DateTime::default());
    assert_eq!(archive::datetime_from_epoch(-1), DateTime::default());
    assert_eq!(
        archive::datetime_from_epoch(315_532_800).to_string(),
        "1980-01-01 00:00:00"
    );
    // ... nor after 2107.
    assert_eq!(archive::datetime_from_epoch(5_000_000_000).year(), 2107);
}

// ---- property test ----

/// A path segment of [a-z0-9._-] that is not `.`, and never contains `..`.
fn segment() -> impl Strategy<Value = String> {
    "[a-z0-9._-]{1,6}".prop_filter("no . or .. segments", |s| s != "." && !s.contains(".."))
}

/// Relative paths of 1..=3 segments where no path is a directory of another.
fn path_set() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(
        prop::collection::vec(segment(), 1..=3).prop_map(|s| s.join("/")),
        1..10,
    )
    .prop_map(|paths| {
        let all = paths.clone();
        paths
            .into_iter()
            .filter(|p| !all.iter().any(|q| q.starts_with(&format!("{p}/"))))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_tree_packs_to_a_valid_stable_zip(paths in path_set()) {
        let dir = tempfile::tempdir().unwrap();
        let entries: Vec<Entry> = paths
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let source = dir.path().join(path);
                std::fs::create_dir_all(source.parent().unwrap()).unwrap();
                std::fs::write(&source, path.repeat(i + 1)).unwrap();
                Entry {
                    path: path.clone(),
                    source,
                    mode: if i % 2 == 0 { 0o644 } else { 0o755 },
                    built: false,
            include: None,
                }
            })
            .collect();
        let first = archive::build(&entries, DateTime::default()).unwrap();
        let second = archive::build(&entries, DateTime::default()).unwrap();
        prop_assert!(first.bytes == second.bytes, "packing twice gives the same bytes");

        let mut expected: BTreeSet<String> = paths.clone();
        for path in &paths {
            for (i, _) in path.match_indices('/') {
                expected.insert(format!("{}/", &path[..i]));
            }
        }
        let mut zip = ZipArchive::new(Cursor::new(first.bytes)).unwrap();
        let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        prop_assert_eq!(&names, &sorted);
        prop_assert_eq!(names.iter().cloned().collect::<BTreeSet<_>>(), expected);
        prop_assert_eq!(names.len(), sorted.iter().collect::<BTreeSet<_>>().len());
        for name in &names {
            prop_assert!(!name.starts_with('/'), "{}", name);
            prop_assert!(!name.contains(".."), "{}", name);
            prop_assert!(!name.contains("//"), "{}", name);
        }
        for (i, entry) in entries.iter().enumerate() {
            let mut file = zip.by_name(&entry.path).unwrap();
            prop_assert!(file.enclosed_name().is_some());
            prop_assert_eq!(file.unix_mode(), Some(0o100000 | entry.mode));
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            prop_assert_eq!(data, entry.path.repeat(i + 1).into_bytes());
        }
    }
}
