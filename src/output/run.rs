//! What a command hands to the output layer: its results, and the regions that failed.

use std::collections::BTreeSet;
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
            return Err(self.failed_regions(first));
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

    /// One error for the failed regions, counted against the regions that really ran.
    fn failed_regions(&self, first: &Failure) -> Error {
        let ran: BTreeSet<(&str, &str)> = self
            .results
            .iter()
            .map(|d| d.outcome.header())
            .map(|h| (h.name.as_str(), h.region.as_str()))
            .chain(
                self.failures
                    .iter()
                    .map(|f| (f.layer.as_str(), f.region.as_str())),
            )
            .collect();
        if let [only] = self.failures.as_slice()
            && ran.len() == 1
        {
            let mut error = Error::new(
                only.error.kind,
                format!("{} in {}: {}", only.layer, only.region, only.error.message),
            );
            error.location = only.error.location.clone();
            return match &only.error.fix {
                Some(fix) => error.fix(fix.clone()),
                None => error,
            };
        }
        let each: Vec<String> = self
            .failures
            .iter()
            .map(|f| format!("{} in {}: {}", f.layer, f.region, f.error))
            .collect();
        let failed = self.failures.len();
        let message = format!(
            "{failed} of {} region(s) failed ({})",
            ran.len(),
            each.join("; ")
        );
        let fix = if failed < ran.len() {
            "the other regions are done; running the same command again finishes only what is missing"
        } else {
            "running the same command again retries them"
        };
        Error::new(first.error.kind, message).fix(fix)
    }
}
