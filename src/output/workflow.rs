//! GitHub Actions workflow commands (`::error`, `::warning`, `::group::`) carry their text in a
//! line of the log, so it must be escaped.

/// Workflow-command data must not carry raw `%`, CR or LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command properties additionally must not carry raw ':' or ','.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
