//! The Lambda layer API calls cargo-layer makes, each with its error mapped once.
//! The artifacts account reads its versions with GetLayerVersion by name and number; a stage
//! account reads one by its full ARN (GetLayerVersionByArn), as a deploy there names it.

use aws_sdk_lambda::config::Builder as LambdaConfig;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::publish_layer_version::PublishLayerVersionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, LayerVersionContentInput, Runtime};

use crate::aws::policy::Policy;
use crate::aws::{self, Aws};
use crate::error::Result;
use crate::schema::{GrantResult, Plan, PlanAction, PlanCommand};

/// What cargo-layer needs to know about one layer version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    pub number: i64,
    pub arn: String,
    pub layer_arn: String,
    pub description: String,
    pub created: String,
    /// Only GetLayerVersion and PublishLayerVersion return it; listing does not.
    pub code_sha256: Option<String>,
    pub code_size: Option<u64>,
    /// For a version published from a signed zip: the profile version that signed it and the
    /// job that did (GetLayerVersion and PublishLayerVersion only).
    pub signing_profile_version_arn: Option<String>,
    pub signing_job_arn: Option<String>,
    /// What Lambda stores on the version and never changes: part of its identity.
    pub runtimes: Vec<String>,
    pub architectures: Vec<String>,
    pub license: Option<String>,
}

impl Version {
    /// A dry run that acts on this version.
    pub fn plan(
        &self,
        command: PlanCommand,
        action: PlanAction,
        header: (&str, &str, &str),
        grants: Vec<GrantResult>,
    ) -> Plan {
        Plan {
            version: Some(self.number),
            layer_version_arn: Some(self.arn.clone()),
            code_sha256: self.code_sha256.clone(),
            grants,
            ..Plan::new(command, action, header)
        }
    }

    /// What a result says about this version.
    pub fn facts(&self) -> crate::schema::VersionFacts<'_> {
        crate::schema::VersionFacts {
            number: self.number,
            arn: &self.arn,
            layer_arn: &self.layer_arn,
            code_sha256: self.code_sha256.as_deref(),
            code_size: self.code_size,
            runtimes: &self.runtimes,
            architectures: &self.architectures,
            license: self.license.as_deref(),
            signature: self.signature(),
        }
    }

    /// How the version was signed, as Lambda reports it; none when unsigned.
    pub fn signature(&self) -> Option<crate::schema::Signature> {
        Some(crate::schema::Signature {
            profile_version_arn: self.signing_profile_version_arn.clone()?,
            job_arn: self.signing_job_arn.clone()?,
        })
    }
}

/// GetLayerVersion, PublishLayerVersion and the listing answer with the same getters.
macro_rules! version_from {
    ($out:expr, $content:expr) => {{
        let out = $out;
        Version {
            number: out.version(),
            arn: out.layer_version_arn().unwrap_or_default().to_string(),
            layer_arn: layer_arn_of(out.layer_version_arn().unwrap_or_default()),
            description: out.description().unwrap_or_default().to_string(),
            created: out.created_date().unwrap_or_default().to_string(),
            code_sha256: $content.and_then(|c| c.code_sha256()).map(str::to_string),
            code_size: $content.map(|c| c.code_size() as u64),
            signing_profile_version_arn: $content
                .and_then(|c| c.signing_profile_version_arn())
                .map(str::to_string),
            signing_job_arn: $content
                .and_then(|c| c.signing_job_arn())
                .map(str::to_string),
            runtimes: out
                .compatible_runtimes()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            architectures: out
                .compatible_architectures()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
            license: out
                .license_info()
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        }
    }};
}

impl crate::aws::Session {
    /// The Lambda API for layer `name` in `region` (else the session's own region).
    pub fn api(&self, region: Option<&str>, name: &str) -> Result<LayerApi> {
        Ok(LayerApi {
            aws: self.region(region)?,
            name: name.to_string(),
        })
    }
}

/// One page of ListLayerVersions (newest first) and the marker for the next.
pub struct Page {
    pub versions: Vec<Version>,
    pub next: Option<String>,
}

/// Where the zip comes from: the request itself (up to 50 MB), or an S3 object.
pub enum Content<'a> {
    Zip(&'a [u8]),
    S3(&'a crate::aws::s3::Location),
}

/// What PublishLayerVersion sends.
pub struct PublishInput<'a> {
    pub content: Content<'a>,
    pub description: &'a str,
    pub license: Option<&'a str>,
    pub runtimes: &'a [String],
    pub architectures: &'a [String],
}

pub type PublishError =
    SdkError<PublishLayerVersionError, aws_sdk_lambda::config::http::HttpResponse>;

/// The Lambda API for one layer (by name) in one region.
pub struct LayerApi {
    pub aws: Aws,
    pub name: String,
}

impl LayerApi {
    fn version_resource(&self, version: i64) -> String {
        format!(
            "layer {} version {version} in {}",
            self.name, self.aws.region
        )
    }

