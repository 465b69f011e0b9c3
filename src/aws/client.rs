//! AWS access: aws-config's default credential chain (environment, profiles, SSO, web identity
//! as GitHub OIDC provides it, container and instance roles), an optional role to assume, the
//! STS account guard, and one place that turns SDK errors into messages with a fix.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::region::Region;

use crate::error::{Error, Kind, Result};
use crate::project::config::LayerConfig;

/// AWS flags shared by every command that talks to AWS.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS region; default: `region` in Cargo.toml, then AWS_REGION / the profile.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named AWS profile from ~/.aws/config (AWS_PROFILE works too).
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// Send AWS calls to this endpoint instead (AWS_ENDPOINT_URL works too), e.g. a local emulator.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Assume this role in the artifacts account first; default: `role-arn` in Cargo.toml.
    #[arg(long, value_name = "ARN")]
    pub assume_role: Option<String>,
    /// Attempts per AWS call, for throttling, 5xx and network faults (with backoff and jitter).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

impl AwsArgs {
    /// The flags, as given, that a suggested command must repeat to reach the same account.
    pub fn repeated(&self) -> Vec<String> {
        let mut words = Vec::new();
        for (flag, value) in [
            ("--aws-profile", &self.aws_profile),
            ("--endpoint-url", &self.endpoint_url),
            ("--assume-role", &self.assume_role),
        ] {
            if let Some(value) = value {
                words.extend([flag.to_string(), value.clone()]);
            }
        }
        words
    }
}

/// Clients bound to one region and one set of credentials.
#[derive(Clone, Debug)]
pub struct Aws {
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
    pub max_attempts: u32,
}

/// Who the credentials are, as STS says.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    // rustls on ring: the SDK's default aws-lc build costs minutes of C compilation.
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

pub fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20))
}

/// Configuration and credentials loaded once per run (and role). Every region's clients share
/// them, so a role is assumed once and its credentials stay cached until they expire.
#[derive(Clone, Debug)]
pub struct Session {
    config: aws_types::SdkConfig,
    max_attempts: u32,
    caller: Caller,
}

/// Load configuration and credentials (assuming `role` when given), ask STS who they are, and
/// refuse them unless they belong to `account`: the one check before any write.
pub async fn connect(
    args: &AwsArgs,
    region: Option<&str>,
    role: Option<&str>,
    account: Option<&str>,
) -> Result<Session> {
    let role = args.assume_role.as_deref().or(role);
    if let Some(role) = role {
        crate::project::limits::role_arn(role)
            .map_err(|m| Error::new(Kind::Config, format!("--assume-role: {m}")))?;
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry_config(args.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(region) = args.region.as_deref().or(region) {
        loader = loader.region(Region::new(region.to_string()));
    }
    if let Some(profile) = &args.aws_profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let mut config = loader.load().await;
    check_credentials(&config)?;
    if let Some(role) = role {
        // The provider is not cached itself; the config's identity cache, which every client made
        // from this config shares, is. So nothing here may call it directly.
        let provider = aws_config::sts::AssumeRoleProvider::builder(role)
            .session_name("cargo-layer")
            .configure(&config)
            .build()
            .await;
        config = config
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build();
    }
    let mut session = Session {
        config,
        max_attempts: args.max_attempts,
        caller: Caller::default(),
    };
    let aws = session.region(None)?;
    session.caller = who_am_i(&aws, role, profile(args)).await?;
    guard(&session.caller, account)?;
    Ok(session)
}

/// The sessions of one run, one per role: a role is assumed once, whatever the number of
/// layers and regions, and the account guard still runs for every layer.
pub struct Sessions<'a> {
    args: &'a AwsArgs,
    /// The region for layers that configure none: see [`environment_region`].
    environment: Option<Sourced>,
    made: Vec<(Option<String>, Session)>,
}

impl<'a> Sessions<'a> {
    pub fn new(args: &'a AwsArgs, environment: Option<Sourced>) -> Self {
        Sessions {
            args,
            environment,
            made: Vec::new(),
        }
    }

    /// The environment's region, already checked.
    pub fn environment_region(&self) -> Option<&str> {
        self.environment.as_ref().map(|s| s.region.as_str())
    }

    /// The session for `layer` (its role, checked against its artifacts account); `region` is
    /// where STS is asked when the session is new.
    pub async fn session(&mut self, layer: &LayerConfig, region: Option<&str>) -> Result<&Session> {
        let role = self.args.assume_role.clone().or(layer.role_arn.clone());
        let account = layer.artifacts_account.as_deref();
        let index = match self.made.iter().position(|(r, _)| *r == role) {
            Some(index) => {
                guard(self.made[index].1.caller(), account)?;
                index
            }
            None => {
                let region = region.or(self.environment_region());
                let session = connect(self.args, region, role.as_deref(), account).await?;
                self.made.push((role, session));
                self.made.len() - 1
            }
        };
        Ok(&self.made[index].1)
    }
}

impl Session {
    /// Who the credentials are, as STS said when the session was made.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Clients for `region`, else the session's own region (flag, Cargo.toml or environment).
    pub fn region(&self, region: Option<&str>) -> Result<Aws> {
        let region = match region {
            Some(region) => region.to_string(),
            None => self.config.region().map(|r| r.to_string()).ok_or_else(|| {
                Error::new(Kind::Config, "no AWS region: set `region` in [package.metadata.layer], pass --region, or export AWS_REGION")
            })?,
        };
        let lambda = aws_sdk_lambda::config::Builder::from(&self.config)
            .region(Region::new(region.clone()))
            .build();
        let sts = aws_sdk_sts::config::Builder::from(&self.config)
            .region(Region::new(region.clone()))
            .build();
        Ok(Aws {
            lambda: aws_sdk_lambda::Client::from_conf(lambda),
            sts: aws_sdk_sts::Client::from_conf(sts),
            region,
            max_attempts: self.max_attempts,
        })
    }
}

impl Session {
    /// An S3 client for `region` (the bucket must be in the layer's region). Behind a custom
    /// endpoint (an emulator, a VPC endpoint by URL) buckets are addressed by path.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .force_path_style(self.config.endpoint_url().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// An AWS Signer client for `region` (a signing profile and its jobs are regional).
    pub fn signer(&self, region: &str) -> aws_sdk_signer::Client {
        let config = aws_sdk_signer::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_signer::Client::from_conf(config)
    }
}

/// The partition of a region's ARNs: `aws-cn` in China, `aws-us-gov` in GovCloud, else `aws`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Fail early, and clearly, when there are no usable credentials at all.
/// Fail early, and clearly, when no credential source is configured at all. Resolving the
/// credentials waits for the first call (`who_am_i`), through the cache every client shares, so
/// a profile, SSO or web-identity source is asked once per run.
fn check_credentials(config: &aws_types::SdkConfig) -> Result<()> {
    config
        .credentials_provider()
        .map(|_| ())
        .ok_or_else(no_credentials_hint)
}

/// A credential source that failed, in one line, naming the AWS profile when one is in use.
fn credentials_error(err: &CredentialsError, profile: Option<&Profile>) -> Error {
    let detail = match err {
        CredentialsError::CredentialsNotLoaded(_) => {
            "no AWS credentials found (tried the environment, profiles, web identity, container and instance metadata)".to_string()
        }
        other => format!("could not load AWS credentials: {}", chain(other)),
    };
    match profile {
        Some(profile) => Error::new(
            Kind::Credentials,
            format!("{detail}; the AWS profile in use is \"{}\" ({})", profile.name, profile.from),
        )
        .fix(format!(
            "check that ~/.aws/config (or AWS_CONFIG_FILE) defines [profile {0}] with credentials, run `aws sso login --profile {0}` for an SSO profile, or name another profile",
            profile.name
        )),
        None => Error::new(Kind::Credentials, detail).fix(CREDENTIALS_FIX),
    }
}

/// The AWS profile a run uses, and where it was named.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub from: &'static str,
}

