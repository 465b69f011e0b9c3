//! AWS access: aws-config's default credential chain (environment, profiles, SSO, web identity
//! as GitHub OIDC provides it, container and instance roles), an optional role to assume, the
//! STS account guard, and one place that turns SDK errors into messages with a fix.

use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::region::Region;

use crate::error::{Error, Kind, Result};

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

/// Clients bound to one region and one set of credentials.
#[derive(Clone, Debug)]
pub struct Aws {
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
    pub max_attempts: u32,
}

/// Who the credentials are, as STS says.
#[derive(Debug, Clone)]
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

/// Load configuration and credentials for `region`, assuming `role` when given.
pub async fn connect(args: &AwsArgs, region: Option<&str>, role: Option<&str>) -> Result<Aws> {
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
    let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
        Error::config(
            "no AWS region: set `region` in [package.metadata.layer], pass --region, or export AWS_REGION",
        )
    })?;
    if let Some(role) = args.assume_role.as_deref().or(role) {
        crate::limits::role_arn(role).map_err(|m| Error::config(format!("--assume-role: {m}")))?;
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
    check_credentials(&config).await?;
    Ok(Aws {
        lambda: aws_sdk_lambda::Client::new(&config),
        sts: aws_sdk_sts::Client::new(&config),
        region,
        max_attempts: args.max_attempts,
    })
}

/// Fail early, and clearly, when there are no usable credentials at all.
async fn check_credentials(config: &aws_types::SdkConfig) -> Result<()> {
    let provider = config
        .credentials_provider()
        .ok_or_else(no_credentials_hint)?;
    let credentials = provider.provide_credentials().await.map_err(|e| {
        let detail = match &e {
            CredentialsError::CredentialsNotLoaded(_) => {
                "no AWS credentials found (tried the environment, profiles, web identity, container and instance metadata)".to_string()
            }
            other => format!("could not load AWS credentials: {}", chain(other)),
        };
        Error::new(Kind::Credentials, format!("{detail}; {CREDENTIALS_FIX}"))
    })?;
    if credentials.expiry().is_some_and(|t| t <= SystemTime::now()) {
        return Err(Error::new(
            Kind::Credentials,
            format!("the AWS credentials have expired; refresh them ({CREDENTIALS_FIX})"),
        ));
    }
    Ok(())
}

const CREDENTIALS_FIX: &str = "set AWS_PROFILE (after `aws sso login`), export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or in GitHub Actions use aws-actions/configure-aws-credentials with role-to-assume";

fn no_credentials_hint() -> Error {
    Error::new(
        Kind::Credentials,
        format!("no AWS credentials found; {CREDENTIALS_FIX}"),
    )
}

impl Aws {
    /// sts:GetCallerIdentity.
    pub async fn caller(&self) -> Result<Caller> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("sts:GetCallerIdentity", "the caller identity", e))?;
        Ok(Caller {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }

    /// The account guard: refuse to write unless the credentials belong to `expected`.
    pub async fn guard_account(&self, expected: Option<&str>) -> Result<Caller> {
        let caller = self.caller().await?;
        if let Some(expected) = expected
            && caller.account != expected
        {
            return Err(Error::new(
                Kind::Credentials,
                format!(
                    "the AWS credentials belong to account {} ({}), but artifacts-account is {expected}; use credentials for {expected} or --assume-role arn:aws:iam::{expected}:role/<publisher>",
                    caller.account, caller.arn
                ),
            ));
        }
        Ok(caller)
    }
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
        SdkError::TimeoutError(_) => Error::new(
            Kind::Aws,
            format!(
                "{action} timed out on every attempt; check the network or raise --max-attempts ({context})"
            ),
        ),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Error::new(
            Kind::Aws,
            format!(
                "{action} could not reach AWS: {context}; check the network, the region and any --endpoint-url"
            ),
        ),
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
                "{action} was refused because the credentials are invalid or expired ({detail}); {CREDENTIALS_FIX}"
            ),
        );
    }
    let fix = match code {
        "AccessDeniedException" | "AccessDenied" | "AuthorizationError" => format!(
            "allow `{action}` on {resource} for this role; `cargo layer iam-policy` prints the whole policy"
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
    Error::new(Kind::Aws, format!("{action} failed ({detail}); {fix}"))
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
