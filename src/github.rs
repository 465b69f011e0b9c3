//! GitHub Actions mode: when `GITHUB_ACTIONS=true`, results also go to `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY`, and errors become `::error` annotations.

pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Workflow-command data must not carry raw `%`, CR or LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `::error` annotation for a failed run, pointing at the file when the cause is in one.
pub fn annotate_error(err: &crate::error::Error) {
    if !enabled() {
        return;
    }
    let message = escape_data(&err.to_string());
    match &err.location {
        Some(location) => eprintln!(
            "::error file={},title=cargo-layer::{message}",
            escape_property(&location.file.to_string_lossy())
        ),
        None => eprintln!("::error title=cargo-layer::{message}"),
    }
}

/// Workflow-command properties additionally must not carry raw ':' or ','.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
