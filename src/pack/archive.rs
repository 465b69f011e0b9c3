//! The reproducible layer zip. The same files and modes always give the same bytes, and so the
//! same `CodeSha256` in Lambda: entries sorted by path, one fixed timestamp, modes normalised to
//! 0755/0644, no host fields, and one pinned compressor and level: each file is deflated whole
//! by libdeflate at level 6 (libdeflater 1.26.1, vendored C) and its entry written by zip 9.4.1.
//! `Cargo.lock` pins the rest and a golden test guards it. libdeflate was chosen by measurement
//! (README, Performance): on real binaries it packs smaller than Info-ZIP's `zip -6` and takes
//! less CPU time than zlib-rs at level 6, which packed them 2-7% larger.

use std::collections::BTreeSet;

use std::io::{Cursor, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::error::{Error, Kind, Result};
use crate::pack::layout::{Entry, MODE_EXECUTABLE};

pub const COMPRESSION_LEVEL: i32 = 6;
/// The backend and settings behind the bytes (the cache keys on it).
pub const COMPRESSION: &str = "deflate level 6, libdeflate 1.26 (libdeflater 1.26.1), zip 9.4.1";

/// One file as stored in the zip.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredEntry {
    pub path: String,
    /// Unix permission bits as an octal string, e.g. "0755".
    pub mode: String,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct Archive {
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of the zip.
    pub sha256: String,
    /// base64 of the raw SHA-256: the value Lambda reports as `CodeSha256`.
    pub code_sha256: String,
    pub unzipped_size: u64,
    pub entries: Vec<StoredEntry>,
}

/// The timestamp every entry gets: SOURCE_DATE_EPOCH when set, else 1980-01-01 00:00:00.
pub fn timestamp() -> Result<DateTime> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => {
            let secs: i64 = value.trim().parse().map_err(|_| {
                Error::new(
                    Kind::Config,
                    format!("SOURCE_DATE_EPOCH=\"{value}\" is not a number of seconds since 1970"),
                )
                .fix("unset it or fix it")
            })?;
            Ok(datetime_from_epoch(secs))
        }
        Err(_) => Ok(DateTime::default()),
    }
}

/// Zip stores local time with 2-second precision from 1980 to 2107; clamp into that range.
pub fn datetime_from_epoch(secs: i64) -> DateTime {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs) else {
        return if secs > 0 {
            latest()
        } else {
            DateTime::default()
        };
    };
    let year = u16::try_from(t.year()).unwrap_or(0).clamp(1980, 2107);
    if i32::from(year) != t.year() {
        return if year == 1980 {
            DateTime::default()
        } else {
            latest()
        };
    }
    DateTime::from_date_and_time(
        year,
        t.month().into(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default()
}

/// The last moment a zip timestamp can hold.
fn latest() -> DateTime {
    DateTime::from_date_and_time(2107, 12, 31, 23, 59, 58).unwrap_or_default()
}

/// A directory entry's options (files keep what their one-entry zip recorded, see [`assemble`]).
fn directory_options(mtime: DateTime) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(mtime)
        .unix_permissions(MODE_EXECUTABLE)
        .system(zip::System::Unix)
        .large_file(false)
}

/// Every parent directory of the entries, so extraction sets their mode too.
fn directories(entries: &[Entry]) -> BTreeSet<String> {
    entries
        .iter()
        .flat_map(|e| {
            e.path
                .match_indices('/')
                .map(|(i, _)| format!("{}/", &e.path[..i]))
        })
        .collect()
}

/// Pack `entries` (already sorted by path) into a zip held in memory, compressing on every core.
pub fn build(entries: &[Entry], mtime: DateTime) -> Result<Archive> {
    build_with_threads(entries, mtime, threads())
}

