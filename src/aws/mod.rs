//! Everything that talks to AWS: the clients and credentials, the Lambda API handle for one
//! layer, reading policies, granting, the marker that names an artifact, S3, AWS Signer, SSM,
//! and what an account's functions run.

pub mod client;
pub mod dedupe;
pub mod functions;
pub mod grant;
pub mod layers;
pub mod policy;
pub mod s3;
pub mod signer;
pub mod ssm;

pub use client::{
    Aws, AwsArgs, Caller, Session, SessionKey, Sessions, Sourced, environment_region, error_code,
    http_client, is_transient, partition, retry_config, sdk_error, service_error,
};
