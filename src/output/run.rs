//! What a command hands to the output layer: its results, and the regions that failed.

use std::path::PathBuf;

use crate::error::{Error, Kind, Result};
use crate::schema::{GrantResult, GrantStatus, Outcome, ResultType};

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
    /// its own code), else failed grants (partial). `again` is this run's command, which
    /// finishes only what is missing.
    pub fn verdict(&self, again: &str) -> Result<()> {
        if let Some(first) = self.failures.first() {
            let each: Vec<String> = self
                .failures
                .iter()
                .map(|f| format!("{} in {}: {}", f.layer, f.region, f.error))
                .collect();
            return Err(Error::new(
                first.error.kind,
                format!(
                    "{} region(s) failed ({})",
                    self.failures.len(),
                    each.join("; ")
                ),
            )
            .fix(format!(
                "the other regions are done; {again} finishes only what is missing"
            )));
        }
        let failed: Vec<(&Delivered, &GrantResult)> = self
            .results
            .iter()
            .filter_map(|d| match &d.outcome {
                Outcome::Manifest(m) => Some(m.grants.iter().map(move |g| (d, g))),
                _ => None,
            })
            .flatten()
            .filter(|(_, g)| g.status == GrantStatus::Failed)
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        let each: Vec<String> = failed
            .iter()
            .map(|(_, g)| {
                format!(
                    "{} ({})",
                    g.statement_id,
                    g.error.as_deref().unwrap_or("failed")
                )
            })
            .collect();
        // Only publish writes a manifest; promote reports in its result alone.
        let recorded: Vec<String> = self
            .results
            .iter()
            .filter(|d| matches!(&d.outcome, Outcome::Manifest(m) if m.header.r#type == ResultType::Publish))
            .filter_map(|d| d.file.as_ref().map(|f| f.display().to_string()))
            .collect();
        let recorded = match recorded.as_slice() {
            [] => String::new(),
            files => format!("{} records them; ", files.join(", ")),
        };
        Err(Error::new(
            Kind::Partial,
            format!(
                "the version is in place but {} grant(s) failed: {}",
                each.len(),
                each.join("; ")
            ),
        )
        .fix(format!("{recorded}{again} adds only what is missing")))
    }
}
