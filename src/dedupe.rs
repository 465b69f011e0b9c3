//! Finding a version that already holds these exact bytes, so one content hash is one version.
//!
//! ListLayerVersions returns no CodeSha256, so cargo-layer writes it into the Description as a
//! marker. An unchanged re-run then costs one list call and one GetLayerVersion to confirm.
//! Versions other tools published carry no marker; the newest few of them are compared by
//! GetLayerVersion, and the result says how many were left unchecked.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layers::{Layer, Version};
use crate::limits::MARKER_PREFIX;

/// Unmarked versions compared by hash, newest first, before giving up.
pub const FALLBACK_SCAN: usize = 10;

pub fn marker(code_sha256: &str) -> String {
    format!("{MARKER_PREFIX}{code_sha256}]")
}

/// The Description to publish: the user's text, then the marker.
pub fn description(user: Option<&str>, code_sha256: &str) -> String {
    match user.map(str::trim) {
        Some(text) if !text.is_empty() => format!("{text} {}", marker(code_sha256)),
        _ => marker(code_sha256),
    }
}

/// How the existing version was (or was not) found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Search {
    /// `marker`, `hash-scan`, or `none`.
    pub method: String,
    pub versions_listed: usize,
    /// Versions without a cargo-layer marker compared by GetLayerVersion.
    pub unmarked_checked: usize,
    /// Versions without a marker that were not compared (older than the fallback scan).
    pub unmarked_unchecked: usize,
}

pub struct Found {
    pub version: Option<Version>,
    pub search: Search,
    /// Versions carrying this content's marker on the pages read (duplicates when > 1).
    pub twins: usize,
}

/// Look through every listed version for `code_sha256`.
pub async fn find(layer: &Layer<'_>, code_sha256: &str) -> Result<Found> {
    let wanted = marker(code_sha256);
    let mut search = Search::default();
    let mut unmarked = Vec::new();
    let mut next = None;
    loop {
        let page = layer.list_page(next).await?;
        search.versions_listed += page.versions.len();
        // Oldest first: concurrent publishers converge on the oldest twin and delete the rest,
        // so a newer twin may be about to disappear.
        let mut marked: Vec<i64> = Vec::new();
        for version in page.versions {
            if version.description.contains(&wanted) {
                marked.push(version.number);
            } else if !version.description.contains(MARKER_PREFIX) {
                unmarked.push(version.number);
            }
        }
        marked.sort_unstable();
        let twins = marked.len();
        for number in marked {
            if let Some(confirmed) = confirm(layer, number, code_sha256).await? {
                search.method = "marker".into();
                return Ok(Found {
                    version: Some(confirmed),
                    search,
                    twins,
                });
            }
        }
        next = page.next;
        if next.is_none() {
            break;
        }
    }
    search.unmarked_unchecked = unmarked.len().saturating_sub(FALLBACK_SCAN);
    for number in unmarked.into_iter().take(FALLBACK_SCAN) {
        search.unmarked_checked += 1;
        if let Some(confirmed) = confirm(layer, number, code_sha256).await? {
            search.method = "hash-scan".into();
            return Ok(Found {
                version: Some(confirmed),
                search,
                twins: 0,
            });
        }
    }
    search.method = "none".into();
    Ok(Found {
        version: None,
        search,
        twins: 0,
    })
}

/// GetLayerVersion, kept only when its CodeSha256 really is `code_sha256`.
pub async fn confirm(layer: &Layer<'_>, number: i64, code_sha256: &str) -> Result<Option<Version>> {
    Ok(layer
        .get(number)
        .await?
        .filter(|v| v.code_sha256.as_deref() == Some(code_sha256)))
}

/// Several versions may hold the same bytes after concurrent publishes, a lost response or a
/// crashed run. The oldest one wins everywhere (`find` picks it too), and newer twins are
/// deleted, whoever made them, so one content hash stays one version. Twins are recent, so
/// the newest page holds them.
pub async fn settle(
    layer: &Layer<'_>,
    candidate: Version,
    code_sha256: &str,
    notes: &mut Vec<String>,
) -> Result<Version> {
    let wanted = marker(code_sha256);
    let page = layer.list_page(None).await?;
    let mut twins: Vec<i64> = page
        .versions
        .iter()
        .filter(|v| v.description.contains(&wanted))
        .map(|v| v.number)
        .chain([candidate.number])
        .collect();
    twins.sort_unstable();
    twins.dedup();
    let mut survivor = candidate.clone();
    for &number in &twins {
        if number == candidate.number {
            break;
        }
        if let Some(older) = confirm(layer, number, code_sha256).await? {
            survivor = older;
            break;
        }
    }
    for number in twins.into_iter().filter(|&n| n > survivor.number) {
        match layer.delete(number).await {
            Ok(()) => notes.push(format!(
                "version {number} duplicated version {}; deleted it",
                survivor.number
            )),
            Err(err) => notes.push(format!(
                "version {number} duplicates version {} but could not be deleted ({err}); delete it by hand",
                survivor.number
            )),
        }
    }
    Ok(survivor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MARKER_LEN, MAX_DESCRIPTION, MAX_DESCRIPTION_AWS};

    #[test]
    fn description_fits_lambda() {
        let sha = "88NlK8yq5ogouk7uW0BstGjk5o7cLMPlCUFKc+rooak=";
        assert_eq!(marker(sha).len() + 1, MARKER_LEN);
        let longest = description(Some(&"x".repeat(MAX_DESCRIPTION)), sha);
        assert_eq!(longest.chars().count(), MAX_DESCRIPTION_AWS);
        assert_eq!(description(None, sha), marker(sha));
        assert_eq!(description(Some("  "), sha), marker(sha));
    }
}
