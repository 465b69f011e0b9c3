//! One error type for the whole tool. Each error carries the kind that decides its exit code, the
//! fix for the user, and where in a file the cause sits, so one line can say all of it.

use std::fmt;
use std::path::{Path, PathBuf};

/// The exit codes, public so scripts and tests name them instead of repeating numbers. The
/// README's table and `--help` are produced from, or checked against, [`EXIT_CODES`].
pub mod exit {
    pub const OK: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CONFIG: u8 = 3;
    pub const BUILD: u8 = 4;
    pub const PACKAGE: u8 = 5;
    pub const CREDENTIALS: u8 = 6;
    pub const AWS: u8 = 7;
    pub const PARTIAL: u8 = 8;
    pub const GUARD: u8 = 9;
    pub const INTERRUPTED: u8 = 130;
}

/// Every exit code with its short name and its meaning.
pub const EXIT_CODES: &[(u8, &str, &str)] = &[
    (exit::OK, "ok", "Success."),
    (
        exit::INTERNAL,
        "internal",
        "Internal error or local I/O failure.",
    ),
    (exit::USAGE, "usage", "Usage error (bad flags)."),
    (
        exit::CONFIG,
        "config",
        "Configuration error: Cargo.toml metadata, flags, manifest file, grants too large for one policy.",
    ),
    (
        exit::BUILD,
        "build",
        "The build failed, or its tools are missing (builder, zig, Rust target).",
    ),
    (
        exit::PACKAGE,
        "package",
        "Layer contents break a Lambda rule: size, ELF/architecture, glibc, paths, includes.",
    ),
    (
        exit::CREDENTIALS,
        "credentials",
        "Credentials missing, expired, or of the wrong account; a refused sts:AssumeRole.",
    ),
    (
        exit::AWS,
        "AWS",
        "An AWS call failed (access denied, not found, throttled past the retries), in one region or more.",
    ),
    (
        exit::PARTIAL,
        "partial",
        "Partial: the version is in place but some grants failed, or a stage account cannot use it or was not handed it (see the manifest); `verify` when a stage account cannot.",
    ),
    (
        exit::GUARD,
        "guard",
        "Guard: the version in AWS is not the one the manifest/ARN names (hash, signature, layer, region, account, partition), or it skipped the stage `after` names.",
    ),
    (exit::INTERRUPTED, "interrupted", "Interrupted (Ctrl-C)."),
];

/// The `--help` footer: every exit code and its short name.
pub fn exit_codes_help() -> String {
    let codes: Vec<String> = EXIT_CODES
        .iter()
        .map(|(code, name, _)| format!("{code} {name}"))
        .collect();
    format!("Exit codes: {}.", codes.join(", "))
}

/// What went wrong, which decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bug or an unexpected local I/O failure.
    Internal,
    /// `[package.metadata.layer]` or a CLI flag is invalid.
    Config,
    /// The build failed. (A Cargo.toml `cargo metadata` cannot read is a Config error.)
    Build,
    /// The layer contents break a Lambda rule (size, ELF, glibc, paths).
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
            Kind::Internal => exit::INTERNAL,
            Kind::Config => exit::CONFIG,
            Kind::Build => exit::BUILD,
            Kind::Package => exit::PACKAGE,
            Kind::Credentials => exit::CREDENTIALS,
            Kind::Aws => exit::AWS,
            Kind::Partial => exit::PARTIAL,
            Kind::Guard => exit::GUARD,
            Kind::Interrupted => exit::INTERRUPTED,
        }
    }
}

/// Where in a file the cause sits, so the line and CI annotations can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// Dotted TOML key path such as `package.metadata.layer.stages.prod.accounts[1]`.
    pub key: Option<String>,
    /// The 1-based line of the key, once the file was read for it.
    pub line: Option<usize>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub struct Error {
    pub kind: Kind,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
    pub location: Option<Location>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{}", location.file.display())?;
            if let Some(line) = location.line {
                write!(f, ":{line}")?;
            }
            f.write_str(": ")?;
            if let Some(key) = &location.key {
                write!(f, "{key}: ")?;
            }
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "; {fix}")?;
        }
        Ok(())
    }
}

impl Error {
    /// The one way to make an error; `fix` and `at` add the rest.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            fix: None,
            location: None,
        }
    }

    /// How to fix it, shown after the message.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The file, and the key in it, that holds the cause.
    pub fn at(mut self, file: &Path, key: impl Into<String>) -> Self {
        self.location = Some(Location {
            file: file.to_path_buf(),
            key: Some(key.into()),
            line: None,
        });
        self
    }

    /// The file that holds the cause, with no key in it.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.location = Some(Location {
            file: file.to_path_buf(),
            key: None,
            line: None,
        });
        self
    }

    /// A local file operation failed.
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        Error::new(
            Kind::Internal,
            format!("could not {action} {}: {err}", path.display()),
        )
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
