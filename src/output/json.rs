//! JSON as cargo-layer writes it: one object per line on stdout, pretty in files.

use serde::Serialize;

/// One JSON object on one line: the `--message-format json` contract.
pub fn print_json<T: Serialize>(value: &T) {
    super::stdout::line(to_json_line(value));
}

pub fn to_json_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("results serialize to JSON")
}

pub fn to_pretty_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("results serialize to JSON");
    bytes.push(b'\n');
    bytes
}
