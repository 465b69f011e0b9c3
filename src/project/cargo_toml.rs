//! Where a key sits in Cargo.toml, so an error can say `Cargo.toml:14:` and CI can annotate that
//! line. Errors name keys as dotted paths with array indices, such as
//! `package.metadata.layer.stages.prod.accounts[1]`; TOML can write that key as a table header,
//! an inline table, a dotted key or an array of tables, and toml_edit's spans cover them all.

use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item};

use crate::error::Error;

/// Fill in the line of the error's key, when it names one in a file that can be read.
pub fn locate(err: &mut Error) {
    let Some(location) = err.location.as_mut() else {
        return;
    };
    let Some(key) = location.key.as_deref() else {
        return;
    };
    location.line = read_line(&location.file, key);
}

fn read_line(file: &Path, key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    line_of(&text, key)
}

/// The 1-based line of `key` in the TOML `text`. A key that is not there points at the deepest
/// table written out that would hold it, as long as that reaches the `*.metadata.layer` table
/// (three segments); otherwise there is no line rather than a wrong one.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let doc = Document::parse(text).ok()?;
    let path = segments(key)?;
    let needed = path.len().min(3);
    let mut item = doc.as_item();
    let mut best = None;
    for (depth, (name, index)) in path.iter().enumerate() {
        let Some(child) = item.get(name.as_str()) else {
            break;
        };
        item = child;
        if let Some(i) = index {
            let Some(element) = item.get(*i) else {
                break;
            };
            item = element;
        }
        let last = depth + 1 == path.len();
        let span = if last { span_of(item) } else { own_span(item) };
        if let Some(span) = span.filter(|_| depth + 1 >= needed) {
            best = Some(span);
        }
    }
    best.map(|span| text[..span.start].matches('\n').count() + 1)
}

/// The span of what the file writes out for this item; a table made only of sub-tables
/// (`[a.b]` without `[a]`) or of dotted keys has none.
fn own_span(item: &Item) -> Option<Range<usize>> {
    let implicit = item
        .as_table_like()
        .is_some_and(|t| t.is_dotted() || item.as_table().is_some_and(|t| t.is_implicit()));
    if implicit { None } else { item.span() }
}

/// Where an item is found: its own span, or for a table that has none, its first sub-table.
fn span_of(item: &Item) -> Option<Range<usize>> {
    own_span(item).or_else(|| {
        item.as_table_like()?
            .iter()
            .filter_map(|(_, child)| span_of(child))
            .min_by_key(|span| span.start)
    })
}

/// `a.b[1].c` into `[("a", None), ("b", Some(1)), ("c", None)]`; `None` when it is empty.
fn segments(key: &str) -> Option<Vec<(String, Option<usize>)>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, Some(rest.trim_end_matches(']').parse().ok()?)),
            None => (part, None),
        };
        if name.is_empty() {
            return None;
        }
        out.push((name.to_string(), index));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: &str = r#"[package]
name = "demo"
version = "0.1.0"

[package.metadata.layer]
kind = "files"
region = "eu-central-1"

[package.metadata.layer.stages.dev]
accounts = ["111111111111"]

[package.metadata.layer.stages.prod]
# the production accounts
accounts = ["222222222222", "33"]
organization = "o-abcdefghij"
"#;

    #[test]
    fn key_under_a_table_header_points_at_the_key_line() {
        let key = "package.metadata.layer.stages.prod.accounts[1]";
        assert_eq!(line_of(TABLES, key), Some(14));
        assert_eq!(
            line_of(TABLES, "package.metadata.layer.stages.prod.organization"),
            Some(15)
        );
        assert_eq!(
            line_of(TABLES, "package.metadata.layer.stages.dev.accounts[0]"),
            Some(10)
        );
        assert_eq!(line_of(TABLES, "package.metadata.layer.region"), Some(7));
    }

    #[test]
    fn a_key_that_is_absent_points_at_the_deepest_table_that_holds_it() {
        // No `public` key in prod: its header is the place to add it.
        assert_eq!(
            line_of(TABLES, "package.metadata.layer.stages.prod.public"),
            Some(12)
        );
        assert_eq!(line_of(TABLES, "package.metadata.layer"), Some(5));
        // A parent table named only through its sub-tables: the first of them.
        assert_eq!(line_of(TABLES, "package.metadata.layer.stages"), Some(9));
    }

    #[test]
    fn inline_tables_and_dotted_keys_point_at_their_line() {
        let inline = r#"[package]
name = "demo"

[package.metadata.layer.stages]
dev = { accounts = ["111111111111"] }
prod = { organization = "o-abcdefghij", accounts = ["222222222222", "33"] }
"#;
        let key = "package.metadata.layer.stages.prod.accounts[1]";
        assert_eq!(line_of(inline, key), Some(6));
        assert_eq!(
            line_of(inline, "package.metadata.layer.stages.dev.accounts[0]"),
            Some(5)
        );

        let dotted = r#"[package]
name = "demo"

[package.metadata.layer]
stages.dev.accounts = ["111111111111"]
stages.prod.accounts = ["222222222222", "33"]
"#;
        assert_eq!(line_of(dotted, key), Some(6));
        let in_package = "[package]\nname = \"demo\"\nmetadata.layer.kind = \"files\"\n";
        assert_eq!(line_of(in_package, "package.metadata.layer.kind"), Some(3));
    }

    #[test]
    fn arrays_of_tables_are_told_apart_by_index() {
        let text = r#"[package]
name = "demo"

[[package.metadata.layer.include]]
from = "a/*"
to = "a/"

[[package.metadata.layer.include]]
from = "../escape"
to = "b/"
"#;
        assert_eq!(
            line_of(text, "package.metadata.layer.include[1].from"),
            Some(9)
        );
        assert_eq!(
            line_of(text, "package.metadata.layer.include[0].to"),
            Some(6)
        );
        let inline = "[package.metadata.layer]\ninclude = [{ from = \"../x\", to = \"x/\" }]\n";
        assert_eq!(
            line_of(inline, "package.metadata.layer.include[0].from"),
            Some(2)
        );
    }

    #[test]
    fn quoted_keys_and_multi_line_arrays() {
        let text = r#"[workspace]
members = ["a"]

[workspace.metadata."layer"]
include = [
  { from = "x/*", to = "x/" },
]
'role-arn' = "arn:aws:iam::1:role/x"
"#;
        assert_eq!(line_of(text, "workspace.metadata.layer.role-arn"), Some(8));
        // The element's own line, inside the multi-line array.
        assert_eq!(
            line_of(text, "workspace.metadata.layer.include[0].from"),
            Some(6)
        );
    }

    #[test]
    fn no_line_when_the_key_is_not_in_the_file() {
        // Only `[package]` matches, which is not the layer table: no line rather than a wrong one.
        let text = "[package]\nname = \"demo\"\n";
        assert_eq!(line_of(text, "package.metadata.layer.stages.prod"), None);
        assert_eq!(line_of("", "package.metadata.layer"), None);
        assert_eq!(line_of(TABLES, ""), None);
        // A key on another stage's table does not count.
        let other = "[package.metadata.layer.stages.dev]\naccounts = [\"1\"]\n";
        assert_eq!(
            line_of(other, "package.metadata.layer.stages.prod.accounts[0]"),
            None
        );
    }
}
