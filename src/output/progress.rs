//! Progress and log lines on stderr: indicatif spinners on a terminal, one plain line per step
//! elsewhere (CI logs), nothing but warnings with `-q`. Results never go here; they go to stdout.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone)]
pub struct Progress {
    terminal: bool,
    quiet: bool,
    verbose: bool,
    github: bool,
    /// `[region] ` in front of every line, when several regions run at once.
    prefix: String,
}

/// One running step of the work. On a terminal it spins until finished.
pub struct Spinner {
    bar: Option<ProgressBar>,
    progress: Progress,
}

impl Progress {
    /// `github`: the run is in GitHub Actions (decided once, with the output sink).
    pub fn new(quiet: bool, verbose: bool, github: bool) -> Self {
        let ci = std::env::var_os("CI").is_some();
        Progress {
            terminal: std::io::stderr().is_terminal() && !ci && !quiet,
            quiet,
            verbose,
            github,
            prefix: String::new(),
        }
    }

    /// No output at all; for library callers and tests.
    pub fn silent() -> Self {
        Progress {
            terminal: false,
            quiet: true,
            verbose: false,
            github: false,
            prefix: String::new(),
        }
    }

    /// The same progress, each line naming `region`: concurrent regions interleave their lines.
    pub fn in_region(&self, region: &str) -> Self {
        Progress {
            prefix: format!("[{region}] "),
            ..self.clone()
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn step(&self, message: impl Into<String>) -> Spinner {
        let message = format!("{}{}", self.prefix, message.into());
        let bar = if self.terminal {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
                    .expect("static template"),
            );
            bar.set_message(message);
            bar.enable_steady_tick(Duration::from_millis(100));
            Some(bar)
        } else {
            self.line(&format!("{message} ..."));
            None
        };
        Spinner {
            bar,
            progress: self.clone(),
        }
    }

    pub fn info(&self, message: impl AsRef<str>) {
        self.line(&format!("{}{}", self.prefix, message.as_ref()));
    }

    /// A line as it is, prefix included.
    fn line(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    pub fn debug(&self, message: impl AsRef<str>) {
        if self.verbose && !self.quiet {
            eprintln!("debug: {}{}", self.prefix, message.as_ref());
        }
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        let message = format!("{}{}", self.prefix, message.as_ref());
        if self.github {
            eprintln!(
                "::warning::{}",
                crate::output::workflow::escape_data(&message)
            );
        } else {
            eprintln!("warning: {message}");
        }
    }

    /// A collapsible log section in GitHub Actions; a plain heading elsewhere.
    pub fn group(&self, title: &str) {
        if self.github {
            eprintln!("::group::{title}");
        } else if !self.terminal {
            self.info(format!("== {title}"));
        }
    }

    pub fn end_group(&self) {
        if self.github {
            eprintln!("::endgroup::");
        }
    }
}

impl Spinner {
    pub fn finish(self, message: impl Into<String>) {
        let message = message.into();
        match &self.bar {
            Some(bar) => bar.finish_with_message(format!("✓ {}{message}", self.progress.prefix)),
            None => self
                .progress
                .line(&format!("{}  {message}", self.progress.prefix)),
        }
    }

    pub fn fail(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }
}
