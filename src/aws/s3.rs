//! Layers over Lambda's 50 MB direct-upload limit go through S3 in the artifacts account: the
//! zip is uploaded to `s3-bucket` (which must be in the layer's region) under a key made from
//! its content, and PublishLayerVersion reads it from there. An object already holding the same
//! content is not uploaded again.
//!
//! The SDK has no multipart helper and the transfer-manager crate is not on crates.io, so the
//! four multipart calls are made here; parts are sent four at a time and the upload is aborted
//! if any part fails, so no orphaned parts are left to pay for.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::pack::archive::Archive;

/// Parts of 16 MiB (S3 wants at least 5 MiB), and one PutObject below that.
const PART_SIZE: usize = 16 * 1024 * 1024;
const PARTS_AT_ONCE: usize = 4;
/// Object metadata holding the zip's hex SHA-256, checked before an upload is skipped.
const SHA256_METADATA: &str = "cargo-layer-sha256";

/// Where PublishLayerVersion finds the zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    pub key: String,
    /// Set when the bucket is versioned, so Lambda reads exactly the object uploaded.
    pub version: Option<String>,
}

/// `cargo-layer/<name>/<hex sha256>.zip`: the same content always lands on the same key.
pub fn key(layer: &str, sha256: &str) -> String {
    format!("cargo-layer/{layer}/{sha256}.zip")
}

/// `cargo-layer/<name>/signed/`: where signing jobs write the layer's signed zips.
pub fn signed_prefix(layer: &str) -> String {
    format!("cargo-layer/{layer}/signed/")
}

/// Put the zip in `bucket` unless it is there already, and say where it is.
pub async fn stage(
    client: &Client,
    bucket: &str,
    layer: &str,
    archive: &Archive,
    progress: &Progress,
) -> Result<Location> {
    let key = key(layer, &archive.sha256);
    let place = Place {
        client,
        bucket,
        key: &key,
    };
    let version = match place.existing(archive).await? {
        Some(version) => {
            progress.info(format!(
                "  s3://{bucket}/{key} already holds this zip; not uploading it again"
            ));
            version
        }
        None if archive.bytes.len() <= PART_SIZE => place.put(archive).await?,
        None => place.multipart(archive, progress).await?,
    };
    Ok(Location {
        bucket: bucket.to_string(),
        key,
        version,
    })
}

/// What HeadObject says about one object (version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub version: Option<String>,
    /// The hex SHA-256 recorded in the object's metadata when cargo-layer uploaded it.
    pub sha256: Option<String>,
}

/// HeadObject of `key` (of `version`, else the latest); `None` when it is not there.
pub async fn head(
    client: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<Option<Head>> {
    let place = Place {
        client,
        bucket,
        key,
    };
    let out = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await;
    match out {
        Ok(out) => Ok(Some(Head {
            version: out.version_id().map(str::to_string),
            sha256: out.metadata().and_then(|m| m.get(SHA256_METADATA)).cloned(),
        })),
        // A missing key or version: HEAD answers a bare 404 (a 400 for a malformed version id).
        Err(SdkError::ServiceError(e)) if matches!(e.raw().status().as_u16(), 400 | 404) => {
            Ok(None)
        }
        Err(err) => Err(place.error("s3:GetObjectVersion (HeadObject)", err)),
    }
}

/// GetBucketVersioning: `Enabled`, `Suspended`, or `None` for a bucket that never had it.
pub async fn versioning(client: &Client, bucket: &str) -> Result<Option<String>> {
    let place = Place {
        client,
        bucket,
        key: "",
    };
    let out = client
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| place.error("s3:GetBucketVersioning", e))?;
    Ok(out.status().map(|s| s.as_str().to_string()))
}

struct Place<'a> {
    client: &'a Client,
    bucket: &'a str,
    key: &'a str,
}

impl Place<'_> {
    fn resource(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn error<E, R>(&self, action: &str, err: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match err.code() {
            Some("NoSuchBucket") => Error::new(Kind::Aws, format!("{action}: bucket {} does not exist", self.bucket)).fix("create it in the layer's region (Lambda reads the zip from the same region) or fix package.metadata.layer.s3-bucket"),
            _ => crate::aws::sdk_error(action, &self.resource(), err),
        }
    }

    /// The object's version when it already holds this zip (`Some(None)` in an unversioned
    /// bucket), or `None` when it must be uploaded.
    async fn existing(&self, archive: &Archive) -> Result<Option<Option<String>>> {
        let out = self
            .client
            .head_object()
            .bucket(self.bucket)
            .key(self.key)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // HEAD answers a bare 404 for a missing key and a missing bucket alike; the
            // upload that follows tells them apart.
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 404 => return Ok(None),
            Err(err) => return Err(self.error("s3:GetObject (HeadObject)", err)),
        };
        let same = out
            .metadata()
            .and_then(|m| m.get(SHA256_METADATA))
            .is_some_and(|sha| *sha == archive.sha256)
            && out.content_length() == Some(archive.bytes.len() as i64);
        Ok(same.then(|| out.version_id().map(str::to_string)))
    }

    async fn put(&self, archive: &Archive) -> Result<Option<String>> {
        let out = self
            .client
            .put_object()
            .bucket(self.bucket)
            .key(self.key)
            .metadata(SHA256_METADATA, &archive.sha256)
            .body(ByteStream::from(archive.bytes.clone()))
            .send()
            .await
            .map_err(|e| self.error("s3:PutObject", e))?;
        Ok(out.version_id().map(str::to_string))
    }

    async fn multipart(&self, archive: &Archive, progress: &Progress) -> Result<Option<String>> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .metadata(SHA256_METADATA, &archive.sha256)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| self.error("s3:PutObject (CreateMultipartUpload)", e))?;
        let upload = created.upload_id().unwrap_or_default().to_string();
        match self.parts(&upload, &archive.bytes, progress).await {
            Ok(parts) => self.complete(&upload, parts).await,
            Err(err) => {
                // Best effort: a failed abort leaves parts that a bucket lifecycle rule removes.
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(self.bucket)
                    .key(self.key)
                    .upload_id(&upload)
                    .send()
                    .await;
                Err(err)
            }
        }
    }

    async fn parts(
        &self,
        upload: &str,
        bytes: &[u8],
        progress: &Progress,
    ) -> Result<Vec<CompletedPart>> {
        let chunks: Vec<&[u8]> = bytes.chunks(PART_SIZE).collect();
        let total = chunks.len();
        let step = progress.step(format!(
            "uploading {} in {total} parts to {}",
            crate::output::human_size(bytes.len() as u64),
            self.resource()
        ));
        let parts: Vec<CompletedPart> = stream::iter(chunks.into_iter().enumerate())
            .map(|(i, chunk)| self.part(upload, i as i32 + 1, chunk))
            .buffered(PARTS_AT_ONCE)
            .try_collect()
            .await?;
        step.finish(format!("uploaded {total} parts"));
        Ok(parts)
    }

    async fn part(&self, upload: &str, number: i32, chunk: &[u8]) -> Result<CompletedPart> {
        let out = self
            .client
            .upload_part()
            .bucket(self.bucket)
            .key(self.key)
            .upload_id(upload)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| self.error("s3:PutObject (UploadPart)", e))?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_string))
            .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
            .build())
    }

    async fn complete(&self, upload: &str, parts: Vec<CompletedPart>) -> Result<Option<String>> {
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .upload_id(upload)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.error("s3:PutObject (CompleteMultipartUpload)", e))?;
        Ok(out.version_id().map(str::to_string))
    }
}
