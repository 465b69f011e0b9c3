//! AWS access: aws-config's default credential chain (environment, profiles, SSO, web identity
//! as GitHub OIDC provides it, container and instance roles), an optional role to assume, the
//! STS account guard, and one place that turns SDK errors into messages with a fix.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
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
    /// The session's credentials for the roles assumed through it, fetched once and reused
    /// until they near expiry.
    source: SharedCredentialsProvider,
}

/// Who a session acts as: the role it assumes (none: the credentials the run starts with) and
/// the account STS must confirm (none: whatever account they belong to). The artifacts account
/// and every stage account get their sessions the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub role: Option<String>,
    pub account: Option<String>,
    /// The AWS profile the credentials come from; none: `--aws-profile`, else the environment's.
    pub profile: Option<String>,
    /// The stage the account belongs to; none for the artifacts account.
    pub stage: Option<String>,
}

impl SessionKey {
    /// The artifacts account's session of `layer` in `region`: `--assume-role`, else the
    /// region's `role-arn`; its account and profile (see `LayerConfig::access`); `account` when
    /// the configuration names none (the account of a version's ARN).
    pub fn artifacts(
        args: &AwsArgs,
        layer: &LayerConfig,
        region: Option<&str>,
        account: Option<&str>,
    ) -> SessionKey {
        let access = layer.access(region);
        SessionKey {
            role: args.assume_role.clone().or(access.role_arn),
            account: access.artifacts_account.or(account.map(str::to_string)),
            profile: args.aws_profile.clone().or(access.aws_profile),
            stage: None,
        }
    }

    /// The session of `stage` in `account`, through its role.
    pub fn stage(role: &str, account: &str, stage: &str) -> SessionKey {
        SessionKey {
            role: Some(role.to_string()),
            account: Some(account.to_string()),
            profile: None,
            stage: Some(stage.to_string()),
        }
    }
}

/// Load configuration and the run's own credentials (of `profile`, when given) for `region`.
async fn load(
    args: &AwsArgs,
    region: Option<&str>,
    profile: Option<&str>,
) -> Result<aws_types::SdkConfig> {
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
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
        // A profile named for a partition or region is where its credentials come from, even
        // when the environment holds other ones (those of another partition, say).
        if args.aws_profile.as_deref() != Some(profile) {
            let named = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build();
            loader = loader.credentials_provider(named);
        }
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    check_credentials(&config)?;
    Ok(config)
}

/// `config` with credentials that assume `role` through its own.
async fn assume(config: aws_types::SdkConfig, role: &str) -> aws_types::SdkConfig {
    // The provider is not cached itself; the config's identity cache, which every client made
    // from this config shares, is. So nothing here may call it directly.
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("cargo-layer")
        .configure(&config)
        .build()
        .await;
    config
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// Credentials fetched once and handed out until they near expiry. The SDK's AssumeRoleProvider
/// asks its source afresh on every refresh, past the identity cache; without this, every stage
/// role assumed through the publishing role would assume the publishing role again first.
#[derive(Debug)]
struct Reused {
    inner: SharedCredentialsProvider,
    held: tokio::sync::Mutex<Option<Credentials>>,
}

impl Reused {
    fn new(inner: SharedCredentialsProvider) -> Reused {
        Reused {
            inner,
            held: tokio::sync::Mutex::new(None),
        }
    }
}

impl ProvideCredentials for Reused {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let mut held = self.held.lock().await;
            let margin = std::time::SystemTime::now() + Duration::from_secs(300);
            if let Some(credentials) = held
                .as_ref()
                .filter(|c| c.expiry().is_none_or(|t| t > margin))
            {
                return Ok(credentials.clone());
            }
            let credentials = self.inner.provide_credentials().await?;
            *held = Some(credentials.clone());
            Ok(credentials)
        })
    }
}