/// `--aws-profile`, else AWS_PROFILE; none means aws-config's default profile.
pub fn profile(args: &AwsArgs) -> Option<Profile> {
    if let Some(name) = &args.aws_profile {
        return Some(Profile {
            name: name.clone(),
            from: "--aws-profile",
        });
    }
    std::env::var("AWS_PROFILE")
        .ok()
        .filter(|name| !name.is_empty())
        .map(|name| Profile {
            name,
            from: "AWS_PROFILE",
        })
}

/// A region and where it came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub region: String,
    pub from: String,
}

/// The region of the environment, for a layer that configures none and a run without
/// `--region`: AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, instance metadata, the
/// same chain the SDK reads. It is resolved here, once, and checked before any AWS call, so a
/// malformed value is a configuration error naming where it came from.
pub async fn environment_region(profile: Option<&Profile>) -> Result<Option<Sourced>> {
    use aws_config::meta::region::ProvideRegion;
    let from_env = aws_config::environment::region::EnvironmentVariableRegionProvider::new();
    let mut from_profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(profile) = profile {
        from_profile = from_profile.profile_name(&profile.name);
    }
    let found = if let Some(region) = from_env.region().await {
        let var = if std::env::var("AWS_REGION").is_ok_and(|v| v == region.as_ref()) {
            "AWS_REGION"
        } else {
            "AWS_DEFAULT_REGION"
        };
        Some((region, var.to_string()))
    } else if let Some(region) = from_profile.build().region().await {
        let name = profile.map_or("default", |p| p.name.as_str());
        Some((region, format!("the region of AWS profile \"{name}\"")))
    } else {
        let imds = aws_config::imds::region::ImdsRegionProvider::builder().build();
        imds.region()
            .await
            .map(|region| (region, "EC2 instance metadata".to_string()))
    };
    let Some((region, from)) = found else {
        return Ok(None);
    };
    crate::project::limits::region(region.as_ref()).map_err(|m| {
        Error::new(Kind::Config, format!("{from}: {m}"))
            .fix("correct it there, set `region` in [package.metadata.layer], or pass --region")
    })?;
    Ok(Some(Sourced {
        region: region.to_string(),
        from,
    }))
}

