//! stdout, which the reader may close at any time (`cargo layer status | head -1`). A closed
//! pipe ends the output quietly, as in every Unix tool, instead of a panic; the run itself goes
//! on, so the manifests, the GitHub outputs and the exit code still record what AWS now holds.

use std::fmt::Display;
use std::io::{ErrorKind, Write};
use std::sync::Mutex;

/// Why stdout stopped taking lines, once it has.
static STOPPED: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Write one line of results to stdout, unless stdout is gone.
pub fn line(text: impl Display) {
    let mut stopped = STOPPED.lock().unwrap_or_else(|e| e.into_inner());
    if stopped.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(err) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        *stopped = Some(err);
    }
}

/// Write text as it is (it brings its own line ends).
pub fn text(text: &str) {
    line(text.strip_suffix('\n').unwrap_or(text));
}

/// A write to stdout that failed for another reason than a closed pipe (a full disk, say):
/// the results did not arrive, so the run must not look successful.
pub fn failure() -> Option<String> {
    let stopped = STOPPED.lock().unwrap_or_else(|e| e.into_inner());
    stopped
        .as_ref()
        .filter(|err| err.kind() != ErrorKind::BrokenPipe)
        .map(|err| format!("could not write the results to stdout: {err}"))
}
