//! cargo-layer: build a reproducible AWS Lambda layer zip, publish it once in the artifacts
//! account, share that exact version with each stage's accounts, and hand its ARN downstream.
//!
//! `main.rs` only calls [`run`]; tests drive the same entry point in-process.

pub mod archive;
pub mod binary;
pub mod cli;
pub mod compile;
pub mod config;
pub mod error;
pub mod github;
pub mod layout;
pub mod limits;
pub mod output;
pub mod package;
pub mod progress;
pub mod project;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::progress::Progress;

/// Parse arguments (as `cargo layer ...` or `cargo-layer ...`), run, and map errors to exit codes.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // cargo runs `cargo-layer layer ...` for `cargo layer ...`.
    if args.get(1).is_some_and(|a| a == "layer") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let progress = Progress::new(cli.quiet, cli.verbose > 0);
    match execute(&cli, &progress) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report_error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

fn execute(cli: &Cli, progress: &Progress) -> Result<()> {
    match &cli.command {
        Command::Package(args) => {
            let opts = package::Options {
                selection: args.select.selection(),
                build: args.build.options(cli.quiet),
                out_dir: args.out_dir.clone(),
            };
            package::run(&opts, cli.message_format, progress).map(|_| ())
        }
    }
}

fn report_error(err: &error::Error) {
    eprintln!("error: {err}");
    github::annotate_error(err);
}
