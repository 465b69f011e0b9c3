//! The documented bad-input table only names tests that exist.

use crate::support::repo_root;

#[test]
fn every_test_named_in_docs_errors_md_exists() {
    let root = repo_root();
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
        "regions",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(root.join(format!("tests/it/{f}.rs"))).unwrap())
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

/// `tests/...rs` paths a text names.
fn test_paths(text: &str) -> Vec<String> {
    text.match_indices("tests/")
        .filter(|(at, _)| !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '/'))
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.'))
                .collect::<String>()
        })
        .map(|path| path.trim_end_matches('.').to_string())
        .filter(|path| path.ends_with(".rs"))
        .collect()
}

#[test]
fn every_test_file_the_docs_name_exists() {
    assert_eq!(
        test_paths("see `tests/it/faults.rs`, tests/it/docs.rs. and not atests/x.rs"),
        ["tests/it/faults.rs", "tests/it/docs.rs"]
    );
    let root = repo_root();
    let mut docs = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    let mut named = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for path in test_paths(&text) {
            assert!(
                root.join(&path).is_file(),
                "{} names {path}, which does not exist",
                doc.display()
            );
            named += 1;
        }
    }
    assert!(named >= 10, "the docs name the test files, found {named}");
}

/// The README's exit-code table is the one the binary uses (and prints in `--help`).
#[test]
fn the_readme_exit_code_table_matches_the_code() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
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

/// The schema check every test's results go through rejects a result that breaks it.
#[test]
#[should_panic(expected = "does not follow docs/results.schema.json")]
fn a_result_off_the_schema_is_caught() {
    crate::support::follows_the_schema(&serde_json::json!({
        "schema_version": 1,
        "type": "publish",
        "name": "hello",
        "version": "three",
    }));
}
