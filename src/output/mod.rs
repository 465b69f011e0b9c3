//! The one place results leave the tool. Commands return a [`Run`] of typed results and never
//! print; the [`Sink`], decided once at start-up, renders it as human text (results on stdout,
//! the summary on stderr), as JSON lines, and in GitHub Actions also as step outputs, a step
//! summary and annotations. Files are written atomically (a temporary file in the same
//! directory, then a rename), so a reader never sees half a zip, manifest or ARN file.

pub mod github;
pub mod human;
pub mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Kind, Result};
use crate::schema::{GrantStatus, Outcome};
use progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MessageFormat {
    #[default]
    Human,
    Json,
}

/// One result and the manifest file it was written to, if any.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub outcome: Outcome,
    pub file: Option<PathBuf>,
}

/// A region that failed while the others went on.
#[derive(Debug)]
pub struct Failure {
    pub layer: String,
    pub region: String,
    pub error: Error,
}

/// Everything one command produced.
#[derive(Debug, Default)]
pub struct Run {
    pub results: Vec<Delivered>,
    pub failures: Vec<Failure>,
}

impl Run {
    pub fn push(&mut self, outcome: Outcome) {
        self.results.push(Delivered {
            outcome,
            file: None,
        });
    }

    /// The error that decides the exit code once everything is rendered: a failed region (with
    /// its own code), else failed grants (partial).
    pub fn verdict(&self) -> Result<()> {
        if let Some(first) = self.failures.first() {
            let each: Vec<String> = self
                .failures
                .iter()
                .map(|f| format!("{} in {}: {}", f.layer, f.region, f.error.message))
                .collect();
            return Err(Error::new(
                first.error.kind,
                format!("{} region(s) failed ({})", self.failures.len(), each.join("; ")),
            )
            .fix("the other regions are done; running the same command again finishes only what is missing"));
        }
        let failed: Vec<String> = self
            .results
            .iter()
            .filter_map(|d| match &d.outcome {
                Outcome::Manifest(m) => Some(&m.grants),
                _ => None,
            })
            .flatten()
            .filter(|g| g.status == GrantStatus::Failed)
            .map(|g| {
                format!(
                    "{} ({})",
                    g.statement_id,
                    g.error.as_deref().unwrap_or("failed")
                )
            })
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        Err(Error::new(
            Kind::Partial,
            format!(
                "the version is in place but {} grant(s) failed: {}",
                failed.len(),
                failed.join("; ")
            ),
        )
        .fix("the manifest records them, and running the same command again adds only what is missing"))
    }
}

/// Where results go: the message format, and GitHub Actions when it runs there.
#[derive(Debug, Clone)]
pub struct Sink {
    pub format: MessageFormat,
    pub github: Option<github::Github>,
}

impl Sink {
    /// Look at the environment once.
    pub fn detect(format: MessageFormat) -> Sink {
        Sink {
            format,
            github: github::Github::from_env(),
        }
    }

    /// Render a run: each result on stdout (and its summary on stderr), then the GitHub outputs
    /// and summary for all of them, and a line for each failed region.
    pub fn render(&self, run: &Run, progress: &Progress) {
        for delivered in &run.results {
            if self.format == MessageFormat::Json {
                print_json(&delivered.outcome);
            }
            human::print(delivered, self.format == MessageFormat::Human, progress);
        }
        for failure in &run.failures {
            progress.warn(format!(
                "{} in {} failed: {}",
                failure.layer, failure.region, failure.error
            ));
        }
        if let Some(github) = &self.github
            && let Err(err) = github.write(run)
        {
            progress.warn(format!("could not write the GitHub Actions outputs: {err}"));
        }
    }

    /// The one line of a failed run, and its annotation in GitHub Actions.
    pub fn error(&self, err: &Error) {
        // One line, whatever an underlying library put in its message.
        let text = err.to_string();
        let line: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        eprintln!("error: {}", line.join(" "));
        if let Some(github) = &self.github {
            eprintln!("{}", github.annotation(err));
        }
    }
}

/// Write `bytes` to `path` so that it either holds the old content or all of the new.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".cargo-layer-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    set_readable(tmp.as_file());
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    Ok(())
}

/// tempfile creates 0600 files; results are meant to be read by other tools and users.
#[cfg(unix)]
fn set_readable(file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
}

#[cfg(not(unix))]
fn set_readable(_file: &std::fs::File) {}

/// One JSON object on one line: the `--message-format json` contract.
pub fn print_json<T: Serialize>(value: &T) {
    println!("{}", to_json_line(value));
}

pub fn to_json_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("results serialize to JSON")
}

pub fn to_pretty_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("results serialize to JSON");
    bytes.push(b'\n');
    bytes
}

/// Bytes in a unit people read.
pub fn human_size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