    pub async fn list_page(&self, marker: Option<String>) -> Result<Page> {
        let out = self
            .aws
            .lambda
            .list_layer_versions()
            .layer_name(&self.name)
            .max_items(50)
            .set_marker(marker)
            .send()
            .await;
        let resource = format!("layer {}", self.name);
        // A layer that was never published simply has no versions.
        let Some(out) = unless_missing(out, "lambda:ListLayerVersions", &resource)? else {
            return Ok(Page {
                versions: Vec::new(),
                next: None,
            });
        };
        let versions = out
            .layer_versions()
            .iter()
            .map(|item| {
                version_from!(
                    item,
                    None::<&aws_sdk_lambda::types::LayerVersionContentOutput>
                )
            })
            .collect();
        Ok(Page {
            versions,
            next: out
                .next_marker()
                .filter(|m| !m.is_empty())
                .map(str::to_string),
        })
    }

    /// The newest `limit` versions (all with `None`), newest first, across as many pages as that
    /// takes.
    pub async fn list(&self, limit: Option<usize>) -> Result<Vec<Version>> {
        let mut versions = Vec::new();
        let mut next = None;
        loop {
            let page = self.list_page(next).await?;
            versions.extend(page.versions);
            next = page.next;
            if next.is_none() || limit.is_some_and(|n| versions.len() >= n) {
                break;
            }
        }
        versions.sort_by_key(|v| std::cmp::Reverse(v.number));
        versions.truncate(limit.unwrap_or(usize::MAX));
        Ok(versions)
    }

    /// GetLayerVersion; `None` when the version does not exist (never did, or was deleted).
    pub async fn get(&self, version: i64) -> Result<Option<Version>> {
        let out = self
            .aws
            .lambda
            .get_layer_version()
            .layer_name(&self.name)
            .version_number(version)
            .send()
            .await;
        let resource = self.version_resource(version);
        let out = unless_missing(out, "lambda:GetLayerVersion", &resource)?;
        Ok(out.map(|out| version_from!(&out, out.content())))
    }

    /// GetLayerVersion for a version that must exist.
    pub async fn existing(&self, version: i64) -> Result<Version> {
        self.get(version).await?.ok_or_else(|| {
            crate::error::Error::new(crate::error::Kind::Aws, format!("lambda:GetLayerVersion: version {version} of layer {} does not exist in {} (never published, or deleted)", self.name, self.aws.region)).fix(format!("{} lists the versions", crate::hint::for_layer("status", &self.name, &self.aws.region, &[])))
        })
    }

    /// One PublishLayerVersion attempt, with the SDK's own retries off: a retry after a lost
    /// response would publish a second version, so the caller decides (see `publish`).
    pub async fn publish_attempt(&self, input: &PublishInput<'_>) -> Result<Version, PublishError> {
        let content = match input.content {
            Content::Zip(zip) => {
                LayerVersionContentInput::builder().zip_file(Blob::new(zip.to_vec()))
            }
            Content::S3(at) => LayerVersionContentInput::builder()
                .s3_bucket(&at.bucket)
                .s3_key(&at.key)
                .set_s3_object_version(at.version.clone()),
        };
        let out = self
            .aws
            .lambda
            .publish_layer_version()
            .layer_name(&self.name)
            .description(input.description)
            .set_license_info(input.license.map(str::to_string))
            .set_compatible_runtimes(non_empty(
                input
                    .runtimes
                    .iter()
                    .map(|r| Runtime::from(r.as_str()))
                    .collect(),
            ))
            .set_compatible_architectures(non_empty(
                input
                    .architectures
                    .iter()
                    .map(|a| Architecture::from(a.as_str()))
                    .collect(),
            ))
            .content(content.build())
            .customize()
            .config_override(
                LambdaConfig::default()
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    // Up to 50 MB go up in this one request; give a slow uplink time.
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(std::time::Duration::from_secs(10))
                            .read_timeout(std::time::Duration::from_secs(300))
                            .build(),
                    ),
            )
            .send()
            .await?;
        Ok(version_from!(&out, out.content()))
    }

    pub async fn delete(&self, version: i64) -> Result<()> {
        self.aws
            .lambda
            .delete_layer_version()
            .layer_name(&self.name)
            .version_number(version)
            .send()
            .await
            .map_err(|e| {
                aws::sdk_error(
                    "lambda:DeleteLayerVersion",
                    &self.version_resource(version),
                    e,
                )
            })?;
        Ok(())
    }

    /// GetLayerVersionPolicy; an empty policy when the version has none yet.
    pub async fn policy(&self, version: i64) -> Result<Policy> {
        let out = self
            .aws
            .lambda
            .get_layer_version_policy()
            .layer_name(&self.name)
            .version_number(version)
            .send()
            .await;
        let resource = self.version_resource(version);
        let Some(out) = unless_missing(out, "lambda:GetLayerVersionPolicy", &resource)? else {
            return Ok(Policy::default());
        };
        Policy::parse(
            out.policy().unwrap_or("{}"),
            out.revision_id().map(str::to_string),
        )
        .map_err(|m| crate::error::Error::new(crate::error::Kind::Internal, m))
    }

    /// AddLayerVersionPermission for `lambda:GetLayerVersion`; the raw error so the caller can
    /// tell a conflict (already there) from a failure.
    pub async fn add_permission(
        &self,
        version: i64,
        sid: &str,
        principal: &str,
        organization: Option<&str>,
    ) -> Result<
        (),
        SdkError<
            aws_sdk_lambda::operation::add_layer_version_permission::AddLayerVersionPermissionError,
            aws_sdk_lambda::config::http::HttpResponse,
        >,
    > {
        self.aws
            .lambda
            .add_layer_version_permission()
            .layer_name(&self.name)
            .version_number(version)
            .statement_id(sid)
            .action("lambda:GetLayerVersion")
            .principal(principal)
            .set_organization_id(organization.map(str::to_string))
            .send()
            .await
            .map(|_| ())
    }

    /// RemoveLayerVersionPermission by statement ID. No RevisionId: removing one statement of
    /// our own is safe whatever else changed, and a stale revision would only force a re-read.
    pub async fn remove_permission(&self, version: i64, sid: &str) -> Result<bool> {
        let out = self
            .aws
            .lambda
            .remove_layer_version_permission()
            .layer_name(&self.name)
            .version_number(version)
            .statement_id(sid)
            .send()
            .await;
        let resource = self.version_resource(version);
        let out = unless_missing(out, "lambda:RemoveLayerVersionPermission", &resource)?;
        Ok(out.is_some())
    }
}