const CREDENTIALS_FIX: &str = "set AWS_PROFILE (after `aws sso login`), export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or in GitHub Actions use aws-actions/configure-aws-credentials with role-to-assume";

fn no_credentials_hint() -> Error {
    Error::new(Kind::Credentials, "no AWS credentials found").fix(CREDENTIALS_FIX.to_string())
}

/// sts:GetCallerIdentity, the first call of every command: it is also where a role is assumed,
/// so a failed AssumeRole is reported here, naming the role.
async fn who_am_i(aws: &Aws, role: Option<&str>, profile: Option<Profile>) -> Result<Caller> {
    match aws.sts.get_caller_identity().send().await {
        Ok(out) => Ok(Caller {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        }),
        Err(err) => {
            let assume = find_source::<aws_sdk_sts::operation::assume_role::AssumeRoleError>(&err);
            Err(match (role, find_source::<CredentialsError>(&err)) {
                (Some(role), Some(_)) if assume.is_some() => assume_role_error(role, &err),
                (_, Some(credentials)) => credentials_error(credentials, profile.as_ref()),
                _ => sdk_error("sts:GetCallerIdentity", "the caller identity", err),
            })
        }
    }
}

fn assume_role_error(role: &str, err: &(dyn std::error::Error + 'static)) -> Error {
    let detail = match find_source::<aws_sdk_sts::operation::assume_role::AssumeRoleError>(err) {
        Some(e) => format!(
            "{}: {}",
            e.code().unwrap_or("Unknown"),
            e.message().unwrap_or_default()
        ),
        None => chain(err),
    };
    Error::new(Kind::Credentials, format!("sts:AssumeRole failed for {role} ({detail})")).fix("the role's trust policy must trust the calling principal, and the caller needs sts:AssumeRole on that role (or pass another --assume-role / role-arn)")
}

/// The first error of type `T` in `err` and its sources.
fn find_source<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// The account guard: refuse to write unless the credentials belong to `expected`.
fn guard(caller: &Caller, expected: Option<&str>) -> Result<()> {
    match expected {
        Some(expected) if caller.account != expected => Err(Error::new(
            Kind::Credentials,
            format!(
                "the AWS credentials belong to account {} ({}), but artifacts-account is {expected}; use credentials for {expected} or --assume-role arn:{}:iam::{expected}:role/<publisher>",
                caller.account,
                caller.arn,
                arn_partition(&caller.arn)
            ),
        )),
        _ => Ok(()),
    }
}

/// The partition an ARN names (`arn:PARTITION:...`), `aws` when it names none.
fn arn_partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// An error and its sources on one line, each said once.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Error codes that mean the credentials, not the request, are the problem.
const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
];

/// Turn an SDK error into a one-line message naming the AWS action and the fix.
pub fn sdk_error<E, R>(action: &str, resource: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let context = chain(&err);
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            let message = service.err().message().unwrap_or("").to_string();
            service_error(action, resource, code, &message)
        }
        SdkError::TimeoutError(_) => {
            Error::new(Kind::Aws, format!("{action} timed out on every attempt")).fix(format!(
                "check the network or raise --max-attempts ({context})"
            ))
        }
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Error::new(
            Kind::Aws,
            format!("{action} could not reach AWS: {context}"),
        )
        .fix("check the network, the region and any --endpoint-url"),
        _ => Error::new(Kind::Aws, format!("{action} failed: {context}")),
    }
}

/// The message for an error AWS returned, by its error code.
pub fn service_error(action: &str, resource: &str, code: &str, message: &str) -> Error {
    let detail = if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    };
    if CREDENTIAL_CODES.contains(&code) {
        return Error::new(
            Kind::Credentials,
            format!(
                "{action} was refused because the credentials are invalid or expired ({detail})"
            ),
        )
        .fix(CREDENTIALS_FIX.to_string());
    }
    let fix = match code {
        "AccessDeniedException" | "AccessDenied" | "AuthorizationError" => format!(
            "allow `{action}` on {resource} for this role; {} prints the whole policy",
            crate::hint::command("iam-policy", &[])
        ),
        "ResourceNotFoundException" => format!("{resource} does not exist in this account and region"),
        "TooManyRequestsException" | "ThrottlingException" | "Throttling" => {
            "AWS kept throttling past the retries; run again later or raise --max-attempts".to_string()
        }
        "PolicyLengthExceededException" => {
            "the version's policy is full; grant the whole AWS Organization with `organization = \"o-...\"` instead of many accounts".to_string()
        }
        "CodeStorageExceededException" => {
            "the account's 75 GB code storage is full; delete old layer versions".to_string()
        }
        _ => format!("see the AWS error for {resource}"),
    };
    Error::new(Kind::Aws, format!("{action} failed ({detail})")).fix(fix.to_string())
}

/// The AWS error code of a failed call, if AWS answered.
pub fn error_code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// Throttling, server faults and lost connections: worth another attempt.
pub fn is_transient<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("");
            matches!(
                code,
                "TooManyRequestsException"
                    | "ThrottlingException"
                    | "Throttling"
                    | "ServiceException"
                    | "InternalFailure"
                    | "ServiceUnavailable"
            ) || code.is_empty()
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    }
}
