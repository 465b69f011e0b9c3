//! What a command hands to the output layer: its results, and the regions that failed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::error::{Error, Kind, Result};
use crate::schema::{GrantResult, GrantStatus, Outcome, ResultType, StageAccount};

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
            return Err(self.failed_regions(first, again));
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
            return self.unverified(again);
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

    /// Stage accounts that cannot use the version, or whose parameter does not name it.
    fn unverified(&self, again: &str) -> Result<()> {
        let each: Vec<String> = self
            .results
            .iter()
            .flat_map(|d| {
                let (header, accounts) = match &d.outcome {
                    Outcome::Manifest(m) => (&m.header, &m.stage_accounts),
                    Outcome::Verify(v) => (&v.header, &v.stage_accounts),
                    _ => return Vec::new(),
                };
                accounts
                    .iter()
                    .filter(|a| !a.is_done())
                    .map(|a| format!("{} in {} ({})", a.account, header.region, why(a)))
                    .collect()
            })
            .collect();
        if each.is_empty() {
            return Ok(());
        }
        let verify = self
            .results
            .iter()
            .any(|d| matches!(d.outcome, Outcome::Verify(_)));
        let (message, fix) = if verify {
            (
                format!(
                    "{} stage account(s) cannot use the version, or are not handed it: {}",
                    each.len(),
                    each.join("; ")
                ),
                format!("grant or promote it to those stages; {again} checks again"),
            )
        } else {
            (
                format!(
                    "the version is in place but {} stage account(s) cannot use it, or were not handed it: {}",
                    each.len(),
                    each.join("; ")
                ),
                format!("fix what each names; {again} finishes only what is missing"),
            )
        };
        Err(Error::new(Kind::Partial, message).fix(fix))
    }

    /// One error for the failed regions, counted against the regions that really ran.
    fn failed_regions(&self, first: &Failure, again: &str) -> Error {
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
                Some(fix) => error.fix(format!("{fix}; then {again} finishes the run")),
                None => error.fix(format!("{again} finishes the run")),
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
            format!("the other regions are done; {again} finishes only what is missing")
        } else {
            format!("{again} retries them")
        };
        Error::new(first.error.kind, message).fix(fix)
    }
}

/// Why one stage account is not done, in a few words.
fn why(account: &StageAccount) -> String {
    if !account.verified {
        let why = account
            .unverified
            .map_or("unverified", crate::output::human::unverified_word);
        return match &account.error {
            Some(error) => format!("{why}: {error}"),
            None => why.to_string(),
        };
    }
    match &account.parameter {
        Some(p) => format!(
            "parameter {} {}",
            p.name,
            crate::output::human::parameter_word(p)
        ),
        None => "done".to_string(),
    }
}
