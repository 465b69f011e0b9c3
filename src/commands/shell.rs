//! `cargo layer completions` and `cargo layer man`: what a user installs next to the binary.
//! Both are generated from the clap definitions, so they never drift from `--help`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::output::files::write_atomic;

/// The name the scripts complete and the man pages are filed under. `cargo layer` (with a
/// space) is no command name a shell or `man` can look up; zsh's cargo completion calls
/// `_cargo-layer` for `cargo layer …`.
pub const BIN: &str = "cargo-layer";

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    if shell == Shell::Bash {
        return bash();
    }
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    script
}

/// clap_complete's bash script never completes past the subcommand when the program's name
/// holds a hyphen (clap-rs/clap#6421): its states are spelled two ways. Generated for a name
/// without one, the script is consistent; only the `complete` lines name the program.
fn bash() -> Vec<u8> {
    const STAND_IN: &str = "cargo_layer";
    let mut script = Vec::new();
    clap_complete::generate(Shell::Bash, &mut Cli::command(), STAND_IN, &mut script);
    String::from_utf8_lossy(&script)
        .lines()
        .map(|line| match line.trim_start().starts_with("complete -F ") {
            true => format!("{} {BIN}\n", line.trim_end_matches(STAND_IN).trim_end()),
            false => format!("{line}\n"),
        })
        .collect::<String>()
        .into_bytes()
}

/// `cargo-layer.1` and `cargo-layer-<command>.1` for every command, written into `dir`.
pub fn man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    let cli = Cli::command().display_name(BIN).bin_name(BIN);
    let mut pages = vec![(BIN.to_string(), cli.clone())];
    for command in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = format!("{BIN}-{}", command.get_name());
        let command = command
            .clone()
            .display_name(&name)
            .bin_name(format!("{BIN} {}", command.get_name()));
        pages.push((name, command));
    }
    let mut written = Vec::new();
    for (name, command) in pages {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
            .render(&mut page)
            .map_err(|e| Error::io("render the man page", Path::new(&name), e))?;
        let path = dir.join(format!("{name}.1"));
        write_atomic(&path, &page)?;
        written.push(path);
    }
    Ok(written)
}