/// The number of cores this process may use.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// [`build`] with `threads` compressing workers. The bytes never depend on `threads`: each file
/// is deflated on its own in one call, from its content alone, and the entries are then copied
/// into the zip in path order without being touched. A worker holds the file it compresses whole
/// (libdeflate has no streaming interface), so a file is never split across cores.
pub fn build_with_threads(entries: &[Entry], mtime: DateTime, threads: usize) -> Result<Archive> {
    let order = largest_first(entries);
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, entries.len().max(1));
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for _ in 0..workers {
            let sender = sender.clone();
            let (order, next) = (&order, &next);
            scope.spawn(move || {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if crate::interrupt::is_set() {
                        break;
                    }
                    // The writer stops receiving after an error: then there is nothing to do.
                    if sender.send((i, compress(&entries[i]))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        assemble(entries, mtime, receiver)
    })
}

/// Indexes of `entries`, largest file first, so the longest compressions start early.
pub(crate) fn largest_first(entries: &[Entry]) -> Vec<usize> {
    let sizes: Vec<u64> = entries
        .iter()
        .map(|e| std::fs::metadata(&e.source).map_or(0, |m| m.len()))
        .collect();
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    order
}

/// One file compressed into a zip of its own, ready to be copied raw into the layer zip.
struct Compressed {
    zip: Vec<u8>,
    size: u64,
}

fn zip_err(e: impl std::fmt::Display) -> Error {
    Error::new(Kind::Internal, format!("could not write the zip: {e}"))
}

/// One file, read whole and deflated in one libdeflate call: its bytes depend on the file alone.
/// A file that deflate does not shrink (tiny or already compressed) is stored, as `zip` does.
fn compress(entry: &Entry) -> Result<Compressed> {
    let data = std::fs::read(&entry.source).map_err(|e| Error::io("read", &entry.source, e))?;
    let deflated = deflate(&data)?;
    let zip = if deflated.len() < data.len() {
        single_entry_zip(entry, &data, rawzip::CompressionMethod::Deflate, &deflated)?
    } else {
        single_entry_zip(entry, &data, rawzip::CompressionMethod::Store, &data)?
    };
    Ok(Compressed {
        zip,
        size: data.len() as u64,
    })
}

/// `data` as one raw deflate stream at [`COMPRESSION_LEVEL`].
fn deflate(data: &[u8]) -> Result<Vec<u8>> {
    let level = libdeflater::CompressionLvl::new(COMPRESSION_LEVEL)
        .map_err(|e| zip_err(format!("deflate: {e:?}")))?;
    let mut compressor = libdeflater::Compressor::new(level);
    let mut out = vec![0; compressor.deflate_compress_bound(data.len())];
    let len = compressor
        .deflate_compress(data, &mut out)
        .map_err(|e| zip_err(format!("deflate: {e:?}")))?;
    out.truncate(len);
    out.shrink_to_fit();
    Ok(out)
}

/// A zip holding `data`, already compressed by `method` into `body`, as its one entry, for
/// [`ZipWriter::raw_copy_file_touch`]: the zip crate writes only what it compressed itself,
/// rawzip takes compressed bytes as they are.
fn single_entry_zip(
    file: &Entry,
    data: &[u8],
    method: rawzip::CompressionMethod,
    body: &[u8],
) -> Result<Vec<u8>> {
    let mut zip = rawzip::ZipArchiveWriter::new(Vec::new());
    let (mut entry, config) = zip
        .new_file(file.path.as_str())
        .compression_method(method)
        .unix_permissions(file.mode)
        .start()
        .map_err(zip_err)?;
    entry.write_all(body).map_err(zip_err)?;
    // The CRC-32 and size of the file itself, as the entry's data descriptor records them.
    let mut original = config.wrap(std::io::sink());
    original.write_all(data).map_err(zip_err)?;
    let (_, descriptor) = original.finish().map_err(zip_err)?;
    entry.finish(descriptor).map_err(zip_err)?;
    zip.finish().map_err(zip_err)
}

/// Write directories and compressed files in path order as the workers deliver them.
fn assemble(
    entries: &[Entry],
    mtime: DateTime,
    receiver: mpsc::Receiver<(usize, Result<Compressed>)>,
) -> Result<Archive> {
    let mut names: Vec<(String, Option<usize>)> = directories(entries)
        .into_iter()
        .map(|d| (d, None))
        .collect();
    names.extend(
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), Some(i))),
    );
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut waiting: Vec<Option<Result<Compressed>>> = entries.iter().map(|_| None).collect();
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut stored = Vec::with_capacity(entries.len());
    let mut unzipped_size = 0;
    for (name, index) in names {
        let Some(i) = index else {
            zip.add_directory(name, directory_options(mtime))
                .map_err(zip_err)?;
            continue;
        };
        let compressed = receive(&receiver, &mut waiting, i)?;
        let mut one = ZipArchive::new(Cursor::new(compressed.zip)).map_err(zip_err)?;
        let file = one.by_index_raw(0).map_err(zip_err)?;
        zip.raw_copy_file_touch(file, mtime, Some(entries[i].mode))
            .map_err(zip_err)?;
        unzipped_size += compressed.size;
        stored.push(StoredEntry {
            path: name,
            mode: format!("{:04o}", entries[i].mode),
            size: compressed.size,
        });
    }
    let bytes = zip.finish().map_err(zip_err)?.into_inner();
    Ok(Archive::new(bytes, unzipped_size, stored))
}

