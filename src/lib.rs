//! cargo-layer: build a reproducible AWS Lambda layer zip, publish it once in the artifacts
//! account, share that exact version with each stage's accounts, and hand its ARN downstream.
//!
//! `main.rs` only calls [`run`]; the tests spawn the binary.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod error;
pub mod hint;
pub mod interrupt;
pub mod output;
pub mod pack;
pub mod project;
pub mod schema;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::{
    iam_policy, package, promote, prune, publish, revoke, shell, status, verify,
};
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Run, Sink};

/// Parse arguments (as `cargo layer ...` or `cargo-layer ...`), run, render the results, and map
/// errors to exit codes.
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
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            let code = if err.use_stderr() {
                error::exit::USAGE
            } else {
                error::exit::OK
            };
            return ExitCode::from(code);
        }
    };
    // The environment is read once: where results go, and whether this is GitHub Actions.
    let sink = Sink::detect(cli.message_format);
    let progress = Progress::new(cli.quiet, cli.verbose > 0, sink.github.is_some());
    hint::remember(
        cli.command.select().and_then(|s| s.cargo_toml.as_deref()),
        cli.command.aws().map(|a| a.repeated()).unwrap_or_default(),
    );
    interrupt::watch();
    let outcome = execute(&cli, &progress).and_then(|run| {
        sink.render(&run, &progress);
        run.verdict(&hint::again(&args))?;
        match output::stdout::failure() {
            Some(message) => Err(Error::new(Kind::Internal, message)),
            None => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(mut err) => {
            project::cargo_toml::locate(&mut err);
            sink.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

fn execute(cli: &Cli, progress: &Progress) -> Result<Run> {
    match &cli.command {
        Command::Package(args) => package::run(args, progress),
        Command::IamPolicy(args) => {
            let policy = block_on(iam_policy::run(args, progress))?;
            output::stdout::text(&String::from_utf8_lossy(&output::to_pretty_json(&policy)));
            Ok(Run::default())
        }
        Command::Publish(args) => block_on(publish::run(args, progress)),
        Command::Promote(args) => block_on(promote::run(args, progress)),
        Command::Verify(args) => block_on(verify::run(args, progress)),
        Command::Revoke(args) => block_on(revoke::run(args, progress)),
        Command::Status(args) => block_on(status::run(args, progress)),
        Command::Prune(args) => block_on(prune::run(args, progress)),
        // Scripts and pages, not results: --message-format does not apply.
        Command::Completions(args) => {
            output::stdout::text(&String::from_utf8_lossy(&shell::completions(args.shell)));
            Ok(Run::default())
        }
        Command::Man(args) => {
            for page in shell::man_pages(&args.out_dir)? {
                output::stdout::line(format_args!("{}", page.display()));
            }
            Ok(Run::default())
        }
    }
}

/// Run an AWS command. Ctrl-C drops the future at its next await, so no call is left
/// half-handled and temporary files are removed; the exit code says the run was interrupted.
fn block_on<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                Kind::Internal,
                format!("could not start the async runtime: {e}"),
            )
        })?;
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
