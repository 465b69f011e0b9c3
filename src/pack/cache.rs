//! Packing the same content again (a fresh CI checkout, a `touch`) hashes the inputs and reuses
//! the last zip instead of compressing everything again.
//!
//! The last zip of a layer is the one packaging wrote (`target/layer/<name>.zip` by default), so
//! nothing is stored twice. `target/layer/.cache/<name>.json` records, for that zip, a key and
//! the zip's SHA-256. The key is a SHA-256 over everything the bytes depend on: each file's layer
//! path, source path, mode and content hash, the zip timestamp (SOURCE_DATE_EPOCH), the
//! compression settings, the build inputs (builder, target, `build-env`) and the tool's version. The zip is only reused when its SHA-256 is the
//! recorded one; anything else (missing, corrupted, replaced, half-written, unreadable) is
//! ignored and the zip rebuilt.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::DateTime;

use crate::error::{Error, Result};
use crate::output;
use crate::pack::archive::{self, Archive, StoredEntry};
use crate::pack::layout::Entry;
use crate::schema::BuildInputs;

/// A layer zip and whether it came from the cache.
#[derive(Debug, Clone)]
pub struct Packed {
    pub archive: Archive,
    pub reused: bool,
}

/// What the cache keeps about the last zip of a layer.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    key: String,
    sha256: String,
    zip: PathBuf,
}

/// Everything the zip bytes depend on.
#[derive(Serialize)]
struct Key<'a> {
    tool: &'static str,
    compression: &'static str,
    timestamp: String,
    build: Option<&'a BuildInputs>,
    files: Vec<FileKey<'a>>,
}

#[derive(Serialize)]
struct FileKey<'a> {
    path: &'a str,
    source: String,
    mode: u32,
    size: u64,
    sha256: &'a str,
}

/// One input file: its size and hex SHA-256.
struct Hashed {
    size: u64,
    sha256: String,
}

/// The cache directory of a cargo target directory.
pub fn dir(target_dir: &Path) -> PathBuf {
    super::default_dir(target_dir).join(".cache")
}

/// The zip of `entries` that the caller writes to `zip_path`: the last zip when the inputs are
/// unchanged, else built with [`archive::build`] and recorded (before the caller writes it: a
/// write that does not happen leaves a record that no zip matches).
pub fn build(
    entries: &[Entry],
    mtime: DateTime,
    build: Option<&BuildInputs>,
    target_dir: &Path,
    zip_path: &Path,
) -> Result<Packed> {
    let hashed = hash_files(entries)?;
    let key = key(entries, &hashed, mtime, build);
    let record = record_path(target_dir, zip_path);
    if let Some(archive) = cached(&record, &key) {
        let archive = Archive {
            unzipped_size: hashed.iter().map(|h| h.size).sum(),
            entries: stored(entries, &hashed),
            ..archive
        };
        return Ok(Packed {
            archive,
            reused: true,
        });
    }
    let archive = archive::build(entries, mtime)?;
    store(&record, &key, &archive, zip_path);
    Ok(Packed {
        archive,
        reused: false,
    })
}

fn key(
    entries: &[Entry],
    hashed: &[Hashed],
    mtime: DateTime,
    build: Option<&BuildInputs>,
) -> String {
    let key = Key {
        tool: env!("CARGO_PKG_VERSION"),
        compression: archive::COMPRESSION,
        timestamp: mtime.to_string(),
        build,
        files: entries
            .iter()
            .zip(hashed)
            .map(|(entry, hash)| FileKey {
                path: &entry.path,
                source: entry.source.to_string_lossy().into_owned(),
                mode: entry.mode,
                size: hash.size,
                sha256: &hash.sha256,
            })
            .collect(),
    };
    let json = serde_json::to_vec(&key).expect("the cache key serializes to JSON");
    hex::encode(Sha256::digest(json))
}

/// The files as the archive lists them, without reading the zip.
fn stored(entries: &[Entry], hashed: &[Hashed]) -> Vec<StoredEntry> {
    let mut stored: Vec<StoredEntry> = entries
        .iter()
        .zip(hashed)
        .map(|(entry, hash)| StoredEntry {
            path: entry.path.clone(),
            mode: format!("{:04o}", entry.mode),
            size: hash.size,
        })
        .collect();
    stored.sort_by(|a, b| a.path.cmp(&b.path));
    stored
}

/// `<target>/layer/.cache/<zip name>.json`.
fn record_path(target_dir: &Path, zip_path: &Path) -> PathBuf {
    let name = zip_path.file_stem().unwrap_or_default().to_string_lossy();
    dir(target_dir).join(format!("{name}.json"))
}

/// The last zip (its bytes and digests), only if it is the one recorded for `key`.
fn cached(record: &Path, key: &str) -> Option<Archive> {
    let record: Record = serde_json::from_slice(&std::fs::read(record).ok()?).ok()?;
    if record.key != key {
        return None;
    }
    let archive = Archive::new(std::fs::read(&record.zip).ok()?, 0, Vec::new());
    (archive.sha256 == record.sha256).then_some(archive)
}

/// Record `archive` as the zip the caller is about to write to `zip_path`. Best effort: a record
/// that cannot be written only costs time on the next run.
fn store(record: &Path, key: &str, archive: &Archive, zip_path: &Path) {
    let zip = std::path::absolute(zip_path).unwrap_or_else(|_| zip_path.to_path_buf());
    let entry = Record {
        key: key.to_string(),
        sha256: archive.sha256.clone(),
        zip,
    };
    if let Ok(json) = serde_json::to_vec_pretty(&entry) {
        let _ = output::write_atomic(record, &json);
    }
}

/// Size and SHA-256 of every entry's source, on every core.
fn hash_files(entries: &[Entry]) -> Result<Vec<Hashed>> {
    let order = archive::largest_first(entries);
    let next = AtomicUsize::new(0);
    let workers = archive::threads().clamp(1, entries.len().max(1));
    let mut hashed: Vec<Option<Result<Hashed>>> = entries.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (order, next) = (&order, &next);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push((i, hash_file(&entries[i].source)));
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            for (i, result) in handle.join().expect("a hashing worker panicked") {
                hashed[i] = Some(result);
            }
        }
    });
    hashed
        .into_iter()
        .map(|h| h.expect("every entry is hashed"))
        .collect()
}

fn hash_file(path: &Path) -> Result<Hashed> {
    let read_err = |e| Error::io("read", path, e);
    let mut file = File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    let mut size = 0;
    loop {
        let read = match file.read(&mut buffer) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            read => read.map_err(read_err)?,
        };
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok(Hashed {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}