/// A call's answer, or `None` when Lambda says the layer, version or statement is not there.
fn unless_missing<T, E>(
    out: std::result::Result<T, SdkError<E, aws_sdk_lambda::config::http::HttpResponse>>,
    action: &str,
    resource: &str,
) -> Result<Option<T>>
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match out {
        Ok(out) => Ok(Some(out)),
        Err(e) if aws::error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(aws::sdk_error(action, resource, e)),
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

/// What a stage account sees when it reads a version by its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The version, with the CodeSha256 Lambda reports to that account.
    Found { code_sha256: String },
    /// AccessDeniedException: the version's policy does not grant the reader (or it is gone:
    /// AWS does not tell another account which).
    Denied(String),
}

/// GetLayerVersionByArn with the reader's clients.
pub async fn read(aws: &Aws, arn: &str) -> Result<Read> {
    let out = aws.lambda.get_layer_version_by_arn().arn(arn).send().await;
    match out {
        Ok(out) => Ok(Read::Found {
            code_sha256: out
                .content()
                .and_then(|c| c.code_sha256())
                .unwrap_or_default()
                .to_string(),
        }),
        Err(e) if aws::error_code(&e) == Some("AccessDeniedException") => {
            let message = e
                .as_service_error()
                .and_then(|e| aws_sdk_lambda::error::ProvideErrorMetadata::message(e))
                .unwrap_or("access denied")
                .to_string();
            Ok(Read::Denied(message))
        }
        Err(e) => Err(aws::sdk_error("lambda:GetLayerVersionByArn", arn, e)),
    }
}

/// `arn:aws:lambda:r:a:layer:name:3` -> `arn:aws:lambda:r:a:layer:name`.
pub fn layer_arn_of(version_arn: &str) -> String {
    version_arn
        .rsplit_once(':')
        .map(|(layer, _)| layer.to_string())
        .unwrap_or_default()
}

/// A parsed LayerVersionArn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
    pub version: i64,
}

impl VersionArn {
    pub fn parse(arn: &str) -> Option<VersionArn> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "layer" {
            return None;
        }
        Some(VersionArn {
            partition: parts[1].to_string(),
            region: parts[3].to_string(),
            account: parts[4].to_string(),
            name: parts[6].to_string(),
            version: parts[7].parse().ok().filter(|v| *v > 0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_arns() {
        let arn =
            VersionArn::parse("arn:aws:lambda:eu-central-1:111111111111:layer:hello:12").unwrap();
        assert_eq!(arn.region, "eu-central-1");
        assert_eq!(arn.account, "111111111111");
        assert_eq!(arn.name, "hello");
        assert_eq!(arn.version, 12);
        assert!(
            VersionArn::parse("arn:aws:lambda:eu-central-1:111111111111:layer:hello").is_none()
        );
        assert!(
            VersionArn::parse("arn:aws:lambda:eu-central-1:111111111111:function:hello:1")
                .is_none()
        );
        assert!(
            VersionArn::parse("arn:aws:lambda:eu-central-1:111111111111:layer:hello:x").is_none()
        );
        assert_eq!(
            layer_arn_of("arn:aws:lambda:eu-central-1:111111111111:layer:hello:12"),
            "arn:aws:lambda:eu-central-1:111111111111:layer:hello"
        );
    }
}
