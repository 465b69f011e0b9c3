//! AWS Signer calls for signed layers: the signing profile, a signing job and what it recorded.
//! Each returns what AWS says; deciding what that means is the publish-once protocol's job
//! (`commands::once`).
//!
//! A signing job reads one S3 object version and writes the signed zip under a destination
//! prefix, as `<prefix><job id>...`: the key is chosen by the job, not by the caller.

use aws_sdk_signer::Client;
use aws_sdk_signer::types::{Destination, S3Destination, S3Source, Source};

use crate::aws;
use crate::error::{Error, Kind, Result};

/// The only platform Lambda accepts signatures of.
pub const LAMBDA_PLATFORM: &str = "AWSLambda-SHA384-ECDSA";

/// A signing profile, as GetSigningProfile describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub owner: Option<String>,
    pub arn: String,
    /// What Lambda records on a version signed with it, and what a CodeSigningConfig allows.
    pub version_arn: String,
    /// `Active`, `Canceled` or `Revoked`.
    pub status: String,
    pub platform: String,
}

/// One S3 object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub bucket: String,
    pub key: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    InProgress,
    Succeeded,
    Failed,
}

/// A signing job, as DescribeSigningJob describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub status: JobStatus,
    pub reason: Option<String>,
    /// The object version the job signed.
    pub source: Option<ObjectVersion>,
    /// Where the signed zip is: bucket and key (Signer reports no version).
    pub signed: Option<(String, String)>,
}

/// `arn:PARTITION:signer:REGION:ACCOUNT:/signing-jobs/ID` -> `ID`.
pub fn job_id(job_arn: &str) -> Option<&str> {
    job_arn
        .split_once(":/signing-jobs/")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

pub fn job_arn(region: &str, account: &str, id: &str) -> String {
    format!(
        "arn:{}:signer:{region}:{account}:/signing-jobs/{id}",
        aws::partition(region)
    )
}

/// GetSigningProfile; `None` when there is no such profile (for this owner).
pub async fn profile(client: &Client, name: &str, owner: Option<&str>) -> Result<Option<Profile>> {
    let out = client
        .get_signing_profile()
        .profile_name(name)
        .set_profile_owner(owner.map(str::to_string))
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) if aws::error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => {
            let resource = format!("signing profile {name}");
            return Err(aws::sdk_error("signer:GetSigningProfile", &resource, e));
        }
    };
    Ok(Some(Profile {
        name: name.to_string(),
        owner: owner.map(str::to_string),
        arn: out.arn().unwrap_or_default().to_string(),
        version_arn: out.profile_version_arn().unwrap_or_default().to_string(),
        status: out
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        platform: out.platform_id().unwrap_or_default().to_string(),
    }))
}

/// StartSigningJob on `source` into `bucket`/`prefix`; the job's id.
pub async fn start(
    client: &Client,
    source: &ObjectVersion,
    prefix: &str,
    profile: &Profile,
) -> Result<String> {
    let s3_source = S3Source::builder()
        .bucket_name(&source.bucket)
        .key(&source.key)
        .version(&source.version)
        .build()
        .map_err(|e| Error::new(Kind::Internal, format!("signer:StartSigningJob: {e}")))?;
    let destination = S3Destination::builder()
        .bucket_name(&source.bucket)
        .prefix(prefix)
        .build();
    let out = client
        .start_signing_job()
        .source(Source::builder().s3(s3_source).build())
        .destination(Destination::builder().s3(destination).build())
        .profile_name(&profile.name)
        .set_profile_owner(profile.owner.clone())
        .send()
        .await
        .map_err(|e| {
            let resource = format!("s3://{}/{}", source.bucket, source.key);
            aws::sdk_error("signer:StartSigningJob", &resource, e)
        })?;
    out.job_id().map(str::to_string).ok_or_else(|| {
        Error::new(
            Kind::Aws,
            "signer:StartSigningJob answered without a job id",
        )
    })
}

/// DescribeSigningJob; `None` when Signer has no record of the job.
pub async fn describe(client: &Client, id: &str) -> Result<Option<Job>> {
    let out = client.describe_signing_job().job_id(id).send().await;
    let out = match out {
        Ok(out) => out,
        Err(e) if aws::error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => {
            let resource = format!("signing job {id}");
            return Err(aws::sdk_error("signer:DescribeSigningJob", &resource, e));
        }
    };
    let status = match out.status().map(|s| s.as_str()) {
        Some("Succeeded") => JobStatus::Succeeded,
        Some("Failed") => JobStatus::Failed,
        _ => JobStatus::InProgress,
    };
    let source = out.source().and_then(|s| s.s3()).map(|s3| ObjectVersion {
        bucket: s3.bucket_name().to_string(),
        key: s3.key().to_string(),
        version: s3.version().to_string(),
    });
    let signed = out
        .signed_object()
        .and_then(|o| o.s3())
        .and_then(|s3| Some((s3.bucket_name()?.to_string(), s3.key()?.to_string())));
    Ok(Some(Job {
        id: id.to_string(),
        status,
        reason: out.status_reason().map(str::to_string),
        source,
        signed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_come_from_job_arns() {
        let arn = job_arn("eu-central-1", "111111111111", "2f0c5a1e");
        assert_eq!(
            arn,
            "arn:aws:signer:eu-central-1:111111111111:/signing-jobs/2f0c5a1e"
        );
        assert_eq!(job_id(&arn), Some("2f0c5a1e"));
        assert_eq!(
            job_id("arn:aws:signer:eu-central-1:111111111111:/signing-profiles/P"),
            None
        );
        assert_eq!(
            job_id("arn:aws:signer:eu-central-1:111111111111:/signing-jobs/"),
            None
        );
    }
}