/// Ask STS who `config`'s credentials are, and refuse them unless they belong to the key's
/// account: the one check before any write.
async fn confirm(
    config: aws_types::SdkConfig,
    args: &AwsArgs,
    key: &SessionKey,
) -> Result<Session> {
    let mut session = Session::new(config, args, Caller::default())?;
    let aws = session.region(None)?;
    let named = key.profile.clone().map(|name| Profile {
        name,
        from: "the overrides in Cargo.toml",
    });
    let profile = match args.aws_profile {
        Some(_) => profile(args),
        None => named.or(profile(args)),
    };
    session.caller = who_am_i(&aws, key, profile).await?;
    guard(&session.caller, key)?;
    Ok(session)
}

/// One session per key, made once however many layers, regions and tasks ask for it at once; a
/// key that failed fails the same way for everyone who asks.
type Cell = std::sync::Arc<tokio::sync::OnceCell<Result<Session>>>;

/// The sessions of one run, one per (role, account): a role is assumed once, whatever the
/// number of layers, regions and stage accounts, and its account is confirmed once.
pub struct Sessions<'a> {
    args: &'a AwsArgs,
    /// The region for layers that configure none: see [`environment_region`].
    environment: Option<Sourced>,
    made: std::sync::Mutex<Vec<(SessionKey, Cell)>>,
}

