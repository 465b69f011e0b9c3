//! cargo-layer: build a reproducible AWS Lambda layer zip, publish it once in the artifacts
//! account, share that exact version with each stage's accounts, and hand its ARN downstream.
//!
//! `main.rs` only calls [`run`]; tests drive the same entry point in-process.

pub mod archive;
pub mod aws;
pub mod binary;
pub mod cache;
pub mod cli;
pub mod compile;
pub mod config;
pub mod dedupe;
pub mod error;
pub mod github;
pub mod grant;
pub mod iam_policy;
pub mod interrupt;
pub mod layers;
pub mod layout;
pub mod limits;
pub mod manifest;
pub mod output;
pub mod package;
pub mod policy;
pub mod progress;
pub mod project;
pub mod promote;
pub mod publish;
pub mod report;
pub mod revoke;
pub mod status;

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
    interrupt::watch();
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
        Command::IamPolicy(args) => iam_policy::run(args, progress),
        Command::Publish(args) => block_on(publish::run(args, cli.message_format, progress)),
        Command::Promote(args) => block_on(promote::run(args, cli.message_format, progress)),
        Command::Revoke(args) => block_on(revoke::run(args, cli.message_format, progress)),
        Command::Status(args) => block_on(status::run(args, cli.message_format, progress)),
    }
}

/// Run an AWS command. Ctrl-C drops the future at its next await, so no call is left
/// half-handled and temporary files are removed; the exit code says the run was interrupted.
fn block_on(work: impl Future<Output = Result<()>>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| error::Error::internal(format!("could not start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::select! {
            result = work => result,
            _ = interrupted() => Err(interrupt::stopped()),
        }
    })
}

async fn interrupted() {
    while !interrupt::is_set() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn report_error(err: &error::Error) {
    // One line, whatever an underlying library put in its message.
    let text = err.to_string();
    let line: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    eprintln!("error: {}", line.join(" "));
    github::annotate_error(err);
}
