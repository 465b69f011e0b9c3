//! What makes a version one artifact, and the marker that names it in the Description.
//!
//! ListLayerVersions returns no CodeSha256, so cargo-layer writes the artifact digest (the
//! CodeSha256 of the zip it built) into the Description as a marker, with the id of the run that
//! published it. The marker is only a hint; the publish-once protocol (`commands::once`)
//! confirms it before a version is reused or deleted.

use crate::aws::layers::Version;
use crate::project::limits::MARKER_PREFIX;

/// What makes two versions one artifact. Lambda stores the runtimes, architectures and license
/// on the version and never lets them change, so a version with other metadata is another
/// artifact even when its bytes are equal. The description is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The artifact digest: base64 SHA-256 of the zip cargo-layer built, the dedupe key. For an
    /// unsigned layer it is also the CodeSha256 AWS holds; a signed zip's CodeSha256 differs.
    pub artifact: String,
    pub runtimes: Vec<String>,
    pub architectures: Vec<String>,
    pub license: Option<String>,
}

impl Identity {
    pub fn new(
        artifact: &str,
        runtimes: &[String],
        architectures: &[String],
        license: Option<&str>,
    ) -> Identity {
        Identity {
            artifact: artifact.to_string(),
            runtimes: sorted(runtimes),
            architectures: sorted(architectures),
            license: license.filter(|l| !l.is_empty()).map(str::to_string),
        }
    }

    /// How `version`'s metadata differs from this identity, one phrase per key; empty when
    /// it is the same.
    pub fn differences(&self, version: &Version) -> Vec<String> {
        let mut out = Vec::new();
        let mut compare = |key: &str, ours: String, theirs: String| {
            if ours != theirs {
                out.push(format!("{key} {theirs} (Cargo.toml: {ours})"));
            }
        };
        compare(
            "compatible-runtimes",
            list(&self.runtimes),
            list(&sorted(&version.runtimes)),
        );
        compare(
            "compatible-architectures",
            list(&self.architectures),
            list(&sorted(&version.architectures)),
        );
        compare(
            "license",
            quoted(self.license.as_deref()),
            quoted(version.license.as_deref().filter(|l| !l.is_empty())),
        );
        out
    }

    pub fn same_metadata(&self, version: &Version) -> bool {
        self.differences(version).is_empty()
    }
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn quoted(text: Option<&str>) -> String {
    text.map_or_else(|| "(none)".to_string(), |t| format!("\"{t}\""))
}

/// A fresh id for this run, written into the marker of every version it publishes: the proof
/// that a version is this run's own, even when the publish response was lost.
pub fn run_id() -> String {
    format!("{:08x}", fastrand::u32(..))
}

pub fn marker(artifact: &str, run: &str) -> String {
    format!("{MARKER_PREFIX}{artifact} run:{run}]")
}

/// The Description to publish: the user's text, then the marker.
pub fn description(user: Option<&str>, artifact: &str, run: &str) -> String {
    match user.map(str::trim) {
        Some(text) if !text.is_empty() => format!("{text} {}", marker(artifact, run)),
        _ => marker(artifact, run),
    }
}

/// What a Description's marker says: the artifact digest, and the run that published it
/// (markers written before run ids existed carry none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker<'a> {
    pub artifact: &'a str,
    pub run: Option<&'a str>,
}

pub fn read_marker(description: &str) -> Option<Marker<'_>> {
    let start = description.find(MARKER_PREFIX)? + MARKER_PREFIX.len();
    let body = &description[start..];
    let body = &body[..body.find(']')?];
    Some(match body.split_once(" run:") {
        Some((artifact, run)) => Marker {
            artifact,
            run: Some(run),
        },
        None => Marker {
            artifact: body,
            run: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::limits::{MARKER_LEN, MAX_DESCRIPTION, MAX_DESCRIPTION_AWS};

    const SHA: &str = "88NlK8yq5ogouk7uW0BstGjk5o7cLMPlCUFKc+rooak=";

    #[test]
    fn description_fits_lambda() {
        let run = run_id();
        assert_eq!(marker(SHA, &run).len() + 1, MARKER_LEN);
        let longest = description(Some(&"x".repeat(MAX_DESCRIPTION)), SHA, &run);
        assert_eq!(longest.chars().count(), MAX_DESCRIPTION_AWS);
        assert_eq!(description(None, SHA, &run), marker(SHA, &run));
        assert_eq!(description(Some("  "), SHA, &run), marker(SHA, &run));
    }

    #[test]
    fn markers_read_back_with_and_without_a_run_id() {
        let text = description(Some("my layer"), SHA, "0a1b2c3d");
        assert_eq!(
            read_marker(&text),
            Some(Marker {
                artifact: SHA,
                run: Some("0a1b2c3d")
            })
        );
        let old = format!("{MARKER_PREFIX}{SHA}]");
        assert_eq!(
            read_marker(&old),
            Some(Marker {
                artifact: SHA,
                run: None
            })
        );
        assert_eq!(read_marker("published by another tool"), None);
        assert_eq!(read_marker(&format!("{MARKER_PREFIX}{SHA}")), None);
    }

    #[test]
    fn identity_ignores_order_and_names_what_differs() {
        let runtimes = ["provided.al2023".to_string(), "provided.al2".to_string()];
        let ours = Identity::new(SHA, &runtimes, &["x86_64".into()], Some("MIT"));
        let mut version = Version {
            runtimes: vec!["provided.al2".into(), "provided.al2023".into()],
            architectures: vec!["x86_64".into()],
            license: Some("MIT".into()),
            ..Version::default()
        };
        assert!(ours.differences(&version).is_empty());
        version.runtimes = vec!["provided.al2023".into()];
        version.license = None;
        assert_eq!(
            ours.differences(&version),
            [
                "compatible-runtimes [provided.al2023] (Cargo.toml: [provided.al2, provided.al2023])",
                "license (none) (Cargo.toml: \"MIT\")"
            ]
        );
    }
}
