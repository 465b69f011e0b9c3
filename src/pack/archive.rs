//! The reproducible layer zip. The same files and modes always give the same bytes, and so the
//! same `CodeSha256` in Lambda: entries sorted by path, one fixed timestamp, modes normalised to
//! 0755/0644, no host fields, and one pinned compression backend and level (zip 9.4.1 with
//! flate2 on zlib-rs, deflate level 6; `Cargo.lock` pins the rest and a golden test guards it).

use std::collections::BTreeSet;
use std::io::{Cursor, Write};

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::error::{Error, Kind, Result};
use crate::pack::layout::{Entry, MODE_EXECUTABLE};

pub const COMPRESSION_LEVEL: i64 = 6;

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
                Error::new(Kind::Config, format!(
                    "SOURCE_DATE_EPOCH=\"{value}\" is not a number of seconds since 1970; unset it or fix it"
                ))
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

fn options(mode: u32, mtime: DateTime) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(COMPRESSION_LEVEL))
        .last_modified_time(mtime)
        .unix_permissions(mode)
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

/// Pack `entries` (already sorted by path) into a zip held in memory.
pub fn build(entries: &[Entry], mtime: DateTime) -> Result<Archive> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let zip_err = |e: zip::result::ZipError| {
        Error::new(Kind::Internal, format!("could not write the zip: {e}"))
    };
    let mut names: Vec<(String, Option<&Entry>)> = directories(entries)
        .into_iter()
        .map(|d| (d, None))
        .collect();
    names.extend(entries.iter().map(|e| (e.path.clone(), Some(e))));
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut stored = Vec::with_capacity(entries.len());
    let mut unzipped_size = 0;
    for (name, entry) in names {
        match entry {
            None => zip
                .add_directory(name, options(MODE_EXECUTABLE, mtime))
                .map_err(zip_err)?,
            Some(entry) => {
                let data = std::fs::read(&entry.source)
                    .map_err(|e| Error::io("read", &entry.source, e))?;
                zip.start_file(name, options(entry.mode, mtime))
                    .map_err(zip_err)?;
                zip.write_all(&data).map_err(|e| zip_err(e.into()))?;
                unzipped_size += data.len() as u64;
                stored.push(StoredEntry {
                    path: entry.path.clone(),
                    mode: format!("{:04o}", entry.mode),
                    size: data.len() as u64,
                });
            }
        }
    }
    let bytes = zip.finish().map_err(zip_err)?.into_inner();
    let digest = Sha256::digest(&bytes);
    Ok(Archive {
        sha256: hex::encode(digest),
        code_sha256: base64::engine::general_purpose::STANDARD.encode(digest),
        bytes,
        unzipped_size,
        entries: stored,
    })
}

/// CodeSha256 of arbitrary bytes, as Lambda computes it.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
