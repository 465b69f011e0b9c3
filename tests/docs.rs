//! The documented bad-input table only names tests that exist.

use std::path::Path;

#[test]
fn every_test_named_in_docs_errors_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read_to_string(root.join("docs/errors.md")).unwrap();
    let sources: String = [
        "config_errors",
        "package_cli",
        "size_limits",
        "aws_errors",
        "publish",
        "faults",
        "trust",
        "scale",
        "build_for_lambda",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(root.join(format!("tests/{f}.rs"))).unwrap())
    .collect();
    let mut named = 0;
    for row in table
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
    {
        let tests_cell = row.trim_end_matches('|').rsplit('|').next().unwrap();
        for name in tests_cell.split('`').skip(1).step_by(2) {
            assert!(
                sources.contains(&format!("fn {name}(")),
                "docs/errors.md names a missing test: {name}"
            );
            named += 1;
        }
    }
    let cases = table
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .count();
    assert!(cases >= 30, "at least 30 documented cases, found {cases}");
    assert!(named >= cases, "every case names a test");
}

/// The README's exit-code table is the one the binary uses (and prints in `--help`).
#[test]
fn the_readme_exit_code_table_matches_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Exit codes")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has an Exit codes section");
    let rows: Vec<(u8, String)> = section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            Some((cells.first()?.parse().ok()?, cells.get(1)?.to_string()))
        })
        .collect();
    let code: Vec<(u8, String)> = cargo_layer::error::EXIT_CODES
        .iter()
        .map(|(code, _, meaning)| (*code, meaning.to_string()))
        .collect();
    assert_eq!(rows, code);
}
