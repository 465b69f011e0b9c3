//! One error type for the whole tool. Each error carries the kind that decides its exit code,
//! so `main` can exit with a documented status without knowing where the error came from.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, which decides the process exit code (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bug or an unexpected local I/O failure.
    Internal,
    /// `[package.metadata.layer]` or a CLI flag is invalid.
    Config,
    /// `cargo build` failed. (A Cargo.toml `cargo metadata` cannot read is a Config error.)
    Build,
    /// The layer contents break a Lambda rule (size, ELF, paths).
    Package,
    /// Credentials are missing or expired, or they belong to the wrong account.
    Credentials,
    /// An AWS call failed (access denied, not found, throttled past the retries, ...).
    Aws,
    /// The version is published but some grants failed; the manifest says which.
    Partial,
    /// The version in AWS is not the one the manifest or ARN describes.
    Guard,
    /// The run was interrupted (Ctrl-C); nothing half-written was left behind.
    Interrupted,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Internal => 1,
            Kind::Config => 3,
            Kind::Build => 4,
            Kind::Package => 5,
            Kind::Credentials => 6,
            Kind::Aws => 7,
            Kind::Partial => 8,
            Kind::Guard => 9,
            Kind::Interrupted => 130,
        }
    }
}

/// Where in a file the cause sits, so CI can annotate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// Dotted TOML key path such as `package.metadata.layer.stages.prod.accounts[1]`.
    pub key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub location: Option<Location>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(Location {
                file,
                key: Some(key),
            }) => write!(f, "{}: {key}: {}", file.display(), self.message),
            Some(Location { file, key: None }) => write!(f, "{}: {}", file.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            location: None,
        }
    }

    /// An error about one key of a manifest file.
    pub fn at_key(
        kind: Kind,
        file: &Path,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            message: message.into(),
            location: Some(Location {
                file: file.to_path_buf(),
                key: Some(key.into()),
            }),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(Kind::Config, message)
    }

    pub fn package(message: impl Into<String>) -> Self {
        Error::new(Kind::Package, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(Kind::Internal, message)
    }

    /// A local file operation failed.
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        Error::internal(format!("could not {action} {}: {err}", path.display()))
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
