//! What a command hands to the output layer: its results, and the regions that failed.

use std::path::PathBuf;

use crate::error::{Error, Kind, Result};
use crate::schema::{GrantStatus, Outcome};

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
                .map(|f| format!("{} in {}: {}", f.layer, f.region, f.error))
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
