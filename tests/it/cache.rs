//! The pack cache: the same content is never compressed twice, and anything that changes the
//! bytes (content, mode, layout, SOURCE_DATE_EPOCH, the build inputs) misses. A last zip that does not match its
//! recorded SHA-256 (corrupted, replaced, never written) is rebuilt, never trusted.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::TempCrate;
use cargo_layer::pack::archive;
use cargo_layer::pack::cache::{self, Packed};
use cargo_layer::pack::layout::Entry;
use zip::DateTime;

/// A small tree: an executable, a config file, and a larger file that really compresses.
fn tree(root: &Path) -> Vec<Entry> {
    let files: [(&str, Vec<u8>, u32); 3] = [
        ("extensions/agent", b"#!/bin/sh\nexit 0\n".to_vec(), 0o755),
        ("config/app.yaml", b"level: info\n".to_vec(), 0o644),
        (
            "data/words.txt",
            "layer zip cache ".repeat(20_000).into_bytes(),
            0o644,
        ),
    ];
    let mut entries: Vec<Entry> = files
        .into_iter()
        .map(|(path, contents, mode)| {
            let source = root.join("src").join(path);
            std::fs::create_dir_all(source.parent().unwrap()).unwrap();
            std::fs::write(&source, contents).unwrap();
            Entry {
                path: path.to_string(),
                source,
                mode,
                built: false,
                include: None,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

/// Pack and write the zip, as `cargo layer package` does.
fn pack(entries: &[Entry], target: &Path) -> Packed {
    pack_at(entries, target, DateTime::default())
}

fn pack_at(entries: &[Entry], target: &Path, mtime: DateTime) -> Packed {
    let zip = cached_zip(target);
    let packed = cache::build(entries, mtime, None, target, &zip).unwrap();
    std::fs::create_dir_all(zip.parent().unwrap()).unwrap();
    std::fs::write(&zip, &packed.archive.bytes).unwrap();
    packed
}

fn touch_all(entries: &[Entry]) {
    let later = SystemTime::now() + Duration::from_secs(3600);
    for entry in entries {
        File::options()
            .write(true)
            .open(&entry.source)
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
}

/// Where the layer's zip is written: the one the cache reuses.
fn cached_zip(target: &Path) -> std::path::PathBuf {
    target.join("layer/cached.zip")
}

#[test]
fn a_touched_tree_reuses_the_zip() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    let first = pack(&entries, dir.path());
    assert!(!first.reused, "nothing cached yet");
    assert!(cached_zip(dir.path()).is_file());
    touch_all(&entries);
    let second = pack(&entries, dir.path());
    assert!(second.reused, "same content after touch: a hit");
    assert!(second.archive.bytes == first.archive.bytes);
    assert_eq!(second.archive.sha256, first.archive.sha256);
    assert_eq!(second.archive.code_sha256, first.archive.code_sha256);
    assert_eq!(second.archive.unzipped_size, first.archive.unzipped_size);
    assert_eq!(second.archive.entries, first.archive.entries);
    // And it is what packing from scratch gives.
    let fresh = archive::build(&entries, DateTime::default()).unwrap();
    assert!(fresh.bytes == second.archive.bytes);
}

#[test]
fn changed_content_misses() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    let first = pack(&entries, dir.path());
    std::fs::write(&entries[0].source, b"level: debug\n").unwrap();
    let second = pack(&entries, dir.path());
    assert!(!second.reused);
    assert_ne!(second.archive.code_sha256, first.archive.code_sha256);
    let fresh = archive::build(&entries, DateTime::default()).unwrap();
    assert_eq!(second.archive.sha256, fresh.sha256);
    // The new content is the one cached now.
    assert!(pack(&entries, dir.path()).reused);
}

#[test]
fn a_changed_mode_misses() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = tree(dir.path());
    let first = pack(&entries, dir.path());
    entries[0].mode = 0o755;
    let second = pack(&entries, dir.path());
    assert!(!second.reused);
    assert_ne!(second.archive.code_sha256, first.archive.code_sha256);
    assert_eq!(second.archive.entries[0].mode, "0755");
}

#[test]
fn a_changed_layout_misses() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = tree(dir.path());
    let first = pack(&entries, dir.path());
    // The same file, elsewhere in the layer.
    entries[0].path = "etc/app.yaml".into();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let second = pack(&entries, dir.path());
    assert!(!second.reused);
    assert_ne!(second.archive.code_sha256, first.archive.code_sha256);
    let fresh = archive::build(&entries, DateTime::default()).unwrap();
    assert_eq!(second.archive.sha256, fresh.sha256);
}

#[test]
fn another_timestamp_misses() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    let first = pack(&entries, dir.path());
    let dated = archive::datetime_from_epoch(1_700_000_000);
    let second = pack_at(&entries, dir.path(), dated);
    assert!(!second.reused);
    assert_ne!(second.archive.code_sha256, first.archive.code_sha256);
    let fresh = archive::build(&entries, dated).unwrap();
    assert_eq!(second.archive.sha256, fresh.sha256);
}