/// The compressed file `i`, waiting for the workers if it is not there yet.
fn receive(
    receiver: &mpsc::Receiver<(usize, Result<Compressed>)>,
    waiting: &mut [Option<Result<Compressed>>],
    i: usize,
) -> Result<Compressed> {
    while waiting[i].is_none() {
        let Ok((done, result)) = receiver.recv() else {
            // Workers only stop early on Ctrl-C.
            crate::interrupt::check()?;
            return Err(Error::new(
                Kind::Internal,
                "a compression worker stopped early",
            ));
        };
        waiting[done] = Some(result);
    }
    waiting[i].take().expect("received above")
}

impl Archive {
    /// The digests and summary of finished zip bytes.
    pub fn new(bytes: Vec<u8>, unzipped_size: u64, entries: Vec<StoredEntry>) -> Archive {
        let digest = Sha256::digest(&bytes);
        Archive {
            sha256: hex::encode(digest),
            code_sha256: base64::engine::general_purpose::STANDARD.encode(digest),
            bytes,
            unzipped_size,
            entries,
        }
    }
}

/// CodeSha256 of arbitrary bytes, as Lambda computes it.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The hex SHA-256 (as recorded on an S3 object) of a base64 CodeSha256; `None` when it is no
/// SHA-256 digest.
pub fn sha256_hex(code_sha256: &str) -> Option<String> {
    let digest = base64::engine::general_purpose::STANDARD
        .decode(code_sha256)
        .ok()?;
    (digest.len() == 32).then(|| hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_sha256_reads_as_the_hex_digest_of_the_same_bytes() {
        let archive = Archive::new(b"layer".to_vec(), 5, Vec::new());
        assert_eq!(sha256_hex(&archive.code_sha256), Some(archive.sha256));
        assert_eq!(sha256_hex("not base64!"), None);
        assert_eq!(sha256_hex("c2hvcnQ="), None);
    }

    #[test]
    fn epoch_clamps_into_zip_range() {
        assert_eq!(datetime_from_epoch(0), DateTime::default());
        let t = datetime_from_epoch(1_700_000_000); // 2023-11-14 22:13:20 UTC
        assert_eq!((t.year(), t.month(), t.day()), (2023, 11, 14));
        assert_eq!((t.hour(), t.minute(), t.second()), (22, 13, 20));
        assert_eq!(datetime_from_epoch(i64::MAX).year(), 2107);
        assert_eq!(datetime_from_epoch(i64::MIN), DateTime::default());
        assert_eq!(datetime_from_epoch(5_000_000_000).year(), 2107);
    }

    fn entry_with(dir: &std::path::Path, data: &[u8]) -> Entry {
        let source = dir.join("file");
        std::fs::write(&source, data).unwrap();
        Entry {
            path: "file".into(),
            source,
            mode: 0o755,
            built: false,
            include: None,
        }
    }

    /// Noise and repeated words in turn, like code and data in a binary.
    fn binary_like(len: usize) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(3);
        let words = b"mov rax, rbx; call 0x401000; ret; push rbp; lea rdi, [rip+0x20]; ";
        (0..len)
            .map(|i| {
                if (i / 3000) % 4 == 0 {
                    rng.u8(..)
                } else {
                    words[(i + i / 7919) % words.len()]
                }
            })
            .collect()
    }

    #[test]
    fn a_file_is_one_libdeflate_stream_under_its_mode_and_crc() {
        let dir = tempfile::tempdir().unwrap();
        let data = binary_like(1 << 20);
        let entry = entry_with(dir.path(), &data);
        let archive = build_with_threads(std::slice::from_ref(&entry), latest(), 1).unwrap();
        let mut zip = ZipArchive::new(Cursor::new(archive.bytes)).unwrap();
        let mut file = zip.by_name("file").unwrap();
        assert_eq!(file.compression(), CompressionMethod::Deflated);
        assert_eq!(file.compressed_size(), deflate(&data).unwrap().len() as u64);
        assert_eq!(file.unix_mode(), Some(0o100755));
        assert_eq!(file.last_modified(), Some(latest()));
        assert!(file.extra_data().as_deref().is_none_or(<[u8]>::is_empty));
        let mut back = Vec::new();
        // Reading to the end checks the CRC-32 the entry records.
        std::io::Read::read_to_end(&mut file, &mut back).unwrap();
        assert!(back == data);
    }
}
