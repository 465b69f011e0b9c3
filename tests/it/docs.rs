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