impl<'a> Sessions<'a> {
    pub fn new(args: &'a AwsArgs, environment: Option<Sourced>) -> Self {
        Sessions {
            args,
            environment,
            made: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The AWS flags of the run.
    pub fn args(&self) -> &AwsArgs {
        self.args
    }

    /// The environment's region, already checked.
    pub fn environment_region(&self) -> Option<&str> {
        self.environment.as_ref().map(|s| s.region.as_str())
    }

    fn cell(&self, key: &SessionKey) -> Cell {
        let mut made = self.made.lock().expect("no task panics holding the lock");
        match made.iter().find(|(k, _)| k == key) {
            Some((_, cell)) => cell.clone(),
            None => {
                let cell = Cell::default();
                made.push((key.clone(), cell.clone()));
                cell
            }
        }
    }

    /// The artifacts account's session for `layer` in `region` (where STS is asked when the
    /// session is new): one per partition or region that configures its own.
    pub async fn session(&self, layer: &LayerConfig, region: Option<&str>) -> Result<Session> {
        let key = SessionKey::artifacts(self.args, layer, region, None);
        self.open(&key, region).await
    }

    /// The session for `key`, made with the run's own credentials.
    pub async fn open(&self, key: &SessionKey, region: Option<&str>) -> Result<Session> {
        let region = region.or(self.environment_region());
        let cell = self.cell(key);
        cell.get_or_init(|| async {
            let mut config = load(self.args, region, key.profile.as_deref()).await?;
            if let Some(role) = &key.role {
                config = assume(config, role).await;
            }
            confirm(config, self.args, key).await
        })
        .await
        .clone()
    }

    /// The session for `key` (a stage account's role), assumed with `from`'s credentials: the
    /// publishing role is what the stage role trusts.
    pub async fn open_from(&self, from: &Session, key: &SessionKey) -> Result<Session> {
        let cell = self.cell(key);
        cell.get_or_init(|| async {
            let mut config = from
                .config
                .clone()
                .into_builder()
                .credentials_provider(from.source.clone())
                .build();
            match (&key.role, &key.account) {
                (Some(role), Some(account)) if key.stage.is_some() => {
                    config = assume(config, role).await;
                    assumed(config, self.args, key, role, account).await
                }
                _ => confirm(config, self.args, key).await,
            }
        })
        .await
        .clone()
    }
}

/// A stage session asks STS nothing more than AssumeRole: its role ARN names the stage account
/// (checked against Cargo.toml before any call), and a role can only be assumed into the
/// account that owns it. The credentials are fetched here, so a refused role is reported now,
/// in one line, before the session is used.
async fn assumed(
    config: aws_types::SdkConfig,
    args: &AwsArgs,
    key: &SessionKey,
    role: &str,
    account: &str,
) -> Result<Session> {
    let caller = Caller {
        account: account.to_string(),
        arn: role.to_string(),
    };
    let session = Session::new(config, args, caller)?;
    if let Err(err) = session.source.provide_credentials().await {
        return Err(
            match find_source::<aws_sdk_sts::operation::assume_role::AssumeRoleError>(&err) {
                Some(_) => assume_role_error(key, &err),
                None => credentials_error(&err, None),
            },
        );
    }
    Ok(session)
}

impl Session {
    /// A session over `config`'s credentials, fetched once for its own clients and for the
    /// roles assumed through it.
    fn new(config: aws_types::SdkConfig, args: &AwsArgs, caller: Caller) -> Result<Session> {
        let source = config
            .credentials_provider()
            .map(|p| SharedCredentialsProvider::new(Reused::new(p)))
            .ok_or_else(no_credentials_hint)?;
        let config = config
            .into_builder()
            .credentials_provider(source.clone())
            .build();
        Ok(Session {
            config,
            max_attempts: args.max_attempts,
            caller,
            source,
        })
    }

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

impl Session {
    /// An SSM client for `region`.
    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        let config = aws_sdk_ssm::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }
}

/// The partition of a region's ARNs, by its prefix (botocore's partitions.json): `aws-cn` in
/// China, `aws-us-gov` in GovCloud, the isolated and sovereign partitions, else `aws`.
pub fn partition(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
    ];
    if region.starts_with("eusc-") {
        return "aws-eusc";
    }
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
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
async fn who_am_i(aws: &Aws, key: &SessionKey, profile: Option<Profile>) -> Result<Caller> {
    match aws.sts.get_caller_identity().send().await {
        Ok(out) => Ok(Caller {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        }),
        Err(err) => {
            let assume = find_source::<aws_sdk_sts::operation::assume_role::AssumeRoleError>(&err);
            Err(match (&key.role, find_source::<CredentialsError>(&err)) {
                (Some(_), Some(_)) if assume.is_some() => assume_role_error(key, &err),
                (_, Some(credentials)) => credentials_error(credentials, profile.as_ref()),
                _ => sdk_error("sts:GetCallerIdentity", "the caller identity", err),
            })
        }
    }
}

fn assume_role_error(key: &SessionKey, err: &(dyn std::error::Error + 'static)) -> Error {
    let role = key.role.as_deref().unwrap_or_default();
    let detail = match find_source::<aws_sdk_sts::operation::assume_role::AssumeRoleError>(err) {
        Some(e) => format!(
            "{}: {}",
            e.code().unwrap_or("Unknown"),
            e.message().unwrap_or_default()
        ),
        None => chain(err),
    };
    let error = Error::new(
        Kind::Credentials,
        format!("sts:AssumeRole failed for {role} ({detail})"),
    );
    match &key.stage {
        Some(stage) => error.fix(format!(
            "create the stage role in that account with the trust and permissions {} prints (stage {stage}), and allow the publishing role sts:AssumeRole on it",
            crate::hint::command("iam-policy", &["--stage-role"])
        )),
        None => error.fix("the role's trust policy must trust the calling principal, and the caller needs sts:AssumeRole on that role (or pass another --assume-role / role-arn)"),
    }
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

/// The account guard: refuse to write unless the credentials belong to the key's account.
fn guard(caller: &Caller, key: &SessionKey) -> Result<()> {
    let Some(expected) = key.account.as_deref().filter(|a| *a != caller.account) else {
        return Ok(());
    };
    let said = format!(
        "the AWS credentials belong to account {} ({})",
        caller.account, caller.arn
    );
    Err(match (&key.stage, &key.role) {
        (Some(stage), Some(role)) => Error::new(
            Kind::Credentials,
            format!("{said}, but stage {stage} names account {expected}"),
        )
        .fix(format!(
            "stage-role {role} must be a role in account {expected}"
        )),
        _ => Error::new(
            Kind::Credentials,
            format!(
                "{said}, but artifacts-account is {expected}; use credentials for {expected} or --assume-role arn:{}:iam::{expected}:role/<publisher>",
                arn_partition(&caller.arn)
            ),
        ),
    })
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
