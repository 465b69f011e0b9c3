//! The one place results leave the tool. Commands return a [`Run`] of typed results and never
//! print; the [`Sink`], decided once at start-up, renders it as human text (results on stdout,
//! the summary on stderr), as JSON lines, and in GitHub Actions also as step outputs, a step
//! summary and annotations.

pub mod files;
pub mod github;
pub mod human;
pub mod json;
pub mod progress;
pub mod run;
pub mod stdout;
pub mod workflow;

pub use files::write_atomic;
pub use human::human_size;
pub use json::{print_json, to_json_line, to_pretty_json};
pub use run::{Delivered, Failure, Run};

use crate::error::Error;
use progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MessageFormat {
    #[default]
    Human,
    Json,
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
