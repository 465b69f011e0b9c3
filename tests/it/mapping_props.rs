//! Property tests over the path mapping (include globs -> layer paths) feeding the zip writer:
//! any tree of names maps under the chosen destination, never escapes the layer root, skips
//! hidden files, and packs into a valid zip deterministically.

use std::collections::BTreeSet;
use std::io::Cursor;

use cargo_layer::pack::archive;
use cargo_layer::pack::layout::{self, Artifacts};
use cargo_layer::project::config::LayerKind;
use proptest::prelude::*;

use crate::support::layer_config;

fn segment() -> impl Strategy<Value = String> {
    // Letters, digits, spaces, dots, dashes, underscores and a little Unicode; '.' and '..' excluded.
    "[a-zA-Z0-9 ._\\-é漢]{1,10}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

/// Relative file paths where no file is also a directory of another.
fn tree() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(
        prop::collection::vec(segment(), 1..4).prop_map(|s| s.join("/")),
        1..12,
    )
    .prop_map(|paths| {
        paths
            .iter()
            .filter(|p| !paths.iter().any(|q| q.starts_with(&format!("{p}/"))))
            .cloned()
            .collect()
    })
}

fn is_hidden(path: &str) -> bool {
    path.split('/').any(|segment| segment.starts_with('.'))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn any_tree_maps_inside_the_destination_and_packs_deterministically(
        paths in tree(),
        to in prop::sample::select(vec!["", "share/", "a/b/"]),
        from in prop::sample::select(vec!["tree", "tree/*", "tree/**/*"]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (i, path) in paths.iter().enumerate() {
            let file = root.join("tree").join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, format!("{i}:{path}")).unwrap();
        }
        let expected: BTreeSet<String> = paths
            .iter()
            .filter(|p| !is_hidden(p))
            // `tree/*` matches only the top level, plus whole directories below it.
            .map(|p| if from == "tree" { format!("{to}tree/{p}") } else { format!("{to}{p}") })
            .collect();
        let planned = layout::map(
            &layer_config(root, LayerKind::Files, &[], &[(from, to)]),
            &Artifacts::default(),
        );
        if expected.is_empty() {
            prop_assert!(planned.is_err(), "a glob that matches nothing is an error");
            return Ok(());
        }
        let entries = planned.unwrap();
        let got: Vec<String> = entries.iter().map(|e| e.path.clone()).collect();
        let mut sorted = got.clone();
        sorted.sort();
        prop_assert_eq!(&got, &sorted, "entries are sorted");
        prop_assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), expected);
        for path in &got {
            prop_assert!(!path.starts_with('/'), "{path}");
            prop_assert!(path.split('/').all(|s| !s.is_empty() && s != ".." && s != "."), "{path}");
            prop_assert!(path.starts_with(to), "{path} is under {to:?}");
        }

        let first = archive::build(&entries, zip::DateTime::default()).unwrap();
        let second = archive::build(&entries, zip::DateTime::default()).unwrap();
        prop_assert!(first.bytes == second.bytes);
        let mut zip = zip::ZipArchive::new(Cursor::new(first.bytes)).unwrap();
        let mut files = BTreeSet::new();
        for i in 0..zip.len() {
            let entry = zip.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            prop_assert!(entry.enclosed_name().is_some(), "{name} stays inside the root");
            if !entry.is_dir() {
                files.insert(name);
            }
        }
        prop_assert_eq!(files, got.into_iter().collect::<BTreeSet<_>>());
    }
}
