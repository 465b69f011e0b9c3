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
        "region_names",
        "regions",
        "hints",
        "real_projects",
        "signing",
        "stages",
        "where_used",
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

/// The schema is strict: a field it does not declare fails the check every result goes through.
#[test]
#[should_panic(expected = "does not follow docs/results.schema.json")]
fn an_undocumented_field_is_caught() {
    let mut result = serde_json::to_value(package_result()).unwrap();
    crate::support::follows_the_schema(&result);
    result["extra"] = serde_json::json!(1);
    crate::support::follows_the_schema(&result);
}

/// A result's `type` selects its shape: a package result that says it is a publish is refused.
#[test]
#[should_panic(expected = "does not follow docs/results.schema.json")]
fn a_type_that_does_not_match_the_shape_is_caught() {
    let mut result = serde_json::to_value(package_result()).unwrap();
    result["type"] = serde_json::json!("publish");
    crate::support::follows_the_schema(&result);
}

#[test]
fn the_result_those_two_change_follows_the_schema() {
    crate::support::follows_the_schema(&serde_json::to_value(package_result()).unwrap());
}

fn package_result() -> cargo_layer::schema::Package {
    use cargo_layer::schema::{Header, Package, ResultType};
    Package {
        header: Header::new(ResultType::Package, "layer", "", ""),
        package: "layer".into(),
        kind: "files".into(),
        zip: "target/layer/layer.zip".into(),
        code_sha256: "x".into(),
        sha256: "x".into(),
        zip_size: 1,
        unzipped_size: 1,
        compatible_architectures: Vec::new(),
        compatible_runtimes: Vec::new(),
        build: None,
        entries: Vec::new(),
    }
}

// ---- the README's field lists are the schema's ----

fn schema() -> serde_json::Value {
    let text = std::fs::read_to_string(repo_root().join("docs/results.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The fields of `$defs/<def>`.
fn fields(schema: &serde_json::Value, def: &str) -> Vec<String> {
    schema["$defs"][def]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("the schema has no {def}"))
        .keys()
        .cloned()
        .collect()
}

/// Every `enum` and `const` value anywhere in the schema.
fn values(schema: &serde_json::Value, out: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("enum", serde_json::Value::Array(items)) => {
                        out.extend(items.iter().filter_map(|v| v.as_str().map(str::to_string)))
                    }
                    ("const", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => values(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| values(v, out)),
        _ => {}
    }
}

/// The README paragraph that starts with `start`.
fn paragraph(start: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let at = readme
        .find(start)
        .unwrap_or_else(|| panic!("README has a paragraph starting {start:?}"));
    readme[at..].split("\n\n").next().unwrap().to_string()
}

/// The names a paragraph gives in backquotes: plain words, and the keys and quoted values of
/// a shape such as `{schema_version, type: "plan"}`.
fn named(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for quoted in text.split('`').skip(1).step_by(2) {
        let words = quoted.replace('"', " ");
        for word in words.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
            if !word.is_empty() && word.chars().next().unwrap().is_ascii_lowercase() {
                out.push(word.to_string());
            }
        }
    }
    out
}

/// Every field of `defs` is named in the paragraph, and every name there is a field of `defs`
/// or a value the schema allows.
fn lists_exactly(start: &str, defs: &[&str], others: &[&str]) {
    let schema = schema();
    let text = paragraph(start);
    let names = named(&text);
    let declared: Vec<String> = defs.iter().flat_map(|d| fields(&schema, d)).collect();
    for field in &declared {
        assert!(
            names.contains(field),
            "README's {start:?} misses `{field}`:\n{text}"
        );
    }
    let mut allowed = Vec::new();
    values(&schema, &mut allowed);
    for name in &names {
        assert!(
            declared.contains(name) || allowed.contains(name) || others.contains(&name.as_str()),
            "README's {start:?} names `{name}`, which the schema does not have:\n{text}"
        );
    }
}

#[test]
fn the_readme_lists_the_manifest_fields_of_the_schema() {
    lists_exactly(
        "**Manifest / JSON result**",
        &[
            "Manifest",
            "Search",
            "GrantResult",
            "Step",
            "BuildInputs",
            "StageAccount",
            "Parameter",
            "Signature",
        ],
        // The file names and the Cargo.toml key around them.
        &["target", "layer", "json", "cargo-layer", "regions"],
    );
}

#[test]
fn the_readme_lists_the_plan_fields_of_the_schema() {
    lists_exactly(
        "**Dry runs**",
        &["Plan"],
        &["null", "dry-run", "true", "false"],
    );
}

#[test]
fn the_readme_lists_the_header_of_the_schema() {
    let schema = schema();
    let text = paragraph("Every JSON result (one object per line");
    let names = named(&text);
    for field in ["schema_version", "type", "name", "region", "account"] {
        assert!(names.contains(&field.to_string()), "{field}: {text}");
    }
    for def in [
        "Package",
        "Manifest",
        "Plan",
        "Revoked",
        "LayerStatus",
        "Pruned",
        "Verified",
    ] {
        let required = schema["$defs"][def]["required"].as_array().unwrap();
        for field in ["schema_version", "type", "name"] {
            assert!(
                required.contains(&serde_json::json!(field)),
                "{def} requires {field}"
            );
        }
        for field in ["region", "account"] {
            let (has, needs) = (
                fields(&schema, def).contains(&field.to_string()),
                required.contains(&serde_json::json!(field)),
            );
            assert_eq!(
                (has, needs),
                (def != "Package", def != "Package"),
                "{def}: {field}"
            );
        }
    }
    assert!(text.contains("except `package`"), "{text}");
}