#[test]
fn other_build_inputs_miss() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    pack(&entries, dir.path());
    let zip = cached_zip(dir.path());
    let inputs = |target: &str| cargo_layer::schema::BuildInputs {
        builder: "cargo".into(),
        target: Some(target.into()),
        env: Default::default(),
    };
    let build = |inputs| cache::build(&entries, DateTime::default(), inputs, dir.path(), &zip);
    let musl = inputs("x86_64-unknown-linux-musl");
    assert!(!build(Some(&musl)).unwrap().reused);
    std::fs::write(&zip, &build(Some(&musl)).unwrap().archive.bytes).unwrap();
    assert!(build(Some(&musl)).unwrap().reused);
    assert!(
        !build(Some(&inputs("x86_64-unknown-linux-gnu")))
            .unwrap()
            .reused
    );
}

#[test]
fn a_corrupted_cached_zip_is_rebuilt_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    let first = pack(&entries, dir.path());
    let zip = cached_zip(dir.path());
    let mut bytes = std::fs::read(&zip).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&zip, &bytes).unwrap();
    let second = pack(&entries, dir.path());
    assert!(
        !second.reused,
        "a zip that does not match its SHA-256 is not used"
    );
    assert!(second.archive.bytes == first.archive.bytes);
    assert!(
        pack(&entries, dir.path()).reused,
        "the good zip, written again"
    );
}

#[test]
fn a_zip_that_was_never_written_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    let zip = cached_zip(dir.path());
    // Packed and recorded, then a later check failed: no zip was written.
    cache::build(&entries, DateTime::default(), None, dir.path(), &zip).unwrap();
    assert!(!zip.exists());
    assert!(!pack(&entries, dir.path()).reused);
    // Packed and recorded again after a content change, and again not written: the zip on disk
    // is the older content's.
    std::fs::write(&entries[0].source, b"level: warn\n").unwrap();
    cache::build(&entries, DateTime::default(), None, dir.path(), &zip).unwrap();
    let again = pack(&entries, dir.path());
    assert!(!again.reused);
    let fresh = archive::build(&entries, DateTime::default()).unwrap();
    assert_eq!(again.archive.sha256, fresh.sha256);
}

#[test]
fn a_replaced_cached_zip_is_rebuilt_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    let first = pack(&entries, dir.path());
    // A whole, valid zip, but not the one recorded.
    let other = archive::build(&entries[..1], DateTime::default()).unwrap();
    std::fs::write(cached_zip(dir.path()), &other.bytes).unwrap();
    let second = pack(&entries, dir.path());
    assert!(!second.reused);
    assert!(second.archive.bytes == first.archive.bytes);
}

#[test]
fn a_missing_or_garbled_record_misses() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    pack(&entries, dir.path());
    let record = cache::dir(dir.path()).join("cached.json");
    std::fs::write(&record, b"{ not json").unwrap();
    assert!(!pack(&entries, dir.path()).reused);
    std::fs::remove_file(&record).unwrap();
    assert!(!pack(&entries, dir.path()).reused);
    assert!(pack(&entries, dir.path()).reused);
}

#[test]
fn an_unreadable_input_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let entries = tree(dir.path());
    std::fs::remove_file(&entries[1].source).unwrap();
    let zip = cached_zip(dir.path());
    let err = cache::build(&entries, DateTime::default(), None, dir.path(), &zip).unwrap_err();
    assert!(
        err.message
            .contains(&entries[1].source.display().to_string()),
        "{err}"
    );
}

// ---- through the CLI ----

fn files_crate() -> TempCrate {
    let manifest = "[package]\nname = \"cached\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n[package.metadata.layer]\nkind = \"files\"\ninclude = [{ from = \"data/*\", to = \"data/\" }]\n";
    TempCrate::new(&[
        ("Cargo.toml", manifest),
        ("src/lib.rs", ""),
        ("data/a.txt", "alpha\n"),
        ("data/run.sh", "#!/bin/sh\n"),
    ])
}

fn code_sha256(krate: &TempCrate, env: &[(&str, &str)]) -> String {
    let mut cmd = crate::support::cargo_layer(&krate.target_dir());
    cmd.args(["package", "--message-format", "json", "--manifest-path"])
        .arg(krate.manifest());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["code_sha256"].as_str().unwrap().to_string()
}

#[test]
fn package_reuses_the_cache_and_still_honours_source_date_epoch() {
    let krate = files_crate();
    let script = krate.root.join("data/run.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plain = code_sha256(&krate, &[]);
    let record = cache::dir(&krate.target_dir()).join("cached.json");
    let written = std::fs::metadata(&record).unwrap().modified().unwrap();
    let layer_dir: Vec<_> = std::fs::read_dir(krate.target_dir().join("layer"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(layer_dir.len(), 2, "the zip and .cache: {layer_dir:?}");
    assert_eq!(
        std::fs::read_dir(cache::dir(&krate.target_dir()))
            .unwrap()
            .count(),
        1,
        "only the record: the zip is not stored twice"
    );
    File::options()
        .write(true)
        .open(&script)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    assert_eq!(code_sha256(&krate, &[]), plain);
    assert_eq!(
        std::fs::metadata(&record).unwrap().modified().unwrap(),
        written,
        "a hit does not rewrite the record"
    );
    let dated = code_sha256(&krate, &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_ne!(
        dated, plain,
        "a new timestamp is a new zip, not the cached one"
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_ne!(code_sha256(&krate, &[]), plain, "the exec bit is content");
}
