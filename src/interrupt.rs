//! Ctrl-C without half-written files. The first Ctrl-C only raises a flag; work stops at the
//! next checkpoint (never inside a file write) and exits 130. A second Ctrl-C exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Kind, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Start watching for Ctrl-C on a thread of its own.
pub fn watch() {
    let spawned = std::thread::Builder::new().name("ctrl-c".into()).spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            while tokio::signal::ctrl_c().await.is_ok() {
                if INTERRUPTED.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
                eprintln!(
                    "interrupted; stopping at the next safe point (Ctrl-C again to quit now)"
                );
            }
        });
    });
    // Without the watcher Ctrl-C keeps its default meaning, which is still safe for the files:
    // they only ever appear by rename.
    drop(spawned);
}

pub fn is_set() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A checkpoint: stop here if Ctrl-C was pressed.
pub fn check() -> Result<()> {
    if is_set() { Err(stopped()) } else { Ok(()) }
}

pub fn stopped() -> Error {
    Error::new(Kind::Interrupted, "interrupted")
        .fix("files already written are complete, and a re-run picks up where this one stopped")
}
